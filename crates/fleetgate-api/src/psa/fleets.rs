//! Fleets and their vehicles: `getFleets`, `getFleet`, `getVehiclesByDevice`.

use axum::extract::{Extension, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use fleetgate_core::paging::QueryFingerprint;
use fleetgate_core::{ErrorCode, FleetId, Page, PageRequest};
use fleetgate_store::{Fleet, Vehicle};
use serde_json::{json, Map, Value};

use super::hal::{self, Links};
use super::params::{self, QueryParams};
use crate::auth::Caller;
use crate::error::{timestamp, ApiError};
use crate::state::AppState;

/// The extensions `getVehiclesByDevice` can embed.
const VEHICLE_EXTENSIONS: [&str; 2] = ["branding", "pictures"];

/// `GET /fleets`: the caller's fleets, paged.
pub async fn list_fleets(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    request: Request,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(request.uri().query());
    let fingerprint = QueryFingerprint::of([caller.partner_id.as_str(), "fleets"]);
    let page_request = page_request(&state, &params, &fingerprint)?;

    let (fleets, total) = state
        .store()
        .fleets_of(&caller.partner_id, page_request.offset, page_request.size)
        .await?;

    let links = links(&request, &caller, &params);
    let items = fleets
        .iter()
        .map(|fleet| fleet_json(fleet, &links))
        .collect();
    let page = Page {
        items,
        total,
        request: page_request,
    };
    let body = hal::collection(
        "fleets",
        &page,
        "/fleets",
        &links,
        state.page_key(),
        &fingerprint,
    );
    Ok(hal_response(request.headers(), body))
}

/// `GET /fleets/{fid}`: one of the caller's fleets.
pub async fn fleet(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let fleet = owned_fleet(&state, &caller, &fid).await?;
    let params = QueryParams::parse(request.uri().query());

    let links = links(&request, &caller, &params);
    Ok(hal_response(request.headers(), fleet_json(&fleet, &links)))
}

/// `GET /fleets/{fid}/vehicles`: the vehicles of one of the caller's fleets, paged, with the
/// optional `vinPrefix` filter and `extension` embeds.
pub async fn list_vehicles(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_version, fid)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let fleet = owned_fleet(&state, &caller, &fid).await?;
    let params = QueryParams::parse(request.uri().query());
    let prefix = params::vin_prefix(&params)?;
    let extensions = vehicle_extensions(&params)?;
    params::locale(&params)?;

    let fingerprint = QueryFingerprint::of([
        caller.partner_id.as_str(),
        "vehicles",
        fleet.id.as_str(),
        prefix.as_deref().unwrap_or(""),
    ]);
    let page_request = page_request(&state, &params, &fingerprint)?;
    let (vehicles, total) = state
        .store()
        .vehicles_of_fleet(
            &fleet.id,
            prefix.as_deref(),
            page_request.offset,
            page_request.size,
        )
        .await?;

    let links = links(&request, &caller, &params);
    let items = vehicles
        .iter()
        .map(|vehicle| vehicle_json(vehicle, &fleet, &extensions, &links))
        .collect();
    let page = Page {
        items,
        total,
        request: page_request,
    };
    let path = format!("/fleets/{}/vehicles", fleet.id);
    let body = hal::collection(
        "vehicles",
        &page,
        &path,
        &links,
        state.page_key(),
        &fingerprint,
    );
    Ok(hal_response(request.headers(), body))
}

/// The fleet `fid` if the caller owns it; another partner's fleet is answered exactly like
/// a fleet that does not exist.
pub(super) async fn owned_fleet(
    state: &AppState,
    caller: &Caller,
    fid: &str,
) -> Result<Fleet, ApiError> {
    let not_found = || {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no fleet {fid} for {}", caller.login),
        )
    };

    let id = FleetId::parse(fid).map_err(|_| not_found())?;
    let fleet = match state.paths().fleets.get(&id) {
        Some(fleet) => fleet,
        None => {
            let fleet = state.store().fleet(&id).await?.ok_or_else(not_found)?;
            state.paths().fleets.insert(id, fleet.clone());
            fleet
        }
    };
    Some(fleet)
        .filter(|f| f.partner_id == caller.partner_id)
        .ok_or_else(not_found)
}

pub(super) fn page_request(
    state: &AppState,
    params: &QueryParams,
    fingerprint: &QueryFingerprint,
) -> Result<PageRequest, ApiError> {
    PageRequest::from_parameters(
        params.single("pageSize")?,
        params.single("pageToken")?,
        fleetgate_core::paging::DEFAULT_PAGE_SIZE,
        state.page_key(),
        fingerprint,
    )
    .map_err(|e| ApiError::parameter(e.to_string()))
}

fn vehicle_extensions(params: &QueryParams) -> Result<Vec<String>, ApiError> {
    let mut wanted: Vec<String> = Vec::new();
    for value in params.list("extension") {
        if !VEHICLE_EXTENSIONS.contains(&value) {
            return Err(ApiError::parameter(format!(
                "extension '{value}' is not known: expected branding and/or pictures"
            )));
        }
        if !wanted.iter().any(|w| w == value) {
            wanted.push(value.to_owned());
        }
    }
    Ok(wanted)
}

pub(super) fn links<'a>(
    request: &Request,
    caller: &'a Caller,
    params: &'a QueryParams,
) -> Links<'a> {
    let kept = params.kept_for_links();
    Links::new(
        request.uri(),
        request.headers(),
        caller.version.as_str(),
        kept,
        caller.client_id.as_str(),
    )
}

fn fleet_json(fleet: &Fleet, links: &Links<'_>) -> Value {
    let base = format!("/fleets/{}", fleet.id);
    let mut object = json!({
        "_links": {
            "self": links.resource(&base),
            "vehicles": links.resource(&format!("{base}/vehicles")),
        },
        "id": fleet.id.as_str(),
        "name": fleet.name,
        "createdAt": timestamp(fleet.created_at),
        "updatedAt": timestamp(fleet.updated_at),
    });
    if let Some(description) = &fleet.description {
        object["description"] = json!(description);
    }
    object
}

fn vehicle_json(
    vehicle: &Vehicle,
    fleet: &Fleet,
    extensions: &[String],
    links: &Links<'_>,
) -> Value {
    let base = format!("/fleets/{}/vehicles/{}", fleet.id, vehicle.id);
    let mut object = json!({
        "_links": {
            "self": links.resource(&base),
            "fleet": links.resource(&format!("/fleets/{}", fleet.id)),
        },
        "id": vehicle.id,
        "vin": vehicle.vin.as_str(),
        "createdAt": timestamp(vehicle.created_at),
        "updatedAt": timestamp(vehicle.updated_at),
    });
    if let Some(motorization) = &vehicle.motorization {
        object["motorization"] = json!(motorization);
    }

    let mut embedded = Map::new();
    let brand = vehicle
        .brand
        .clone()
        .or_else(|| brand_of_vin(vehicle.vin.as_str()));
    if let (true, Some(brand)) = (extensions.iter().any(|e| e == "branding"), brand) {
        embedded.insert("branding".into(), json!({ "brand": brand }));
    }
    // LIMITATION: no picture source exists yet, so the `pictures` extension embeds nothing.
    if !embedded.is_empty() {
        object["_embedded"] = json!({ "extension": embedded });
    }
    object
}

/// The brand of a VIN's world manufacturer identifier, for the makes of the group.
pub(super) fn brand_of_vin(vin: &str) -> Option<String> {
    let brand = match vin.get(..3)? {
        "VF3" | "VR3" => "Peugeot",
        "VF7" | "VR7" => "Citroen",
        "VR1" => "DS",
        "W0L" | "W0V" | "VXK" => "Opel",
        "ZFA" => "Fiat",
        "ZAR" => "Alfa Romeo",
        "1C4" | "ZAC" => "Jeep",
        _ => return None,
    };
    Some(brand.to_owned())
}

/// A HAL body with the media type the client asked for: `application/hal+json` unless it
/// accepts only `application/json`.
pub fn hal_response(request_headers: &HeaderMap, body: impl serde::Serialize) -> Response {
    let accept = request_headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = if accept.contains("application/json") && !accept.contains("hal+json") {
        "application/json"
    } else {
        "application/hal+json"
    };
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    response
}
