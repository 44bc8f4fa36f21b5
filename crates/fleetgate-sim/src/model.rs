//! The physical model of one simulated vehicle: its powertrain, its energies (tank and
//! battery levels, counters, charging), odometer, service countdown and the small status
//! sections a vehicle reports, with the samples the protocol carries.

use fleetgate_core::vehicle::message::{
    EnergySample, EnergySubType, EnergyType, FuelType, MaintenanceSample,
};
use rand::Rng;
use serde_json::{json, Map, Value};
use time::{Duration, OffsetDateTime};

/// Below this fuel level (share of the tank) the driver goes to a filling station.
pub const REFUEL_BELOW: f64 = 0.15;

/// Below this battery level (share of the capacity) the vehicle is plugged in when parked.
pub const CHARGE_BELOW: f64 = 0.20;

/// Below this battery level a BEV goes to a quick charger before anything else.
pub const QUICK_CHARGE_BELOW: f64 = 0.12;

/// Below this level a plug-in hybrid stops using its battery.
const PHEV_BATTERY_RESERVE: f64 = 0.03;

/// What moves the vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Powertrain {
    /// A petrol engine.
    Petrol,
    /// A diesel engine.
    Diesel,
    /// A battery electric vehicle.
    Electric,
    /// A plug-in hybrid: a petrol engine and a battery.
    PluginHybrid,
}

impl Powertrain {
    /// A powertrain drawn from a fleet-like mix.
    pub fn draw(rng: &mut impl Rng) -> Self {
        match rng.gen_range(0..100) {
            0..=34 => Self::Petrol,
            35..=59 => Self::Diesel,
            60..=84 => Self::Electric,
            _ => Self::PluginHybrid,
        }
    }
}

/// The kind of energy store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// A fuel tank, in litres.
    Tank(FuelType),
    /// A traction battery, in kWh.
    Battery,
}

/// How a battery is being charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChargeMode {
    /// An AC charger (wall box, street charger).
    Slow,
    /// A DC quick charger.
    Quick,
}

impl ChargeMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Slow => "Slow",
            Self::Quick => "Quick",
        }
    }
}

/// A charging session under way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChargeSession {
    /// Slow or quick.
    pub mode: ChargeMode,
    /// The power drawn, kW.
    pub power_kw: f64,
    /// The level at which it stops, share of the capacity.
    pub target: f64,
    /// Whether the target was reached (still plugged in).
    pub finished: bool,
}

/// One energy store of a vehicle: a tank or a battery.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyStore {
    /// Tank or battery.
    pub kind: StoreKind,
    /// Litres or kWh.
    pub capacity: f64,
    /// The level, share of the capacity in 0..=1.
    pub level: f64,
    /// Litres or kWh used per km at a steady 70 km/h (fuel) or 50 km/h (electric).
    pub base_per_km: f64,
    /// Energy used since the vehicle was built: cl (tank) or Wh (battery).
    pub counter: f64,
    /// The charging session, for a battery that is plugged in.
    pub charging: Option<ChargeSession>,
}

impl EnergyStore {
    /// Whether this store is a battery.
    pub fn is_battery(&self) -> bool {
        self.kind == StoreKind::Battery
    }

    /// The distance left at the base consumption, km.
    pub fn autonomy_km(&self) -> f64 {
        self.level * self.capacity / self.base_per_km
    }

    /// Takes `amount` (litres or kWh) out of the store, as far as it holds.
    fn draw(&mut self, amount: f64) {
        let amount = amount.min(self.level * self.capacity).max(0.0);
        self.level = (self.level - amount / self.capacity).max(0.0);
        self.counter += match self.kind {
            StoreKind::Tank(_) => amount * 100.0,
            StoreKind::Battery => amount * 1000.0,
        };
    }

    /// The factor applied to the base consumption at a speed.
    fn speed_factor(&self, speed_kmh: f64) -> f64 {
        match self.kind {
            StoreKind::Tank(_) => 0.75 + (speed_kmh - 70.0).powi(2) / 9000.0,
            StoreKind::Battery => 0.85 + (speed_kmh - 50.0).powi(2) / 12_000.0,
        }
    }

    /// What the store uses while the vehicle stands with the ignition on, per second.
    fn idle_per_s(&self) -> f64 {
        match self.kind {
            StoreKind::Tank(_) => 0.8 / 3600.0,
            StoreKind::Battery => 0.4 / 3600.0,
        }
    }

    /// The store as the protocol carries it.
    pub fn sample(&self) -> EnergySample {
        let (kind, sub_type, fuel_type) = match self.kind {
            StoreKind::Tank(fuel) => (EnergyType::Fuel, EnergySubType::FossilEnergy, Some(fuel)),
            StoreKind::Battery => (EnergyType::Electric, EnergySubType::ElectricEnergy, None),
        };
        EnergySample {
            kind,
            sub_type: Some(sub_type),
            fuel_type,
            level: Some(round_to(self.level * 100.0, 1)),
            autonomy: Some(self.autonomy_km().round() as u32),
            consumption: Some(round_to(self.counter, 1)),
            charging: self.is_battery().then(|| self.charging_section()),
        }
    }

    fn charging_section(&self) -> Map<String, Value> {
        let value = match self.charging {
            None => json!({"plugged": false, "status": "Disconnected", "chargingMode": "No"}),
            Some(session) if session.finished => {
                json!({"plugged": true, "status": "Finished", "chargingMode": "No"})
            }
            Some(session) => {
                let missing_kwh = (session.target - self.level).max(0.0) * self.capacity;
                let minutes = (missing_kwh / session.power_kw * 60.0).ceil() as i64;
                let rate_kmh = (session.power_kw / self.base_per_km).round().min(500.0) as i64;
                json!({
                    "plugged": true,
                    "status": "InProgress",
                    "chargingMode": session.mode.as_str(),
                    "remainingTime": format!("PT{}H{}M", minutes / 60, minutes % 60),
                    "chargingRate": rate_kmh,
                })
            }
        };
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// The fixed characteristics of a vehicle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VehicleProfile {
    /// What moves it.
    pub powertrain: Powertrain,
    /// Service interval, km.
    pub service_interval_km: f64,
    /// Service interval, days.
    pub service_interval_days: i64,
}

/// The changing physical state of a vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleModel {
    /// The fixed characteristics.
    pub profile: VehicleProfile,
    /// The odometer, km.
    pub odometer_km: f64,
    /// The energies: one store, or a tank then a battery for a plug-in hybrid.
    pub energies: Vec<EnergyStore>,
    /// The odometer reading at which the next service is due, km.
    pub service_due_km: f64,
    /// The day the next service is due.
    pub service_due_at: OffsetDateTime,
    /// The 12 V battery's state of health reported as `battery.voltage`, %.
    pub aux_battery: f64,
    /// Whether the doors are locked.
    pub locked: bool,
}

impl VehicleModel {
    /// A vehicle of a random powertrain, age and fill level, as it is at `now`.
    pub fn draw(rng: &mut impl Rng, now: OffsetDateTime) -> Self {
        let powertrain = Powertrain::draw(rng);
        Self::draw_with(rng, powertrain, now)
    }

    /// A vehicle with a given powertrain and a random age and fill level.
    pub fn draw_with(rng: &mut impl Rng, powertrain: Powertrain, now: OffsetDateTime) -> Self {
        let odometer_km = round_to(rng.gen_range(3_000.0..140_000.0), 1);
        let energies = draw_energies(rng, powertrain, odometer_km);
        let (interval_km, interval_days) = match powertrain {
            Powertrain::Diesel => (25_000.0, 365),
            Powertrain::Electric => (30_000.0, 730),
            _ => (20_000.0, 365),
        };
        let profile = VehicleProfile {
            powertrain,
            service_interval_km: interval_km,
            service_interval_days: interval_days,
        };

        Self {
            profile,
            odometer_km,
            energies,
            service_due_km: odometer_km + rng.gen_range(-500.0..interval_km),
            service_due_at: now + Duration::days(rng.gen_range(-15..interval_days)),
            aux_battery: rng.gen_range(82.0..99.0),
            locked: true,
        }
    }

    /// Accounts for `distance_km` driven at `speed_kmh` and `idle_s` seconds standing with the
    /// engine on. A plug-in hybrid uses its battery down to a small reserve, then its tank.
    pub fn drive(&mut self, distance_km: f64, speed_kmh: f64, idle_s: f64) {
        self.odometer_km += distance_km;
        let order = self.drive_order();
        let mut left = 1.0;

        for (position, &index) in order.iter().enumerate() {
            let reserve = self.reserve_of(index);
            let store = &mut self.energies[index];
            let per_km = store.base_per_km * store.speed_factor(speed_kmh);
            let wanted = (per_km * distance_km + store.idle_per_s() * idle_s) * left;
            let usable = (store.level - reserve).max(0.0) * store.capacity;
            if wanted <= usable || position + 1 == order.len() {
                store.draw(wanted);
                return;
            }
            store.draw(usable);
            left *= 1.0 - usable / wanted;
        }
    }

    /// The stores in the order they power the vehicle: a plug-in hybrid's battery first.
    fn drive_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.energies.len()).collect();
        if self.profile.powertrain == Powertrain::PluginHybrid {
            order.sort_by_key(|&index| !self.energies[index].is_battery());
        }
        order
    }

    /// The level a store keeps when another can take over: a plug-in hybrid keeps a little
    /// charge in its battery.
    fn reserve_of(&self, index: usize) -> f64 {
        let hybrid = self.profile.powertrain == Powertrain::PluginHybrid;
        if hybrid && self.energies[index].is_battery() {
            PHEV_BATTERY_RESERVE
        } else {
            0.0
        }
    }

    /// The fuel tank, if any.
    pub fn tank(&self) -> Option<&EnergyStore> {
        self.energies.iter().find(|store| !store.is_battery())
    }

    /// The traction battery, if any.
    pub fn battery(&self) -> Option<&EnergyStore> {
        self.energies.iter().find(|store| store.is_battery())
    }

    fn battery_mut(&mut self) -> Option<&mut EnergyStore> {
        self.energies.iter_mut().find(|store| store.is_battery())
    }

    fn tank_mut(&mut self) -> Option<&mut EnergyStore> {
        self.energies.iter_mut().find(|store| !store.is_battery())
    }

    /// Whether the tank is low enough to go to a filling station.
    pub fn needs_fuel(&self) -> bool {
        self.tank().is_some_and(|tank| tank.level < REFUEL_BELOW)
    }

    /// Whether a battery electric vehicle must go to a quick charger first.
    pub fn needs_quick_charge(&self, trip_km: f64) -> bool {
        if self.profile.powertrain != Powertrain::Electric {
            return false;
        }
        self.battery()
            .is_some_and(|b| b.level < QUICK_CHARGE_BELOW || b.autonomy_km() < trip_km + 15.0)
    }

    /// Whether the battery is low enough to be plugged in when parked.
    pub fn wants_charge(&self) -> bool {
        self.battery()
            .is_some_and(|battery| battery.level < CHARGE_BELOW)
    }

    /// Fills the tank for `seconds` at a pump; true once it is full.
    pub fn refuel(&mut self, seconds: f64) -> bool {
        const LITRES_PER_S: f64 = 0.6;
        let Some(tank) = self.tank_mut() else {
            return true;
        };
        tank.level = (tank.level + LITRES_PER_S * seconds / tank.capacity).min(1.0);
        tank.level >= 1.0
    }

    /// Plugs the battery in, if there is one.
    pub fn plug_in(&mut self, mode: ChargeMode) {
        let powertrain = self.profile.powertrain;
        let Some(battery) = self.battery_mut() else {
            return;
        };
        let (power_kw, target) = match (mode, powertrain) {
            (ChargeMode::Quick, _) => (60.0, 0.8),
            (ChargeMode::Slow, Powertrain::PluginHybrid) => (3.7, 1.0),
            (ChargeMode::Slow, _) => (7.4, 1.0),
        };
        battery.charging = Some(ChargeSession {
            mode,
            power_kw,
            target,
            finished: battery.level >= target,
        });
    }

    /// Unplugs the battery.
    pub fn unplug(&mut self) {
        if let Some(battery) = self.battery_mut() {
            battery.charging = None;
        }
    }

    /// Charges for `seconds`; true once the session reached its target (or none is under way).
    pub fn charge(&mut self, seconds: f64) -> bool {
        let Some(battery) = self.battery_mut() else {
            return true;
        };
        let Some(session) = battery.charging.as_mut() else {
            return true;
        };
        if !session.finished {
            let gained = session.power_kw * seconds / 3600.0 / battery.capacity;
            battery.level = (battery.level + gained).min(session.target.max(battery.level));
            session.finished = battery.level >= session.target - 1e-9;
        }
        session.finished
    }

    /// Whether a charging session is under way or finished while plugged in.
    pub fn is_plugged(&self) -> bool {
        self.battery()
            .is_some_and(|battery| battery.charging.is_some())
    }

    /// The energies as the protocol carries them.
    pub fn energy_samples(&self) -> Vec<EnergySample> {
        self.energies.iter().map(EnergyStore::sample).collect()
    }

    /// The service countdown at `now`.
    pub fn maintenance(&self, now: OffsetDateTime) -> MaintenanceSample {
        let days = (self.service_due_at - now).whole_days();
        MaintenanceSample {
            days_before_maintenance: Some(days.clamp(-9999, 9999) as i32),
            mileage_before_maintenance: Some(round_to(self.service_due_km - self.odometer_km, 1)),
        }
    }

    /// Whether the service is overdue at `now`.
    pub fn service_overdue(&self, now: OffsetDateTime) -> bool {
        self.service_due_at < now || self.service_due_km < self.odometer_km
    }

    /// Records a service done at `now`: the countdown starts again.
    pub fn service(&mut self, now: OffsetDateTime) {
        self.service_due_km = self.odometer_km + self.profile.service_interval_km;
        self.service_due_at = now + Duration::days(self.profile.service_interval_days);
    }

    /// Moves the 12 V battery's health a little: it recovers while driving, drifts down
    /// while parked.
    pub fn drift_aux_battery(&mut self, rng: &mut impl Rng, driving: bool, seconds: f64) {
        let trend = if driving { 0.4 } else { -0.05 } * seconds / 3600.0;
        let noise = rng.gen_range(-0.05..0.05);
        self.aux_battery = (self.aux_battery + trend + noise).clamp(60.0, 100.0);
    }

    /// The `status` sections: battery, doors, environment.
    pub fn status(&self, air_temp_c: f64, daylight: bool) -> Map<String, Value> {
        let lock = if self.locked { "Locked" } else { "Unlocked" };
        let mut status = Map::new();
        status.insert(
            "battery".into(),
            json!({"voltage": round_to(self.aux_battery, 1)}),
        );
        status.insert("doorsState".into(), json!({"lockedStates": [lock]}));
        status.insert(
            "environment".into(),
            json!({"air": {"temp": round_to(air_temp_c, 1)}, "luminosity": {"day": daylight}}),
        );
        status
    }
}

fn draw_energies(rng: &mut impl Rng, powertrain: Powertrain, odometer_km: f64) -> Vec<EnergyStore> {
    match powertrain {
        Powertrain::Petrol => {
            let litres = rng.gen_range(42.0..55.0);
            let per_100 = rng.gen_range(5.6..7.2);
            vec![tank(rng, FuelType::Petrol, litres, per_100, odometer_km)]
        }
        Powertrain::Diesel => {
            let litres = rng.gen_range(50.0..62.0);
            let per_100 = rng.gen_range(4.6..6.0);
            vec![tank(rng, FuelType::Diesel, litres, per_100, odometer_km)]
        }
        Powertrain::Electric => {
            let kwh = [46.0, 50.0, 54.0, 73.0][rng.gen_range(0..4)];
            let wh_per_km = rng.gen_range(145.0..185.0);
            vec![battery(rng, kwh, wh_per_km, odometer_km)]
        }
        Powertrain::PluginHybrid => {
            // Roughly half of a plug-in hybrid's distance is driven on each energy.
            let per_100 = rng.gen_range(5.8..7.0);
            let wh_per_km = rng.gen_range(170.0..210.0);
            let fuel = tank(rng, FuelType::Petrol, 40.0, per_100, odometer_km / 2.0);
            vec![fuel, battery(rng, 12.4, wh_per_km, odometer_km / 2.0)]
        }
    }
}

/// A tank of `litres` burning `l_per_100` l/100 km, that has powered `driven_km` so far.
fn tank(
    rng: &mut impl Rng,
    fuel: FuelType,
    litres: f64,
    l_per_100: f64,
    driven_km: f64,
) -> EnergyStore {
    EnergyStore {
        kind: StoreKind::Tank(fuel),
        capacity: litres,
        level: rng.gen_range(0.1..0.95),
        base_per_km: l_per_100 / 100.0,
        counter: driven_km * l_per_100 * rng.gen_range(0.95..1.05),
        charging: None,
    }
}

/// A battery of `kwh` using `wh_per_km`, that has powered `driven_km` so far.
fn battery(rng: &mut impl Rng, kwh: f64, wh_per_km: f64, driven_km: f64) -> EnergyStore {
    EnergyStore {
        kind: StoreKind::Battery,
        capacity: kwh,
        level: rng.gen_range(0.15..0.95),
        base_per_km: wh_per_km / 1000.0,
        counter: driven_km * wh_per_km * rng.gen_range(0.95..1.05),
        charging: None,
    }
}

/// Rounds to a number of decimals.
pub fn round_to(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-04 08:00 UTC);

    fn vehicle(powertrain: Powertrain) -> VehicleModel {
        VehicleModel::draw_with(&mut StdRng::seed_from_u64(7), powertrain, NOW)
    }

    #[test]
    fn driving_uses_fuel_at_a_believable_rate() {
        let mut car = vehicle(Powertrain::Diesel);
        car.energies[0].level = 1.0;
        let litres_before = car.energies[0].capacity;
        let counter_before = car.energies[0].counter;

        car.drive(100.0, 70.0, 0.0);

        let used = litres_before * (1.0 - car.energies[0].level);
        assert!((3.0..6.0).contains(&used), "{used} l/100 km");
        assert!((car.energies[0].counter - counter_before - used * 100.0).abs() < 1e-6);
    }

    #[test]
    fn motorway_speeds_cost_more_than_steady_town_speeds() {
        let mut slow = vehicle(Powertrain::Electric);
        let mut fast = slow.clone();

        slow.drive(20.0, 50.0, 0.0);
        fast.drive(20.0, 130.0, 0.0);

        assert!(fast.energies[0].level < slow.energies[0].level);
        assert!((slow.odometer_km - fast.odometer_km).abs() < 1e-9);
    }

    #[test]
    fn a_plugin_hybrid_drives_on_its_battery_first() {
        let mut car = vehicle(Powertrain::PluginHybrid);
        let fuel_before = car.tank().unwrap().level;
        let battery_before = car.battery().unwrap().level;

        car.drive(5.0, 50.0, 0.0);
        assert!(car.battery().unwrap().level < battery_before);
        assert_eq!(car.tank().unwrap().level, fuel_before);

        car.drive(200.0, 90.0, 0.0);
        assert!(car.tank().unwrap().level < fuel_before);
        assert!(car.battery().unwrap().level <= PHEV_BATTERY_RESERVE + 0.05);
    }

    #[test]
    fn refuelling_fills_the_tank() {
        let mut car = vehicle(Powertrain::Petrol);
        car.energies[0].level = 0.1;

        let half = car.refuel(30.0);
        let level_after_30_s = car.energies[0].level;
        let full = car.refuel(600.0);

        assert!(!half && level_after_30_s > 0.1);
        assert!(full);
        assert_eq!(car.energies[0].level, 1.0);
        assert!(!car.needs_fuel());
    }

    #[test]
    fn charging_raises_the_level_up_to_the_target_and_reports_it() {
        let mut car = vehicle(Powertrain::Electric);
        car.energies[0].level = 0.1;
        assert!(car.wants_charge());

        car.plug_in(ChargeMode::Quick);
        let charging = car.energy_samples()[0].charging.clone().unwrap();
        assert!(!car.charge(600.0));
        let after_10_min = car.energies[0].level;
        let done = car.charge(4.0 * 3600.0);

        assert_eq!(charging["plugged"], json!(true));
        assert_eq!(charging["status"], json!("InProgress"));
        assert_eq!(charging["chargingMode"], json!("Quick"));
        assert!(after_10_min > 0.1);
        assert!(done);
        assert!((car.energies[0].level - 0.8).abs() < 1e-6);
        let finished = car.energy_samples()[0].charging.clone().unwrap();
        assert_eq!(finished["status"], json!("Finished"));
    }

    #[test]
    fn a_low_electric_vehicle_goes_to_a_quick_charger_but_a_hybrid_does_not() {
        let mut bev = vehicle(Powertrain::Electric);
        let mut phev = vehicle(Powertrain::PluginHybrid);
        bev.energies[0].level = 0.1;
        phev.energies[1].level = 0.1;

        assert!(bev.needs_quick_charge(5.0));
        assert!(!phev.needs_quick_charge(5.0));
        assert!(phev.wants_charge());
    }

    #[test]
    fn samples_carry_the_energy_types_of_the_powertrain() {
        let phev = vehicle(Powertrain::PluginHybrid).energy_samples();
        let diesel = vehicle(Powertrain::Diesel).energy_samples();

        assert_eq!(phev.len(), 2);
        assert_eq!(phev[0].kind, EnergyType::Fuel);
        assert_eq!(phev[1].kind, EnergyType::Electric);
        assert_eq!(phev[1].fuel_type, None);
        assert!(phev[0].charging.is_none() && phev[1].charging.is_some());
        assert_eq!(diesel[0].fuel_type, Some(FuelType::Diesel));
        assert!(diesel[0].autonomy.unwrap() > 100);
    }

    #[test]
    fn the_service_countdown_follows_time_and_distance() {
        let mut car = vehicle(Powertrain::Petrol);
        car.service(NOW);
        car.drive(1_000.0, 70.0, 0.0);

        let later = car.maintenance(NOW + Duration::days(30));

        assert_eq!(later.days_before_maintenance, Some(365 - 30));
        let km = later.mileage_before_maintenance.unwrap();
        assert!((km - 19_000.0).abs() < 0.1, "{km}");
        assert!(car.service_overdue(NOW + Duration::days(400)));
    }
}
