//! Partner passwords: generation, hashing (argon2id, PHC strings) and verification.
//!
//! Passwords are never stored or logged; only their argon2id hash is kept.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::Rng;
use zeroize::Zeroizing;

/// Length of generated passwords: 24 characters of 62 is about 143 bits.
const GENERATED_LENGTH: usize = 24;

/// The shortest password an operator may set.
pub const MIN_LENGTH: usize = 12;

/// A password that cannot be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too short to be safe.
    #[error("the password must have at least {MIN_LENGTH} characters")]
    TooShort,
    /// The hashing library failed.
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
}

/// A new random password of letters and digits.
pub fn generate() -> Zeroizing<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let password = (0..GENERATED_LENGTH)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    Zeroizing::new(password)
}

/// The argon2id PHC string of a password.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(PasswordError::Hash)
}

/// Whether `password` matches the stored PHC string; a malformed hash matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        tracing::warn!("stored password hash is malformed");
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_the_same_password_only() {
        let password = generate();
        let phc = hash(&password).unwrap();

        assert!(phc.starts_with("$argon2id$"));
        assert!(verify(&password, &phc));
        assert!(!verify("another password!", &phc));
        assert!(!verify(&password, "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash("short"), Err(PasswordError::TooShort)));
    }
}
