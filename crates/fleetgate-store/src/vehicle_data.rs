//! The storage of vehicle data: the raw messages vehicles send, each vehicle's
//! [`VehicleState`](fleetgate_core::vehicle::VehicleState), and the records derived from
//! the messages (trips, alerts, alarms, collisions and stolen periods).
//!
//! [`Store::ingest_with`] is the write path of the vehicle channel. It takes a batch of
//! validated messages and, in one transaction, stores the new ones, applies them to their
//! vehicles' states (`fleetgate_core::vehicle::derive`) and stores the records that come
//! out, and the states now or, on SQLite under load, a little later ([`StateWrites`]); the
//! channel acknowledges the messages only once it returned.
//! Every statement of that path carries many rows (`INSERT ... VALUES (..), (..)`), so
//! that the cost of a batch grows with its size, not with its number of statements.
//!
//! The work is split by subject:
//!
//! - `sql`: write transactions and multi-row statements, on either backend;
//! - `states`: loading (and on PostgreSQL locking) the states of a batch's vehicles, and
//!   the states the SQLite writer holds in memory;
//! - `rows`: the derived records as rows of their tables;
//! - `ingest`: [`Store::ingest_with`], the states' rebuild after a crash
//!   ([`Store::recover_vehicle_states`]) and [`Store::close_silent_trips`];
//! - `queries`: the reads (states, record listings, raw messages);
//! - `retention`: [`Store::prune_vehicle_data`].

mod ingest;
mod queries;
mod retention;
mod rows;
mod sql;
mod states;

pub use states::StateWrites;
pub(crate) use states::WrittenStates;

use fleetgate_core::vehicle::{Channel, MessageError, VehicleMessage};
use fleetgate_core::Vin;
use time::OffsetDateTime;

/// A message received from a vehicle, validated, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// The message, as parsed and validated by the vehicle channel.
    pub message: VehicleMessage,
    /// The JSON payload exactly as received; it is what is stored and listed.
    pub payload: String,
    /// When the platform received it.
    pub received_at: OffsetDateTime,
}

/// What [`Store::ingest`](crate::Store::ingest) did with a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Messages stored for the first time (and applied to their vehicle's state).
    pub stored: usize,
    /// Messages already stored, or repeated within the batch: skipped.
    pub duplicates: usize,
    /// Records written (inserted or updated), one per distinct record: a trip changed by
    /// several messages of the batch counts once.
    pub records: usize,
}

/// A message as stored: the raw payload and what the store knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The vehicle that sent it.
    pub vin: Vin,
    /// The vehicle's id of the message.
    pub id: String,
    /// The topic it came on.
    pub channel: Channel,
    /// When the vehicle measured it.
    pub at: OffsetDateTime,
    /// When the platform received it.
    pub received_at: OffsetDateTime,
    /// The JSON payload as received.
    pub payload: String,
}

impl StoredMessage {
    /// Parses the payload again, with the rules (and the clock) of its reception.
    pub fn decode(&self) -> Result<VehicleMessage, MessageError> {
        let payload = self.payload.as_bytes();
        VehicleMessage::parse(&self.vin, self.channel, payload, self.received_at)
    }
}
