//! What can go wrong in the store.

/// A storage failure, with the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported backend.
    #[error("unsupported database URL '{url}': expected sqlite://PATH or postgres://...")]
    UnsupportedUrl {
        /// The URL, password removed.
        url: String,
    },
    /// The database cannot be reached or opened.
    #[error("cannot connect to the database at {url}")]
    Connect {
        /// The URL, password removed.
        url: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique value is already taken.
    #[error("{what} already exists")]
    Conflict {
        /// What was duplicated (e.g. "partner MZP123").
        what: String,
    },
    /// A record the operation needs does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// A stored value cannot be read back (a bug or a hand-edited database).
    #[error("corrupt stored value in {what}: {detail}")]
    Corrupt {
        /// Where.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A value could not be encoded to be stored.
    #[error("cannot encode {what} for storage")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// Any other database failure.
    #[error("database query failed: {operation}")]
    Query {
        /// What the store was doing.
        operation: &'static str,
        /// Why it failed.
        #[source]
        source: sqlx::Error,
    },
}

impl StoreError {
    /// Wraps a database error with the operation it interrupted; unique violations become
    /// [`StoreError::Conflict`].
    pub(crate) fn query(
        operation: &'static str,
        what: impl FnOnce() -> String,
    ) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| {
            let unique = source
                .as_database_error()
                .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation);
            if unique {
                Self::Conflict { what: what() }
            } else {
                Self::Query { operation, source }
            }
        }
    }
}
