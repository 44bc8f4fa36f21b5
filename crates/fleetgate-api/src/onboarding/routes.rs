//! `/onboarding/v1`: the partner-facing side of onboarding, on the API port, over TLS
//! without a client certificate (renewal excepted).
//!
//! | route | authentication | answer |
//! | --- | --- | --- |
//! | `POST /onboarding/v1/csr` | Basic | 202 `{id, status}` |
//! | `GET /onboarding/v1/csr/{id}` | Basic | the request, and the certificate once issued |
//! | `GET /onboarding/v1/ca.pem` | none | the partner CA certificate |
//! | `POST /onboarding/v1/renew` | current client certificate + Basic | 200, issued at once |

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fleetgate_core::ErrorCode;
use fleetgate_store::{CsrRequest, CsrStatus, Partner};
use serde::Serialize;
use time::OffsetDateTime;

use super::service::client_id_strings;
use crate::auth::authenticate_partner;
use crate::error::ApiError;
use crate::server::PeerIdentity;
use crate::state::AppState;

/// The largest CSR body accepted; a 4096-bit RSA CSR in PEM is under 2 KiB.
const MAX_CSR_BYTES: usize = 64 * 1024;

/// The onboarding routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/onboarding/v1/csr", post(submit_csr))
        .route("/onboarding/v1/csr/{id}", get(csr_status))
        .route("/onboarding/v1/ca.pem", get(ca_certificate))
        .route("/onboarding/v1/renew", post(renew))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_CSR_BYTES))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CsrView {
    id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<String>,
    ca_certificate: String,
    client_ids: Vec<String>,
}

async fn submit_csr(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let partner = authenticate_partner(&state, &headers).await?;
    check_csr_media_type(&headers)?;

    let request = state.certificates().submit(&partner, &body).await?;
    let view = csr_view(&state, &partner, &request).await?;
    Ok((StatusCode::ACCEPTED, Json(view)).into_response())
}

async fn csr_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<CsrView>, ApiError> {
    let partner = authenticate_partner(&state, &headers).await?;

    // Another partner's request is answered exactly like a missing one.
    let request = state.store().csr_request(&id).await?;
    let Some(request) = request.filter(|r| r.partner_id == partner.id) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no CSR request {id} for {}", partner.login),
        ));
    };

    Ok(Json(csr_view(&state, &partner, &request).await?))
}

async fn ca_certificate(State(state): State<AppState>) -> Response {
    let pem = state.certificates().ca_certificate_pem();
    ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response()
}

async fn renew(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CsrView>, ApiError> {
    let Some(current) = peer.certificate else {
        return Err(ApiError::new(
            ErrorCode::ClientCertificateRequired,
            "renewal requires your current, valid client certificate on the connection",
        ));
    };
    let partner = authenticate_partner(&state, &headers).await?;
    check_csr_media_type(&headers)?;
    check_current_certificate(&state, &partner, &current).await?;

    let (request, _issued) = state.certificates().renew(&partner, &body).await?;
    Ok(Json(csr_view(&state, &partner, &request).await?))
}

/// The certificate used to renew must be ours, the partner's, unexpired and not revoked.
async fn check_current_certificate(
    state: &AppState,
    partner: &Partner,
    current: &fleetgate_pki::ClientCertificate,
) -> Result<(), ApiError> {
    let now = OffsetDateTime::now_utc();
    if now > current.not_after || now < current.not_before {
        return Err(ApiError::new(
            ErrorCode::ClientCertificateExpired,
            "the certificate presented is expired: submit a new CSR to /onboarding/v1/csr",
        ));
    }

    let issued = state.store().certificate(&current.serial_hex).await?;
    let Some(issued) = issued.filter(|c| c.partner_id == partner.id) else {
        return Err(ApiError::new(
            ErrorCode::CertificateLoginMismatch,
            format!(
                "the certificate presented was not issued to {}",
                partner.login
            ),
        ));
    };
    if issued.revoked_at.is_some() {
        return Err(ApiError::new(
            ErrorCode::ClientCertificateRevoked,
            "the certificate presented is revoked: submit a new CSR to /onboarding/v1/csr",
        ));
    }
    Ok(())
}

/// PEM is text: `application/pkcs10` (RFC 5967), `text/plain`, or no type at all.
fn check_csr_media_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let media = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    let accepted = [
        "application/pkcs10",
        "text/plain",
        "application/x-pem-file",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
    ];
    if accepted.iter().any(|a| media.eq_ignore_ascii_case(a)) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::UnsupportedMediaType,
        format!(
            "Content-Type '{media}' is not accepted: send the PEM CSR as application/pkcs10 \
             or text/plain"
        ),
    ))
}

async fn csr_view(
    state: &AppState,
    partner: &Partner,
    request: &CsrRequest,
) -> Result<CsrView, ApiError> {
    let certificate = match (&request.status, &request.certificate_serial) {
        (CsrStatus::Issued, Some(serial)) => state
            .store()
            .certificate(serial)
            .await?
            .map(|c| c.certificate_pem),
        _ => None,
    };
    let applications = state.store().applications_of(&partner.id).await?;

    Ok(CsrView {
        id: request.id.clone(),
        status: request.status.as_str(),
        reason: request.reason.clone(),
        certificate,
        ca_certificate: state.certificates().ca_certificate_pem(),
        client_ids: client_id_strings(applications.into_iter().map(|a| a.client_id)),
    })
}
