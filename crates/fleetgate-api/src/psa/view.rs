//! The data scope and the `profile` of a data request, applied to its answer.
//!
//! Each data operation names the data scopes it reads (`fleetgate_core::scope` says which
//! connected service grants which scope). A scope outside the caller's subscription is
//! refused with 403 naming it and the services that grant it. Positions are a scope of
//! their own: an answer that embeds some (an alert's start position, a status's last
//! position...) loses them when `data:position` is not granted. Under `profile=endUser`,
//! a vehicle whose privacy state is `Full` shows nothing (404) and one whose state is
//! `Geolocation` shows no position.

use axum::http::HeaderMap;
use axum::response::Response;
use fleetgate_core::scope::Hidden;
use fleetgate_core::vehicle::message::Privacy;
use fleetgate_core::{DataScope, ErrorCode, FleetId, Profile, View};
use fleetgate_store::vehicle_reads::FleetReach;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::fleets::hal_response;
#[cfg(doc)]
use super::listing::Listing;
use super::listing::RawPage;
use super::params::QueryParams;
use super::render;
use super::vehicles::Target;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The members that hold a position in the spec's representations.
const POSITION_MEMBERS: [&str; 6] = [
    "lastPosition",
    "startPosition",
    "stopPosition",
    "endPosition",
    "position",
    "location",
];

/// What one data request may see.
#[derive(Debug, Clone)]
pub struct Seen {
    view: View,
    privacy: Option<Privacy>,
}

impl Seen {
    /// A fleet-wide request reading `scopes`. Under `endUser` the vehicles whose privacy
    /// is `Full` are left out by [`Seen::reach`].
    // LIMITATION: fleet-wide answers under `endUser` keep the positions recorded before a
    // vehicle turned its privacy to `Geolocation`; per-vehicle answers drop them.
    pub fn of_fleet(
        caller: &Caller,
        params: &QueryParams,
        scopes: &[DataScope],
    ) -> Result<Self, ApiError> {
        let view = View::new(caller.services.clone(), profile(params)?);
        for &scope in scopes {
            view.check(scope, None)
                .map_err(|why| hidden(why, caller, None))?;
        }
        Ok(Self {
            view,
            privacy: None,
        })
    }

    /// A request reading `scopes` of the vehicle `target`; under `endUser`, its current
    /// privacy state decides too.
    async fn of_vehicle(
        state: &AppState,
        caller: &Caller,
        params: &QueryParams,
        target: &Target,
        scopes: &[DataScope],
    ) -> Result<Self, ApiError> {
        let mut seen = Self::of_fleet(caller, params, scopes)?;
        if seen.view.profile() == Profile::Fleet {
            return Ok(seen);
        }

        let vehicle_state = state.vehicle_state(&target.vehicle.vin).await?;
        seen.privacy =
            vehicle_state.and_then(|held| held.privacy.as_ref().map(|privacy| privacy.value));
        for &scope in scopes {
            let vin = target.vehicle.vin.as_str();
            seen.view
                .check(scope, seen.privacy)
                .map_err(|why| hidden(why, caller, Some(vin)))?;
        }
        Ok(seen)
    }

    /// What every per-vehicle read starts with: the vehicle `vid` of the caller's fleet
    /// `fid`, the query string `query`, and what the caller may see of its data of
    /// `scopes`. Takes the query, not the request, whose body cannot be held across an
    /// await.
    pub async fn open_vehicle(
        state: &AppState,
        caller: &Caller,
        (fid, vid): (&str, &str),
        query: Option<&str>,
        scopes: &[DataScope],
    ) -> Result<(Target, QueryParams, Self), ApiError> {
        let target = Target::resolve(state, caller, fid, vid).await?;
        let params = QueryParams::parse(query);
        let seen = Self::of_vehicle(state, caller, &params, &target, scopes).await?;
        Ok((target, params, seen))
    }

    /// The vehicles of `fleet` a fleet-wide read covers.
    pub fn reach<'a>(&self, fleet: &'a FleetId) -> FleetReach<'a> {
        FleetReach {
            fleet,
            without_full_privacy: self.view.profile() == Profile::EndUser,
        }
    }

    /// The HAL answer of `body`, without its positions when they are not to be seen.
    pub fn respond(&self, headers: &HeaderMap, mut body: Value) -> Response {
        if !self.view.shows_positions(self.privacy) {
            scrub_positions(&mut body);
        }
        hal_response(headers, body)
    }

    /// The HAL answer of a page: `envelope` (from [`Listing::envelope`]) with `items` under
    /// `_embedded.{name}`. When every position may be seen, the items are serialized
    /// straight into the answer; otherwise they go through [`Seen::respond`].
    pub fn respond_page<T: Serialize>(
        &self,
        headers: &HeaderMap,
        mut envelope: Map<String, Value>,
        name: &str,
        items: &[T],
    ) -> Response {
        if !self.view.shows_positions(self.privacy) {
            let items: Vec<Value> = items.iter().map(render::to_value).collect();
            envelope.insert("_embedded".into(), json!({ name: items }));
            return self.respond(headers, Value::Object(envelope));
        }

        let page = RawPage {
            envelope: &envelope,
            name,
            items,
        };
        hal_response(headers, page)
    }
}

/// `profile`: `fleet` (the default) or `endUser`.
fn profile(params: &QueryParams) -> Result<Profile, ApiError> {
    let Some(value) = params.single("profile")? else {
        return Ok(Profile::Fleet);
    };
    Profile::parse(value).ok_or_else(|| {
        ApiError::parameter(format!(
            "profile '{value}' is not a profile: expected fleet or endUser"
        ))
    })
}

/// The answer to data that is not to be seen: 403 outside the subscription's scope, 404
/// when the end user's privacy hides it.
fn hidden(why: Hidden, caller: &Caller, vin: Option<&str>) -> ApiError {
    let vehicle = vin.map_or_else(|| "the vehicle".to_owned(), |vin| format!("vehicle {vin}"));
    match why {
        Hidden::OutOfScope(scope) => {
            let services: Vec<_> = caller.services.iter().map(|s| s.as_str()).collect();
            let granting: Vec<_> = scope.granted_by().iter().map(|s| s.as_str()).collect();
            ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "{scope} is outside the data scope of application {} (services: {}); \
                     it is granted by {}",
                    caller.client_id,
                    services.join(", "),
                    granting.join(", ")
                ),
            )
        }
        Hidden::Private(Privacy::Geolocation) => ApiError::new(
            ErrorCode::NoData,
            format!(
                "{vehicle} does not share its position (privacy state Geolocation): \
                 profile endUser shows none"
            ),
        ),
        Hidden::Private(_) => ApiError::new(
            ErrorCode::NoData,
            format!(
                "{vehicle} shares no data (privacy state Full): profile endUser shows \
                 nothing of it"
            ),
        ),
    }
}

/// Removes every member that holds a position, at any depth.
fn scrub_positions(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for member in POSITION_MEMBERS {
                object.remove(member);
            }
            object.values_mut().for_each(scrub_positions);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_positions),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn positions_are_scrubbed_at_every_depth_and_nothing_else() {
        let mut body = json!({
            "_embedded": { "alerts": [
                { "id": "a1", "startPosition": {"type": "Feature"}, "severity": "Warning" },
                { "id": "a2", "endPosition": {"type": "Feature"} },
            ]},
            "lastPosition": {"type": "Feature"},
            "extension": { "location": {}, "maintenance": {"days": 3} },
            "total": 2,
        });
        scrub_positions(&mut body);
        assert_eq!(
            body,
            json!({
                "_embedded": { "alerts": [
                    { "id": "a1", "severity": "Warning" },
                    { "id": "a2" },
                ]},
                "extension": { "maintenance": {"days": 3} },
                "total": 2,
            })
        );
    }
}
