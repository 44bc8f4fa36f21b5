//! Events of a vehicle, listed and one by one: alerts (`getVehicleAlerts`,
//! `getFleetVehicleAlertsById`), alarms (`getVehicleAlarms`, `getVehicleAlarmsById`),
//! collisions (`getVehicleCollision`, `getVehicleCollisionById`) and stolen periods
//! (`getVehicleStolenHistory`, `getVehicleStolenById`, `getVehicleStolenIdPosition`).

use axum::extract::{Extension, Path, Request, State};
use axum::response::Response;
use fleetgate_core::vehicle::state::{Alarm, Alert, Collision, StolenPeriod};
use fleetgate_core::ErrorCode;
use fleetgate_store::vehicle_reads::{AlarmKind, TimeWindow};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::fleets;
use super::hal::Links;
use super::listing::{Listing, PAGE_SIZE};
use super::params::QueryParams;
use super::vehicles::{Target, VehiclePath, VehicleRef};
use super::view::Seen;
use super::{filters, render, trips};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use fleetgate_core::DataScope;

/// The path parameters of one event: version, fleet, vehicle, event.
type EventPath = Path<(String, String, String, String)>;

/// `GET .../alerts`: the vehicle's alerts, active or ended, newest first; `timestamps`
/// filters on the time they appeared.
pub async fn list_alerts(
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
        &[DataScope::Alert],
    )
    .await?;
    let windows = filters::timestamps(&params)?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;

    let (offset, limit) = listing.window();
    let vin = &target.vehicle.vin;
    let (alerts, count) = state
        .store()
        .vehicle_alerts_in(vin, &windows, offset, limit)
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = alerts
        .iter()
        .map(|a| alert_json(target.reference(), a, &links))
        .collect();
    let path = format!("{}/alerts", target.base());
    let body = listing.body(&state, "alerts", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET .../alerts/{aid}`: one alert of the vehicle.
pub async fn alert(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid, aid)): EventPath,
    request: Request,
) -> Result<Response, ApiError> {
    let (target, params, seen) = Seen::open_vehicle(
        &state,
        &caller,
        (&fid, &vid),
        request.uri().query(),
        &[DataScope::Alert],
    )
    .await?;

    let found = state
        .store()
        .vehicle_alert(&target.vehicle.vin, &aid)
        .await?;
    let alert = found.ok_or_else(|| not_found("alert", &aid, &target))?;
    let links = fleets::links(&request, &caller, &params);
    Ok(seen.respond(
        request.headers(),
        alert_json(target.reference(), &alert, &links),
    ))
}

/// The spec's `Alert` with its links.
pub(super) fn alert_json(vehicle: VehicleRef<'_>, alert: &Alert, links: &Links<'_>) -> Value {
    let path = format!("{}/alerts/{}", vehicle.base(), alert.id);
    let mut link_map = vehicle.links(links, &path);
    if let Some(trip) = &alert.trip_id {
        let href = links.resource(&format!("{}/trips/{trip}", vehicle.base()));
        link_map.insert("trips".into(), json!([href]));
    }

    let mut object = render::alert(alert);
    object["_links"] = Value::Object(link_map);
    object
}

/// `GET .../alarms`: the vehicle's alarm changes, newest first; `type` keeps the status
/// changes (`vehicle.alarm.status`) or the triggers (`vehicle.alarm.trigger`).
pub async fn list_alarms(
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
    let windows = filters::timestamps(&params)?;
    let kind = alarm_kind(&params)?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;

    let (offset, limit) = listing.window();
    let vin = &target.vehicle.vin;
    let (alarms, count) = state
        .store()
        .vehicle_alarms_in(vin, &windows, kind, offset, limit)
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = alarms
        .iter()
        .map(|a| alarm_json(&target, a, &links))
        .collect();
    let path = format!("{}/alarms", target.base());
    let body = listing.body(&state, "alarms", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

fn alarm_kind(params: &QueryParams) -> Result<AlarmKind, ApiError> {
    let (mut status, mut trigger) = (false, false);
    for value in params.list("type") {
        match value {
            "vehicle.alarm.status" => status = true,
            "vehicle.alarm.trigger" => trigger = true,
            other => {
                return Err(ApiError::parameter(format!(
                    "type '{other}' is not an alarm type: expected vehicle.alarm.status \
                     and/or vehicle.alarm.trigger"
                )))
            }
        }
    }
    Ok(match (status, trigger) {
        (true, false) => AlarmKind::Status,
        (false, true) => AlarmKind::Trigger,
        _ => AlarmKind::Any,
    })
}

/// `GET .../alarms/{aid}`: one alarm change of the vehicle.
pub async fn alarm(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid, aid)): EventPath,
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

    let found = state
        .store()
        .vehicle_alarm(&target.vehicle.vin, &aid)
        .await?;
    let alarm = found.ok_or_else(|| not_found("alarm", &aid, &target))?;
    let links = fleets::links(&request, &caller, &params);
    Ok(seen.respond(request.headers(), alarm_json(&target, &alarm, &links)))
}

fn alarm_json(target: &Target, alarm: &Alarm, links: &Links<'_>) -> Value {
    let path = format!("{}/alarms/{}", target.base(), alarm.id);
    let mut object = render::alarm(alarm);
    object["_links"] = Value::Object(target.links(links, &path));
    object
}

/// `GET .../collisions`: the vehicle's collisions, newest first.
pub async fn list_collisions(
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
        &[DataScope::Collision],
    )
    .await?;
    let windows = filters::timestamps(&params)?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;

    let (offset, limit) = listing.window();
    let vin = &target.vehicle.vin;
    let (collisions, count) = state
        .store()
        .vehicle_collisions_in(vin, &windows, offset, limit)
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = collisions
        .iter()
        .map(|c| collision_json(target.reference(), c, &links))
        .collect();
    let path = format!("{}/collisions", target.base());
    // The spec names this collection's items `Collisions`, capitalised.
    let body = listing.body(&state, "Collisions", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET .../collisions/{cid}`: one collision of the vehicle.
pub async fn collision(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid, cid)): EventPath,
    request: Request,
) -> Result<Response, ApiError> {
    let (target, params, seen) = Seen::open_vehicle(
        &state,
        &caller,
        (&fid, &vid),
        request.uri().query(),
        &[DataScope::Collision],
    )
    .await?;

    let vin = &target.vehicle.vin;
    let found = state.store().vehicle_collision(vin, &cid).await?;
    let collision = found.ok_or_else(|| not_found("collision", &cid, &target))?;
    let links = fleets::links(&request, &caller, &params);
    let body = collision_json(target.reference(), &collision, &links);
    Ok(seen.respond(request.headers(), body))
}

/// The spec's `Collision` with its links.
pub(super) fn collision_json(
    vehicle: VehicleRef<'_>,
    collision: &Collision,
    links: &Links<'_>,
) -> Value {
    let path = format!("{}/collisions/{}", vehicle.base(), collision.id);
    let mut link_map = vehicle.links(links, &path);
    if let Some(trip) = &collision.trip_id {
        let href = links.resource(&format!("{}/trips/{trip}", vehicle.base()));
        link_map.insert("trip".into(), href);
    }

    let mut object = render::collision(collision);
    object["_links"] = Value::Object(link_map);
    object
}

/// `GET .../stolen`: the periods the vehicle was reported stolen, newest first.
pub async fn list_stolen(
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
    let windows = filters::timestamps(&params)?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;

    let (offset, limit) = listing.window();
    let vin = &target.vehicle.vin;
    let (periods, count) = state
        .store()
        .vehicle_stolen_periods_in(vin, &windows, offset, limit)
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = periods
        .iter()
        .map(|p| stolen_json(&target, p, &links))
        .collect();
    let path = format!("{}/stolen", target.base());
    let body = listing.body(&state, "stolen", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET .../stolen/{sid}`: one stolen period of the vehicle.
pub async fn stolen(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid, sid)): EventPath,
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
    let period = stolen_period(&state, &target, &sid).await?;

    let links = fleets::links(&request, &caller, &params);
    Ok(seen.respond(request.headers(), stolen_json(&target, &period, &links)))
}

/// `GET .../stolen/{sid}/waypoints`: the positions the vehicle sent while it was stolen
/// (until now while it still is).
pub async fn stolen_way_points(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid, sid)): EventPath,
    request: Request,
) -> Result<Response, ApiError> {
    let (target, params, seen) = Seen::open_vehicle(
        &state,
        &caller,
        (&fid, &vid),
        request.uri().query(),
        &[DataScope::Telemetry, DataScope::Position],
    )
    .await?;
    let query = trips::PathQuery::read(&state, &caller, &request, &params)?;
    let links = fleets::links(&request, &caller, &params);
    let period = stolen_period(&state, &target, &sid).await?;

    let window = TimeWindow {
        from: Some(period.started_at),
        to: Some(period.ended_at.unwrap_or_else(OffsetDateTime::now_utc)),
    };
    let path = format!("{}/stolen/{}/waypoints", target.base(), period.id);
    let body = trips::path_page(&state, &query, &links, &target, window, &path).await?;
    Ok(seen.respond(request.headers(), body))
}

async fn stolen_period(
    state: &AppState,
    target: &Target,
    sid: &str,
) -> Result<StolenPeriod, ApiError> {
    let vin = &target.vehicle.vin;
    let found = state.store().vehicle_stolen_period(vin, sid).await?;
    found.ok_or_else(|| not_found("stolen period", sid, target))
}

fn stolen_json(target: &Target, period: &StolenPeriod, links: &Links<'_>) -> Value {
    let path = format!("{}/stolen/{}", target.base(), period.id);
    let mut link_map = target.links(links, &path);
    let waypoints = links.resource(&format!("{path}/waypoints"));
    link_map.insert("waypoints".into(), waypoints);

    let mut object = render::stolen(period);
    object["_links"] = Value::Object(link_map);
    object
}

fn not_found(what: &str, id: &str, target: &Target) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no {what} {id} for vehicle {}", target.vehicle.id),
    )
}
