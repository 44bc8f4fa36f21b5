//! fleetgate's certification authority.
//!
//! Partners authenticate with a client certificate that this authority signs from their
//! Certificate Signing Request (CSR), exactly as the partner onboarding guide describes:
//! they produce the CSR with `openssl req` or `keytool -certreq`, the platform checks it
//! against a policy ([`validate_csr`]) and signs it ([`CertificateAuthority::sign_client_csr`]).
//! The same authority issues the HTTPS server's own certificate
//! ([`CertificateAuthority::issue_server_credentials`]), and [`inspect_client_certificate`]
//! reads the certificate a TLS client presents. A second authority, the device CA, issues
//! each vehicle's certificate for the vehicle channel
//! ([`CertificateAuthority::issue_device_credentials`]).

pub mod authority;
pub mod client_cert;
pub mod csr;

mod countries;
mod dn;
mod error;
mod pem;
mod time_bounds;

#[cfg(test)]
mod test_support;

pub use authority::{
    CertificateAuthority, DeviceCredentials, IssuedCertificate, ServerCredentials,
    DEVICE_ORGANIZATION,
};
pub use client_cert::{inspect_client_certificate, ClientCertificate};
pub use csr::{validate_csr, CsrField, CsrRejection, ValidatedCsr};
pub use error::PkiError;
pub use pem::PemError;
