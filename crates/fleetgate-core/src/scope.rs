//! What a request may see of a vehicle's data: the data scopes granted by the connected
//! services of an application's subscription (`docs/behavior.md` §6, the data catalog's
//! `scope` entries), and the `profile` of the request with the vehicle's privacy state.
//!
//! The rules, in one place so that every operation applies the same ones:
//!
//! | service | scopes granted |
//! | --- | --- |
//! | connected fleet | every scope |
//! | TMTS (tele-maintenance) | `data:telemetry`, `data:alert` |
//! | UBI (insurance) | `data:trip`, `data:position`, `data:collision`, `data:telemetry` |
//!
//! Under the `endUser` profile, a vehicle whose privacy state is `Full` shows no data at
//! all, and one whose state is `Geolocation` shows no position; the `fleet` profile (the
//! default) is bound by the scopes only.

use std::fmt;

use crate::vehicle::message::Privacy;

/// A connected service an application subscribes to; each grants some data scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectedService {
    /// Connected fleet: every data of the vehicles.
    ConnectedFleet,
    /// TMTS, tele-maintenance: the vehicle's state, maintenance and alerts.
    Tmts,
    /// UBI, usage-based insurance: trips, positions, collisions and driving figures.
    Ubi,
}

impl ConnectedService {
    /// Every service, in their stored order.
    pub const ALL: [Self; 3] = [Self::ConnectedFleet, Self::Tmts, Self::Ubi];

    /// The stored and displayed form: `connected-fleet`, `tmts`, `ubi`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectedFleet => "connected-fleet",
            Self::Tmts => "tmts",
            Self::Ubi => "ubi",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|service| service.as_str() == value)
    }

    /// Whether this service grants `scope`.
    pub fn grants(self, scope: DataScope) -> bool {
        match self {
            Self::ConnectedFleet => true,
            Self::Tmts => matches!(scope, DataScope::Telemetry | DataScope::Alert),
            Self::Ubi => !matches!(scope, DataScope::Alert),
        }
    }
}

impl fmt::Display for ConnectedService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A data scope of the data catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataScope {
    /// `data:alert`: the vehicle's alerts.
    Alert,
    /// `data:collision`: the collisions.
    Collision,
    /// `data:position`: positions (last position, waypoints, positions in other data).
    Position,
    /// `data:telemetry`: status, maintenance, telemetry samples, alarms, the stolen state.
    Telemetry,
    /// `data:trip`: the trips.
    Trip,
}

impl DataScope {
    /// The catalog's name of the scope (`data:alert`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "data:alert",
            Self::Collision => "data:collision",
            Self::Position => "data:position",
            Self::Telemetry => "data:telemetry",
            Self::Trip => "data:trip",
        }
    }

    /// The services that grant this scope.
    pub fn granted_by(self) -> Vec<ConnectedService> {
        ConnectedService::ALL
            .into_iter()
            .filter(|service| service.grants(self))
            .collect()
    }
}

impl fmt::Display for DataScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `profile` of a data request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// What the fleet owner may see (the default).
    #[default]
    Fleet,
    /// What the vehicle's end user could see, as if there were no intermediary.
    EndUser,
}

impl Profile {
    /// Parses the query parameter's value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "fleet" => Some(Self::Fleet),
            "endUser" => Some(Self::EndUser),
            _ => None,
        }
    }
}

/// Why some data is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// No service of the subscription grants the scope.
    OutOfScope(DataScope),
    /// The `endUser` profile and the vehicle's privacy state hide it.
    Private(Privacy),
}

/// The view of one request: the scopes of its application and its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    services: Vec<ConnectedService>,
    profile: Profile,
}

impl View {
    /// The view of an application subscribed to `services`, under `profile`.
    pub fn new(services: Vec<ConnectedService>, profile: Profile) -> Self {
        Self { services, profile }
    }

    /// The request's profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Whether the subscription grants `scope`, whatever the vehicle.
    pub fn grants(&self, scope: DataScope) -> bool {
        self.services.iter().any(|service| service.grants(scope))
    }

    /// Whether data of `scope` of a vehicle whose privacy state is `privacy` is shown.
    pub fn check(&self, scope: DataScope, privacy: Option<Privacy>) -> Result<(), Hidden> {
        if !self.grants(scope) {
            return Err(Hidden::OutOfScope(scope));
        }
        if self.profile == Profile::Fleet {
            return Ok(());
        }

        match privacy {
            Some(Privacy::Full) => Err(Hidden::Private(Privacy::Full)),
            Some(Privacy::Geolocation) if scope == DataScope::Position => {
                Err(Hidden::Private(Privacy::Geolocation))
            }
            _ => Ok(()),
        }
    }

    /// Whether positions of a vehicle whose privacy state is `privacy` are shown.
    pub fn shows_positions(&self, privacy: Option<Privacy>) -> bool {
        self.check(DataScope::Position, privacy).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(services: &[ConnectedService], profile: Profile) -> View {
        View::new(services.to_vec(), profile)
    }

    #[test]
    fn tele_maintenance_grants_the_state_and_alerts_but_no_position() {
        let tmts = view(&[ConnectedService::Tmts], Profile::Fleet);
        assert!(tmts.grants(DataScope::Telemetry));
        assert!(tmts.grants(DataScope::Alert));
        for scope in [DataScope::Position, DataScope::Trip, DataScope::Collision] {
            assert_eq!(tmts.check(scope, None), Err(Hidden::OutOfScope(scope)));
        }
    }

    #[test]
    fn insurance_grants_trips_positions_and_collisions_but_no_alert() {
        let ubi = view(&[ConnectedService::Ubi], Profile::Fleet);
        assert!(ubi.grants(DataScope::Trip));
        assert!(ubi.grants(DataScope::Position));
        assert!(ubi.grants(DataScope::Collision));
        assert!(!ubi.grants(DataScope::Alert));
        assert_eq!(
            DataScope::Alert.granted_by(),
            vec![ConnectedService::ConnectedFleet, ConnectedService::Tmts]
        );
    }

    #[test]
    fn services_add_up() {
        let both = view(
            &[ConnectedService::Tmts, ConnectedService::Ubi],
            Profile::Fleet,
        );
        assert!(both.grants(DataScope::Alert));
        assert!(both.grants(DataScope::Position));
    }

    #[test]
    fn the_fleet_profile_ignores_privacy() {
        let fleet = view(&ConnectedService::ALL, Profile::Fleet);
        assert_eq!(fleet.check(DataScope::Trip, Some(Privacy::Full)), Ok(()));
        assert!(fleet.shows_positions(Some(Privacy::Geolocation)));
    }

    #[test]
    fn the_end_user_profile_honours_privacy() {
        let end_user = view(&ConnectedService::ALL, Profile::EndUser);
        assert_eq!(
            end_user.check(DataScope::Position, Some(Privacy::None)),
            Ok(())
        );
        assert_eq!(end_user.check(DataScope::Trip, None), Ok(()));
        assert_eq!(
            end_user.check(DataScope::Position, Some(Privacy::Geolocation)),
            Err(Hidden::Private(Privacy::Geolocation))
        );
        assert_eq!(
            end_user.check(DataScope::Trip, Some(Privacy::Geolocation)),
            Ok(())
        );
        assert_eq!(
            end_user.check(DataScope::Alert, Some(Privacy::Full)),
            Err(Hidden::Private(Privacy::Full))
        );
    }

    #[test]
    fn scope_outside_the_subscription_wins_over_privacy() {
        let tmts = view(&[ConnectedService::Tmts], Profile::EndUser);
        assert_eq!(
            tmts.check(DataScope::Trip, Some(Privacy::Full)),
            Err(Hidden::OutOfScope(DataScope::Trip))
        );
    }

    #[test]
    fn services_and_profiles_parse_from_their_written_forms() {
        for service in ConnectedService::ALL {
            assert_eq!(ConnectedService::parse(service.as_str()), Some(service));
        }
        assert_eq!(ConnectedService::parse("TMTS"), None);
        assert_eq!(Profile::parse("endUser"), Some(Profile::EndUser));
        assert_eq!(Profile::parse("enduser"), None);
    }
}
