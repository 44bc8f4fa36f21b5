//! The records derived from messages as rows of their tables, and the statements that
//! upsert them by id.
//!
//! Each row holds the record's full JSON in `data`, plus copies of the fields the listings
//! and the retention filter or sort on. Within one transaction only the last version of
//! each record is written (PostgreSQL refuses to update a row twice in one statement).

use std::collections::{HashMap, HashSet};

use fleetgate_core::vehicle::message::Severity;
use fleetgate_core::vehicle::state::{Alarm, Alert, Collision, StolenPeriod, Trip, TripState};
use fleetgate_core::vehicle::Record;
use serde::Serialize;

use super::sql::{Bind, MultiRow, WriteTx};
use crate::{to_millis, StoreError};

const UPSERT_TRIPS: MultiRow = MultiRow {
    head: "INSERT INTO trips (id, vin, started_at, stopped_at, last_sample_at, state, done, \
           distance, duration, data) ",
    tail: " ON CONFLICT (id) DO UPDATE SET vin = excluded.vin, \
           started_at = excluded.started_at, stopped_at = excluded.stopped_at, \
           last_sample_at = excluded.last_sample_at, state = excluded.state, \
           done = excluded.done, distance = excluded.distance, \
           duration = excluded.duration, data = excluded.data",
    operation: "store trips",
};

const UPSERT_ALERTS: MultiRow = MultiRow {
    head: "INSERT INTO alerts (id, vin, kind, severity, active, started_at, ended_at, trip_id, \
           data) ",
    tail: " ON CONFLICT (id) DO UPDATE SET vin = excluded.vin, kind = excluded.kind, \
           severity = excluded.severity, active = excluded.active, \
           started_at = excluded.started_at, ended_at = excluded.ended_at, \
           trip_id = excluded.trip_id, data = excluded.data",
    operation: "store alerts",
};

const UPSERT_ALARMS: MultiRow = MultiRow {
    head: "INSERT INTO alarms (id, vin, at, data) ",
    tail: " ON CONFLICT (id) DO UPDATE SET vin = excluded.vin, at = excluded.at, \
           data = excluded.data",
    operation: "store alarms",
};

const UPSERT_COLLISIONS: MultiRow = MultiRow {
    head: "INSERT INTO collisions (id, vin, at, trip_id, data) ",
    tail: " ON CONFLICT (id) DO UPDATE SET vin = excluded.vin, at = excluded.at, \
           trip_id = excluded.trip_id, data = excluded.data",
    operation: "store collisions",
};

const UPSERT_STOLEN: MultiRow = MultiRow {
    head: "INSERT INTO stolen_periods (id, vin, active, started_at, ended_at, data) ",
    tail: " ON CONFLICT (id) DO UPDATE SET vin = excluded.vin, active = excluded.active, \
           started_at = excluded.started_at, ended_at = excluded.ended_at, \
           data = excluded.data",
    operation: "store stolen periods",
};

/// The last version of each record of one kind, in the order the records first appeared.
#[derive(Debug)]
struct Latest<T> {
    items: Vec<T>,
    positions: HashMap<String, usize>,
}

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            positions: HashMap::new(),
        }
    }
}

impl<T> Latest<T> {
    /// Keeps `item` as the current version of record `id`.
    fn put(&mut self, id: String, item: T) {
        match self.positions.get(&id) {
            Some(&position) => self.items[position] = item,
            None => {
                self.positions.insert(id, self.items.len());
                self.items.push(item);
            }
        }
    }
}

/// The records derived in one transaction, last version of each id only.
#[derive(Debug, Default)]
pub(super) struct RecordSet {
    trips: Latest<Trip>,
    alerts: Latest<Alert>,
    alarms: Latest<Alarm>,
    collisions: Latest<Collision>,
    stolen: Latest<StolenPeriod>,
}

impl RecordSet {
    /// Adds a record, replacing an earlier version of the same id.
    pub(super) fn add(&mut self, record: Record) {
        match record {
            Record::Trip(trip) => self.trips.put(trip.id.clone(), trip),
            Record::Alert(alert) => self.alerts.put(alert.id.clone(), alert),
            Record::Alarm(alarm) => self.alarms.put(alarm.id.clone(), alarm),
            Record::Collision(collision) => self.collisions.put(collision.id.clone(), collision),
            Record::Stolen(period) => self.stolen.put(period.id.clone(), period),
        }
    }

    /// Leaves out the new versions of trips still under way whose rows exist already
    /// (`stored_open`): a trip's row is written when it starts and when it ends, and in
    /// between its current figures live in the vehicle's state, which the reads of one trip
    /// consult. A driving vehicle thus costs one state update per batch, not two rows.
    pub(super) fn keep_stored_open_trips(&mut self, stored_open: &HashSet<String>) {
        let trips = std::mem::take(&mut self.trips);
        for trip in trips.items {
            if trip.done || !stored_open.contains(&trip.id) {
                self.trips.put(trip.id.clone(), trip);
            }
        }
    }

    /// How many distinct records there are.
    pub(super) fn len(&self) -> usize {
        self.trips.items.len()
            + self.alerts.items.len()
            + self.alarms.items.len()
            + self.collisions.items.len()
            + self.stolen.items.len()
    }

    /// Upserts every record by id.
    pub(super) async fn write(&self, tx: &mut WriteTx) -> Result<(), StoreError> {
        let trips = rows_of(&self.trips.items, trip_row)?;
        UPSERT_TRIPS.execute(tx, &trips).await?;

        let alerts = rows_of(&self.alerts.items, alert_row)?;
        UPSERT_ALERTS.execute(tx, &alerts).await?;

        let alarms = rows_of(&self.alarms.items, alarm_row)?;
        UPSERT_ALARMS.execute(tx, &alarms).await?;

        let collisions = rows_of(&self.collisions.items, collision_row)?;
        UPSERT_COLLISIONS.execute(tx, &collisions).await?;

        let stolen = rows_of(&self.stolen.items, stolen_row)?;
        UPSERT_STOLEN.execute(tx, &stolen).await?;
        Ok(())
    }
}

/// The rows of some records.
fn rows_of<'a, T>(
    items: &'a [T],
    row: fn(&'a T) -> Result<Vec<Bind<'a>>, StoreError>,
) -> Result<Vec<Vec<Bind<'a>>>, StoreError> {
    items.iter().map(row).collect()
}

/// A record as JSON, for the `data` column.
fn data<T: Serialize>(record: &T, what: &'static str) -> Result<Bind<'static>, StoreError> {
    serde_json::to_string(record)
        .map(Bind::owned)
        .map_err(|source| StoreError::Encode { what, source })
}

fn trip_row(trip: &Trip) -> Result<Vec<Bind<'_>>, StoreError> {
    let duration = trip.stopped_at.map(|_| trip.duration_seconds());
    Ok(vec![
        Bind::text(&trip.id),
        Bind::text(trip.vin.as_str()),
        Bind::Int(to_millis(trip.started_at)),
        Bind::OptInt(trip.stopped_at.map(to_millis)),
        Bind::Int(to_millis(trip.last_sample_at)),
        Bind::text(trip_state_name(trip.state())),
        Bind::Bool(trip.done),
        Bind::Real(trip.distance()),
        Bind::OptInt(duration),
        data(trip, "trip")?,
    ])
}

fn alert_row(alert: &Alert) -> Result<Vec<Bind<'_>>, StoreError> {
    Ok(vec![
        Bind::text(&alert.id),
        Bind::text(alert.vin.as_str()),
        Bind::text(&alert.kind),
        Bind::text(severity_name(alert.severity)),
        Bind::Bool(alert.active),
        Bind::Int(to_millis(alert.started_at)),
        Bind::OptInt(alert.ended_at.map(to_millis)),
        Bind::OptText(alert.trip_id.as_deref()),
        data(alert, "alert")?,
    ])
}

fn alarm_row(alarm: &Alarm) -> Result<Vec<Bind<'_>>, StoreError> {
    Ok(vec![
        Bind::text(&alarm.id),
        Bind::text(alarm.vin.as_str()),
        Bind::Int(to_millis(alarm.at)),
        data(alarm, "alarm")?,
    ])
}

fn collision_row(collision: &Collision) -> Result<Vec<Bind<'_>>, StoreError> {
    Ok(vec![
        Bind::text(&collision.id),
        Bind::text(collision.vin.as_str()),
        Bind::Int(to_millis(collision.at)),
        Bind::OptText(collision.trip_id.as_deref()),
        data(collision, "collision")?,
    ])
}

fn stolen_row(period: &StolenPeriod) -> Result<Vec<Bind<'_>>, StoreError> {
    Ok(vec![
        Bind::text(&period.id),
        Bind::text(period.vin.as_str()),
        Bind::Bool(period.active),
        Bind::Int(to_millis(period.started_at)),
        Bind::OptInt(period.ended_at.map(to_millis)),
        data(period, "stolen period")?,
    ])
}

fn trip_state_name(state: TripState) -> &'static str {
    match state {
        TripState::Nominal => "Nominal",
        TripState::Unstarted => "Unstarted",
        TripState::DataLacking => "DataLacking",
        TripState::Unfinished => "Unfinished",
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Information => "Information",
        Severity::Warning => "Warning",
        Severity::Critical => "Critical",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_version_of_a_record_is_kept_in_first_seen_order() {
        let mut latest = Latest::default();
        latest.put("a".to_owned(), 1);
        latest.put("b".to_owned(), 2);
        latest.put("a".to_owned(), 3);

        assert_eq!(latest.items, [3, 2]);
    }
}
