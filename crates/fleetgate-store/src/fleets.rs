//! Fleets and the vehicles they list.

use fleetgate_core::{FleetId, Vin};
use time::OffsetDateTime;

use crate::applications::random_id;
use crate::{from_millis, on_pool, to_millis, Fleet, Store, StoreError, Vehicle};

#[derive(sqlx::FromRow)]
struct FleetRow {
    id: String,
    partner_id: String,
    name: String,
    description: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl FleetRow {
    fn into_fleet(self) -> Result<Fleet, StoreError> {
        let id = FleetId::parse(&self.id).map_err(|e| StoreError::Corrupt {
            what: "fleets.id",
            detail: e.to_string(),
        })?;
        Ok(Fleet {
            id,
            partner_id: self.partner_id,
            name: self.name,
            description: self.description,
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct VehicleRow {
    id: String,
    vin: String,
    motorization: Option<String>,
    brand: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl VehicleRow {
    fn into_vehicle(self) -> Result<Vehicle, StoreError> {
        let vin = Vin::parse(&self.vin).map_err(|e| StoreError::Corrupt {
            what: "vehicles.vin",
            detail: e.to_string(),
        })?;
        Ok(Vehicle {
            id: self.id,
            vin,
            motorization: self.motorization,
            brand: self.brand,
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
        })
    }
}

const SELECT_FLEET: &str =
    "SELECT id, partner_id, name, description, created_at, updated_at FROM fleets";

impl Store {
    /// Creates a fleet owned by a partner.
    pub async fn create_fleet(
        &self,
        partner_id: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<Fleet, StoreError> {
        let id = FleetId::generate();
        let now = to_millis(OffsetDateTime::now_utc());
        let sql = "INSERT INTO fleets (id, partner_id, name, description, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $5)";

        on_pool!(self, pool => sqlx::query(sql)
            .bind(id.as_str())
            .bind(partner_id)
            .bind(name)
            .bind(description)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::query("create fleet", || {
            format!("fleet {name}")
        }))?;

        Ok(Fleet {
            id,
            partner_id: partner_id.to_owned(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            created_at: from_millis(now),
            updated_at: from_millis(now),
        })
    }

    /// The fleet with this id, whoever owns it.
    pub async fn fleet(&self, id: &FleetId) -> Result<Option<Fleet>, StoreError> {
        let sql = format!("{SELECT_FLEET} WHERE id = $1");
        let row: Option<FleetRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::query("find fleet", String::new))?;

        row.map(FleetRow::into_fleet).transpose()
    }

    /// One page of a partner's fleets, oldest first, and how many there are in all.
    pub async fn fleets_of(
        &self,
        partner_id: &str,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Fleet>, u64), StoreError> {
        let sql = format!(
            "{SELECT_FLEET} WHERE partner_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3"
        );
        let count_sql = "SELECT COUNT(*) FROM fleets WHERE partner_id = $1";

        let (rows, total): (Vec<FleetRow>, i64) = on_pool!(self, pool => {
            let rows = sqlx::query_as(&sql)
                .bind(partner_id)
                .bind(i64::from(limit))
                .bind(offset as i64)
                .fetch_all(pool)
                .await;
            let total = sqlx::query_scalar(count_sql).bind(partner_id).fetch_one(pool).await;
            rows.and_then(|rows| total.map(|total| (rows, total)))
        })
        .map_err(StoreError::query("list fleets", String::new))?;

        let fleets = rows
            .into_iter()
            .map(FleetRow::into_fleet)
            .collect::<Result<_, _>>()?;
        Ok((fleets, total.max(0) as u64))
    }

    /// Adds vehicles to a fleet, creating the vehicles not known yet; returns how many
    /// were not already in the fleet.
    pub async fn add_vehicles(&self, fleet: &FleetId, vins: &[Vin]) -> Result<u64, StoreError> {
        let now = to_millis(OffsetDateTime::now_utc());
        let insert_vehicle = "INSERT INTO vehicles (id, vin, created_at, updated_at) \
                              VALUES ($1, $2, $3, $3) ON CONFLICT (vin) DO NOTHING";
        let insert_member = "INSERT INTO fleet_vehicles (fleet_id, vehicle_id, vin, added_at) \
                             SELECT $1, id, vin, $3 FROM vehicles WHERE vin = $2 \
                             ON CONFLICT (fleet_id, vehicle_id) DO NOTHING";

        let added = on_pool!(self, pool => {
            let failed = || StoreError::query("add vehicles", String::new);
            let mut tx = pool.begin().await.map_err(failed())?;
            let mut added = 0;
            for vin in vins {
                sqlx::query(insert_vehicle)
                    .bind(random_id())
                    .bind(vin.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed())?;
                added += sqlx::query(insert_member)
                    .bind(fleet.as_str())
                    .bind(vin.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed())?
                    .rows_affected();
            }
            tx.commit().await.map_err(failed())?;
            added
        });

        Ok(added)
    }

    /// The vehicle with this VIN, in whichever fleet.
    pub async fn vehicle_by_vin(&self, vin: &Vin) -> Result<Option<Vehicle>, StoreError> {
        let sql = "SELECT id, vin, motorization, brand, created_at, updated_at \
                   FROM vehicles WHERE vin = $1";
        let row: Option<VehicleRow> = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(vin.as_str())
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::query("find vehicle", || {
            vin.as_str().to_owned()
        }))?;

        row.map(VehicleRow::into_vehicle).transpose()
    }

    /// One page of a fleet's vehicles in VIN order, optionally those whose VIN starts with
    /// a prefix, and how many match in all.
    pub async fn vehicles_of_fleet(
        &self,
        fleet: &FleetId,
        vin_prefix: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Vehicle>, u64), StoreError> {
        // Compared as a substring rather than with LIKE, so that no character is special.
        let prefix = vin_prefix.unwrap_or("");
        let sql = "SELECT v.id, v.vin, v.motorization, v.brand, v.created_at, v.updated_at \
                   FROM fleet_vehicles m JOIN vehicles v ON v.id = m.vehicle_id \
                   WHERE m.fleet_id = $1 AND substr(m.vin, 1, length($2)) = $2 \
                   ORDER BY m.vin LIMIT $3 OFFSET $4";
        let count_sql = "SELECT COUNT(*) FROM fleet_vehicles \
                         WHERE fleet_id = $1 AND substr(vin, 1, length($2)) = $2";

        let (rows, total): (Vec<VehicleRow>, i64) = on_pool!(self, pool => {
            let rows = sqlx::query_as(sql)
                .bind(fleet.as_str())
                .bind(prefix)
                .bind(i64::from(limit))
                .bind(offset as i64)
                .fetch_all(pool)
                .await;
            let total = sqlx::query_scalar(count_sql)
                .bind(fleet.as_str())
                .bind(prefix)
                .fetch_one(pool)
                .await;
            rows.and_then(|rows| total.map(|total| (rows, total)))
        })
        .map_err(StoreError::query("list vehicles", String::new))?;

        let vehicles = rows
            .into_iter()
            .map(VehicleRow::into_vehicle)
            .collect::<Result<_, _>>()?;
        Ok((vehicles, total.max(0) as u64))
    }
}
