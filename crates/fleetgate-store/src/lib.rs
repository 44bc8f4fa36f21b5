//! fleetgate's storage: one interface over SQLite (embedded, the default) and PostgreSQL
//! (shared by several nodes).
//!
//! Every query is written once, in SQL that both databases accept, and run on whichever
//! pool the [`Store`] holds (see the `on_pool!` macro); each backend has its own migration
//! folder so that their DDL may differ where it must. Times are stored as Unix milliseconds.
//! Nothing here keeps state of its own: several processes may share one PostgreSQL database.

mod applications;
mod error;
mod fleets;
mod partners;
mod pki;
mod rate_limits;
mod records;
mod settings;
mod vehicle_data;
pub mod vehicle_reads;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::SqliteSynchronous;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use time::OffsetDateTime;

pub use error::StoreError;
pub use fleetgate_core::{ConnectedService, RateLimits};
pub use records::{
    Application, ApplicationTerms, Certificate, CsrRequest, CsrStatus, Fleet, NewCertificate,
    NewPartner, Partner, Vehicle,
};
pub use vehicle_data::{InboundMessage, IngestReport, StoredMessage};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The storage interface of fleetgate, over one pool of either backend.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same query code on whichever pool the store holds.
///
/// The body is compiled once per backend, so each copy is type-checked against that
/// database's own types; `$1`-style placeholders are understood by both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`) and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pool::Postgres(connect_postgres(url).await?)
        } else if url.starts_with("sqlite:") {
            Pool::Sqlite(connect_sqlite(url).await?)
        } else {
            return Err(StoreError::UnsupportedUrl {
                url: redact_url(url),
            });
        };

        tracing::debug!(backend = ?backend_of(&pool), "database connected");
        Ok(Self { pool })
    }

    /// Applies the migrations this backend has not seen yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Pool::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        backend_of(&self.pool)
    }

    /// Closes every connection, waiting for queries under way.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

fn backend_of(pool: &Pool) -> Backend {
    match pool {
        Pool::Sqlite(_) => Backend::Sqlite,
        Pool::Postgres(_) => Backend::Postgres,
    }
}

async fn connect_sqlite(url: &str) -> Result<SqlitePool, StoreError> {
    // WAL lets readers run beside the writer; FULL synchronous makes every commit durable
    // across a power cut, not only across a process crash.
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|source| StoreError::Connect {
            url: redact_url(url),
            source,
        })?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Vehicle messages are inserted in VIN order into B-trees much larger than the
        // default 2 MiB page cache: a bigger one spares most page reads on each batch.
        .pragma("cache_size", "-32768")
        .pragma("temp_store", "memory");

    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect {
            url: redact_url(url),
            source,
        })
}

async fn connect_postgres(url: &str) -> Result<PgPool, StoreError> {
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|source| StoreError::Connect {
            url: redact_url(url),
            source,
        })
}

/// The URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Unix milliseconds of a time, as stored.
pub(crate) fn to_millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The time of stored Unix milliseconds.
pub(crate) fn from_millis(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_the_password_only() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
