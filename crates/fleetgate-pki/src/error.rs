//! The errors of the authority's own operations (a refused CSR is a
//! [`CsrRejection`](crate::CsrRejection), not one of these).

use time::OffsetDateTime;
use x509_parser::error::X509Error;

use crate::pem::PemError;

/// Why the authority could not load, issue or read a certificate.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Key generation, signing or encoding failed in the certificate library.
    #[error("could not {action}")]
    Certificate {
        /// What was being done, e.g. `sign the client certificate`.
        action: &'static str,
        /// The library's error.
        #[source]
        source: rcgen::Error,
    },
    /// A PEM text given to the authority is unusable.
    #[error("the {what} is not usable PEM")]
    Pem {
        /// Which input, e.g. `CA certificate`.
        what: &'static str,
        /// What is wrong with it.
        #[source]
        source: PemError,
    },
    /// DER bytes are not a well-formed X.509 certificate.
    #[error("the {what} is not a well-formed X.509 certificate")]
    Parse {
        /// Which certificate, e.g. `client certificate`.
        what: &'static str,
        /// The parser's complaint.
        #[source]
        source: X509Error,
    },
    /// The CA private key does not belong to the CA certificate.
    #[error("the CA private key does not match the public key of the CA certificate")]
    KeyMismatch,
    /// The certificate given as CA certificate may not sign certificates.
    #[error("the CA certificate is not a certification authority (basic constraints cA unset)")]
    NotAnAuthority,
    /// The CA's common name is empty.
    #[error("the common name of the certification authority must not be empty")]
    EmptyCommonName,
    /// `not_after` is not later than `not_before`.
    #[error(
        "empty validity period: not after {not_after} is not later than not before {not_before}"
    )]
    EmptyValidity {
        /// Start of the requested validity.
        not_before: OffsetDateTime,
        /// End of the requested validity.
        not_after: OffsetDateTime,
    },
    /// A validity bound cannot be written in a certificate (year outside 0..=9999).
    #[error("the validity period cannot be expressed in a certificate (years 0 to 9999)")]
    ValidityOutOfRange,
    /// A server certificate was requested for no host at all.
    #[error("a server certificate needs at least one DNS name or IP address")]
    NoHosts,
    /// A host is neither an IP address nor a DNS name.
    #[error("'{host}' is neither an IP address nor a valid DNS name")]
    InvalidHost {
        /// The host as given.
        host: String,
    },
    /// The certificate issued from a CSR does not carry the CSR's subject or key
    /// byte for byte (a safety net: this should never happen).
    #[error("the issued certificate's {what} differs from the request's")]
    IssuedMismatch {
        /// `subject` or `public key`.
        what: &'static str,
    },
}

impl PkiError {
    /// Wraps a certificate library error with what was being done.
    pub(crate) fn certificate(action: &'static str) -> impl FnOnce(rcgen::Error) -> Self {
        move |source| Self::Certificate { action, source }
    }

    /// Wraps a parser error with which certificate was being read.
    pub(crate) fn parse(
        what: &'static str,
    ) -> impl FnOnce(x509_parser::nom::Err<X509Error>) -> Self {
        move |error| {
            let source = match error {
                x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => e,
                x509_parser::nom::Err::Incomplete(_) => X509Error::InvalidCertificate,
            };
            Self::Parse { what, source }
        }
    }
}
