//! The PSA fleet-owner API v3 under `/connectedcar/{version}`: its operations, the HAL
//! representations, and the answer for operations not served yet.

mod capabilities;
mod events;
mod filters;
mod fleet_data;
mod fleets;
mod hal;
mod listing;
pub mod operations;
mod params;
mod render;
mod telemetry;
mod trip_data;
mod trips;
mod vehicles;
mod view;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware;
use axum::routing::get;
use axum::Router;
use fleetgate_core::{ApiVersion, ErrorCode};

use crate::error::ApiError;
use crate::state::AppState;

/// The path of one fleet, below which its collections are served.
const FLEET: &str = "/connectedcar/{version}/fleets/{fid}";

/// The path of one vehicle of a fleet, below which its data is served.
const VEHICLE: &str = "/connectedcar/{version}/fleets/{fid}/vehicles/{vid}";

/// The gateway routes; every one passes the authentication chain first.
pub fn router(state: AppState) -> Router<AppState> {
    let routes = Router::new()
        .route("/connectedcar/{version}/fleets", get(fleets::list_fleets))
        .route("/connectedcar/{version}/fleets/{fid}", get(fleets::fleet))
        .route(
            "/connectedcar/{version}/fleets/{fid}/vehicles",
            get(fleets::list_vehicles),
        )
        .route(
            "/connectedcar/{version}/vehicles/{vin}",
            get(capabilities::vehicle_capabilities),
        );
    let routes = fleet_routes(routes);
    vehicle_routes(routes)
        .fallback(unserved)
        .layer(middleware::from_fn_with_state(state, crate::auth::gateway))
}

/// The fleet-wide collections, below [`FLEET`].
fn fleet_routes(routes: Router<AppState>) -> Router<AppState> {
    let at = |suffix: &str| format!("{FLEET}{suffix}");
    routes
        .route(&at("/status"), get(fleet_data::list_status))
        .route(&at("/maintenances"), get(fleet_data::list_maintenances))
        .route(&at("/alerts"), get(fleet_data::list_alerts))
        .route(&at("/alerts/{aid}"), get(fleet_data::alert))
        .route(&at("/trips"), get(fleet_data::list_trips))
        .route(&at("/collisions"), get(fleet_data::list_collisions))
        .route(&at("/collisions/{cid}"), get(fleet_data::collision))
}

/// The per-vehicle operations, below [`VEHICLE`].
fn vehicle_routes(routes: Router<AppState>) -> Router<AppState> {
    let at = |suffix: &str| format!("{VEHICLE}{suffix}");
    routes
        .route(&at(""), get(vehicles::vehicle))
        .route(&at("/lastPosition"), get(vehicles::last_position))
        .route(&at("/status"), get(vehicles::status))
        .route(&at("/maintenance"), get(vehicles::maintenance))
        .route(&at("/trips"), get(trips::list_trips))
        .route(&at("/trips/{tid}"), get(trips::trip))
        .route(&at("/trips/{tid}/wayPoints"), get(trips::way_points))
        .route(&at("/trips/{tid}/alerts"), get(trip_data::list_alerts))
        .route(&at("/trips/{tid}/alerts/{aid}"), get(trip_data::alert))
        .route(
            &at("/trips/{tid}/collisions"),
            get(trip_data::list_collisions),
        )
        .route(
            &at("/trips/{tid}/telemetry"),
            get(trip_data::list_telemetry),
        )
        .route(&at("/telemetry"), get(telemetry::list_telemetry))
        .route(&at("/alerts"), get(events::list_alerts))
        .route(&at("/alerts/{aid}"), get(events::alert))
        .route(&at("/alarms"), get(events::list_alarms))
        .route(&at("/alarms/{aid}"), get(events::alarm))
        .route(&at("/collisions"), get(events::list_collisions))
        .route(&at("/collisions/{cid}"), get(events::collision))
        .route(&at("/stolen"), get(events::list_stolen))
        .route(&at("/stolen/{sid}"), get(events::stolen))
        .route(
            &at("/stolen/{sid}/waypoints"),
            get(events::stolen_way_points),
        )
}

/// A path of the specification not served yet answers 501 naming the operation; a path
/// outside the specification answers 404, a method it does not define for the path 405.
async fn unserved(request: Request) -> ApiError {
    let path = request.uri().path();
    let below_base = path
        .split_once("/connectedcar/")
        .map(|(_, rest)| rest)
        .unwrap_or("");
    let (version, spec_path) = below_base.split_once('/').unwrap_or((below_base, ""));

    let matches = operations::matching(&format!("/{spec_path}"));
    if matches.is_empty() {
        return ApiError::new(ErrorCode::NotFound, format!("no resource at {path}"));
    }
    if version == ApiVersion::V2.as_str() && matches.iter().any(|op| op.v3_only()) {
        return ApiError::new(
            ErrorCode::NotFound,
            format!(
                "no resource at {path}: monitors and remote actions are documented for v3 \
                 only; call /connectedcar/v3/{spec_path} with an application subscribed to v3"
            ),
        );
    }

    let method = request.method();
    let Some(operation) = matches.iter().find(|op| op.method == *method) else {
        let allowed: Vec<_> = matches.iter().map(|op| op.method.as_str()).collect();
        return ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!(
                "{method} is not defined for {path}; allowed: {}",
                allowed.join(", ")
            ),
        );
    };
    if method == Method::GET
        || method == Method::POST
        || method == Method::PUT
        || method == Method::DELETE
    {
        return ApiError::new(
            ErrorCode::NotImplemented,
            format!(
                "operation {} ({} {}) is part of the API but not served by this version of \
                 fleetgate yet; see docs/compatibility.md",
                operation.operation_id, operation.method, operation.path
            ),
        );
    }
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{method} is not supported"),
    )
}
