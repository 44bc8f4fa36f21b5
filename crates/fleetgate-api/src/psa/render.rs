//! The spec's representations of vehicle data, built from the domain types: positions as
//! GeoJSON Features, energies, status sections, trips, alerts, alarms, collisions and
//! stolen periods. Links are added by the operations; these are the bodies.

use fleetgate_core::vehicle::message::{EnergySample, EnergyType, PositionFix};
use fleetgate_core::vehicle::state::{
    Alarm, Alert, Collision, EnergyConsumption, Stamped, StolenPeriod, Trip, TripState,
};
use fleetgate_core::Vin;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::error::timestamp;

/// A position as the spec's `Position`: a GeoJSON Feature with a Point geometry
/// (`[lon, lat]`, or `[lon, lat, alt]`) and the fix's properties.
pub fn position(fix: &PositionFix, at: OffsetDateTime, vin: &Vin) -> Value {
    let mut feature = position_base(fix, vin);
    feature["properties"]["createdAt"] = json!(timestamp(at));
    feature
}

/// A position as the spec's `PositionBase`: [`position`] without its time.
pub fn position_base(fix: &PositionFix, vin: &Vin) -> Value {
    let mut coordinates = vec![json!(fix.lon), json!(fix.lat)];
    if let Some(alt) = fix.alt {
        coordinates.push(json!(alt));
    }

    let mut properties = Map::new();
    properties.insert("vin".into(), json!(vin.as_str()));
    insert_some(&mut properties, "heading", fix.heading);
    insert_some(&mut properties, "signalQuality", fix.signal_quality);
    insert_some(&mut properties, "type", fix.kind);
    insert_some(&mut properties, "fixStatus", fix.fix_status);
    json!({
        "type": "Feature",
        "geometry": { "type": "Point", "coordinates": coordinates },
        "properties": properties,
    })
}

/// An energy as the spec's `EnergyBase`: type, sub-type, level, autonomy, and the fuel
/// counter or the charging state in `extension`.
pub fn energy(sample: &EnergySample) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!(sample.kind));
    insert_some(&mut object, "subType", sample.sub_type);
    insert_some(&mut object, "level", sample.level);
    insert_some(&mut object, "autonomy", sample.autonomy);

    let extension = match sample.kind {
        EnergyType::Fuel => sample
            .consumption
            .map(|total| json!({ "fuel": { "consumptions": { "total": total } } })),
        EnergyType::Electric => sample
            .charging
            .as_ref()
            .map(|charging| json!({ "electric": { "charging": charging } })),
    };
    if let Some(extension) = extension {
        object.insert("extension".into(), extension);
    }
    Value::Object(object)
}

/// An energy as the spec's `LiteEnergy`: type, sub-type, level and autonomy.
pub fn lite_energy(sample: &EnergySample) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!(sample.kind));
    insert_some(&mut object, "subType", sample.sub_type);
    insert_some(&mut object, "level", sample.level);
    insert_some(&mut object, "autonomy", sample.autonomy);
    Value::Object(object)
}

/// A section of the status with its `createdAt`: the section's object (or each object of
/// an array section, such as `engines`) gets the time it was measured, and so do the
/// parts of `environment`, which the spec dates one by one.
pub fn stamped_section(name: &str, section: &Stamped<Value>) -> Value {
    let created_at = json!(timestamp(section.at));
    match &section.value {
        Value::Object(object) => {
            let mut object = object.clone();
            if name == "environment" {
                for part in object.values_mut() {
                    *part = with_created_at(part, &created_at);
                }
            }
            object.insert("createdAt".into(), created_at);
            Value::Object(object)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| with_created_at(item, &created_at))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn with_created_at(item: &Value, created_at: &Value) -> Value {
    let mut item = item.clone();
    if let Value::Object(object) = &mut item {
        object.insert("createdAt".into(), created_at.clone());
    }
    item
}

/// A trip as the spec's `Trip`, without its links.
pub fn trip(trip: &Trip) -> Value {
    let updated_at = trip.stopped_at.unwrap_or(trip.last_sample_at);
    let mut object = Map::new();
    object.insert("id".into(), json!(trip.id));
    object.insert("vin".into(), json!(trip.vin.as_str()));
    object.insert("createdAt".into(), json!(timestamp(trip.started_at)));
    object.insert("updatedAt".into(), json!(timestamp(updated_at)));
    object.insert("startedAt".into(), json!(timestamp(trip.started_at)));
    if let Some(stopped_at) = trip.stopped_at {
        object.insert("stoppedAt".into(), json!(timestamp(stopped_at)));
    }
    if let Some(fix) = &trip.start_position {
        object.insert(
            "startPosition".into(),
            position(fix, trip.started_at, &trip.vin),
        );
    }
    if let Some(fix) = &trip.stop_position {
        object.insert("stopPosition".into(), position(fix, updated_at, &trip.vin));
    }

    object.insert("duration".into(), json!(trip.duration_seconds()));
    object.insert("distance".into(), json!(round(trip.distance(), 3)));
    insert_some(&mut object, "startMileage", trip.start_mileage);
    let energies = |samples: &[EnergySample]| samples.iter().map(lite_energy).collect::<Vec<_>>();
    object.insert(
        "startEnergies".into(),
        json!(energies(&trip.start_energies)),
    );
    object.insert("endEnergies".into(), json!(energies(&trip.end_energies)));
    let consumptions: Vec<Value> = trip
        .energy_consumptions()
        .iter()
        .map(energy_consumption)
        .collect();
    object.insert("energyConsumptions".into(), json!(consumptions));

    object.insert("kinetic".into(), trip_kinetic(trip));
    object.insert("done".into(), json!(trip.done));
    object.insert("faults".into(), trip_faults(trip));
    Value::Object(object)
}

fn energy_consumption(used: &EnergyConsumption) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!(used.kind));
    insert_some(&mut object, "subType", used.sub_type);
    object.insert("consumption".into(), json!(round(used.consumption, 3)));
    insert_some(
        &mut object,
        "avgConsumption",
        used.avg_consumption.map(|avg| round(avg, 3)),
    );
    Value::Object(object)
}

fn trip_kinetic(trip: &Trip) -> Value {
    let mut kinetic = Map::new();
    insert_some(
        &mut kinetic,
        "avgSpeed",
        trip.average_speed().map(|v| round(v, 1)),
    );
    insert_some(&mut kinetic, "maxSpeed", trip.max_speed);
    Value::Object(kinetic)
}

fn trip_faults(trip: &Trip) -> Value {
    // LIMITATION: the platform does not record why data was lacking, so faults carry no
    // `cause`.
    let faults: Vec<Value> = trip
        .faults
        .iter()
        .filter(|fault| **fault != TripState::Nominal)
        .map(|fault| json!({ "fault": fault }))
        .collect();
    json!(faults)
}

/// An alert as the spec's `Alert`, without its links.
pub fn alert(alert: &Alert) -> Value {
    let updated_at = alert.ended_at.unwrap_or(alert.started_at);
    let mut object = Map::new();
    object.insert("id".into(), json!(alert.id));
    object.insert("vin".into(), json!(alert.vin.as_str()));
    object.insert("active".into(), json!(alert.active));
    object.insert("type".into(), json!(alert.kind));
    object.insert("severity".into(), json!(alert.severity));
    object.insert("createdAt".into(), json!(timestamp(alert.started_at)));
    object.insert("updatedAt".into(), json!(timestamp(updated_at)));
    object.insert("startedAt".into(), json!(timestamp(alert.started_at)));
    if let Some(ended_at) = alert.ended_at {
        object.insert("endAt".into(), json!(timestamp(ended_at)));
    }
    if let Some(fix) = &alert.start_position {
        object.insert(
            "startPosition".into(),
            position(fix, alert.started_at, &alert.vin),
        );
    }
    if let (Some(fix), Some(at)) = (&alert.end_position, alert.ended_at) {
        object.insert("endPosition".into(), position(fix, at, &alert.vin));
    }
    Value::Object(object)
}

/// An alarm change as the spec's `AlarmDetails`: its `trigger` when the alarm went off,
/// else its `status`.
pub fn alarm(alarm: &Alarm) -> Value {
    let at = json!(timestamp(alarm.at));
    let mut object = Map::new();
    object.insert("id".into(), json!(alarm.id));
    object.insert("createdAt".into(), at.clone());
    match &alarm.trigger {
        Some(kind) => {
            object.insert("trigger".into(), alarm_trigger(alarm, kind));
        }
        None => {
            let status = json!({ "activation": alarm.activation, "createdAt": at });
            object.insert("status".into(), status);
        }
    }
    Value::Object(object)
}

/// The spec's `AlarmTrigger` of an alarm that went off.
pub fn alarm_trigger(alarm: &Alarm, kind: &str) -> Value {
    let at = json!(timestamp(alarm.at));
    let mut trigger = json!({ "type": kind, "startAt": at, "createdAt": at });
    if let Some(fix) = &alarm.position {
        trigger["position"] = position(fix, alarm.at, &alarm.vin);
    }
    trigger
}

/// A collision as the spec's `Collision`, without its links.
pub fn collision(collision: &Collision) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), json!(collision.id));
    object.insert("vin".into(), json!(collision.vin.as_str()));
    object.insert("createdAt".into(), json!(timestamp(collision.at)));
    object.insert("updatedAt".into(), json!(timestamp(collision.at)));
    object.insert("details".into(), json!(collision.details));
    insert_some(&mut object, "tippedOver", collision.tipped_over);
    insert_some(&mut object, "pedestrian", collision.pedestrian);
    Value::Object(object)
}

/// A stolen period as the spec's `StolenBase` with its times, without its links.
pub fn stolen(period: &StolenPeriod) -> Value {
    let updated_at = period.ended_at.unwrap_or(period.started_at);
    let mut object = Map::new();
    object.insert("id".into(), json!(period.id));
    object.insert("state".into(), json!(period.active));
    object.insert("createdAt".into(), json!(timestamp(period.started_at)));
    object.insert("updatedAt".into(), json!(timestamp(updated_at)));
    object.insert("startedAt".into(), json!(timestamp(period.started_at)));
    if let Some(ended_at) = period.ended_at {
        object.insert("endAt".into(), json!(timestamp(ended_at)));
    }
    if let Some(fix) = &period.start_position {
        let feature = position(fix, period.started_at, &period.vin);
        object.insert("startPosition".into(), feature);
    }
    if let (Some(fix), Some(at)) = (&period.end_position, period.ended_at) {
        object.insert("endPosition".into(), position(fix, at, &period.vin));
    }
    Value::Object(object)
}

/// Inserts `value` under `key` when there is one.
pub fn insert_some<T: serde::Serialize>(
    object: &mut Map<String, Value>,
    key: &str,
    value: Option<T>,
) {
    if let Some(value) = value {
        object.insert(key.to_owned(), json!(value));
    }
}

/// `value` rounded to `decimals` decimals, so that float noise does not reach partners.
fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}
