//! Durability of the vehicle channel: vehicles publish under load, the server is killed
//! with SIGKILL in the middle, restarted, and every message it had acknowledged must be in
//! the database — an acknowledgement means "committed", never "received".

mod support;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use sqlx::Row;
use support::vehicle::{sample, VehicleClient};
use support::{Server, TestEnv};

/// Vehicles publishing at once.
const VEHICLES: usize = 3;

/// Messages each vehicle sends before the crash stops it.
const MESSAGES: usize = 3_000;

fn provision(env: &TestEnv, vin: &str) -> PathBuf {
    let answer = env.run_json(&["vehicle", "provision", vin, "--json"]);
    PathBuf::from(answer["directory"].as_str().expect("directory"))
}

/// The message ids stored for `vin`, read straight from the database.
async fn stored_ids(env: &TestEnv, vin: &str) -> HashSet<String> {
    let config = std::fs::read_to_string(env.data_dir().join("fleetgate.toml")).unwrap();
    let url = config
        .lines()
        .find_map(|line| line.strip_prefix("database_url = "))
        .map(|v| v.trim_matches('"').to_owned())
        .expect("database_url in fleetgate.toml");
    let sql = "SELECT id FROM vehicle_messages WHERE vin = $1";

    let rows = if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&url).await.expect("open SQLite");
        sqlx::query(sql)
            .bind(vin)
            .fetch_all(&pool)
            .await
            .expect("query")
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect()
    } else {
        let pool = sqlx::PgPool::connect(&url).await.expect("open PostgreSQL");
        sqlx::query(sql)
            .bind(vin)
            .fetch_all(&pool)
            .await
            .expect("query")
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect()
    };
    rows
}

#[test]
fn every_acknowledged_message_survives_a_kill_9() {
    let env = TestEnv::new();
    support::block_on(async {
        let partner = env.partner();
        let folders: Vec<PathBuf> = partner
            .vins
            .iter()
            .take(VEHICLES)
            .map(|v| provision(&env, v))
            .collect();
        let mut server = Server::start(&env);
        let port = server.mqtt_port();

        let mut vehicles = Vec::new();
        for (vin, folder) in partner.vins.iter().zip(&folders) {
            vehicles.push(VehicleClient::provisioned(vin, folder, port).await);
        }
        let publishers: Vec<_> = vehicles
            .into_iter()
            .map(|vehicle| {
                tokio::spawn(async move {
                    for index in 0..MESSAGES {
                        let id = format!("crash-{index}");
                        let odometer = index as f64;
                        let message = sample(&id, 200, (2.35, 48.85), "Stop", 0.0, odometer);
                        vehicle.publish("telemetry", &message).await;
                    }
                    vehicle
                })
            })
            .collect();

        // Let a part of the load through, then crash the server in the middle of it.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.crash();
        let mut acknowledged = Vec::new();
        for publisher in publishers {
            let vehicle = publisher.await.expect("publisher");
            tokio::time::sleep(Duration::from_millis(200)).await;
            acknowledged.push((vehicle.vin.clone(), vehicle.acknowledged().await));
        }

        let restarted = Server::start(&env);
        let mut total = 0;
        for (vin, acked) in &acknowledged {
            let stored = stored_ids(&env, vin).await;
            let lost: Vec<&String> = acked.difference(&stored).collect();
            assert!(
                lost.is_empty(),
                "{vin}: {} acknowledged messages lost, e.g. {:?}",
                lost.len(),
                &lost[..lost.len().min(5)]
            );
            total += acked.len();
        }
        assert!(
            total > 0,
            "no message was acknowledged before the crash: the test proved nothing"
        );
        assert!(
            acknowledged.iter().any(|(_, acked)| acked.len() < MESSAGES),
            "the crash came after every message was acknowledged: the test proved nothing"
        );
        drop(restarted);
    });
}
