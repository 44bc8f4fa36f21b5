//! One vehicle of a fleet: `getVehicleByid`, `getCarLastPosition`, `getFleetVehicleStatus`
//! and `getVehicleMaintenance`, and the resolution of `/fleets/{fid}/vehicles/{vid}` that
//! every per-vehicle operation starts with.

use std::sync::Arc;

use axum::extract::{Extension, Path, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use fleetgate_core::vehicle::message::MaintenanceSample;
use fleetgate_core::vehicle::state::{AlarmState, Stamped};
use fleetgate_core::vehicle::VehicleState;
use fleetgate_core::{ErrorCode, Vin};
use fleetgate_store::{Fleet, Vehicle};
use serde_json::{json, Map, Value};

use super::fleets::{self, hal_response};
use super::hal::Links;
use super::params::{self, QueryParams};
use super::view::Seen;
use super::{capabilities, render};
use crate::auth::Caller;
use crate::error::{timestamp, ApiError};
use crate::state::AppState;
use fleetgate_core::DataScope;

/// The path parameters of a per-vehicle operation: version, fleet, vehicle.
pub type VehiclePath = Path<(String, String, String)>;

/// A vehicle of one of the caller's fleets, as a path names it.
pub struct Target {
    /// The fleet.
    pub fleet: Fleet,
    /// The vehicle.
    pub vehicle: Vehicle,
}

impl Target {
    /// The vehicle `vid` (its id, or its VIN) of the caller's fleet `fid`; another
    /// partner's fleet, or a vehicle outside the fleet, is answered like a missing one.
    pub async fn resolve(
        state: &AppState,
        caller: &Caller,
        fid: &str,
        vid: &str,
    ) -> Result<Self, ApiError> {
        let fleet = fleets::owned_fleet(state, caller, fid).await?;
        let key = (fleet.id.clone(), vid.to_owned());
        if let Some(vehicle) = state.paths().vehicles.get(&key) {
            return Ok(Self { fleet, vehicle });
        }

        let vehicle = state.store().fleet_vehicle(&fleet.id, vid).await?;
        let vehicle = vehicle.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no vehicle {vid} in fleet {fid}"),
            )
        })?;
        state.paths().vehicles.insert(key, vehicle.clone());
        Ok(Self { fleet, vehicle })
    }

    /// The fleet and the id of the vehicle, for its paths and links.
    pub fn reference(&self) -> VehicleRef<'_> {
        VehicleRef {
            fleet_id: self.fleet.id.as_str(),
            vehicle_id: &self.vehicle.id,
        }
    }

    /// The vehicle's path below `/connectedcar/{version}`.
    pub fn base(&self) -> String {
        self.reference().base()
    }

    /// `_links` with `self` (the resource at `path`), `vehicle` and `fleet`.
    pub fn links(&self, links: &Links<'_>, path: &str) -> Map<String, Value> {
        self.reference().links(links, path)
    }

    /// The vehicle's stored state, read at most a second ago; a vehicle that never sent
    /// anything has no data.
    pub async fn state(&self, state: &AppState) -> Result<Arc<VehicleState>, ApiError> {
        let found = state.vehicle_state(&self.vehicle.vin).await?;
        found.ok_or_else(|| no_data(&self.vehicle, "data"))
    }
}

/// A vehicle of a fleet as its paths name it: the fleet id and the vehicle id.
#[derive(Debug, Clone, Copy)]
pub struct VehicleRef<'a> {
    /// The fleet.
    pub fleet_id: &'a str,
    /// The vehicle's id in the fleet's paths.
    pub vehicle_id: &'a str,
}

impl VehicleRef<'_> {
    /// The vehicle's path below `/connectedcar/{version}`.
    pub fn base(&self) -> String {
        format!("/fleets/{}/vehicles/{}", self.fleet_id, self.vehicle_id)
    }

    /// `_links` with `self` (the resource at `path`), `vehicle` and `fleet`.
    pub fn links(&self, links: &Links<'_>, path: &str) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("self".into(), links.resource(path));
        map.insert("vehicle".into(), links.resource(&self.base()));
        map.insert(
            "fleet".into(),
            links.resource(&format!("/fleets/{}", self.fleet_id)),
        );
        map
    }
}

/// The 404 of a vehicle that has sent no `what` yet.
pub fn no_data(vehicle: &Vehicle, what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NoData,
        format!("no {what} received from vehicle {} yet", vehicle.vin),
    )
}

/// `GET /fleets/{fid}/vehicles/{vid}`: the vehicle and the links to its data.
pub async fn vehicle(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid)): VehiclePath,
    request: Request,
) -> Result<Response, ApiError> {
    let target = Target::resolve(&state, &caller, &fid, &vid).await?;
    let params = QueryParams::parse(request.uri().query());
    params::locale(&params)?;
    let extensions = capabilities::vehicle_extensions(&params)?;
    let onboard = capabilities::onboard_state(&state, &target.vehicle, &extensions).await?;

    let links = fleets::links(&request, &caller, &params);
    let mut body = vehicle_json(&target, &links);
    capabilities::embed_extensions(&mut body, &target.vehicle, onboard.as_ref(), &extensions);
    Ok(hal_response(request.headers(), body))
}

fn vehicle_json(target: &Target, links: &Links<'_>) -> Value {
    let base = target.base();
    let mut link_map = target.links(links, &base);
    link_map.remove("vehicle");
    for related in [
        "lastPosition",
        "trips",
        "maintenance",
        "alerts",
        "status",
        "telemetry",
        "collisions",
        "alarms",
    ] {
        link_map.insert(related.into(), links.resource(&format!("{base}/{related}")));
    }

    let vehicle = &target.vehicle;
    let mut object = json!({
        "_links": link_map,
        "id": vehicle.id,
        "vin": vehicle.vin.as_str(),
        "createdAt": timestamp(vehicle.created_at),
        "updatedAt": timestamp(vehicle.updated_at),
    });
    if let Some(motorization) = &vehicle.motorization {
        object["motorization"] = json!(motorization);
    }
    object
}

/// `GET .../lastPosition`: the last position kept, a GeoJSON Feature
/// (`application/vnd.geo+json`), with its `_links` as a foreign member.
pub async fn last_position(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid)): VehiclePath,
    request: Request,
) -> Result<Response, ApiError> {
    let (target, params, _) = Seen::open_vehicle(
        &state,
        &caller,
        (&fid, &vid),
        request.uri().query(),
        &[DataScope::Position],
    )
    .await?;

    let vehicle_state = target.state(&state).await?;
    let located = vehicle_state
        .position
        .as_ref()
        .ok_or_else(|| no_data(&target.vehicle, "position"))?;

    let links = fleets::links(&request, &caller, &params);
    let mut body = render::position(&located.value, located.at, &target.vehicle.vin);
    let path = format!("{}/lastPosition", target.base());
    body["_links"] = Value::Object(target.links(&links, &path));

    let mut response = axum::Json(body).into_response();
    let media = HeaderValue::from_static("application/vnd.geo+json");
    response.headers_mut().insert(header::CONTENT_TYPE, media);
    Ok(response)
}

/// `GET .../status`: the latest value of every part of the vehicle's status, each with
/// the time it was measured.
pub async fn status(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid)): VehiclePath,
    request: Request,
) -> Result<Response, ApiError> {
    let (target, params, seen) = Seen::open_vehicle(
        &state,
        &caller,
        (&fid, &vid),
        request.uri().query(),
        &[DataScope::Telemetry],
    )
    .await?;
    let vehicle_state = target.state(&state).await?;

    let links = fleets::links(&request, &caller, &params);
    let body = status_body(target.reference(), &vehicle_state, &links);
    Ok(seen.respond(request.headers(), body))
}

/// The spec's `Status` of a vehicle state, with its links.
pub(super) fn status_body(
    vehicle: VehicleRef<'_>,
    state: &VehicleState,
    links: &Links<'_>,
) -> Value {
    let base = vehicle.base();
    let path = format!("{base}/status");
    let mut body = status_json(state);
    body.insert("_links".into(), Value::Object(vehicle.links(links, &path)));
    if let Some(stolen) = body.get_mut("stolen") {
        let id = stolen["id"].as_str().unwrap_or_default();
        let own = links.resource(&format!("{base}/stolen/{id}"));
        stolen["_links"] = json!({ "self": own, "vehicle": links.resource(&base) });
    }
    Value::Object(body)
}

/// The spec's `Status` of a vehicle state, without its links.
fn status_json(vehicle: &VehicleState) -> Map<String, Value> {
    let mut object = Map::new();
    let at = vehicle.last_at.map(timestamp);
    object.insert("vin".into(), json!(vehicle.vin.as_str()));
    render::insert_some(&mut object, "createdAt", at.clone());
    render::insert_some(&mut object, "updatedAt", at);

    if let Some(ignition) = &vehicle.ignition {
        let value = json!({ "type": ignition.value, "createdAt": timestamp(ignition.at) });
        object.insert("ignition".into(), value);
    }
    if let Some(located) = &vehicle.position {
        let feature = render::position(&located.value, located.at, &vehicle.vin);
        object.insert("lastPosition".into(), feature);
    }
    if !vehicle.energies.is_empty() {
        object.insert("energies".into(), status_energies(vehicle));
    }
    if let Some(odometer) = &vehicle.odometer {
        let value = json!({ "mileage": odometer.value, "createdAt": timestamp(odometer.at) });
        object.insert("odometer".into(), value);
    }
    if let Some(privacy) = &vehicle.privacy {
        let value = json!({ "state": privacy.value, "createdAt": timestamp(privacy.at) });
        object.insert("privacy".into(), value);
    }
    for (name, section) in &vehicle.sections {
        object.insert(name.clone(), render::stamped_section(name, section));
    }
    if let Some(alarm) = &vehicle.alarm {
        object.insert("alarm".into(), status_alarm(alarm));
    }
    if let Some(period) = vehicle.stolen.as_ref().filter(|period| period.active) {
        object.insert("stolen".into(), render::stolen(period));
    }
    object
}

fn status_energies(vehicle: &VehicleState) -> Value {
    let energies: Vec<Value> = vehicle
        .energies
        .iter()
        .map(|stamped| {
            let mut energy = render::energy(&stamped.value);
            energy["createdAt"] = json!(timestamp(stamped.at));
            energy
        })
        .collect();
    json!(energies)
}

fn status_alarm(alarm: &AlarmState) -> Value {
    let activation = &alarm.activation;
    let mut value = json!({
        "status": { "activation": activation.value, "createdAt": timestamp(activation.at) },
    });
    let trigger = alarm.last_trigger.as_ref();
    if let Some((last, kind)) = trigger.and_then(|last| Some((last, last.trigger.as_ref()?))) {
        value["trigger"] = render::alarm_trigger(last, kind);
    }
    value
}

/// `GET .../maintenance`: the days and the distance left before the next maintenance.
pub async fn maintenance(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid)): VehiclePath,
    request: Request,
) -> Result<Response, ApiError> {
    let (target, params, seen) = Seen::open_vehicle(
        &state,
        &caller,
        (&fid, &vid),
        request.uri().query(),
        &[DataScope::Telemetry],
    )
    .await?;

    let vehicle_state = target.state(&state).await?;
    let stamped = vehicle_state
        .maintenance
        .as_ref()
        .ok_or_else(|| no_data(&target.vehicle, "maintenance figures"))?;

    let links = fleets::links(&request, &caller, &params);
    let body = maintenance_body(target.reference(), &vehicle_state.vin, stamped, &links);
    Ok(seen.respond(request.headers(), body))
}

/// The spec's `Maintenance` of a vehicle's last figures, with its links.
pub(super) fn maintenance_body(
    vehicle: VehicleRef<'_>,
    vin: &Vin,
    stamped: &Stamped<MaintenanceSample>,
    links: &Links<'_>,
) -> Value {
    let path = format!("{}/maintenance", vehicle.base());
    let mut link_map = vehicle.links(links, &path);
    let alerts = links.resource(&format!("{}/alerts", vehicle.base()));
    link_map.insert("alerts".into(), alerts);

    let mut body = json!({
        "_links": link_map,
        "vin": vin.as_str(),
        "createdAt": timestamp(stamped.at),
        "updatedAt": timestamp(stamped.at),
    });
    let figures = &stamped.value;
    if let Some(days) = figures.days_before_maintenance {
        body["daysBeforeMaintenance"] = json!(days);
    }
    if let Some(km) = figures.mileage_before_maintenance {
        body["mileageBeforeMaintenance"] = json!(km);
    }
    body
}
