//! The data scope of an application's connected services, the `endUser` profile with the
//! vehicles' privacy states, and the rate limits, over real mutual TLS: applications are
//! made with `fleetgate app create --services / --daily-limit / --burst-limit`, exactly as
//! an operator would, and called in parallel where the limits must hold.

mod fixture;
mod support;

use std::thread;

use fixture::Fixture;
use support::{schema, Partner, Reply};

/// Calls `path` `count` times at once as `app`; the replies in the order they came.
fn in_parallel(data: &Fixture, app: &Partner, path: &str, count: usize) -> Vec<Reply> {
    thread::scope(|scope| {
        let calls: Vec<_> = (0..count)
            .map(|_| scope.spawn(|| data.get_as(app, path)))
            .collect();
        calls
            .into_iter()
            .map(|call| call.join().expect("a call"))
            .collect()
    })
}

fn statuses(replies: &[Reply], status: u16) -> usize {
    replies
        .iter()
        .filter(|reply| reply.status == status)
        .count()
}

fn header_number(reply: &Reply, name: &str) -> u64 {
    let value = reply
        .header(name)
        .unwrap_or_else(|| panic!("no {name} header: {:?}", reply.headers));
    value
        .parse()
        .unwrap_or_else(|_| panic!("{name}: {value} is not a number"))
}

#[test]
fn tele_maintenance_sees_the_state_and_alerts_but_no_position_nor_trip() {
    let Some(data) = Fixture::start(&[2, 1]) else {
        return;
    };
    let tmts = data.application(&["--services", "tmts"]);
    let vehicle = data.vehicle_path(0);

    let status = data
        .get_as(&tmts, &format!("{vehicle}/status"))
        .expect_json(200);
    schema::assert_valid("Status", &status);
    assert!(status.get("lastPosition").is_none(), "{status}");
    assert!(status.get("odometer").is_some(), "{status}");
    let everything = data.get(&format!("{vehicle}/status")).expect_json(200);
    assert!(everything.get("lastPosition").is_some(), "{everything}");

    let alerts = data
        .get_as(&tmts, &format!("{vehicle}/alerts"))
        .expect_json(200);
    schema::assert_valid("Alerts", &alerts);
    assert_eq!(alerts["total"], 1, "{alerts}");
    assert!(!alerts.to_string().contains("Position"), "{alerts}");
    let with_positions = data.get(&format!("{vehicle}/alerts")).expect_json(200);
    assert!(with_positions.to_string().contains("startPosition"));

    let refused = data.get_as(&tmts, &format!("{vehicle}/lastPosition"));
    let message = refused.expect_error(403, 40300);
    assert!(message.contains("data:position"), "{message}");
    assert!(message.contains("connected-fleet, ubi"), "{message}");
    for path in [
        format!("{vehicle}/trips"),
        format!("{}/trips", data.fleet()),
        format!("{}/collisions", data.fleet()),
    ] {
        let message = data.get_as(&tmts, &path).expect_error(403, 40300);
        assert!(message.contains("tmts"), "{path}: {message}");
    }
    data.get_as(&tmts, &format!("{}/status", data.fleet()))
        .expect_json(200);
}

#[test]
fn insurance_sees_trips_positions_and_collisions_but_no_alert() {
    let Some(data) = Fixture::start(&[2, 1]) else {
        return;
    };
    let ubi = data.application(&["--services", "ubi"]);
    let vehicle = data.vehicle_path(0);

    let trips = data
        .get_as(&ubi, &format!("{vehicle}/trips"))
        .expect_json(200);
    schema::assert_valid("Trips", &trips);
    assert_eq!(trips["total"], 2, "{trips}");
    let collisions = data
        .get_as(&ubi, &format!("{}/collisions", data.fleet()))
        .expect_json(200);
    assert_eq!(collisions["total"], 1, "{collisions}");
    data.get_as(&ubi, &format!("{vehicle}/lastPosition"))
        .expect_json(200);

    for path in [
        format!("{vehicle}/alerts"),
        format!("{}/alerts", data.fleet()),
        format!(
            "{vehicle}/trips/{}/alerts",
            trips["_embedded"]["trips"][0]["id"].as_str().unwrap()
        ),
    ] {
        let message = data.get_as(&ubi, &path).expect_error(403, 40300);
        assert!(message.contains("data:alert"), "{path}: {message}");
    }

    let both = data.application(&["--services", "tmts,ubi"]);
    data.get_as(&both, &format!("{vehicle}/alerts"))
        .expect_json(200);
}

#[test]
fn the_end_user_profile_honours_each_vehicles_privacy() {
    let Some(data) = Fixture::start(&[2, 1]) else {
        return;
    };
    let fleet = data.fleet();
    let first = data.vehicle_path(0);
    let second = data.vehicle_path(1);
    data.set_privacy(1, "Full");

    let message = data
        .get(&format!("{second}/status?profile=endUser"))
        .expect_error(404, 40499);
    assert!(message.contains("Full"), "{message}");
    data.get(&format!("{second}/trips?profile=endUser"))
        .expect_error(404, 40499);
    data.valid(&format!("{second}/status?profile=fleet"), "Status");
    data.valid(&format!("{second}/status"), "Status");

    let end_user = data.valid(&format!("{fleet}/status?profile=endUser"), "StatusList");
    assert_eq!(end_user["total"], 1, "{end_user}");
    let vin = &end_user["_embedded"]["status"][0]["vin"];
    assert_eq!(vin, data.partner.vins[0].as_str());
    let fleet_view = data.valid(&format!("{fleet}/status"), "StatusList");
    assert_eq!(fleet_view["total"], 2, "{fleet_view}");
    let trips = data.valid(&format!("{fleet}/trips?profile=endUser"), "Trips");
    assert_eq!(trips["total"], 2, "only the first vehicle's trips: {trips}");

    data.valid(&format!("{first}/lastPosition?profile=endUser"), "Position");
    data.set_privacy(0, "Geolocation");
    let message = data
        .get(&format!("{first}/lastPosition?profile=endUser"))
        .expect_error(404, 40499);
    assert!(message.contains("Geolocation"), "{message}");
    let alerts = data.valid(&format!("{first}/alerts?profile=endUser"), "Alerts");
    assert!(!alerts.to_string().contains("Position"), "{alerts}");
    let trips = data.valid(&format!("{first}/trips?profile=endUser"), "Trips");
    assert_eq!(trips["total"], 2, "{trips}");

    let message = data
        .get(&format!("{first}/status?profile=owner"))
        .expect_error(400, 40001);
    assert!(message.contains("fleet or endUser"), "{message}");
}

#[test]
fn the_daily_limit_admits_exactly_its_count_under_parallel_calls() {
    let Some(data) = Fixture::start(&[1]) else {
        return;
    };
    let app = data.application(&["--daily-limit", "3", "--burst-limit", "100"]);

    let replies = in_parallel(&data, &app, "/fleets", 8);
    assert_eq!(statuses(&replies, 200), 3, "{replies:?}");
    assert_eq!(statuses(&replies, 429), 5, "{replies:?}");

    for reply in &replies {
        assert_eq!(header_number(reply, "x-ratelimit-limit-1"), 3);
        assert_eq!(header_number(reply, "x-ratelimit-limit-2"), 100);
        assert!(header_number(reply, "x-ratelimit-remaining-1") <= 2);
        if reply.status == 429 {
            let message = reply.expect_error(429, 42900);
            assert!(message.contains("daily limit"), "{message}");
            let retry = header_number(reply, "retry-after");
            assert!((1..=24 * 3600).contains(&retry), "retry in {retry} s");
            assert_eq!(header_number(reply, "x-ratelimit-reset"), retry);
        }
    }
}

#[test]
fn the_burst_limit_refuses_what_exceeds_it_until_the_operator_raises_it() {
    let Some(data) = Fixture::start(&[1]) else {
        return;
    };
    let app = data.application(&["--burst-limit", "2"]);

    let replies = in_parallel(&data, &app, "/fleets", 12);
    let admitted = statuses(&replies, 200);
    assert!(
        (2..12).contains(&admitted),
        "{admitted} admitted: {replies:?}"
    );
    assert_eq!(admitted + statuses(&replies, 429), 12, "{replies:?}");
    let refused = replies.iter().find(|reply| reply.status == 429).unwrap();
    let message = refused.expect_error(429, 42900);
    assert!(message.contains("burst limit"), "{message}");
    assert_eq!(header_number(refused, "retry-after"), 1);

    let raised = data.env.run_json(&[
        "app",
        "limits",
        &app.client_id,
        "--burst-limit",
        "1000",
        "--json",
    ]);
    assert_eq!(raised["burstLimit"], 1000, "{raised}");
    thread::sleep(std::time::Duration::from_millis(2500));
    let replies = in_parallel(&data, &app, "/fleets", 12);
    assert_eq!(statuses(&replies, 200), 12, "{replies:?}");
    assert_eq!(header_number(&replies[0], "x-ratelimit-limit-2"), 1000);
}

#[test]
fn the_daily_count_is_shared_through_the_database_and_outlives_a_crash() {
    let Some(mut data) = Fixture::start(&[1]) else {
        return;
    };
    let app = data.application(&["--daily-limit", "3"]);
    for _ in 0..2 {
        data.get_as(&app, "/fleets").expect_json(200);
    }

    // Each node adds its counts to the database every second.
    thread::sleep(std::time::Duration::from_millis(2500));
    let crashed = std::mem::replace(&mut data.server, data.env.serve());
    crashed.crash();

    let replies = in_parallel(&data, &app, "/fleets", 3);
    assert_eq!(statuses(&replies, 200), 1, "{replies:?}");
    assert_eq!(statuses(&replies, 429), 2, "{replies:?}");
}
