//! Partner passwords: generation, hashing (argon2id, PHC strings) and verification.
//!
//! Passwords are never stored or logged; only their argon2id hash is kept. Verifying one
//! costs about 19 MiB and tens of milliseconds by design, so [`Verifier`] runs at most one
//! verification per core at a time and remembers, for a few minutes and in this process
//! only, the credentials that matched: a partner's busy client then pays for argon2 once,
//! not once per request, and a burst of parallel requests cannot exhaust memory.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::Sha256;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use fleetgate_core::recent::Recent;

/// How long a verified login and password are trusted without running argon2 again. A
/// changed password has another hash, so it is never covered by an older verification.
const VERIFIED_TTL: Duration = Duration::from_secs(600);

/// The most verified credentials remembered.
const VERIFIED_CAPACITY: usize = 10_000;

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

/// Verifies passwords with bounded concurrency and remembers the recent matches.
pub struct Verifier {
    key: [u8; 32],
    verified: Recent<[u8; 32], ()>,
    permits: Arc<Semaphore>,
}

impl Verifier {
    /// A verifier running at most one argon2 verification per available core.
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            key,
            verified: Recent::new(VERIFIED_TTL, VERIFIED_CAPACITY),
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    /// Whether `password` is the password of `login`, whose stored hash is `phc`.
    pub async fn verify(&self, login: &str, password: Zeroizing<String>, phc: &str) -> bool {
        let key = self.key_of(login, &password, phc);
        if self.remembers(&key) {
            return true;
        }

        // Those who waited for a permit behind the same credentials find them verified.
        let Ok(_permit) = Arc::clone(&self.permits).acquire_owned().await else {
            return false;
        };
        if self.remembers(&key) {
            return true;
        }
        let phc_owned = phc.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify(&password, &phc_owned))
            .await
            .unwrap_or(false);
        if matches {
            self.remember(key);
        }
        matches
    }

    fn key_of(&self, login: &str, password: &str, phc: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        for part in [login, password, phc] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    fn remembers(&self, key: &[u8; 32]) -> bool {
        self.verified.get(key).is_some()
    }

    fn remember(&self, key: [u8; 32]) {
        self.verified.insert(key, ());
    }
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
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

    #[tokio::test]
    async fn the_verifier_remembers_matches_only_for_the_same_hash() {
        let verifier = Verifier::new();
        let password = generate();
        let phc = hash(&password).unwrap();

        assert!(verifier.verify("MZP1", password.clone(), &phc).await);
        let key = verifier.key_of("MZP1", &password, &phc);
        assert!(verifier.remembers(&key));

        let wrong = Zeroizing::new("not the password".to_owned());
        assert!(!verifier.verify("MZP1", wrong.clone(), &phc).await);
        assert!(!verifier.remembers(&verifier.key_of("MZP1", &wrong, &phc)));

        let changed = hash("another password entirely").unwrap();
        assert!(!verifier.verify("MZP1", password, &changed).await);
    }
}
