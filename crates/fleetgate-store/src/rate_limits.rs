//! The shared request counts of the rate limits: one row per application and minute, to
//! which every node adds the requests it admitted (`fleetgate_core::rate_limit` keeps each
//! node's view and decides admissions without I/O).

use std::collections::HashMap;

use fleetgate_core::rate_limit::{SharedCount, WINDOW_MINUTES};
use fleetgate_core::ClientId;

use crate::{on_pool, Store, StoreError};

/// Adds requests to a minute of an application.
const ADD_COUNT: &str = "INSERT INTO rate_limit_minutes (client_id, minute, count) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (client_id, minute) DO UPDATE SET count = rate_limit_minutes.count + $3";

/// The requests of the window, per application.
const SUM_ALL: &str = "SELECT client_id, CAST(SUM(count) AS BIGINT), MIN(minute) \
     FROM rate_limit_minutes WHERE minute > $1 GROUP BY client_id";

/// The requests of the window of one application.
const SUM_ONE: &str = "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT), MIN(minute) \
     FROM rate_limit_minutes WHERE client_id = $1 AND minute > $2";

/// Forgets the minutes that left the window.
const PRUNE: &str = "DELETE FROM rate_limit_minutes WHERE minute <= $1";

fn failed(operation: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { operation, source }
}

fn shared(requests: i64, oldest_minute: Option<i64>) -> SharedCount {
    SharedCount {
        requests: u64::try_from(requests).unwrap_or(0),
        oldest_minute,
    }
}

impl Store {
    /// Adds `(application, Unix minute, requests)` counts, in one transaction.
    pub async fn add_request_counts(
        &self,
        counts: &[(ClientId, i64, u64)],
    ) -> Result<(), StoreError> {
        let failed = failed("add to the rate limit counts");
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(&failed)?;
            for (client_id, minute, count) in counts {
                sqlx::query(ADD_COUNT)
                    .bind(client_id.as_str())
                    .bind(*minute)
                    .bind(i64::try_from(*count).unwrap_or(i64::MAX))
                    .execute(&mut *tx)
                    .await
                    .map_err(&failed)?;
            }
            tx.commit().await.map_err(&failed)
        })
    }

    /// Every application's requests in the 24 hours up to Unix minute `now_minute`.
    pub async fn request_counts(
        &self,
        now_minute: i64,
    ) -> Result<HashMap<String, SharedCount>, StoreError> {
        let rows: Vec<(String, i64, Option<i64>)> = on_pool!(self, pool =>
            sqlx::query_as(SUM_ALL)
                .bind(now_minute - WINDOW_MINUTES)
                .fetch_all(pool)
                .await)
        .map_err(failed("read the rate limit counts"))?;

        let counts = rows
            .into_iter()
            .map(|(client_id, requests, oldest)| (client_id, shared(requests, oldest)))
            .collect();
        Ok(counts)
    }

    /// One application's requests in the 24 hours up to Unix minute `now_minute`.
    pub async fn request_count(
        &self,
        client_id: &ClientId,
        now_minute: i64,
    ) -> Result<SharedCount, StoreError> {
        let (requests, oldest): (i64, Option<i64>) = on_pool!(self, pool =>
            sqlx::query_as(SUM_ONE)
                .bind(client_id.as_str())
                .bind(now_minute - WINDOW_MINUTES)
                .fetch_one(pool)
                .await)
        .map_err(failed("read the rate limit count of an application"))?;
        Ok(shared(requests, oldest))
    }

    /// Deletes the counts of the minutes that left the window; how many rows went.
    pub async fn prune_request_counts(&self, now_minute: i64) -> Result<u64, StoreError> {
        let done = on_pool!(self, pool => sqlx::query(PRUNE)
            .bind(now_minute - WINDOW_MINUTES)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(failed("prune the rate limit counts"))?;
        Ok(done)
    }
}
