//! Validity periods: computed from a number of days, and normalised to what a certificate
//! can hold (UTC, whole seconds, years 0 to 9999).

use time::{Duration, OffsetDateTime, UtcOffset};

use crate::error::PkiError;

/// How far back `not_before` is set, so that a client whose clock is a little late
/// does not see a certificate from the future.
pub(crate) const BACKDATE: Duration = Duration::minutes(5);

/// `not_before` = now - [`BACKDATE`], `not_after` = `not_before` + `days`.
pub(crate) fn from_now(days: u32) -> Result<(OffsetDateTime, OffsetDateTime), PkiError> {
    let not_before = OffsetDateTime::now_utc() - BACKDATE;

    let not_after = not_before
        .checked_add(Duration::days(i64::from(days)))
        .ok_or(PkiError::ValidityOutOfRange)?;

    checked(not_before, not_after)
}

/// Normalises both bounds and checks that the period is not empty.
pub(crate) fn checked(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime), PkiError> {
    let not_before = normalise(not_before)?;
    let not_after = normalise(not_after)?;

    if not_after <= not_before {
        return Err(PkiError::EmptyValidity {
            not_before,
            not_after,
        });
    }
    Ok((not_before, not_after))
}

/// In UTC, without the fraction of a second, and within the years a certificate can hold.
fn normalise(moment: OffsetDateTime) -> Result<OffsetDateTime, PkiError> {
    let utc = moment
        .checked_to_offset(UtcOffset::UTC)
        .ok_or(PkiError::ValidityOutOfRange)?;

    let whole = utc
        .replace_nanosecond(0)
        .map_err(|_| PkiError::ValidityOutOfRange)?;

    if !(0..=9999).contains(&whole.year()) {
        return Err(PkiError::ValidityOutOfRange);
    }
    Ok(whole)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn from_now_starts_five_minutes_ago_and_lasts_the_days_asked() {
        let before_call = OffsetDateTime::now_utc();

        let (not_before, not_after) = from_now(10).expect("valid");

        let lag = before_call - not_before;
        assert!(
            lag >= Duration::minutes(5) - Duration::seconds(1),
            "lag {lag}"
        );
        assert!(
            lag <= Duration::minutes(5) + Duration::seconds(5),
            "lag {lag}"
        );
        assert_eq!(not_after - not_before, Duration::days(10));
        assert_eq!(not_before.nanosecond(), 0);
    }

    #[test]
    fn zero_days_and_reversed_bounds_are_refused() {
        assert!(matches!(from_now(0), Err(PkiError::EmptyValidity { .. })));

        let early = datetime!(2020-01-01 0:00 UTC);
        let late = datetime!(2021-01-01 0:00 UTC);
        assert!(matches!(
            checked(late, early),
            Err(PkiError::EmptyValidity { .. })
        ));
        assert!(checked(early, late).is_ok());
    }

    #[test]
    fn bounds_are_converted_to_utc_and_out_of_range_years_refused() {
        let paris = datetime!(2024-06-01 12:00:00.5 +2);
        let (not_before, _) = checked(paris, paris + Duration::days(1)).expect("valid");
        assert_eq!(not_before, datetime!(2024-06-01 10:00 UTC));
        assert_eq!(not_before.offset(), UtcOffset::UTC);

        let before_year_zero = time::Date::from_calendar_date(-1, time::Month::June, 1)
            .expect("date")
            .midnight()
            .assume_utc();
        assert!(matches!(
            checked(before_year_zero, paris),
            Err(PkiError::ValidityOutOfRange)
        ));
        assert!(matches!(
            from_now(u32::MAX),
            Err(PkiError::ValidityOutOfRange)
        ));
    }
}
