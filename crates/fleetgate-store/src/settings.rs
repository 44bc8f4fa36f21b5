//! Deployment-wide secrets and settings that every node must share (e.g. the page-token key).

use crate::{on_pool, Store, StoreError};

impl Store {
    /// The value of a setting, creating it with `initial` if it does not exist yet.
    ///
    /// When several nodes start at once, the first insert wins and every node reads the
    /// same value back.
    pub async fn setting_or_insert(&self, name: &str, initial: &str) -> Result<String, StoreError> {
        let insert = "INSERT INTO settings (name, value) VALUES ($1, $2) \
                      ON CONFLICT (name) DO NOTHING";
        let select = "SELECT value FROM settings WHERE name = $1";

        on_pool!(self, pool => {
            let inserted = sqlx::query(insert).bind(name).bind(initial).execute(pool).await;
            match inserted {
                Ok(_) => sqlx::query_scalar(select).bind(name).fetch_one(pool).await,
                Err(e) => Err(e),
            }
        })
        .map_err(StoreError::query("read setting", String::new))
    }
}
