//! Identifiers of the domain, each validated once at the edge and then trusted.
//!
//! A partner's login (`MZP` + digits), an application's client id, a fleet id and a
//! vehicle's VIN (ISO 3779: 17 characters, no `I`, `O` or `Q`).

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} '{found}' is not valid: {expected}")]
pub struct InvalidId {
    /// What kind of identifier was being parsed (`login`, `VIN`...).
    pub kind: &'static str,
    /// The value as received, cut to a readable length.
    pub found: String,
    /// What a valid value looks like.
    pub expected: &'static str,
}

impl InvalidId {
    fn new(kind: &'static str, found: &str, expected: &'static str) -> Self {
        let found: String = found.chars().take(64).collect();
        Self {
            kind,
            found,
            expected,
        }
    }
}

/// A partner's login in the platform: `MZP` followed by digits, e.g. `MZP123456`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Login(String);

impl Login {
    /// Parses a login; `MZP` is upper case and at least one digit follows, 20 at most.
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        const EXPECTED: &str = "expected 'MZP' followed by 1 to 20 digits, e.g. MZP123456";

        let Some(digits) = value.strip_prefix("MZP") else {
            return Err(InvalidId::new("login", value, EXPECTED));
        };
        let digits_ok =
            !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit());
        if !digits_ok {
            return Err(InvalidId::new("login", value, EXPECTED));
        }

        Ok(Self(value.to_owned()))
    }

    /// The login as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A vehicle identification number (ISO 3779).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Vin(String);

impl Vin {
    /// Parses a VIN: 17 characters among digits and upper-case letters except I, O, Q.
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        const EXPECTED: &str =
            "expected 17 characters among digits and capital letters other than I, O and Q";

        let valid_char = |c: char| {
            (c.is_ascii_digit() || c.is_ascii_uppercase()) && !matches!(c, 'I' | 'O' | 'Q')
        };
        if value.len() != 17 || !value.chars().all(valid_char) {
            return Err(InvalidId::new("VIN", value, EXPECTED));
        }

        Ok(Self(value.to_owned()))
    }

    /// The VIN as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Declares an opaque random identifier: lower-case hex of a fixed length.
macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $bytes:literal, $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// A new random identifier.
            pub fn generate() -> Self {
                let mut raw = [0u8; $bytes];
                rand::thread_rng().fill_bytes(&mut raw);
                Self(hex::encode(raw))
            }

            /// Parses an identifier received from outside.
            pub fn parse(value: &str) -> Result<Self, InvalidId> {
                let valid = value.len() == $bytes * 2
                    && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !valid {
                    return Err(InvalidId::new($kind, value, $expected));
                }
                Ok(Self(value.to_owned()))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

hex_id!(
    /// A fleet's id: 24 hex characters, as in the reference (`0a123bc5d1e873066454b4d9`).
    FleetId,
    "fleet id",
    12,
    "expected 24 lower-case hexadecimal characters"
);

hex_id!(
    /// An application's client id, sent by the partner as the `client_id` query parameter.
    ClientId,
    "client id",
    16,
    "expected 32 lower-case hexadecimal characters"
);

macro_rules! string_conversions {
    ($($name:ident),*) => {$(
        impl TryFrom<String> for $name {
            type Error = InvalidId;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

string_conversions!(Login, Vin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_accepts_mzp_and_digits_only() {
        assert!(Login::parse("MZP123456").is_ok());
        assert!(Login::parse("MZP").is_err());
        assert!(Login::parse("mzp123").is_err());
        assert!(Login::parse("MZPXXXX").is_err());
        assert!(Login::parse("MZP12a").is_err());
    }

    #[test]
    fn vin_refuses_wrong_length_and_forbidden_letters() {
        assert!(Vin::parse("VF3ABCDE0FG123456").is_ok());
        assert!(Vin::parse("VF3ABCDE0FG12345").is_err());
        assert!(Vin::parse("VF3ABCDEOFG123456").is_err());
        assert!(Vin::parse("vf3abcde0fg123456").is_err());
    }

    #[test]
    fn generated_ids_parse_back_and_differ() {
        let a = FleetId::generate();
        let b = FleetId::generate();
        assert_ne!(a, b);
        assert_eq!(FleetId::parse(a.as_str()), Ok(a));
        assert_eq!(ClientId::generate().as_str().len(), 32);
        assert!(FleetId::parse("0A123BC5D1E873066454B4D9").is_err());
    }
}
