//! The records the store reads and writes.

use std::fmt;

use fleetgate_core::{ApiVersion, ClientId, ConnectedService, FleetId, Login, RateLimits, Vin};
use time::OffsetDateTime;

/// A business partner: an MZP login with its password hash.
#[derive(Clone)]
pub struct Partner {
    /// Internal id.
    pub id: String,
    /// The MZP login.
    pub login: Login,
    /// Contact address for certificate download and renewal.
    pub email: String,
    /// The partner's organization name.
    pub organization: String,
    /// PHC string of the password hash (argon2id).
    pub password_hash: String,
    /// When the partner was created.
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for Partner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partner")
            .field("id", &self.id)
            .field("login", &self.login)
            .field("email", &self.email)
            .field("organization", &self.organization)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

/// What is needed to create a partner.
pub struct NewPartner<'a> {
    /// The MZP login.
    pub login: &'a Login,
    /// Contact address.
    pub email: &'a str,
    /// Organization name.
    pub organization: &'a str,
    /// PHC string of the password hash.
    pub password_hash: &'a str,
}

/// A partner's application, identified by its client id.
#[derive(Debug, Clone)]
pub struct Application {
    /// The client id sent as `client_id`.
    pub client_id: ClientId,
    /// The owning partner's internal id.
    pub partner_id: String,
    /// A name for people.
    pub name: String,
    /// The API versions it is subscribed to.
    pub versions: Vec<ApiVersion>,
    /// Its rate limits.
    pub limits: RateLimits,
    /// The connected services of its subscription, which grant its data scope.
    pub services: Vec<ConnectedService>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// The subscription terms of a new application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationTerms {
    /// The API versions it may call.
    pub versions: Vec<ApiVersion>,
    /// Its rate limits.
    pub limits: RateLimits,
    /// Its connected services.
    pub services: Vec<ConnectedService>,
}

/// A fleet owned by one partner.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The fleet id.
    pub id: FleetId,
    /// The owning partner's internal id.
    pub partner_id: String,
    /// Its name.
    pub name: String,
    /// An optional description.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// A vehicle, known by its VIN, as listed in a fleet.
#[derive(Debug, Clone)]
pub struct Vehicle {
    /// The vehicle id used in API paths.
    pub id: String,
    /// Its VIN.
    pub vin: Vin,
    /// `Electric`, `Hybrid`, `Thermic` or `Hydrogen`, once known.
    pub motorization: Option<String>,
    /// Its brand, once known.
    pub brand: Option<String>,
    /// When it was first known.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// Where a certificate signing request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrStatus {
    /// Waiting for the operator.
    Pending,
    /// Signed; the certificate can be downloaded.
    Issued,
    /// Refused by the operator.
    Rejected,
}

impl CsrStatus {
    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Issued => "issued",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "issued" => Some(Self::Issued),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// A certificate signing request submitted by a partner.
#[derive(Clone)]
pub struct CsrRequest {
    /// Its id, given to the partner.
    pub id: String,
    /// The submitting partner's internal id.
    pub partner_id: String,
    /// The submitting partner's login.
    pub login: Login,
    /// Where it stands.
    pub status: CsrStatus,
    /// The requested subject, readable.
    pub subject: String,
    /// The e-mail address in the subject.
    pub email: String,
    /// The CSR itself, PEM.
    pub csr_pem: String,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The serial of the certificate issued from it.
    pub certificate_serial: Option<String>,
    /// When it was submitted.
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for CsrRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrRequest")
            .field("id", &self.id)
            .field("login", &self.login)
            .field("status", &self.status)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A client certificate issued by the partner CA.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// Serial number, lower-case hex.
    pub serial: String,
    /// The owning partner's internal id.
    pub partner_id: String,
    /// The owning partner's login.
    pub login: Login,
    /// The CSR it was issued from, if any.
    pub csr_id: Option<String>,
    /// Its subject, readable.
    pub subject: String,
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Why it was revoked.
    pub revocation_reason: Option<String>,
}

/// A certificate to record.
pub struct NewCertificate<'a> {
    /// Serial number, lower-case hex.
    pub serial: &'a str,
    /// The owning partner's internal id.
    pub partner_id: &'a str,
    /// The CSR it was issued from.
    pub csr_id: Option<&'a str>,
    /// Its subject, readable.
    pub subject: &'a str,
    /// The certificate, PEM.
    pub certificate_pem: &'a str,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}
