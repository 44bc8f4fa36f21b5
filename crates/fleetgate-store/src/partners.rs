//! Partners: creation and look-up by login.

use fleetgate_core::Login;
use time::OffsetDateTime;

use crate::{from_millis, on_pool, to_millis, NewPartner, Partner, Store, StoreError};

#[derive(sqlx::FromRow)]
struct PartnerRow {
    id: String,
    login: String,
    email: String,
    organization: String,
    password_hash: String,
    created_at: i64,
}

impl PartnerRow {
    fn into_partner(self) -> Result<Partner, StoreError> {
        let login = Login::parse(&self.login).map_err(|e| StoreError::Corrupt {
            what: "partners.login",
            detail: e.to_string(),
        })?;
        Ok(Partner {
            id: self.id,
            login,
            email: self.email,
            organization: self.organization,
            password_hash: self.password_hash,
            created_at: from_millis(self.created_at),
        })
    }
}

const SELECT_PARTNER: &str =
    "SELECT id, login, email, organization, password_hash, created_at FROM partners";

impl Store {
    /// Creates a partner; its login must be new.
    pub async fn create_partner(&self, new: NewPartner<'_>) -> Result<Partner, StoreError> {
        let id = crate::applications::random_id();
        let now = OffsetDateTime::now_utc();
        let sql =
            "INSERT INTO partners (id, login, email, organization, password_hash, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6)";

        on_pool!(self, pool => sqlx::query(sql)
            .bind(&id)
            .bind(new.login.as_str())
            .bind(new.email)
            .bind(new.organization)
            .bind(new.password_hash)
            .bind(to_millis(now))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::query("create partner", || {
            format!("partner {}", new.login)
        }))?;

        Ok(Partner {
            id,
            login: new.login.clone(),
            email: new.email.to_owned(),
            organization: new.organization.to_owned(),
            password_hash: new.password_hash.to_owned(),
            created_at: from_millis(to_millis(now)),
        })
    }

    /// The partner with this login, if any.
    pub async fn partner_by_login(&self, login: &Login) -> Result<Option<Partner>, StoreError> {
        let sql = format!("{SELECT_PARTNER} WHERE login = $1");
        let row: Option<PartnerRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(login.as_str())
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::query("find partner", String::new))?;

        row.map(PartnerRow::into_partner).transpose()
    }

    /// The partner with this internal id, if any.
    pub async fn partner(&self, id: &str) -> Result<Option<Partner>, StoreError> {
        let sql = format!("{SELECT_PARTNER} WHERE id = $1");
        let row: Option<PartnerRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::query("find partner", String::new))?;

        row.map(PartnerRow::into_partner).transpose()
    }

    /// The partner with this login, or a not-found error naming it.
    pub async fn require_partner(&self, login: &Login) -> Result<Partner, StoreError> {
        self.partner_by_login(login)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("partner {login}"),
            })
    }
}

impl Store {
    /// Every partner, by login.
    pub async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        let sql = format!("{SELECT_PARTNER} ORDER BY login");
        let rows: Vec<PartnerRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .fetch_all(pool)
            .await)
        .map_err(StoreError::query("list partners", String::new))?;

        rows.into_iter().map(PartnerRow::into_partner).collect()
    }
}
