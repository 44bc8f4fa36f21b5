//! Applying a vehicle's messages, one after the other, to its [`VehicleState`]: the rules of
//! "What the platform derives" in `docs/vehicle-protocol.md`, without I/O.
//!
//! [`apply`] takes one validated (and already de-duplicated) message, updates the state and
//! returns the records to store; [`close_if_silent`] is what a periodic sweep calls to close
//! the trips of vehicles that went quiet. The work is split by subject:
//!
//! - `status`: the latest value of each status section, privacy included;
//! - `trip`: cutting the telemetry into trips;
//! - `events`: alerts, alarms, collisions and stolen periods.

mod events;
mod status;
mod trip;

#[cfg(test)]
mod tests;

use time::{Duration, OffsetDateTime};

use super::message::{MessageBody, Privacy, Telemetry, VehicleMessage};
use super::state::{Record, VehicleState};

/// A gap longer than this between two samples of an open trip makes it `DataLacking`.
pub const DATA_GAP: Duration = Duration::minutes(5);

/// An open trip without a sample for longer than this is closed as `Unfinished`.
pub const SILENCE: Duration = Duration::minutes(30);

/// Above this speed (km/h) a vehicle is moving: a sample this fast opens a trip.
pub const MOVING_SPEED_KMH: f64 = 5.0;

/// Applies one message to the vehicle's state; returns the records to store.
///
/// Trips and stolen periods are returned whole each time they change (the store upserts
/// them by id), so the last record of an id is its current value.
pub fn apply(state: &mut VehicleState, message: &VehicleMessage) -> Vec<Record> {
    let newest = state
        .last_at
        .map_or(message.at, |last| last.max(message.at));
    state.last_at = Some(newest);

    match &message.body {
        MessageBody::Telemetry(sample) => apply_telemetry(state, message, sample),
        MessageBody::Event(event) => events::apply(state, message, event),
        MessageBody::Ack(_) => Vec::new(),
    }
}

/// Closes the trip under way when the vehicle has been silent too long at `now`.
///
/// A trip whose last sample is more than [`SILENCE`] before `now` is closed at that last
/// sample, with the `Unfinished` fault, and returned.
pub fn close_if_silent(state: &mut VehicleState, now: OffsetDateTime) -> Option<Record> {
    trip::close_if_silent(state, now)
}

/// Updates the status from a telemetry sample, then the trips.
fn apply_telemetry(
    state: &mut VehicleState,
    message: &VehicleMessage,
    sample: &Telemetry,
) -> Vec<Record> {
    let previous_ignition = state.ignition.as_ref().map(|held| held.value);
    let shared = positions_shared(sample.privacy, state);
    let fix = sample.position.filter(|_| shared);

    status::apply(state, message.at, sample, fix);

    let trip_sample = trip::Sample {
        message_id: &message.id,
        at: message.at,
        ignition: sample.ignition,
        previous_ignition,
        fix,
        positions_hidden: !shared,
        speed: sample.position.and_then(|position| position.speed),
        odometer: sample.odometer,
        energies: &sample.energies,
    };
    trip::apply(state, &trip_sample)
}

/// Whether a message's positions may be kept: under its own privacy state when it carries
/// one, else under the last one known (a vehicle that never sent one shares them).
fn positions_shared(own: Option<Privacy>, state: &VehicleState) -> bool {
    own.or_else(|| current_privacy(state))
        .is_none_or(Privacy::shares_position)
}

/// The privacy state held now, if the vehicle ever sent one.
fn current_privacy(state: &VehicleState) -> Option<Privacy> {
    state.privacy.as_ref().map(|held| held.value)
}
