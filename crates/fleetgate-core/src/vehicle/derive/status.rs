//! The vehicle's status: the latest value of each section a sample carries.
//!
//! Each section is stamped with the time the vehicle measured it and replaced only by a
//! sample that is not older, so a sample arriving late is stored (and listed in telemetry)
//! without moving the status back in time. The position follows the privacy state: none is
//! kept while the driver hides it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::current_privacy;
use crate::vehicle::message::{EnergySample, PositionFix, Telemetry};
use crate::vehicle::state::{same_energy, Stamped, VehicleState};

/// Applies the sections of `sample`, measured at `at`; `fix` is its position once privacy
/// was applied.
pub(super) fn apply(
    state: &mut VehicleState,
    at: OffsetDateTime,
    sample: &Telemetry,
    fix: Option<PositionFix>,
) {
    keep_newest(&mut state.privacy, sample.privacy, at);
    keep_position(state, at, fix);

    keep_newest(&mut state.ignition, sample.ignition, at);
    keep_newest(&mut state.odometer, sample.odometer, at);
    keep_newest(&mut state.maintenance, sample.maintenance, at);

    keep_energies(&mut state.energies, &sample.energies, at);
    keep_sections(&mut state.sections, &sample.status, at);
}

/// Keeps `fix` as the last position if it is not older than the one held, and privacy
/// allows positions now; drops the position held when it does not.
pub(super) fn keep_position(
    state: &mut VehicleState,
    at: OffsetDateTime,
    fix: Option<PositionFix>,
) {
    let hidden_now = current_privacy(state).is_some_and(|privacy| !privacy.shares_position());
    if hidden_now {
        state.position = None;
        return;
    }

    keep_newest(&mut state.position, fix, at);
}

/// Replaces `held` by `value` (if any) unless `held` was measured after `at`.
fn keep_newest<T>(held: &mut Option<Stamped<T>>, value: Option<T>, at: OffsetDateTime) {
    let Some(value) = value else {
        return;
    };
    if held.as_ref().is_none_or(|held| held.at <= at) {
        *held = Some(Stamped::new(value, at));
    }
}

/// Replaces each energy the sample carries, matched by type (and sub-type), unless the
/// value held is newer; an energy not seen before is added after the others.
fn keep_energies(
    held: &mut Vec<Stamped<EnergySample>>,
    energies: &[EnergySample],
    at: OffsetDateTime,
) {
    for energy in energies {
        match held
            .iter_mut()
            .find(|held| same_energy(&held.value, energy))
        {
            Some(known) if known.at <= at => *known = Stamped::new(energy.clone(), at),
            Some(_) => {}
            None => held.push(Stamped::new(energy.clone(), at)),
        }
    }
}

/// Replaces each other `Status` section the sample carries, unless the value held is newer.
fn keep_sections(
    held: &mut BTreeMap<String, Stamped<Value>>,
    sections: &Map<String, Value>,
    at: OffsetDateTime,
) {
    for (name, value) in sections {
        let newer = held.get(name).is_none_or(|known| known.at <= at);
        if newer {
            held.insert(name.clone(), Stamped::new(value.clone(), at));
        }
    }
}
