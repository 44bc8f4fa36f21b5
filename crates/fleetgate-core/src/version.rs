//! The API versions a partner application can subscribe to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `v2` is the "delegation publique" subscription, `v3` connected fleet / TMTS / UBI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiVersion {
    /// Delegation publique.
    V2,
    /// Connected fleet, TMTS tele-maintenance, UBI usage-based insurance.
    V3,
}

impl ApiVersion {
    /// The path segment and stored form: `v2` or `v3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V3 => "v3",
        }
    }
}

/// The version named is neither `v2` nor `v3`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown API version '{0}': expected v2 or v3")]
pub struct UnknownVersion(pub String);

impl FromStr for ApiVersion {
    type Err = UnknownVersion;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "v2" => Ok(Self::V2),
            "v3" => Ok(Self::V3),
            other => Err(UnknownVersion(other.chars().take(16).collect())),
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
