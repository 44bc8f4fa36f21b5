//! Trips of a vehicle: `getTripsByVehicle`, `getFleetTripByVehicle` and `getPathForTrip`,
//! and the waypoints of a period that stolen periods share.

use axum::extract::{Extension, Path, Request, State};
use axum::response::Response;
use fleetgate_core::geo::{self, Point};
use fleetgate_core::vehicle::message::PositionFix;
use fleetgate_core::vehicle::state::Trip;
use fleetgate_core::vehicle::Channel;
use fleetgate_core::{ErrorCode, Vin};
use fleetgate_store::vehicle_reads::{TimeWindow, TripQuery};
use serde_json::Value;
use time::OffsetDateTime;

use super::filters;
use super::fleets;
use super::hal::Links;
use super::listing::{Listing, HIGH_FREQUENCY_PAGE_SIZE, PAGE_SIZE};
use super::params::QueryParams;
use super::render::{self, TripBody};
use super::vehicles::{Target, VehiclePath, VehicleRef};
use super::view::Seen;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use fleetgate_core::DataScope;

/// The path parameters of one trip: version, fleet, vehicle, trip.
type TripPath = Path<(String, String, String, String)>;

/// How many messages one read of a path takes.
const PATH_CHUNK: u32 = 2000;

/// The most messages a path is read from.
const MAX_PATH_MESSAGES: u64 = 200_000;

/// `GET .../trips`: the vehicle's finished trips, latest first, filtered by
/// `timestamps` (their start), `distance`, `duration` and `states`.
pub async fn list_trips(
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
        &[DataScope::Trip],
    )
    .await?;
    let query = trip_query(&params)?;
    let listing = Listing::of_request(&state, &caller, &request, &params, PAGE_SIZE)?;

    let (offset, limit) = listing.window();
    let (trips, count) = state
        .store()
        .vehicle_trips_matching(&target.vehicle.vin, &query, offset, limit)
        .await?;

    let links = fleets::links(&request, &caller, &params);
    let items: Vec<_> = trips
        .iter()
        .map(|trip| trip_body(target.reference(), trip, &links))
        .collect();
    let path = format!("{}/trips", target.base());
    let envelope = listing.envelope(&state, count, &path, &links);
    Ok(seen.respond_page(request.headers(), envelope, "trips", &items))
}

pub(super) fn trip_query(params: &QueryParams) -> Result<TripQuery, ApiError> {
    Ok(TripQuery {
        windows: filters::timestamps(params)?,
        distance: filters::distance(params)?,
        duration: filters::duration(params)?,
        states: filters::trip_states(params)?,
        done_only: true,
    })
}

/// `GET .../trips/{tid}`: one trip of the vehicle, finished or under way.
pub async fn trip(
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
        &[DataScope::Trip],
    )
    .await?;
    let trip = vehicle_trip(&state, &target, &tid).await?;

    let links = fleets::links(&request, &caller, &params);
    Ok(seen.respond(
        request.headers(),
        trip_json(target.reference(), &trip, &links),
    ))
}

/// The trip `tid` of the target vehicle; a trip of another vehicle is not found.
pub(super) async fn vehicle_trip(
    state: &AppState,
    target: &Target,
    tid: &str,
) -> Result<Trip, ApiError> {
    let trip = state.store().trip(tid).await?;
    trip.filter(|trip| trip.vin == target.vehicle.vin)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no trip {tid} for vehicle {}", target.vehicle.id),
            )
        })
}

/// The spec's `Trip` with its links: itself, its vehicle, waypoints, alerts and collisions.
pub(super) fn trip_json(vehicle: VehicleRef<'_>, trip: &Trip, links: &Links<'_>) -> Value {
    render::to_value(trip_body(vehicle, trip, links))
}

/// [`trip_json`], to be serialized straight into a page.
pub(super) fn trip_body<'a>(
    vehicle: VehicleRef<'_>,
    trip: &'a Trip,
    links: &Links<'_>,
) -> TripBody<'a> {
    let path = format!("{}/trips/{}", vehicle.base(), trip.id);
    let mut link_map = vehicle.links(links, &path);
    for (name, suffix) in [
        ("waypoints", "wayPoints"),
        ("alerts", "alerts"),
        ("collisions", "collisions"),
    ] {
        let href = links.resource(&format!("{path}/{suffix}"));
        link_map.insert(name.into(), href);
    }
    TripBody::new(trip, Some(link_map))
}

/// `GET .../trips/{tid}/wayPoints`: the positions of the trip's telemetry, oldest first,
/// optionally within `timestamps` and simplified with a `tolerance` in km.
pub async fn way_points(
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
        &[DataScope::Trip, DataScope::Position],
    )
    .await?;
    let query = PathQuery::read(&state, &caller, &request, &params)?;
    let links = fleets::links(&request, &caller, &params);
    let trip = vehicle_trip(&state, &target, &tid).await?;

    let period = TimeWindow {
        from: Some(trip.started_at),
        to: Some(trip.stopped_at.unwrap_or(trip.last_sample_at)),
    };
    let path = format!("{}/trips/{}/wayPoints", target.base(), trip.id);
    let body = path_page(&state, &query, &links, &target, period, &path).await?;
    Ok(seen.respond(request.headers(), body))
}

/// What a waypoints request asks for: the time filter, the simplification and the page.
pub struct PathQuery {
    windows: Vec<TimeWindow>,
    tolerance: Option<f64>,
    listing: Listing,
}

impl PathQuery {
    /// Reads `profile`, `timestamps`, `tolerance` and the paging parameters.
    pub fn read(
        state: &AppState,
        caller: &Caller,
        request: &Request,
        params: &QueryParams,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            windows: filters::timestamps(params)?,
            tolerance: filters::tolerance(params)?,
            listing: Listing::of_request(state, caller, request, params, HIGH_FREQUENCY_PAGE_SIZE)?,
        })
    }
}

/// The `WayPoints` page of the positions the vehicle sent during `period`, filtered,
/// simplified and paged as `query` asks.
pub async fn path_page(
    state: &AppState,
    query: &PathQuery,
    links: &Links<'_>,
    target: &Target,
    period: TimeWindow,
    path: &str,
) -> Result<Value, ApiError> {
    let vin = &target.vehicle.vin;
    let mut points = path_positions(state, vin, period).await?;
    let windows = &query.windows;
    points.retain(|(_, at)| windows.is_empty() || windows.iter().any(|w| contains(w, *at)));
    let points = simplified(points, query.tolerance);

    let (offset, limit) = query.listing.window();
    let items = points
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .map(|(fix, at)| render::position(fix, *at, vin))
        .collect();
    let count = points.len() as u64;
    Ok(query
        .listing
        .body(state, "positions", items, count, path, links))
}

/// The positions of the vehicle's telemetry during `period`, oldest first.
///
/// LIMITATION: the whole period is read (up to [`MAX_PATH_MESSAGES`] messages) for every
/// page, since a simplified path can only be computed whole.
async fn path_positions(
    state: &AppState,
    vin: &Vin,
    period: TimeWindow,
) -> Result<Vec<(PositionFix, OffsetDateTime)>, ApiError> {
    let mut points = Vec::new();
    let mut offset = 0;
    loop {
        let (messages, total) = state
            .store()
            .vehicle_messages_in(
                vin,
                Channel::Telemetry,
                &[period],
                false,
                (offset, PATH_CHUNK),
            )
            .await?;
        offset += messages.len() as u64;

        for stored in &messages {
            let Ok(message) = stored.decode() else {
                continue;
            };
            if let Some(fix) = message.position() {
                points.push((*fix, message.at));
            }
        }
        if messages.is_empty() || offset >= total.min(MAX_PATH_MESSAGES) {
            return Ok(points);
        }
    }
}

fn contains(window: &TimeWindow, at: OffsetDateTime) -> bool {
    window.from.is_none_or(|from| at >= from) && window.to.is_none_or(|to| at <= to)
}

/// The points Douglas-Peucker keeps with `tolerance` km; all of them without one.
fn simplified(
    points: Vec<(PositionFix, OffsetDateTime)>,
    tolerance: Option<f64>,
) -> Vec<(PositionFix, OffsetDateTime)> {
    let Some(tolerance) = tolerance else {
        return points;
    };
    let line: Vec<Point> = points
        .iter()
        .map(|(fix, _)| Point::new(fix.lon, fix.lat))
        .collect();
    let kept = geo::simplify_indices(&line, tolerance);
    kept.into_iter()
        .filter_map(|index| points.get(index).copied())
        .collect()
}
