//! `getTelemetry`: the telemetry samples a vehicle sent, newest first, as the spec's
//! `Telemetries`, with the `type` projection and the `location` and `maintenance`
//! extensions.

use axum::extract::{Extension, Path, Request, State};
use axum::response::Response;
use fleetgate_core::vehicle::message::Telemetry;
use fleetgate_core::vehicle::{Channel, MessageBody, VehicleMessage};
use fleetgate_store::vehicle_reads::TimeWindow;
use serde_json::{json, Map, Value};

use super::fleets;
use super::hal::Links;
use super::listing::{Listing, HIGH_FREQUENCY_PAGE_SIZE};
use super::params::QueryParams;
use super::vehicles::{Target, VehiclePath};
use super::view::Seen;
use super::{filters, render};
use crate::auth::Caller;
use crate::error::{timestamp, ApiError};
use crate::state::AppState;
use fleetgate_core::DataScope;

/// The `type` values whose parts telemetry samples carry.
const TELEMETRY_TYPES: [&str; 15] = [
    "environment",
    "privacy",
    "vehicle",
    "vehicle.adas",
    "vehicle.battery",
    "vehicle.doorsState",
    "vehicle.energies",
    "vehicle.engines",
    "vehicle.ignition",
    "vehicle.lighting",
    "vehicle.lightingSystem",
    "vehicle.safety",
    "vehicle.transmission",
    "vehicle.drivingBehavior",
    "vehicle.wipingBlades",
];

/// The parts of each sample a request wants: all of them without a `type`.
///
/// LIMITATION: `type` selects the parts rendered in each sample; samples that carry none
/// of them are still listed (with their time and links), so that paging stays in SQL.
struct Projection {
    types: Vec<String>,
    location: bool,
    maintenance: bool,
}

impl Projection {
    fn read(params: &QueryParams) -> Result<Self, ApiError> {
        let mut types = Vec::new();
        for value in params.list("type") {
            check_type(value)?;
            types.push(value.to_owned());
        }

        let (mut location, mut maintenance) = (false, false);
        for value in params.list("extension") {
            match value {
                "location" => location = true,
                "maintenance" => maintenance = true,
                other => {
                    return Err(ApiError::parameter(format!(
                        "extension '{other}' is not a telemetry extension: expected location \
                         and/or maintenance"
                    )))
                }
            }
        }
        Ok(Self {
            types,
            location,
            maintenance,
        })
    }

    /// Whether the part `name` (`privacy`, `vehicle.battery`...) is wanted.
    fn wants(&self, name: &str) -> bool {
        self.types.is_empty()
            || self
                .types
                .iter()
                .any(|t| t == name || (t == "vehicle" && name.starts_with("vehicle.")))
    }
}

fn check_type(value: &str) -> Result<(), ApiError> {
    if TELEMETRY_TYPES.contains(&value) {
        return Ok(());
    }
    if value.starts_with("vehicle.alarm.") {
        // LIMITATION: alarms arrive as events, not in telemetry samples.
        return Err(ApiError::parameter(format!(
            "type '{value}' is not supported in telemetry: alarms are listed by \
             getVehicleAlarms (.../alarms)"
        )));
    }
    Err(ApiError::parameter(format!(
        "type '{value}' is not a telemetry type: expected values such as vehicle, \
         vehicle.energies, privacy or environment"
    )))
}

/// `GET .../telemetry`: one page of the vehicle's telemetry samples, newest first,
/// measured within `timestamps`.
pub async fn list_telemetry(
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
    let query = TelemetryQuery::read(&state, &caller, &request, &params)?;
    let links = fleets::links(&request, &caller, &params);
    let path = format!("{}/telemetry", target.base());
    let page = TelemetryPage {
        target: &target,
        windows,
        path,
    };
    let body = page.read(&state, &query, &links).await?;
    Ok(seen.respond(request.headers(), body))
}

/// A page of telemetry to read: whose, measured when, and the collection's path.
pub struct TelemetryPage<'a> {
    /// The vehicle.
    pub target: &'a Target,
    /// The time windows of the samples (any time when empty).
    pub windows: Vec<TimeWindow>,
    /// The collection's path, for its links.
    pub path: String,
}

/// What a telemetry request asks for beyond its time: the projection and the page.
pub struct TelemetryQuery {
    projection: Projection,
    listing: Listing,
}

impl TelemetryQuery {
    /// Reads `profile`, `type`, `extension` and the paging parameters.
    pub fn read(
        state: &AppState,
        caller: &Caller,
        request: &Request,
        params: &QueryParams,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            projection: Projection::read(params)?,
            listing: Listing::of_request(state, caller, request, params, HIGH_FREQUENCY_PAGE_SIZE)?,
        })
    }
}

impl TelemetryPage<'_> {
    /// The `Telemetries` page that `query` asks for.
    pub async fn read(
        &self,
        state: &AppState,
        query: &TelemetryQuery,
        links: &Links<'_>,
    ) -> Result<Value, ApiError> {
        let target = self.target;
        let vin = &target.vehicle.vin;
        let window = query.listing.window();
        let (messages, count) = state
            .store()
            .vehicle_messages_in(vin, Channel::Telemetry, &self.windows, true, window)
            .await?;

        let items = messages
            .iter()
            .filter_map(|stored| stored.decode().ok())
            .map(|message| telemetry_json(target, &message, &query.projection, links))
            .collect();
        let listing = &query.listing;
        Ok(listing.body(state, "telemetries", items, count, &self.path, links))
    }
}

/// One sample as the spec's `Telemetry`; its `self` link selects its own time.
///
/// LIMITATION: the `trip` link is left out: finding the trip of each sample would cost a
/// query per sample.
fn telemetry_json(
    target: &Target,
    message: &VehicleMessage,
    projection: &Projection,
    links: &Links<'_>,
) -> Value {
    let at = timestamp(message.at);
    let path = format!("{}/telemetry", target.base());
    let mut link_map = target.links(links, &path);
    let interval = format!("{at}/{at}");
    let own = links.resource_with(&path, &[("timestamps", interval.as_str())]);
    link_map.insert("self".into(), own);

    let mut object = Map::new();
    object.insert("_links".into(), Value::Object(link_map));
    object.insert("createdAt".into(), json!(at));
    if let MessageBody::Telemetry(sample) = &message.body {
        add_parts(&mut object, sample, message, projection);
        add_extensions(&mut object, sample, message, projection);
    }
    Value::Object(object)
}

fn add_parts(
    object: &mut Map<String, Value>,
    sample: &Telemetry,
    message: &VehicleMessage,
    projection: &Projection,
) {
    if let Some(privacy) = sample.privacy.filter(|_| projection.wants("privacy")) {
        object.insert("privacy".into(), json!({ "state": privacy }));
    }
    if let Some(environment) = sample.status.get("environment") {
        if projection.wants("environment") {
            object.insert("environment".into(), environment.clone());
        }
    }

    let vehicle = vehicle_parts(sample, message, projection);
    if !vehicle.is_empty() {
        object.insert("vehicle".into(), Value::Object(vehicle));
    }
}

fn vehicle_parts(
    sample: &Telemetry,
    message: &VehicleMessage,
    projection: &Projection,
) -> Map<String, Value> {
    let at = json!(timestamp(message.at));
    let mut vehicle = Map::new();
    if !sample.energies.is_empty() && projection.wants("vehicle.energies") {
        let energies: Vec<Value> = sample.energies.iter().map(render::energy).collect();
        vehicle.insert("energies".into(), json!(energies));
    }
    if let Some(ignition) = sample
        .ignition
        .filter(|_| projection.wants("vehicle.ignition"))
    {
        vehicle.insert(
            "ignition".into(),
            json!({ "type": ignition, "createdAt": at }),
        );
    }
    // The odometer and the kinetic state have no `type` of their own: they come with
    // the whole vehicle.
    if let Some(mileage) = sample.odometer.filter(|_| projection.wants("vehicle")) {
        vehicle.insert("odometer".into(), json!({ "mileage": mileage }));
    }

    for (name, section) in &sample.status {
        let wanted = match name.as_str() {
            "environment" => false,
            "kinetic" => projection.wants("vehicle"),
            other => projection.wants(&format!("vehicle.{other}")),
        };
        if wanted {
            vehicle.insert(name.clone(), section_with_time(name, section, &at));
        }
    }
    vehicle
}

/// A section as sent; the spec's `WipingBladesState` carries its time.
fn section_with_time(name: &str, section: &Value, at: &Value) -> Value {
    let mut section = section.clone();
    if let (Value::Object(object), "wipingBlades") = (&mut section, name) {
        object.insert("createdAt".into(), at.clone());
    }
    section
}

fn add_extensions(
    object: &mut Map<String, Value>,
    sample: &Telemetry,
    message: &VehicleMessage,
    projection: &Projection,
) {
    let mut extension = Map::new();
    if let Some(fix) = sample.position.as_ref().filter(|_| projection.location) {
        let location = render::position_base(fix, &message.vin);
        extension.insert("location".into(), location);
    }
    if let Some(figures) = sample
        .maintenance
        .as_ref()
        .filter(|_| projection.maintenance)
    {
        let mut maintenance = json!({
            "vin": message.vin.as_str(),
            "createdAt": timestamp(message.at),
        });
        if let Some(days) = figures.days_before_maintenance {
            maintenance["daysBeforeMaintenance"] = json!(days);
        }
        if let Some(km) = figures.mileage_before_maintenance {
            maintenance["mileageBeforeMaintenance"] = json!(km);
        }
        extension.insert("maintenance".into(), maintenance);
    }
    if !extension.is_empty() {
        object.insert("_embedded".into(), json!({ "extension": extension }));
    }
}
