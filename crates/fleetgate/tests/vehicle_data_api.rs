//! The per-vehicle data operations over real mutual TLS: vehicle data is put in through the
//! store's ingestion (the vehicle channel's path, without MQTT), then a partner reads the
//! vehicle, its last position, status, maintenance, trips and their waypoints, telemetry,
//! alerts, alarms, collisions and stolen periods. Every body is checked against the schema
//! of the operation's 200 response in the official specification, links are followed,
//! collections are paged to their end, and bad parameters or another partner's requests
//! are refused.

mod support;

use fleetgate_core::vehicle::{Channel, VehicleMessage};
use fleetgate_core::Vin;
use fleetgate_store::{InboundMessage, Store};
use serde_json::{json, Value};
use support::{require_tools, schema, ClientCertificate, Partner, Request, Server, TestEnv};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// How many trips the busy vehicle made.
const TRIPS: usize = 200;

/// Telemetry samples of each trip: ignition on, two moving, ignition off.
const SAMPLES_PER_TRIP: usize = 4;

/// Minutes between the starts of two trips.
const TRIP_SPACING_MINUTES: i64 = 10;

/// Paris, Place de la Concorde.
const START: (f64, f64) = (2.3212, 48.8656);

/// A platform with a partner whose first vehicle has sent [`TRIPS`] trips and events, whose
/// second vehicle has sent nothing, and a second partner.
struct DataEnv {
    server: Server,
    partner: Partner,
    certificate: ClientCertificate,
    other: Partner,
    other_certificate: ClientCertificate,
    /// The time of the first sample.
    first_at: OffsetDateTime,
    _env: TestEnv,
}

impl DataEnv {
    fn start() -> Option<Self> {
        if !require_tools(&["openssl", "curl"]) {
            return None;
        }
        let env = TestEnv::new();
        let partner = env.partner();
        let other = env.partner();
        let first_at = ingest_history(&env, &partner.vins[0]);

        let server = env.serve();
        let certificate = partner.enroll(&env, &server);
        let other_certificate = other.enroll(&env, &server);
        Some(Self {
            server,
            partner,
            certificate,
            other,
            other_certificate,
            first_at,
            _env: env,
        })
    }

    /// The path of vehicle `index` of the partner's fleet, by its id as listed.
    fn vehicle_path(&self, index: usize) -> String {
        let fleet = format!("/fleets/{}/vehicles", self.partner.fleet_id());
        let listed = self.get(&fleet).expect_json(200);
        let vin = &self.partner.vins[index];
        let vehicle = listed["_embedded"]["vehicles"]
            .as_array()
            .expect("vehicles")
            .iter()
            .find(|vehicle| vehicle["vin"] == vin.as_str())
            .unwrap_or_else(|| panic!("{vin} is not listed: {listed}"))
            .clone();
        let id = vehicle["id"].as_str().expect("id");
        format!("{fleet}/{id}")
    }

    /// A gateway call of `path` below `/connectedcar/v3` by the partner.
    fn get(&self, path: &str) -> support::Reply {
        self.partner
            .call(&self.server, &self.certificate.auth(), path)
            .send()
    }

    /// The same call by the other partner.
    fn get_as_other(&self, path: &str) -> support::Reply {
        self.other
            .call(&self.server, &self.other_certificate.auth(), path)
            .send()
    }

    /// A 200 JSON body of `path`, valid against `schema_name`.
    fn valid(&self, path: &str, schema_name: &str) -> Value {
        let body = self.get(path).expect_json(200);
        schema::assert_valid(schema_name, &body);
        body
    }

    /// Follows a HAL link with the partner's certificate and credentials.
    fn follow(&self, link: &Value) -> Value {
        let href = link["href"]
            .as_str()
            .unwrap_or_else(|| panic!("a link without href: {link}"));
        assert!(
            href.starts_with(&self.server.origin()),
            "not absolute: {href}"
        );
        Request::to_url(&self.server, href)
            .client(&self.certificate.auth())
            .basic(&self.partner.login, &self.partner.password)
            .send()
            .expect_json(200)
    }

    /// Reads a collection from `path` by following `next` to its end, checking every
    /// page against `schema_name` and its paging fields; returns the items.
    fn walk(&self, path: &str, schema_name: &str, name: &str, page_size: usize) -> Vec<Value> {
        let first = self.valid(path, schema_name);
        schema::walk_pages(first, schema_name, name, page_size, |link| {
            self.follow(link)
        })
    }
}

/// Puts the busy vehicle's history in the data dir's database, as the vehicle channel
/// would; returns the time of its first sample.
fn ingest_history(env: &TestEnv, vin: &str) -> OffsetDateTime {
    let vin = Vin::parse(vin).expect("a valid VIN");
    let now = OffsetDateTime::now_utc();
    let first_at = now - Duration::minutes(TRIP_SPACING_MINUTES * TRIPS as i64 + 30);

    let mut messages = Vec::new();
    for trip in 0..TRIPS {
        let start = first_at + Duration::minutes(TRIP_SPACING_MINUTES * trip as i64);
        messages.extend(trip_messages(trip, start));
    }
    let end = first_at + Duration::minutes(TRIP_SPACING_MINUTES * TRIPS as i64);
    messages.extend(events(end));

    let inbound: Vec<InboundMessage> = messages
        .iter()
        .map(|(channel, payload)| inbound(&vin, *channel, payload, now))
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let store = Store::open(&database_url(env))
            .await
            .expect("open the store");
        for batch in inbound.chunks(250) {
            store.ingest(batch).await.expect("ingest");
        }
        store.close().await;
    });
    first_at
}

/// The URL of the data dir's database, from its `fleetgate.toml`.
fn database_url(env: &TestEnv) -> String {
    let config = std::fs::read_to_string(env.data_dir().join("fleetgate.toml")).expect("config");
    config
        .lines()
        .find_map(|line| line.strip_prefix("database_url = "))
        .map(|value| value.trim_matches('"').to_owned())
        .expect("database_url in fleetgate.toml")
}

fn inbound(vin: &Vin, channel: Channel, payload: &Value, now: OffsetDateTime) -> InboundMessage {
    let text = payload.to_string();
    let message = VehicleMessage::parse(vin, channel, text.as_bytes(), now)
        .unwrap_or_else(|error| panic!("invalid test message {text}: {error}"));
    InboundMessage {
        message,
        payload: text,
        received_at: now,
    }
}

fn at(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).expect("formats")
}

/// Trip `index`: ignition on, two samples eastwards a minute apart, ignition off.
fn trip_messages(index: usize, start: OffsetDateTime) -> Vec<(Channel, Value)> {
    let odometer = 1000.0 + 2.0 * index as f64;
    (0..SAMPLES_PER_TRIP)
        .map(|step| {
            let ignition = if step + 1 == SAMPLES_PER_TRIP {
                "Stop"
            } else {
                "Start"
            };
            let speed = if step == 0 || step + 1 == SAMPLES_PER_TRIP {
                0.0
            } else {
                48.0
            };
            let lon = START.0 + 0.005 * step as f64;
            let lat = START.1 + if step == 1 { 0.00001 } else { 0.0 };
            let mut sample = json!({
                "v": 1,
                "id": format!("t{index}-{step}"),
                "at": at(start + Duration::minutes(step as i64)),
                "position": {"lon": lon, "lat": lat, "heading": 90, "speed": speed,
                             "type": "Acquire", "fixStatus": "3D", "alt": 35.0},
                "ignition": ignition,
                "odometer": odometer + 0.6 * step as f64,
                "energies": [{"type": "Fuel", "subType": "FossilEnergy",
                              "level": 80.0 - step as f64, "autonomy": 600,
                              "consumption": 5000.0 + 10.0 * index as f64 + step as f64}],
                "privacy": "None",
                "maintenance": {"daysBeforeMaintenance": 120, "mileageBeforeMaintenance": 8000.0},
                "status": {"battery": {"voltage": 87.0},
                           "doorsState": {"lockedStates": ["Locked"]}},
            });
            if step == 1 && index + 1 == TRIPS {
                sample["status"]["environment"] = json!({"air": {"temp": 12.5}});
            }
            (Channel::Telemetry, sample)
        })
        .collect()
}

/// Events after the last trip: an alert raised and ended, one still active, the alarm
/// armed then set off, a collision, a theft and its recovery.
fn events(from: OffsetDateTime) -> Vec<(Channel, Value)> {
    let event = |id: &str, minute: i64, body: Value| {
        let time = at(from + Duration::minutes(minute));
        (
            Channel::Events,
            json!({"v": 1, "id": id, "at": time, "event": body}),
        )
    };
    vec![
        event(
            "e-alert-1",
            1,
            json!({"type": "alert", "alert": "AddWasherFluid",
                                     "severity": "Information", "active": true}),
        ),
        event(
            "e-alert-2",
            2,
            json!({"type": "alert", "alert": "AddWasherFluid",
                                     "severity": "Information", "active": false}),
        ),
        event(
            "e-alert-3",
            3,
            json!({"type": "alert", "alert": "AdBlueFault",
                                     "severity": "Warning", "active": true}),
        ),
        event(
            "e-alarm-1",
            4,
            json!({"type": "alarm", "activation": "Active"}),
        ),
        event(
            "e-alarm-2",
            5,
            json!({"type": "alarm", "activation": "Active",
                                     "trigger": "VolumetricBreakIn"}),
        ),
        event(
            "e-crash",
            6,
            json!({"type": "collision", "tippedOver": false,
                                   "details": [{"side": "Front", "severity": "Minor"}]}),
        ),
        event("e-theft-1", 7, json!({"type": "theft", "stolen": true})),
        event(
            "e-theft-2",
            9,
            json!({"type": "theft", "stolen": false,
                                     "position": {"lon": 2.4, "lat": 48.9}}),
        ),
    ]
}

#[test]
fn a_vehicle_its_last_position_status_and_maintenance_are_valid_documents() {
    let Some(data) = DataEnv::start() else {
        return;
    };
    let base = data.vehicle_path(0);

    let vehicle = data.valid(&format!("{base}?extension=branding"), "Vehicle");
    assert_eq!(vehicle["vin"], data.partner.vins[0].as_str());
    for name in [
        "self",
        "fleet",
        "status",
        "lastPosition",
        "trips",
        "telemetry",
    ] {
        data.follow(&vehicle["_links"][name]);
    }

    let reply = data.get(&format!("{base}/lastPosition"));
    assert_eq!(reply.content_type, "application/vnd.geo+json");
    let position = reply.expect_json(200);
    schema::assert_valid("Position", &position);
    let lon = position["geometry"]["coordinates"][0]
        .as_f64()
        .expect("lon");
    // The recovery of the stolen vehicle reported the last position.
    assert!((lon - 2.4).abs() < 1e-9, "{position}");
    assert_eq!(data.follow(&position["_links"]["self"]), position);

    let status = data.valid(&format!("{base}/status"), "Status");
    assert_eq!(status["ignition"]["type"], "Stop", "{status}");
    assert_eq!(status["battery"]["voltage"], 87.0, "{status}");
    assert_eq!(
        status["alarm"]["trigger"]["type"], "VolumetricBreakIn",
        "{status}"
    );
    assert!(status["energies"][0]["createdAt"].is_string(), "{status}");
    assert!(
        status.get("stolen").is_none(),
        "recovered, not stolen: {status}"
    );
    data.follow(&status["_links"]["vehicle"]);

    let maintenance = data.valid(&format!("{base}/maintenance"), "Maintenance");
    assert_eq!(maintenance["daysBeforeMaintenance"], 120);
}

#[test]
fn no_data_other_partners_and_bad_parameters_are_refused_precisely() {
    let Some(data) = DataEnv::start() else {
        return;
    };
    let busy = data.vehicle_path(0);
    let silent = data.vehicle_path(1);

    for resource in ["status", "lastPosition", "maintenance"] {
        data.get(&format!("{silent}/{resource}"))
            .expect_error(404, 40499);
    }
    let empty = data.valid(&format!("{silent}/trips"), "Trips");
    assert_eq!(empty["total"], 0);

    for resource in ["", "/status", "/trips", "/telemetry", "/alerts", "/stolen"] {
        data.get_as_other(&format!("{busy}{resource}"))
            .expect_error(404, 40400);
    }
    let other_fleet = format!(
        "/fleets/{}/vehicles/{}",
        data.other.fleet_id(),
        data.partner.vins[0]
    );
    data.get_as_other(&format!("{other_fleet}/status"))
        .expect_error(404, 40400);
    data.get(&format!("{busy}/trips/nosuchtrip"))
        .expect_error(404, 40400);

    let refusals = [
        ("/trips?pageSize=61", "pageSize"),
        ("/trips?pageSize=0", "pageSize"),
        ("/telemetry?pageSize=2001", "pageSize"),
        ("/trips?timestamps=yesterday", "timestamps"),
        (
            "/trips?timestamps=R0/2026-01-01T00:00:00Z/PT55M",
            "timestamps",
        ),
        ("/trips?states=Broken", "states"),
        ("/trips?distance=abc", "distance"),
        ("/alerts?indexRange=9-2", "indexRange"),
        ("/status?profile=owner", "profile"),
        ("/telemetry?type=vehicle.alarm.status", "type"),
    ];
    for (query, parameter) in refusals {
        let message = data.get(&format!("{busy}{query}")).expect_error(400, 40001);
        assert!(message.starts_with(parameter), "{query}: {message}");
    }
    let trips = data.valid(&format!("{busy}/trips?pageSize=1"), "Trips");
    let trip = trips["_embedded"]["trips"][0]["id"]
        .as_str()
        .expect("trip id");
    for tolerance in ["abc", "-1"] {
        let path = format!("{busy}/trips/{trip}/wayPoints?tolerance={tolerance}");
        let message = data.get(&path).expect_error(400, 40001);
        assert!(message.starts_with("tolerance"), "{message}");
    }
}

#[test]
fn every_trip_is_read_by_following_next_and_each_trip_and_its_waypoints_are_valid() {
    let Some(data) = DataEnv::start() else {
        return;
    };
    let base = data.vehicle_path(0);

    let trips = data.walk(&format!("{base}/trips?pageSize=60"), "Trips", "trips", 60);
    assert_eq!(trips.len(), TRIPS);
    let mut ids: Vec<_> = trips.iter().map(|trip| trip["id"].clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), TRIPS, "a trip was listed twice");

    let latest = &trips[0];
    schema::assert_valid("Trip", latest);
    assert_eq!(latest["done"], true, "{latest}");
    assert_eq!(latest["duration"], 180, "{latest}");
    assert!(
        (latest["distance"].as_f64().unwrap() - 1.8).abs() < 1e-6,
        "{latest}"
    );
    assert_eq!(latest["kinetic"]["maxSpeed"], 48.0, "{latest}");
    assert_eq!(
        latest["energyConsumptions"][0]["consumption"], 3.0,
        "{latest}"
    );
    let again = data.follow(&latest["_links"]["self"]);
    schema::assert_valid("Trip", &again);
    assert_eq!(again["id"], latest["id"]);

    let waypoints = data.follow(&latest["_links"]["waypoints"]);
    schema::assert_valid("WayPoints", &waypoints);
    assert_eq!(waypoints["total"], SAMPLES_PER_TRIP, "{waypoints}");
    let simplified_path = format!(
        "{base}/trips/{}/wayPoints?tolerance=0.01",
        latest["id"].as_str().unwrap()
    );
    let simplified = data.valid(&simplified_path, "WayPoints");
    assert_eq!(
        simplified["total"], 2,
        "a straight line keeps its ends: {simplified}"
    );

    let first_hour = format!(
        "{base}/trips?timestamps={}/PT55M",
        at(data.first_at).replace('+', "%2B")
    );
    let early = data.valid(&first_hour, "Trips");
    assert_eq!(
        early["total"], 6,
        "trips starting in the first hour: {early}"
    );
    let nominal = data.valid(
        &format!("{base}/trips?states=Nominal&distance=1.0-"),
        "Trips",
    );
    assert_eq!(nominal["total"], TRIPS);
    let ranged = data.valid(
        &format!("{base}/trips?indexRange=10-19&pageSize=4"),
        "Trips",
    );
    assert_eq!(
        (ranged["total"].clone(), ranged["totalPage"].clone()),
        (json!(10), json!(3))
    );
}

#[test]
fn telemetry_is_paged_to_its_end_with_high_frequency_pages_and_projected_by_type() {
    let Some(data) = DataEnv::start() else {
        return;
    };
    let base = data.vehicle_path(0);
    let samples = TRIPS * SAMPLES_PER_TRIP;

    let path = format!("{base}/telemetry?pageSize=250&extension=location");
    let items = data.walk(&path, "Telemetries", "telemetries", 250);
    assert_eq!(items.len(), samples);
    assert!(items[0]["_embedded"]["extension"]["location"]["geometry"].is_object());
    let first = &items[0];
    assert!(first["vehicle"]["energies"].is_array(), "{first}");
    let own = data.follow(&first["_links"]["self"]);
    schema::assert_valid("Telemetries", &own);
    assert_eq!(
        own["_embedded"]["telemetries"][0]["createdAt"],
        first["createdAt"]
    );

    let whole = data.valid(&format!("{base}/telemetry?pageSize=2000"), "Telemetries");
    assert_eq!(
        whole["_embedded"]["telemetries"].as_array().unwrap().len(),
        samples
    );

    let battery = data.valid(
        &format!("{base}/telemetry?type=vehicle.battery&extension=maintenance&pageSize=5"),
        "Telemetries",
    );
    let item = &battery["_embedded"]["telemetries"][0];
    assert!(item["vehicle"]["battery"].is_object(), "{item}");
    assert!(item["vehicle"].get("energies").is_none(), "{item}");
    assert!(item.get("privacy").is_none(), "{item}");
    assert_eq!(
        item["_embedded"]["extension"]["maintenance"]["daysBeforeMaintenance"],
        120
    );
}

#[test]
fn alerts_alarms_collisions_and_stolen_periods_are_listed_and_found_by_id() {
    let Some(data) = DataEnv::start() else {
        return;
    };
    let base = data.vehicle_path(0);

    let alerts = data.valid(&format!("{base}/alerts"), "Alerts");
    assert_eq!(alerts["total"], 2, "{alerts}");
    let active: Vec<_> = alerts["_embedded"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| alert["active"].clone())
        .collect();
    assert_eq!(active, [json!(true), json!(false)]);
    let alert = data.follow(&alerts["_embedded"]["alerts"][1]["_links"]["self"]);
    schema::assert_valid("Alert", &alert);
    assert!(alert["endAt"].is_string(), "{alert}");

    let alarms = data.valid(&format!("{base}/alarms"), "Alarms");
    assert_eq!(alarms["total"], 2, "{alarms}");
    let triggers = data.valid(
        &format!("{base}/alarms?type=vehicle.alarm.trigger"),
        "Alarms",
    );
    assert_eq!(triggers["total"], 1, "{triggers}");
    let alarm = data.follow(&triggers["_embedded"]["alarms"][0]["_links"]["self"]);
    schema::assert_valid("AlarmDetails", &alarm);
    assert_eq!(alarm["trigger"]["type"], "VolumetricBreakIn");

    let collisions = data.valid(&format!("{base}/collisions"), "Collisions");
    assert_eq!(collisions["total"], 1, "{collisions}");
    let collision = data.follow(&collisions["_embedded"]["Collisions"][0]["_links"]["self"]);
    schema::assert_valid("Collision", &collision);
    assert_eq!(collision["details"][0]["side"], "Front");

    let stolen = data.valid(&format!("{base}/stolen"), "StolenCollection");
    assert_eq!(stolen["total"], 1, "{stolen}");
    let period = data.follow(&stolen["_embedded"]["stolen"][0]["_links"]["self"]);
    schema::assert_valid("Stolen", &period);
    assert_eq!(period["state"], false, "recovered: {period}");
    assert!(period["endPosition"]["geometry"].is_object(), "{period}");
    let waypoints = data.follow(&period["_links"]["waypoints"]);
    schema::assert_valid("WayPoints", &waypoints);
    assert_eq!(
        waypoints["total"], 0,
        "no telemetry while stolen: {waypoints}"
    );

    data.get(&format!("{base}/alerts/nosuchalert"))
        .expect_error(404, 40400);
}
