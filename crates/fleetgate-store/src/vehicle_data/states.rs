//! The states of the vehicles a transaction works on: loaded together, changed in memory,
//! written back together.
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

use super::sql::{select_pairs_in, Bind, MultiRow, WriteTx};
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

/// The most states [`WrittenStates`] keeps (a few KB each).
const WRITTEN_CAPACITY: usize = 20_000;

/// The states the SQLite writer connection committed last, so that the next batches of the
/// same vehicles need not read and decode them again.
///
/// They are trusted only while no other connection has written to the database since:
/// SQLite's `data_version` tells, and any other write (another process, an operator
/// command, this node's rate-limit counts) drops them all. PostgreSQL, shared by several
/// nodes, always reads its rows (and locks them).
#[derive(Debug, Default)]
pub(crate) struct WrittenStates(parking_lot::Mutex<Written>);

#[derive(Debug, Default)]
struct Written {
    /// The `data_version` the states were committed under.
    version: Option<i64>,
    states: HashMap<Vin, Loaded>,
}

impl WrittenStates {
    /// Takes the kept states of `vins` that are still valid under `version`.
    fn take(&self, version: i64, vins: &[&Vin]) -> Vec<Loaded> {
        let mut written = self.0.lock();
        if written.version != Some(version) {
            written.states.clear();
            written.version = Some(version);
        }
        vins.iter()
            .filter_map(|vin| written.states.remove(*vin))
            .collect()
    }

    /// Keeps the states a transaction committed.
    fn keep(&self, version: i64, states: LoadedStates) {
        let mut written = self.0.lock();
        if written.version != Some(version) || written.states.len() >= WRITTEN_CAPACITY {
            written.states.clear();
            written.version = Some(version);
        }
        for (vin, loaded) in states.entries {
            written.states.insert(vin, loaded);
        }
    }
}

/// One vehicle's state, and its JSON as loaded (none for a vehicle without a row).
#[derive(Debug)]
struct Loaded {
    state: VehicleState,
    stored: Option<String>,
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
            entries.entry(vin.clone()).or_insert_with(|| Loaded {
                state: VehicleState::new(vin.clone()),
                stored: None,
            });
        }
        Ok(Self { entries, version })
    }

    /// The state of a vehicle, as new if it was not loaded.
    pub(super) fn get_mut(&mut self, vin: &Vin) -> &mut VehicleState {
        let loaded = self.entries.entry(vin.clone()).or_insert_with(|| Loaded {
            state: VehicleState::new(vin.clone()),
            stored: None,
        });
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
        self.entries.values_mut().map(|loaded| &mut loaded.state)
    }

    /// Writes back the states that changed; returns how many.
    pub(super) async fn write(&mut self, tx: &mut WriteTx) -> Result<usize, StoreError> {
        let now = to_millis(OffsetDateTime::now_utc());
        let mut rows = Vec::new();
        for loaded in self.entries.values_mut() {
            let json = encode(&loaded.state)?;
            if loaded.stored.as_deref() != Some(json.as_str()) {
                rows.push(state_row(&loaded.state, json.clone(), now));
                loaded.stored = Some(json);
            }
        }

        UPSERT_STATES.execute(tx, &rows).await?;
        Ok(rows.len())
    }

    /// Once the transaction is committed: on SQLite, the states are kept in `written` for
    /// the next batches.
    pub(super) fn committed(self, written: &WrittenStates) {
        if let Some(version) = self.version {
            written.keep(version, self);
        }
    }
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
