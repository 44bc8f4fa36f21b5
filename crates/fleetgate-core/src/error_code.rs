//! The catalogue of error codes carried by every non-2xx answer.
//!
//! The reference's error body is `{code, uuid, message, timestamp}` where `code` is the
//! HTTP status followed by two digits that say which error it is (e.g. `40499`). Every code
//! fleetgate answers is listed here, so that the HTTP layer maps failures in one place and
//! partners can rely on the numbers.

use serde::Serialize;

/// One error the platform can answer, with its HTTP status and five-digit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ErrorCode {
    /// A query parameter is missing, malformed or out of range.
    InvalidParameter,
    /// The request body cannot be used.
    InvalidBody,
    /// A certificate signing request breaks the CSR policy.
    InvalidCsr,
    /// The TLS connection carries no client certificate.
    ClientCertificateRequired,
    /// The client certificate is past its validity period (or not yet valid).
    ClientCertificateExpired,
    /// The client certificate was revoked by the operator.
    ClientCertificateRevoked,
    /// The client certificate was not issued by this platform.
    ClientCertificateUnknown,
    /// No `Authorization: Basic` header, or a malformed one.
    BasicAuthenticationRequired,
    /// The login or the password is wrong.
    BadCredentials,
    /// The client certificate's CN is not the login of the Basic credentials.
    CertificateLoginMismatch,
    /// The `client_id` query parameter is missing.
    ClientIdRequired,
    /// The `client_id` names no application of this partner.
    UnknownClientId,
    /// The application is not subscribed to the API version of the path.
    VersionNotSubscribed,
    /// The resource exists but belongs to another partner, or lies outside the subscription.
    Forbidden,
    /// The operation exists in the specification but this platform does not serve it yet.
    NotImplemented,
    /// No such resource.
    NotFound,
    /// The resource exists but holds no data for the request's context.
    NoData,
    /// The HTTP method is not defined for this path.
    MethodNotAllowed,
    /// The request body's media type is not one the operation accepts.
    UnsupportedMediaType,
    /// A rate limit of the application is reached.
    RateLimited,
    /// Something failed on the platform's side.
    Internal,
    /// The platform cannot serve now (database unreachable...).
    Unavailable,
}

impl ErrorCode {
    /// The HTTP status code of this error.
    pub fn status(self) -> u16 {
        (self.code() / 100) as u16
    }

    /// The five-digit code: HTTP status then two digits specific to the error.
    pub fn code(self) -> u32 {
        match self {
            Self::InvalidParameter => 40001,
            Self::InvalidBody => 40002,
            Self::InvalidCsr => 40010,
            Self::ClientCertificateRequired => 40101,
            Self::ClientCertificateExpired => 40102,
            Self::ClientCertificateRevoked => 40103,
            Self::ClientCertificateUnknown => 40104,
            Self::BasicAuthenticationRequired => 40110,
            Self::BadCredentials => 40111,
            Self::CertificateLoginMismatch => 40112,
            Self::ClientIdRequired => 40120,
            Self::UnknownClientId => 40121,
            Self::VersionNotSubscribed => 40301,
            Self::Forbidden => 40300,
            Self::NotFound => 40400,
            Self::NoData => 40499,
            Self::MethodNotAllowed => 40500,
            Self::UnsupportedMediaType => 41500,
            Self::RateLimited => 42900,
            Self::Internal => 50000,
            Self::NotImplemented => 50100,
            Self::Unavailable => 50300,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_starts_with_its_http_status() {
        assert_eq!(ErrorCode::ClientCertificateRequired.status(), 401);
        assert_eq!(ErrorCode::NoData.code(), 40499);
        assert_eq!(ErrorCode::VersionNotSubscribed.status(), 403);
        assert_eq!(ErrorCode::NotImplemented.status(), 501);
    }
}
