//! The write path of vehicle data: storing batches of messages with what they derive,
//! rebuilding on SQLite the states a crash left unwritten, and closing the trips of
//! vehicles gone silent.

use std::collections::{HashMap, HashSet};

use fleetgate_core::vehicle::derive;
use fleetgate_core::vehicle::{Record, VehicleMessage};
use fleetgate_core::Vin;
use time::OffsetDateTime;

use super::queries::{stored_message, MessageRow};
use super::rows::RecordSet;
use super::sql::{failed, on_tx, Bind, MultiRow, WriteTx};
use super::states::{states_through, LoadedStates, StateWrites};
use super::{InboundMessage, IngestReport};
use crate::{on_pool, to_millis, Backend, Store, StoreError};

/// Inserts messages; returns those new, with their `rowid`, the order of their arrival.
const INSERT_MESSAGES_SQLITE: MultiRow = MultiRow {
    head: "INSERT INTO vehicle_messages (vin, id, channel, at, received_at, payload) ",
    tail: " ON CONFLICT (vin, channel, at, id) DO NOTHING RETURNING rowid, vin, id",
    operation: "store vehicle messages",
};

/// Inserts messages; returns those new (PostgreSQL needs no arrival order).
const INSERT_MESSAGES_POSTGRES: MultiRow = MultiRow {
    head: "INSERT INTO vehicle_messages (vin, id, channel, at, received_at, payload) ",
    tail: " ON CONFLICT (vin, channel, at, id) DO NOTHING RETURNING CAST(NULL AS BIGINT), vin, id",
    operation: "store vehicle messages",
};

/// The messages after the last one whose effects the stored states hold, in arrival order.
const MESSAGES_AFTER: &str = "SELECT vin, id, channel, at, received_at, payload \
                              FROM vehicle_messages WHERE rowid > $1 ORDER BY rowid";

/// How many vehicles one transaction of [`Store::close_silent_trips`] handles, so that the
/// sweep never holds the write lock long.
const SWEEP_CHUNK: usize = 500;

/// A new message, with its arrival number on SQLite (`rowid`).
type Fresh<'b> = (Option<i64>, &'b VehicleMessage);

/// What a transaction derived from its messages, and the last message it applied.
struct Derived<'r> {
    states: LoadedStates,
    records: &'r RecordSet,
    through: i64,
}

impl Store {
    /// Stores a batch of messages and everything derived from them, in one transaction,
    /// states included: [`Store::ingest_with`] with [`StateWrites::Now`].
    pub async fn ingest(&self, batch: &[InboundMessage]) -> Result<IngestReport, StoreError> {
        self.ingest_with(batch, StateWrites::Now).await
    }

    /// Stores a batch of messages and everything derived from them, in one transaction.
    ///
    /// A message sent again is a duplicate: skipped, and not applied again. Within the
    /// batch, that is a message whose VIN and id appeared earlier; against the database, one
    /// whose VIN, channel, time and id are stored (a copy carries the same ones: the key
    /// that orders the listings recognizes it, so that no other index on the VIN is
    /// needed). The new ones are applied in batch order to their vehicle's
    /// [`VehicleState`](fleetgate_core::vehicle::VehicleState) (the stored one, or a new
    /// one) with [`derive::apply`]; then the last version of each derived record is
    /// written, and the states `when` says (see [`StateWrites`]). Once this returns `Ok`,
    /// the messages may be acknowledged to the vehicles.
    ///
    /// On PostgreSQL the vehicles' states are locked until the commit, so that nodes
    /// ingesting the same vehicle take turns, and always written with the messages.
    pub async fn ingest_with(
        &self,
        batch: &[InboundMessage],
        when: StateWrites,
    ) -> Result<IngestReport, StoreError> {
        if batch.is_empty() {
            return Ok(IngestReport::default());
        }
        self.recover_vehicle_states().await?;

        let outcome = self.ingest_in_one_transaction(batch, when).await;
        self.forget_held_states_on_failure(outcome)
    }

    /// A failed transaction may have taken held states that carried unwritten effects of
    /// committed messages: the held states are then all dropped, and the next transaction
    /// rebuilds them ([`Store::recover_vehicle_states`]).
    fn forget_held_states_on_failure<T>(
        &self,
        outcome: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if outcome.is_err() {
            self.written_states.forget();
        }
        outcome
    }

    async fn ingest_in_one_transaction(
        &self,
        batch: &[InboundMessage],
        when: StateWrites,
    ) -> Result<IngestReport, StoreError> {
        let unique = first_occurrences(batch);
        let mut tx = self.begin_write("ingest vehicle messages").await?;

        let fresh = insert_messages(&mut tx, &unique).await?;
        let vins: Vec<&Vin> = fresh.iter().map(|(_, message)| &message.vin).collect();
        let mut states = LoadedStates::lock(&mut tx, &vins, &self.written_states).await?;
        let records = apply(&mut states, fresh.iter().map(|(_, message)| *message));

        let last = fresh.iter().filter_map(|(number, _)| *number).max();
        let through = last.unwrap_or(0).max(self.written_states.applied_through());
        let derived = Derived {
            states,
            records: &records,
            through,
        };
        self.commit_derived(tx, derived, when, "ingest vehicle messages")
            .await?;

        Ok(IngestReport {
            stored: fresh.len(),
            duplicates: batch.len() - fresh.len(),
            records: records.len(),
        })
    }

    /// Writes the states whose writing was put off ([`StateWrites::Later`]); returns how
    /// many changed. Nothing to do on PostgreSQL.
    pub async fn write_vehicle_states(&self) -> Result<usize, StoreError> {
        if self.written_states.unwritten() == 0 {
            return Ok(0);
        }
        let outcome = async {
            let mut tx = self.begin_write("write vehicle states").await?;
            let states = LoadedStates::lock(&mut tx, &[], &self.written_states).await?;
            let derived = Derived {
                states,
                records: &RecordSet::default(),
                through: self.written_states.applied_through(),
            };
            self.commit_derived(tx, derived, StateWrites::Now, "write vehicle states")
                .await
        }
        .await;
        self.forget_held_states_on_failure(outcome)
    }

    /// On SQLite, makes the states complete: applies again the messages stored after the
    /// last one whose effects the stored states hold (those of a process that stopped
    /// before it wrote its states), and writes the states. Runs once per process, and
    /// again after a failed transaction; returns how many messages it applied.
    pub async fn recover_vehicle_states(&self) -> Result<usize, StoreError> {
        if self.backend() == Backend::Postgres || self.written_states.recovered() {
            return Ok(0);
        }
        let mut tx = self.begin_write("rebuild vehicle states").await?;

        let last = last_message_number(&mut tx).await?;
        let through = states_through(&mut tx).await?;
        // States stored before their last message was recorded hold every message.
        let rows = match through {
            Some(through) => messages_after(&mut tx, through).await?,
            None => Vec::new(),
        };
        let messages = decode_messages(rows);

        let vins: Vec<&Vin> = messages.iter().map(|message| &message.vin).collect();
        let mut states = LoadedStates::lock(&mut tx, &vins, &self.written_states).await?;
        let records = apply(&mut states, messages.iter());
        let derived = Derived {
            states,
            records: &records,
            through: last,
        };
        self.commit_derived(tx, derived, StateWrites::Now, "rebuild vehicle states")
            .await?;
        self.written_states.set_recovered(last);

        if !messages.is_empty() {
            tracing::info!(
                messages = messages.len(),
                vehicles = vins.len(),
                "vehicle states rebuilt from the messages stored after their last write"
            );
        }
        Ok(messages.len())
    }

    /// Closes the trips of the vehicles that have been silent too long at `now`.
    ///
    /// Every vehicle whose open trip's last sample is more than [`derive::SILENCE`] before
    /// `now` goes through [`derive::close_if_silent`]; the trips it closes are stored with
    /// the states, a few hundred vehicles per transaction. Returns how many trips were
    /// closed.
    pub async fn close_silent_trips(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        self.recover_vehicle_states().await?;
        let vins = self.silent_candidates(now).await?;

        let mut closed = 0;
        for chunk in vins.chunks(SWEEP_CHUNK) {
            let outcome = self.close_trips_of(chunk, now).await;
            closed += self.forget_held_states_on_failure(outcome)?;
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
        let through = self.written_states.applied_through();

        let mut records = RecordSet::default();
        let mut closed = 0;
        for state in states.iter_mut() {
            if let Some(record) = derive::close_if_silent(state, now) {
                closed += usize::from(matches!(record, Record::Trip(_)));
                records.add(record);
            }
        }

        let derived = Derived {
            states,
            records: &records,
            through,
        };
        self.commit_derived(tx, derived, StateWrites::Now, "close silent trips")
            .await?;
        Ok(closed)
    }

    /// Writes what a transaction derived (the states `when` says, and the records),
    /// commits, and hands the states over to the writer's memory; returns how many states
    /// were written.
    async fn commit_derived(
        &self,
        mut tx: WriteTx,
        derived: Derived<'_>,
        when: StateWrites,
        operation: &'static str,
    ) -> Result<usize, StoreError> {
        let Derived {
            mut states,
            records,
            through,
        } = derived;
        let written = states
            .write(&mut tx, when, &self.written_states, through)
            .await?;
        records.write(&mut tx).await?;
        tx.commit(operation).await?;
        states.committed(&self.written_states, through);
        Ok(written)
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

/// Derives the records of `messages`, applied in order to their vehicles' states.
fn apply<'m>(
    states: &mut LoadedStates,
    messages: impl Iterator<Item = &'m VehicleMessage>,
) -> RecordSet {
    let stored_open = states.open_trip_ids();
    let mut records = RecordSet::default();
    for message in messages {
        let state = states.get_mut(&message.vin);
        derive::apply(state, message)
            .into_iter()
            .for_each(|record| records.add(record));
    }
    records.keep_stored_open_trips(&stored_open);
    records
}

/// Inserts the messages not stored yet; returns them, in the order given, with their
/// arrival number on SQLite.
///
/// On SQLite the rows are sent in the order given, so that their `rowid`s follow the order
/// in which the messages are applied. On PostgreSQL they are sent in key order, so that two
/// transactions inserting the same messages reach them in the same order and wait for each
/// other rather than deadlock.
async fn insert_messages<'b>(
    tx: &mut WriteTx,
    unique: &[&'b InboundMessage],
) -> Result<Vec<Fresh<'b>>, StoreError> {
    let mut sent = unique.to_vec();
    let statement = match tx.backend() {
        Backend::Sqlite => INSERT_MESSAGES_SQLITE,
        Backend::Postgres => {
            sent.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
            INSERT_MESSAGES_POSTGRES
        }
    };
    let rows: Vec<Vec<Bind<'_>>> = sent.iter().map(|inbound| message_row(inbound)).collect();

    let inserted: Vec<(Option<i64>, String, String)> = statement.fetch(tx, &rows).await?;
    let numbers: HashMap<(&str, &str), Option<i64>> = inserted
        .iter()
        .map(|(number, vin, id)| ((vin.as_str(), id.as_str()), *number))
        .collect();

    Ok(unique
        .iter()
        .filter_map(|inbound| {
            let number = numbers.get(&key(inbound))?;
            Some((*number, &inbound.message))
        })
        .collect())
}

/// The number of the last message stored (0 for none).
async fn last_message_number(tx: &mut WriteTx) -> Result<i64, StoreError> {
    let sql = "SELECT COALESCE(MAX(rowid), 0) FROM vehicle_messages";
    on_tx!(tx, conn => sqlx::query_scalar(sql).fetch_one(&mut **conn).await)
        .map_err(failed("find the last vehicle message"))
}

/// The messages stored after message `through`, in arrival order.
async fn messages_after(tx: &mut WriteTx, through: i64) -> Result<Vec<MessageRow>, StoreError> {
    on_tx!(tx, conn => {
        sqlx::query_as(MESSAGES_AFTER)
            .bind(through)
            .fetch_all(&mut **conn)
            .await
    })
    .map_err(failed("read the messages to apply again"))
}

/// The messages of `rows`, parsed again; one that no longer parses is left out, logged.
fn decode_messages(rows: Vec<MessageRow>) -> Vec<VehicleMessage> {
    let mut messages = Vec::with_capacity(rows.len());
    for row in rows {
        let decoded = stored_message(row).and_then(|stored| {
            stored.decode().map_err(|error| StoreError::Corrupt {
                what: "vehicle_messages.payload",
                detail: format!("message {} of {}: {error}", stored.id, stored.vin.as_str()),
            })
        });
        match decoded {
            Ok(message) => messages.push(message),
            Err(error) => tracing::warn!(%error, "stored message not applied again"),
        }
    }
    messages
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
