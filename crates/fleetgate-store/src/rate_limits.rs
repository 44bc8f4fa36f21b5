//! The rate limit counters of applications, shared by every node on the same database.
//!
//! Admitting a request is one transaction: it first counts the request in the
//! application's row of the current second, only if that second is not full (an upsert
//! whose update is conditional, so two concurrent requests can never both take the last
//! place); then it sums the application's per-minute buckets of the last 24 hours and,
//! unless the day is full, counts the request in the current minute. On PostgreSQL the
//! upsert locks the application's row until the transaction ends, so concurrent
//! admissions of one application, on any node, are serialised; SQLite has one writer at a
//! time anyway. A refused request leaves the counters as they were.

use fleetgate_core::ClientId;
use time::OffsetDateTime;

use crate::{on_pool, RateLimits, Store, StoreError};

/// Minutes in the sliding window of the daily limit.
const WINDOW_MINUTES: i64 = 24 * 60;

/// What the counters said about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Requests counted in the last 24 hours, this one included when admitted.
    pub day_used: u64,
    /// Requests counted in the current second, this one included when admitted.
    pub second_used: u64,
    /// Why the request was refused; none when it was admitted.
    pub refusal: Option<Refusal>,
}

/// Which limit refused a request, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The second is full; retry after this many seconds.
    Burst {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The last 24 hours are full; retry after this many seconds.
    Daily {
        /// Seconds to wait.
        retry_after: u64,
    },
}

/// Counts one request of this second, unless the second is full; answers the count.
const COUNT_SECOND: &str = "INSERT INTO rate_limit_seconds (client_id, second, count) \
     VALUES ($1, $2, 1) \
     ON CONFLICT (client_id) DO UPDATE SET \
     count = CASE WHEN rate_limit_seconds.second < excluded.second THEN 1 \
             ELSE rate_limit_seconds.count + 1 END, \
     second = CASE WHEN rate_limit_seconds.second < excluded.second THEN excluded.second \
              ELSE rate_limit_seconds.second END \
     WHERE rate_limit_seconds.second < excluded.second OR rate_limit_seconds.count < $3 \
     RETURNING count";

/// The requests of the last 24 hours and the oldest minute that holds some.
const SUM_DAY: &str = "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT), MIN(minute) \
     FROM rate_limit_minutes WHERE client_id = $1 AND minute > $2";

/// Counts one request of this minute; answers the minute's count.
const COUNT_MINUTE: &str = "INSERT INTO rate_limit_minutes (client_id, minute, count) \
     VALUES ($1, $2, 1) \
     ON CONFLICT (client_id, minute) DO UPDATE SET count = rate_limit_minutes.count + 1 \
     RETURNING count";

/// Forgets the minutes that left the window.
const PRUNE_MINUTES: &str = "DELETE FROM rate_limit_minutes WHERE client_id = $1 AND minute <= $2";

/// The instant a request is counted at.
#[derive(Debug, Clone, Copy)]
struct Instant {
    second: i64,
    minute: i64,
}

impl Instant {
    fn of(now: OffsetDateTime) -> Self {
        let second = now.unix_timestamp();
        Self {
            second,
            minute: second.div_euclid(60),
        }
    }

    /// Seconds until the bucket of `minute` leaves the 24-hour window (at least one).
    fn until_minute_leaves(&self, minute: i64) -> u64 {
        let leaves_at = (minute + WINDOW_MINUTES) * 60;
        u64::try_from(leaves_at - self.second).unwrap_or(0).max(1)
    }
}

impl Store {
    /// Counts a request of application `client_id` at `now` if its `limits` allow it.
    pub async fn admit_request(
        &self,
        client_id: &ClientId,
        limits: RateLimits,
        now: OffsetDateTime,
    ) -> Result<Admission, StoreError> {
        let instant = Instant::of(now);
        let id = client_id.as_str();
        let failed = |source| StoreError::Query {
            operation: "count a request against the rate limits",
            source,
        };

        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(failed)?;
            let second: Option<i64> = sqlx::query_scalar(COUNT_SECOND)
                .bind(id)
                .bind(instant.second)
                .bind(i64::from(limits.burst))
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed)?;
            let (day, oldest): (i64, Option<i64>) = sqlx::query_as(SUM_DAY)
                .bind(id)
                .bind(instant.minute - WINDOW_MINUTES)
                .fetch_one(&mut *tx)
                .await
                .map_err(failed)?;

            let day_used = day.max(0) as u64;
            let Some(second_used) = second else {
                tx.rollback().await.map_err(failed)?;
                let refusal = Refusal::Burst { retry_after: 1 };
                return Ok(refused(day_used, u64::from(limits.burst), refusal));
            };
            if day_used >= u64::from(limits.daily) {
                tx.rollback().await.map_err(failed)?;
                let retry_after = oldest.map_or(1, |minute| instant.until_minute_leaves(minute));
                let refusal = Refusal::Daily { retry_after };
                return Ok(refused(day_used, second_used.max(0) as u64 - 1, refusal));
            }

            let minute_count: i64 = sqlx::query_scalar(COUNT_MINUTE)
                .bind(id)
                .bind(instant.minute)
                .fetch_one(&mut *tx)
                .await
                .map_err(failed)?;
            if minute_count == 1 {
                sqlx::query(PRUNE_MINUTES)
                    .bind(id)
                    .bind(instant.minute - WINDOW_MINUTES)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
            }
            tx.commit().await.map_err(failed)?;
            Ok(Admission {
                day_used: day_used + 1,
                second_used: second_used.max(0) as u64,
                refusal: None,
            })
        })
    }
}

fn refused(day_used: u64, second_used: u64, refusal: Refusal) -> Admission {
    Admission {
        day_used,
        second_used,
        refusal: Some(refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_leaves_the_window_a_day_after_it_ends() {
        let instant = Instant {
            second: 60 * 1000 + 30,
            minute: 1000,
        };
        assert_eq!(instant.until_minute_leaves(1000), 24 * 3600 - 30);
        assert_eq!(instant.until_minute_leaves(1000 - WINDOW_MINUTES), 1);
    }
}
