//! The authentication chain of the gateway, and Basic authentication of partners.
//!
//! A `/connectedcar/{version}/...` request is served only when, in this order:
//! 1. the connection carries a client certificate that chains to the partner CA (checked at
//!    the handshake), is valid now, was issued by this platform and is not revoked;
//! 2. `Authorization: Basic` names a partner and its password;
//! 3. the certificate's CN is that login, and the certificate belongs to that partner;
//! 4. `client_id` names an application of that partner subscribed to `{version}`.
//!
//! Each refusal has its own error code. A successful decision is remembered for a couple
//! of seconds (keyed by an HMAC of every input, passwords included), so that a busy client
//! does not pay for argon2 and three queries on each request, while a revocation or a
//! password change still takes effect within [`DECISION_TTL`].

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fleetgate_core::{ApiVersion, ClientId, ErrorCode, Login};
use fleetgate_store::{ConnectedService, Partner, RateLimits};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::server::PeerIdentity;
use crate::state::AppState;
use fleetgate_core::recent::Recent;

/// How long a successful authentication decision is reused.
pub const DECISION_TTL: Duration = Duration::from_secs(2);

/// Beyond this many remembered decisions the cache starts over.
const DECISION_CAPACITY: usize = 50_000;

/// Who is calling the gateway, once the whole chain has passed.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The partner's internal id.
    pub partner_id: String,
    /// The partner's login.
    pub login: Login,
    /// The application making the call.
    pub client_id: ClientId,
    /// The API version of the path.
    pub version: ApiVersion,
    /// The application's rate limits.
    pub limits: RateLimits,
    /// The connected services of the application's subscription.
    pub services: Vec<ConnectedService>,
}

/// Login and password from an `Authorization: Basic` header.
pub struct BasicCredentials {
    /// The login.
    pub login: Login,
    /// The password, wiped from memory when dropped.
    pub password: Zeroizing<String>,
}

impl BasicCredentials {
    /// Reads the header; every malformation is a 401 that says what is expected.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let refuse = |message: &str| {
            ApiError::new(ErrorCode::BasicAuthenticationRequired, message.to_owned())
        };

        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(refuse(
                "missing Authorization header: send 'Authorization: Basic <base64 of \
                 login:password>' with your MZP login and password",
            ));
        };
        let encoded = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Basic ")
                    .or_else(|| v.strip_prefix("basic "))
            })
            .ok_or_else(|| refuse("the Authorization header must use the Basic scheme"))?;
        let decoded = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| refuse("the Basic credentials are not valid base64"))?,
        );
        let text = std::str::from_utf8(&decoded)
            .map_err(|_| refuse("the Basic credentials are not valid UTF-8"))?;
        let (login, password) = text
            .split_once(':')
            .ok_or_else(|| refuse("the Basic credentials must be login:password"))?;
        let login = Login::parse(login)
            .map_err(|e| ApiError::new(ErrorCode::BadCredentials, e.to_string()))?;

        Ok(Self {
            login,
            password: Zeroizing::new(password.to_owned()),
        })
    }
}

/// Checks Basic credentials against the store: the partner, or a 401.
pub async fn authenticate_partner(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Partner, ApiError> {
    let credentials = BasicCredentials::from_headers(headers)?;
    verify_credentials(state, credentials).await
}

/// Checks a login and password against the store.
// LIMITATION: failed attempts are not rate-limited per login or per address; the onboarding
// routes check passwords without a client certificate, so guesses are bounded only by argon2.
async fn verify_credentials(
    state: &AppState,
    credentials: BasicCredentials,
) -> Result<Partner, ApiError> {
    let bad = || ApiError::new(ErrorCode::BadCredentials, "wrong login or password");

    let Some(partner) = state.store().partner_by_login(&credentials.login).await? else {
        return Err(bad());
    };

    let matches = state
        .passwords()
        .verify(
            partner.login.as_str(),
            credentials.password,
            &partner.password_hash,
        )
        .await;
    if !matches {
        tracing::debug!(partner.login = %partner.login, "wrong password");
        return Err(bad());
    }

    Ok(partner)
}

/// Middleware of `/connectedcar/...`: runs the chain and attaches the [`Caller`].
pub async fn gateway(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let caller = authorize(&state, &parts).await?;
    let admission = crate::rate_limit::admit(&state, &caller).await?;
    if admission.refusal.is_some() {
        return Ok(crate::rate_limit::refusal(&caller, &admission));
    }

    parts.extensions.insert(caller.clone());
    let mut response = next.run(Request::from_parts(parts, body)).await;
    crate::rate_limit::add_headers(&mut response, &caller, &admission);
    Ok(response)
}

async fn authorize(state: &AppState, request: &Parts) -> Result<Caller, ApiError> {
    let version = version_of_path(request.uri.path())?;
    let certificate = request
        .extensions
        .get::<PeerIdentity>()
        .and_then(|peer| peer.certificate.clone())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::ClientCertificateRequired,
                "a client certificate is required: present the certificate signed by the \
                 platform's partner CA (curl --cert client_cert.pem --key key.pem)",
            )
        })?;
    check_validity_period(&certificate)?;

    let credentials = BasicCredentials::from_headers(&request.headers)?;
    let client_id = client_id_of_query(request.uri.query())?;

    let key = state.decisions().key(&[
        certificate.serial_hex.as_bytes(),
        credentials.login.as_str().as_bytes(),
        credentials.password.as_bytes(),
        client_id.as_str().as_bytes(),
        version.as_str().as_bytes(),
    ]);
    if let Some(caller) = state.decisions().get(&key) {
        return Ok(caller);
    }

    let caller = decide(state, &certificate, credentials, client_id, version).await?;
    state.decisions().insert(key, caller.clone());
    Ok(caller)
}

async fn decide(
    state: &AppState,
    certificate: &fleetgate_pki::ClientCertificate,
    credentials: BasicCredentials,
    client_id: ClientId,
    version: ApiVersion,
) -> Result<Caller, ApiError> {
    let store = state.store();

    let Some(issued) = store.certificate(&certificate.serial_hex).await? else {
        return Err(ApiError::new(
            ErrorCode::ClientCertificateUnknown,
            "this client certificate was not issued by the platform; request one through \
             the onboarding API",
        ));
    };
    if issued.revoked_at.is_some() {
        return Err(ApiError::new(
            ErrorCode::ClientCertificateRevoked,
            "this client certificate has been revoked; submit a new CSR",
        ));
    }

    let partner = verify_credentials(state, credentials).await?;

    let cn_matches = certificate.common_name.as_deref() == Some(partner.login.as_str());
    if !cn_matches || issued.partner_id != partner.id {
        return Err(ApiError::new(
            ErrorCode::CertificateLoginMismatch,
            format!(
                "the client certificate (CN={}) does not belong to {}: use the certificate \
                 issued for this login",
                certificate.common_name.as_deref().unwrap_or("none"),
                partner.login
            ),
        ));
    }

    let application = store.application(&client_id).await?;
    let Some(application) = application.filter(|app| app.partner_id == partner.id) else {
        return Err(ApiError::new(
            ErrorCode::UnknownClientId,
            format!(
                "client_id {client_id} is not an application of {}",
                partner.login
            ),
        ));
    };
    if !application.versions.contains(&version) {
        return Err(ApiError::new(
            ErrorCode::VersionNotSubscribed,
            format!(
                "application {client_id} is not subscribed to {version}; it may call {}",
                versions_text(&application.versions)
            ),
        ));
    }

    Ok(Caller {
        partner_id: partner.id,
        login: partner.login,
        client_id,
        version,
        limits: application.limits,
        services: application.services,
    })
}

fn versions_text(versions: &[ApiVersion]) -> String {
    let names: Vec<_> = versions
        .iter()
        .map(|v| format!("/connectedcar/{v}"))
        .collect();
    names.join(" and ")
}

fn check_validity_period(certificate: &fleetgate_pki::ClientCertificate) -> Result<(), ApiError> {
    let now = OffsetDateTime::now_utc();
    if now > certificate.not_after {
        return Err(ApiError::new(
            ErrorCode::ClientCertificateExpired,
            format!(
                "the client certificate expired at {}; renew it with POST /onboarding/v1/renew \
                 or submit a new CSR",
                crate::error::timestamp(certificate.not_after)
            ),
        ));
    }
    if now < certificate.not_before {
        return Err(ApiError::new(
            ErrorCode::ClientCertificateExpired,
            format!(
                "the client certificate is not valid before {}",
                crate::error::timestamp(certificate.not_before)
            ),
        ));
    }
    Ok(())
}

/// The `{version}` segment of a gateway path.
fn version_of_path(path: &str) -> Result<ApiVersion, ApiError> {
    let segment = path
        .trim_start_matches("/connectedcar/")
        .split('/')
        .next()
        .unwrap_or("");
    segment.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "unknown API version '{segment}': the base path is /connectedcar/v3 or \
                 /connectedcar/v2"
            ),
        )
    })
}

/// The `client_id` query parameter, which must appear exactly once.
fn client_id_of_query(query: Option<&str>) -> Result<ClientId, ApiError> {
    let mut values = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(name, _)| name == "client_id")
        .map(|(_, value)| value.into_owned());

    let Some(value) = values.next() else {
        return Err(ApiError::new(
            ErrorCode::ClientIdRequired,
            "missing client_id query parameter: add ?client_id=<your application id>",
        ));
    };
    if values.next().is_some() {
        return Err(ApiError::parameter("client_id must be given once"));
    }
    ClientId::parse(&value).map_err(|_| {
        ApiError::new(
            ErrorCode::UnknownClientId,
            "client_id is not a client id of this platform: it is the 32-character id \
             received with your certificate",
        )
    })
}

/// Recently granted decisions, keyed by an HMAC of all the request's credentials.
pub(crate) struct DecisionCache {
    key: [u8; 32],
    entries: Recent<[u8; 32], Caller>,
}

impl DecisionCache {
    pub(crate) fn new() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self {
            key,
            entries: Recent::new(DECISION_TTL, DECISION_CAPACITY),
        }
    }

    fn key(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    fn get(&self, key: &[u8; 32]) -> Option<Caller> {
        self.entries.get(key)
    }

    fn insert(&self, key: [u8; 32], caller: Caller) {
        self.entries.insert(key, caller);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers_with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let encoded = STANDARD.encode("MZP123:pass:word");
        let credentials =
            BasicCredentials::from_headers(&headers_with(&format!("Basic {encoded}")));
        let credentials = credentials.ok().unwrap();
        assert_eq!(credentials.login.as_str(), "MZP123");
        assert_eq!(credentials.password.as_str(), "pass:word");
    }

    #[test]
    fn malformed_basic_headers_are_refused_with_their_reason() {
        let code = |value: &str| {
            BasicCredentials::from_headers(&headers_with(value))
                .err()
                .unwrap()
        };
        assert_eq!(
            code("Bearer abc").code(),
            ErrorCode::BasicAuthenticationRequired
        );
        assert_eq!(
            code("Basic !!!").code(),
            ErrorCode::BasicAuthenticationRequired
        );
        let no_colon = format!("Basic {}", STANDARD.encode("MZP123"));
        assert_eq!(
            code(&no_colon).code(),
            ErrorCode::BasicAuthenticationRequired
        );
        let bad_login = format!("Basic {}", STANDARD.encode("admin:x"));
        assert_eq!(code(&bad_login).code(), ErrorCode::BadCredentials);
        let missing = BasicCredentials::from_headers(&HeaderMap::new())
            .err()
            .unwrap();
        assert_eq!(missing.code(), ErrorCode::BasicAuthenticationRequired);
    }

    #[test]
    fn client_id_must_be_present_once_and_well_formed() {
        let id = ClientId::generate();
        assert_eq!(
            client_id_of_query(Some(&format!("client_id={id}"))).unwrap(),
            id
        );
        let missing = client_id_of_query(Some("pageSize=3")).unwrap_err();
        assert_eq!(missing.code(), ErrorCode::ClientIdRequired);
        let twice = client_id_of_query(Some(&format!("client_id={id}&client_id={id}")));
        assert_eq!(twice.unwrap_err().code(), ErrorCode::InvalidParameter);
        let junk = client_id_of_query(Some("client_id=abc")).unwrap_err();
        assert_eq!(junk.code(), ErrorCode::UnknownClientId);
    }

    #[test]
    fn version_comes_from_the_path() {
        assert_eq!(
            version_of_path("/connectedcar/v3/fleets").unwrap(),
            ApiVersion::V3
        );
        assert_eq!(
            version_of_path("/connectedcar/v2/fleets").unwrap(),
            ApiVersion::V2
        );
        assert_eq!(
            version_of_path("/connectedcar/v4/fleets")
                .unwrap_err()
                .code(),
            ErrorCode::NotFound
        );
    }
}
