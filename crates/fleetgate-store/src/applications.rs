//! Applications (client ids) and their API version subscriptions.

use fleetgate_core::{ApiVersion, ClientId};
use rand::RngCore;
use time::OffsetDateTime;

use crate::{
    from_millis, on_pool, to_millis, Application, ApplicationTerms, ConnectedService, RateLimits,
    Store, StoreError,
};

/// A random internal id: 16 bytes as hex.
pub(crate) fn random_id() -> String {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(sqlx::FromRow)]
struct ApplicationRow {
    client_id: String,
    partner_id: String,
    name: String,
    versions: String,
    daily_limit: i64,
    burst_limit: i64,
    services: String,
    created_at: i64,
}

impl ApplicationRow {
    fn into_application(self) -> Result<Application, StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            what: "applications",
            detail,
        };

        let client_id = ClientId::parse(&self.client_id).map_err(|e| corrupt(e.to_string()))?;
        let versions = self
            .versions
            .split(',')
            .filter(|v| !v.is_empty())
            .map(|v| v.parse::<ApiVersion>().map_err(|e| corrupt(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;

        let services = self
            .services
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| ConnectedService::parse(s).ok_or_else(|| corrupt(format!("service {s}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let limit = |value: i64| u32::try_from(value).map_err(|e| corrupt(e.to_string()));
        let limits = RateLimits {
            daily: limit(self.daily_limit)?,
            burst: limit(self.burst_limit)?,
        };

        Ok(Application {
            client_id,
            partner_id: self.partner_id,
            name: self.name,
            versions,
            limits,
            services,
            created_at: from_millis(self.created_at),
        })
    }
}

const SELECT_APPLICATION: &str = "SELECT client_id, partner_id, name, versions, daily_limit, \
                                  burst_limit, services, created_at FROM applications";

impl Store {
    /// Creates an application for a partner, subscribed to the given versions, with the
    /// default rate limits and every connected service.
    pub async fn create_application(
        &self,
        partner_id: &str,
        name: &str,
        versions: &[ApiVersion],
    ) -> Result<Application, StoreError> {
        let terms = ApplicationTerms {
            versions: versions.to_vec(),
            limits: RateLimits::default(),
            services: ConnectedService::ALL.to_vec(),
        };
        self.create_application_with(partner_id, name, &terms).await
    }

    /// Creates an application for a partner on the given terms.
    pub async fn create_application_with(
        &self,
        partner_id: &str,
        name: &str,
        terms: &ApplicationTerms,
    ) -> Result<Application, StoreError> {
        let client_id = ClientId::generate();
        let now = OffsetDateTime::now_utc();
        let versions: Vec<_> = terms.versions.iter().map(|v| v.as_str()).collect();
        let services: Vec<_> = terms.services.iter().map(|s| s.as_str()).collect();
        let sql = "INSERT INTO applications (client_id, partner_id, name, versions, \
                   daily_limit, burst_limit, services, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

        on_pool!(self, pool => sqlx::query(sql)
            .bind(client_id.as_str())
            .bind(partner_id)
            .bind(name)
            .bind(versions.join(","))
            .bind(i64::from(terms.limits.daily))
            .bind(i64::from(terms.limits.burst))
            .bind(services.join(","))
            .bind(to_millis(now))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::query("create application", || {
            format!("application {name}")
        }))?;

        Ok(Application {
            client_id,
            partner_id: partner_id.to_owned(),
            name: name.to_owned(),
            versions: terms.versions.clone(),
            limits: terms.limits,
            services: terms.services.clone(),
            created_at: from_millis(to_millis(now)),
        })
    }

    /// Sets the rate limits of an application; false when there is no such application.
    pub async fn set_application_limits(
        &self,
        client_id: &ClientId,
        limits: RateLimits,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE applications SET daily_limit = $1, burst_limit = $2 \
                   WHERE client_id = $3";
        let changed = on_pool!(self, pool => sqlx::query(sql)
            .bind(i64::from(limits.daily))
            .bind(i64::from(limits.burst))
            .bind(client_id.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::query("set application limits", || {
            format!("application {client_id}")
        }))?;
        Ok(changed > 0)
    }

    /// The application with this client id, whoever owns it.
    pub async fn application(
        &self,
        client_id: &ClientId,
    ) -> Result<Option<Application>, StoreError> {
        let sql = format!("{SELECT_APPLICATION} WHERE client_id = $1");
        let row: Option<ApplicationRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(client_id.as_str())
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::query("find application", String::new))?;

        row.map(ApplicationRow::into_application).transpose()
    }

    /// Every application of a partner, oldest first.
    pub async fn applications_of(&self, partner_id: &str) -> Result<Vec<Application>, StoreError> {
        let sql =
            format!("{SELECT_APPLICATION} WHERE partner_id = $1 ORDER BY created_at, client_id");
        let rows: Vec<ApplicationRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(partner_id)
            .fetch_all(pool)
            .await)
        .map_err(StoreError::query("list applications", String::new))?;

        rows.into_iter()
            .map(ApplicationRow::into_application)
            .collect()
    }
}
