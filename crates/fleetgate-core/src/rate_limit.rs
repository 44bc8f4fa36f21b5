//! The rate limits of an application (`docs/behavior.md` §5) as pure bookkeeping: a daily
//! limit on a sliding 24-hour window counted by the minute, and a burst limit per second.
//!
//! [`Usage`] is one node's view of one application: the requests of the last 24 hours that
//! the shared database held at the last synchronisation (every node's), plus those this
//! node admitted since. Admission is decided on that view alone, so it costs no I/O; the
//! HTTP edge calls [`Usage::take_unsynced`] and [`Usage::synced`] about once a second to
//! exchange counts with the database. On one node no request is ever over-admitted; with
//! several, the daily count may lag the others' by one synchronisation.

use std::collections::BTreeMap;

/// Minutes in the sliding window of the daily limit.
pub const WINDOW_MINUTES: i64 = 24 * 60;

/// The rate limits of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests admitted in any 24 hours.
    pub daily: u32,
    /// Requests admitted in one second.
    pub burst: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            daily: 100_000,
            burst: 100,
        }
    }
}

/// What the limits said about one request.
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

/// The requests of an application in the shared window, as the database last said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedCount {
    /// Requests of the last 24 hours, every node's.
    pub requests: u64,
    /// The oldest minute of the window that holds some (Unix minutes).
    pub oldest_minute: Option<i64>,
}

/// One node's view of one application's requests.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    shared: SharedCount,
    /// Admitted here, handed to a synchronisation not finished yet.
    in_flight: u64,
    /// Admitted here since the last hand-over, by Unix minute.
    unsynced: BTreeMap<i64, u64>,
    second: i64,
    second_count: u64,
}

impl Usage {
    /// The view of an application whose shared count is `shared`.
    pub fn new(shared: SharedCount) -> Self {
        Self {
            shared,
            ..Self::default()
        }
    }

    /// Counts a request at Unix second `now` if `limits` allow it.
    pub fn admit(&mut self, limits: RateLimits, now: i64) -> Admission {
        if now != self.second {
            self.second = now;
            self.second_count = 0;
        }
        let day_used = self.day_used();

        if self.second_count >= u64::from(limits.burst) {
            return Admission {
                day_used,
                second_used: self.second_count,
                refusal: Some(Refusal::Burst { retry_after: 1 }),
            };
        }
        if day_used >= u64::from(limits.daily) {
            let retry_after = self.until_window_frees(now);
            return Admission {
                day_used,
                second_used: self.second_count,
                refusal: Some(Refusal::Daily { retry_after }),
            };
        }

        self.second_count += 1;
        *self.unsynced.entry(now.div_euclid(60)).or_default() += 1;
        Admission {
            day_used: day_used + 1,
            second_used: self.second_count,
            refusal: None,
        }
    }

    /// Hands the counts admitted here since the last call to a synchronisation: `(minute,
    /// requests)` pairs to add to the database.
    pub fn take_unsynced(&mut self) -> Vec<(i64, u64)> {
        let taken: Vec<_> = std::mem::take(&mut self.unsynced).into_iter().collect();
        self.in_flight += taken.iter().map(|(_, count)| count).sum::<u64>();
        taken
    }

    /// The synchronisation that took counts ended: the database, which now holds them,
    /// says `shared`.
    pub fn synced(&mut self, shared: SharedCount) {
        self.shared = shared;
        self.in_flight = 0;
    }

    /// The synchronisation failed: its counts are handed back for the next one.
    pub fn sync_failed(&mut self, taken: &[(i64, u64)]) {
        for (minute, count) in taken {
            *self.unsynced.entry(*minute).or_default() += count;
        }
        self.in_flight = 0;
    }

    /// Whether this node holds counts the database has not received.
    pub fn has_unsynced(&self) -> bool {
        !self.unsynced.is_empty()
    }

    fn day_used(&self) -> u64 {
        self.shared.requests + self.in_flight + self.unsynced.values().sum::<u64>()
    }

    /// Seconds until the oldest minute with requests leaves the window (at least one).
    fn until_window_frees(&self, now: i64) -> u64 {
        let local_oldest = self.unsynced.keys().next().copied();
        let oldest = match (self.shared.oldest_minute, local_oldest) {
            (Some(shared), Some(local)) => shared.min(local),
            (shared, local) => shared.or(local).unwrap_or(now.div_euclid(60)),
        };
        let leaves_at = (oldest + WINDOW_MINUTES) * 60;
        u64::try_from(leaves_at - now).unwrap_or(0).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RateLimits = RateLimits { daily: 5, burst: 2 };

    #[test]
    fn the_burst_limit_counts_each_second_anew() {
        let mut usage = Usage::default();
        assert_eq!(usage.admit(LIMITS, 100).refusal, None);
        assert_eq!(usage.admit(LIMITS, 100).second_used, 2);
        let refused = usage.admit(LIMITS, 100);
        assert_eq!(refused.refusal, Some(Refusal::Burst { retry_after: 1 }));
        assert_eq!(refused.day_used, 2);
        assert_eq!(usage.admit(LIMITS, 101).refusal, None);
    }

    #[test]
    fn the_daily_limit_adds_the_shared_count_and_says_when_it_frees() {
        let shared = SharedCount {
            requests: 3,
            oldest_minute: Some(1000),
        };
        let mut usage = Usage::new(shared);
        let now = 1000 * 60 + 10;
        assert_eq!(usage.admit(LIMITS, now).day_used, 4);
        assert_eq!(usage.admit(LIMITS, now + 1).day_used, 5);
        let refused = usage.admit(LIMITS, now + 2);
        let retry_after = (1000 + WINDOW_MINUTES) * 60 - (now + 2);
        let expected = Refusal::Daily {
            retry_after: retry_after as u64,
        };
        assert_eq!(refused.refusal, Some(expected));
    }

    #[test]
    fn counts_in_flight_are_still_counted_until_the_database_has_them() {
        let mut usage = Usage::default();
        usage.admit(LIMITS, 60);
        usage.admit(LIMITS, 125);
        let taken = usage.take_unsynced();
        assert_eq!(taken, vec![(1, 1), (2, 1)]);
        assert!(!usage.has_unsynced());
        assert_eq!(
            usage.admit(LIMITS, 126).day_used,
            3,
            "two in flight, one new"
        );

        usage.synced(SharedCount {
            requests: 2,
            oldest_minute: Some(1),
        });
        assert_eq!(usage.admit(LIMITS, 127).day_used, 4);
    }

    #[test]
    fn a_failed_synchronisation_gives_its_counts_back() {
        let mut usage = Usage::default();
        usage.admit(LIMITS, 60);
        let taken = usage.take_unsynced();
        usage.sync_failed(&taken);
        assert_eq!(usage.take_unsynced(), vec![(1, 1)]);
    }
}
