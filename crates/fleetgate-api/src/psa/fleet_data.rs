//! The fleet-wide collections: the status and the maintenance figures of every vehicle of
//! a fleet (`getFleetStatusList`, `getFleetMantenanceList`), and its vehicles' alerts
//! (`getFleetAlertList`, `getFleetAlertById`), trips (`getFleetTrips`) and collisions
//! (`getFleetTripCollisions`, `getCollisionsById`). Each is one SQL query over the fleet's
//! vehicles, paged in SQL.

use axum::extract::{Extension, Path, Request, State};
use axum::response::Response;
use fleetgate_core::vehicle::VehicleState;
use fleetgate_core::{DataScope, ErrorCode};
use fleetgate_store::vehicle_reads::{FleetReach, InFleet};
use fleetgate_store::Fleet;
use serde_json::Value;

use super::fleets;
use super::hal::Links;
use super::listing::{Listing, PAGE_SIZE};
use super::params::QueryParams;
use super::vehicles::VehicleRef;
use super::view::Seen;
use super::{events, filters, trips, vehicles};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

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

/// What every fleet-wide read starts with: the caller's fleet, the query, and what the
/// caller may see of the fleet's data.
struct FleetRead {
    fleet: Fleet,
    params: QueryParams,
    seen: Seen,
}

impl FleetRead {
    /// The fleet `fid` of the caller, read for data of `scopes` with the query string
    /// `query` (the request itself cannot be held across an await: its body is not `Sync`).
    async fn open(
        state: &AppState,
        caller: &Caller,
        fid: &str,
        query: Option<&str>,
        scopes: &[DataScope],
    ) -> Result<Self, ApiError> {
        let fleet = fleets::owned_fleet(state, caller, fid).await?;
        let params = QueryParams::parse(query);
        let seen = Seen::of_fleet(caller, &params, scopes)?;
        Ok(Self {
            fleet,
            params,
            seen,
        })
    }

    /// The vehicles of the fleet the read covers.
    fn reach(&self) -> FleetReach<'_> {
        self.seen.reach(&self.fleet.id)
    }

    /// The paging of a collection of the fleet.
    fn listing(
        &self,
        state: &AppState,
        caller: &Caller,
        request: &Request,
    ) -> Result<Listing, ApiError> {
        Listing::of_request(state, caller, request, &self.params, PAGE_SIZE)
    }

    /// The answer of one page of `/fleets/{fid}/{suffix}`: the records `found` (of `count`),
    /// each rendered by `render` (none leaves it out), under `_embedded.{name}`.
    #[allow(clippy::too_many_arguments)]
    fn page<'r, T, B: serde::Serialize>(
        &self,
        state: &AppState,
        caller: &Caller,
        request: &Request,
        listing: &Listing,
        (name, suffix): (&str, &str),
        (found, count): &'r (Vec<InFleet<T>>, u64),
        render: impl Fn(VehicleRef<'_>, &'r T, &Links<'_>) -> Option<B>,
    ) -> Response {
        let links = fleets::links(request, caller, &self.params);
        let items: Vec<B> = found
            .iter()
            .filter_map(|item| render(owner(&self.fleet, item), &item.record, &links))
            .collect();
        let path = format!("/fleets/{}/{suffix}", self.fleet.id);
        let envelope = listing.envelope(state, *count, &path, &links);
        self.seen
            .respond_page(request.headers(), envelope, name, &items)
    }

    /// The answer of one record, or 404 naming `what` when there is none.
    fn record<T>(
        &self,
        caller: &Caller,
        request: &Request,
        (what, id): (&str, &str),
        found: Option<InFleet<T>>,
        render: impl Fn(VehicleRef<'_>, &T, &Links<'_>) -> Value,
    ) -> Result<Response, ApiError> {
        let item = found.ok_or_else(|| not_found(what, id, &self.fleet))?;
        let links = fleets::links(request, caller, &self.params);
        let body = render(owner(&self.fleet, &item), &item.record, &links);
        Ok(self.seen.respond(request.headers(), body))
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
    let read = FleetRead::open(
        &state,
        &caller,
        &fid,
        request.uri().query(),
        &[DataScope::Telemetry],
    )
    .await?;
    let listing = read.listing(&state, &caller, &request)?;

    let (offset, limit) = listing.window();
    let found = state
        .store()
        .fleet_vehicle_states(read.reach(), false, offset, limit)
        .await?;

    let render = |vehicle: VehicleRef<'_>, record: &_, links: &Links<'_>| {
        Some(vehicles::status_body(vehicle, record, links))
    };
    let names = ("status", "status");
    Ok(read.page(&state, &caller, &request, &listing, names, &found, render))
}

/// `GET /fleets/{fid}/maintenances`: the last maintenance figures of every vehicle of the
/// fleet that sent some, by VIN.
pub async fn list_maintenances(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): FleetPath,
    request: Request,
) -> Result<Response, ApiError> {
    let read = FleetRead::open(
        &state,
        &caller,
        &fid,
        request.uri().query(),
        &[DataScope::Telemetry],
    )
    .await?;
    let listing = read.listing(&state, &caller, &request)?;

    let (offset, limit) = listing.window();
    let found = state
        .store()
        .fleet_vehicle_states(read.reach(), true, offset, limit)
        .await?;

    let render = |vehicle: VehicleRef<'_>, record: &VehicleState, links: &Links<'_>| {
        let figures = record.maintenance.as_ref()?;
        Some(vehicles::maintenance_body(
            vehicle,
            &record.vin,
            figures,
            links,
        ))
    };
    let names = ("maintenances", "maintenances");
    Ok(read.page(&state, &caller, &request, &listing, names, &found, render))
}

/// `GET /fleets/{fid}/alerts`: the alerts of the fleet's vehicles, newest first;
/// `timestamps` filters on the time they appeared.
pub async fn list_alerts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): FleetPath,
    request: Request,
) -> Result<Response, ApiError> {
    let read = FleetRead::open(
        &state,
        &caller,
        &fid,
        request.uri().query(),
        &[DataScope::Alert],
    )
    .await?;
    let windows = filters::timestamps(&read.params)?;
    let listing = read.listing(&state, &caller, &request)?;

    let (offset, limit) = listing.window();
    let found = state
        .store()
        .fleet_alerts_in(read.reach(), &windows, offset, limit)
        .await?;

    let render = |vehicle: VehicleRef<'_>, record: &_, links: &Links<'_>| {
        Some(events::alert_json(vehicle, record, links))
    };
    let names = ("alerts", "alerts");
    Ok(read.page(&state, &caller, &request, &listing, names, &found, render))
}

/// `GET /fleets/{fid}/alerts/{aid}`: one alert of one of the fleet's vehicles.
pub async fn alert(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, aid)): FleetRecordPath,
    request: Request,
) -> Result<Response, ApiError> {
    let read = FleetRead::open(
        &state,
        &caller,
        &fid,
        request.uri().query(),
        &[DataScope::Alert],
    )
    .await?;
    let found = state.store().fleet_alert(read.reach(), &aid).await?;
    read.record(
        &caller,
        &request,
        ("alert", &aid),
        found,
        events::alert_json,
    )
}

/// `GET /fleets/{fid}/trips`: the finished trips of the fleet's vehicles, latest first,
/// filtered like the trips of one vehicle.
pub async fn list_trips(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): FleetPath,
    request: Request,
) -> Result<Response, ApiError> {
    let read = FleetRead::open(
        &state,
        &caller,
        &fid,
        request.uri().query(),
        &[DataScope::Trip],
    )
    .await?;
    let query = trips::trip_query(&read.params)?;
    let listing = read.listing(&state, &caller, &request)?;

    let (offset, limit) = listing.window();
    let found = state
        .store()
        .fleet_trips_matching(read.reach(), &query, offset, limit)
        .await?;

    let names = ("trips", "trips");
    let render = |vehicle: VehicleRef<'_>, record, links: &Links<'_>| {
        Some(trips::trip_body(vehicle, record, links))
    };
    Ok(read.page(&state, &caller, &request, &listing, names, &found, render))
}

/// `GET /fleets/{fid}/collisions`: the collisions of the fleet's vehicles, newest first.
pub async fn list_collisions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): FleetPath,
    request: Request,
) -> Result<Response, ApiError> {
    let read = FleetRead::open(
        &state,
        &caller,
        &fid,
        request.uri().query(),
        &[DataScope::Collision],
    )
    .await?;
    let windows = filters::timestamps(&read.params)?;
    let listing = read.listing(&state, &caller, &request)?;

    let (offset, limit) = listing.window();
    let found = state
        .store()
        .fleet_collisions_in(read.reach(), &windows, offset, limit)
        .await?;

    let render = |vehicle: VehicleRef<'_>, record: &_, links: &Links<'_>| {
        Some(events::collision_json(vehicle, record, links))
    };
    // The spec names this collection's items `Collisions`, capitalised.
    let names = ("Collisions", "collisions");
    Ok(read.page(&state, &caller, &request, &listing, names, &found, render))
}

/// `GET /fleets/{fid}/collisions/{cid}`: one collision of one of the fleet's vehicles.
pub async fn collision(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid, cid)): FleetRecordPath,
    request: Request,
) -> Result<Response, ApiError> {
    let read = FleetRead::open(
        &state,
        &caller,
        &fid,
        request.uri().query(),
        &[DataScope::Collision],
    )
    .await?;
    let found = state.store().fleet_collision(read.reach(), &cid).await?;
    read.record(
        &caller,
        &request,
        ("collision", &cid),
        found,
        events::collision_json,
    )
}

fn not_found(what: &str, id: &str, fleet: &Fleet) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no {what} {id} for the vehicles of fleet {}", fleet.id),
    )
}
