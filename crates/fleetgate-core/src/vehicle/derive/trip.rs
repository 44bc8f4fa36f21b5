//! Cutting a vehicle's telemetry into trips ("Trips" in `docs/vehicle-protocol.md`).
//!
//! The ignition is read as a level that a vehicle may repeat in every sample, so a trip
//! starts when the ignition *goes* to running: from `Stop` (or nothing known) to `StartUp`
//! or `Start`, or to `StartUp` again after `Start` (a new start-up sequence: the `Stop` in
//! between was missed). `StartUp` followed by `Start` is one and the same start. Any `Stop`
//! ends the open trip; a sample saying `Stop` never opens one, even moving (the vehicle is
//! towed or carried, not driven).
//!
//! Samples are taken in time order: one older than the newest sample applied is left out.

use time::OffsetDateTime;

use super::{DATA_GAP, MOVING_SPEED_KMH, SILENCE};
use crate::geo::{self, Point};
use crate::vehicle::message::{EnergySample, Ignition, PositionFix};
use crate::vehicle::state::{record_id, same_energy, Record, Trip, TripState, VehicleState};

/// What a telemetry sample tells the trips.
pub(super) struct Sample<'a> {
    /// The id of the message, for the id of a trip it opens.
    pub(super) message_id: &'a str,
    /// When it was measured.
    pub(super) at: OffsetDateTime,
    /// The ignition it reports.
    pub(super) ignition: Option<Ignition>,
    /// The ignition known before it.
    pub(super) previous_ignition: Option<Ignition>,
    /// Its position, when privacy lets it be kept.
    pub(super) fix: Option<PositionFix>,
    /// True when privacy forbids keeping positions.
    pub(super) positions_hidden: bool,
    /// Its speed, km/h.
    pub(super) speed: Option<f64>,
    /// Its odometer, km.
    pub(super) odometer: Option<f64>,
    /// Its energies.
    pub(super) energies: &'a [EnergySample],
}

impl Sample<'_> {
    /// Whether the ignition goes to running with this sample.
    fn starts(&self) -> bool {
        match (self.previous_ignition, self.ignition) {
            (Some(Ignition::StartUp | Ignition::Start), Some(Ignition::Start)) => false,
            (Some(Ignition::StartUp), Some(Ignition::StartUp)) => false,
            (_, Some(Ignition::StartUp | Ignition::Start)) => true,
            _ => false,
        }
    }

    /// Whether the ignition reports running (started now or before).
    fn running(&self) -> bool {
        matches!(self.ignition, Some(Ignition::StartUp | Ignition::Start))
    }

    /// Whether the vehicle is moving under its own power, as far as the sample tells.
    fn moving(&self) -> bool {
        let fast = self.speed.is_some_and(|speed| speed > MOVING_SPEED_KMH);
        fast && self.ignition != Some(Ignition::Stop)
    }
}

/// Applies a sample to the trips; returns the trips it changed, in order.
pub(super) fn apply(state: &mut VehicleState, sample: &Sample) -> Vec<Record> {
    let newest = state.last_sample_at.unwrap_or(sample.at);
    if sample.at < newest {
        return Vec::new();
    }
    state.last_sample_at = Some(sample.at);

    let mut records: Vec<Record> = close_if_silent(state, sample.at).into_iter().collect();
    if sample.starts() {
        records.extend(close_unfinished(state));
    }

    let changed = if state.open_trip.is_some() {
        continue_trip(state, sample)
    } else {
        open_trip(state, sample)
    };
    records.extend(changed);
    records
}

/// Closes the open trip if its last sample is more than [`SILENCE`] before `now`.
pub(super) fn close_if_silent(state: &mut VehicleState, now: OffsetDateTime) -> Option<Record> {
    let last_sample_at = state.open_trip.as_ref()?.last_sample_at;
    if now - last_sample_at > SILENCE {
        close_unfinished(state)
    } else {
        None
    }
}

/// Closes the open trip, without an ignition stop, at its last sample.
fn close_unfinished(state: &mut VehicleState) -> Option<Record> {
    let mut trip = state.open_trip.take()?;

    add_fault(&mut trip, TripState::Unfinished);
    trip.done = true;
    trip.stopped_at = Some(trip.last_sample_at);
    Some(Record::Trip(trip))
}

/// Opens a trip if the sample starts the ignition, reports it running or shows movement.
fn open_trip(state: &mut VehicleState, sample: &Sample) -> Option<Record> {
    let faults = if sample.starts() {
        Vec::new()
    } else if sample.running() || sample.moving() {
        vec![TripState::Unstarted]
    } else {
        return None;
    };

    let mut trip = Trip {
        id: record_id("trip", &state.vin, sample.message_id),
        vin: state.vin.clone(),
        started_at: sample.at,
        stopped_at: None,
        last_sample_at: sample.at,
        start_position: None,
        stop_position: None,
        start_mileage: None,
        end_mileage: None,
        start_energies: Vec::new(),
        end_energies: Vec::new(),
        path_distance: 0.0,
        max_speed: None,
        speed_sum: 0.0,
        speed_samples: 0,
        faults,
        done: false,
    };
    progress(&mut trip, sample);

    state.open_trip = Some(trip.clone());
    Some(Record::Trip(trip))
}

/// Adds a sample to the open trip, and closes it when the ignition stops.
fn continue_trip(state: &mut VehicleState, sample: &Sample) -> Option<Record> {
    let trip = state.open_trip.as_mut()?;
    progress(trip, sample);

    if sample.ignition != Some(Ignition::Stop) {
        return Some(Record::Trip(trip.clone()));
    }
    trip.done = true;
    trip.stopped_at = Some(sample.at);
    state.open_trip.take().map(Record::Trip)
}

/// Folds a sample into a trip: gap, path, speeds, odometer and energies.
fn progress(trip: &mut Trip, sample: &Sample) {
    if sample.at - trip.last_sample_at > DATA_GAP {
        add_fault(trip, TripState::DataLacking);
    }
    trip.last_sample_at = trip.last_sample_at.max(sample.at);

    follow_path(trip, sample);
    note_speed(trip, sample.speed);

    if let Some(odometer) = sample.odometer {
        trip.start_mileage.get_or_insert(odometer);
        trip.end_mileage = Some(odometer);
    }
    note_energies(trip, sample.energies);
}

/// Extends the trip's path to the sample's position; under privacy, forgets where the
/// trip is (its path starts again from the next position shared).
fn follow_path(trip: &mut Trip, sample: &Sample) {
    if sample.positions_hidden {
        trip.stop_position = None;
        return;
    }
    let Some(fix) = sample.fix else {
        return;
    };

    if let Some(previous) = &trip.stop_position {
        trip.path_distance += geo::distance_km(point(previous), point(&fix));
    }
    trip.start_position.get_or_insert(fix);
    trip.stop_position = Some(fix);
}

/// Counts a speed for the trip's maximum and average.
fn note_speed(trip: &mut Trip, speed: Option<f64>) {
    let Some(speed) = speed else {
        return;
    };

    trip.max_speed = Some(trip.max_speed.map_or(speed, |max| max.max(speed)));
    trip.speed_sum += speed;
    trip.speed_samples += 1;
}

/// Keeps the first sample of each energy as its start, and its latest values as its end.
fn note_energies(trip: &mut Trip, energies: &[EnergySample]) {
    for energy in energies {
        if !trip
            .start_energies
            .iter()
            .any(|start| same_energy(start, energy))
        {
            trip.start_energies.push(energy.clone());
        }

        match trip
            .end_energies
            .iter_mut()
            .find(|end| same_energy(end, energy))
        {
            Some(end) => merge_energy(end, energy),
            None => trip.end_energies.push(energy.clone()),
        }
    }
}

/// Overwrites `held` with what `newer` measured, keeping the fields it did not send.
fn merge_energy(held: &mut EnergySample, newer: &EnergySample) {
    held.sub_type = newer.sub_type.or(held.sub_type);
    held.fuel_type = newer.fuel_type.or(held.fuel_type);
    held.level = newer.level.or(held.level);
    held.autonomy = newer.autonomy.or(held.autonomy);
    held.consumption = newer.consumption.or(held.consumption);
    if newer.charging.is_some() {
        held.charging.clone_from(&newer.charging);
    }
}

/// Records a fault once.
fn add_fault(trip: &mut Trip, fault: TripState) {
    if !trip.faults.contains(&fault) {
        trip.faults.push(fault);
    }
}

/// A position as a point on the globe.
fn point(fix: &PositionFix) -> Point {
    Point::new(fix.lon, fix.lat)
}
