//! Message sequences applied to a vehicle's state, and what must come out of them.

use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{apply, close_if_silent};
use crate::geo::{self, Point};
use crate::vehicle::message::{
    AckStatus, AlarmActivation, AlarmEvent, AlertEvent, Channel, CollisionDetail, CollisionEvent,
    CollisionSide, CommandAck, EnergySample, EnergySubType, EnergyType, Event, Ignition,
    MessageBody, PositionFix, Privacy, Severity, Telemetry, TheftEvent, VehicleMessage,
};
use crate::vehicle::state::{
    record_id, Alert, Record, StolenPeriod, Trip, TripState, VehicleState,
};
use crate::Vin;

// ----- building messages -----

fn vin() -> Vin {
    Vin::parse("VF3ABCDE0FG123456").unwrap()
}

fn fresh() -> VehicleState {
    VehicleState::new(vin())
}

/// The time `seconds` after the first message of every sequence.
fn at(seconds: i64) -> OffsetDateTime {
    datetime!(2026-12-04 08:00 UTC) + Duration::seconds(seconds)
}

fn minutes(count: i64) -> i64 {
    count * 60
}

fn message(id: &str, seconds: i64, body: MessageBody) -> VehicleMessage {
    VehicleMessage {
        vin: vin(),
        id: id.into(),
        at: at(seconds),
        body,
    }
}

fn telemetry(id: &str, seconds: i64, sample: Telemetry) -> VehicleMessage {
    message(id, seconds, MessageBody::Telemetry(sample))
}

fn event(id: &str, seconds: i64, event: Event) -> VehicleMessage {
    message(id, seconds, MessageBody::Event(event))
}

fn fix(lon: f64, lat: f64, speed: f64) -> PositionFix {
    PositionFix {
        lon,
        lat,
        alt: None,
        heading: None,
        speed: Some(speed),
        signal_quality: None,
        kind: None,
        fix_status: None,
    }
}

fn ignition(value: Ignition) -> Telemetry {
    Telemetry {
        ignition: Some(value),
        ..Telemetry::default()
    }
}

fn moving(position: PositionFix) -> Telemetry {
    Telemetry {
        position: Some(position),
        ..Telemetry::default()
    }
}

fn fuel(consumption: f64, level: f64) -> EnergySample {
    EnergySample {
        kind: EnergyType::Fuel,
        sub_type: Some(EnergySubType::FossilEnergy),
        fuel_type: None,
        level: Some(level),
        autonomy: None,
        consumption: Some(consumption),
        charging: None,
    }
}

fn alert(kind: &str, active: bool) -> Event {
    Event::Alert(AlertEvent {
        alert: kind.into(),
        severity: Severity::Warning,
        active,
        position: None,
    })
}

fn theft(stolen: bool) -> Event {
    Event::Theft(TheftEvent {
        stolen,
        position: None,
    })
}

fn collision(position: Option<PositionFix>) -> Event {
    Event::Collision(CollisionEvent {
        details: vec![CollisionDetail {
            side: CollisionSide::Front,
            severity: None,
        }],
        tipped_over: Some(false),
        pedestrian: None,
        position,
    })
}

/// Parses a payload as a vehicle sends it.
fn parse(channel: Channel, json: serde_json::Value) -> VehicleMessage {
    let now = at(minutes(24 * 60));
    VehicleMessage::parse(&vin(), channel, json.to_string().as_bytes(), now).unwrap()
}

// ----- reading records -----

fn trips(records: &[Record]) -> Vec<&Trip> {
    records
        .iter()
        .filter_map(|record| match record {
            Record::Trip(trip) => Some(trip),
            _ => None,
        })
        .collect()
}

fn only_trip(records: &[Record]) -> &Trip {
    match records {
        [Record::Trip(trip)] => trip,
        other => panic!("expected one trip, got {other:?}"),
    }
}

fn only_alert(records: &[Record]) -> &Alert {
    match records {
        [Record::Alert(alert)] => alert,
        other => panic!("expected one alert, got {other:?}"),
    }
}

fn only_stolen(records: &[Record]) -> &StolenPeriod {
    match records {
        [Record::Stolen(period)] => period,
        other => panic!("expected one stolen period, got {other:?}"),
    }
}

fn apply_all(state: &mut VehicleState, messages: &[VehicleMessage]) -> Vec<Record> {
    messages
        .iter()
        .flat_map(|message| apply(state, message))
        .collect()
}

fn close_to(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-9
}

// ----- trips -----

#[test]
fn a_nominal_trip_runs_from_start_to_stop() {
    let mut state = fresh();
    let points = [(2.3522, 48.8566), (2.3622, 48.8566), (2.3722, 48.8600)];
    let payloads = [
        json!({"v": 1, "id": "m-1", "at": "2026-12-04T08:00:00Z", "ignition": "Start",
               "position": {"lon": 2.3522, "lat": 48.8566, "speed": 0.0}, "odometer": 1000.0,
               "energies": [{"type": "Fuel", "subType": "FossilEnergy", "level": 60.0,
                             "consumption": 5000.0}]}),
        json!({"v": 1, "id": "m-2", "at": "2026-12-04T08:01:00Z", "ignition": "Start",
               "position": {"lon": 2.3622, "lat": 48.8566, "speed": 40.0}}),
        json!({"v": 1, "id": "m-3", "at": "2026-12-04T08:02:00Z", "ignition": "Start",
               "position": {"lon": 2.3722, "lat": 48.8600, "speed": 60.0}, "odometer": 1001.2}),
        json!({"v": 1, "id": "m-4", "at": "2026-12-04T08:03:00Z", "ignition": "Stop",
               "position": {"lon": 2.3722, "lat": 48.8600, "speed": 0.0}, "odometer": 1002.0,
               "energies": [{"type": "Fuel", "subType": "FossilEnergy", "level": 59.0,
                             "consumption": 5012.0}]}),
    ];
    let messages: Vec<_> = payloads
        .into_iter()
        .map(|payload| parse(Channel::Telemetry, payload))
        .collect();

    let records = apply_all(&mut state, &messages);

    let trips = trips(&records);
    assert_eq!(trips.len(), 4, "one record per change: {records:?}");
    let id = record_id("trip", &vin(), "m-1");
    assert!(
        trips.iter().all(|trip| trip.id == id),
        "one trip only: {trips:?}"
    );
    assert!(trips[..3].iter().all(|trip| !trip.done));

    let trip = trips[3];
    assert!(trip.done);
    assert_eq!(trip.state(), TripState::Nominal);
    assert_eq!((trip.started_at, trip.stopped_at), (at(0), Some(at(180))));
    assert_eq!(trip.duration_seconds(), 180);
    assert!(close_to(trip.distance(), 2.0), "{}", trip.distance());

    let points = points.map(|(lon, lat)| Point::new(lon, lat));
    let path = geo::distance_km(points[0], points[1]) + geo::distance_km(points[1], points[2]);
    assert!(
        close_to(trip.path_distance, path),
        "{} != {path}",
        trip.path_distance
    );
    assert_eq!(trip.start_position.map(|p| p.lon), Some(2.3522));
    let stop = trip.stop_position.map(|p| Point::new(p.lon, p.lat));
    assert_eq!(stop, Some(points[2]));

    assert_eq!(trip.max_speed, Some(60.0));
    assert_eq!(trip.average_speed(), Some(25.0));
    assert_eq!(
        (trip.start_mileage, trip.end_mileage),
        (Some(1000.0), Some(1002.0))
    );
    assert_eq!(trip.start_energies[0].level, Some(60.0));
    assert_eq!(trip.end_energies[0].level, Some(59.0));

    let consumptions = trip.energy_consumptions();
    assert_eq!(consumptions.len(), 1, "{consumptions:?}");
    assert_eq!(consumptions[0].kind, EnergyType::Fuel);
    assert!(close_to(consumptions[0].consumption, 12.0));
    assert!(close_to(consumptions[0].avg_consumption.unwrap(), 600.0));

    assert_eq!(state.open_trip, None);
    assert_eq!(
        state.ignition.as_ref().map(|held| held.value),
        Some(Ignition::Stop)
    );
}

#[test]
fn movement_without_a_start_opens_an_unstarted_trip() {
    let mut state = fresh();

    let slow = apply(
        &mut state,
        &telemetry("m-1", 0, moving(fix(2.0, 48.0, 4.0))),
    );
    let fast = apply(
        &mut state,
        &telemetry("m-2", 30, moving(fix(2.001, 48.0, 30.0))),
    );
    let stop = apply(&mut state, &telemetry("m-3", 60, ignition(Ignition::Stop)));

    assert!(slow.is_empty(), "5 km/h or less is not moving: {slow:?}");
    let opened = only_trip(&fast);
    assert_eq!(opened.id, record_id("trip", &vin(), "m-2"));
    assert_eq!(opened.faults, vec![TripState::Unstarted]);
    let closed = only_trip(&stop);
    assert!(closed.done);
    assert_eq!(closed.state(), TripState::Unstarted);
    assert_eq!(closed.stopped_at, Some(at(60)));
}

#[test]
fn a_stopped_ignition_never_opens_a_trip_even_moving() {
    let mut state = fresh();
    let towed = Telemetry {
        ignition: Some(Ignition::Stop),
        position: Some(fix(2.0, 48.0, 40.0)),
        ..Telemetry::default()
    };

    let records = apply(&mut state, &telemetry("m-1", 0, towed));

    assert!(records.is_empty(), "{records:?}");
    assert_eq!(state.open_trip, None);
}

#[test]
fn a_gap_of_more_than_five_minutes_makes_the_trip_data_lacking_once() {
    let mut state = fresh();
    let messages = [
        telemetry("m-1", 0, ignition(Ignition::Start)),
        telemetry("m-2", minutes(5), moving(fix(2.0, 48.0, 50.0))),
    ];
    let on_time = apply_all(&mut state, &messages);
    let late = apply(
        &mut state,
        &telemetry("m-3", minutes(11), moving(fix(2.1, 48.0, 50.0))),
    );
    let again = apply(
        &mut state,
        &telemetry("m-4", minutes(18), moving(fix(2.2, 48.0, 50.0))),
    );
    let stop = apply(
        &mut state,
        &telemetry("m-5", minutes(19), ignition(Ignition::Stop)),
    );

    assert!(
        trips(&on_time).iter().all(|trip| trip.faults.is_empty()),
        "{on_time:?}"
    );
    assert_eq!(only_trip(&late).faults, vec![TripState::DataLacking]);
    assert_eq!(only_trip(&again).faults, vec![TripState::DataLacking]);
    let closed = only_trip(&stop);
    assert!(closed.done);
    assert_eq!(closed.state(), TripState::DataLacking);
    assert_eq!(closed.id, record_id("trip", &vin(), "m-1"));
}

#[test]
fn a_new_start_while_a_trip_is_open_closes_it_as_unfinished() {
    let mut state = fresh();
    let first = [
        telemetry("m-1", 0, ignition(Ignition::Start)),
        telemetry("m-2", 60, moving(fix(2.0, 48.0, 30.0))),
    ];
    apply_all(&mut state, &first);

    let restart = apply(
        &mut state,
        &telemetry("m-3", 120, ignition(Ignition::StartUp)),
    );
    let started = apply(
        &mut state,
        &telemetry("m-4", 150, ignition(Ignition::Start)),
    );

    let [old, new] = trips(&restart)[..] else {
        panic!("expected the old and the new trip: {restart:?}");
    };
    assert_eq!(old.id, record_id("trip", &vin(), "m-1"));
    assert!(old.done);
    assert_eq!(old.faults, vec![TripState::Unfinished]);
    assert_eq!(old.stopped_at, Some(at(60)), "closed at its last sample");
    assert_eq!(new.id, record_id("trip", &vin(), "m-3"));
    assert!(!new.done && new.faults.is_empty(), "{new:?}");

    let continued = only_trip(&started);
    assert_eq!(continued.id, new.id, "StartUp then Start is one start");
    assert_eq!(state.open_trip.as_ref().map(|trip| &trip.id), Some(&new.id));
}

#[test]
fn a_start_after_an_unstarted_opening_begins_a_new_trip() {
    let mut state = fresh();
    apply(
        &mut state,
        &telemetry("m-1", 0, moving(fix(2.0, 48.0, 20.0))),
    );

    let records = apply(&mut state, &telemetry("m-2", 30, ignition(Ignition::Start)));

    let [old, new] = trips(&records)[..] else {
        panic!("expected two trips: {records:?}");
    };
    assert_eq!(
        old.faults,
        vec![TripState::Unstarted, TripState::Unfinished]
    );
    assert_eq!(old.state(), TripState::Unstarted);
    assert_eq!(new.id, record_id("trip", &vin(), "m-2"));
    assert_eq!(new.state(), TripState::Nominal);
}

#[test]
fn a_silent_trip_is_closed_at_its_last_sample() {
    let mut state = fresh();
    let messages = [
        telemetry("m-1", 0, ignition(Ignition::Start)),
        telemetry("m-2", 60, moving(fix(2.0, 48.0, 30.0))),
    ];
    apply_all(&mut state, &messages);

    let not_yet = close_if_silent(&mut state, at(60) + Duration::minutes(30));
    let closed = close_if_silent(
        &mut state,
        at(60) + Duration::minutes(30) + Duration::SECOND,
    );
    let twice = close_if_silent(&mut state, at(minutes(120)));

    assert_eq!(not_yet, None);
    let Some(Record::Trip(trip)) = closed else {
        panic!("expected the trip closed: {closed:?}");
    };
    assert!(trip.done);
    assert_eq!(trip.faults, vec![TripState::Unfinished]);
    assert_eq!(trip.stopped_at, Some(at(60)));
    assert_eq!(trip.duration_seconds(), 60);
    assert_eq!(state.open_trip, None);
    assert_eq!(twice, None);
}

#[test]
fn a_sample_after_a_long_silence_closes_the_trip_before_going_on() {
    let mut state = fresh();
    apply(&mut state, &telemetry("m-1", 0, ignition(Ignition::Start)));

    let records = apply(
        &mut state,
        &telemetry("m-2", minutes(45), ignition(Ignition::Start)),
    );

    let [old, new] = trips(&records)[..] else {
        panic!("expected two trips: {records:?}");
    };
    assert_eq!((old.done, old.stopped_at), (true, Some(at(0))));
    assert_eq!(old.faults, vec![TripState::Unfinished]);
    assert_eq!(new.id, record_id("trip", &vin(), "m-2"));
    assert_eq!(
        new.faults,
        vec![TripState::Unstarted],
        "its start was not seen"
    );
}

#[test]
fn a_late_sample_changes_neither_the_status_nor_the_trip() {
    let mut state = fresh();
    let newer = Telemetry {
        ignition: Some(Ignition::Start),
        position: Some(fix(2.0, 48.0, 50.0)),
        odometer: Some(1010.0),
        energies: vec![fuel(500.0, 50.0)],
        status: json!({"battery": {"voltage": 90}})
            .as_object()
            .unwrap()
            .clone(),
        ..Telemetry::default()
    };
    let older = Telemetry {
        ignition: Some(Ignition::Stop),
        position: Some(fix(3.0, 49.0, 0.0)),
        odometer: Some(1005.0),
        energies: vec![fuel(490.0, 55.0)],
        status: json!({"battery": {"voltage": 80}, "safety": {"beltWarning": "Normal"}})
            .as_object()
            .unwrap()
            .clone(),
        ..Telemetry::default()
    };
    apply(&mut state, &telemetry("m-2", 600, newer));
    let before = state.open_trip.clone();

    let records = apply(&mut state, &telemetry("m-1", 300, older));

    assert!(records.is_empty(), "{records:?}");
    assert_eq!(state.open_trip, before);
    assert_eq!(state.last_at, Some(at(600)));
    assert_eq!(
        state.ignition.as_ref().map(|held| held.value),
        Some(Ignition::Start)
    );
    assert_eq!(state.odometer.as_ref().map(|held| held.value), Some(1010.0));
    assert_eq!(
        state.position.as_ref().map(|held| held.value.lon),
        Some(2.0)
    );
    assert_eq!(state.energies[0].value.level, Some(50.0));
    assert_eq!(state.sections["battery"].value, json!({"voltage": 90}));
    assert_eq!(
        state.sections["safety"].at,
        at(300),
        "a section not held yet is taken"
    );
}

#[test]
fn a_newer_sample_replaces_only_the_sections_it_carries() {
    let mut state = fresh();
    let first = Telemetry {
        odometer: Some(1000.0),
        maintenance: None,
        privacy: Some(Privacy::None),
        ..Telemetry::default()
    };
    apply(&mut state, &telemetry("m-1", 0, first));

    apply(
        &mut state,
        &telemetry("m-2", 60, moving(fix(2.0, 48.0, 3.0))),
    );

    assert_eq!(
        state.odometer.as_ref().map(|held| (held.value, held.at)),
        Some((1000.0, at(0)))
    );
    assert_eq!(state.position.as_ref().map(|held| held.at), Some(at(60)));
    assert_eq!(state.last_at, Some(at(60)));
}

#[test]
fn privacy_drops_the_positions() {
    let mut state = fresh();
    let hidden = Telemetry {
        privacy: Some(Privacy::Geolocation),
        position: Some(fix(2.1, 48.0, 50.0)),
        ..Telemetry::default()
    };
    let shared_again = Telemetry {
        privacy: Some(Privacy::None),
        position: Some(fix(2.3, 48.0, 50.0)),
        ..Telemetry::default()
    };
    apply(&mut state, &telemetry("m-1", 0, ignition(Ignition::Start)));
    apply(
        &mut state,
        &telemetry("m-2", 30, moving(fix(2.0, 48.0, 50.0))),
    );
    assert!(state.position.is_some());

    let under_privacy = apply(&mut state, &telemetry("m-3", 60, hidden));
    assert_eq!(state.position, None);
    assert_eq!(only_trip(&under_privacy).stop_position, None);

    let still = apply(
        &mut state,
        &telemetry("m-4", 90, moving(fix(2.2, 48.0, 50.0))),
    );
    assert_eq!(state.position, None, "the last known privacy still applies");
    assert_eq!(only_trip(&still).stop_position, None);
    assert_eq!(
        only_trip(&still).max_speed,
        Some(50.0),
        "speeds are still counted"
    );

    let back = apply(&mut state, &telemetry("m-5", 120, shared_again));
    assert_eq!(
        state.position.as_ref().map(|held| held.value.lon),
        Some(2.3)
    );
    let trip = only_trip(&back);
    assert_eq!(trip.path_distance, 0.0, "the hidden stretch is not drawn");
    assert_eq!(trip.start_position.map(|p| p.lon), Some(2.0));
}

#[test]
fn full_privacy_hides_event_and_late_positions_too() {
    let mut state = fresh();
    let full = Telemetry {
        privacy: Some(Privacy::Full),
        ..Telemetry::default()
    };
    let late_but_shared = Telemetry {
        privacy: Some(Privacy::None),
        position: Some(fix(2.5, 48.0, 0.0)),
        ..Telemetry::default()
    };
    let mut located = alert("TirePuncture", true);
    if let Event::Alert(alert) = &mut located {
        alert.position = Some(fix(2.4, 48.0, 0.0));
    }
    apply(
        &mut state,
        &telemetry("m-1", 0, moving(fix(2.0, 48.0, 0.0))),
    );
    apply(&mut state, &telemetry("m-2", 60, full));

    let raised = apply(&mut state, &event("e-1", 90, located));
    apply(&mut state, &telemetry("m-0", 30, late_but_shared));

    assert_eq!(only_alert(&raised).start_position, None);
    assert_eq!(state.position, None);
    assert_eq!(
        state.privacy.as_ref().map(|held| held.value),
        Some(Privacy::Full)
    );
}

// ----- events -----

#[test]
fn an_alert_is_raised_once_and_ended_once() {
    let mut state = fresh();
    apply(&mut state, &telemetry("m-1", 0, ignition(Ignition::Start)));
    apply(
        &mut state,
        &telemetry("m-2", 10, moving(fix(2.0, 48.0, 20.0))),
    );

    let raised = apply(&mut state, &event("e-1", 20, alert("TirePuncture", true)));
    let duplicate = apply(&mut state, &event("e-2", 30, alert("TirePuncture", true)));
    let other = apply(&mut state, &event("e-3", 35, alert("LowFuelLevel", true)));
    let ended = apply(&mut state, &event("e-4", 40, alert("TirePuncture", false)));
    let ended_again = apply(&mut state, &event("e-5", 50, alert("TirePuncture", false)));
    let never_raised = apply(
        &mut state,
        &event("e-6", 60, alert("EngineOverheat", false)),
    );

    let first = only_alert(&raised);
    assert_eq!(first.id, record_id("alert", &vin(), "e-1"));
    assert!(first.active);
    assert_eq!(first.trip_id, Some(record_id("trip", &vin(), "m-1")));
    assert_eq!(
        first.start_position.map(|p| p.lon),
        Some(2.0),
        "the last known position"
    );
    assert!(duplicate.is_empty(), "{duplicate:?}");
    assert_eq!(only_alert(&other).kind, "LowFuelLevel");

    let end = only_alert(&ended);
    assert_eq!(end.id, first.id);
    assert!(!end.active);
    assert_eq!((end.started_at, end.ended_at), (at(20), Some(at(40))));
    assert_eq!(end.end_position.map(|p| p.lon), Some(2.0));

    assert!(ended_again.is_empty() && never_raised.is_empty());
    let kinds: Vec<_> = state
        .active_alerts
        .iter()
        .map(|a| a.kind.as_str())
        .collect();
    assert_eq!(kinds, ["LowFuelLevel"]);
}

#[test]
fn an_alert_end_dated_before_its_start_is_ignored() {
    let mut state = fresh();
    apply(&mut state, &event("e-2", 60, alert("TirePuncture", true)));

    let records = apply(&mut state, &event("e-1", 30, alert("TirePuncture", false)));

    assert!(records.is_empty(), "{records:?}");
    assert_eq!(state.active_alerts.len(), 1);
    assert_eq!(
        state.active_alerts[0].trip_id, None,
        "no trip was under way"
    );
}

#[test]
fn a_theft_opens_a_stolen_period_until_the_recovery() {
    let mut state = fresh();
    apply(
        &mut state,
        &telemetry("m-1", 0, moving(fix(5.0, 45.0, 0.0))),
    );

    let reported = apply(&mut state, &event("t-1", 60, theft(true)));
    let reported_again = apply(&mut state, &event("t-2", 90, theft(true)));
    apply(
        &mut state,
        &telemetry("m-2", 100, moving(fix(5.5, 45.5, 0.0))),
    );
    let recovered = apply(&mut state, &event("t-3", 120, theft(false)));
    let recovered_again = apply(&mut state, &event("t-4", 150, theft(false)));

    let opened = only_stolen(&reported);
    assert_eq!(opened.id, record_id("stolen", &vin(), "t-1"));
    assert!(opened.active);
    assert_eq!(opened.start_position.map(|p| p.lon), Some(5.0));
    assert!(reported_again.is_empty(), "{reported_again:?}");

    let closed = only_stolen(&recovered);
    assert_eq!(closed.id, opened.id);
    assert!(!closed.active);
    assert_eq!(
        (closed.started_at, closed.ended_at),
        (at(60), Some(at(120)))
    );
    assert_eq!(closed.end_position.map(|p| p.lon), Some(5.5));
    assert!(recovered_again.is_empty(), "{recovered_again:?}");
    assert_eq!(state.stolen, None);
}

#[test]
fn a_collision_is_attached_to_the_trip_under_way() {
    let mut state = fresh();
    let before_any_trip = apply(&mut state, &event("c-0", 0, collision(None)));
    apply(&mut state, &telemetry("m-1", 10, ignition(Ignition::Start)));

    let hit_at = Some(fix(4.0, 44.0, 30.0));
    let during = apply(&mut state, &event("c-1", 20, collision(hit_at)));
    let dated_before_the_start = apply(&mut state, &event("c-2", 5, collision(None)));

    let [Record::Collision(parked)] = &before_any_trip[..] else {
        panic!("expected a collision: {before_any_trip:?}");
    };
    assert_eq!(parked.trip_id, None);
    let [Record::Collision(hit)] = &during[..] else {
        panic!("expected a collision: {during:?}");
    };
    assert_eq!(hit.id, record_id("collision", &vin(), "c-1"));
    assert_eq!(hit.trip_id, Some(record_id("trip", &vin(), "m-1")));
    assert_eq!(hit.position.map(|p| p.lon), Some(4.0));
    assert_eq!(hit.tipped_over, Some(false));
    let [Record::Collision(earlier)] = &dated_before_the_start[..] else {
        panic!("expected a collision: {dated_before_the_start:?}");
    };
    assert_eq!(earlier.trip_id, None, "it happened before the trip started");
    assert_eq!(
        state.position.as_ref().map(|held| held.value.lon),
        Some(4.0)
    );
}

#[test]
fn alarms_are_recorded_and_kept_in_the_status() {
    let mut state = fresh();
    let went_off = Event::Alarm(AlarmEvent {
        activation: AlarmActivation::Active,
        trigger: Some("VolumetricBreakIn".into()),
        position: None,
    });
    let disarmed = Event::Alarm(AlarmEvent {
        activation: AlarmActivation::Inactive,
        trigger: None,
        position: None,
    });

    let first = apply(&mut state, &event("a-1", 0, went_off));
    let second = apply(&mut state, &event("a-2", 60, disarmed));

    let [Record::Alarm(alarm)] = &first[..] else {
        panic!("expected an alarm: {first:?}");
    };
    assert_eq!(alarm.id, record_id("alarm", &vin(), "a-1"));
    assert!(matches!(&second[..], [Record::Alarm(off)] if off.trigger.is_none()));

    let held = state.alarm.as_ref().unwrap();
    assert_eq!(held.activation.value, AlarmActivation::Inactive);
    assert_eq!(held.activation.at, at(60));
    assert_eq!(
        held.last_trigger.as_ref().map(|a| a.id.as_str()),
        Some(alarm.id.as_str())
    );
}

#[test]
fn acknowledgements_only_move_the_last_message_time() {
    let mut state = fresh();
    let ack = MessageBody::Ack(CommandAck {
        command: "c-1".into(),
        status: AckStatus::Success,
        failure_cause: None,
    });

    let records = apply(&mut state, &message("k-1", 30, ack));

    assert!(records.is_empty());
    assert_eq!(state.last_at, Some(at(30)));
    assert_eq!(state.last_sample_at, None);
}

// ----- ids and replays -----

#[test]
fn record_ids_are_stable_across_replays_and_nodes() {
    let messages = [
        telemetry("m-1", 0, ignition(Ignition::Start)),
        event("e-1", 10, alert("TirePuncture", true)),
        event("t-1", 20, theft(true)),
        event("c-1", 30, collision(None)),
        telemetry("m-2", 40, ignition(Ignition::Stop)),
    ];
    let mut here = fresh();
    let mut there = fresh();

    let first = apply_all(&mut here, &messages[..2]);
    let reloaded: VehicleState =
        serde_json::from_str(&serde_json::to_string(&here).unwrap()).unwrap();
    let mut carried_on = reloaded;
    let rest = apply_all(&mut carried_on, &messages[2..]);
    let at_once = apply_all(&mut there, &messages);

    let in_two_steps: Vec<_> = first.into_iter().chain(rest).collect();
    assert_eq!(in_two_steps, at_once);
    assert_eq!(carried_on, there);
    let trip_id = record_id("trip", &vin(), "m-1");
    assert_ne!(trip_id, record_id("alert", &vin(), "m-1"));
    assert_eq!(only_trip(&at_once[4..]).id, trip_id);
}
