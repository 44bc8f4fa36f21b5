//! The storage of vehicle data (messages, states, derived records), run identically on
//! SQLite and on PostgreSQL.
//!
//! PostgreSQL is reached at `FLEETGATE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test creates its own database and
//! drops it when it passes. When `CI` is set an unreachable PostgreSQL fails the test;
//! elsewhere the PostgreSQL half is skipped with a notice.

use fleetgate_core::vehicle::state::TripState;
use fleetgate_core::vehicle::{Channel, VehicleMessage};
use fleetgate_core::{FleetId, Vin};
use fleetgate_store::{Backend, InboundMessage, IngestReport, StateWrites, Store};
use serde_json::{json, Value};
use sqlx::Connection;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A store on a fresh database, and what to clean up.
struct TestDb {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// Closes the store; on PostgreSQL drops its database (best effort: a database left
    /// behind is no failure of the test).
    async fn finish(self) {
        self.store.close().await;
        let Some((admin_url, name)) = self.postgres else {
            return;
        };
        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        let dropped = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(mut admin) => sqlx::query(&drop).execute(&mut admin).await.map(|_| ()),
            Err(error) => Err(error),
        };
        if let Err(error) = dropped {
            eprintln!("test database {name} left behind: {error}");
        }
    }
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    TestDb {
        store: Store::open(&url).await.unwrap(),
        _dir: Some(dir),
        postgres: None,
    }
}

/// Whether the tests run in CI, where every backend must be there.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

async fn postgres() -> Option<TestDb> {
    let admin_url = std::env::var("FLEETGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(connection) => connection,
        Err(error) if !in_ci() => {
            eprintln!("PostgreSQL half skipped: cannot connect to {admin_url}: {error}");
            return None;
        }
        Err(error) => panic!("PostgreSQL is required in CI: {error}"),
    };

    let name = format!("fleetgate_vehicle_data_test_{}", FleetId::generate());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let store = Store::open(&format!("{base}/{name}")).await.unwrap();
    Some(TestDb {
        store,
        _dir: None,
        postgres: Some((admin_url, name)),
    })
}

/// Runs one async test body on both backends.
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let db = super::sqlite().await;
                ($body)(db.store.clone()).await;
                db.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(db) = super::postgres().await else {
                    return;
                };
                ($body)(db.store.clone()).await;
                db.finish().await;
            }
        }
    };
}

/// The time every scenario starts from.
const T0: OffsetDateTime = datetime!(2026-12-04 08:00 UTC);

fn vin(n: u32) -> Vin {
    Vin::parse(&format!("VF3ABCDEFGH{n:06}")).unwrap()
}

fn minutes(n: i64) -> OffsetDateTime {
    T0 + Duration::minutes(n)
}

/// A message as the vehicle channel hands it over: parsed from the payload it received.
fn inbound(
    vin: &Vin,
    channel: Channel,
    id: &str,
    at: OffsetDateTime,
    fields: Value,
) -> InboundMessage {
    let mut payload = json!({"v": 1, "id": id, "at": at.format(&Rfc3339).unwrap()});
    let object = payload.as_object_mut().unwrap();
    object.extend(fields.as_object().unwrap().clone());
    let payload = payload.to_string();

    let received_at = at + Duration::seconds(1);
    let message = VehicleMessage::parse(vin, channel, payload.as_bytes(), received_at)
        .unwrap_or_else(|e| panic!("{payload}: {e}"));
    InboundMessage {
        message,
        payload,
        received_at,
    }
}

/// A telemetry sample at `at`: ignition, position (with speed) and odometer.
fn sample(
    vin: &Vin,
    id: &str,
    at: OffsetDateTime,
    ignition: &str,
    (lon, lat, speed): (f64, f64, f64),
    odometer: f64,
) -> InboundMessage {
    let fields = json!({
        "ignition": ignition,
        "position": {"lon": lon, "lat": lat, "speed": speed},
        "odometer": odometer,
        "energies": [{"type": "Fuel", "level": 50.0, "consumption": 1000.0 + odometer}],
    });
    inbound(vin, Channel::Telemetry, id, at, fields)
}

/// An event at `at`.
fn event(vin: &Vin, id: &str, at: OffsetDateTime, event: Value) -> InboundMessage {
    inbound(vin, Channel::Events, id, at, json!({ "event": event }))
}

/// A drive from `start` (minutes after T0): ignition on, two moving samples, ignition off,
/// 2 minutes apart, the odometer going from 1000 to 1004 km.
fn drive(vin: &Vin, prefix: &str, start: i64) -> Vec<InboundMessage> {
    let steps = [
        ("Start", (2.35, 48.85, 0.0), 1000.0),
        ("Start", (2.36, 48.86, 50.0), 1001.5),
        ("Start", (2.37, 48.87, 60.0), 1003.0),
        ("Stop", (2.38, 48.87, 0.0), 1004.0),
    ];
    steps
        .into_iter()
        .zip(0..)
        .map(|((ignition, fix, odometer), n)| {
            let id = format!("{prefix}-{n}");
            sample(vin, &id, minutes(start + 2 * n), ignition, fix, odometer)
        })
        .collect()
}

fn alert(kind: &str, active: bool) -> Value {
    json!({"type": "alert", "alert": kind, "severity": "Warning", "active": active})
}

fn report(stored: usize, duplicates: usize, records: usize) -> IngestReport {
    IngestReport {
        stored,
        duplicates,
        records,
    }
}

on_both_backends!(a_drive_becomes_one_trip, |store: Store| async move {
    let car = vin(1);
    let messages = drive(&car, "d", 0);

    let first = store.ingest(&messages[..2]).await.unwrap();
    assert_eq!(first, report(2, 0, 1));
    let (trips, total) = store.vehicle_trips(&car, 0, 10).await.unwrap();
    assert_eq!((trips.len(), total), (1, 1));
    assert!(
        !trips[0].done && trips[0].stopped_at.is_none(),
        "{:?}",
        trips[0]
    );
    let state = store.vehicle_state(&car).await.unwrap().unwrap();
    assert_eq!(state.open_trip.as_ref().map(|t| &t.id), Some(&trips[0].id));

    // The second half is applied to the state the first one stored.
    let second = store.ingest(&messages[2..]).await.unwrap();
    assert_eq!(second, report(2, 0, 1));
    let trip = store.trip(&trips[0].id).await.unwrap().unwrap();
    assert!(trip.done);
    assert_eq!(
        (trip.started_at, trip.stopped_at),
        (minutes(0), Some(minutes(6)))
    );
    assert_eq!(
        (trip.start_mileage, trip.end_mileage),
        (Some(1000.0), Some(1004.0))
    );
    assert_eq!(trip.state(), TripState::Nominal);
    assert_eq!(trip.max_speed, Some(60.0));
    assert_eq!(store.vehicle_trips(&car, 0, 10).await.unwrap().1, 1);

    let state = store.vehicle_state(&car).await.unwrap().unwrap();
    assert!(state.open_trip.is_none(), "{:?}", state.open_trip);
    assert_eq!(state.last_at, Some(minutes(6)));
    assert_eq!(state.odometer.map(|o| o.value), Some(1004.0));
    let position = state.position.unwrap().value;
    assert_eq!((position.lon, position.lat), (2.38, 48.87));
    assert!(store.vehicle_state(&vin(2)).await.unwrap().is_none());
    assert!(store.trip("no-such-trip").await.unwrap().is_none());
});

on_both_backends!(
    the_same_batch_twice_is_stored_once,
    |store: Store| async move {
        let car = vin(1);
        let messages = drive(&car, "d", 0);

        // Four versions of one trip: one record written.
        assert_eq!(store.ingest(&messages).await.unwrap(), report(4, 0, 1));
        let state = store.vehicle_state(&car).await.unwrap();
        let trips = store.vehicle_trips(&car, 0, 10).await.unwrap();

        assert_eq!(store.ingest(&messages).await.unwrap(), report(0, 4, 0));
        assert_eq!(store.vehicle_state(&car).await.unwrap(), state);
        assert_eq!(store.vehicle_trips(&car, 0, 10).await.unwrap(), trips);
        assert_eq!(store.message_count().await.unwrap(), 4);
        assert!(store.has_message(&car, "d-3").await.unwrap());
        assert!(!store.has_message(&car, "d-4").await.unwrap());
        assert!(!store.has_message(&vin(2), "d-3").await.unwrap());

        // Old and new together: only the new one counts.
        let mut more = messages.clone();
        more.extend(drive(&car, "e", 10));
        assert_eq!(store.ingest(&more).await.unwrap(), report(4, 4, 1));
        assert_eq!(store.vehicle_trips(&car, 0, 10).await.unwrap().1, 2);
    }
);

on_both_backends!(
    duplicates_within_a_batch_are_skipped,
    |store: Store| async move {
        let car = vin(1);
        let other = vin(2);
        let first = sample(&car, "m-1", minutes(0), "Start", (2.35, 48.85, 10.0), 10.0);
        let resent = sample(&car, "m-1", minutes(1), "Stop", (2.36, 48.85, 0.0), 11.0);
        let second = sample(&car, "m-2", minutes(2), "Start", (2.37, 48.85, 20.0), 12.0);
        // The same id from another vehicle is another message.
        let elsewhere = sample(&other, "m-1", minutes(0), "Stop", (2.0, 48.0, 0.0), 5.0);
        let batch = [
            first.clone(),
            resent,
            second.clone(),
            first.clone(),
            elsewhere,
        ];

        let done = store.ingest(&batch).await.unwrap();

        assert_eq!((done.stored, done.duplicates), (3, 2));
        assert_eq!(store.message_count().await.unwrap(), 3);
        let (stored, total) = store
            .vehicle_messages(&car, None, None, None, 0, 10)
            .await
            .unwrap();
        assert_eq!(total, 2);
        assert_eq!(stored[0].payload, first.payload);
        assert_eq!(stored[1].payload, second.payload);
        // The resent Stop was not applied: the trip opened by m-1 is still under way.
        let state = store.vehicle_state(&car).await.unwrap().unwrap();
        assert!(state.open_trip.is_some(), "{state:?}");
        assert_eq!(state.odometer.map(|o| o.value), Some(12.0));
    }
);

on_both_backends!(alerts_are_raised_and_ended, |store: Store| async move {
    let car = vin(1);
    let raised = [
        event(&car, "a-1", minutes(0), alert("TirePuncture", true)),
        event(&car, "a-2", minutes(1), alert("LowFuelLevel", true)),
    ];
    assert_eq!(store.ingest(&raised).await.unwrap(), report(2, 0, 2));

    let ended = [event(&car, "a-3", minutes(3), alert("TirePuncture", false))];
    assert_eq!(store.ingest(&ended).await.unwrap(), report(1, 0, 1));

    let (alerts, total) = store.vehicle_alerts(&car, 0, 10).await.unwrap();
    assert_eq!(total, 2);
    let kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["LowFuelLevel", "TirePuncture"]);
    assert!(alerts[0].active && alerts[0].ended_at.is_none());
    assert!(!alerts[1].active);
    assert_eq!(alerts[1].ended_at, Some(minutes(3)));

    let state = store.vehicle_state(&car).await.unwrap().unwrap();
    let active: Vec<&str> = state
        .active_alerts
        .iter()
        .map(|a| a.kind.as_str())
        .collect();
    assert_eq!(active, ["LowFuelLevel"]);
    assert_eq!(store.vehicle_alerts(&vin(2), 0, 10).await.unwrap().1, 0);
});

on_both_backends!(
    other_events_are_listed_per_vehicle,
    |store: Store| async move {
        let car = vin(1);
        let mut batch = drive(&car, "d", 0);
        batch.insert(
            2,
            event(
                &car,
                "c-1",
                minutes(3),
                json!({"type": "collision",
            "details": [{"side": "Front", "severity": "Minor"}]}),
            ),
        );
        batch.push(event(
            &car,
            "al-1",
            minutes(10),
            json!({"type": "alarm",
            "activation": "Active"}),
        ));
        batch.push(event(
            &car,
            "al-2",
            minutes(11),
            json!({"type": "alarm",
            "activation": "Active", "trigger": "VolumetricBreakIn"}),
        ));
        batch.push(event(
            &car,
            "s-1",
            minutes(12),
            json!({"type": "theft", "stolen": true}),
        ));
        batch.push(event(
            &car,
            "s-2",
            minutes(20),
            json!({"type": "theft", "stolen": false}),
        ));

        let done = store.ingest(&batch).await.unwrap();

        // One trip, one collision, two alarms, one stolen period.
        assert_eq!(done, report(9, 0, 5));
        let (collisions, total) = store.vehicle_collisions(&car, 0, 10).await.unwrap();
        let trip = &store.vehicle_trips(&car, 0, 1).await.unwrap().0[0];
        assert_eq!(total, 1);
        assert_eq!(collisions[0].trip_id.as_ref(), Some(&trip.id));
        let (alarms, total) = store.vehicle_alarms(&car, 0, 10).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(alarms[0].trigger.as_deref(), Some("VolumetricBreakIn"));
        let (periods, total) = store.vehicle_stolen_periods(&car, 0, 10).await.unwrap();
        assert_eq!(total, 1);
        assert!(!periods[0].active);
        assert_eq!(
            (periods[0].started_at, periods[0].ended_at),
            (minutes(12), Some(minutes(20)))
        );
    }
);

on_both_backends!(trips_are_paged_newest_first, |store: Store| async move {
    let car = vin(1);
    let other = vin(2);
    for (hour, prefix) in [(0, "a"), (1, "b"), (2, "c")] {
        store.ingest(&drive(&car, prefix, hour * 60)).await.unwrap();
    }
    store.ingest(&drive(&other, "x", 0)).await.unwrap();

    let (page, total) = store.vehicle_trips(&car, 0, 2).await.unwrap();
    let starts: Vec<OffsetDateTime> = page.iter().map(|t| t.started_at).collect();
    assert_eq!(total, 3);
    assert_eq!(starts, [minutes(120), minutes(60)]);

    let (page, total) = store.vehicle_trips(&car, 2, 2).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].started_at, minutes(0));
    assert!(page.iter().all(|t| t.vin == car));

    let (page, total) = store.vehicle_trips(&car, 3, 2).await.unwrap();
    assert_eq!((page.len(), total), (0, 3));
    assert_eq!(store.vehicle_trips(&other, 0, 10).await.unwrap().1, 1);
});

on_both_backends!(
    messages_are_listed_by_channel_and_time,
    |store: Store| async move {
        let car = vin(1);
        let mut batch: Vec<InboundMessage> = (0..6)
            .map(|m| {
                sample(
                    &car,
                    &format!("t-{m}"),
                    minutes(m),
                    "Start",
                    (2.3, 48.8, 30.0),
                    1.0,
                )
            })
            .collect();
        batch.push(event(&car, "e-1", minutes(1), alert("TirePuncture", true)));
        batch.push(event(&car, "e-2", minutes(3), alert("TirePuncture", false)));
        let ack = json!({"ack": {"command": "c-1", "status": "Success"}});
        batch.push(inbound(&car, Channel::Acks, "k-1", minutes(2), ack));
        batch.push(sample(
            &vin(2),
            "t-9",
            minutes(2),
            "Start",
            (2.3, 48.8, 30.0),
            1.0,
        ));
        store.ingest(&batch).await.unwrap();

        let telemetry = Some(Channel::Telemetry);
        let (page, total) = store
            .vehicle_messages(&car, telemetry, Some(minutes(1)), Some(minutes(3)), 0, 10)
            .await
            .unwrap();
        let ids: Vec<&str> = page.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(total, 3);
        assert_eq!(ids, ["t-1", "t-2", "t-3"]);
        assert_eq!(page[1].decode().unwrap(), batch[2].message);
        assert_eq!(page[1].received_at, batch[2].received_at);

        let events = Some(Channel::Events);
        let (page, total) = store
            .vehicle_messages(&car, events, None, None, 0, 10)
            .await
            .unwrap();
        assert_eq!(total, 2);
        assert!(page.iter().all(|m| m.channel == Channel::Events));

        let (page, total) = store
            .vehicle_messages(&car, None, Some(minutes(2)), None, 1, 3)
            .await
            .unwrap();
        let ids: Vec<&str> = page.iter().map(|m| m.id.as_str()).collect();
        // From minute 2: k-1, t-2 (minute 2), e-2, t-3 (minute 3), t-4, t-5; page 2..4.
        assert_eq!(total, 6);
        assert_eq!(ids, ["t-2", "e-2", "t-3"]);
    }
);

on_both_backends!(
    pruning_deletes_only_old_rows_a_few_at_a_time,
    |store: Store| async move {
        let car = vin(1);
        let parked = vin(2);
        let days_ago = |days: i64| -days * 24 * 60;
        // Ten days ago: a drive, an alert raised and ended; another vehicle's trip that
        // never ended.
        let mut old = drive(&car, "old", days_ago(10));
        old.push(event(
            &car,
            "old-a1",
            minutes(days_ago(10)),
            alert("TirePuncture", true),
        ));
        old.push(event(
            &car,
            "old-a2",
            minutes(days_ago(10) + 1),
            alert("TirePuncture", false),
        ));
        old.push(sample(
            &parked,
            "p-0",
            minutes(days_ago(10)),
            "Start",
            (2.0, 48.0, 30.0),
            1.0,
        ));
        store.ingest(&old).await.unwrap();
        // Now: a drive under way and an active alert.
        let mut recent = drive(&car, "new", 0);
        recent.truncate(3);
        recent.push(event(
            &car,
            "new-a1",
            minutes(5),
            alert("LowFuelLevel", true),
        ));
        store.ingest(&recent).await.unwrap();

        let deleted = store
            .prune_vehicle_data(minutes(days_ago(1)), 2)
            .await
            .unwrap();

        // 7 messages, 1 trip and 1 alert, two rows per statement.
        assert_eq!(deleted, 9);
        assert_eq!(store.message_count().await.unwrap(), 4);
        assert!(!store.has_message(&car, "old-0").await.unwrap());
        assert!(!store.has_message(&parked, "p-0").await.unwrap());
        assert!(store.has_message(&car, "new-0").await.unwrap());
        let (trips, _) = store.vehicle_trips(&car, 0, 10).await.unwrap();
        assert_eq!(trips.len(), 1);
        assert_eq!(trips[0].started_at, minutes(0));
        assert_eq!(store.vehicle_trips(&parked, 0, 10).await.unwrap().1, 1);
        let (alerts, _) = store.vehicle_alerts(&car, 0, 10).await.unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].kind, "LowFuelLevel");
        assert!(store.vehicle_state(&parked).await.unwrap().is_some());

        assert_eq!(
            store
                .prune_vehicle_data(minutes(days_ago(1)), 2)
                .await
                .unwrap(),
            0
        );
        // What is under way or active stays, however old the messages that made it. On
        // SQLite the last message stored stays too: the next one must get a higher rowid,
        // since the rebuild of the states after a crash finds messages by rowid.
        let kept = match store.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 0,
        };
        assert_eq!(
            store.prune_vehicle_data(minutes(100), 1000).await.unwrap(),
            4 - kept
        );
        assert_eq!(store.message_count().await.unwrap(), kept);
    }
);

on_both_backends!(silent_trips_are_closed, |store: Store| async move {
    let silent = vin(1);
    let chatty = vin(2);
    let parked = vin(3);
    let batch = [
        sample(
            &silent,
            "s-0",
            minutes(0),
            "Start",
            (2.35, 48.85, 0.0),
            100.0,
        ),
        sample(
            &silent,
            "s-1",
            minutes(5),
            "Start",
            (2.36, 48.85, 40.0),
            102.0,
        ),
        sample(
            &chatty,
            "c-0",
            minutes(0),
            "Start",
            (2.35, 48.85, 0.0),
            100.0,
        ),
        sample(
            &chatty,
            "c-1",
            minutes(30),
            "Start",
            (2.36, 48.85, 40.0),
            110.0,
        ),
        sample(
            &parked,
            "p-0",
            minutes(0),
            "Stop",
            (2.35, 48.85, 0.0),
            100.0,
        ),
    ];
    store.ingest(&batch).await.unwrap();

    assert_eq!(store.close_silent_trips(minutes(5 + 10)).await.unwrap(), 0);
    assert!(!store.vehicle_trips(&silent, 0, 1).await.unwrap().0[0].done);

    assert_eq!(store.close_silent_trips(minutes(5 + 31)).await.unwrap(), 1);
    let trip = &store.vehicle_trips(&silent, 0, 1).await.unwrap().0[0];
    assert!(trip.done);
    assert_eq!(trip.stopped_at, Some(minutes(5)));
    assert!(
        trip.faults.contains(&TripState::Unfinished),
        "{:?}",
        trip.faults
    );
    let state = store.vehicle_state(&silent).await.unwrap().unwrap();
    assert!(state.open_trip.is_none());
    assert!(store
        .vehicle_state(&chatty)
        .await
        .unwrap()
        .unwrap()
        .open_trip
        .is_some());

    assert_eq!(store.close_silent_trips(minutes(5 + 31)).await.unwrap(), 0);
    assert_eq!(store.close_silent_trips(minutes(30 + 31)).await.unwrap(), 1);
    assert_eq!(store.vehicle_trips(&parked, 0, 1).await.unwrap().1, 0);
});

on_both_backends!(
    large_batches_span_several_statements,
    |store: Store| async move {
        // 600 vehicles, 2 messages each: more rows and more vehicles than one statement
        // carries.
        let cars: Vec<Vin> = (0..600).map(vin).collect();
        let mut batch = Vec::new();
        for car in &cars {
            batch.push(sample(
                car,
                "on",
                minutes(0),
                "Start",
                (2.35, 48.85, 0.0),
                10.0,
            ));
        }
        for car in &cars {
            batch.push(sample(
                car,
                "off",
                minutes(3),
                "Stop",
                (2.36, 48.85, 0.0),
                12.0,
            ));
        }

        assert_eq!(store.ingest(&batch).await.unwrap(), report(1200, 0, 600));
        assert_eq!(store.message_count().await.unwrap(), 1200);
        for car in [&cars[0], &cars[499], &cars[500], &cars[599]] {
            let (trips, total) = store.vehicle_trips(car, 0, 10).await.unwrap();
            assert_eq!(total, 1);
            assert!(trips[0].done);
            assert_eq!(trips[0].distance(), 2.0);
        }

        let extra: Vec<InboundMessage> = cars[..100]
            .iter()
            .map(|car| sample(car, "again", minutes(10), "Start", (2.3, 48.8, 9.0), 13.0))
            .collect();
        batch.extend(extra);
        assert_eq!(store.ingest(&batch).await.unwrap(), report(100, 1200, 100));
        assert_eq!(store.vehicle_trips(&cars[99], 0, 10).await.unwrap().1, 2);
        assert_eq!(store.vehicle_trips(&cars[100], 0, 10).await.unwrap().1, 1);
    }
);

on_both_backends!(
    concurrent_batches_of_one_vehicle_take_turns,
    |store: Store| async move {
        // Eight batches at once, each raising three alerts of its own on one vehicle the
        // store has never seen: if two of them worked on the same stored state, one's
        // alerts would be lost from the state.
        let car = vin(7);
        let mut tasks = tokio::task::JoinSet::new();
        for batch_no in 0..8 {
            let store = store.clone();
            let car = car.clone();
            tasks.spawn(async move {
                let batch: Vec<InboundMessage> = (0..3)
                    .map(|n| {
                        let id = format!("b{batch_no}-{n}");
                        let kind = format!("Alert{batch_no}x{n}");
                        event(&car, &id, minutes(batch_no * 3 + n), alert(&kind, true))
                    })
                    .collect();
                store.ingest(&batch).await.unwrap()
            });
        }
        let reports = tasks.join_all().await;

        assert!(reports.iter().all(|r| *r == report(3, 0, 3)), "{reports:?}");
        let state = store.vehicle_state(&car).await.unwrap().unwrap();
        assert_eq!(state.active_alerts.len(), 24);
        assert_eq!(state.last_at, Some(minutes(7 * 3 + 2)));
        assert_eq!(store.vehicle_alerts(&car, 0, 100).await.unwrap().1, 24);
    }
);

/// Not a test: a rough figure of the ingestion rate on SQLite, in this (debug) build.
/// `cargo test -p fleetgate-store --test vehicle_data -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
async fn ingestion_rate_on_sqlite() {
    const VEHICLES: u32 = 1000;
    const BATCHES: i64 = 20;
    let db = sqlite().await;
    let cars: Vec<Vin> = (0..VEHICLES).map(vin).collect();
    let batches: Vec<Vec<InboundMessage>> = (0..BATCHES)
        .map(|b| {
            let at = T0 + Duration::seconds(b);
            let speed = (2.35, 48.85, 50.0);
            let id = format!("m-{b}");
            cars.iter()
                .map(|car| sample(car, &id, at, "Start", speed, 100.0 + b as f64 / 100.0))
                .collect()
        })
        .collect();

    let started = std::time::Instant::now();
    for batch in &batches {
        db.store.ingest(batch).await.unwrap();
    }
    let elapsed = started.elapsed();

    let messages = VEHICLES as f64 * BATCHES as f64;
    let rate = messages / elapsed.as_secs_f64();
    eprintln!("{messages} messages in {elapsed:?}: {rate:.0} messages/s");
    db.finish().await;
}

on_both_backends!(
    a_trip_under_way_reads_with_its_current_figures,
    |store: Store| async move {
        let car = vin(1);
        let samples = drive(&car, "u", 0);

        // The trip starts in the first batch; its row is written then, and not again
        // until it ends, so what is read of it must come from the vehicle's state.
        store.ingest(&samples[..2]).await.unwrap();
        store.ingest(&samples[2..3]).await.unwrap();

        let (trips, total) = store.vehicle_trips(&car, 0, 10).await.unwrap();
        assert_eq!(total, 1);
        assert!(!trips[0].done);
        assert_eq!(trips[0].distance(), 3.0, "odometer 1000 to 1003 km");
        let one = store.trip(&trips[0].id).await.unwrap().unwrap();
        assert_eq!(one.distance(), 3.0);
        assert_eq!(one.last_sample_at, minutes(4));

        store.ingest(&samples[3..]).await.unwrap();
        let ended = store.trip(&trips[0].id).await.unwrap().unwrap();
        assert!(ended.done);
        assert_eq!(ended.distance(), 4.0);
        assert_eq!(ended.stopped_at, Some(minutes(6)));
    }
);

on_both_backends!(
    a_fleets_trip_count_is_remembered_for_a_second,
    |store: Store| async move {
        use fleetgate_store::vehicle_reads::{FleetReach, TripQuery};

        let login = fleetgate_core::Login::parse("MZP000777").unwrap();
        let partner = store
            .create_partner(fleetgate_store::NewPartner {
                login: &login,
                email: "it@partner.example",
                organization: "Partner",
                password_hash: "$argon2id$fake",
            })
            .await
            .unwrap();
        let fleet = store.create_fleet(&partner.id, "cars", None).await.unwrap();
        let (car, other) = (vin(1), vin(2));
        store
            .add_vehicles(&fleet.id, &[car.clone(), other.clone()])
            .await
            .unwrap();
        store.ingest(&drive(&car, "a", 0)).await.unwrap();

        let query = TripQuery {
            done_only: true,
            ..TripQuery::default()
        };
        let reach = FleetReach::all(&fleet.id);
        let count = || async {
            store
                .fleet_trips_matching(reach, &query, 0, 10)
                .await
                .unwrap()
        };
        let (page, total) = count().await;
        assert_eq!((page.len(), total), (1, 1));

        // A second trip: the page shows it at once, the total once COUNT_TTL has passed
        // and the recount it starts in the background is done.
        store.ingest(&drive(&other, "b", 60)).await.unwrap();
        let (page, total) = count().await;
        assert_eq!((page.len(), total), (2, 1), "the count is remembered");
        tokio::time::sleep(fleetgate_store::COUNT_TTL).await;
        let mut totals = Vec::new();
        for _ in 0..100 {
            let (page, total) = count().await;
            assert_eq!(page.len(), 2);
            totals.push(total);
            if total == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(totals.last(), Some(&2), "then counted again: {totals:?}");
        assert!(
            totals.len() <= 2,
            "one stale answer at most here: {totals:?}"
        );
    }
);

/// The SQLite writer keeps the states it committed for its next batches; a state written
/// meanwhile through another connection (here another process's store) must be read again.
#[tokio::test]
async fn states_written_by_another_connection_are_read_again_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let (first, second) = (
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    );
    let car = vin(1);
    let samples = drive(&car, "w", 0);

    first.ingest(&samples[..2]).await.unwrap();
    second.ingest(&samples[2..3]).await.unwrap();
    first.ingest(&samples[3..]).await.unwrap();

    let (trips, total) = first.vehicle_trips(&car, 0, 10).await.unwrap();
    assert_eq!(total, 1, "one trip, not one per store");
    assert!(trips[0].done);
    assert_eq!(
        trips[0].max_speed,
        Some(60.0),
        "the 60 km/h sample went through the other store"
    );
    first.close().await;
    second.close().await;
}

/// The time of the last message a vehicle's state (as the store sees it) holds.
async fn last_at(store: &Store, vin: &Vin) -> Option<OffsetDateTime> {
    let state = store.vehicle_state(vin).await.unwrap();
    state.expect("the vehicle has a state").last_at
}

/// On SQLite a batch may leave its vehicles' states unwritten. A process that stops before
/// writing them (a crash) loses nothing: the next one applies the messages stored since the
/// last write again, once, and ends with the states and records of an uninterrupted run.
#[tokio::test]
async fn states_left_unwritten_are_rebuilt_from_the_messages_on_sqlite() {
    let car = vin(1);
    let samples = drive(&car, "u", 0);
    let reference = sqlite().await;
    reference.store.ingest(&samples).await.unwrap();
    let expected = reference.store.vehicle_state(&car).await.unwrap().unwrap();
    let (expected_trips, _) = reference.store.vehicle_trips(&car, 0, 10).await.unwrap();
    reference.finish().await;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let crashed = Store::open(&url).await.unwrap();
    crashed.ingest(&samples[..1]).await.unwrap();
    let report = crashed
        .ingest_with(&samples[1..], StateWrites::Later)
        .await
        .unwrap();
    assert_eq!(report.stored, 3);
    let held = last_at(&crashed, &car).await;
    assert_eq!(held, Some(minutes(6)), "the process sees its latest state");
    crashed.close().await;

    let restarted = Store::open(&url).await.unwrap();
    let stored = last_at(&restarted, &car).await;
    assert_eq!(
        stored,
        Some(minutes(0)),
        "only the first batch wrote its state"
    );
    assert_eq!(restarted.recover_vehicle_states().await.unwrap(), 3);

    let rebuilt = restarted.vehicle_state(&car).await.unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(&rebuilt).unwrap(),
        serde_json::to_value(&expected).unwrap()
    );
    let (trips, total) = restarted.vehicle_trips(&car, 0, 10).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(
        serde_json::to_value(&trips).unwrap(),
        serde_json::to_value(&expected_trips).unwrap()
    );
    restarted.close().await;

    let again = Store::open(&url).await.unwrap();
    assert_eq!(
        again.recover_vehicle_states().await.unwrap(),
        0,
        "applied once"
    );
    let stored = last_at(&again, &car).await;
    assert_eq!(stored, Some(minutes(6)), "the rebuilt state was written");
    again.close().await;
}

// States put off are written by the next transaction that writes states, with those of
// its own vehicles; on PostgreSQL they are always written with their messages.
on_both_backends!(
    states_put_off_are_written_by_the_next_write,
    |store: Store| async move {
        let (car, other) = (vin(1), vin(2));
        store
            .ingest_with(&drive(&car, "a", 0)[..2], StateWrites::Later)
            .await
            .unwrap();
        let stored = store.stored_vehicle_state(&car).await.unwrap();
        match store.backend() {
            Backend::Sqlite => assert!(stored.is_none(), "not written yet"),
            Backend::Postgres => assert!(stored.is_some()),
        }

        store.ingest(&drive(&other, "b", 0)[..1]).await.unwrap();
        let written = store.stored_vehicle_state(&car).await.unwrap().unwrap();
        assert_eq!(written.last_at, Some(minutes(2)));
        assert_eq!(
            store.write_vehicle_states().await.unwrap(),
            0,
            "nothing left"
        );
    }
);
