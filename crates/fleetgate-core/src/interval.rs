//! The time intervals of the spec's `timestamps` parameter (`docs/behavior.md` §3), read
//! into the spans of time they select.
//!
//! The forms, after ISO 8601 as the spec extends it:
//!
//! - `T1/T2`: from T1 to T2;
//! - `T/D`: from T for the duration D (`P3Y6M4DT12H30M5S`; years and months are calendar
//!   ones, added to T's date);
//! - `T/`: from T until now; `/T`: everything until T;
//! - `Rn/T/D[/d]`: n ranges, the k-th starting at T + k·D and lasting d (24 hours when d
//!   is left out); `R/T/D[/d]` repeats until now. The spec's example `R5/T/P6H/P2H` is
//!   five two-hour ranges, six hours apart.
//!
//! Times are RFC 3339. A repeating interval may expand into at most [`MAX_SPANS`] ranges,
//! so that a request stays bounded.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, Month, OffsetDateTime};

/// The most ranges one repeating interval may expand into.
pub const MAX_SPANS: usize = 1000;

/// A span of time, both ends included; an end left out is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The earliest time, if any.
    pub from: Option<OffsetDateTime>,
    /// The latest time, if any.
    pub to: Option<OffsetDateTime>,
}

/// Why an interval cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalError {
    /// The interval as given.
    pub interval: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for IntervalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timestamps '{}' is not an interval T1/T2, T/duration, T/, /T or \
             Rn/T/period[/length]: {}",
            self.interval, self.reason
        )
    }
}

impl std::error::Error for IntervalError {}

/// An ISO 8601 duration: calendar months, then an exact length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IsoDuration {
    months: i64,
    exact: Duration,
}

impl IsoDuration {
    /// Reads `PnYnMnWnDTnHnMnS` (each part optional, at least one present).
    pub fn parse(text: &str) -> Result<Self, String> {
        let body = text
            .strip_prefix('P')
            .ok_or_else(|| format!("duration '{text}' does not start with P"))?;
        let (date, time) = body.split_once('T').unwrap_or((body, ""));
        if body.is_empty() || (body.contains('T') && time.is_empty()) {
            return Err(format!("duration '{text}' holds no amount"));
        }

        let mut duration = Self::default();
        for (amount, unit) in parts(date)? {
            match unit {
                'Y' => duration.months += whole(amount, text)? * 12,
                'M' => duration.months += whole(amount, text)?,
                'W' => duration.exact += Duration::seconds_f64(amount * 7.0 * 86_400.0),
                'D' => duration.exact += Duration::seconds_f64(amount * 86_400.0),
                // The spec's own example writes `P6H`: hours and seconds cannot be
                // mistaken for a date part, so they are accepted without the T.
                'H' => duration.exact += Duration::seconds_f64(amount * 3600.0),
                'S' => duration.exact += Duration::seconds_f64(amount),
                _ => return Err(format!("duration '{text}': expected Y, M, W or D before T")),
            }
        }
        for (amount, unit) in parts(time)? {
            duration.exact += match unit {
                'H' => Duration::seconds_f64(amount * 3600.0),
                'M' => Duration::seconds_f64(amount * 60.0),
                'S' => Duration::seconds_f64(amount),
                _ => return Err(format!("duration '{text}': expected H, M or S after T")),
            };
        }
        if duration.months == 0 && duration.exact.is_zero() {
            return Err(format!("duration '{text}' is zero"));
        }
        Ok(duration)
    }

    /// `start` moved forward by this duration, `times` times.
    pub fn after(&self, start: OffsetDateTime, times: i64) -> Option<OffsetDateTime> {
        let moved = add_months(start, self.months.checked_mul(times)?)?;
        moved.checked_add(self.exact.checked_mul(i32::try_from(times).ok()?)?)
    }
}

/// Reads one interval of `timestamps`; `now` ends the open ones.
pub fn parse(interval: &str, now: OffsetDateTime) -> Result<Vec<Span>, IntervalError> {
    let fail = |reason: String| IntervalError {
        interval: interval.to_owned(),
        reason,
    };
    if interval.starts_with('R') {
        return repeating(interval, now).map_err(fail);
    }
    single(interval, now).map(|span| vec![span]).map_err(fail)
}

/// `T1/T2`, `T/D`, `T/` or `/T`.
fn single(interval: &str, now: OffsetDateTime) -> Result<Span, String> {
    let (start, end) = interval
        .split_once('/')
        .ok_or("no '/' between its start and its end")?;

    let from = (!start.is_empty()).then(|| instant(start)).transpose()?;
    let to = match (from, end) {
        (None, "") => return Err("no start, no end".to_owned()),
        (Some(_), "") => now,
        (Some(from), duration) if duration.starts_with('P') => IsoDuration::parse(duration)?
            .after(from, 1)
            .ok_or("its end is out of range")?,
        (None, duration) if duration.starts_with('P') => {
            return Err("a duration needs a start time".to_owned())
        }
        (_, end) => instant(end)?,
    };

    if from.is_some_and(|from| from > to) {
        return Err("its start is after its end".to_owned());
    }
    Ok(Span { from, to: Some(to) })
}

/// `Rn/T/D[/d]` or `R/T/D[/d]`.
fn repeating(interval: &str, now: OffsetDateTime) -> Result<Vec<Span>, String> {
    let mut fields = interval.split('/');
    let count = fields.next().unwrap_or_default();
    let start = fields
        .next()
        .ok_or("a repeating interval needs a start time")?;
    let period = fields.next().ok_or("a repeating interval needs a period")?;
    let length = fields.next();
    if fields.next().is_some() {
        return Err("a repeating interval has at most four parts".to_owned());
    }

    let count = match &count[1..] {
        "" => None,
        digits => Some(
            digits
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(format!(
                    "'{count}': expected R followed by a count of 1 or more"
                ))?,
        ),
    };
    let start = instant(start)?;
    let period = IsoDuration::parse(period)?;
    let length = match length {
        Some(text) => IsoDuration::parse(text)?,
        None => IsoDuration::parse("PT24H")?,
    };
    if count.is_some_and(|n| n > MAX_SPANS) {
        return Err(format!("it repeats more than {MAX_SPANS} times"));
    }

    let mut spans = Vec::new();
    for k in 0.. {
        if count.is_some_and(|n| k >= n) {
            break;
        }
        let from = period
            .after(start, k as i64)
            .ok_or("a range is out of range")?;
        if count.is_none() && from > now {
            break;
        }
        if spans.len() == MAX_SPANS {
            return Err(format!("it repeats more than {MAX_SPANS} times until now"));
        }
        let to = length.after(from, 1).ok_or("a range is out of range")?;
        spans.push(Span {
            from: Some(from),
            to: Some(to),
        });
    }
    Ok(spans)
}

fn instant(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| format!("'{text}' is not an RFC 3339 time such as 2024-01-31T08:00:00Z"))
}

/// The `(amount, unit)` pairs of one part of a duration (`1D`, `2H30M`).
fn parts(text: &str) -> Result<Vec<(f64, char)>, String> {
    let mut parts = Vec::new();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let amount: f64 = number
            .parse()
            .map_err(|_| format!("'{c}' is not preceded by an amount"))?;
        if !amount.is_finite() || amount > 1.0e6 {
            return Err("an amount is too large".to_owned());
        }
        parts.push((amount, c));
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("the amount {number} has no unit"));
    }
    Ok(parts)
}

fn whole(amount: f64, text: &str) -> Result<i64, String> {
    if amount.fract() != 0.0 {
        return Err(format!("duration '{text}': years and months must be whole"));
    }
    Ok(amount as i64)
}

/// `at` moved by `months` calendar months, the day clamped to the target month's last.
fn add_months(at: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    if months == 0 {
        return Some(at);
    }
    let index = i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1 + months;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = at.day().min(month.length(year));
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(at.replace_date(date))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-04 12:00 UTC);

    fn spans(text: &str) -> Vec<Span> {
        parse(text, NOW).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn span(from: OffsetDateTime, to: OffsetDateTime) -> Span {
        Span {
            from: Some(from),
            to: Some(to),
        }
    }

    #[test]
    fn single_intervals_of_every_form_are_read() {
        assert_eq!(
            spans("2026-12-01T08:00:00Z/2026-12-01T09:00:00+01:00"),
            [span(
                datetime!(2026-12-01 08:00 UTC),
                datetime!(2026-12-01 08:00 UTC)
            )]
        );
        assert_eq!(
            spans("2026-12-01T08:00:00Z/P1DT2H30M")[0].to,
            Some(datetime!(2026-12-02 10:30 UTC))
        );
        assert_eq!(spans("2026-12-01T08:00:00Z/")[0].to, Some(NOW));
        assert_eq!(
            spans("/2026-12-01T08:00:00Z"),
            [Span {
                from: None,
                to: Some(datetime!(2026-12-01 08:00 UTC))
            }]
        );
    }

    #[test]
    fn years_and_months_are_calendar_ones() {
        let example = spans("2018-01-03T12:00:00+01:00/P3Y6M4DT12H30M5S");
        assert_eq!(example[0].to, Some(datetime!(2021-07-08 00:30:05 +01:00)));
        let end_of_month = spans("2026-01-31T00:00:00Z/P1M");
        assert_eq!(end_of_month[0].to, Some(datetime!(2026-02-28 00:00 UTC)));
    }

    #[test]
    fn the_specs_repeating_example_is_five_two_hour_ranges_six_hours_apart() {
        let ranges = spans("R5/2018-01-03T12:00:00Z/P6H/P2H");
        let starts = [12, 18, 24, 30, 36];
        assert_eq!(ranges.len(), 5);
        for (range, hours) in ranges.iter().zip(starts) {
            let from = datetime!(2018-01-03 00:00 UTC) + Duration::hours(hours);
            assert_eq!(*range, span(from, from + Duration::hours(2)));
        }
    }

    #[test]
    fn a_repeating_interval_without_length_lasts_a_day_and_without_count_runs_until_now() {
        let daily = spans("R2/2026-11-01T00:00:00Z/P1W");
        assert_eq!(
            daily[1],
            span(
                datetime!(2026-11-08 00:00 UTC),
                datetime!(2026-11-09 00:00 UTC)
            )
        );
        let until_now = spans("R/2026-12-01T08:00:00Z/P1D/PT1H");
        assert_eq!(until_now.len(), 4, "1, 2, 3 and 4 December at 08:00");
        assert_eq!(until_now[3].from, Some(datetime!(2026-12-04 08:00 UTC)));
    }

    #[test]
    fn malformed_intervals_are_refused_with_the_reason() {
        for (bad, reason) in [
            ("/", "no start, no end"),
            ("2026-12-01", "no '/'"),
            (
                "2026-12-02T08:00:00Z/2026-12-01T08:00:00Z",
                "start is after its end",
            ),
            ("/P1D", "needs a start time"),
            ("2026-12-01T08:00:00Z/PT", "holds no amount"),
            ("2026-12-01T08:00:00Z/P1.5M", "must be whole"),
            ("R0/2026-12-01T08:00:00Z/P1D", "count of 1 or more"),
            ("R5/2026-12-01T08:00:00Z", "needs a period"),
            ("R1001/2026-12-01T08:00:00Z/P1D", "more than 1000"),
            (
                "R/2000-01-01T00:00:00Z/PT1M",
                "more than 1000 times until now",
            ),
            (
                "R2/2026-12-01T08:00:00Z/P1D/PT1H/PT2H",
                "at most four parts",
            ),
        ] {
            let error = parse(bad, NOW).expect_err(bad);
            assert!(error.reason.contains(reason), "{bad}: {error}");
            assert!(error.to_string().starts_with("timestamps '"), "{error}");
        }
    }
}
