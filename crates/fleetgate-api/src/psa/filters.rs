//! The filter parameters of the vehicle data operations: `timestamps`, `indexRange`,
//! `tolerance`, the trip `distance`, `duration` and `states` filters.
//!
//! Each reader checks its parameter and answers a 400 naming it, and what was expected,
//! when the value is malformed or asks for something fleetgate does not support.

use fleetgate_core::vehicle::state::TripState;
use fleetgate_store::vehicle_reads::TimeWindow;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::params::QueryParams;
use crate::error::ApiError;

/// The most intervals `timestamps` may hold.
const MAX_INTERVALS: usize = 10;

/// `timestamps`: 1 to 10 intervals `T1/T2`, `T/D`, `T/` or `/T`; none means any time.
pub fn timestamps(params: &QueryParams) -> Result<Vec<TimeWindow>, ApiError> {
    let intervals = params.list("timestamps");
    if intervals.len() > MAX_INTERVALS {
        return Err(ApiError::parameter(format!(
            "timestamps holds {} intervals: at most {MAX_INTERVALS} are allowed",
            intervals.len()
        )));
    }

    let now = OffsetDateTime::now_utc();
    intervals
        .into_iter()
        .map(|interval| time_window(interval, now))
        .collect()
}

/// One interval of `timestamps`.
fn time_window(interval: &str, now: OffsetDateTime) -> Result<TimeWindow, ApiError> {
    // A '+' of an offset left unencoded in the query string arrives as a space.
    let interval = interval.replace(' ', "+");
    if interval.starts_with('R') {
        // LIMITATION: repeating intervals are refused rather than expanded.
        return Err(ApiError::parameter(format!(
            "timestamps '{interval}': repeating intervals (R...) are not supported; give up \
             to 10 intervals T1/T2 instead"
        )));
    }
    let Some((start, end)) = interval.split_once('/') else {
        return Err(interval_error(
            &interval,
            "no '/' between its start and its end",
        ));
    };

    let from = (!start.is_empty())
        .then(|| instant(start, &interval))
        .transpose()?;
    let to = match (from, end) {
        (_, "") if start.is_empty() => return Err(interval_error(&interval, "no start, no end")),
        (_, "") => Some(now),
        (Some(from), duration) if duration.starts_with('P') => {
            Some(from + iso_duration(duration, &interval)?)
        }
        (None, duration) if duration.starts_with('P') => {
            return Err(interval_error(&interval, "a duration needs a start time"))
        }
        (_, end) => Some(instant(end, &interval)?),
    };

    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(interval_error(&interval, "its start is after its end"));
        }
    }
    Ok(TimeWindow { from, to })
}

fn instant(text: &str, interval: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        interval_error(
            interval,
            &format!("'{text}' is not an RFC 3339 time such as 2024-01-31T08:00:00Z"),
        )
    })
}

/// An ISO 8601 duration of weeks, days, hours, minutes and seconds (`P1DT2H30M`).
fn iso_duration(text: &str, interval: &str) -> Result<Duration, ApiError> {
    let invalid = |why: &str| interval_error(interval, &format!("duration '{text}': {why}"));
    let body = &text[1..];
    let (date, time) = body.split_once('T').unwrap_or((body, ""));
    if body.is_empty() || (body.contains('T') && time.is_empty()) {
        return Err(invalid("it holds no amount"));
    }

    let mut total = Duration::ZERO;
    for (amount, unit) in duration_parts(date).map_err(|why| invalid(&why))? {
        total += match unit {
            'W' => Duration::weeks(amount as i64),
            'D' => Duration::days(amount as i64),
            // LIMITATION: years and months have no fixed length and are refused.
            'Y' | 'M' => return Err(invalid("years and months are not supported; use days")),
            _ => return Err(invalid("expected the units W and D before T")),
        };
    }
    for (amount, unit) in duration_parts(time).map_err(|why| invalid(&why))? {
        total += match unit {
            'H' => Duration::seconds_f64(amount * 3600.0),
            'M' => Duration::seconds_f64(amount * 60.0),
            'S' => Duration::seconds_f64(amount),
            _ => return Err(invalid("expected the units H, M and S after T")),
        };
    }
    Ok(total)
}

/// The `(amount, unit)` pairs of one part of a duration (`1D`, `2H30M`).
fn duration_parts(text: &str) -> Result<Vec<(f64, char)>, String> {
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

fn interval_error(interval: &str, why: &str) -> ApiError {
    ApiError::parameter(format!(
        "timestamps '{interval}' is not an interval T1/T2, T/duration, T/ or /T: {why}"
    ))
}

/// `indexRange`: the first and (optionally) the last index of the results, 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexRange {
    /// The first index.
    pub start: u64,
    /// The last index, included.
    pub end: Option<u64>,
}

impl IndexRange {
    /// How many results of a collection of `count` the range keeps.
    pub fn total(&self, count: u64) -> u64 {
        let end = self
            .end
            .map_or(count, |end| count.min(end.saturating_add(1)));
        end.saturating_sub(self.start)
    }

    /// The offset and the limit in the whole collection of the page at `offset` (within
    /// the range) of at most `size` results.
    pub fn window(&self, offset: u64, size: u32) -> (u64, u32) {
        let first = self.start.saturating_add(offset);
        let Some(end) = self.end else {
            return (first, size);
        };
        let left = end.saturating_add(1).saturating_sub(first);
        (first, size.min(u32::try_from(left).unwrap_or(u32::MAX)))
    }
}

/// Reads `indexRange` (`start-end`, `start-` or `start`); all results by default.
pub fn index_range(params: &QueryParams) -> Result<IndexRange, ApiError> {
    let Some(value) = params.single("indexRange")? else {
        return Ok(IndexRange {
            start: 0,
            end: None,
        });
    };
    let invalid = || {
        ApiError::parameter(format!(
            "indexRange '{value}' is not a range: expected start-end, start- or start, with \
             0-based indices and end >= start (e.g. 0-9)"
        ))
    };

    let (start, end) = value.split_once('-').unwrap_or((value, ""));
    let start: u64 = digits(start).ok_or_else(invalid)?;
    let end = (!end.is_empty())
        .then(|| digits(end).ok_or_else(invalid))
        .transpose()?;
    if end.is_some_and(|end| end < start) {
        return Err(invalid());
    }
    Ok(IndexRange { start, end })
}

fn digits(text: &str) -> Option<u64> {
    (!text.is_empty() && text.chars().all(|c| c.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// `tolerance`: a distance in km, for the simplification of a path; none keeps every
/// point.
pub fn tolerance(params: &QueryParams) -> Result<Option<f64>, ApiError> {
    let Some(value) = params.single("tolerance")? else {
        return Ok(None);
    };
    match value.trim().parse::<f64>() {
        Ok(km) if km.is_finite() && (0.0..=20_000.0).contains(&km) => Ok(Some(km)),
        _ => Err(ApiError::parameter(format!(
            "tolerance '{value}' is not a distance: expected a number of km from 0 to 20000, \
             e.g. 0.05"
        ))),
    }
}

/// `distance`: a range of km `min-max` or `min-`, one decimal at most.
pub fn distance(params: &QueryParams) -> Result<(Option<f64>, Option<f64>), ApiError> {
    let Some(value) = params.single("distance")? else {
        return Ok((None, None));
    };
    let invalid = || {
        ApiError::parameter(format!(
            "distance '{value}' is not a range of km: expected min-max or min-, with at most \
             one decimal (e.g. 0.5-150)"
        ))
    };
    let km = |text: &str| -> Option<f64> {
        let (whole, decimals) = text.split_once('.').unwrap_or((text, "0"));
        let valid = digits(whole).is_some() && decimals.len() == 1 && digits(decimals).is_some();
        valid.then(|| text.parse().ok()).flatten()
    };

    let (min, max) = value.split_once('-').ok_or_else(invalid)?;
    let min = km(min).ok_or_else(invalid)?;
    let max = (!max.is_empty())
        .then(|| km(max).ok_or_else(invalid))
        .transpose()?;
    if max.is_some_and(|max| max < min) {
        return Err(invalid());
    }
    Ok((Some(min), max))
}

/// `duration`: a range of seconds `min-max` or `min-`.
pub fn duration(params: &QueryParams) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let Some(value) = params.single("duration")? else {
        return Ok((None, None));
    };
    let invalid = || {
        ApiError::parameter(format!(
            "duration '{value}' is not a range of seconds: expected min-max or min- (e.g. \
             10-3600)"
        ))
    };
    let seconds = |text: &str| digits(text).and_then(|s| i64::try_from(s).ok());

    let (min, max) = value.split_once('-').ok_or_else(invalid)?;
    let min = seconds(min).ok_or_else(invalid)?;
    let max = (!max.is_empty())
        .then(|| seconds(max).ok_or_else(invalid))
        .transpose()?;
    if max.is_some_and(|max| max < min) {
        return Err(invalid());
    }
    Ok((Some(min), max))
}

/// `states`: trip states among Nominal, Unstarted, DataLacking and Unfinished.
pub fn trip_states(params: &QueryParams) -> Result<Vec<TripState>, ApiError> {
    let mut states = Vec::new();
    for value in params.list("states") {
        let state = match value {
            "Nominal" => TripState::Nominal,
            "Unstarted" => TripState::Unstarted,
            "DataLacking" => TripState::DataLacking,
            "Unfinished" => TripState::Unfinished,
            other => {
                return Err(ApiError::parameter(format!(
                    "states '{other}' is not a trip state: expected Nominal, Unstarted, \
                     DataLacking or Unfinished"
                )))
            }
        };
        if !states.contains(&state) {
            states.push(state);
        }
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn window(text: &str) -> Result<TimeWindow, ApiError> {
        time_window(text, datetime!(2026-12-04 12:00 UTC))
    }

    #[test]
    fn intervals_of_every_supported_form_are_read() {
        let both = window("2026-12-01T08:00:00Z/2026-12-01T09:00:00+01:00").unwrap();
        assert_eq!(both.from, Some(datetime!(2026-12-01 08:00 UTC)));
        assert_eq!(both.to, Some(datetime!(2026-12-01 08:00 UTC)));

        let lasting = window("2026-12-01T08:00:00Z/P1DT2H30M").unwrap();
        assert_eq!(lasting.to, Some(datetime!(2026-12-02 10:30 UTC)));

        let open = window("2026-12-01T08:00:00Z/").unwrap();
        assert_eq!(open.to, Some(datetime!(2026-12-04 12:00 UTC)));

        let startless = window("/2026-12-01T08:00:00 01:00").unwrap();
        assert_eq!(
            (startless.from, startless.to),
            (None, Some(datetime!(2026-12-01 07:00 UTC)))
        );
    }

    #[test]
    fn malformed_or_unsupported_intervals_are_refused() {
        for bad in [
            "/",
            "2026-12-01",
            "R5/2026-12-01T08:00:00Z/P6H",
            "2026-12-01T08:00:00Z/P1Y",
            "2026-12-02T08:00:00Z/2026-12-01T08:00:00Z",
            "/P1D",
            "2026-12-01T08:00:00Z/PT",
        ] {
            let error = window(bad).expect_err(bad);
            assert!(error.message().starts_with("timestamps"), "{bad}");
        }
    }

    #[test]
    fn index_ranges_clip_the_collection_and_its_pages() {
        let params = QueryParams::parse(Some("indexRange=5-14"));
        let range = index_range(&params).unwrap();
        assert_eq!(range.total(100), 10);
        assert_eq!(range.total(8), 3);
        assert_eq!(range.window(0, 4), (5, 4));
        assert_eq!(range.window(8, 4), (13, 2));

        for bad in ["-3", "5-2", "a-", "1-b"] {
            let query = format!("indexRange={bad}");
            assert!(
                index_range(&QueryParams::parse(Some(&query))).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn trip_ranges_and_tolerance_are_checked() {
        let ok = QueryParams::parse(Some("distance=0.5-150&duration=10-&tolerance=0.05"));
        assert_eq!(distance(&ok).unwrap(), (Some(0.5), Some(150.0)));
        assert_eq!(duration(&ok).unwrap(), (Some(10), None));
        assert_eq!(tolerance(&ok).unwrap(), Some(0.05));

        let bad = QueryParams::parse(Some("distance=0.55-&duration=x&tolerance=-1"));
        assert!(distance(&bad).is_err());
        assert!(duration(&bad).is_err());
        assert!(tolerance(&bad)
            .unwrap_err()
            .message()
            .starts_with("tolerance"));
    }
}
