//! fleetgate's storage: one interface over SQLite (embedded, the default) and PostgreSQL
//! (shared by several nodes).
//!
//! Every query is written once, in SQL that both databases accept, and run on whichever
//! pool the [`Store`] holds (see the `on_pool!` macro); each backend has its own migration
//! folder so that their DDL may differ where it must. Times are stored as Unix milliseconds.
//! Nothing here keeps state of its own, so several processes may share one PostgreSQL
//! database; the one thing remembered is how many items fleet-wide collections held in the
//! last second ([`COUNT_TTL`]), since counting a large fleet's records costs more than
//! reading a page of them.

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
use std::sync::Arc;
use std::time::Duration;

use fleetgate_core::recent::Recent;

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
pub use vehicle_data::{InboundMessage, IngestReport, StateWrites, StoredMessage};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// How long the size of a fleet-wide collection, once counted, answers for it: a page read
/// within this time reports the same `total` and skips counting.
pub const COUNT_TTL: Duration = Duration::from_secs(1);

/// The most collection sizes remembered.
const COUNT_CAPACITY: usize = 10_000;

/// The storage interface of fleetgate, over one pool of either backend.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// Sizes of fleet-wide collections, by their counting SQL and its values.
    counts: Arc<Recent<String, u64>>,
    /// The vehicle states the SQLite writer committed last.
    written_states: Arc<vehicle_data::WrittenStates>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("pool", &self.pool).finish()
    }
}

#[derive(Clone, Debug)]
enum Pool {
    /// Every connection, and the one connection that vehicle data is written through.
    Sqlite(SqlitePool, SqliteWriter),
    Postgres(PgPool),
}

/// The SQLite connection that the ingestion's write transactions go through.
///
/// SQLite runs one write transaction at a time anyway; giving them one connection of their
/// own keeps its page cache warm, since a connection drops its cache whenever another one
/// wrote since its last transaction. Through the shared pool, each batch would find a cold
/// cache and read every page it touches again.
#[derive(Clone, Debug)]
struct SqliteWriter(SqlitePool);

/// Runs the same query code on whichever pool the store holds.
///
/// The body is compiled once per backend, so each copy is type-checked against that
/// database's own types; `$1`-style placeholders are understood by both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool, _) => $body,
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
            let (pool, writer) = connect_sqlite(url).await?;
            Pool::Sqlite(pool, SqliteWriter(writer))
        } else {
            return Err(StoreError::UnsupportedUrl {
                url: redact_url(url),
            });
        };

        tracing::debug!(backend = ?backend_of(&pool), "database connected");
        Ok(Self {
            pool,
            counts: Arc::new(Recent::new(COUNT_TTL, COUNT_CAPACITY)),
            written_states: Arc::default(),
        })
    }

    /// Applies the migrations this backend has not seen yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool, _) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
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
        if let Pool::Sqlite(_, writer) = &self.pool {
            writer.0.close().await;
        }
        on_pool!(self, pool => pool.close().await)
    }
}

fn backend_of(pool: &Pool) -> Backend {
    match pool {
        Pool::Sqlite(..) => Backend::Sqlite,
        Pool::Postgres(_) => Backend::Postgres,
    }
}

async fn connect_sqlite(url: &str) -> Result<(SqlitePool, SqlitePool), StoreError> {
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
        .pragma("temp_store", "memory")
        // Once copied back, a write-ahead log grown under a burst is cut back to 64 MiB.
        .pragma("journal_size_limit", "67108864");

    let failed = |source| StoreError::Connect {
        url: redact_url(url),
        source,
    };
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options.clone())
        .await
        .map_err(failed)?;
    // The writer copies the log back itself only once it passes WRITER_CHECKPOINT_PAGES;
    // until then the background checkpoint does the copying (see checkpoint_wal).
    let writer_options = options.pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES.to_string());
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(writer_options)
        .await
        .map_err(failed)?;
    tokio::spawn(checkpoint_wal(pool.clone()));
    Ok((pool, writer))
}

/// How often the write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The size of the write-ahead log (pages of 4 KiB, 64 MiB) past which a commit of the
/// writer connection checkpoints it itself (SQLite's default is 1,000 pages).
const WRITER_CHECKPOINT_PAGES: u32 = 16_384;

/// Copies the write-ahead log back into the database, beside the writer, until the pool
/// closes.
///
/// SQLite does it inside a commit of the writer connection once the log passes 1,000
/// pages, holding up every message of the batch. A passive checkpoint run from another
/// connection never blocks the writer and leaves that commit only the last frames to copy;
/// the writer's own checkpoint is still needed, since the log can start over only when a
/// writer finds it wholly copied.
async fn checkpoint_wal(pool: SqlitePool) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if pool.is_closed() {
            return;
        }
        let done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await;
        if let Err(error) = done {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(%error, "WAL checkpoint failed; will try again");
        }
    }
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
