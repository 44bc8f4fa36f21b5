//! fleetgate's vehicle channel: how vehicles' messages reach the database.
//!
//! - [`endpoint`]: the embedded MQTT 3.1.1 endpoint `fleetgate serve` runs by default;
//!   vehicles connect with their device certificate ([`tls`]) and each PUBACK is sent only
//!   once the message is committed.
//! - [`external`]: the same ingestion fed by an external broker (Mosquitto or a cluster),
//!   with MQTT 5 shared subscriptions so that several nodes share the load; [`mosquitto`]
//!   writes a broker configuration that enforces the same rules as the embedded endpoint.
//! - [`ingest`]: the writer both feed: validated messages, batched, one transaction each.

pub mod endpoint;
pub mod external;
pub mod ingest;
pub mod mosquitto;
pub mod tls;

pub use endpoint::Endpoint;
pub use ingest::{BatchSettings, IngestStats, Ingestor};
