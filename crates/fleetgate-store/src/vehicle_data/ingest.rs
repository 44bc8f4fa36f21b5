//! The write path of vehicle data: storing batches of messages with what they derive, and
//! closing the trips of vehicles gone silent.

use std::collections::HashSet;

use fleetgate_core::vehicle::derive;
use fleetgate_core::vehicle::{Record, VehicleMessage};
use fleetgate_core::Vin;
use time::OffsetDateTime;

use super::rows::RecordSet;
use super::sql::{failed, Bind, MultiRow, WriteTx};
use super::states::LoadedStates;
use super::{InboundMessage, IngestReport};
use crate::{on_pool, to_millis, Store, StoreError};

const INSERT_MESSAGES: MultiRow = MultiRow {
    head: "INSERT INTO vehicle_messages (vin, id, channel, at, received_at, payload) ",
    tail: " ON CONFLICT (vin, id) DO NOTHING RETURNING vin, id",
    operation: "store vehicle messages",
};

/// How many vehicles one transaction of [`Store::close_silent_trips`] handles, so that the
/// sweep never holds the write lock long.
const SWEEP_CHUNK: usize = 500;

impl Store {
    /// Stores a batch of messages and everything derived from them, in one transaction.
    ///
    /// A message whose VIN and id are already stored, or appear earlier in the batch, is a
    /// duplicate: skipped, and not applied again. The new ones are applied in batch order
    /// to their vehicle's [`VehicleState`](fleetgate_core::vehicle::VehicleState) (the
    /// stored one, or a new one) with [`derive::apply`]; then the states and the last
    /// version of each derived record are written. Nothing is stored unless all is: once
    /// this returns `Ok`, the messages may be acknowledged to the vehicles.
    ///
    /// On PostgreSQL the vehicles' states are locked until the commit, so that nodes
    /// ingesting the same vehicle take turns.
    pub async fn ingest(&self, batch: &[InboundMessage]) -> Result<IngestReport, StoreError> {
        if batch.is_empty() {
            return Ok(IngestReport::default());
        }
        let unique = first_occurrences(batch);
        let mut tx = self.begin_write("ingest vehicle messages").await?;

        let fresh = insert_messages(&mut tx, &unique).await?;
        let vins: Vec<&Vin> = fresh.iter().map(|message| &message.vin).collect();
        // LIMITATION: every batch writes back the whole state of each vehicle it touches;
        // writing them once a second instead needs a replay of the messages after a crash
        // (docs/benchmarks.md §3).
        let mut states = LoadedStates::lock(&mut tx, &vins, &self.written_states).await?;
        let stored_open = states.open_trip_ids();

        let mut records = RecordSet::default();
        for message in &fresh {
            let state = states.get_mut(&message.vin);
            derive::apply(state, message)
                .into_iter()
                .for_each(|record| records.add(record));
        }
        records.keep_stored_open_trips(&stored_open);

        states.write(&mut tx).await?;
        records.write(&mut tx).await?;
        tx.commit("ingest vehicle messages").await?;
        states.committed(&self.written_states);

        Ok(IngestReport {
            stored: fresh.len(),
            duplicates: batch.len() - fresh.len(),
            records: records.len(),
        })
    }

    /// Closes the trips of the vehicles that have been silent too long at `now`.
    ///
    /// Every vehicle whose open trip's last sample is more than [`derive::SILENCE`] before
    /// `now` goes through [`derive::close_if_silent`]; the trips it closes are stored with
    /// the states, a few hundred vehicles per transaction. Returns how many trips were
    /// closed.
    pub async fn close_silent_trips(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let vins = self.silent_candidates(now).await?;

        let mut closed = 0;
        for chunk in vins.chunks(SWEEP_CHUNK) {
            closed += self.close_trips_of(chunk, now).await?;
        }
        Ok(closed)
    }

    /// The vehicles whose open trip had no sample for [`derive::SILENCE`] at `now`.
    async fn silent_candidates(&self, now: OffsetDateTime) -> Result<Vec<Vin>, StoreError> {
        let sql = "SELECT vin FROM vehicle_states WHERE open_trip_last_sample < $1 ORDER BY vin";
        let cutoff = to_millis(now - derive::SILENCE);

        let vins: Vec<String> = on_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(cutoff)
            .fetch_all(pool)
            .await)
        .map_err(failed("find silent trips"))?;

        vins.iter()
            .map(|vin| {
                Vin::parse(vin).map_err(|e| StoreError::Corrupt {
                    what: "vehicle_states.vin",
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// Closes, in one transaction, the silent trips of some vehicles; returns how many.
    async fn close_trips_of(&self, vins: &[Vin], now: OffsetDateTime) -> Result<usize, StoreError> {
        let mut tx = self.begin_write("close silent trips").await?;
        let vins: Vec<&Vin> = vins.iter().collect();
        let mut states = LoadedStates::lock(&mut tx, &vins, &self.written_states).await?;

        let mut records = RecordSet::default();
        let mut closed = 0;
        for state in states.iter_mut() {
            if let Some(record) = derive::close_if_silent(state, now) {
                closed += usize::from(matches!(record, Record::Trip(_)));
                records.add(record);
            }
        }

        states.write(&mut tx).await?;
        records.write(&mut tx).await?;
        tx.commit("close silent trips").await?;
        states.committed(&self.written_states);
        Ok(closed)
    }
}

/// The batch without the messages repeated within it (the first occurrence stays).
fn first_occurrences(batch: &[InboundMessage]) -> Vec<&InboundMessage> {
    let mut seen = HashSet::with_capacity(batch.len());
    batch
        .iter()
        .filter(|inbound| seen.insert(key(inbound)))
        .collect()
}

/// What identifies a message: its vehicle and its id.
fn key(inbound: &InboundMessage) -> (&str, &str) {
    (inbound.message.vin.as_str(), inbound.message.id.as_str())
}

/// Inserts the messages not stored yet; returns them, in the order given.
///
/// The rows are sent in key order, so that two transactions inserting the same messages
/// reach them in the same order and wait for each other rather than deadlock.
async fn insert_messages<'b>(
    tx: &mut WriteTx,
    unique: &[&'b InboundMessage],
) -> Result<Vec<&'b VehicleMessage>, StoreError> {
    let mut sorted = unique.to_vec();
    sorted.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
    let rows: Vec<Vec<Bind<'_>>> = sorted.iter().map(|inbound| message_row(inbound)).collect();

    let inserted = INSERT_MESSAGES.fetch_pairs(tx, &rows).await?;
    let inserted: HashSet<(&str, &str)> = inserted
        .iter()
        .map(|(vin, id)| (vin.as_str(), id.as_str()))
        .collect();

    Ok(unique
        .iter()
        .filter(|inbound| inserted.contains(&key(inbound)))
        .map(|inbound| &inbound.message)
        .collect())
}

/// The row of a message.
fn message_row(inbound: &InboundMessage) -> Vec<Bind<'_>> {
    let message = &inbound.message;
    vec![
        Bind::text(message.vin.as_str()),
        Bind::text(&message.id),
        Bind::text(message.body.channel().as_str()),
        Bind::Int(to_millis(message.at)),
        Bind::Int(to_millis(inbound.received_at)),
        Bind::text(&inbound.payload),
    ]
}
