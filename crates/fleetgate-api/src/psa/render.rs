//! The spec's representations of vehicle data, built from the domain types: positions as
//! GeoJSON Features, energies, status sections, trips, alerts, alarms, collisions and
//! stolen periods. Links are added by the operations; these are the bodies.

use fleetgate_core::vehicle::message::{
    EnergySample, EnergySubType, EnergyType, FixKind, FixStatus, PositionFix,
};
use fleetgate_core::vehicle::state::{
    Alarm, Alert, Collision, EnergyConsumption, Stamped, StolenPeriod, Trip, TripState,
};
use fleetgate_core::Vin;
use serde::Serialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::error::timestamp;

/// A position as the spec's `Position`: a GeoJSON Feature with a Point geometry
/// (`[lon, lat]`, or `[lon, lat, alt]`) and the fix's properties.
pub fn position(fix: &PositionFix, at: OffsetDateTime, vin: &Vin) -> Value {
    to_value(Feature::new(fix, vin, Some(at)))
}

/// A position as the spec's `PositionBase`: [`position`] without its time.
pub fn position_base(fix: &PositionFix, vin: &Vin) -> Value {
    to_value(Feature::new(fix, vin, None))
}

/// A body as a `Value`, for the answers that are assembled as trees.
pub fn to_value(body: impl Serialize) -> Value {
    // Serializing these bodies cannot fail: their keys are strings and their floats are
    // finite measurements (NaN would become null).
    serde_json::to_value(body).unwrap_or(Value::Null)
}

/// The spec's `Position` (with `createdAt`) or `PositionBase` (without), serialized
/// straight from the fix.
#[derive(Serialize)]
struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: Point,
    properties: FixProperties<'a>,
}

#[derive(Serialize)]
struct Point {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: Vec<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixProperties<'a> {
    vin: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    heading: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal_quality: Option<u32>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<FixKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix_status: Option<FixStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
}

impl<'a> Feature<'a> {
    fn new(fix: &PositionFix, vin: &'a Vin, at: Option<OffsetDateTime>) -> Self {
        let mut coordinates = vec![fix.lon, fix.lat];
        coordinates.extend(fix.alt);
        Self {
            kind: "Feature",
            geometry: Point {
                kind: "Point",
                coordinates,
            },
            properties: FixProperties {
                vin: vin.as_str(),
                heading: fix.heading,
                signal_quality: fix.signal_quality,
                kind: fix.kind,
                fix_status: fix.fix_status,
                created_at: at.map(timestamp),
            },
        }
    }
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

/// A trip as the spec's `Trip`, serialized straight from the domain's trip, with its `_links` when
/// it has them: the pages of trips are written from it without building `Value` trees.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TripBody<'a> {
    id: &'a str,
    vin: &'a str,
    created_at: String,
    updated_at: String,
    started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_position: Option<Feature<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_position: Option<Feature<'a>>,
    duration: i64,
    distance: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_mileage: Option<f64>,
    start_energies: Vec<LiteEnergy>,
    end_energies: Vec<LiteEnergy>,
    energy_consumptions: Vec<Consumption>,
    kinetic: Kinetic,
    done: bool,
    faults: Vec<Fault>,
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    links: Option<Map<String, Value>>,
}

impl<'a> TripBody<'a> {
    /// The body of `trip`, with `links` as its `_links`.
    pub fn new(trip: &'a Trip, links: Option<Map<String, Value>>) -> Self {
        let updated_at = trip.stopped_at.unwrap_or(trip.last_sample_at);
        let lite = |samples: &[EnergySample]| samples.iter().map(LiteEnergy::of).collect();
        Self {
            id: &trip.id,
            vin: trip.vin.as_str(),
            created_at: timestamp(trip.started_at),
            updated_at: timestamp(updated_at),
            started_at: timestamp(trip.started_at),
            stopped_at: trip.stopped_at.map(timestamp),
            start_position: (trip.start_position.as_ref())
                .map(|fix| Feature::new(fix, &trip.vin, Some(trip.started_at))),
            stop_position: (trip.stop_position.as_ref())
                .map(|fix| Feature::new(fix, &trip.vin, Some(updated_at))),
            duration: trip.duration_seconds(),
            distance: round(trip.distance(), 3),
            start_mileage: trip.start_mileage,
            start_energies: lite(&trip.start_energies),
            end_energies: lite(&trip.end_energies),
            energy_consumptions: (trip.energy_consumptions().iter())
                .map(Consumption::of)
                .collect(),
            kinetic: Kinetic {
                avg_speed: trip.average_speed().map(|v| round(v, 1)),
                max_speed: trip.max_speed,
            },
            done: trip.done,
            // LIMITATION: the platform does not record why data was lacking, so faults
            // carry no `cause`.
            faults: (trip.faults.iter())
                .filter(|fault| **fault != TripState::Nominal)
                .map(|fault| Fault { fault: *fault })
                .collect(),
            links,
        }
    }
}

/// The spec's `LiteEnergy`: type, sub-type, level and autonomy.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LiteEnergy {
    #[serde(rename = "type")]
    kind: EnergyType,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_type: Option<EnergySubType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    autonomy: Option<u32>,
}

impl LiteEnergy {
    fn of(sample: &EnergySample) -> Self {
        Self {
            kind: sample.kind,
            sub_type: sample.sub_type,
            level: sample.level,
            autonomy: sample.autonomy,
        }
    }
}

/// The spec's `EnergyConsumption` of a trip.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Consumption {
    #[serde(rename = "type")]
    kind: EnergyType,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_type: Option<EnergySubType>,
    consumption: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    avg_consumption: Option<f64>,
}

impl Consumption {
    fn of(used: &EnergyConsumption) -> Self {
        Self {
            kind: used.kind,
            sub_type: used.sub_type,
            consumption: round(used.consumption, 3),
            avg_consumption: used.avg_consumption.map(|avg| round(avg, 3)),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kinetic {
    #[serde(skip_serializing_if = "Option::is_none")]
    avg_speed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_speed: Option<f64>,
}

#[derive(Serialize)]
struct Fault {
    fault: TripState,
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
