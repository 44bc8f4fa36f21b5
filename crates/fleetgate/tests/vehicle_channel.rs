//! The vehicle channel end to end, with the real binary: vehicles provisioned with
//! `fleetgate vehicle provision`, connected over TLS with their device certificates to the
//! embedded endpoint (or to a Mosquitto configured by `fleetgate mqtt broker-config`),
//! messages ingested and derived, and `vehicle show` reporting the result.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rumqttc::ConnectReturnCode;
use serde_json::{json, Value};
use support::vehicle::{ago, sample, vehicle_tls, Happened, VehicleClient};
use support::{Partner, Server, TestEnv};

/// Paris, Place de la Concorde, then eastwards along the Seine.
const START: (f64, f64) = (2.3212, 48.8656);

fn provision(env: &TestEnv, vin: &str) -> PathBuf {
    let answer = env.run_json(&["vehicle", "provision", vin, "--json"]);
    assert_eq!(answer["vin"], vin, "{answer}");
    let directory = PathBuf::from(answer["directory"].as_str().expect("directory"));
    for file in ["vehicle.pem", "vehicle-key.pem", "ca.pem", "broker.json"] {
        assert!(
            directory.join(file).exists(),
            "{file} missing in {}",
            directory.display()
        );
    }
    directory
}

fn show(env: &TestEnv, vin: &str) -> Value {
    env.run_json(&["vehicle", "show", vin, "--json"])
}

/// A scripted journey: ignition on, 10 samples a minute apart moving east, ignition off.
fn journey(prefix: &str) -> Vec<Value> {
    let mut messages = vec![sample(
        &format!("{prefix}-0"),
        700,
        START,
        "Start",
        0.0,
        1000.0,
    )];
    for step in 1..=10 {
        let position = (START.0 + 0.004 * step as f64, START.1);
        let odometer = 1000.0 + 0.3 * step as f64;
        let id = format!("{prefix}-{step}");
        messages.push(sample(
            &id,
            700 - 60 * step,
            position,
            "Start",
            40.0,
            odometer,
        ));
    }
    let end = (START.0 + 0.04, START.1);
    messages.push(sample(
        &format!("{prefix}-end"),
        60,
        end,
        "Stop",
        0.0,
        1003.0,
    ));
    messages
}

async fn wait_until<F: Fn(&Value) -> bool>(env: &TestEnv, vin: &str, done: F) -> Value {
    for _ in 0..100 {
        let shown = show(env, vin);
        if done(&shown) {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "vehicle show never reached the expected state: {}",
        show(env, vin)
    );
}

#[test]
fn a_provisioned_vehicle_journey_becomes_a_trip_and_a_last_position() {
    let env = TestEnv::new();
    support::block_on(async {
        let partner = env.partner();
        let vin = &partner.vins[0];
        let folder = provision(&env, vin);
        let mut server = Server::start(&env);
        let vehicle = VehicleClient::provisioned(vin, &folder, server.mqtt_port()).await;

        let messages = journey("j1");
        for message in &messages {
            vehicle.publish("telemetry", message).await;
        }
        let acked = vehicle
            .wait_acks(messages.len(), Duration::from_secs(20))
            .await;

        assert_eq!(acked, messages.len(), "every message is acknowledged");
        let shown = show(&env, vin);
        assert_eq!(shown["vin"], vin.as_str());
        let position = &shown["lastPosition"];
        assert_eq!(position["type"], "Feature", "{shown}");
        assert_eq!(position["geometry"]["type"], "Point");
        let lon = position["geometry"]["coordinates"][0].as_f64().unwrap();
        assert!((lon - (START.0 + 0.04)).abs() < 1e-9, "{position}");
        assert_eq!(shown["status"]["ignition"]["type"], "Stop", "{shown}");
        assert_eq!(shown["status"]["odometer"]["mileage"], 1003.0);
        let trips = shown["trips"].as_array().expect("trips");
        assert_eq!(trips.len(), 1, "{shown}");
        assert_eq!(trips[0]["state"], "Nominal", "{shown}");
        assert_eq!(trips[0]["done"], true);
        assert!(
            (trips[0]["distance"].as_f64().unwrap() - 3.0).abs() < 1e-6,
            "{shown}"
        );
        assert_eq!(trips[0]["duration"], 640);

        let listed = partner
            .call(
                &server,
                &partner.enroll(&env, &server).auth(),
                &format!("/fleets/{}/vehicles", partner.fleet_id()),
            )
            .send()
            .expect_json(200);
        let listed_vins: Vec<&str> = listed["_embedded"]["vehicles"]
            .as_array()
            .expect("vehicles")
            .iter()
            .filter_map(|v| v["vin"].as_str())
            .collect();
        assert!(listed_vins.contains(&vin.as_str()), "{listed}");
    });
}

#[test]
fn events_raise_and_end_alerts_and_duplicates_are_stored_once() {
    let env = TestEnv::new();
    support::block_on(async {
        let partner = env.partner();
        let vin = &partner.vins[1];
        let folder = provision(&env, vin);
        let mut server = Server::start(&env);
        let vehicle = VehicleClient::provisioned(vin, &folder, server.mqtt_port()).await;

        let raise = json!({"v": 1, "id": "a-1", "at": ago(30),
            "event": {"type": "alert", "alert": "TirePuncture", "severity": "Warning",
                      "active": true}});
        vehicle.publish("events", &raise).await;
        vehicle.publish("events", &raise).await;
        assert_eq!(vehicle.wait_acks(1, Duration::from_secs(10)).await, 1);
        let raised = wait_until(&env, vin, |s| {
            s["status"]["activeAlerts"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        })
        .await;
        assert_eq!(
            raised["status"]["activeAlerts"].as_array().unwrap().len(),
            1,
            "{raised}"
        );
        assert_eq!(raised["status"]["activeAlerts"][0]["kind"], "TirePuncture");

        let end = json!({"v": 1, "id": "a-2", "at": ago(10),
            "event": {"type": "alert", "alert": "TirePuncture", "active": false}});
        vehicle.publish("events", &end).await;
        assert_eq!(vehicle.wait_acks(2, Duration::from_secs(10)).await, 2);
        let ended = show(&env, vin);
        assert_eq!(ended["status"]["activeAlerts"], json!([]), "{ended}");

        let log = server.stop().join("\n");
        assert!(
            log.contains("duplicates=1"),
            "the repeated message is counted once: {log}"
        );
    });
}

#[test]
fn malformed_messages_are_refused_without_blocking_the_next_ones() {
    let env = TestEnv::new();
    support::block_on(async {
        let partner = env.partner();
        let vin = &partner.vins[0];
        let folder = provision(&env, vin);
        let mut server = Server::start(&env);
        let vehicle = VehicleClient::provisioned(vin, &folder, server.mqtt_port()).await;
        let topic = format!("fleetgate/v1/vehicles/{vin}/telemetry");

        let bad = [
            ("not-json", b"{not json".to_vec()),
            (
                "out-of-range",
                br#"{"v":1,"id":"x1","at":"2020-01-01T00:00:00Z","position":{"lon":2,"lat":95}}"#
                    .to_vec(),
            ),
            (
                "future",
                serde_json::to_vec(&json!({"v":1,"id":"x2","at":"2999-01-01T00:00:00Z"})).unwrap(),
            ),
            (
                "unknown-field",
                serde_json::to_vec(&json!({"v":1,"id":"x3","at":ago(5),"speeed":3})).unwrap(),
            ),
        ];
        for (id, payload) in &bad {
            vehicle.publish_on(&topic, id, payload.clone()).await;
        }
        let good = sample("good-1", 5, START, "Stop", 0.0, 42.0);
        vehicle.publish("telemetry", &good).await;

        assert_eq!(
            vehicle
                .wait_acks(bad.len() + 1, Duration::from_secs(10))
                .await,
            bad.len() + 1
        );
        let shown = show(&env, vin);
        assert_eq!(shown["status"]["odometer"]["mileage"], 42.0, "{shown}");
        let log = server.stop();
        let refusals: Vec<&String> = log
            .iter()
            .filter(|l| l.contains("message refused"))
            .collect();
        assert_eq!(refusals.len(), bad.len(), "{log:#?}");
        assert!(
            refusals.iter().all(|l| l.contains(vin.as_str())),
            "{refusals:#?}"
        );
        assert!(
            refusals.iter().any(|l| l.contains("position.lat")),
            "{refusals:#?}"
        );
    });
}

#[test]
fn a_vehicle_cannot_publish_on_another_vehicles_topic() {
    let env = TestEnv::new();
    support::block_on(async {
        let partner = env.partner();
        let (vin, other) = (&partner.vins[0], &partner.vins[1]);
        let folder = provision(&env, vin);
        let mut server = Server::start(&env);
        let mut vehicle = VehicleClient::provisioned(vin, &folder, server.mqtt_port()).await;

        let forged = sample("forged-1", 5, START, "Stop", 0.0, 7.0);
        let topic = format!("fleetgate/v1/vehicles/{other}/telemetry");
        vehicle
            .publish_on(&topic, "forged-1", serde_json::to_vec(&forged).unwrap())
            .await;

        assert!(
            vehicle.wait_disconnected(Duration::from_secs(10)).await,
            "the connection is closed"
        );
        assert_eq!(show(&env, other)["status"]["odometer"], Value::Null);
        let log = server.stop().join("\n");
        assert!(log.contains("not its own topic"), "{log}");
    });
}

#[test]
fn vehicles_without_a_device_certificate_or_with_another_identity_are_refused() {
    let env = TestEnv::new();
    support::block_on(async {
        let partner = env.partner();
        let vin = &partner.vins[0];
        let folder = provision(&env, vin);
        let mut server = Server::start(&env);
        let port = server.mqtt_port();

        let anonymous = VehicleClient::connect(vin, vin, port, vehicle_tls(&folder, false)).await;
        assert!(
            matches!(anonymous, Err(Happened::Disconnected(_))),
            "no certificate: refused"
        );

        let wrong_id =
            VehicleClient::connect(vin, &partner.vins[2], port, vehicle_tls(&folder, true));
        let refused = wrong_id.await.err().expect("another client id is refused");
        assert!(
            matches!(refused, Happened::Connected(code) if code != ConnectReturnCode::Success)
                || matches!(refused, Happened::Disconnected(_)),
            "{refused:?}"
        );
        let log = server.stop().join("\n");
        assert!(
            log.contains("the MQTT client id must be the certificate's VIN"),
            "{log}"
        );
    });
}

#[test]
fn provisioning_needs_a_known_vehicle_and_never_overwrites() {
    let env = TestEnv::new();
    support::block_on(async {
        let partner = env.partner();

        let (_, unknown) = env.run_fail(&["vehicle", "provision", "VF3ZZZZZ0ZZ000001"]);
        provision(&env, &partner.vins[0]);
        let (_, again) = env.run_fail(&["vehicle", "provision", &partner.vins[0]]);

        assert!(unknown.contains("fleetgate vehicle add"), "{unknown}");
        assert!(
            again.contains("already holds a provisioned vehicle"),
            "{again}"
        );
        let key = env
            .data_dir()
            .join("vehicles")
            .join(&partner.vins[0])
            .join("vehicle-key.pem");
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(key).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
    });
}

/// A Mosquitto of the test's own, configured by `fleetgate mqtt broker-config`.
struct Mosquitto {
    child: Child,
    port: u16,
}

impl Mosquitto {
    fn start(env: &TestEnv) -> Option<Self> {
        if !support::require_tool("mosquitto") {
            return None;
        }
        let port = free_port();
        let out = env.work_dir("broker");
        let listen = format!("127.0.0.1:{port}");
        let written = env.run_json(&[
            "mqtt",
            "broker-config",
            "--out",
            out.to_str().unwrap(),
            "--listen",
            &listen,
            "--json",
        ]);
        let config = written["configuration"]
            .as_str()
            .expect("configuration")
            .to_owned();
        let text = std::fs::read_to_string(&config).unwrap();
        let persistence = out.join("persistence/");
        // Started by root, Mosquitto would switch to its own user, who cannot read the
        // broker key (mode 0600, owned by the test's user): keep the test's user.
        let user = std::env::var("USER").ok().filter(|u| !u.is_empty());
        let user = user.unwrap_or_else(|| "root".into());
        let extra = format!(
            "persistence_location {}/\nuser {user}\n",
            persistence.display()
        );
        std::fs::write(&config, format!("{text}{extra}")).unwrap();
        std::fs::create_dir_all(&persistence).unwrap();

        let child = Command::new("mosquitto")
            .args(["-c", &config])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        // Dropped (and so killed and waited for) on every path below.
        let broker = Self { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(broker);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(broker);
        panic!("mosquitto did not listen on {port}");
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn with_an_external_broker_two_nodes_share_the_vehicles_messages() {
    let env = TestEnv::new();
    support::block_on(async {
        let Some(broker) = Mosquitto::start(&env) else {
            return;
        };
        let partner = env.partner();
        let vin = &partner.vins[0];
        let folder = provision(&env, vin);
        let url = format!("mqtts://127.0.0.1:{}", broker.port);
        let first = Server::start_with(&env, &["--mqtt-url", &url]);
        let second = Server::start_with(&env, &["--mqtt-url", &url]);
        tokio::time::sleep(Duration::from_secs(1)).await;

        let vehicle = VehicleClient::provisioned(vin, &folder, broker.port).await;
        let messages: Vec<Value> = (0..40)
            .map(|i| {
                sample(
                    &format!("ext-{i}"),
                    400 - i * 5,
                    START,
                    "Stop",
                    0.0,
                    100.0 + i as f64,
                )
            })
            .collect();
        for message in &messages {
            vehicle.publish("telemetry", message).await;
        }
        assert_eq!(
            vehicle
                .wait_acks(messages.len(), Duration::from_secs(15))
                .await,
            messages.len()
        );
        let shown = wait_until(&env, vin, |s| s["status"]["odometer"]["mileage"] == 139.0).await;
        assert_eq!(shown["status"]["odometer"]["mileage"], 139.0);

        // The broker's ACL keeps a vehicle off another vehicle's topics.
        let forged = sample("forged-ext", 1, START, "Stop", 0.0, 5.0);
        let other_topic = format!("fleetgate/v1/vehicles/{}/telemetry", partner.vins[1]);
        vehicle
            .publish_on(
                &other_topic,
                "forged-ext",
                serde_json::to_vec(&forged).unwrap(),
            )
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            show(&env, &partner.vins[1])["status"]["odometer"],
            Value::Null
        );

        let logs = [first.stop().join("\n"), second.stop().join("\n")];
        for log in &logs {
            assert!(
                log.contains("consuming vehicle messages from the broker"),
                "{log}"
            );
            assert!(
                log.contains("batch committed"),
                "each node stored a share: {log}"
            );
        }
        drop(broker);
    });
}

#[allow(dead_code)]
fn unused(_: &Partner) {}

#[test]
fn simulate_history_writes_past_journeys_once_and_they_show() {
    let env = TestEnv::new();
    let partner = env.partner();
    let fleet = partner.fleet_id().to_owned();
    let args = [
        "simulate",
        "--fleet",
        fleet.as_str(),
        "--vehicles",
        "3",
        "--history",
        "1d",
        "--incident-rate",
        "0.5",
        "--quiet",
        "--json",
    ];

    let first = env.run_json(&args);
    assert_eq!(first["vehicles"], 3, "{first}");
    let generated = first["generated"].as_u64().expect("generated");
    assert!(generated > 1000, "a day of three vehicles: {first}");
    assert_eq!(first["stored"], generated, "{first}");

    let again = env.run_json(&args);
    let regenerated = again["generated"].as_u64().expect("generated");
    let new = again["stored"].as_u64().expect("stored");
    assert!(
        regenerated >= generated,
        "the same journeys, and then some: {again}"
    );
    assert_eq!(
        new,
        regenerated - generated,
        "only what is new is stored: {again}"
    );

    let shown = show(&env, &partner.vins[0]);
    let trips = shown["trips"].as_array().expect("trips");
    assert!(!trips.is_empty(), "a day of driving makes trips: {shown}");
    assert!(
        shown["status"]["odometer"]["mileage"].is_number(),
        "{shown}"
    );
}
