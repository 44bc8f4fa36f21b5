//! What happened during one trip of a vehicle: its alerts
//! (`getFleetTripAlertByVehicle`, `getFleetTripAlertByVehicleById`), its collisions
//! (`getTripCollisionsByTripAndVehicle`) and its telemetry (`getTelemetryForTripByVehicle`).

use axum::extract::{Extension, Path, Request, State};
use axum::response::Response;
use fleetgate_core::vehicle::state::Trip;
use fleetgate_core::ErrorCode;
use fleetgate_store::vehicle_reads::TimeWindow;
use time::Duration;

use super::fleets;
use super::listing::{Listing, PAGE_SIZE};
use super::telemetry::{TelemetryPage, TelemetryQuery};
use super::view::Seen;
use super::{events, filters, trips};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use fleetgate_core::DataScope;

/// The path parameters of one trip: version, fleet, vehicle, trip.
type TripPath = Path<(String, String, String, String)>;

/// The path parameters of one record of a trip: version, fleet, vehicle, trip, record.
type TripRecordPath = Path<(String, String, String, String, String)>;

/// `GET .../trips/{tid}/alerts`: the alerts raised during the trip, newest first.
pub async fn list_alerts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid, tid)): TripPath,
    request: Request,
) -> Result<Response, ApiError> {
    let (target, params, seen) = Seen::open_vehicle(
        &state,
        &caller,
        (&fid, &vid),
        request.uri().query(),
        &[DataScope::Trip, DataScope::Alert],
    )
    .await?;
    let windows = filters::timestamps(&params)?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;
    let trip = trips::vehicle_trip(&state, &target, &tid).await?;

    let vin = &target.vehicle.vin;
    let (alerts, count) = state
        .store()
        .trip_alerts_in(vin, &trip.id, &windows, listing.window())
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = alerts
        .iter()
        .map(|alert| events::alert_json(target.reference(), alert, &links))
        .collect();
    let path = format!("{}/trips/{}/alerts", target.base(), trip.id);
    let body = listing.body(&state, "alerts", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET .../trips/{tid}/alerts/{aid}`: one alert raised during the trip.
pub async fn alert(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid, tid, aid)): TripRecordPath,
    request: Request,
) -> Result<Response, ApiError> {
    let (target, params, seen) = Seen::open_vehicle(
        &state,
        &caller,
        (&fid, &vid),
        request.uri().query(),
        &[DataScope::Trip, DataScope::Alert],
    )
    .await?;
    let trip = trips::vehicle_trip(&state, &target, &tid).await?;

    let found = state
        .store()
        .vehicle_alert(&target.vehicle.vin, &aid)
        .await?;
    let alert = found
        .filter(|alert| alert.trip_id.as_deref() == Some(trip.id.as_str()))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no alert {aid} during trip {tid}"),
            )
        })?;
    let links = fleets::links(&request, &caller, &params);
    let body = events::alert_json(target.reference(), &alert, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET .../trips/{tid}/collisions`: the collisions of the trip, newest first.
pub async fn list_collisions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid, tid)): TripPath,
    request: Request,
) -> Result<Response, ApiError> {
    let (target, params, seen) = Seen::open_vehicle(
        &state,
        &caller,
        (&fid, &vid),
        request.uri().query(),
        &[DataScope::Trip, DataScope::Collision],
    )
    .await?;
    let windows = filters::timestamps(&params)?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;
    let trip = trips::vehicle_trip(&state, &target, &tid).await?;

    let vin = &target.vehicle.vin;
    let (collisions, count) = state
        .store()
        .trip_collisions_in(vin, &trip.id, &windows, listing.window())
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items = collisions
        .iter()
        .map(|collision| events::collision_json(target.reference(), collision, &links))
        .collect();
    let path = format!("{}/trips/{}/collisions", target.base(), trip.id);
    // The spec names this collection's items `Collisions`, capitalised.
    let body = listing.body(&state, "Collisions", items, count, &path, &links);
    Ok(seen.respond(request.headers(), body))
}

/// `GET .../trips/{tid}/telemetry`: the telemetry samples measured during the trip,
/// newest first, within `timestamps` when given.
pub async fn list_telemetry(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, vid, tid)): TripPath,
    request: Request,
) -> Result<Response, ApiError> {
    let (target, params, seen) = Seen::open_vehicle(
        &state,
        &caller,
        (&fid, &vid),
        request.uri().query(),
        &[DataScope::Trip, DataScope::Telemetry],
    )
    .await?;
    let windows = filters::timestamps(&params)?;
    let query = TelemetryQuery::read(&state, &caller, &request, &params)?;
    let links = fleets::links(&request, &caller, &params);
    let trip = trips::vehicle_trip(&state, &target, &tid).await?;

    let page = TelemetryPage {
        target: &target,
        windows: within_trip(&windows, &trip),
        path: format!("{}/trips/{}/telemetry", target.base(), trip.id),
    };
    let body = page.read(&state, &query, &links).await?;
    Ok(seen.respond(request.headers(), body))
}

/// The parts of `windows` (all time when empty) that lie within the trip; a window that
/// matches nothing when none does.
fn within_trip(windows: &[TimeWindow], trip: &Trip) -> Vec<TimeWindow> {
    let start = trip.started_at;
    let end = trip.stopped_at.unwrap_or(trip.last_sample_at);
    if windows.is_empty() {
        return vec![TimeWindow {
            from: Some(start),
            to: Some(end),
        }];
    }

    let overlaps: Vec<TimeWindow> = windows
        .iter()
        .map(|window| TimeWindow {
            from: Some(window.from.map_or(start, |from| from.max(start))),
            to: Some(window.to.map_or(end, |to| to.min(end))),
        })
        .filter(|window| window.from <= window.to)
        .collect();
    if overlaps.is_empty() {
        let nothing = TimeWindow {
            from: Some(end + Duration::milliseconds(1)),
            to: Some(end),
        };
        return vec![nothing];
    }
    overlaps
}
