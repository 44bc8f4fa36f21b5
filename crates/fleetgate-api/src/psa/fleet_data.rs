//! The fleet-wide collections: the status and the maintenance figures of every vehicle of
//! a fleet (`getFleetStatusList`, `getFleetMantenanceList`), and its vehicles' alerts
//! (`getFleetAlertList`, `getFleetAlertById`), trips (`getFleetTrips`) and collisions
//! (`getFleetTripCollisions`, `getCollisionsById`). Each is one SQL query over the fleet's
//! vehicles, paged in SQL.

use axum::extract::{Extension, Path, Request, State};
use axum::response::Response;
use fleetgate_core::ErrorCode;
use fleetgate_store::vehicle_reads::InFleet;
use fleetgate_store::Fleet;

use super::fleets;
use super::listing::{Listing, PAGE_SIZE};
use super::params::QueryParams;
use super::vehicles::VehicleRef;
use super::view::Seen;
use super::{events, filters, trips, vehicles};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use fleetgate_core::DataScope;

/// The path parameters of a fleet-wide collection: version, fleet.
type FleetPath = Path<(String, String)>;

/// The path parameters of one record of a fleet: version, fleet, record.
type FleetRecordPath = Path<(String, String, String)>;

/// The vehicle a fleet-wide record belongs to, for its links.
fn owner<'a, T>(fleet: &'a Fleet, item: &'a InFleet<T>) -> VehicleRef<'a> {
    VehicleRef {
        fleet_id: fleet.id.as_str(),
        vehicle_id: &item.vehicle_id,
    }
}

/// `GET /fleets/{fid}/status`: the status of every vehicle of the fleet that sent data,
/// by VIN.
pub async fn list_status(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): FleetPath,
    request: Request,
) -> Result<Response, ApiError> {
    let fleet = fleets::owned_fleet(&state, &caller, &fid).await?;
    let params = QueryParams::parse(request.uri().query());
    let seen = Seen::of_fleet(&caller, &params, &[DataScope::Telemetry])?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;

    let (offset, limit) = listing.window();
    let (states, count) = state
        .store()
        .fleet_vehicle_states(seen.reach(&fleet.id), false, offset, limit)
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = states
        .iter()
        .map(|item| vehicles::status_body(owner(&fleet, item), &item.record, &links))
        .collect();
    let path = format!("/fleets/{}/status", fleet.id);
    let body = listing.body(&state, "status", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET /fleets/{fid}/maintenances`: the last maintenance figures of every vehicle of the
/// fleet that sent some, by VIN.
pub async fn list_maintenances(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): FleetPath,
    request: Request,
) -> Result<Response, ApiError> {
    let fleet = fleets::owned_fleet(&state, &caller, &fid).await?;
    let params = QueryParams::parse(request.uri().query());
    let seen = Seen::of_fleet(&caller, &params, &[DataScope::Telemetry])?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;

    let (offset, limit) = listing.window();
    let (states, count) = state
        .store()
        .fleet_vehicle_states(seen.reach(&fleet.id), true, offset, limit)
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = states
        .iter()
        .filter_map(|item| {
            let figures = item.record.maintenance.as_ref()?;
            let vin = &item.record.vin;
            Some(vehicles::maintenance_body(
                owner(&fleet, item),
                vin,
                figures,
                &links,
            ))
        })
        .collect();
    let path = format!("/fleets/{}/maintenances", fleet.id);
    let body = listing.body(&state, "maintenances", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET /fleets/{fid}/alerts`: the alerts of the fleet's vehicles, newest first;
/// `timestamps` filters on the time they appeared.
pub async fn list_alerts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): FleetPath,
    request: Request,
) -> Result<Response, ApiError> {
    let fleet = fleets::owned_fleet(&state, &caller, &fid).await?;
    let params = QueryParams::parse(request.uri().query());
    let seen = Seen::of_fleet(&caller, &params, &[DataScope::Alert])?;
    let windows = filters::timestamps(&params)?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;

    let (offset, limit) = listing.window();
    let (alerts, count) = state
        .store()
        .fleet_alerts_in(seen.reach(&fleet.id), &windows, offset, limit)
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = alerts
        .iter()
        .map(|item| events::alert_json(owner(&fleet, item), &item.record, &links))
        .collect();
    let path = format!("/fleets/{}/alerts", fleet.id);
    let body = listing.body(&state, "alerts", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET /fleets/{fid}/alerts/{aid}`: one alert of one of the fleet's vehicles.
pub async fn alert(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, aid)): FleetRecordPath,
    request: Request,
) -> Result<Response, ApiError> {
    let fleet = fleets::owned_fleet(&state, &caller, &fid).await?;
    let params = QueryParams::parse(request.uri().query());
    let seen = Seen::of_fleet(&caller, &params, &[DataScope::Alert])?;

    let found = state
        .store()
        .fleet_alert(seen.reach(&fleet.id), &aid)
        .await?;
    let item = found.ok_or_else(|| not_found("alert", &aid, &fleet))?;
    let links = fleets::links(&request, &caller, &params);
    let body = events::alert_json(owner(&fleet, &item), &item.record, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET /fleets/{fid}/trips`: the finished trips of the fleet's vehicles, latest first,
/// filtered like the trips of one vehicle.
pub async fn list_trips(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): FleetPath,
    request: Request,
) -> Result<Response, ApiError> {
    let fleet = fleets::owned_fleet(&state, &caller, &fid).await?;
    let params = QueryParams::parse(request.uri().query());
    let seen = Seen::of_fleet(&caller, &params, &[DataScope::Trip])?;
    let query = trips::trip_query(&params)?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;

    let (offset, limit) = listing.window();
    let (found, count) = state
        .store()
        .fleet_trips_matching(seen.reach(&fleet.id), &query, offset, limit)
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = found
        .iter()
        .map(|item| trips::trip_json(owner(&fleet, item), &item.record, &links))
        .collect();
    let path = format!("/fleets/{}/trips", fleet.id);
    let body = listing.body(&state, "trips", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET /fleets/{fid}/collisions`: the collisions of the fleet's vehicles, newest first.
pub async fn list_collisions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): FleetPath,
    request: Request,
) -> Result<Response, ApiError> {
    let fleet = fleets::owned_fleet(&state, &caller, &fid).await?;
    let params = QueryParams::parse(request.uri().query());
    let seen = Seen::of_fleet(&caller, &params, &[DataScope::Collision])?;
    let windows = filters::timestamps(&params)?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;

    let (offset, limit) = listing.window();
    let (collisions, count) = state
        .store()
        .fleet_collisions_in(seen.reach(&fleet.id), &windows, offset, limit)
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = collisions
        .iter()
        .map(|item| events::collision_json(owner(&fleet, item), &item.record, &links))
        .collect();
    let path = format!("/fleets/{}/collisions", fleet.id);
    // The spec names this collection's items `Collisions`, capitalised.
    let body = listing.body(&state, "Collisions", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET /fleets/{fid}/collisions/{cid}`: one collision of one of the fleet's vehicles.
pub async fn collision(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, cid)): FleetRecordPath,
    request: Request,
) -> Result<Response, ApiError> {
    let fleet = fleets::owned_fleet(&state, &caller, &fid).await?;
    let params = QueryParams::parse(request.uri().query());
    let seen = Seen::of_fleet(&caller, &params, &[DataScope::Collision])?;

    let found = state
        .store()
        .fleet_collision(seen.reach(&fleet.id), &cid)
        .await?;
    let item = found.ok_or_else(|| not_found("collision", &cid, &fleet))?;
    let links = fleets::links(&request, &caller, &params);
    let body = events::collision_json(owner(&fleet, &item), &item.record, &links);
    Ok(seen.respond(request.headers(), body))
}

fn not_found(what: &str, id: &str, fleet: &Fleet) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no {what} {id} for the vehicles of fleet {}", fleet.id),
    )
}
