//! The rare things that happen to a vehicle: which alerts it can raise (values of the spec's
//! `AlertMsgEnum`), what sets its alarm off (the spec's `BaseAlarmTrigger.type`), and what a
//! collision looks like. Only the drawing is here; the scenario decides when.

use fleetgate_core::vehicle::message::{
    CollisionDetail, CollisionEvent, CollisionSeverity, CollisionSide, Severity,
};
use rand::Rng;

use crate::model::Powertrain;

/// The kind of incident drawn by the Poisson process of a vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentKind {
    /// An alert appears (and ends later).
    Alert,
    /// The alarm goes off.
    Alarm,
    /// A collision, while driving.
    Collision,
    /// The vehicle is stolen, while parked.
    Theft,
}

impl IncidentKind {
    /// Draws the kind of an incident for a vehicle that is driving or parked.
    pub fn draw(rng: &mut impl Rng, driving: bool) -> Self {
        let roll = rng.gen_range(0.0..1.0);
        match (driving, roll) {
            (true, r) if r < 0.5 => Self::Alert,
            (true, _) => Self::Collision,
            (false, r) if r < 0.4 => Self::Alert,
            (false, r) if r < 0.75 => Self::Alarm,
            (false, _) => Self::Theft,
        }
    }
}

/// Which vehicles an alert applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applies {
    All,
    Combustion,
    Diesel,
    Electric,
}

/// The alerts a simulated vehicle may raise, with the vehicles they apply to.
const ALERTS: &[(&str, Applies)] = &[
    ("AbsBrakingSystemFault", Applies::All),
    ("AddWasherFluid", Applies::All),
    ("AutomaticBrakingDeactivated", Applies::All),
    ("BrakingSystemFailure", Applies::All),
    ("CheckTheCenterBrakeLamp", Applies::All),
    ("DrivingAssistanceSensorBlind", Applies::All),
    ("EspAsrSystemFault", Applies::All),
    ("FrontLeftFogLampsFault", Applies::All),
    ("HeadlightsFault", Applies::All),
    ("LeftBrakeLampFault", Applies::All),
    ("LeftFrontTireUnderInflated", Applies::All),
    ("LeftRearDoorOpen", Applies::All),
    ("LeftRearTirePuncture", Applies::All),
    ("ParkAssistSystemFault", Applies::All),
    ("PowerSteeringFault", Applies::All),
    ("ReplaceBrakePads", Applies::All),
    ("ReplaceTheRemoteControlBattery", Applies::All),
    ("RightFrontTireUnderInflated", Applies::All),
    ("RightRearTireUnderInflated", Applies::All),
    ("RiskOfIce", Applies::All),
    ("SuspensionFault", Applies::All),
    ("TrunkOrHoodOpen", Applies::All),
    ("CoolantLevellow", Applies::Combustion),
    ("EngineFault", Applies::Combustion),
    ("EngineOilPressureFailure", Applies::Combustion),
    ("GearboxFault", Applies::Combustion),
    ("OilLevelLow", Applies::Combustion),
    ("AdBlueFault", Applies::Diesel),
    ("ParticleFilterFull", Applies::Diesel),
    ("ParticleFilterRegenerating", Applies::Diesel),
    ("WaterInTheDieselFuelFilter", Applies::Diesel),
    (
        "BatteryChargeOrElectricalCircuitSystemFailure",
        Applies::Electric,
    ),
    ("ChargingFailure", Applies::Electric),
    ("ElectricTractionSystemFault", Applies::Electric),
];

/// The alert a vehicle raises by itself when its tank runs low.
pub const LOW_FUEL_ALERT: &str = "FuelLevelLow";

/// What sets a simulated alarm off, most often first.
const ALARM_TRIGGERS: &[&str] = &[
    "VolumetricBreakIn",
    "VolumetricBreakIn",
    "VolumetricBreakIn",
    "FrontLeftDoorBreakIn",
    "FrontRightDoorBreakIn",
    "TrunkDoorBreakIn",
    "HoodDoorBreakIn",
    "VehicleLifting",
    "ElectricalsystemBreakIn",
];

fn applies(applies: Applies, powertrain: Powertrain) -> bool {
    match applies {
        Applies::All => true,
        Applies::Combustion => powertrain != Powertrain::Electric,
        Applies::Diesel => powertrain == Powertrain::Diesel,
        Applies::Electric => {
            matches!(powertrain, Powertrain::Electric | Powertrain::PluginHybrid)
        }
    }
}

/// Draws an alert that applies to the powertrain and is not among `active`.
pub fn draw_alert(
    rng: &mut impl Rng,
    powertrain: Powertrain,
    active: &[&str],
) -> Option<&'static str> {
    let candidates: Vec<&'static str> = ALERTS
        .iter()
        .filter(|(_, scope)| applies(*scope, powertrain))
        .map(|(name, _)| *name)
        .filter(|name| !active.contains(name))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    Some(candidates[rng.gen_range(0..candidates.len())])
}

/// How serious an alert is, from its name: failures are critical, faults and tyre or brake
/// warnings are warnings, the rest is information.
pub fn alert_severity(alert: &str) -> Severity {
    const CRITICAL: &[&str] = &["Failure", "Failue", "StopVehicle", "Impossible"];
    const WARNING: &[&str] = &[
        "Fault",
        "Puncture",
        "UnderInflated",
        "Replace",
        "Full",
        "Low",
    ];
    if CRITICAL.iter().any(|word| alert.contains(word)) {
        Severity::Critical
    } else if WARNING.iter().any(|word| alert.contains(word)) {
        Severity::Warning
    } else {
        Severity::Information
    }
}

/// Draws what set the alarm off.
pub fn draw_alarm_trigger(rng: &mut impl Rng) -> &'static str {
    ALARM_TRIGGERS[rng.gen_range(0..ALARM_TRIGGERS.len())]
}

/// Draws a collision: one or two impacts, mostly minor.
pub fn draw_collision(rng: &mut impl Rng) -> CollisionEvent {
    let sides = [
        CollisionSide::Front,
        CollisionSide::Rear,
        CollisionSide::Lateral,
    ];
    let first = rng.gen_range(0..sides.len());
    let mut details = vec![CollisionDetail {
        side: sides[first],
        severity: Some(draw_collision_severity(rng)),
    }];
    if rng.gen_bool(0.25) {
        let second = (first + rng.gen_range(1..sides.len())) % sides.len();
        details.push(CollisionDetail {
            side: sides[second],
            severity: Some(draw_collision_severity(rng)),
        });
    }

    let major = details
        .iter()
        .any(|detail| detail.severity == Some(CollisionSeverity::Major));
    CollisionEvent {
        details,
        tipped_over: Some(major && rng.gen_bool(0.15)),
        pedestrian: Some(rng.gen_bool(0.03)),
        position: None,
    }
}

fn draw_collision_severity(rng: &mut impl Rng) -> CollisionSeverity {
    match rng.gen_range(0..100) {
        0..=54 => CollisionSeverity::Minimal,
        55..=89 => CollisionSeverity::Minor,
        _ => CollisionSeverity::Major,
    }
}

/// How long a vehicle stands still after a collision, seconds.
pub fn collision_stop_s(rng: &mut impl Rng, collision: &CollisionEvent) -> f64 {
    let major = collision
        .details
        .iter()
        .any(|detail| detail.severity == Some(CollisionSeverity::Major));
    if major {
        rng.gen_range(1800.0..5400.0)
    } else {
        rng.gen_range(180.0..900.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// The values of `AlertMsgEnum` in the spec, to check the catalogue against.
    fn spec_alerts() -> Vec<String> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/psa-fleet-owner-v3/api-b2b.yaml"
        );
        let Ok(spec) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        let start = spec
            .find("AlertMsgEnum:")
            .expect("AlertMsgEnum in the spec");
        spec[start..]
            .lines()
            .skip(4)
            .map_while(|line| line.trim().strip_prefix("- ").map(|v| v.trim().to_owned()))
            .collect()
    }

    #[test]
    fn every_alert_is_a_value_of_the_spec() {
        let spec = spec_alerts();
        if spec.is_empty() {
            eprintln!("the spec is not beside the work tree; checking names only");
        }

        for name in ALERTS.iter().map(|(name, _)| *name).chain([LOW_FUEL_ALERT]) {
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "{name}");
            assert!(
                spec.is_empty() || spec.iter().any(|v| v == name),
                "{name} not in spec"
            );
        }
    }

    #[test]
    fn alerts_fit_the_powertrain_and_are_not_raised_twice() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut active = Vec::new();

        while let Some(alert) = draw_alert(&mut rng, Powertrain::Electric, &active) {
            assert!(!active.contains(&alert));
            active.push(alert);
        }

        assert!(active.contains(&"ChargingFailure"));
        assert!(!active.contains(&"AdBlueFault") && !active.contains(&"OilLevelLow"));
    }

    #[test]
    fn severities_follow_the_alert_names() {
        assert_eq!(alert_severity("BrakingSystemFailure"), Severity::Critical);
        assert_eq!(alert_severity("HeadlightsFault"), Severity::Warning);
        assert_eq!(alert_severity(LOW_FUEL_ALERT), Severity::Warning);
        assert_eq!(alert_severity("TrunkOrHoodOpen"), Severity::Information);
    }

    #[test]
    fn collisions_have_one_or_two_distinct_impacts() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut majors = 0;

        for _ in 0..500 {
            let collision = draw_collision(&mut rng);
            assert!((1..=2).contains(&collision.details.len()));
            if let [a, b] = collision.details.as_slice() {
                assert_ne!(a.side, b.side);
            }
            let stop = collision_stop_s(&mut rng, &collision);
            let major = collision
                .details
                .iter()
                .any(|d| d.severity == Some(CollisionSeverity::Major));
            majors += usize::from(major);
            assert!(if major { stop >= 1800.0 } else { stop < 900.0 });
        }

        assert!(
            (20..150).contains(&majors),
            "{majors} major collisions in 500"
        );
    }

    #[test]
    fn parked_vehicles_are_not_in_collisions_and_driving_ones_are_not_stolen() {
        let mut rng = StdRng::seed_from_u64(8);

        let driving: Vec<_> = (0..200)
            .map(|_| IncidentKind::draw(&mut rng, true))
            .collect();
        let parked: Vec<_> = (0..200)
            .map(|_| IncidentKind::draw(&mut rng, false))
            .collect();

        assert!(driving
            .iter()
            .all(|k| matches!(k, IncidentKind::Alert | IncidentKind::Collision)));
        assert!(parked.iter().all(|k| *k != IncidentKind::Collision));
        assert!(parked.contains(&IncidentKind::Theft) && parked.contains(&IncidentKind::Alarm));
    }
}
