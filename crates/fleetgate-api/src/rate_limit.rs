//! The rate limits of the gateway (`docs/behavior.md` §5): every authenticated request is
//! counted against its application's daily limit (a sliding 24-hour window) and burst
//! limit (requests per second). Each node decides in memory (`fleetgate_core::rate_limit`)
//! and adds its counts to the database every second, where every node reads them back, so
//! the daily limit is shared by the nodes and survives restarts.
//! Every answer carries `X-RateLimit-Limit-1` / `X-RateLimit-Remaining-1` (day) and
//! `X-RateLimit-Limit-2` / `X-RateLimit-Remaining-2` (burst); a refused request gets 429
//! with `Retry-After` and `X-RateLimit-Reset`, in seconds.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use fleetgate_core::rate_limit::{Admission, Refusal, Usage};
use fleetgate_core::{ClientId, ErrorCode};
use fleetgate_store::Store;
use parking_lot::Mutex;
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// How often a node exchanges its counts with the database.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Synchronisations between two prunings of the minutes that left the window.
const PRUNE_EVERY: u32 = 60;

/// This node's view of the requests of every application it served.
#[derive(Default)]
pub struct RateLimiter {
    usages: Mutex<HashMap<ClientId, Usage>>,
}

impl RateLimiter {
    /// Counts the caller's request against its application's limits. The first request of
    /// an application on this node reads its shared count; the others cost no I/O.
    pub async fn admit(&self, store: &Store, caller: &Caller) -> Result<Admission, ApiError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if let Some(usage) = self.usages.lock().get_mut(&caller.client_id) {
            return Ok(usage.admit(caller.limits, now));
        }

        let shared = store
            .request_count(&caller.client_id, now.div_euclid(60))
            .await?;
        let mut usages = self.usages.lock();
        let usage = usages
            .entry(caller.client_id.clone())
            .or_insert_with(|| Usage::new(shared));
        Ok(usage.admit(caller.limits, now))
    }

    /// Exchanges counts with the database every second until `stop` completes, then hands
    /// over what is left.
    pub async fn synchronise(&self, store: &Store, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut ticks = tokio::time::interval(SYNC_EVERY);
        let mut count = 0u32;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = &mut stop => break,
            }
            count = count.wrapping_add(1);
            self.sync_once(store, count.is_multiple_of(PRUNE_EVERY))
                .await;
        }
        self.sync_once(store, false).await;
    }

    /// Adds this node's new counts to the database, then reads every application's
    /// shared count back.
    async fn sync_once(&self, store: &Store, prune: bool) {
        let taken: Vec<(ClientId, Vec<(i64, u64)>)> = {
            let mut usages = self.usages.lock();
            usages
                .iter_mut()
                .filter(|(_, usage)| usage.has_unsynced())
                .map(|(id, usage)| (id.clone(), usage.take_unsynced()))
                .collect()
        };
        let rows: Vec<(ClientId, i64, u64)> = taken
            .iter()
            .flat_map(|(id, counts)| counts.iter().map(|(m, c)| (id.clone(), *m, *c)))
            .collect();

        let now_minute = OffsetDateTime::now_utc().unix_timestamp().div_euclid(60);
        if let Err(error) = store.add_request_counts(&rows).await {
            tracing::warn!(%error, "rate limit counts not saved; retrying in a second");
            let mut usages = self.usages.lock();
            for (id, counts) in &taken {
                if let Some(usage) = usages.get_mut(id) {
                    usage.sync_failed(counts);
                }
            }
            return;
        }
        match store.request_counts(now_minute).await {
            Ok(shared) => {
                let mut usages = self.usages.lock();
                for (id, usage) in usages.iter_mut() {
                    usage.synced(shared.get(id.as_str()).copied().unwrap_or_default());
                }
            }
            Err(error) => tracing::warn!(%error, "rate limit counts not read back"),
        }
        if prune {
            if let Err(error) = store.prune_request_counts(now_minute).await {
                tracing::warn!(%error, "old rate limit counts not pruned");
            }
        }
    }
}

/// Counts the caller's request against its application's limits.
pub async fn admit(state: &AppState, caller: &Caller) -> Result<Admission, ApiError> {
    state.rate_limiter().admit(state.store(), caller).await
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
