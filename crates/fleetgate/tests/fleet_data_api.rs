//! The fleet-wide collections, the capabilities of a vehicle and the records of one trip,
//! over real mutual TLS: vehicle history is ingested through the store, then the partner
//! reads it fleet-wide and trip by trip. Every body is validated against the schema of the
//! operation's 200 response in the official specification; collections are walked to
//! their end by following `next`.

mod fixture;
mod support;

use fixture::{Fixture, SAMPLES_PER_TRIP};
use serde_json::{json, Value};
use support::schema;

/// Trips of the first and second vehicles of the fleet; the third sends nothing.
const TRIPS: [usize; 2] = [150, 100];

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Trips enough for a fleet-wide collection of thousands of items.
const MANY_TRIPS: [usize; 2] = [1500, 600];

#[test]
fn fleet_trips_status_and_maintenances_are_paged_to_their_end() {
    let Some(data) = Fixture::start(&MANY_TRIPS) else {
        return;
    };
    let fleet = data.fleet();

    let path = format!("{fleet}/trips?pageSize=60");
    let trips = data.walk(&path, "Trips", "trips", 60);
    assert_eq!(trips.len(), MANY_TRIPS.iter().sum::<usize>());
    let mut unique = ids(&trips);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), trips.len(), "a trip was listed twice");
    let starts: Vec<&str> = trips
        .iter()
        .map(|t| t["startedAt"].as_str().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|pair| pair[0] >= pair[1]),
        "latest first"
    );
    let latest = data.follow(&trips[0]["_links"]["self"]);
    schema::assert_valid("Trip", &latest);
    for name in ["alerts", "collisions", "waypoints", "vehicle"] {
        data.follow(&latest["_links"][name]);
    }

    let ranged = data.valid(
        &format!("{fleet}/trips?indexRange=0-9&distance=1.0-"),
        "Trips",
    );
    assert_eq!(ranged["total"], 10, "{ranged}");

    let statuses = data.walk(
        &format!("{fleet}/status?pageSize=1"),
        "StatusList",
        "status",
        1,
    );
    assert_eq!(statuses.len(), 2, "the silent vehicle has no status");
    for status in &statuses {
        schema::assert_valid("Status", status);
        assert_eq!(status["ignition"]["type"], "Stop", "{status}");
        data.follow(&status["_links"]["vehicle"]);
    }

    let maintenances = data.valid(&format!("{fleet}/maintenances"), "MaintenanceList");
    assert_eq!(maintenances["total"], 2, "{maintenances}");
    let first = &maintenances["_embedded"]["maintenances"][0];
    assert_eq!(first["daysBeforeMaintenance"], 120, "{first}");
    schema::assert_valid("Maintenance", &data.follow(&first["_links"]["self"]));
}

#[test]
fn fleet_alerts_and_collisions_are_listed_and_found_by_id() {
    let Some(data) = Fixture::start(&TRIPS) else {
        return;
    };
    let fleet = data.fleet();

    let alerts = data.valid(&format!("{fleet}/alerts"), "Alerts");
    assert_eq!(
        alerts["total"], 1,
        "one alert is still the same alert: {alerts}"
    );
    let alert = &alerts["_embedded"]["alerts"][0];
    let id = alert["id"].as_str().expect("alert id");
    let one = data.valid(&format!("{fleet}/alerts/{id}"), "Alert");
    assert_eq!(one["id"], id);
    schema::assert_valid("Alert", &data.follow(&alert["_links"]["self"]));

    let collisions = data.valid(&format!("{fleet}/collisions"), "Collisions");
    assert_eq!(collisions["total"], 1, "{collisions}");
    let collision = &collisions["_embedded"]["Collisions"][0];
    let id = collision["id"].as_str().expect("collision id");
    let one = data.valid(&format!("{fleet}/collisions/{id}"), "Collision");
    assert_eq!(one["details"][0]["side"], "Front");
    let trip = data.follow(&collision["_links"]["trip"]);
    schema::assert_valid("Trip", &trip);

    let old = "timestamps=2000-01-01T00:00:00Z/2000-01-02T00:00:00Z";
    let none = data.valid(&format!("{fleet}/collisions?{old}"), "Collisions");
    assert_eq!(none["total"], 0);
    data.get(&format!("{fleet}/alerts/nosuchalert"))
        .expect_error(404, 40400);
    data.get(&format!("{fleet}/collisions?pageSize=61"))
        .expect_error(400, 40001);

    let other_fleet = format!("/fleets/{}", data.other.fleet_id());
    data.get(&format!("{other_fleet}/trips"))
        .expect_error(404, 40400);
    let mine = format!("{fleet}/alerts");
    let other = &data.other;
    let refused = other
        .call(&data.server, &data.other_certificate.auth(), &mine)
        .send();
    refused.expect_error(404, 40400);
}

#[test]
fn a_trip_has_its_alerts_collisions_and_telemetry() {
    let Some(data) = Fixture::start(&TRIPS) else {
        return;
    };
    let base = data.vehicle_path(0);
    let trips = data.valid(&format!("{base}/trips?pageSize=2"), "Trips");
    let latest = &trips["_embedded"]["trips"][0];
    let earlier = &trips["_embedded"]["trips"][1];

    let alerts = data.follow(&latest["_links"]["alerts"]);
    schema::assert_valid("Alerts", &alerts);
    assert_eq!(
        alerts["total"], 1,
        "only the alert raised during the trip: {alerts}"
    );
    let alert = data.follow(&alerts["_embedded"]["alerts"][0]["_links"]["self"]);
    schema::assert_valid("Alert", &alert);
    let aid = alert["id"].as_str().expect("alert id");
    let tid = latest["id"].as_str().expect("trip id");
    let in_trip = data.valid(&format!("{base}/trips/{tid}/alerts/{aid}"), "Alert");
    assert_eq!(in_trip["id"], aid);
    let eid = earlier["id"].as_str().expect("trip id");
    data.get(&format!("{base}/trips/{eid}/alerts/{aid}"))
        .expect_error(404, 40400);

    let collisions = data.follow(&latest["_links"]["collisions"]);
    schema::assert_valid("Collisions", &collisions);
    assert_eq!(collisions["total"], 1, "{collisions}");
    let quiet = data.follow(&earlier["_links"]["collisions"]);
    assert_eq!(quiet["total"], 0, "{quiet}");

    let path = format!("{base}/trips/{tid}/telemetry?extension=location&pageSize=3");
    let telemetry = data.valid(&path, "Telemetries");
    assert_eq!(telemetry["total"], SAMPLES_PER_TRIP, "{telemetry}");
    assert_eq!(telemetry["totalPage"], 2, "{telemetry}");
    let next = data.follow(&telemetry["_links"]["next"]);
    schema::assert_valid("Telemetries", &next);
    assert_eq!(
        next["_embedded"]["telemetries"].as_array().unwrap().len(),
        1
    );
    let outside = format!("{base}/trips/{tid}/telemetry?timestamps=2000-01-01T00:00:00Z/P1D");
    assert_eq!(data.valid(&outside, "Telemetries")["total"], 0);
    data.get(&format!("{base}/trips/nosuchtrip/telemetry"))
        .expect_error(404, 40400);
}

#[test]
fn capabilities_are_derived_from_what_the_vehicle_sent() {
    let Some(data) = Fixture::start(&TRIPS) else {
        return;
    };
    let vin = data.partner.vins[0].clone();

    let extensions = "extension=onboardCapabilities&extension=branding";
    let path = format!("/vehicles/{vin}?{extensions}");
    let capabilities = data.valid(&path, "VehicleCapabilities");
    assert_eq!(capabilities["vin"], vin.as_str());
    let onboard = &capabilities["_embedded"]["extension"]["onboardCapabilities"];
    let scopes: Vec<&str> = onboard["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|scope| scope.as_str().unwrap())
        .collect();
    for expected in [
        "data:position",
        "data:trip",
        "data:telemetry:vehicle:energies",
        "data:telemetry:vehicle:battery",
        "data:telemetry:vehicle:maintenance",
    ] {
        assert!(scopes.contains(&expected), "{expected} in {scopes:?}");
    }
    assert!(
        !scopes.contains(&"data:telemetry:environment"),
        "{scopes:?}"
    );
    assert_eq!(onboard["remote"]["horn"]["supported"], false);
    assert_eq!(
        capabilities["_embedded"]["extension"]["branding"]["brand"],
        "Peugeot"
    );
    data.follow(&capabilities["_links"]["self"]);

    let silent = data.partner.vins[2].clone();
    let bare = data.valid(
        &format!("/vehicles/{silent}?{extensions}"),
        "VehicleCapabilities",
    );
    let none = &bare["_embedded"]["extension"]["onboardCapabilities"]["data"];
    assert_eq!(none, &json!([]), "{bare}");

    let by_id = data.valid(&format!("{}?{extensions}", data.vehicle_path(0)), "Vehicle");
    let embedded = &by_id["_embedded"]["extension"]["onboardCapabilities"];
    assert_eq!(embedded, onboard);

    let theirs = data.other.vins[0].clone();
    data.get(&format!("/vehicles/{theirs}"))
        .expect_error(403, 40300);
    let message = data.get("/vehicles/NOTAVIN").expect_error(400, 40001);
    assert!(message.starts_with("vin"), "{message}");
    let message = data
        .get(&format!("/vehicles/{vin}?extension=x"))
        .expect_error(400, 40001);
    assert!(message.starts_with("extension"), "{message}");
}

#[test]
fn repeating_intervals_select_the_trips_started_in_each_range() {
    let Some(data) = Fixture::start(&[6]) else {
        return;
    };
    let trips = format!("{}/trips", data.vehicle_path(0));
    let all = data.valid(&trips, "Trips");
    assert_eq!(all["total"], 6, "{all}");
    let first = all["_embedded"]["trips"][5]["startedAt"].as_str().unwrap();

    let every_other = format!(
        "{trips}?timestamps=R3/{first}/PT{}M/PT1M",
        2 * fixture::TRIP_SPACING_MINUTES
    );
    let picked = data.valid(&every_other, "Trips");
    assert_eq!(picked["total"], 3, "trips 0, 2 and 4: {picked}");
    let starts: Vec<&str> = picked["_embedded"]["trips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|trip| trip["startedAt"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = [4, 2, 0]
        .iter()
        .map(|&k| {
            all["_embedded"]["trips"][5 - k]["startedAt"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(starts, expected);

    let bad = format!("{trips}?timestamps=R0/{first}/P1D");
    let message = data.get(&bad).expect_error(400, 40001);
    assert!(message.contains("count of 1 or more"), "{message}");
}
