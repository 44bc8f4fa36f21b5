//! The PSA fleet-owner API v3 under `/connectedcar/{version}`: its operations, the HAL
//! representations, and the answer for operations not served yet.

mod fleets;
mod hal;
pub mod operations;
mod params;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware;
use axum::routing::get;
use axum::Router;
use fleetgate_core::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

/// The gateway routes; every one passes the authentication chain first.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/connectedcar/{version}/fleets", get(fleets::list_fleets))
        .route("/connectedcar/{version}/fleets/{fid}", get(fleets::fleet))
        .route(
            "/connectedcar/{version}/fleets/{fid}/vehicles",
            get(fleets::list_vehicles),
        )
        .fallback(unserved)
        .layer(middleware::from_fn_with_state(state, crate::auth::gateway))
}

/// A path of the specification not served yet answers 501 naming the operation; a path
/// outside the specification answers 404, a method it does not define for the path 405.
async fn unserved(request: Request) -> ApiError {
    let path = request.uri().path();
    let spec_path = path
        .split_once("/connectedcar/")
        .map(|(_, rest)| rest)
        .unwrap_or("");
    let spec_path = spec_path
        .split_once('/')
        .map(|(_, rest)| rest)
        .unwrap_or("");

    let matches = operations::matching(&format!("/{spec_path}"));
    if matches.is_empty() {
        return ApiError::new(ErrorCode::NotFound, format!("no resource at {path}"));
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
