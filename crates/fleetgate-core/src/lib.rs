//! The fleetgate domain, free of I/O.
//!
//! Everything here is plain data and pure logic: the identifiers of the domain (partner
//! logins, client ids, fleet ids, VINs), the API versions, the error catalogue shared by
//! every HTTP answer, and the stateless paging tokens. The storage, HTTP, MQTT and SMTP
//! edges translate to and from these types, so that the rules are tested with unit tests.

pub mod error_code;
pub mod geo;
pub mod ids;
pub mod interval;
pub mod paging;
pub mod rate_limit;
pub mod recent;
pub mod scope;
pub mod vehicle;
pub mod version;

pub use error_code::ErrorCode;
pub use ids::{ClientId, FleetId, InvalidId, Login, Vin};
pub use paging::{Page, PageRequest, PageTokenKey, PagingError};
pub use rate_limit::RateLimits;
pub use scope::{ConnectedService, DataScope, Profile, View};
pub use version::ApiVersion;
