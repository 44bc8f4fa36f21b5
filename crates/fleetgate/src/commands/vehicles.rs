//! `fleetgate vehicle provision` and `vehicle show`: a vehicle's device certificate for the
//! vehicle channel, and what the platform derived from its messages.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use fleetgate_core::vehicle::message::PositionFix;
use fleetgate_core::vehicle::state::{Trip, VehicleState};
use fleetgate_core::Vin;
use fleetgate_store::Store;
use serde::Serialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use super::Context;
use crate::cli::{VehicleProvisionArgs, VehicleShowArgs};
use crate::config::{write_private, write_public};
use crate::{device_pki, output};

/// The file names of a provisioned vehicle's folder.
pub const VEHICLE_CERTIFICATE: &str = "vehicle.pem";
/// The vehicle's private key (mode 0600).
pub const VEHICLE_KEY: &str = "vehicle-key.pem";
/// The CA that signed the endpoint's certificate: the vehicle verifies the platform with it.
pub const VEHICLE_CA: &str = "ca.pem";
/// Where to connect: `{"host", "port", "clientId", "topics"}`.
pub const VEHICLE_BROKER: &str = "broker.json";

/// How many trips `vehicle show` lists.
const SHOWN_TRIPS: u32 = 10;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Provisioned {
    vin: String,
    directory: String,
    serial: String,
    broker: Value,
}

/// Runs `vehicle provision`.
pub async fn provision(context: &Context, args: VehicleProvisionArgs) -> anyhow::Result<()> {
    let config = context.config()?;
    let store = context.store(&config).await?;
    let vin = Vin::parse(&args.vin)?;
    let directory = args
        .out
        .clone()
        .unwrap_or_else(|| context.data_dir.vehicle_dir(vin.as_str()));

    let provisioned = provision_vehicle(context, &store, &vin, &directory).await?;

    output::print(args.output.json, &provisioned, || {
        format!(
            "Provisioned {} in {}\n  certificate serial {}\n  connect to mqtts://{}:{} \
             with client id {}",
            provisioned.vin,
            provisioned.directory,
            provisioned.serial,
            provisioned.broker["host"].as_str().unwrap_or_default(),
            provisioned.broker["port"],
            provisioned.vin,
        )
    })
}

/// Issues the vehicle's certificate and writes its folder; the vehicle must be in a fleet.
async fn provision_vehicle(
    context: &Context,
    store: &Store,
    vin: &Vin,
    directory: &Path,
) -> anyhow::Result<Provisioned> {
    if store.vehicle_by_vin(vin).await?.is_none() {
        bail!(
            "vehicle {vin} is not known: add it to a fleet first with \
             `fleetgate vehicle add FLEET_ID {vin}`"
        );
    }
    if directory.join(VEHICLE_KEY).exists() {
        bail!(
            "{} already holds a provisioned vehicle; use another --out or delete it",
            directory.display()
        );
    }

    let config = context.config()?;
    let data_dir = &context.data_dir;
    let hosts = [config.vehicles.mqtt_public_host.clone(), "127.0.0.1".into()];
    device_pki::ensure(data_dir, &hosts)?;
    let issued = device_pki::authority(data_dir)?
        .issue_device_credentials(vin, device_pki::VEHICLE_VALIDITY_DAYS)?;

    let broker = json!({
        "host": config.vehicles.mqtt_public_host,
        "port": config.vehicles.mqtt_listen.port(),
        "clientId": vin.as_str(),
        "topics": {
            "telemetry": fleetgate_core::vehicle::Channel::Telemetry.topic(vin),
            "events": fleetgate_core::vehicle::Channel::Events.topic(vin),
            "acks": fleetgate_core::vehicle::Channel::Acks.topic(vin),
            "commands": fleetgate_core::vehicle::message::command_topic(vin),
        },
    });
    let device_ca = device_pki::read(&data_dir.device_ca_certificate())?;
    write_private(
        &directory.join(VEHICLE_KEY),
        issued.private_key_pem.as_bytes(),
    )?;
    write_public(
        &directory.join(VEHICLE_CERTIFICATE),
        issued.certificate_pem.as_bytes(),
    )?;
    write_public(&directory.join(VEHICLE_CA), device_ca.as_bytes())?;
    let broker_text = serde_json::to_string_pretty(&broker)? + "\n";
    write_public(&directory.join(VEHICLE_BROKER), broker_text.as_bytes())?;

    Ok(Provisioned {
        vin: vin.as_str().to_owned(),
        directory: directory.display().to_string(),
        serial: issued.serial_hex,
        broker,
    })
}

/// The folder of a provisioned vehicle, made now if it does not exist yet.
pub async fn provisioned_folder(
    context: &Context,
    store: &Store,
    vin: &Vin,
) -> anyhow::Result<PathBuf> {
    let directory = context.data_dir.vehicle_dir(vin.as_str());
    if !directory.join(VEHICLE_KEY).exists() {
        provision_vehicle(context, store, vin, &directory)
            .await
            .with_context(|| format!("cannot provision {vin}"))?;
    }
    Ok(directory)
}

/// Runs `vehicle show`.
pub async fn show(context: &Context, args: VehicleShowArgs) -> anyhow::Result<()> {
    let config = context.config()?;
    let store = context.store(&config).await?;
    let vin = Vin::parse(&args.vin)?;
    if store.vehicle_by_vin(&vin).await?.is_none() {
        bail!("vehicle {vin} is not known: `fleetgate vehicle add` adds it to a fleet");
    }

    let state = store
        .vehicle_state(&vin)
        .await?
        .unwrap_or_else(|| VehicleState::new(vin.clone()));
    let (trips, total_trips) = store.vehicle_trips(&vin, 0, SHOWN_TRIPS).await?;
    let shown = describe(&state, &trips, total_trips);

    output::print(args.output.json, &shown, || {
        human(&state, &trips, total_trips)
    })
}

/// The JSON of `vehicle show`.
fn describe(state: &VehicleState, trips: &[Trip], total_trips: u64) -> Value {
    let last_position = state
        .position
        .as_ref()
        .map(|p| feature(&state.vin, &p.value, p.at));
    let status = json!({
        "updatedAt": state.last_at.map(rfc3339),
        "ignition": state.ignition.as_ref().map(|i| stamped("type", &i.value, i.at)),
        "odometer": state.odometer.as_ref().map(|o| stamped("mileage", &o.value, o.at)),
        "energies": state.energies.iter().map(|e| {
            let mut energy = serde_json::to_value(&e.value).unwrap_or(Value::Null);
            energy["createdAt"] = rfc3339(e.at).into();
            energy
        }).collect::<Vec<_>>(),
        "maintenance": state.maintenance.as_ref().map(|m| json!({
            "daysBeforeMaintenance": m.value.days_before_maintenance,
            "mileageBeforeMaintenance": m.value.mileage_before_maintenance,
            "createdAt": rfc3339(m.at),
        })),
        "privacy": state.privacy.as_ref().map(|p| stamped("state", &p.value, p.at)),
        "sections": state.sections.iter().map(|(name, section)| {
            (name.clone(), json!({"value": section.value, "createdAt": rfc3339(section.at)}))
        }).collect::<serde_json::Map<_, _>>(),
        "alarm": state.alarm,
        "activeAlerts": state.active_alerts,
        "stolen": state.stolen,
    });

    json!({
        "vin": state.vin.as_str(),
        "lastPosition": last_position,
        "status": status,
        "totalTrips": total_trips,
        "trips": trips.iter().map(trip_summary).collect::<Vec<_>>(),
    })
}

/// `{name: value, "createdAt": at}`, the shape of the spec's stamped status sections.
fn stamped<T: Serialize>(name: &str, value: &T, at: time::OffsetDateTime) -> Value {
    let mut object = serde_json::Map::new();
    object.insert(name.to_owned(), json!(value));
    object.insert("createdAt".to_owned(), rfc3339(at).into());
    Value::Object(object)
}

fn trip_summary(trip: &Trip) -> Value {
    json!({
        "id": trip.id,
        "state": trip.state(),
        "done": trip.done,
        "startedAt": rfc3339(trip.started_at),
        "stoppedAt": trip.stopped_at.map(rfc3339),
        "distance": trip.distance(),
        "duration": trip.duration_seconds(),
        "startPosition": trip.start_position.as_ref().map(point),
        "stopPosition": trip.stop_position.as_ref().map(point),
        "maxSpeed": trip.max_speed,
        "avgSpeed": trip.average_speed(),
    })
}

/// A position as the GeoJSON Feature of the spec's `Position`.
fn feature(vin: &Vin, fix: &PositionFix, at: time::OffsetDateTime) -> Value {
    let mut properties = json!({ "vin": vin.as_str(), "createdAt": rfc3339(at) });
    if let Some(heading) = fix.heading {
        properties["heading"] = heading.into();
    }
    if let Some(kind) = fix.kind {
        properties["type"] = serde_json::to_value(kind).unwrap_or(Value::Null);
    }
    json!({ "type": "Feature", "geometry": point(fix), "properties": properties })
}

fn point(fix: &PositionFix) -> Value {
    let mut coordinates = vec![json!(fix.lon), json!(fix.lat)];
    if let Some(alt) = fix.alt {
        coordinates.push(json!(alt));
    }
    json!({ "type": "Point", "coordinates": coordinates })
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn human(state: &VehicleState, trips: &[Trip], total_trips: u64) -> String {
    let mut text = format!("Vehicle {}\n", state.vin);
    match &state.last_at {
        Some(at) => text.push_str(&format!("  last message: {}\n", rfc3339(*at))),
        None => text.push_str("  no message received yet\n"),
    }
    if let Some(position) = &state.position {
        let fix = &position.value;
        text.push_str(&format!("  position: {:.5}, {:.5}\n", fix.lat, fix.lon));
    }
    if let Some(odometer) = &state.odometer {
        text.push_str(&format!("  odometer: {:.1} km\n", odometer.value));
    }
    for energy in &state.energies {
        let level = energy
            .value
            .level
            .map(|l| format!("{l:.1} %"))
            .unwrap_or_default();
        text.push_str(&format!("  energy {:?}: {level}\n", energy.value.kind));
    }
    text.push_str(&format!(
        "  active alerts: {}\n  trips: {total_trips}\n",
        state.active_alerts.len()
    ));
    for trip in trips {
        text.push_str(&format!(
            "    {}  {:?}  {:.1} km  {} s\n",
            rfc3339(trip.started_at),
            trip.state(),
            trip.distance(),
            trip.duration_seconds()
        ));
    }
    text
}
