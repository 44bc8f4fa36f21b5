//! fleetgate's HTTPS edge.
//!
//! One port serves two APIs over TLS: the partner onboarding API (`/onboarding/v1`, Basic
//! authentication, no client certificate needed) and the PSA fleet-owner API gateway
//! (`/connectedcar/{version}`, mutual TLS + Basic + `client_id`). The TLS layer
//! ([`tls`], [`server`]) turns the peer certificate into a [`server::PeerIdentity`]
//! once per connection; [`auth`] runs the authentication chain; [`psa`] and [`onboarding`]
//! hold the routes; [`error::ApiError`] owns the mapping of every failure to the reference's
//! error body.

pub mod auth;
pub mod error;
pub mod onboarding;
pub mod password;
pub mod psa;
pub mod rate_limit;
pub mod server;
pub mod state;
pub mod tls;

use axum::Router;

pub use state::AppState;

/// The whole router: onboarding, gateway, and a JSON 404 for anything else.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(onboarding::router())
        .merge(psa::router(state.clone()))
        .with_state(state)
}
