//! The store's behaviour, run identically on SQLite and on PostgreSQL.
//!
//! PostgreSQL is reached at `FLEETGATE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test creates its own database. In CI
//! an unreachable PostgreSQL fails the test; elsewhere the PostgreSQL half is skipped with a
//! notice.

use fleetgate_core::{ApiVersion, FleetId, Login, Vin};
use fleetgate_store::{CsrStatus, NewCertificate, NewPartner, Store, StoreError};
use sqlx::Connection;
use time::{Duration, OffsetDateTime};

/// A store on a fresh database, and what to clean up.
struct TestDb {
    store: Store,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    TestDb {
        store: Store::open(&url).await.unwrap(),
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<TestDb> {
    let admin_url = std::env::var("FLEETGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(connection) => connection,
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("PostgreSQL half skipped: cannot connect to {admin_url}: {error}");
            return None;
        }
        Err(error) => panic!("PostgreSQL is required in CI: {error}"),
    };

    let name = format!("fleetgate_store_test_{}", FleetId::generate());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let store = Store::open(&format!("{base}/{name}")).await.unwrap();
    Some(TestDb { store, _dir: None })
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
            }

            #[tokio::test]
            async fn postgres() {
                let Some(db) = super::postgres().await else {
                    return;
                };
                ($body)(db.store.clone()).await;
            }
        }
    };
}

async fn partner(store: &Store, login: &str) -> fleetgate_store::Partner {
    let login = Login::parse(login).unwrap();
    let new = NewPartner {
        login: &login,
        email: "it@partner.example",
        organization: "Partner",
        password_hash: "$argon2id$fake",
    };
    store.create_partner(new).await.unwrap()
}

on_both_backends!(partners_have_unique_logins, |store: Store| async move {
    let created = partner(&store, "MZP100").await;
    let found = store
        .partner_by_login(&created.login)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.email),
        (created.id.clone(), "it@partner.example".into())
    );

    let again = NewPartner {
        login: &created.login,
        email: "x@y.example",
        organization: "Other",
        password_hash: "h",
    };
    let error = store.create_partner(again).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
});

on_both_backends!(
    applications_keep_their_versions,
    |store: Store| async move {
        let owner = partner(&store, "MZP200").await;
        let both = [ApiVersion::V3, ApiVersion::V2];
        let app = store
            .create_application(&owner.id, "both", &both)
            .await
            .unwrap();
        store
            .create_application(&owner.id, "v3 only", &[ApiVersion::V3])
            .await
            .unwrap();

        let found = store.application(&app.client_id).await.unwrap().unwrap();
        assert_eq!(found.versions, both);
        assert_eq!(store.applications_of(&owner.id).await.unwrap().len(), 2);
    }
);

on_both_backends!(fleets_are_paged_per_partner, |store: Store| async move {
    let owner = partner(&store, "MZP300").await;
    let other = partner(&store, "MZP301").await;
    for i in 0..5 {
        store
            .create_fleet(&owner.id, &format!("fleet {i}"), None)
            .await
            .unwrap();
    }
    store
        .create_fleet(&other.id, "not yours", Some("d"))
        .await
        .unwrap();

    let (page, total) = store.fleets_of(&owner.id, 2, 2).await.unwrap();
    assert_eq!(total, 5);
    assert_eq!(page.len(), 2);
    assert!(page.iter().all(|f| f.partner_id == owner.id));
});

on_both_backends!(
    vehicles_are_added_once_and_filtered_by_prefix,
    |store: Store| async move {
        let owner = partner(&store, "MZP400").await;
        let fleet = store.create_fleet(&owner.id, "f", None).await.unwrap();
        let vins: Vec<Vin> = [
            "VF3AAAAAAAA000001",
            "VF3AAAAAAAA000002",
            "VR1AAAAAAAA000003",
        ]
        .iter()
        .map(|v| Vin::parse(v).unwrap())
        .collect();

        assert_eq!(store.add_vehicles(&fleet.id, &vins).await.unwrap(), 3);
        assert_eq!(store.add_vehicles(&fleet.id, &vins[..1]).await.unwrap(), 0);

        let (all, total) = store
            .vehicles_of_fleet(&fleet.id, None, 0, 60)
            .await
            .unwrap();
        assert_eq!((all.len(), total), (3, 3));
        assert_eq!(all[0].vin.as_str(), "VF3AAAAAAAA000001");

        let (peugeots, total) = store
            .vehicles_of_fleet(&fleet.id, Some("VF3"), 1, 60)
            .await
            .unwrap();
        assert_eq!((peugeots.len(), total), (1, 2));
        assert_eq!(peugeots[0].vin.as_str(), "VF3AAAAAAAA000002");
    }
);

on_both_backends!(
    csr_is_issued_once_and_certificates_revoke,
    |store: Store| async move {
        let owner = partner(&store, "MZP500").await;
        let id = store
            .insert_csr_request(&owner.id, "CN=MZP500", "it@p.example", "PEM")
            .await
            .unwrap();
        let pending = store.csr_requests(Some(CsrStatus::Pending)).await.unwrap();
        assert_eq!(pending.len(), 1);

        let now = OffsetDateTime::now_utc();
        let certificate = |serial| NewCertificate {
            serial,
            partner_id: &owner.id,
            csr_id: Some(&id),
            subject: "CN=MZP500",
            certificate_pem: "CERT",
            not_before: now,
            not_after: now + Duration::days(1),
        };
        store.record_certificate(certificate("01")).await.unwrap();
        let issued = store.csr_request(&id).await.unwrap().unwrap();
        assert_eq!(
            (issued.status, issued.certificate_serial.as_deref()),
            (CsrStatus::Issued, Some("01"))
        );

        // A second issue for the same request fails and leaves no certificate behind.
        assert!(store.record_certificate(certificate("02")).await.is_err());
        assert!(store.certificate("02").await.unwrap().is_none());

        store.revoke_certificate("01", "key leaked").await.unwrap();
        let revoked = store.certificate("01").await.unwrap().unwrap();
        assert!(revoked.revoked_at.is_some());
        assert_eq!(revoked.revocation_reason.as_deref(), Some("key leaked"));
        assert!(matches!(
            store.revoke_certificate("ff", "x").await,
            Err(StoreError::NotFound { .. })
        ));
    }
);

on_both_backends!(
    rejected_csr_cannot_be_rejected_again,
    |store: Store| async move {
        let owner = partner(&store, "MZP600").await;
        let id = store
            .insert_csr_request(&owner.id, "CN=MZP600", "it@p.example", "PEM")
            .await
            .unwrap();

        store.reject_csr(&id, "wrong organization").await.unwrap();
        let rejected = store.csr_request(&id).await.unwrap().unwrap();
        assert_eq!(rejected.status, CsrStatus::Rejected);
        assert_eq!(rejected.reason.as_deref(), Some("wrong organization"));
        assert!(store.reject_csr(&id, "again").await.is_err());
    }
);

on_both_backends!(first_setting_written_wins, |store: Store| async move {
    let first = store
        .setting_or_insert("page_token_key", "aaaa")
        .await
        .unwrap();
    let second = store
        .setting_or_insert("page_token_key", "bbbb")
        .await
        .unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("aaaa", "aaaa"));
});

on_both_backends!(
    request_counts_add_up_per_minute_and_leave_the_window_after_a_day,
    |store: Store| async move {
        let a = fleetgate_core::ClientId::generate();
        let b = fleetgate_core::ClientId::generate();
        let now = 30_000_000;
        let day = fleetgate_core::rate_limit::WINDOW_MINUTES;

        store
            .add_request_counts(&[(a.clone(), now - day, 7), (a.clone(), now - 5, 2)])
            .await
            .unwrap();
        store
            .add_request_counts(&[(a.clone(), now, 3), (b.clone(), now, 1)])
            .await
            .unwrap();

        let one = store.request_count(&a, now).await.unwrap();
        assert_eq!(one.requests, 5, "the minute a day old is out of the window");
        assert_eq!(one.oldest_minute, Some(now - 5));
        let all = store.request_counts(now).await.unwrap();
        assert_eq!(all[a.as_str()].requests, 5);
        assert_eq!(all[b.as_str()].requests, 1);
        assert_eq!(
            store.request_count(&a, now + day).await.unwrap().requests,
            0
        );

        assert_eq!(store.prune_request_counts(now).await.unwrap(), 1);
        let wider = store.request_count(&a, now - 10).await.unwrap();
        assert_eq!(
            wider.requests, 5,
            "the pruned minute would be in this window"
        );
    }
);
