//! Filtered reads of vehicle data for the partner API: a vehicle of a fleet by its id, and
//! a vehicle's trips, events and raw messages restricted by time windows (the spec's
//! `timestamps`) and by the filters of each collection, paged in SQL.
//!
//! Every filter value is bound, never spliced into the SQL text; the placeholders are
//! numbered in the order the values are bound, which both backends accept.

use fleetgate_core::vehicle::state::{Alarm, Alert, Collision, StolenPeriod, Trip, TripState};
use fleetgate_core::vehicle::{Channel, VehicleState};
use fleetgate_core::{FleetId, Vin};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::{from_millis, on_pool, to_millis, Backend, Store, StoreError, StoredMessage, Vehicle};

/// Measurement times from `from` to `to`, both included; an end left out is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    /// The earliest time, if any.
    pub from: Option<OffsetDateTime>,
    /// The latest time, if any.
    pub to: Option<OffsetDateTime>,
}

/// Which trips of a vehicle to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TripQuery {
    /// Trips that started in one of these windows; none means any time.
    pub windows: Vec<TimeWindow>,
    /// Distance bounds, km, both included.
    pub distance: (Option<f64>, Option<f64>),
    /// Duration bounds, seconds, both included.
    pub duration: (Option<i64>, Option<i64>),
    /// Trips in one of these states (the state of [`Trip::state`]); none means any.
    pub states: Vec<TripState>,
    /// Only the trips that are over.
    pub done_only: bool,
}

/// Which alarm changes to list, beyond their time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    /// Both the status changes and the triggers.
    Any,
    /// Only the changes of status (armed or disarmed) without a trigger.
    Status,
    /// Only the times it went off.
    Trigger,
}

/// A record table of vehicle events, with the column that dates its rows.
#[derive(Debug, Clone, Copy)]
struct EventTable {
    table: &'static str,
    time_column: &'static str,
    operation: &'static str,
}

const ALERTS: EventTable = EventTable {
    table: "alerts",
    time_column: "started_at",
    operation: "list alerts in time windows",
};

const ALARMS: EventTable = EventTable {
    table: "alarms",
    time_column: "at",
    operation: "list alarms in time windows",
};

const COLLISIONS: EventTable = EventTable {
    table: "collisions",
    time_column: "at",
    operation: "list collisions in time windows",
};

const STOLEN_PERIODS: EventTable = EventTable {
    table: "stolen_periods",
    time_column: "started_at",
    operation: "list stolen periods in time windows",
};

/// A record of one of a fleet's vehicles, with the id of that vehicle (the `{vid}` of its
/// paths).
#[derive(Debug, Clone)]
pub struct InFleet<T> {
    /// The vehicle's id.
    pub vehicle_id: String,
    /// The record.
    pub record: T,
}

/// The vehicles of a fleet that a fleet-wide read covers.
#[derive(Debug, Clone, Copy)]
pub struct FleetReach<'a> {
    /// The fleet.
    pub fleet: &'a FleetId,
    /// Leave out the vehicles whose privacy state is `Full` (the `endUser` profile).
    pub without_full_privacy: bool,
}

impl<'a> FleetReach<'a> {
    /// Every vehicle of the fleet.
    pub fn all(fleet: &'a FleetId) -> Self {
        Self {
            fleet,
            without_full_privacy: false,
        }
    }
}

/// The vehicles whose current privacy state is `Full`.
// LIMITATION: the states table has no privacy column; the state is told by its serde JSON,
// where a held privacy reads `"privacy":{"value":"Full",...}`.
const FULL_PRIVACY: &str = "m.vin NOT IN (SELECT vin FROM vehicle_states \
     WHERE state LIKE '%\"privacy\":{\"value\":\"Full\"%')";

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Real(f64),
    Text(String),
}

/// The `WHERE` clause of a listing and the values it binds, in placeholder order.
struct Filter {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    /// The rows of one vehicle.
    fn of_vehicle(vin: &Vin) -> Self {
        Self {
            clauses: vec!["vin = $1".to_owned()],
            args: vec![Arg::Text(vin.as_str().to_owned())],
        }
    }

    /// The rows of the vehicles of one fleet, in a query that joins `fleet_vehicles` as `m`.
    fn of_fleet(reach: FleetReach<'_>) -> Self {
        let mut clauses = vec!["m.fleet_id = $1".to_owned()];
        if reach.without_full_privacy {
            clauses.push(FULL_PRIVACY.to_owned());
        }
        Self {
            clauses,
            args: vec![Arg::Text(reach.fleet.as_str().to_owned())],
        }
    }

    /// The rows of one trip of one vehicle.
    fn of_trip(vin: &Vin, trip_id: &str) -> Self {
        let mut filter = Self::of_vehicle(vin);
        let placeholder = filter.arg(Arg::Text(trip_id.to_owned()));
        filter.clauses.push(format!("trip_id = {placeholder}"));
        filter
    }

    /// Binds `arg` and returns its placeholder.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Rows whose `column` lies in one of `windows` (all rows when there is none).
    fn windows(&mut self, column: &str, windows: &[TimeWindow]) {
        if windows.is_empty() {
            return;
        }
        let mut parts = Vec::with_capacity(windows.len());
        for window in windows {
            let from = self.arg(Arg::Int(window.from.map_or(i64::MIN, to_millis)));
            let to = self.arg(Arg::Int(window.to.map_or(i64::MAX, to_millis)));
            parts.push(format!("({column} >= {from} AND {column} <= {to})"));
        }
        self.clauses.push(format!("({})", parts.join(" OR ")));
    }

    /// Rows whose `column` is at least `min` and at most `max`, when they are given.
    fn bounds(&mut self, column: &str, min: Option<Arg>, max: Option<Arg>) {
        if let Some(min) = min {
            let placeholder = self.arg(min);
            self.clauses.push(format!("{column} >= {placeholder}"));
        }
        if let Some(max) = max {
            let placeholder = self.arg(max);
            self.clauses.push(format!("{column} <= {placeholder}"));
        }
    }

    fn where_clause(&self) -> String {
        self.clauses.join(" AND ")
    }

    /// The placeholders of the limit and the offset that follow the filter's values.
    fn paging_placeholders(&self) -> (String, String) {
        let next = self.args.len();
        (format!("${}", next + 1), format!("${}", next + 2))
    }
}

/// Binds every value of a filter to a query, in order.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Int(value) => query.bind(*value),
                Arg::Real(value) => query.bind(*value),
                Arg::Text(value) => query.bind(value.as_str()),
            };
        }
        query
    }};
}

/// A vehicle row: id, vin, motorization, brand, created_at, updated_at.
type VehicleRow = (String, String, Option<String>, Option<String>, i64, i64);

/// A raw message row: vin, id, at, received_at, payload.
type MessageRow = (String, String, i64, i64, String);

impl Store {
    /// The vehicle of fleet `fleet` whose id (or, failing that, VIN) is `vid`.
    pub async fn fleet_vehicle(
        &self,
        fleet: &FleetId,
        vid: &str,
    ) -> Result<Option<Vehicle>, StoreError> {
        let sql = "SELECT v.id, v.vin, v.motorization, v.brand, v.created_at, v.updated_at \
                   FROM fleet_vehicles m JOIN vehicles v ON v.id = m.vehicle_id \
                   WHERE m.fleet_id = $1 AND (v.id = $2 OR v.vin = $3) \
                   ORDER BY CASE WHEN v.id = $4 THEN 0 ELSE 1 END LIMIT 1";
        let row: Option<VehicleRow> = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(fleet.as_str())
            .bind(vid)
            .bind(vid)
            .bind(vid)
            .fetch_optional(pool)
            .await)
        .map_err(failed("find a vehicle of a fleet"))?;

        row.map(vehicle_of_row).transpose()
    }

    /// One page of the trips of a vehicle that match `query`, latest start first, and how
    /// many match in all.
    pub async fn vehicle_trips_matching(
        &self,
        vin: &Vin,
        query: &TripQuery,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Trip>, u64), StoreError> {
        let filter = trip_filter(Filter::of_vehicle(vin), query);
        let listing = Listing {
            table: "trips",
            order: "started_at DESC, id DESC",
            operation: "list trips matching filters",
        };
        self.list_matching(&listing, &filter, offset, limit).await
    }

    /// One page of a vehicle's alerts that started in `windows`, newest first, and how
    /// many there are.
    pub async fn vehicle_alerts_in(
        &self,
        vin: &Vin,
        windows: &[TimeWindow],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Alert>, u64), StoreError> {
        self.list_events(ALERTS, vin, windows, offset, limit).await
    }

    /// One page of a vehicle's alarm changes of `kind` in `windows`, newest first, and how
    /// many there are.
    pub async fn vehicle_alarms_in(
        &self,
        vin: &Vin,
        windows: &[TimeWindow],
        kind: AlarmKind,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Alarm>, u64), StoreError> {
        let mut filter = Filter::of_vehicle(vin);
        filter.windows(ALARMS.time_column, windows);
        // LIMITATION: the alarms table has no trigger column, so the kind is told from the
        // record's compact serde JSON, where an alarm without a trigger reads
        // `"trigger":null`.
        match kind {
            AlarmKind::Any => {}
            AlarmKind::Status => filter.clauses.push("data LIKE '%\"trigger\":null%'".into()),
            AlarmKind::Trigger => filter
                .clauses
                .push("data NOT LIKE '%\"trigger\":null%'".into()),
        }
        let listing = Listing::of_events(ALARMS);
        self.list_matching(&listing, &filter, offset, limit).await
    }

    /// One page of a vehicle's collisions in `windows`, newest first, and how many there
    /// are.
    pub async fn vehicle_collisions_in(
        &self,
        vin: &Vin,
        windows: &[TimeWindow],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Collision>, u64), StoreError> {
        self.list_events(COLLISIONS, vin, windows, offset, limit)
            .await
    }

    /// One page of a vehicle's stolen periods that started in `windows`, newest first,
    /// and how many there are.
    pub async fn vehicle_stolen_periods_in(
        &self,
        vin: &Vin,
        windows: &[TimeWindow],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<StolenPeriod>, u64), StoreError> {
        self.list_events(STOLEN_PERIODS, vin, windows, offset, limit)
            .await
    }

    /// The alert `id` of vehicle `vin`.
    pub async fn vehicle_alert(&self, vin: &Vin, id: &str) -> Result<Option<Alert>, StoreError> {
        self.event_by_id(ALERTS, vin, id).await
    }

    /// The alarm change `id` of vehicle `vin`.
    pub async fn vehicle_alarm(&self, vin: &Vin, id: &str) -> Result<Option<Alarm>, StoreError> {
        self.event_by_id(ALARMS, vin, id).await
    }

    /// The collision `id` of vehicle `vin`.
    pub async fn vehicle_collision(
        &self,
        vin: &Vin,
        id: &str,
    ) -> Result<Option<Collision>, StoreError> {
        self.event_by_id(COLLISIONS, vin, id).await
    }

    /// The stolen period `id` of vehicle `vin`.
    pub async fn vehicle_stolen_period(
        &self,
        vin: &Vin,
        id: &str,
    ) -> Result<Option<StolenPeriod>, StoreError> {
        self.event_by_id(STOLEN_PERIODS, vin, id).await
    }

    /// One page of a vehicle's raw messages of `channel` measured in one of `windows`
    /// (any time when there is none), newest first when `newest_first`, else oldest
    /// first, and how many match in all.
    pub async fn vehicle_messages_in(
        &self,
        vin: &Vin,
        channel: Channel,
        windows: &[TimeWindow],
        newest_first: bool,
        page: (u64, u32),
    ) -> Result<(Vec<StoredMessage>, u64), StoreError> {
        let mut filter = Filter::of_vehicle(vin);
        let placeholder = filter.arg(Arg::Text(channel.as_str().to_owned()));
        filter.clauses.push(format!("channel = {placeholder}"));
        filter.windows("at", windows);

        let order = if newest_first {
            "at DESC, id DESC"
        } else {
            "at, id"
        };
        let (limit, offset) = filter.paging_placeholders();
        let select = format!(
            "SELECT vin, id, at, received_at, payload FROM vehicle_messages WHERE {} \
             ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            filter.where_clause()
        );
        let count = format!(
            "SELECT COUNT(*) FROM vehicle_messages WHERE {}",
            filter.where_clause()
        );

        let (rows, total): (Vec<MessageRow>, i64) = on_pool!(self, pool => {
            let rows = bind_args!(sqlx::query_as(&select), &filter.args)
                .bind(i64::from(page.1))
                .bind(sql_offset(page.0))
                .fetch_all(pool)
                .await;
            let total = bind_args!(sqlx::query_scalar(&count), &filter.args)
                .fetch_one(pool)
                .await;
            rows.and_then(|rows| total.map(|total| (rows, total)))
        })
        .map_err(failed("list vehicle messages in time windows"))?;

        let messages = rows
            .into_iter()
            .map(|row| stored_message(row, channel))
            .collect::<Result<_, _>>()?;
        Ok((messages, total.max(0) as u64))
    }

    async fn list_events<T: DeserializeOwned>(
        &self,
        table: EventTable,
        vin: &Vin,
        windows: &[TimeWindow],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<T>, u64), StoreError> {
        let mut filter = Filter::of_vehicle(vin);
        filter.windows(table.time_column, windows);
        let listing = Listing::of_events(table);
        self.list_matching(&listing, &filter, offset, limit).await
    }

    async fn event_by_id<T: DeserializeOwned>(
        &self,
        table: EventTable,
        vin: &Vin,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!(
            "SELECT data FROM {} WHERE vin = $1 AND id = $2",
            table.table
        );
        let json: Option<String> = on_pool!(self, pool => sqlx::query_scalar(&sql)
            .bind(vin.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(failed(table.operation))?;

        json.map(|json| decode(&json, table.table)).transpose()
    }

    /// One page of the `data` of the rows `filter` selects, and how many it selects.
    async fn list_matching<T: DeserializeOwned>(
        &self,
        listing: &Listing,
        filter: &Filter,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<T>, u64), StoreError> {
        let from = format!("FROM {} t WHERE {}", listing.table, filter.where_clause());
        let shape = PageShape {
            table: listing.table,
            key: "id",
            record: "data",
            extra: &[],
            from: &from,
            order: listing.order,
        };
        let sql = page_query(self.backend(), &shape, filter, true);
        let (total, page) = self
            .read_page(&sql, filter, offset, limit, listing.operation)
            .await?;

        let rows: Vec<(T,)> = decode(&page, listing.table)?;
        Ok((rows.into_iter().map(|(record,)| record).collect(), total))
    }
}

/// Fleet-wide reads, and the records of one trip.
impl Store {
    /// One page of the trips of a fleet's vehicles that match `query`, latest start first,
    /// and how many match in all.
    pub async fn fleet_trips_matching(
        &self,
        fleet: FleetReach<'_>,
        query: &TripQuery,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<InFleet<Trip>>, u64), StoreError> {
        let filter = trip_filter(Filter::of_fleet(fleet), query);
        let listing = Listing {
            table: "trips",
            order: "started_at DESC, t.id DESC",
            operation: "list the trips of a fleet",
        };
        self.list_in_fleet(&listing, &filter, offset, limit).await
    }

    /// One page of the alerts of a fleet's vehicles that started in `windows`, newest
    /// first, and how many there are.
    pub async fn fleet_alerts_in(
        &self,
        fleet: FleetReach<'_>,
        windows: &[TimeWindow],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<InFleet<Alert>>, u64), StoreError> {
        self.fleet_events(ALERTS, fleet, windows, offset, limit)
            .await
    }

    /// One page of the collisions of a fleet's vehicles in `windows`, newest first, and
    /// how many there are.
    pub async fn fleet_collisions_in(
        &self,
        fleet: FleetReach<'_>,
        windows: &[TimeWindow],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<InFleet<Collision>>, u64), StoreError> {
        self.fleet_events(COLLISIONS, fleet, windows, offset, limit)
            .await
    }

    /// The alert `id` of one of the fleet's vehicles.
    pub async fn fleet_alert(
        &self,
        fleet: FleetReach<'_>,
        id: &str,
    ) -> Result<Option<InFleet<Alert>>, StoreError> {
        self.fleet_event_by_id(ALERTS, fleet, id).await
    }

    /// The collision `id` of one of the fleet's vehicles.
    pub async fn fleet_collision(
        &self,
        fleet: FleetReach<'_>,
        id: &str,
    ) -> Result<Option<InFleet<Collision>>, StoreError> {
        self.fleet_event_by_id(COLLISIONS, fleet, id).await
    }

    /// One page of the states of the fleet's vehicles that sent data, by VIN, and how
    /// many there are; with `with_maintenance`, only those that sent maintenance figures.
    pub async fn fleet_vehicle_states(
        &self,
        fleet: FleetReach<'_>,
        with_maintenance: bool,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<InFleet<VehicleState>>, u64), StoreError> {
        let mut filter = Filter::of_fleet(fleet);
        if with_maintenance {
            // LIMITATION: the states table has no maintenance column; a state without
            // figures is told by its serde JSON, where the field reads `"maintenance":null`.
            filter
                .clauses
                .push("t.state NOT LIKE '%\"maintenance\":null%'".to_owned());
        }
        let listing = Listing {
            table: "vehicle_states",
            order: "t.vin",
            operation: "list the states of a fleet's vehicles",
        };
        self.list_in_fleet_column(&listing, ("vin", "state"), &filter, offset, limit)
            .await
    }

    /// One page of the alerts raised during trip `trip_id` of vehicle `vin` that started
    /// in `windows`, newest first, and how many there are.
    pub async fn trip_alerts_in(
        &self,
        vin: &Vin,
        trip_id: &str,
        windows: &[TimeWindow],
        page: (u64, u32),
    ) -> Result<(Vec<Alert>, u64), StoreError> {
        let mut filter = Filter::of_trip(vin, trip_id);
        filter.windows(ALERTS.time_column, windows);
        let listing = Listing::of_events(ALERTS);
        self.list_matching(&listing, &filter, page.0, page.1).await
    }

    /// One page of the collisions of trip `trip_id` of vehicle `vin` in `windows`, newest
    /// first, and how many there are.
    pub async fn trip_collisions_in(
        &self,
        vin: &Vin,
        trip_id: &str,
        windows: &[TimeWindow],
        page: (u64, u32),
    ) -> Result<(Vec<Collision>, u64), StoreError> {
        let mut filter = Filter::of_trip(vin, trip_id);
        filter.windows(COLLISIONS.time_column, windows);
        let listing = Listing::of_events(COLLISIONS);
        self.list_matching(&listing, &filter, page.0, page.1).await
    }

    /// The vehicle with this VIN in one of the fleets of partner `partner_id`.
    pub async fn partner_vehicle(
        &self,
        partner_id: &str,
        vin: &Vin,
    ) -> Result<Option<Vehicle>, StoreError> {
        let sql = "SELECT v.id, v.vin, v.motorization, v.brand, v.created_at, v.updated_at \
                   FROM vehicles v JOIN fleet_vehicles m ON m.vehicle_id = v.id \
                   JOIN fleets f ON f.id = m.fleet_id \
                   WHERE f.partner_id = $1 AND v.vin = $2 LIMIT 1";
        let row: Option<VehicleRow> = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(partner_id)
            .bind(vin.as_str())
            .fetch_optional(pool)
            .await)
        .map_err(failed("find a vehicle of a partner"))?;

        row.map(vehicle_of_row).transpose()
    }

    async fn fleet_events<T: DeserializeOwned>(
        &self,
        table: EventTable,
        fleet: FleetReach<'_>,
        windows: &[TimeWindow],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<InFleet<T>>, u64), StoreError> {
        let mut filter = Filter::of_fleet(fleet);
        filter.windows(&format!("t.{}", table.time_column), windows);
        let mut listing = Listing::of_events(table);
        listing.order = match table.time_column {
            "at" => "t.at DESC, t.id DESC",
            _ => "t.started_at DESC, t.id DESC",
        };
        self.list_in_fleet(&listing, &filter, offset, limit).await
    }

    async fn fleet_event_by_id<T: DeserializeOwned>(
        &self,
        table: EventTable,
        fleet: FleetReach<'_>,
        id: &str,
    ) -> Result<Option<InFleet<T>>, StoreError> {
        let filter = Filter::of_fleet(fleet);
        let sql = format!(
            "SELECT t.data, m.vehicle_id FROM {} t JOIN fleet_vehicles m ON m.vin = t.vin \
             WHERE {} AND t.id = $2 LIMIT 1",
            table.table,
            filter.where_clause()
        );
        let row: Option<(String, String)> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(fleet.fleet.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(failed(table.operation))?;

        row.map(|(json, vehicle_id)| in_fleet(&json, vehicle_id, table.table))
            .transpose()
    }

    /// [`Self::list_in_fleet_column`] of the tables whose record is in `data`.
    async fn list_in_fleet<T: DeserializeOwned>(
        &self,
        listing: &Listing,
        filter: &Filter,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<InFleet<T>>, u64), StoreError> {
        self.list_in_fleet_column(listing, ("id", "data"), filter, offset, limit)
            .await
    }

    /// One page of the records of `listing`'s table, as `t`, joined to the fleet
    /// membership `m` of their vehicle, that `filter` selects; and how many it selects.
    /// `column` names the table's key and the column that holds the record.
    async fn list_in_fleet_column<T: DeserializeOwned>(
        &self,
        listing: &Listing,
        column: (&str, &str),
        filter: &Filter,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<InFleet<T>>, u64), StoreError> {
        let from = format!(
            "FROM {} t JOIN fleet_vehicles m ON m.vin = t.vin WHERE {}",
            listing.table,
            filter.where_clause()
        );
        let (key, record) = column;
        let shape = PageShape {
            table: listing.table,
            key,
            record,
            extra: &["m.vehicle_id"],
            from: &from,
            order: listing.order,
        };
        // A fleet's collection is counted with its first page, then again in the
        // background once [`crate::COUNT_TTL`] has passed.
        let count_key = format!("{from} {:?}", filter.args);
        let known = self.counts.get_or_renew(&count_key).map(|(total, renew)| {
            if renew {
                self.recount(count_key.clone(), &from, filter, listing.operation);
            }
            total
        });
        let sql = page_query(self.backend(), &shape, filter, known.is_none());
        let (counted, page) = self
            .read_page(&sql, filter, offset, limit, listing.operation)
            .await?;
        let total = known.unwrap_or_else(|| {
            self.counts.insert(count_key, counted);
            counted
        });

        let rows: Vec<(T, String)> = decode(&page, listing.table)?;
        let records = rows
            .into_iter()
            .map(|(record, vehicle_id)| InFleet { vehicle_id, record })
            .collect();
        Ok((records, total))
    }
}

impl Store {
    /// Counts the rows of `from` that `filter` selects again, in the background, and
    /// remembers the count under `key` (the last count answers meanwhile).
    fn recount(&self, key: String, from: &str, filter: &Filter, operation: &'static str) {
        let (store, sql, args) = (
            self.clone(),
            format!("SELECT COUNT(*) {from}"),
            filter.args.clone(),
        );

        tokio::spawn(async move {
            let counted: Result<i64, _> = on_pool!(store, pool =>
                bind_args!(sqlx::query_scalar(&sql), &args).fetch_one(pool).await);
            match counted {
                Ok(total) => store.counts.insert(key, total.max(0) as u64),
                Err(error) => tracing::warn!(operation, %error, "cannot count a collection again"),
            }
        });
    }

    /// Runs a [`page_query`]: how many rows its filter selects, and the page as JSON.
    async fn read_page(
        &self,
        sql: &str,
        filter: &Filter,
        offset: u64,
        limit: u32,
        operation: &'static str,
    ) -> Result<(u64, String), StoreError> {
        let (total, page): (i64, Option<String>) = on_pool!(self, pool =>
            bind_args!(sqlx::query_as(sql), &filter.args)
                .bind(i64::from(limit))
                .bind(sql_offset(offset))
                .fetch_one(pool)
                .await)
        .map_err(failed(operation))?;
        Ok((total.max(0) as u64, page.unwrap_or_else(|| "[]".to_owned())))
    }
}

/// What one page reads: the rows of `table` (as `t` in `from`) in `order`, each with its
/// `record` column (JSON text) and the `extra` columns of `from`.
struct PageShape<'a> {
    table: &'a str,
    key: &'a str,
    record: &'a str,
    extra: &'a [&'a str],
    from: &'a str,
    order: &'a str,
}

/// The SQL of one page and of how many rows `from` selects, in one round trip: the page
/// comes back as one JSON array whose items are a row's record (as JSON, not as a string to
/// decode again) and extra columns (as strings), so 60 rows cost one exchange with the
/// database instead of one each. The rows are sorted on their keys alone and their records
/// read afterwards by key, so that a large collection is never sorted with its records.
/// Without `count`, the count is left out (it reads -1).
fn page_query(backend: Backend, shape: &PageShape<'_>, filter: &Filter, count: bool) -> String {
    let (limit_at, offset_at) = filter.paging_placeholders();
    let PageShape {
        table,
        key,
        record,
        from,
        order,
        ..
    } = shape;
    let extra: Vec<String> = shape
        .extra
        .iter()
        .enumerate()
        .map(|(index, column)| format!(", {column} AS e{index}"))
        .collect();
    let extra_out: Vec<String> = (0..shape.extra.len())
        .map(|index| format!(", p.e{index}"))
        .collect();
    let (extra, extra_out) = (extra.concat(), extra_out.concat());

    // The sort keys travel with the page, so that the records are put back in their order.
    let sort: Vec<(&str, &str)> = order
        .split(',')
        .map(|item| {
            let item = item.trim();
            item.split_once(' ').unwrap_or((item, ""))
        })
        .collect();
    let sort_in: Vec<String> = sort
        .iter()
        .enumerate()
        .map(|(index, (column, _))| format!(", {column} AS s{index}"))
        .collect();
    let sort_out: Vec<String> = sort
        .iter()
        .enumerate()
        .map(|(index, (_, direction))| format!("p.s{index} {direction}"))
        .collect();
    let (sort_in, sort_out) = (sort_in.concat(), sort_out.join(", "));

    let keys = format!(
        "SELECT t.{key} AS k{extra}{sort_in} {from} \
         ORDER BY {order} LIMIT {limit_at} OFFSET {offset_at}"
    );
    let count = if count {
        format!("SELECT COUNT(*) {from}")
    } else {
        "SELECT CAST(-1 AS BIGINT)".to_owned()
    };
    let aggregate = match backend {
        Backend::Sqlite => {
            format!("json_group_array(json_array(json(r.{record}){extra_out}) ORDER BY {sort_out})")
        }
        Backend::Postgres => format!(
            "json_agg(json_build_array(r.{record}::json{extra_out}) ORDER BY {sort_out})::text"
        ),
    };
    format!(
        "SELECT ({count}), (SELECT {aggregate} FROM ({keys}) AS p \
         JOIN {table} r ON r.{key} = p.k)"
    )
}

fn in_fleet<T: DeserializeOwned>(
    json: &str,
    vehicle_id: String,
    table: &'static str,
) -> Result<InFleet<T>, StoreError> {
    Ok(InFleet {
        vehicle_id,
        record: decode(json, table)?,
    })
}

/// A table listed newest first.
struct Listing {
    table: &'static str,
    order: &'static str,
    operation: &'static str,
}

impl Listing {
    fn of_events(table: EventTable) -> Self {
        let order = match table.time_column {
            "at" => "at DESC, id DESC",
            _ => "started_at DESC, id DESC",
        };
        Self {
            table: table.table,
            order,
            operation: table.operation,
        }
    }
}

/// The filter of a trip listing.
fn trip_filter(mut filter: Filter, query: &TripQuery) -> Filter {
    filter.windows("started_at", &query.windows);
    let (min, max) = query.distance;
    filter.bounds("distance", min.map(Arg::Real), max.map(Arg::Real));
    let (min, max) = query.duration;
    filter.bounds("duration", min.map(Arg::Int), max.map(Arg::Int));

    // LIMITATION: `states` compares the trip's state column (its first fault); a trip
    // with several faults matches only on the first.
    if !query.states.is_empty() {
        let placeholders: Vec<String> = query
            .states
            .iter()
            .map(|state| filter.arg(Arg::Text(state_name(*state).to_owned())))
            .collect();
        filter
            .clauses
            .push(format!("state IN ({})", placeholders.join(", ")));
    }
    if query.done_only {
        filter.clauses.push("done = TRUE".to_owned());
    }
    filter
}

/// A trip state as the `state` column holds it.
fn state_name(state: TripState) -> &'static str {
    match state {
        TripState::Nominal => "Nominal",
        TripState::Unstarted => "Unstarted",
        TripState::DataLacking => "DataLacking",
        TripState::Unfinished => "Unfinished",
    }
}

fn failed(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { operation, source }
}

/// An offset as SQL takes it (beyond the largest, no row is left anyway).
fn sql_offset(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

fn vehicle_of_row(row: VehicleRow) -> Result<Vehicle, StoreError> {
    let (id, vin, motorization, brand, created_at, updated_at) = row;
    let vin = Vin::parse(&vin).map_err(|e| StoreError::Corrupt {
        what: "vehicles.vin",
        detail: e.to_string(),
    })?;
    Ok(Vehicle {
        id,
        vin,
        motorization,
        brand,
        created_at: from_millis(created_at),
        updated_at: from_millis(updated_at),
    })
}

fn stored_message(row: MessageRow, channel: Channel) -> Result<StoredMessage, StoreError> {
    let (vin, id, at, received_at, payload) = row;
    let vin = Vin::parse(&vin).map_err(|e| StoreError::Corrupt {
        what: "vehicle_messages.vin",
        detail: e.to_string(),
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

fn decode<T: DeserializeOwned>(json: &str, table: &'static str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        what: table,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trip_filters_number_their_placeholders_in_bind_order() {
        let vin = Vin::parse("VF3ABCDE0FG123456").unwrap();
        let query = TripQuery {
            windows: vec![TimeWindow::default(), TimeWindow::default()],
            distance: (Some(1.0), None),
            duration: (None, Some(60)),
            states: vec![TripState::Nominal, TripState::Unfinished],
            done_only: true,
        };

        let filter = trip_filter(Filter::of_vehicle(&vin), &query);

        assert_eq!(
            filter.where_clause(),
            "vin = $1 AND ((started_at >= $2 AND started_at <= $3) OR \
             (started_at >= $4 AND started_at <= $5)) AND distance >= $6 AND duration <= $7 \
             AND state IN ($8, $9) AND done = TRUE"
        );
        assert_eq!(filter.paging_placeholders(), ("$10".into(), "$11".into()));
    }
}
