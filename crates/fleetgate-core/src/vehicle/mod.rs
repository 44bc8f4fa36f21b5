//! Vehicles as the platform sees them through the vehicle channel: the messages they send
//! (`message`), and what the platform derives from them, message after message, without
//! I/O — the status, the last position, trips, alerts, alarms, collisions and thefts.

pub mod derive;
pub mod message;
pub mod state;

pub use message::{Channel, MessageBody, MessageError, VehicleMessage};
pub use state::{Record, VehicleState};
