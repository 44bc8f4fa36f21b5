//! Write transactions and multi-row statements that run on either backend.
//!
//! A [`WriteTx`] holds a transaction of whichever backend the store uses; [`MultiRow`] sends
//! many rows in one `INSERT ... VALUES (..), (..)` statement, split into as few statements
//! as the backends' limits on bind parameters allow. Values are bound, never spliced into
//! the SQL text, and the placeholders are those of each backend (`?` for SQLite, whose
//! numbered parameters are looked up by name, `$n` for PostgreSQL).

use std::borrow::Cow;

use sqlx::{Postgres, Sqlite, Transaction};

use crate::{Backend, Pool, Store, StoreError};

/// The most rows one statement carries: enough to amortize a statement's round trip and
/// preparation, small enough that a full-size statement is worth keeping prepared.
const MAX_ROWS_PER_STATEMENT: usize = 500;

/// The most bind parameters one statement may carry on a backend.
fn max_binds(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 32_766,
        Backend::Postgres => 65_535,
    }
}

/// How many rows of `columns` values one statement may carry on a backend.
pub(super) fn rows_per_statement(backend: Backend, columns: usize) -> usize {
    (max_binds(backend) / columns.max(1)).clamp(1, MAX_ROWS_PER_STATEMENT)
}

/// A database error, with the operation it interrupted.
pub(super) fn failed(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { operation, source }
}

/// A write transaction on either backend.
pub(super) enum WriteTx {
    /// Begun with `BEGIN IMMEDIATE`: the write lock is taken at once.
    Sqlite(Transaction<'static, Sqlite>),
    /// A READ COMMITTED transaction; rows are locked as the statements reach them.
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same statement code on the connection of whichever transaction is open.
///
/// The body is compiled once per backend, like the crate's `on_pool!`.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            WriteTx::Sqlite($conn) => $body,
            WriteTx::Postgres($conn) => $body,
        }
    };
}
pub(super) use on_tx;

impl Store {
    /// Begins a write transaction.
    ///
    /// On SQLite it takes the write lock at once (waiting for the busy timeout), so that a
    /// transaction that reads before it writes cannot fail to upgrade its lock.
    pub(super) async fn begin_write(&self, operation: &'static str) -> Result<WriteTx, StoreError> {
        match &self.pool {
            Pool::Sqlite(_, writer) => writer
                .0
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map(WriteTx::Sqlite),
            Pool::Postgres(pool) => pool.begin().await.map(WriteTx::Postgres),
        }
        .map_err(failed(operation))
    }
}

impl WriteTx {
    /// The backend of the transaction.
    pub(super) fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// SQLite's `data_version` on the transaction's connection, which changes whenever
    /// another connection commits; none on PostgreSQL.
    pub(super) async fn data_version(&mut self) -> Result<Option<i64>, StoreError> {
        match self {
            Self::Sqlite(tx) => sqlx::query_scalar("PRAGMA data_version")
                .fetch_one(&mut **tx)
                .await
                .map(Some)
                .map_err(failed("read the data version")),
            Self::Postgres(_) => Ok(None),
        }
    }

    /// Commits everything the transaction wrote.
    pub(super) async fn commit(self, operation: &'static str) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
        .map_err(failed(operation))
    }
}

/// One value to bind in a multi-row statement.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bind<'a> {
    /// Text, borrowed or built for the statement.
    Text(Cow<'a, str>),
    /// Text or NULL.
    OptText(Option<&'a str>),
    /// An integer (times are Unix milliseconds).
    Int(i64),
    /// An integer or NULL.
    OptInt(Option<i64>),
    /// A floating-point number.
    Real(f64),
    /// A boolean (an integer on SQLite).
    Bool(bool),
}

impl<'a> Bind<'a> {
    /// Borrowed text.
    pub(super) fn text(text: &'a str) -> Self {
        Self::Text(Cow::Borrowed(text))
    }

    /// Text built for the statement.
    pub(super) fn owned(text: String) -> Self {
        Self::Text(Cow::Owned(text))
    }
}

/// Builds `head VALUES (..), (..) tail` for a chunk of rows, binding every value.
macro_rules! values_query {
    ($head:expr, $rows:expr, $tail:expr) => {{
        let mut builder = sqlx::QueryBuilder::new($head);
        builder.push_values($rows, |mut values, row| {
            for value in row {
                match value {
                    Bind::Text(text) => values.push_bind(text.as_ref()),
                    Bind::OptText(text) => values.push_bind(*text),
                    Bind::Int(number) => values.push_bind(*number),
                    Bind::OptInt(number) => values.push_bind(*number),
                    Bind::Real(number) => values.push_bind(*number),
                    Bind::Bool(flag) => values.push_bind(*flag),
                };
            }
        });
        builder.push($tail);
        builder
    }};
}

/// A statement sending many rows: `head` (up to the column list), the rows, `tail`.
#[derive(Debug, Clone, Copy)]
pub(super) struct MultiRow {
    /// `INSERT INTO table (columns) `.
    pub head: &'static str,
    /// ` ON CONFLICT ...`, and `RETURNING ...` for [`MultiRow::fetch`].
    pub tail: &'static str,
    /// What the statement does, for errors.
    pub operation: &'static str,
}

impl MultiRow {
    /// Sends every row; returns how many rows the statements affected.
    pub(super) async fn execute(
        &self,
        tx: &mut WriteTx,
        rows: &[Vec<Bind<'_>>],
    ) -> Result<u64, StoreError> {
        let mut affected = 0;
        for chunk in self.chunks(tx.backend(), rows) {
            let full = chunk.len() == MAX_ROWS_PER_STATEMENT;
            let done = on_tx!(tx, conn => {
                let mut builder = values_query!(self.head, chunk, self.tail);
                let done = builder.build().persistent(full).execute(&mut **conn).await;
                done.map(|done| done.rows_affected())
            })
            .map_err(failed(self.operation))?;
            affected += done;
        }
        Ok(affected)
    }

    /// Sends every row; returns the rows its `RETURNING` clause names, as `T`.
    pub(super) async fn fetch<T>(
        &self,
        tx: &mut WriteTx,
        rows: &[Vec<Bind<'_>>],
    ) -> Result<Vec<T>, StoreError>
    where
        T: Send + Unpin,
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let mut returned = Vec::with_capacity(rows.len());
        for chunk in self.chunks(tx.backend(), rows) {
            let full = chunk.len() == MAX_ROWS_PER_STATEMENT;
            let fetched: Vec<T> = on_tx!(tx, conn => {
                let mut builder = values_query!(self.head, chunk, self.tail);
                builder.build_query_as().persistent(full).fetch_all(&mut **conn).await
            })
            .map_err(failed(self.operation))?;
            returned.extend(fetched);
        }
        Ok(returned)
    }

    /// The rows cut into chunks that fit one statement (none for no rows).
    fn chunks<'r, 'a>(
        &self,
        backend: Backend,
        rows: &'r [Vec<Bind<'a>>],
    ) -> std::slice::Chunks<'r, Vec<Bind<'a>>> {
        let columns = rows.first().map_or(1, Vec::len);
        rows.chunks(rows_per_statement(backend, columns))
    }
}

/// Runs `head (k1, k2, ...) tail` for each chunk of `keys`, inside a transaction; returns
/// every pair of text selected.
pub(super) async fn select_pairs_in(
    tx: &mut WriteTx,
    head: &str,
    keys: &[&str],
    tail: &str,
    operation: &'static str,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut selected = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(rows_per_statement(tx.backend(), 1)) {
        let full = chunk.len() == MAX_ROWS_PER_STATEMENT;
        let pairs: Vec<(String, String)> = on_tx!(tx, conn => {
            let mut builder = sqlx::QueryBuilder::new(head);
            builder.push("(");
            let mut list = builder.separated(", ");
            for key in chunk {
                list.push_bind(*key);
            }
            builder.push(")").push(tail);
            builder.build_query_as().persistent(full).fetch_all(&mut **conn).await
        })
        .map_err(failed(operation))?;
        selected.extend(pairs);
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_stay_below_each_backends_bind_limit() {
        assert_eq!(
            rows_per_statement(Backend::Sqlite, 6),
            MAX_ROWS_PER_STATEMENT
        );
        assert_eq!(rows_per_statement(Backend::Sqlite, 100), 327);
        assert_eq!(rows_per_statement(Backend::Postgres, 100), 500);
        assert_eq!(rows_per_statement(Backend::Postgres, 1_000), 65);
        assert_eq!(
            rows_per_statement(Backend::Sqlite, 0),
            MAX_ROWS_PER_STATEMENT
        );
    }
}
