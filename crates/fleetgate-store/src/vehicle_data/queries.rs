//! Reading vehicle data: a vehicle's state, its derived records page by page, and its raw
//! messages.

use fleetgate_core::vehicle::state::{Alarm, Alert, Collision, StolenPeriod, Trip};
use fleetgate_core::vehicle::{Channel, VehicleState};
use fleetgate_core::Vin;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::sql::failed;
use super::StoredMessage;
use crate::{from_millis, on_pool, to_millis, Store, StoreError};

/// Every channel a message may be stored under.
const CHANNELS: [Channel; 3] = [Channel::Telemetry, Channel::Events, Channel::Acks];

/// How to page through one kind of record of a vehicle, newest first.
struct Listing {
    /// Selects `data`, with `$1` the VIN, `$2` the limit and `$3` the offset.
    select: &'static str,
    /// Counts the vehicle's records, with `$1` the VIN.
    count: &'static str,
    /// The column read, for errors.
    column: &'static str,
    /// What is listed, for errors.
    operation: &'static str,
}

const TRIPS: Listing = Listing {
    select: "SELECT data FROM trips WHERE vin = $1 \
             ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3",
    count: "SELECT COUNT(*) FROM trips WHERE vin = $1",
    column: "trips.data",
    operation: "list trips",
};

const ALERTS: Listing = Listing {
    select: "SELECT data FROM alerts WHERE vin = $1 \
             ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3",
    count: "SELECT COUNT(*) FROM alerts WHERE vin = $1",
    column: "alerts.data",
    operation: "list alerts",
};

const ALARMS: Listing = Listing {
    select: "SELECT data FROM alarms WHERE vin = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
    count: "SELECT COUNT(*) FROM alarms WHERE vin = $1",
    column: "alarms.data",
    operation: "list alarms",
};

const COLLISIONS: Listing = Listing {
    select: "SELECT data FROM collisions WHERE vin = $1 \
             ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
    count: "SELECT COUNT(*) FROM collisions WHERE vin = $1",
    column: "collisions.data",
    operation: "list collisions",
};

const STOLEN_PERIODS: Listing = Listing {
    select: "SELECT data FROM stolen_periods WHERE vin = $1 \
             ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3",
    count: "SELECT COUNT(*) FROM stolen_periods WHERE vin = $1",
    column: "stolen_periods.data",
    operation: "list stolen periods",
};

/// A raw message row: vin, id, channel, at, received_at, payload.
pub(super) type MessageRow = (String, String, String, i64, i64, String);

impl Store {
    /// The state of a vehicle; none if it never sent a message.
    ///
    /// On SQLite the state this process's writer holds is the most recent (its writing
    /// may have been put off); otherwise the stored one.
    pub async fn vehicle_state(&self, vin: &Vin) -> Result<Option<VehicleState>, StoreError> {
        match self.written_states.get(vin) {
            Some(state) => Ok(Some(state)),
            None => self.stored_vehicle_state(vin).await,
        }
    }

    /// The state of a vehicle as stored in the database; none if it has no row yet.
    pub async fn stored_vehicle_state(
        &self,
        vin: &Vin,
    ) -> Result<Option<VehicleState>, StoreError> {
        let sql = "SELECT state FROM vehicle_states WHERE vin = $1";
        let json: Option<String> = on_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(vin.as_str())
            .fetch_optional(pool)
            .await)
        .map_err(failed("load vehicle state"))?;

        json.map(|json| decode(&json, "vehicle_states.state"))
            .transpose()
    }

    /// One page of a vehicle's trips, newest (latest start) first, and how many it has.
    pub async fn vehicle_trips(
        &self,
        vin: &Vin,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Trip>, u64), StoreError> {
        let (mut trips, total): (Vec<Trip>, u64) =
            self.list_records(&TRIPS, vin, offset, limit).await?;
        for trip in trips.iter_mut().filter(|trip| !trip.done) {
            self.refresh_open_trip(trip).await?;
        }
        Ok((trips, total))
    }

    /// Brings a trip under way up to date: its row is written when it starts and when it
    /// ends, and in between its figures are those of the vehicle's state.
    async fn refresh_open_trip(&self, trip: &mut Trip) -> Result<(), StoreError> {
        let state = self.vehicle_state(&trip.vin).await?;
        let current = state.and_then(|state| state.open_trip);
        if let Some(current) = current.filter(|current| current.id == trip.id) {
            *trip = current;
        }
        Ok(())
    }

    /// One page of a vehicle's alerts, active or ended, newest first, and how many it has.
    pub async fn vehicle_alerts(
        &self,
        vin: &Vin,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Alert>, u64), StoreError> {
        self.list_records(&ALERTS, vin, offset, limit).await
    }

    /// One page of a vehicle's alarm changes, newest first, and how many it has.
    pub async fn vehicle_alarms(
        &self,
        vin: &Vin,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Alarm>, u64), StoreError> {
        self.list_records(&ALARMS, vin, offset, limit).await
    }

    /// One page of a vehicle's collisions, newest first, and how many it has.
    pub async fn vehicle_collisions(
        &self,
        vin: &Vin,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Collision>, u64), StoreError> {
        self.list_records(&COLLISIONS, vin, offset, limit).await
    }

    /// One page of a vehicle's stolen periods, newest first, and how many it has.
    pub async fn vehicle_stolen_periods(
        &self,
        vin: &Vin,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<StolenPeriod>, u64), StoreError> {
        self.list_records(&STOLEN_PERIODS, vin, offset, limit).await
    }

    /// The trip with this id, whichever vehicle made it.
    pub async fn trip(&self, id: &str) -> Result<Option<Trip>, StoreError> {
        let sql = "SELECT data FROM trips WHERE id = $1";
        let json: Option<String> = on_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(failed("find trip"))?;

        let Some(mut trip) = json
            .map(|json| decode::<Trip>(&json, "trips.data"))
            .transpose()?
        else {
            return Ok(None);
        };
        if !trip.done {
            self.refresh_open_trip(&mut trip).await?;
        }
        Ok(Some(trip))
    }

    /// One page of a vehicle's raw messages, oldest first (by the time the vehicle measured
    /// them), and how many match in all: those of one channel, or of all when `channel` is
    /// none, measured from `from` to `to` (both included, each optional).
    ///
    /// This is what telemetry listings and trip waypoints read.
    pub async fn vehicle_messages(
        &self,
        vin: &Vin,
        channel: Option<Channel>,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<StoredMessage>, u64), StoreError> {
        let channels: Vec<&str> = match channel {
            Some(channel) => vec![channel.as_str()],
            None => CHANNELS.iter().map(|channel| channel.as_str()).collect(),
        };
        let from = from.map_or(i64::MIN, to_millis);
        let to = to.map_or(i64::MAX, to_millis);
        let (select, count) = message_listing_sql(channels.len());

        let (rows, total): (Vec<MessageRow>, i64) = on_pool!(self, pool => {
            let mut rows = sqlx::query_as(&select).bind(vin.as_str());
            let mut total = sqlx::query_scalar(&count).bind(vin.as_str());
            for channel in &channels {
                rows = rows.bind(*channel);
                total = total.bind(*channel);
            }
            let rows = rows.bind(from).bind(to).bind(i64::from(limit)).bind(sql_offset(offset));
            let rows = rows.fetch_all(pool).await;
            let total = total.bind(from).bind(to).fetch_one(pool).await;
            rows.and_then(|rows| total.map(|total| (rows, total)))
        })
        .map_err(failed("list vehicle messages"))?;

        let messages = rows
            .into_iter()
            .map(stored_message)
            .collect::<Result<_, _>>()?;
        Ok((messages, total.max(0) as u64))
    }

    /// How many messages are stored, all vehicles together.
    pub async fn message_count(&self) -> Result<u64, StoreError> {
        let sql = "SELECT COUNT(*) FROM vehicle_messages";
        let count: i64 = on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await)
            .map_err(failed("count vehicle messages"))?;
        Ok(count.max(0) as u64)
    }

    /// Whether the message `id` of a vehicle is stored.
    pub async fn has_message(&self, vin: &Vin, id: &str) -> Result<bool, StoreError> {
        let sql = "SELECT COUNT(*) FROM vehicle_messages WHERE vin = $1 AND id = $2";
        let count: i64 = on_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(vin.as_str())
            .bind(id)
            .fetch_one(pool)
            .await)
        .map_err(failed("find vehicle message"))?;
        Ok(count > 0)
    }

    /// One page of a vehicle's records of one kind, and how many it has.
    async fn list_records<T: DeserializeOwned>(
        &self,
        listing: &Listing,
        vin: &Vin,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<T>, u64), StoreError> {
        let (rows, total): (Vec<String>, i64) = on_pool!(self, pool => {
            let rows = sqlx::query_scalar(listing.select)
                .bind(vin.as_str())
                .bind(i64::from(limit))
                .bind(sql_offset(offset))
                .fetch_all(pool)
                .await;
            let total = sqlx::query_scalar(listing.count)
                .bind(vin.as_str())
                .fetch_one(pool)
                .await;
            rows.and_then(|rows| total.map(|total| (rows, total)))
        })
        .map_err(failed(listing.operation))?;

        let records = rows
            .iter()
            .map(|json| decode(json, listing.column))
            .collect::<Result<_, _>>()?;
        Ok((records, total.max(0) as u64))
    }
}

/// The page and count statements of a message listing over `channels` channels.
///
/// Parameters: `$1` the VIN, then the channels, then the first and last times, then (page
/// only) the limit and the offset.
fn message_listing_sql(channels: usize) -> (String, String) {
    let list: Vec<String> = (0..channels).map(|i| format!("${}", i + 2)).collect();
    let from = channels + 2;
    let filter = format!(
        "vin = $1 AND channel IN ({}) AND at >= ${from} AND at <= ${}",
        list.join(", "),
        from + 1
    );

    let select = format!(
        "SELECT vin, id, channel, at, received_at, payload FROM vehicle_messages \
         WHERE {filter} ORDER BY at, id LIMIT ${} OFFSET ${}",
        from + 2,
        from + 3
    );
    let count = format!("SELECT COUNT(*) FROM vehicle_messages WHERE {filter}");
    (select, count)
}

/// An offset as SQL takes it (beyond the largest, no row is left anyway).
fn sql_offset(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

/// A message read back from its row.
pub(super) fn stored_message(row: MessageRow) -> Result<StoredMessage, StoreError> {
    let (vin, id, channel, at, received_at, payload) = row;
    let vin = Vin::parse(&vin).map_err(|e| StoreError::Corrupt {
        what: "vehicle_messages.vin",
        detail: e.to_string(),
    })?;
    let channel = CHANNELS
        .into_iter()
        .find(|known| known.as_str() == channel)
        .ok_or_else(|| StoreError::Corrupt {
            what: "vehicle_messages.channel",
            detail: format!("unknown channel '{channel}'"),
        })?;

    Ok(StoredMessage {
        vin,
        id,
        channel,
        at: from_millis(at),
        received_at: from_millis(received_at),
        payload,
    })
}

/// A record (or state) read back from its JSON.
fn decode<T: DeserializeOwned>(json: &str, column: &'static str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        what: column,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_listings_number_their_parameters_in_bind_order() {
        let (select, count) = message_listing_sql(2);

        assert!(
            select.contains("channel IN ($2, $3) AND at >= $4 AND at <= $5"),
            "{select}"
        );
        assert!(
            select.ends_with("ORDER BY at, id LIMIT $6 OFFSET $7"),
            "{select}"
        );
        assert!(count.ends_with("at <= $5"), "{count}");
        assert_eq!(sql_offset(u64::MAX), i64::MAX);
    }
}
