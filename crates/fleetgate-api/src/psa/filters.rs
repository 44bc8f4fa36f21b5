//! The filter parameters of the vehicle data operations: `timestamps`, `indexRange`,
//! `tolerance`, the trip `distance`, `duration` and `states` filters.
//!
//! Each reader checks its parameter and answers a 400 naming it, and what was expected,
//! when the value is malformed or asks for something fleetgate does not support.

use fleetgate_core::interval;
use fleetgate_core::vehicle::state::TripState;
use fleetgate_store::vehicle_reads::TimeWindow;
use time::OffsetDateTime;

use super::params::QueryParams;
use crate::error::ApiError;

/// The most intervals `timestamps` may hold.
const MAX_INTERVALS: usize = 10;

/// `timestamps`: 1 to 10 intervals of the spec's grammar (`fleetgate_core::interval`),
/// repeating ones expanded; none means any time.
pub fn timestamps(params: &QueryParams) -> Result<Vec<TimeWindow>, ApiError> {
    let intervals = params.list("timestamps");
    if intervals.len() > MAX_INTERVALS {
        return Err(ApiError::parameter(format!(
            "timestamps holds {} intervals: at most {MAX_INTERVALS} are allowed",
            intervals.len()
        )));
    }

    let now = OffsetDateTime::now_utc();
    let mut windows = Vec::new();
    for interval in intervals {
        windows.extend(time_windows(interval, now)?);
    }
    if windows.len() > interval::MAX_SPANS {
        return Err(ApiError::parameter(format!(
            "timestamps selects {} time ranges: at most {} are allowed",
            windows.len(),
            interval::MAX_SPANS
        )));
    }
    Ok(windows)
}

/// The time windows of one interval of `timestamps`.
fn time_windows(interval: &str, now: OffsetDateTime) -> Result<Vec<TimeWindow>, ApiError> {
    // A '+' of an offset left unencoded in the query string arrives as a space.
    let interval = interval.replace(' ', "+");
    let spans =
        interval::parse(&interval, now).map_err(|error| ApiError::parameter(error.to_string()))?;
    let windows = spans
        .into_iter()
        .map(|span| TimeWindow {
            from: span.from,
            to: span.to,
        })
        .collect();
    Ok(windows)
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

    fn windows(text: &str) -> Result<Vec<TimeWindow>, ApiError> {
        time_windows(text, datetime!(2026-12-04 12:00 UTC))
    }

    #[test]
    fn intervals_are_read_into_windows_and_repeating_ones_expanded() {
        let startless = windows("/2026-12-01T08:00:00 01:00").unwrap();
        assert_eq!(
            startless,
            [TimeWindow {
                from: None,
                to: Some(datetime!(2026-12-01 07:00 UTC))
            }]
        );
        let repeated = windows("R3/2026-12-01T08:00:00Z/P1D/PT1H").unwrap();
        assert_eq!(repeated.len(), 3);
        assert_eq!(repeated[2].to, Some(datetime!(2026-12-03 09:00 UTC)));
    }

    #[test]
    fn malformed_intervals_and_too_many_ranges_are_refused() {
        let error = windows("2026-12-01T08:00:00Z/P1X").expect_err("unit X");
        assert!(
            error.message().starts_with("timestamps"),
            "{}",
            error.message()
        );

        let many: Vec<_> = (0..2)
            .map(|_| "timestamps=R600/2026-01-01T00:00:00Z/PT1H/PT1M")
            .collect();
        let params = QueryParams::parse(Some(&many.join("&")));
        let error = timestamps(&params).expect_err("1200 ranges");
        assert!(
            error.message().contains("1200 time ranges"),
            "{}",
            error.message()
        );
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
