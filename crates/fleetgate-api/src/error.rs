//! The one error type of the HTTP edge and its mapping to the reference's error body.
//!
//! Every non-2xx answer is `{code, uuid, message, timestamp}` (see `docs/behavior.md` §4).
//! The message is written for the partner: it says what was wrong and what to do. Internal
//! details (database errors, stack of causes) go to the log only, under the same `uuid`, so
//! that support can find them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fleetgate_core::ErrorCode;
use serde::Serialize;
use time::format_description::BorrowedFormatItem;
use time::OffsetDateTime;

/// A refusal or failure answered to the caller.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    /// Detail for the log only, never sent.
    internal: Option<String>,
}

impl ApiError {
    /// An error with a message for the caller.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            internal: None,
        }
    }

    /// A failure on our side: the caller gets a generic message, the log gets `detail`.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self {
            code: ErrorCode::Internal,
            message: "unexpected failure on the platform; quote the uuid to support".into(),
            internal: Some(detail.to_string()),
        }
    }

    /// A query parameter is invalid.
    pub fn parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, message)
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message sent to the caller.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<fleetgate_store::StoreError> for ApiError {
    fn from(error: fleetgate_store::StoreError) -> Self {
        Self::internal(error_chain(&error))
    }
}

/// The error and all its causes on one line, for logs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u32,
    uuid: String,
    message: &'a str,
    timestamp: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let uuid = uuid::Uuid::new_v4().to_string();
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);

        if status.is_server_error() {
            let detail = self.internal.as_deref().unwrap_or(&self.message);
            let code = self.code.code();
            tracing::error!(error.uuid = %uuid, error.code = code, detail, "request failed");
        } else {
            tracing::debug!(error.uuid = %uuid, error.code = self.code.code(), "request refused");
        }

        let body = ErrorBody {
            code: self.code.code(),
            uuid,
            message: &self.message,
            timestamp: timestamp(OffsetDateTime::now_utc()),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if self.code == ErrorCode::BasicAuthenticationRequired {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"fleetgate\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// RFC 3339 in UTC with exactly three decimals, as the reference writes times
/// (`2020-01-01T00:00:00.000Z`).
pub fn timestamp(at: OffsetDateTime) -> String {
    const FORMAT: &[BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_default()
}
