//! Retention of vehicle data: deleting what is older than a cutoff, a little at a time.
//!
//! Each statement deletes at most a given number of rows and commits on its own, so that
//! ingestion (which needs the write lock on SQLite, and the rows' locks on PostgreSQL) runs
//! between two of them instead of waiting behind one huge delete. The states of the
//! vehicles are never deleted: they are the current picture, not history.

use time::OffsetDateTime;

use super::sql::failed;
use crate::{on_pool, to_millis, Backend, Store, StoreError};

/// One kind of data to prune: a statement deleting at most `$2` rows older than `$1`.
struct Pruned {
    delete: &'static str,
    /// The statement on SQLite, where it differs.
    sqlite: Option<&'static str>,
    operation: &'static str,
}

/// What retention deletes: messages measured before the cutoff, and records that ended
/// before it (an open trip, an active alert or stolen period is kept however old).
const PRUNED: [Pruned; 6] = [
    Pruned {
        delete: "DELETE FROM vehicle_messages WHERE ctid IN \
                 (SELECT ctid FROM vehicle_messages WHERE at < $1 LIMIT $2)",
        // The last message stored is kept, however old, so that the next one gets a higher
        // rowid: the rebuild of the states after a crash finds messages by rowid.
        sqlite: Some(
            "DELETE FROM vehicle_messages WHERE rowid IN \
             (SELECT rowid FROM vehicle_messages WHERE at < $1 \
              AND rowid < (SELECT MAX(rowid) FROM vehicle_messages) LIMIT $2)",
        ),
        operation: "prune vehicle messages",
    },
    Pruned {
        delete: "DELETE FROM trips WHERE id IN \
                 (SELECT id FROM trips WHERE stopped_at < $1 LIMIT $2)",
        sqlite: None,
        operation: "prune trips",
    },
    Pruned {
        delete: "DELETE FROM alerts WHERE id IN \
                 (SELECT id FROM alerts WHERE ended_at < $1 LIMIT $2)",
        sqlite: None,
        operation: "prune alerts",
    },
    Pruned {
        delete: "DELETE FROM alarms WHERE id IN (SELECT id FROM alarms WHERE at < $1 LIMIT $2)",
        sqlite: None,
        operation: "prune alarms",
    },
    Pruned {
        delete: "DELETE FROM collisions WHERE id IN \
                 (SELECT id FROM collisions WHERE at < $1 LIMIT $2)",
        sqlite: None,
        operation: "prune collisions",
    },
    Pruned {
        delete: "DELETE FROM stolen_periods WHERE id IN \
                 (SELECT id FROM stolen_periods WHERE ended_at < $1 LIMIT $2)",
        sqlite: None,
        operation: "prune stolen periods",
    },
];

impl Store {
    /// Deletes the messages measured before `cutoff` and the records that ended before it
    /// (trips stopped, alerts and stolen periods ended, alarms and collisions that
    /// happened), at most `max_rows` rows per statement, until none is left. Returns how
    /// many rows were deleted.
    ///
    /// A message deleted this way is no longer known as a duplicate: if a vehicle sent it
    /// again, it would be stored and applied again.
    pub async fn prune_vehicle_data(
        &self,
        cutoff: OffsetDateTime,
        max_rows: u32,
    ) -> Result<u64, StoreError> {
        let cutoff = to_millis(cutoff);
        let max_rows = max_rows.max(1);

        let mut deleted = 0;
        for pruned in &PRUNED {
            deleted += self.prune(pruned, cutoff, max_rows).await?;
        }
        Ok(deleted)
    }

    /// Runs one pruning statement until it deletes fewer rows than it may.
    async fn prune(&self, pruned: &Pruned, cutoff: i64, max_rows: u32) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let delete = match self.backend() {
                Backend::Sqlite => pruned.sqlite.unwrap_or(pruned.delete),
                Backend::Postgres => pruned.delete,
            };
            let done = on_pool!(self, pool => sqlx::query(delete)
                .bind(cutoff)
                .bind(i64::from(max_rows))
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))
            .map_err(failed(pruned.operation))?;

            deleted += done;
            if done < u64::from(max_rows) {
                return Ok(deleted);
            }
        }
    }
}
