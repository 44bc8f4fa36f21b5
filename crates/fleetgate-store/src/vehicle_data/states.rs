//! The states of the vehicles a transaction works on: loaded together, changed in memory,
//! written back together (on SQLite under load, up to a second later: see
//! [`WrittenStates`]).
//!
//! On PostgreSQL the rows are locked (`FOR UPDATE`) as they are loaded, so that two nodes
//! working on the same vehicle take turns: the second one reads the state the first one
//! committed. A vehicle with no row yet gets one first (its state as new), since only an
//! existing row can be locked. Rows are always reached in VIN order, so that transactions
//! locking several of them cannot deadlock. SQLite needs none of this: its write
//! transactions run one at a time.

use std::collections::{BTreeMap, HashMap, HashSet};

use fleetgate_core::vehicle::VehicleState;
use fleetgate_core::Vin;
use time::OffsetDateTime;

use super::sql::{failed, on_tx, select_pairs_in, Bind, MultiRow, WriteTx};
use crate::{to_millis, Backend, StoreError};

const SELECT_STATES: &str = "SELECT vin, state FROM vehicle_states WHERE vin IN ";

const CREATE_STATES: MultiRow = MultiRow {
    head: "INSERT INTO vehicle_states (vin, state, last_at, open_trip_last_sample, updated_at) ",
    tail: " ON CONFLICT (vin) DO NOTHING",
    operation: "create vehicle states",
};

const UPSERT_STATES: MultiRow = MultiRow {
    head: "INSERT INTO vehicle_states (vin, state, last_at, open_trip_last_sample, updated_at) ",
    tail: " ON CONFLICT (vin) DO UPDATE SET state = excluded.state, \
           last_at = excluded.last_at, \
           open_trip_last_sample = excluded.open_trip_last_sample, \
           updated_at = excluded.updated_at",
    operation: "store vehicle states",
};

/// The most states [`WrittenStates`] keeps (a few KB each); states waiting to be written
/// are kept whatever their number.
const WRITTEN_CAPACITY: usize = 20_000;

/// The setting holding the last message (its SQLite `rowid`) whose effects the stored
/// states hold; the messages after it are applied again after a crash.
const STATES_THROUGH: &str = "vehicle_states_through";

/// When the states of a transaction are written to their table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateWrites {
    /// With the transaction's messages (always so on PostgreSQL).
    Now,
    /// On SQLite, later: they stay in memory, and the next transaction that writes states
    /// writes them too. The messages are committed either way, and a crash before then
    /// loses nothing: the states are rebuilt from the messages stored after the last write.
    Later,
}

/// The states held in memory by the SQLite writer connection: those it committed last, so
/// that the next batches of the same vehicles need not read and decode them again, and
/// those whose writing was put off ([`StateWrites::Later`]).
///
/// The stored state of a vehicle always holds the effects of every message up to the
/// `vehicle_states_through` setting; a held state also holds those of the messages after
/// it. Another connection's commit (another process, an operator command, retention)
/// makes the held states that were written stale, since it may have written them too:
/// SQLite's `data_version` tells, and they are dropped. The ones not yet written are kept:
/// on SQLite one process ingests at a time, so nobody else can have newer ones.
///
/// PostgreSQL, shared by several nodes, always reads its rows (and locks them).
// LIMITATION: two processes ingesting into one SQLite file at once (say `simulate
// --history` beside `serve`) may each overwrite the other's unwritten states of a vehicle.
#[derive(Debug, Default)]
pub(crate) struct WrittenStates(parking_lot::Mutex<Held>);

#[derive(Debug, Default)]
struct Held {
    /// The `data_version` the states were committed under.
    version: Option<i64>,
    states: HashMap<Vin, Loaded>,
    /// The last message applied to the held states.
    applied_through: i64,
    /// Whether the states were rebuilt from the messages after the last write (once per
    /// process, and again after a failed transaction).
    recovered: bool,
}

impl WrittenStates {
    /// Takes the held states of `vins` that are still valid under `version`.
    fn take(&self, version: i64, vins: &[&Vin]) -> Vec<Loaded> {
        let mut held = self.0.lock();
        held.observe(version);
        vins.iter()
            .filter_map(|vin| held.states.remove(*vin))
            .collect()
    }

    /// Takes every state not written yet.
    fn take_unwritten(&self) -> Vec<Loaded> {
        let mut held = self.0.lock();
        held.states
            .extract_if(|_, loaded| loaded.unwritten)
            .map(|(_, loaded)| loaded)
            .collect()
    }

    /// Keeps the states a transaction committed, and the last message it applied.
    fn keep(&self, version: i64, states: LoadedStates, applied_through: i64) {
        let mut held = self.0.lock();
        held.observe(version);
        if held.states.len() >= WRITTEN_CAPACITY {
            held.states.retain(|_, loaded| loaded.unwritten);
        }
        held.states.extend(states.entries);
        held.applied_through = held.applied_through.max(applied_through);
    }

    /// A copy of the held state of `vin`, the most recent there is.
    pub(super) fn get(&self, vin: &Vin) -> Option<VehicleState> {
        self.0
            .lock()
            .states
            .get(vin)
            .map(|loaded| loaded.state.clone())
    }

    /// The last message applied to the held states.
    pub(super) fn applied_through(&self) -> i64 {
        self.0.lock().applied_through
    }

    /// Whether the held states are known to be complete.
    pub(super) fn recovered(&self) -> bool {
        self.0.lock().recovered
    }

    /// After a rebuild: the held states are complete up to `applied_through`.
    pub(super) fn set_recovered(&self, applied_through: i64) {
        let mut held = self.0.lock();
        held.recovered = true;
        held.applied_through = applied_through;
    }

    /// After a failed transaction, whose states may have held unwritten effects of
    /// committed messages: drops everything, so that the next transaction rebuilds the
    /// states from the stored ones and the messages after them.
    pub(super) fn forget(&self) {
        let mut held = self.0.lock();
        held.states.clear();
        held.recovered = false;
    }

    /// How many states wait to be written.
    pub(super) fn unwritten(&self) -> usize {
        let held = self.0.lock();
        held.states
            .values()
            .filter(|loaded| loaded.unwritten)
            .count()
    }
}

impl Held {
    /// Another connection committed since `version` was seen: the held states that were
    /// written may be stale, and are dropped; those not written yet stay.
    fn observe(&mut self, version: i64) {
        if self.version != Some(version) {
            self.states.retain(|_, loaded| loaded.unwritten);
            self.version = Some(version);
        }
    }
}

/// One vehicle's state, and its JSON as last written (none for a vehicle without a row).
#[derive(Debug)]
struct Loaded {
    state: VehicleState,
    stored: Option<String>,
    /// Whether the state changed since it was last written.
    unwritten: bool,
}

impl Loaded {
    fn new(vin: &Vin) -> Self {
        Self {
            state: VehicleState::new(vin.clone()),
            stored: None,
            unwritten: false,
        }
    }
}

/// The states of the vehicles of one transaction, by VIN.
#[derive(Debug, Default)]
pub(super) struct LoadedStates {
    entries: BTreeMap<Vin, Loaded>,
    /// On SQLite, the `data_version` the transaction began under.
    version: Option<i64>,
}

impl LoadedStates {
    /// Loads (and on PostgreSQL locks) the states of `vins`, on SQLite from `written` when
    /// it has them; a vehicle never seen before gets [`VehicleState::new`].
    pub(super) async fn lock(
        tx: &mut WriteTx,
        vins: &[&Vin],
        written: &WrittenStates,
    ) -> Result<Self, StoreError> {
        let mut vins = vins.to_vec();
        vins.sort_unstable();
        vins.dedup();

        let mut entries = BTreeMap::new();
        let version = tx.data_version().await?;
        match version {
            None => create_missing(tx, &vins).await?,
            Some(version) => {
                for loaded in written.take(version, &vins) {
                    entries.insert(loaded.state.vin.clone(), loaded);
                }
                vins.retain(|vin| !entries.contains_key(*vin));
            }
        }
        let rows = select_states(tx, &vins).await?;

        for (vin, json) in rows {
            let loaded = decode_row(&vin, json)?;
            entries.insert(loaded.state.vin.clone(), loaded);
        }
        for vin in vins {
            entries
                .entry(vin.clone())
                .or_insert_with(|| Loaded::new(vin));
        }
        Ok(Self { entries, version })
    }

    /// The state of a vehicle, as new if it was not loaded.
    pub(super) fn get_mut(&mut self, vin: &Vin) -> &mut VehicleState {
        let loaded = self
            .entries
            .entry(vin.clone())
            .or_insert_with(|| Loaded::new(vin));
        loaded.unwritten = true;
        &mut loaded.state
    }

    /// The ids of the trips under way as loaded: their rows exist already.
    pub(super) fn open_trip_ids(&self) -> HashSet<String> {
        self.entries
            .values()
            .filter_map(|loaded| loaded.state.open_trip.as_ref())
            .filter(|trip| !trip.done)
            .map(|trip| trip.id.clone())
            .collect()
    }

    /// Every state, by VIN.
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut VehicleState> {
        self.entries.values_mut().map(|loaded| {
            loaded.unwritten = true;
            &mut loaded.state
        })
    }

    /// Writes the states, now or later.
    ///
    /// Now, on SQLite, also writes every state `written` holds unwritten, and records that
    /// the stored states hold the effects of the messages up to `applied_through`. Later
    /// (SQLite only) writes nothing. Returns how many states were written.
    pub(super) async fn write(
        &mut self,
        tx: &mut WriteTx,
        when: StateWrites,
        written: &WrittenStates,
        applied_through: i64,
    ) -> Result<usize, StoreError> {
        if self.version.is_some() {
            if when == StateWrites::Later {
                return Ok(0);
            }
            for loaded in written.take_unwritten() {
                self.entries.insert(loaded.state.vin.clone(), loaded);
            }
        }

        let now = to_millis(OffsetDateTime::now_utc());
        let mut rows = Vec::new();
        for loaded in self.entries.values_mut().filter(|loaded| loaded.unwritten) {
            let json = encode(&loaded.state)?;
            if loaded.stored.as_deref() != Some(json.as_str()) {
                rows.push(state_row(&loaded.state, json.clone(), now));
                loaded.stored = Some(json);
            }
            loaded.unwritten = false;
        }
        UPSERT_STATES.execute(tx, &rows).await?;

        if self.version.is_some() {
            write_states_through(tx, applied_through).await?;
        }
        Ok(rows.len())
    }

    /// Once the transaction is committed: on SQLite, the states are held in `written` for
    /// the next batches, with the last message they applied.
    pub(super) fn committed(self, written: &WrittenStates, applied_through: i64) {
        if let Some(version) = self.version {
            written.keep(version, self, applied_through);
        }
    }
}

/// The last message whose effects the stored states hold; none before the first write.
pub(super) async fn states_through(tx: &mut WriteTx) -> Result<Option<i64>, StoreError> {
    let sql = "SELECT value FROM settings WHERE name = $1";
    let value: Option<String> = on_tx!(tx, conn => sqlx::query_scalar(sql)
        .bind(STATES_THROUGH)
        .fetch_optional(&mut **conn)
        .await)
    .map_err(failed("read the states' last message"))?;

    value
        .map(|value| {
            value.parse().map_err(|_| StoreError::Corrupt {
                what: "settings.vehicle_states_through",
                detail: format!("{value:?} is not a message number"),
            })
        })
        .transpose()
}

/// Records that the stored states hold the effects of the messages up to `through`.
async fn write_states_through(tx: &mut WriteTx, through: i64) -> Result<(), StoreError> {
    let sql = "INSERT INTO settings (name, value) VALUES ($1, $2) \
               ON CONFLICT (name) DO UPDATE SET value = excluded.value";
    on_tx!(tx, conn => sqlx::query(sql)
        .bind(STATES_THROUGH)
        .bind(through.to_string())
        .execute(&mut **conn)
        .await
        .map(|done| done.rows_affected()))
    .map_err(failed("record the states' last message"))?;
    Ok(())
}

/// Inserts a new state for each of `vins` that has no row yet, so that all can be locked.
async fn create_missing(tx: &mut WriteTx, vins: &[&Vin]) -> Result<(), StoreError> {
    let now = to_millis(OffsetDateTime::now_utc());
    let mut rows = Vec::with_capacity(vins.len());
    for vin in vins {
        let state = VehicleState::new((*vin).clone());
        let json = encode(&state)?;
        rows.push(state_row(&state, json, now));
    }

    CREATE_STATES.execute(tx, &rows).await?;
    Ok(())
}

/// The stored states of `vins` (sorted), locked in that order on PostgreSQL.
async fn select_states(
    tx: &mut WriteTx,
    vins: &[&Vin],
) -> Result<Vec<(String, String)>, StoreError> {
    // Locked in byte order of the VINs, whatever the database's collation.
    let tail = match tx.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => " ORDER BY vin COLLATE \"C\" FOR UPDATE",
    };
    let keys: Vec<&str> = vins.iter().map(|vin| vin.as_str()).collect();
    select_pairs_in(tx, SELECT_STATES, &keys, tail, "load vehicle states").await
}

/// A state read back from its row.
fn decode_row(vin: &str, json: String) -> Result<Loaded, StoreError> {
    let state: VehicleState = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
        what: "vehicle_states.state",
        detail: e.to_string(),
    })?;
    if state.vin.as_str() != vin {
        return Err(StoreError::Corrupt {
            what: "vehicle_states.state",
            detail: format!("the state of {vin} names {}", state.vin.as_str()),
        });
    }
    Ok(Loaded {
        state,
        stored: Some(json),
        unwritten: false,
    })
}

/// A state as JSON.
pub(super) fn encode(state: &VehicleState) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|source| StoreError::Encode {
        what: "vehicle state",
        source,
    })
}

/// The row of a state: its JSON and the columns the sweeps use.
fn state_row(state: &VehicleState, json: String, now: i64) -> Vec<Bind<'static>> {
    let open_trip = state.open_trip.as_ref().filter(|trip| !trip.done);
    vec![
        Bind::owned(state.vin.as_str().to_owned()),
        Bind::owned(json),
        Bind::OptInt(state.last_at.map(to_millis)),
        Bind::OptInt(open_trip.map(|trip| to_millis(trip.last_sample_at))),
        Bind::Int(now),
    ]
}
