//! `getVehiclesCapabilities` (`/vehicles/{vin}`) and the vehicle extensions that it and
//! `getVehicleByid` embed: `onboardCapabilities`, derived from what the vehicle has sent,
//! and `branding`.

use axum::extract::{Extension, Path, Request, State};
use axum::response::Response;
use fleetgate_core::vehicle::VehicleState;
use fleetgate_core::{ErrorCode, Vin};
use fleetgate_store::Vehicle;
use serde_json::{json, Map, Value};

use super::fleets::{self, hal_response};
use super::params::{self, QueryParams};
use crate::auth::Caller;
use crate::error::{timestamp, ApiError};
use crate::state::AppState;

/// The extensions a vehicle can embed.
const VEHICLE_EXTENSIONS: [&str; 3] = ["onboardCapabilities", "branding", "pictures"];

/// The `data:telemetry:vehicle:*` scopes of `OnboardCapabilities`, by the name of the
/// status section that carries them.
const SECTION_SCOPES: [&str; 14] = [
    "data:telemetry:vehicle:preconditioning",
    "data:telemetry:vehicle:engines",
    "data:telemetry:vehicle:doorsState",
    "data:telemetry:vehicle:powertrain",
    "data:telemetry:vehicle:battery",
    "data:telemetry:vehicle:safety",
    "data:telemetry:vehicle:kinetic",
    "data:telemetry:vehicle:transmission",
    "data:telemetry:vehicle:adas",
    "data:telemetry:vehicle:lightingSystem",
    "data:telemetry:vehicle:drivingBehavior",
    "data:telemetry:vehicle:wipingBlades",
    "data:telemetry:vehicle:odometer",
    "data:telemetry:vehicle:maintenance",
];

/// The remote functions of `OnboardCapabilities.remote`, with their scope names.
const REMOTES: [(&str, &str); 7] = [
    ("preconditioning", "remote:preconditioning:write"),
    ("charging", "remote:charging:write"),
    ("door", "remote:door:write"),
    ("horn", "remote:horn:write"),
    ("lights", "remote:lights:write"),
    ("wakeup", "remote:wakeup:write"),
    ("navigation", "remote:navigation:write"),
];

/// `GET /vehicles/{vin}`: a vehicle of one of the caller's fleets, by VIN, with the
/// extensions asked for.
pub async fn vehicle_capabilities(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, vin)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let vin = Vin::parse(&vin)
        .map_err(|error| ApiError::parameter(format!("vin '{vin}' is not a VIN: {error}")))?;
    let params = QueryParams::parse(request.uri().query());
    params::locale(&params)?;
    let extensions = vehicle_extensions(&params)?;

    let found = state
        .store()
        .partner_vehicle(&caller.partner_id, &vin)
        .await?;
    let vehicle = found.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Forbidden,
            format!("vehicle {vin} is not in any fleet of {}", caller.login),
        )
    })?;
    let vehicle_state = onboard_state(&state, &vehicle, &extensions).await?;

    let links = fleets::links(&request, &caller, &params);
    let mut body = json!({
        "_links": { "self": links.resource(&format!("/vehicles/{}", vin.as_str())) },
        "vin": vin.as_str(),
        "createdAt": timestamp(vehicle.created_at),
        "updatedAt": timestamp(vehicle.updated_at),
    });
    if let Some(motorization) = &vehicle.motorization {
        body["motorization"] = json!(motorization);
    }
    embed_extensions(&mut body, &vehicle, vehicle_state.as_ref(), &extensions);
    Ok(hal_response(request.headers(), body))
}

/// The `extension` values of a vehicle request, each once; a value the spec does not
/// define is a 400.
pub fn vehicle_extensions(params: &QueryParams) -> Result<Vec<&str>, ApiError> {
    let mut wanted = Vec::new();
    for value in params.list("extension") {
        if !VEHICLE_EXTENSIONS.contains(&value) {
            return Err(ApiError::parameter(format!(
                "extension '{value}' is not known: expected onboardCapabilities, branding \
                 and/or pictures"
            )));
        }
        if !wanted.contains(&value) {
            wanted.push(value);
        }
    }
    Ok(wanted)
}

/// The vehicle's state when `onboardCapabilities` is asked for (none if it never sent
/// anything), else none without reading it.
pub async fn onboard_state(
    state: &AppState,
    vehicle: &Vehicle,
    extensions: &[&str],
) -> Result<Option<VehicleState>, ApiError> {
    if !extensions.contains(&"onboardCapabilities") {
        return Ok(None);
    }
    Ok(state.store().vehicle_state(&vehicle.vin).await?)
}

/// Adds `_embedded.extension` to a vehicle's body with the extensions asked for.
pub fn embed_extensions(
    body: &mut Value,
    vehicle: &Vehicle,
    vehicle_state: Option<&VehicleState>,
    extensions: &[&str],
) {
    let mut embedded = Map::new();
    if extensions.contains(&"onboardCapabilities") {
        embedded.insert("onboardCapabilities".into(), onboard(vehicle_state));
    }
    let brand = vehicle
        .brand
        .clone()
        .or_else(|| fleets::brand_of_vin(vehicle.vin.as_str()));
    if let (true, Some(brand)) = (extensions.contains(&"branding"), brand) {
        embedded.insert("branding".into(), json!({ "brand": brand }));
    }
    // LIMITATION: no picture source exists yet, so the `pictures` extension embeds nothing.
    if !embedded.is_empty() {
        body["_embedded"] = json!({ "extension": embedded });
    }
}

/// The spec's `OnboardCapabilities`: the data the vehicle has been seen to send, and no
/// remote function (remote actions are not served).
fn onboard(vehicle_state: Option<&VehicleState>) -> Value {
    let data = vehicle_state.map(data_scopes).unwrap_or_default();
    let mut remote = Map::new();
    for (name, scope) in REMOTES {
        let mut function = json!({ "supported": false, "scopeName": scope });
        if matches!(name, "preconditioning" | "charging") {
            function["parameters"] = json!({});
        }
        remote.insert(name.into(), function);
    }
    remote.insert("stolen".into(), json!({ "supported": false }));
    json!({ "data": data, "remote": remote })
}

/// The data scopes of what a vehicle has sent: telemetry, trips, alerts and collisions
/// once it sent anything, and each part of the status it has sent.
///
/// LIMITATION: capabilities are derived from the data seen, not from the vehicle's
/// equipment: a part the vehicle has but has not sent yet is not listed.
fn data_scopes(vehicle: &VehicleState) -> Vec<&'static str> {
    let mut scopes = Vec::new();
    if vehicle.last_at.is_none() {
        return scopes;
    }
    scopes.extend([
        "data:telemetry",
        "data:trip",
        "data:alert",
        "data:collision",
    ]);
    let seen = [
        (vehicle.position.is_some(), "data:position"),
        (vehicle.privacy.is_some(), "data:telemetry:privacy"),
        (
            vehicle.ignition.is_some(),
            "data:telemetry:vehicle:ignition",
        ),
        (
            !vehicle.energies.is_empty(),
            "data:telemetry:vehicle:energies",
        ),
        (
            vehicle.odometer.is_some(),
            "data:telemetry:vehicle:odometer",
        ),
        (
            vehicle.maintenance.is_some(),
            "data:telemetry:vehicle:maintenance",
        ),
        (vehicle.alarm.is_some(), "data:telemetry:vehicle:alarm"),
        (
            vehicle.sections.contains_key("environment"),
            "data:telemetry:environment",
        ),
    ];
    scopes.extend(
        seen.iter()
            .filter(|(seen, _)| *seen)
            .map(|(_, scope)| *scope),
    );
    for name in vehicle.sections.keys() {
        let scope = format!("data:telemetry:vehicle:{name}");
        if let Some(known) = SECTION_SCOPES.iter().find(|known| **known == scope) {
            scopes.push(known);
        }
    }
    if scopes
        .iter()
        .any(|scope| scope.starts_with("data:telemetry:vehicle:"))
    {
        scopes.push("data:telemetry:vehicle");
    }
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}
