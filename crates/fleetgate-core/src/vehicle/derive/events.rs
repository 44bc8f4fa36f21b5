//! Events: alerts (active until the same alert ends), the alarm's history and state,
//! collisions (attached to the trip under way) and stolen periods.
//!
//! An event without a position is placed at the vehicle's last known position; under a
//! privacy state that hides positions it has none. An ending (of an alert, of a stolen
//! period) dated before the start it would end is ignored: it cannot be that one's end.

use time::OffsetDateTime;

use super::{positions_shared, status};
use crate::vehicle::message::{
    AlarmEvent, AlertEvent, CollisionEvent, Event, PositionFix, VehicleMessage,
};
use crate::vehicle::state::{
    record_id, Alarm, AlarmState, Alert, Collision, Record, Stamped, StolenPeriod, VehicleState,
};

/// Applies an event; returns the records it creates or changes.
pub(super) fn apply(
    state: &mut VehicleState,
    message: &VehicleMessage,
    event: &Event,
) -> Vec<Record> {
    let position = locate(state, message.at, message.position());

    let record = match event {
        Event::Alert(alert) if alert.active => raise_alert(state, message, alert, position),
        Event::Alert(alert) => end_alert(state, message.at, alert, position),
        Event::Alarm(alarm) => Some(note_alarm(state, message, alarm, position)),
        Event::Collision(collision) => Some(collision_record(state, message, collision, position)),
        Event::Theft(theft) if theft.stolen => report_stolen(state, message, position),
        Event::Theft(_) => recover(state, message.at, position),
    };
    record.into_iter().collect()
}

/// Where the event happened: its own position (which also becomes the last position, if
/// newer), else the last known one; none when privacy hides positions.
fn locate(
    state: &mut VehicleState,
    at: OffsetDateTime,
    own: Option<&PositionFix>,
) -> Option<PositionFix> {
    if !positions_shared(None, state) {
        return None;
    }

    match own {
        Some(fix) => {
            status::keep_position(state, at, Some(*fix));
            Some(*fix)
        }
        None => state.position.as_ref().map(|held| held.value),
    }
}

/// The id of the trip under way at `at`, if any.
fn trip_under_way(state: &VehicleState, at: OffsetDateTime) -> Option<String> {
    let trip = state.open_trip.as_ref()?;
    (at >= trip.started_at).then(|| trip.id.clone())
}

/// Raises an alert, unless the same alert is active already.
fn raise_alert(
    state: &mut VehicleState,
    message: &VehicleMessage,
    event: &AlertEvent,
    position: Option<PositionFix>,
) -> Option<Record> {
    let already_active = state
        .active_alerts
        .iter()
        .any(|alert| alert.kind == event.alert);
    if already_active {
        return None;
    }

    let alert = Alert {
        id: record_id("alert", &state.vin, &message.id),
        vin: state.vin.clone(),
        kind: event.alert.clone(),
        severity: event.severity,
        active: true,
        started_at: message.at,
        ended_at: None,
        start_position: position,
        end_position: None,
        trip_id: trip_under_way(state, message.at),
    };
    state.active_alerts.push(alert.clone());
    Some(Record::Alert(alert))
}

/// Ends the active alert of the same kind; nothing when there is none.
fn end_alert(
    state: &mut VehicleState,
    at: OffsetDateTime,
    event: &AlertEvent,
    position: Option<PositionFix>,
) -> Option<Record> {
    let index = state
        .active_alerts
        .iter()
        .position(|alert| alert.kind == event.alert && alert.started_at <= at)?;

    let mut alert = state.active_alerts.remove(index);
    alert.active = false;
    alert.ended_at = Some(at);
    alert.end_position = position;
    Some(Record::Alert(alert))
}

/// Records an alarm change, and keeps the newest activation and trigger in the state.
fn note_alarm(
    state: &mut VehicleState,
    message: &VehicleMessage,
    event: &AlarmEvent,
    position: Option<PositionFix>,
) -> Record {
    let alarm = Alarm {
        id: record_id("alarm", &state.vin, &message.id),
        vin: state.vin.clone(),
        at: message.at,
        activation: event.activation,
        trigger: event.trigger.clone(),
        position,
    };

    let activation = Stamped::new(alarm.activation, alarm.at);
    let held = state.alarm.get_or_insert_with(|| AlarmState {
        activation: activation.clone(),
        last_trigger: None,
    });
    if held.activation.at <= alarm.at {
        held.activation = activation;
    }
    let newer_trigger = held
        .last_trigger
        .as_ref()
        .is_none_or(|last| last.at <= alarm.at);
    if alarm.trigger.is_some() && newer_trigger {
        held.last_trigger = Some(alarm.clone());
    }

    Record::Alarm(alarm)
}

/// A collision, attached to the trip under way.
fn collision_record(
    state: &VehicleState,
    message: &VehicleMessage,
    event: &CollisionEvent,
    position: Option<PositionFix>,
) -> Record {
    Record::Collision(Collision {
        id: record_id("collision", &state.vin, &message.id),
        vin: state.vin.clone(),
        at: message.at,
        details: event.details.clone(),
        tipped_over: event.tipped_over,
        pedestrian: event.pedestrian,
        position,
        trip_id: trip_under_way(state, message.at),
    })
}

/// Opens a stolen period, unless one is open already.
fn report_stolen(
    state: &mut VehicleState,
    message: &VehicleMessage,
    position: Option<PositionFix>,
) -> Option<Record> {
    if state.stolen.is_some() {
        return None;
    }

    let period = StolenPeriod {
        id: record_id("stolen", &state.vin, &message.id),
        vin: state.vin.clone(),
        active: true,
        started_at: message.at,
        ended_at: None,
        start_position: position,
        end_position: None,
    };
    state.stolen = Some(period.clone());
    Some(Record::Stolen(period))
}

/// Closes the stolen period under way; nothing when there is none.
fn recover(
    state: &mut VehicleState,
    at: OffsetDateTime,
    position: Option<PositionFix>,
) -> Option<Record> {
    if state.stolen.as_ref()?.started_at > at {
        return None;
    }

    let mut period = state.stolen.take()?;
    period.active = false;
    period.ended_at = Some(at);
    period.end_position = position;
    Some(Record::Stolen(period))
}
