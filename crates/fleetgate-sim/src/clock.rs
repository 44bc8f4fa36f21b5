//! The simulated clock: how simulated time maps to wall-clock time when it runs
//! `time_scale` times faster, without ever getting ahead of the real clock (the platform
//! refuses messages dated more than five minutes in its future).
//!
//! With a time scale above 1 the simulated clock starts in the past, so that it reaches the
//! real time about when the run ends: `sim_start = now − duration × (time_scale − 1)`. Were
//! it to catch up anyway, it is held at the real time from then on.

use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime};

/// The wall-clock span assumed for the head start of a run with no duration.
pub const OPEN_RUN_HORIZON: StdDuration = StdDuration::from_secs(3600);

/// Maps wall-clock elapsed time to simulated time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimClock {
    real_start: OffsetDateTime,
    sim_start: OffsetDateTime,
    time_scale: f64,
}

impl SimClock {
    /// A clock for a run starting at `real_start` and lasting `duration` of wall-clock time
    /// (an open run is given [`OPEN_RUN_HORIZON`] of head start).
    pub fn plan(
        real_start: OffsetDateTime,
        time_scale: f64,
        duration: Option<StdDuration>,
    ) -> Self {
        let span = duration.unwrap_or(OPEN_RUN_HORIZON).as_secs_f64();
        let head_start = if time_scale > 1.0 {
            span * (time_scale - 1.0)
        } else {
            0.0
        };
        Self {
            real_start,
            sim_start: real_start - Duration::seconds_f64(head_start),
            time_scale,
        }
    }

    /// The simulated time at the start of the run.
    pub fn sim_start(&self) -> OffsetDateTime {
        self.sim_start
    }

    /// The wall-clock time at the start of the run.
    pub fn real_start(&self) -> OffsetDateTime {
        self.real_start
    }

    /// How much faster than the wall clock simulated time runs.
    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    /// The simulated time once `elapsed` wall-clock time has passed; never after the real
    /// time at that moment.
    pub fn sim_time_at(&self, elapsed: StdDuration) -> OffsetDateTime {
        let scaled = elapsed.as_secs_f64() * self.time_scale;
        let simulated = self.sim_start + Duration::seconds_f64(scaled);
        let real = self.real_start + Duration::seconds_f64(elapsed.as_secs_f64());
        simulated.min(real)
    }

    /// The wall-clock time elapsed since the start when simulated time reaches `at`: the
    /// moment a message dated `at` is due.
    pub fn elapsed_when(&self, at: OffsetDateTime) -> StdDuration {
        let scaled = (at - self.sim_start).as_seconds_f64() / self.time_scale;
        let real = (at - self.real_start).as_seconds_f64();
        StdDuration::from_secs_f64(scaled.max(real).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-04 10:00 UTC);

    fn secs(s: u64) -> StdDuration {
        StdDuration::from_secs(s)
    }

    #[test]
    fn real_time_starts_now() {
        let clock = SimClock::plan(NOW, 1.0, Some(secs(600)));

        assert_eq!(clock.sim_start(), NOW);
        assert_eq!(clock.sim_time_at(secs(90)), NOW + Duration::seconds(90));
    }

    #[test]
    fn a_fast_run_starts_in_the_past_and_ends_at_the_real_time() {
        let clock = SimClock::plan(NOW, 60.0, Some(secs(600)));

        let end = clock.sim_time_at(secs(600));

        assert_eq!(clock.sim_start(), NOW - Duration::seconds(600 * 59));
        assert_eq!(end, NOW + Duration::seconds(600));
        assert_eq!(
            clock.sim_time_at(secs(60)),
            clock.sim_start() + Duration::hours(1)
        );
    }

    #[test]
    fn the_simulated_clock_is_never_ahead_of_the_real_one() {
        let clock = SimClock::plan(NOW, 100.0, Some(secs(60)));

        for elapsed in [0, 30, 60, 61, 120, 3600] {
            let real = NOW + Duration::seconds(elapsed as i64);
            assert!(clock.sim_time_at(secs(elapsed)) <= real, "at {elapsed} s");
        }
        assert_eq!(clock.sim_time_at(secs(120)), NOW + Duration::seconds(120));
    }

    #[test]
    fn an_open_run_gets_an_hour_of_head_start() {
        let clock = SimClock::plan(NOW, 10.0, None);

        assert_eq!(clock.sim_start(), NOW - Duration::hours(9));
    }

    #[test]
    fn a_message_is_due_when_simulated_time_reaches_it() {
        let clock = SimClock::plan(NOW, 30.0, Some(secs(120)));
        let at = clock.sim_start() + Duration::minutes(45);

        let due = clock.elapsed_when(at);

        assert_eq!(due, secs(90));
        assert!(clock.sim_time_at(due) >= at - Duration::milliseconds(1));
        assert_eq!(
            clock.elapsed_when(clock.sim_start() - Duration::hours(1)),
            secs(0)
        );
    }

    #[test]
    fn past_the_catch_up_messages_wait_for_the_real_time() {
        let clock = SimClock::plan(NOW, 30.0, Some(secs(60)));

        let due = clock.elapsed_when(NOW + Duration::seconds(300));

        assert_eq!(due, secs(300));
    }
}
