//! What the platform knows of one vehicle, and the records it derives from its messages.
//!
//! [`VehicleState`] is the vehicle's current picture (latest status sections, last position,
//! the trip under way, active alerts, the stolen period under way); it is stored as one
//! JSON document per vehicle, so any node can load it and carry on. Applying a message to
//! it (see `derive`) updates it and returns the [`Record`]s to store: trips, alerts,
//! alarms, collisions and stolen periods, each with an id derived from the vehicle and the
//! message that created it, so that replaying a message never creates a second record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::message::{
    AlarmActivation, CollisionDetail, EnergySample, EnergySubType, EnergyType, Ignition,
    MaintenanceSample, PositionFix, Privacy, Severity,
};
use crate::Vin;

/// A value and the time the vehicle measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamped<T> {
    /// The value.
    pub value: T,
    /// When it was measured.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl<T> Stamped<T> {
    /// A value measured at `at`.
    pub fn new(value: T, at: OffsetDateTime) -> Self {
        Self { value, at }
    }
}

/// A position and when it was measured.
pub type Located = Stamped<PositionFix>;

/// The current picture of one vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VehicleState {
    /// The vehicle.
    pub vin: Vin,
    /// The time of the newest message applied.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_at: Option<OffsetDateTime>,
    /// The last position kept (none while privacy forbids it).
    #[serde(default)]
    pub position: Option<Located>,
    /// The last ignition state.
    #[serde(default)]
    pub ignition: Option<Stamped<Ignition>>,
    /// The last odometer reading, km.
    #[serde(default)]
    pub odometer: Option<Stamped<f64>>,
    /// The last sample of each energy, in the order the vehicle sends them.
    #[serde(default)]
    pub energies: Vec<Stamped<EnergySample>>,
    /// The last maintenance figures.
    #[serde(default)]
    pub maintenance: Option<Stamped<MaintenanceSample>>,
    /// The last privacy state.
    #[serde(default)]
    pub privacy: Option<Stamped<Privacy>>,
    /// The last value of each other `Status` section (`battery`, `doorsState`...).
    #[serde(default)]
    pub sections: BTreeMap<String, Stamped<Value>>,
    /// The alarm's last state, and its last trigger.
    #[serde(default)]
    pub alarm: Option<AlarmState>,
    /// The trip under way.
    #[serde(default)]
    pub open_trip: Option<Trip>,
    /// The alerts active now.
    #[serde(default)]
    pub active_alerts: Vec<Alert>,
    /// The stolen period under way.
    #[serde(default)]
    pub stolen: Option<StolenPeriod>,
    /// The time of the newest telemetry sample applied. Trips are cut from the samples in
    /// time order, so a sample older than this one (arriving late) leaves them alone.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_sample_at: Option<OffsetDateTime>,
}

impl VehicleState {
    /// The picture of a vehicle that has sent nothing yet.
    pub fn new(vin: Vin) -> Self {
        Self {
            vin,
            last_at: None,
            position: None,
            ignition: None,
            odometer: None,
            energies: Vec::new(),
            maintenance: None,
            privacy: None,
            sections: BTreeMap::new(),
            alarm: None,
            open_trip: None,
            active_alerts: Vec::new(),
            stolen: None,
            last_sample_at: None,
        }
    }
}

/// The alarm's state and its last trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmState {
    /// Armed or not.
    pub activation: Stamped<AlarmActivation>,
    /// The last time it went off, and why.
    #[serde(default)]
    pub last_trigger: Option<Alarm>,
}

/// A record derived from messages, to be stored (inserted, or updated by id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Record {
    /// A trip opened, progressed or closed.
    Trip(Trip),
    /// An alert raised or ended.
    Alert(Alert),
    /// The alarm armed, disarmed or set off.
    Alarm(Alarm),
    /// A collision.
    Collision(Collision),
    /// A stolen period started or ended.
    Stolen(StolenPeriod),
}

/// The spec's trip states (`TripStateEnum`); faults of a trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TripState {
    /// Started and stopped by the ignition, with no gap.
    Nominal,
    /// Opened by movement without an ignition start.
    Unstarted,
    /// A gap in the data while it was open.
    DataLacking,
    /// Closed without an ignition stop.
    Unfinished,
}

/// A trip: from ignition on (or first movement) to ignition off (or silence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trip {
    /// Derived from the VIN and the id of the message that opened it.
    pub id: String,
    /// The vehicle.
    pub vin: Vin,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it stopped; none while under way.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub stopped_at: Option<OffsetDateTime>,
    /// The time of the last sample applied to it.
    #[serde(with = "time::serde::rfc3339")]
    pub last_sample_at: OffsetDateTime,
    /// Where it started (none under privacy).
    #[serde(default)]
    pub start_position: Option<PositionFix>,
    /// Where it stopped, or the last position while under way.
    #[serde(default)]
    pub stop_position: Option<PositionFix>,
    /// Odometer at the start, km.
    #[serde(default)]
    pub start_mileage: Option<f64>,
    /// Odometer at the end (or now), km.
    #[serde(default)]
    pub end_mileage: Option<f64>,
    /// Energies at the start.
    #[serde(default)]
    pub start_energies: Vec<EnergySample>,
    /// Energies at the end (or now).
    #[serde(default)]
    pub end_energies: Vec<EnergySample>,
    /// Great-circle distance between its successive positions, km.
    pub path_distance: f64,
    /// The highest speed seen, km/h.
    #[serde(default)]
    pub max_speed: Option<f64>,
    /// Sum and count of the speeds seen, for the average.
    pub speed_sum: f64,
    /// How many speeds were summed.
    pub speed_samples: u32,
    /// Its faults, in the order they appeared (empty: `Nominal`).
    #[serde(default)]
    pub faults: Vec<TripState>,
    /// True once it is closed.
    pub done: bool,
}

impl Trip {
    /// The trip's state, one value of the spec's `TripStateEnum`: `Nominal` without
    /// faults, else the fault of the earliest step of the trip — `Unstarted` (its start),
    /// then `DataLacking` (its course), then `Unfinished` (its end). As faults are recorded
    /// when they happen, this is also its first fault; all of them stay in `faults`.
    pub fn state(&self) -> TripState {
        self.faults
            .iter()
            .copied()
            .filter(|fault| *fault != TripState::Nominal)
            .min()
            .unwrap_or(TripState::Nominal)
    }

    /// Whether the trip is in `state`, as the spec's `states` filter means it: `Nominal`
    /// when it has no fault, else when that fault is one of its faults.
    pub fn has_state(&self, state: TripState) -> bool {
        match state {
            TripState::Nominal => self.state() == TripState::Nominal,
            fault => self.faults.contains(&fault),
        }
    }

    /// The distance covered, km: the odometer difference when both ends have a reading
    /// (and it does not go backwards), else the length of its path.
    pub fn distance(&self) -> f64 {
        match (self.start_mileage, self.end_mileage) {
            (Some(start), Some(end)) if end >= start => end - start,
            _ => self.path_distance,
        }
    }

    /// From its start to its stop (to its last sample while under way), in seconds.
    pub fn duration_seconds(&self) -> i64 {
        let end = self.stopped_at.unwrap_or(self.last_sample_at);
        (end - self.started_at).whole_seconds().max(0)
    }

    /// The average speed, km/h: the mean of the speeds sampled, else (no speed sampled)
    /// the distance over the duration; none when neither is known.
    pub fn average_speed(&self) -> Option<f64> {
        if self.speed_samples > 0 {
            return Some(self.speed_sum / f64::from(self.speed_samples));
        }

        let hours = self.duration_seconds() as f64 / 3600.0;
        let distance = self.distance();
        (hours > 0.0 && distance > 0.0).then(|| distance / hours)
    }

    /// The energy used per energy, from the `consumption` counters at its start and end;
    /// an energy whose counters are missing (or went backwards) is left out.
    pub fn energy_consumptions(&self) -> Vec<EnergyConsumption> {
        let distance = self.distance();
        self.end_energies
            .iter()
            .filter_map(|end| {
                let start = self.start_energies.iter().find(|s| same_energy(s, end))?;
                let used = end.consumption? - start.consumption?;
                (used >= 0.0).then(|| EnergyConsumption {
                    kind: end.kind,
                    sub_type: end.sub_type.or(start.sub_type),
                    consumption: used,
                    avg_consumption: (distance > 0.0).then(|| used * 100.0 / distance),
                })
            })
            .collect()
    }
}

/// The energy a trip used, for one energy (the spec's `EnergyConsumption`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnergyConsumption {
    /// Fuel or electric.
    #[serde(rename = "type")]
    pub kind: EnergyType,
    /// The sub-type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<EnergySubType>,
    /// The energy used: cl (fuel) or Wh (electric).
    pub consumption: f64,
    /// The energy used per 100 km of the trip's distance; none when it covered none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_consumption: Option<f64>,
}

/// Whether two samples describe the same energy of a vehicle: same type, and same
/// sub-type when both name one.
pub fn same_energy(a: &EnergySample, b: &EnergySample) -> bool {
    let sub_types_agree = match (a.sub_type, b.sub_type) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    a.kind == b.kind && sub_types_agree
}

/// An alert of a vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Derived from the VIN and the id of the message that raised it.
    pub id: String,
    /// The vehicle.
    pub vin: Vin,
    /// A value of the spec's `AlertMsgEnum`.
    pub kind: String,
    /// How serious it is.
    pub severity: Severity,
    /// True until it ends.
    pub active: bool,
    /// When it appeared.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it ended.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Where it appeared.
    #[serde(default)]
    pub start_position: Option<PositionFix>,
    /// Where it ended.
    #[serde(default)]
    pub end_position: Option<PositionFix>,
    /// The trip under way when it appeared.
    #[serde(default)]
    pub trip_id: Option<String>,
}

/// A change of the alarm: armed, disarmed, or set off (`trigger`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alarm {
    /// Derived from the VIN and the message id.
    pub id: String,
    /// The vehicle.
    pub vin: Vin,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Armed or not.
    pub activation: AlarmActivation,
    /// What set it off, when it went off.
    #[serde(default)]
    pub trigger: Option<String>,
    /// Where.
    #[serde(default)]
    pub position: Option<PositionFix>,
}

/// A collision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collision {
    /// Derived from the VIN and the message id.
    pub id: String,
    /// The vehicle.
    pub vin: Vin,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The impacts.
    pub details: Vec<CollisionDetail>,
    /// Whether it tipped over.
    #[serde(default)]
    pub tipped_over: Option<bool>,
    /// Whether a pedestrian was involved.
    #[serde(default)]
    pub pedestrian: Option<bool>,
    /// Where.
    #[serde(default)]
    pub position: Option<PositionFix>,
    /// The trip under way.
    #[serde(default)]
    pub trip_id: Option<String>,
}

/// A period during which the vehicle was reported stolen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StolenPeriod {
    /// Derived from the VIN and the id of the message that reported it.
    pub id: String,
    /// The vehicle.
    pub vin: Vin,
    /// True while it lasts.
    pub active: bool,
    /// When it was reported.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it was recovered.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Where it was when reported.
    #[serde(default)]
    pub start_position: Option<PositionFix>,
    /// Where it was when recovered.
    #[serde(default)]
    pub end_position: Option<PositionFix>,
}

/// The id of a record created by message `message_id` of `vin`: stable across replays.
pub fn record_id(kind: &str, vin: &Vin, message_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update([0]);
    hasher.update(vin.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(message_id.as_bytes());
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn trip() -> Trip {
        Trip {
            id: "t".into(),
            vin: Vin::parse("VF3ABCDE0FG123456").unwrap(),
            started_at: datetime!(2026-12-04 08:00 UTC),
            stopped_at: None,
            last_sample_at: datetime!(2026-12-04 08:30 UTC),
            start_position: None,
            stop_position: None,
            start_mileage: None,
            end_mileage: None,
            start_energies: Vec::new(),
            end_energies: Vec::new(),
            path_distance: 12.5,
            max_speed: None,
            speed_sum: 0.0,
            speed_samples: 0,
            faults: Vec::new(),
            done: false,
        }
    }

    fn energy(
        kind: EnergyType,
        sub_type: Option<EnergySubType>,
        used: Option<f64>,
    ) -> EnergySample {
        EnergySample {
            kind,
            sub_type,
            fuel_type: None,
            level: None,
            autonomy: None,
            consumption: used,
            charging: None,
        }
    }

    #[test]
    fn the_state_is_the_fault_of_the_earliest_step() {
        let mut trip = trip();
        assert_eq!(trip.state(), TripState::Nominal);
        assert!(trip.has_state(TripState::Nominal));

        trip.faults = vec![TripState::Unfinished, TripState::DataLacking];
        assert_eq!(trip.state(), TripState::DataLacking);
        trip.faults.push(TripState::Unstarted);
        assert_eq!(trip.state(), TripState::Unstarted);

        assert!(!trip.has_state(TripState::Nominal));
        assert!(trip.has_state(TripState::Unfinished));
        trip.faults = vec![TripState::DataLacking];
        assert!(!trip.has_state(TripState::Unfinished));
    }

    #[test]
    fn the_distance_is_the_odometer_difference_else_the_path() {
        let mut trip = trip();
        trip.start_mileage = Some(100.0);
        assert_eq!(trip.distance(), 12.5, "one end only");

        trip.end_mileage = Some(110.0);
        assert_eq!(trip.distance(), 10.0);

        trip.end_mileage = Some(90.0);
        assert_eq!(
            trip.distance(),
            12.5,
            "an odometer going backwards is not trusted"
        );
    }

    #[test]
    fn the_duration_runs_to_the_stop_or_the_last_sample() {
        let mut trip = trip();
        assert_eq!(trip.duration_seconds(), 1800);

        trip.stopped_at = Some(datetime!(2026-12-04 08:45 UTC));
        assert_eq!(trip.duration_seconds(), 2700);
    }

    #[test]
    fn the_average_speed_is_the_sampled_mean_else_distance_over_time() {
        let mut trip = trip();
        assert_eq!(trip.average_speed(), Some(25.0), "12.5 km in half an hour");

        trip.speed_sum = 90.0;
        trip.speed_samples = 3;
        assert_eq!(trip.average_speed(), Some(30.0));

        let mut standing = self::trip();
        standing.path_distance = 0.0;
        assert_eq!(standing.average_speed(), None);
    }

    #[test]
    fn consumptions_come_from_the_counters_of_each_energy() {
        let fossil = Some(EnergySubType::FossilEnergy);
        let mut trip = trip();
        trip.start_mileage = Some(100.0);
        trip.end_mileage = Some(150.0);
        trip.start_energies = vec![
            energy(EnergyType::Fuel, fossil, Some(5000.0)),
            energy(EnergyType::Electric, None, Some(1000.0)),
            energy(EnergyType::Fuel, Some(EnergySubType::Hydrogen), None),
        ];
        trip.end_energies = vec![
            energy(
                EnergyType::Electric,
                Some(EnergySubType::ElectricEnergy),
                Some(3000.0),
            ),
            energy(EnergyType::Fuel, fossil, Some(5100.0)),
            energy(EnergyType::Fuel, Some(EnergySubType::Hydrogen), Some(7.0)),
        ];

        let consumptions = trip.energy_consumptions();

        let expected = [
            (
                EnergyType::Electric,
                Some(EnergySubType::ElectricEnergy),
                2000.0,
                4000.0,
            ),
            (EnergyType::Fuel, fossil, 100.0, 200.0),
        ];
        let found: Vec<_> = consumptions
            .iter()
            .map(|c| {
                (
                    c.kind,
                    c.sub_type,
                    c.consumption,
                    c.avg_consumption.unwrap(),
                )
            })
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn a_counter_going_backwards_gives_no_consumption() {
        let mut trip = trip();
        trip.path_distance = 0.0;
        trip.start_energies = vec![energy(EnergyType::Fuel, None, Some(10.0))];
        trip.end_energies = vec![energy(EnergyType::Fuel, None, Some(4.0))];
        assert!(trip.energy_consumptions().is_empty());

        trip.end_energies[0].consumption = Some(10.0);
        let standing = trip.energy_consumptions();
        assert_eq!(standing.len(), 1);
        assert_eq!(standing[0].avg_consumption, None, "no distance, no average");
    }
}
