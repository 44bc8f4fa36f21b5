//! The rate limits of the gateway (`docs/behavior.md` §5): every authenticated request is
//! counted against its application's daily limit (a sliding 24-hour window) and burst
//! limit (requests per second), in the database so that every node shares the counts.
//! Every answer carries `X-RateLimit-Limit-1` / `X-RateLimit-Remaining-1` (day) and
//! `X-RateLimit-Limit-2` / `X-RateLimit-Remaining-2` (burst); a refused request gets 429
//! with `Retry-After` and `X-RateLimit-Reset`, in seconds.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use fleetgate_core::ErrorCode;
use fleetgate_store::{Admission, Refusal};
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Counts the caller's request against its application's limits.
pub async fn admit(state: &AppState, caller: &Caller) -> Result<Admission, ApiError> {
    let now = OffsetDateTime::now_utc();
    let admission = state
        .store()
        .admit_request(&caller.client_id, caller.limits, now)
        .await?;
    Ok(admission)
}

/// The 429 answer of a refused request, with its headers.
pub fn refusal(caller: &Caller, admission: &Admission) -> Response {
    let refusal = admission
        .refusal
        .unwrap_or(Refusal::Burst { retry_after: 1 });
    let (message, retry_after) = match refusal {
        Refusal::Daily { retry_after } => (
            format!(
                "daily limit reached: application {} may make {} requests in any 24 hours; \
                 retry in {retry_after} s",
                caller.client_id, caller.limits.daily
            ),
            retry_after,
        ),
        Refusal::Burst { retry_after } => (
            format!(
                "burst limit reached: application {} may make {} requests per second; \
                 retry in {retry_after} s",
                caller.client_id, caller.limits.burst
            ),
            retry_after.max(1),
        ),
    };

    let mut response = ApiError::new(ErrorCode::RateLimited, message).into_response();
    add_headers(&mut response, caller, admission);
    let headers = response.headers_mut();
    insert(headers, "retry-after", retry_after);
    insert(headers, "x-ratelimit-reset", retry_after);
    response
}

/// Adds the limits and what is left of them to an answer.
pub fn add_headers(response: &mut Response, caller: &Caller, admission: &Admission) {
    let limits = caller.limits;
    let day_left = u64::from(limits.daily).saturating_sub(admission.day_used);
    let second_left = u64::from(limits.burst).saturating_sub(admission.second_used);

    let headers = response.headers_mut();
    insert(headers, "x-ratelimit-limit-1", u64::from(limits.daily));
    insert(headers, "x-ratelimit-remaining-1", day_left);
    insert(headers, "x-ratelimit-limit-2", u64::from(limits.burst));
    insert(headers, "x-ratelimit-remaining-2", second_left);
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: u64) {
    headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
}
