//! Partner onboarding: CSR intake, operator decisions, issuing, renewal, and the partner-facing
//! routes under `/onboarding/v1`.

mod routes;
mod service;

pub use routes::router;
pub use service::{CertificateService, IssuancePolicy, IssueError};
