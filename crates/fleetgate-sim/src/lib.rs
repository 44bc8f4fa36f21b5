//! fleetgate's fleet simulator: vehicles that drive around Paris and talk to the platform
//! over MQTT, as `docs/vehicle-protocol.md` describes.
//!
//! The pure part has no I/O and is tested on its own: the road network and its routes
//! ([`network`]), how a vehicle drives a route ([`drive`]), its energies and status
//! ([`model`]), its incidents ([`incident`]), its day and the messages it sends
//! ([`scenario`]), and the simulated clock ([`clock`]). The MQTT part ([`runner`]) connects
//! one client per vehicle and publishes each message when simulated time reaches it.
//!
//! `fleetgate simulate` calls [`run`] with a [`SimConfig`] and the provisioned vehicles.

pub mod clock;
pub mod drive;
pub mod incident;
pub mod load;
pub mod model;
pub mod network;
pub mod report;
pub mod runner;
pub mod scenario;

pub use clock::SimClock;
pub use load::{steady_load, LoadReport};
pub use network::Network;
pub use report::{MessageKind, SimReport, StopReason, Tally};
pub use runner::{run, SimConfig, SimError, SimTransport, SimVehicle, TlsBase};
pub use scenario::{ActivityCounts, Fleet, ScenarioParams, VehicleSim};
