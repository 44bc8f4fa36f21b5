//! The scenario: each simulated vehicle's day, message after message, without I/O.
//!
//! A [`VehicleSim`] lives on its own simulated timeline. It is parked (a sample every ten
//! intervals), leaves on a journey to a random destination along the quickest route (a
//! sample every interval, ignition `StartUp` then `Start`, `Stop` on arrival), refuels or
//! charges when low, and now and then has an incident drawn from a Poisson process: an
//! alert raised then ended, the alarm going off, a collision, a theft (the thief drives it
//! away; it is recovered hours later).
//!
//! Everything a vehicle does comes from one random generator seeded from the scenario seed
//! and its VIN, and message ids count from a prefix made of the seed and the start time: the
//! same parameters give the same messages, whatever the wall clock does. A [`Fleet`] steps
//! many vehicles together.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use fleetgate_core::vehicle::message::{
    AckStatus, AlarmActivation, AlarmEvent, AlertEvent, CommandAck, Event, FixKind, FixStatus,
    Ignition, MessageBody, PositionFix, Privacy, Telemetry, TheftEvent,
};
use fleetgate_core::vehicle::VehicleMessage;
use fleetgate_core::Vin;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::drive::{Fix, Journey};
use crate::incident::{self, IncidentKind, LOW_FUEL_ALERT};
use crate::model::{round_to, ChargeMode, VehicleModel};
use crate::network::{distance_m, Network, NodeId, Route};

/// A parked vehicle sends one sample every this many intervals.
pub const PARKED_SAMPLE_FACTOR: f64 = 10.0;

/// Every this many driving samples also carries the service countdown and status sections.
const FULL_SAMPLE_EVERY: u64 = 6;

/// The parameters shared by every vehicle of a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScenarioParams {
    /// The simulated time at which the scenario starts.
    pub start: OffsetDateTime,
    /// The simulated time between two samples of a driving vehicle.
    pub interval: StdDuration,
    /// Incidents per vehicle per simulated hour.
    pub incident_rate: f64,
    /// The seed every vehicle's randomness derives from.
    pub seed: u64,
}

impl ScenarioParams {
    /// Parameters with the default interval (10 s) and incident rate (0.01 per hour).
    pub fn new(start: OffsetDateTime, seed: u64) -> Self {
        Self {
            start,
            interval: StdDuration::from_secs(10),
            incident_rate: 0.01,
            seed,
        }
    }
}

/// What the vehicles of a scenario did, counted as they did it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActivityCounts {
    /// Journeys started.
    pub trips: u64,
    /// Stops at a filling station.
    pub refuels: u64,
    /// Charging sessions.
    pub charges: u64,
    /// Services done at a garage.
    pub services: u64,
}

impl ActivityCounts {
    /// Adds another vehicle's counts.
    pub fn add(&mut self, other: &Self) {
        self.trips += other.trips;
        self.refuels += other.refuels;
        self.charges += other.charges;
        self.services += other.services;
    }
}

/// Why a vehicle is driving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Errand,
    Refuel,
    QuickCharge,
    Getaway,
}

/// What a parked vehicle is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Idle,
    Refuelling,
    Charging,
}

#[derive(Debug, Clone)]
enum Activity {
    Parked {
        depart_t: f64,
        service: Service,
    },
    Driving {
        journey: Box<Journey>,
        purpose: Purpose,
    },
}

/// Something due later on the vehicle's timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Planned {
    AlertEnds(&'static str),
    Recovered,
}

/// One simulated vehicle and the messages it is about to send.
#[derive(Debug, Clone)]
pub struct VehicleSim {
    vin: Vin,
    network: Arc<Network>,
    start: OffsetDateTime,
    interval_s: f64,
    incident_rate: f64,
    id_prefix: String,
    rng: StdRng,
    model: VehicleModel,
    place: NodeId,
    spot: (f64, f64),
    heading: f64,
    pace: f64,
    privacy: Privacy,
    activity: Activity,
    t: f64,
    outbox: VecDeque<VehicleMessage>,
    counter: u64,
    acks: u64,
    since_full_sample: u64,
    next_incident_t: f64,
    planned: Vec<(f64, Planned)>,
    active_alerts: Vec<&'static str>,
    alarm_went_off: bool,
    stolen: bool,
    getaway_pending: bool,
    counts: ActivityCounts,
}

impl VehicleSim {
    /// A vehicle parked somewhere on the network at the scenario's start.
    pub fn new(network: Arc<Network>, vin: Vin, params: &ScenarioParams) -> Self {
        let start = params.start;
        Self::with_model(network, vin, params, |rng| VehicleModel::draw(rng, start))
    }

    /// A vehicle whose physical model is made by `make_model` from its random generator.
    fn with_model(
        network: Arc<Network>,
        vin: Vin,
        params: &ScenarioParams,
        make_model: impl FnOnce(&mut StdRng) -> VehicleModel,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(vehicle_seed(params.seed, &vin));
        let model = make_model(&mut rng);
        let place = NodeId(rng.gen_range(0..network.node_count() as u16));
        let interval_s = params.interval.as_secs_f64().max(0.1);
        let id_prefix = format!("s{:x}-{:x}", params.seed, params.start.unix_timestamp());

        let mut vehicle = Self {
            vin,
            start: params.start,
            interval_s,
            incident_rate: params.incident_rate.max(0.0),
            id_prefix,
            spot: (0.0, 0.0),
            heading: rng.gen_range(0.0..360.0),
            pace: rng.gen_range(0.9..1.04),
            rng,
            model,
            place,
            network,
            privacy: Privacy::None,
            activity: Activity::Parked {
                depart_t: 0.0,
                service: Service::Idle,
            },
            t: 0.0,
            outbox: VecDeque::new(),
            counter: 0,
            acks: 0,
            since_full_sample: 0,
            next_incident_t: f64::INFINITY,
            planned: Vec::new(),
            active_alerts: Vec::new(),
            alarm_went_off: false,
            stolen: false,
            getaway_pending: false,
            counts: ActivityCounts::default(),
        };
        vehicle.settle_at_start();
        vehicle
    }

    fn settle_at_start(&mut self) {
        self.spot = self.draw_spot();
        self.next_incident_t = self.draw_incident_after(0.0);
        let depart_t = self.plan_first_departure();
        let service = if self.model.wants_charge() {
            self.model.plug_in(ChargeMode::Slow);
            Service::Charging
        } else {
            Service::Idle
        };
        self.activity = Activity::Parked { depart_t, service };
        self.push_telemetry(Ignition::Stop, true);
    }

    /// The vehicle's VIN.
    pub fn vin(&self) -> &Vin {
        &self.vin
    }

    /// The vehicle's physical state, as of the last message generated.
    pub fn model(&self) -> &VehicleModel {
        &self.model
    }

    /// What the vehicle did so far.
    pub fn counts(&self) -> ActivityCounts {
        self.counts
    }

    /// Whether the vehicle is on a journey.
    pub fn is_driving(&self) -> bool {
        matches!(self.activity, Activity::Driving { .. })
    }

    /// Whether the vehicle is stolen.
    pub fn is_stolen(&self) -> bool {
        self.stolen
    }

    /// The vehicle's next message, generating as much of its timeline as needed.
    pub fn next_message(&mut self) -> VehicleMessage {
        loop {
            if let Some(message) = self.outbox.pop_front() {
                return message;
            }
            self.advance();
        }
    }

    /// The time of the next message, without taking it.
    pub fn peek_time(&mut self) -> OffsetDateTime {
        loop {
            if let Some(message) = self.outbox.front() {
                return message.at;
            }
            self.advance();
        }
    }

    /// The next message if it is dated at or before `until`.
    pub fn next_message_until(&mut self, until: OffsetDateTime) -> Option<VehicleMessage> {
        if self.peek_time() <= until {
            self.outbox.pop_front()
        } else {
            None
        }
    }

    /// The acknowledgement of a command received at `at`; `None` when the command's id is
    /// not one the protocol accepts. Acknowledgements have ids of their own, so they do not
    /// shift the ids of the scenario's messages.
    pub fn acknowledge(&mut self, command_id: &str, at: OffsetDateTime) -> Option<VehicleMessage> {
        if command_id.is_empty() || command_id.len() > 64 {
            return None;
        }
        self.acks += 1;
        let ack = CommandAck {
            command: command_id.to_owned(),
            status: AckStatus::Success,
            failure_cause: None,
        };
        Some(VehicleMessage {
            vin: self.vin.clone(),
            id: format!("{}-a{}", self.id_prefix, self.acks),
            at,
            body: MessageBody::Ack(ack),
        })
    }

    fn advance(&mut self) {
        if self.is_driving() {
            self.advance_driving();
        } else {
            self.advance_parked();
        }
    }

    fn advance_parked(&mut self) {
        let tick_end = self.t + self.interval_s * PARKED_SAMPLE_FACTOR;
        loop {
            let until = tick_end.min(self.depart_t());
            match self.next_due(until) {
                Some(due) => {
                    self.stay_parked_until(due);
                    self.fire(due);
                }
                None => {
                    self.stay_parked_until(until);
                    break;
                }
            }
        }

        if self.t >= self.depart_t() {
            self.depart();
        } else {
            self.push_telemetry(Ignition::Stop, true);
        }
    }

    fn depart_t(&self) -> f64 {
        match self.activity {
            Activity::Parked { depart_t, .. } => depart_t,
            Activity::Driving { .. } => self.t,
        }
    }

    fn set_parked(&mut self, depart_t: f64, service: Service) {
        self.activity = Activity::Parked { depart_t, service };
    }

    /// Lets parked time pass: refuelling, charging, the 12 V battery drifting.
    fn stay_parked_until(&mut self, until: f64) {
        let seconds = (until - self.t).max(0.0);
        let Activity::Parked { depart_t, service } = self.activity else {
            return;
        };
        self.model.drift_aux_battery(&mut self.rng, false, seconds);
        self.t = until;

        match service {
            Service::Refuelling if self.model.refuel(seconds) => {
                let leave = until + self.rng.gen_range(120.0..300.0);
                self.set_parked(depart_t.min(leave), Service::Idle);
                self.end_alert_now(LOW_FUEL_ALERT);
            }
            Service::Charging if self.model.charge(seconds) => self.finish_charge(depart_t),
            _ => {}
        }
    }

    fn finish_charge(&mut self, depart_t: f64) {
        let quick = self
            .model
            .battery()
            .and_then(|battery| battery.charging)
            .is_some_and(|session| session.mode == ChargeMode::Quick);
        if quick {
            let leave = self.t + self.rng.gen_range(60.0..600.0);
            self.set_parked(depart_t.min(leave), Service::Idle);
        }
    }

    fn depart(&mut self) {
        let wanted = self.choose_purpose();
        let (purpose, route) = self.plan_journey(wanted);
        let Some(route) = route else {
            self.serve_here(purpose);
            return;
        };

        self.model.unplug();
        if self.alarm_went_off {
            self.alarm_went_off = false;
            let alarm = AlarmEvent {
                activation: AlarmActivation::Inactive,
                trigger: None,
                position: Some(self.parked_fix().into_position(&mut self.rng)),
            };
            self.push_event(self.t, Event::Alarm(alarm));
        }
        self.privacy = if self.rng.gen_bool(0.05) {
            Privacy::Geolocation
        } else {
            Privacy::None
        };
        self.model.locked = false;
        self.counts.trips += 1;
        self.push_telemetry(Ignition::StartUp, true);

        let pace = if purpose == Purpose::Getaway {
            1.04
        } else {
            self.pace
        };
        let journey = Journey::new(route, pace, &self.network, &mut self.rng);
        self.activity = Activity::Driving {
            journey: Box::new(journey),
            purpose,
        };
    }

    fn choose_purpose(&mut self) -> Purpose {
        if std::mem::take(&mut self.getaway_pending) {
            Purpose::Getaway
        } else if self.model.needs_fuel() {
            Purpose::Refuel
        } else if self.model.needs_quick_charge(0.0) {
            Purpose::QuickCharge
        } else {
            Purpose::Errand
        }
    }

    /// The journey's purpose and route; no route when what is wanted is right here. An
    /// errand too long for a battery's charge turns into a trip to a quick charger.
    fn plan_journey(&mut self, wanted: Purpose) -> (Purpose, Option<Route>) {
        let network = Arc::clone(&self.network);
        let (purpose, route) = match wanted {
            Purpose::Refuel => (wanted, network.route_to_nearest(self.place, |s| s.fuel)),
            Purpose::QuickCharge => {
                let route = network.route_to_nearest(self.place, |s| s.quick_charge);
                (wanted, route)
            }
            Purpose::Getaway => (wanted, network.route(self.place, self.far_destination())),
            Purpose::Errand => {
                let route = network.route(self.place, self.errand_destination());
                let trip_km = route.as_ref().map_or(0.0, |route| route.length_m / 1000.0);
                if self.model.needs_quick_charge(trip_km) {
                    let to_charger = network.route_to_nearest(self.place, |s| s.quick_charge);
                    (Purpose::QuickCharge, to_charger)
                } else {
                    (wanted, route)
                }
            }
        };
        (purpose, route.filter(|route| !route.edges.is_empty()))
    }

    /// Starts refuelling or charging where the vehicle stands (it is already at the
    /// station), or waits a little when there is nowhere to go.
    fn serve_here(&mut self, purpose: Purpose) {
        match purpose {
            Purpose::Refuel => {
                self.counts.refuels += 1;
                self.set_parked(f64::INFINITY, Service::Refuelling);
            }
            Purpose::QuickCharge => {
                self.counts.charges += 1;
                self.model.plug_in(ChargeMode::Quick);
                self.set_parked(f64::INFINITY, Service::Charging);
            }
            Purpose::Errand | Purpose::Getaway => {
                let depart_t = self.t + 600.0;
                self.set_parked(depart_t, Service::Idle);
            }
        }
        self.push_telemetry(Ignition::Stop, true);
    }

    fn errand_destination(&mut self) -> NodeId {
        let here = self.network.node(self.place).lon_lat();
        let nearby = self.rng.gen_bool(0.6);
        let candidates: Vec<NodeId> = self
            .network
            .node_ids()
            .filter(|&id| id != self.place)
            .filter(|&id| !nearby || distance_m(here, self.network.node(id).lon_lat()) < 8_000.0)
            .collect();
        self.pick(candidates)
    }

    fn far_destination(&mut self) -> NodeId {
        let here = self.network.node(self.place).lon_lat();
        let candidates: Vec<NodeId> = self
            .network
            .node_ids()
            .filter(|&id| distance_m(here, self.network.node(id).lon_lat()) > 8_000.0)
            .collect();
        self.pick(candidates)
    }

    fn pick(&mut self, candidates: Vec<NodeId>) -> NodeId {
        if candidates.is_empty() {
            return self.place;
        }
        candidates[self.rng.gen_range(0..candidates.len())]
    }

    fn advance_driving(&mut self) {
        let tick_end = self.t + self.interval_s;
        let congestion = congestion_at(self.local_time(self.t));
        let network = Arc::clone(&self.network);

        while self.t < tick_end - 1e-9 {
            let dt = (tick_end - self.t).min(1.0);
            let step_end = self.t + dt;
            while let Some(due) = self.next_due(step_end) {
                self.fire(due);
            }
            let Activity::Driving { journey, .. } = &mut self.activity else {
                return;
            };
            let step = journey.step(&network, dt, congestion, &mut self.rng);
            self.model
                .drive(step.distance_m / 1000.0, step.speed_kmh, step.idle_s);
            self.model.drift_aux_battery(&mut self.rng, true, dt);
            self.t = step_end;
            if step.arrived {
                self.arrive();
                return;
            }
        }
        self.push_telemetry(Ignition::Start, false);
    }

    fn arrive(&mut self) {
        let Activity::Driving { journey, purpose } = &self.activity else {
            return;
        };
        let purpose = *purpose;
        self.place = journey.route().destination();
        self.heading = journey.fix(&self.network).heading;
        self.spot = self.draw_spot();
        self.model.locked = !self.stolen;
        self.set_parked(f64::INFINITY, Service::Idle);
        self.push_telemetry(Ignition::Stop, true);

        match purpose {
            Purpose::Refuel => {
                self.counts.refuels += 1;
                self.set_parked(f64::INFINITY, Service::Refuelling);
            }
            Purpose::QuickCharge => {
                self.counts.charges += 1;
                self.model.plug_in(ChargeMode::Quick);
                self.set_parked(f64::INFINITY, Service::Charging);
            }
            Purpose::Getaway => {
                let recovered = self.t + self.rng.gen_range(3600.0..10.0 * 3600.0);
                self.plan(recovered, Planned::Recovered);
            }
            Purpose::Errand => self.park_after_errand(),
        }
    }

    fn park_after_errand(&mut self) {
        let now = self.time(self.t);
        if self.model.service_overdue(now) && self.rng.gen_bool(0.25) {
            self.model.service(now);
            self.counts.services += 1;
        }
        let depart_t = self.plan_departure(self.t);
        if self.model.wants_charge() {
            self.counts.charges += 1;
            self.model.plug_in(ChargeMode::Slow);
            self.set_parked(depart_t, Service::Charging);
        } else {
            self.set_parked(depart_t, Service::Idle);
        }
    }

    /// The earliest planned event or incident due at or before `until`.
    fn next_due(&self, until: f64) -> Option<f64> {
        let planned = self
            .planned
            .iter()
            .map(|(t, _)| *t)
            .fold(f64::INFINITY, f64::min);
        let due = planned.min(self.next_incident_t);
        (due <= until).then_some(due)
    }

    fn plan(&mut self, t: f64, what: Planned) {
        self.planned.push((t, what));
    }

    /// Handles what is due at `due`: the earliest planned event, else an incident.
    fn fire(&mut self, due: f64) {
        let earliest = self
            .planned
            .iter()
            .enumerate()
            .filter(|(_, (t, _))| *t <= due)
            .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
            .map(|(index, _)| index);
        if let Some(index) = earliest {
            let (t, what) = self.planned.remove(index);
            self.handle_planned(t, what);
            return;
        }
        self.next_incident_t = self.draw_incident_after(due);
        self.incident(due);
    }

    fn handle_planned(&mut self, t: f64, what: Planned) {
        match what {
            Planned::AlertEnds(alert) => self.end_alert(t, alert),
            Planned::Recovered => self.recover(t),
        }
    }

    fn incident(&mut self, t: f64) {
        let driving = self.is_driving();
        let kind = match IncidentKind::draw(&mut self.rng, driving) {
            IncidentKind::Alarm | IncidentKind::Theft if self.stolen => IncidentKind::Alert,
            IncidentKind::Alarm if self.alarm_went_off => IncidentKind::Alert,
            kind => kind,
        };
        match kind {
            IncidentKind::Alert => self.raise_alert(t),
            IncidentKind::Alarm => self.alarm_goes_off(t),
            IncidentKind::Collision => self.collide(t),
            IncidentKind::Theft => self.steal(t),
        }
    }

    fn raise_alert(&mut self, t: f64) {
        let powertrain = self.model.profile.powertrain;
        let Some(alert) = incident::draw_alert(&mut self.rng, powertrain, &self.active_alerts)
        else {
            return;
        };
        self.start_alert(t, alert);
        let ends = t + self.rng.gen_range(600.0..8.0 * 3600.0);
        self.plan(ends, Planned::AlertEnds(alert));
    }

    fn start_alert(&mut self, t: f64, alert: &'static str) {
        self.active_alerts.push(alert);
        let event = AlertEvent {
            alert: alert.to_owned(),
            severity: incident::alert_severity(alert),
            active: true,
            position: Some(self.current_position()),
        };
        self.push_event(t, Event::Alert(event));
    }

    fn end_alert(&mut self, t: f64, alert: &'static str) {
        let Some(index) = self.active_alerts.iter().position(|&a| a == alert) else {
            return;
        };
        self.active_alerts.remove(index);
        let event = AlertEvent {
            alert: alert.to_owned(),
            severity: incident::alert_severity(alert),
            active: false,
            position: Some(self.current_position()),
        };
        self.push_event(t, Event::Alert(event));
    }

    fn end_alert_now(&mut self, alert: &'static str) {
        self.end_alert(self.t, alert);
    }

    fn alarm_goes_off(&mut self, t: f64) {
        self.alarm_went_off = true;
        let alarm = AlarmEvent {
            activation: AlarmActivation::Active,
            trigger: Some(incident::draw_alarm_trigger(&mut self.rng).to_owned()),
            position: Some(self.current_position()),
        };
        self.push_event(t, Event::Alarm(alarm));
    }

    fn collide(&mut self, t: f64) {
        let mut collision = incident::draw_collision(&mut self.rng);
        let stop_s = incident::collision_stop_s(&mut self.rng, &collision);
        collision.position = Some(self.current_position());
        if let Activity::Driving { journey, .. } = &mut self.activity {
            journey.hold(stop_s);
        }
        self.push_event(t, Event::Collision(collision));
    }

    fn steal(&mut self, t: f64) {
        self.stolen = true;
        self.getaway_pending = true;
        self.model.unplug();
        self.model.locked = false;
        let theft = TheftEvent {
            stolen: true,
            position: Some(self.current_position()),
        };
        self.push_event(t, Event::Theft(theft));
        let depart_t = t + self.rng.gen_range(60.0..240.0);
        self.set_parked(depart_t, Service::Idle);
    }

    fn recover(&mut self, t: f64) {
        self.stolen = false;
        self.model.locked = true;
        let theft = TheftEvent {
            stolen: false,
            position: Some(self.current_position()),
        };
        self.push_event(t, Event::Theft(theft));
        if !self.is_driving() {
            let depart_t = t + self.rng.gen_range(1800.0..7200.0);
            self.set_parked(depart_t, Service::Idle);
        }
    }

    fn draw_incident_after(&mut self, t: f64) -> f64 {
        if self.incident_rate <= 0.0 {
            return f64::INFINITY;
        }
        let u: f64 = self.rng.gen_range(f64::EPSILON..1.0);
        t - u.ln() / self.incident_rate * 3600.0
    }

    fn plan_first_departure(&mut self) -> f64 {
        let hour = local_hour(self.local_time(0.0));
        if is_active_hour(hour) {
            self.rng.gen_range(60.0..5400.0)
        } else {
            self.next_morning(0.0)
        }
    }

    /// When a vehicle that just parked at `t` leaves again: a while later in the day, or
    /// the next morning after the evening.
    fn plan_departure(&mut self, t: f64) -> f64 {
        let local = self.local_time(t);
        let weekend = local.weekday().number_days_from_monday() >= 5;
        let mean_s = if weekend { 7200.0 } else { 3600.0 };
        let u: f64 = self.rng.gen_range(f64::EPSILON..1.0);
        let dwell = (480.0 - u.ln() * mean_s).min(5.0 * 3600.0);

        let leave = t + dwell;
        if is_active_hour(local_hour(self.local_time(leave))) {
            leave
        } else {
            self.next_morning(t)
        }
    }

    /// A departure time between 06:30 and 09:00 local time, the morning after `t` (or the
    /// same morning before dawn).
    fn next_morning(&mut self, t: f64) -> f64 {
        let local = self.local_time(t);
        let days_ahead = if local_hour(local) >= 6.0 { 1 } else { 0 };
        let midnight = local.replace_time(time::Time::MIDNIGHT) + Duration::days(days_ahead);
        let leave = midnight + Duration::seconds_f64(self.rng.gen_range(6.5..9.0) * 3600.0);
        (leave - self.start).as_seconds_f64()
    }

    fn push_telemetry(&mut self, ignition: Ignition, full: bool) {
        self.low_fuel_alert();
        let full = full || self.since_full_sample + 1 >= FULL_SAMPLE_EVERY;
        self.since_full_sample = if full { 0 } else { self.since_full_sample + 1 };
        let now = self.time(self.t);

        let mut telemetry = Telemetry {
            position: Some(self.current_position()),
            ignition: Some(ignition),
            odometer: Some(round_to(self.model.odometer_km, 1)),
            energies: self.model.energy_samples(),
            privacy: Some(self.privacy),
            ..Telemetry::default()
        };
        if full {
            let local = self.local_time(self.t);
            telemetry.maintenance = Some(self.model.maintenance(now));
            let temp = air_temperature(local) + self.rng.gen_range(-0.4..0.4);
            telemetry.status = self.model.status(temp, is_daylight(local));
        }
        self.push(self.t, MessageBody::Telemetry(telemetry));
    }

    /// Raises the low-fuel alert when the tank goes below 8 %.
    fn low_fuel_alert(&mut self) {
        let low = self.model.tank().is_some_and(|tank| tank.level < 0.08);
        if low && !self.active_alerts.contains(&LOW_FUEL_ALERT) {
            self.start_alert(self.t, LOW_FUEL_ALERT);
        }
    }

    fn push_event(&mut self, t: f64, event: Event) {
        self.push(t, MessageBody::Event(event));
    }

    fn push(&mut self, t: f64, body: MessageBody) {
        self.counter += 1;
        let message = VehicleMessage {
            vin: self.vin.clone(),
            id: format!("{}-{}", self.id_prefix, self.counter),
            at: self.time(t),
            body,
        };
        self.outbox.push_back(message);
    }

    fn current_position(&mut self) -> PositionFix {
        let fix = match &self.activity {
            Activity::Driving { journey, .. } => journey.fix(&self.network),
            Activity::Parked { .. } => self.parked_fix(),
        };
        fix.into_position(&mut self.rng)
    }

    fn parked_fix(&self) -> Fix {
        let node = self.network.node(self.place);
        Fix {
            lon: node.lon + self.spot.0,
            lat: node.lat + self.spot.1,
            alt: node.alt,
            heading: self.heading,
            speed_kmh: 0.0,
        }
    }

    /// A parking spot a few tens of metres from the junction.
    fn draw_spot(&mut self) -> (f64, f64) {
        (
            self.rng.gen_range(-0.0006..0.0006),
            self.rng.gen_range(-0.0004..0.0004),
        )
    }

    /// The simulated time `t` seconds after the start, to the millisecond.
    fn time(&self, t: f64) -> OffsetDateTime {
        self.start + Duration::milliseconds((t * 1000.0).round() as i64)
    }

    fn local_time(&self, t: f64) -> OffsetDateTime {
        let utc = self.time(t);
        utc.to_offset(paris_offset(utc))
    }
}

impl Fix {
    /// The fix as the protocol carries it, with a believable receiver quality.
    fn into_position(self, rng: &mut impl Rng) -> PositionFix {
        let estimated = rng.gen_bool(0.02);
        PositionFix {
            lon: round_to(self.lon, 6),
            lat: round_to(self.lat, 6),
            alt: Some(round_to(self.alt, 0)),
            heading: Some((self.heading.round() as u16) % 360),
            speed: Some(round_to(self.speed_kmh, 1)),
            signal_quality: Some(rng.gen_range(2..=5)),
            kind: Some(if estimated {
                FixKind::Estimated
            } else {
                FixKind::Acquire
            }),
            fix_status: Some(if rng.gen_bool(0.05) {
                FixStatus::TwoD
            } else {
                FixStatus::ThreeD
            }),
        }
    }
}

/// A vehicle's seed: the scenario seed mixed with the VIN (FNV-1a, then SplitMix64), so that a
/// vehicle behaves the same whatever its place in the list.
pub fn vehicle_seed(seed: u64, vin: &Vin) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in vin.as_str().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix64(seed ^ hash)
}

fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Paris's offset from UTC: CEST (+2) from the last Sunday of March to the last Sunday of
/// October, CET (+1) otherwise, switching at 01:00 UTC.
fn paris_offset(utc: OffsetDateTime) -> UtcOffset {
    let year = utc.year();
    let summer_starts = last_sunday_1am_utc(year, time::Month::March);
    let summer_ends = last_sunday_1am_utc(year, time::Month::October);
    let hours = if utc >= summer_starts && utc < summer_ends {
        2
    } else {
        1
    };
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

fn last_sunday_1am_utc(year: i32, month: time::Month) -> OffsetDateTime {
    let last_day = month.length(year);
    let date = time::Date::from_calendar_date(year, month, last_day).unwrap_or(time::Date::MIN);
    let back = date.weekday().number_days_from_sunday();
    let sunday = date - Duration::days(i64::from(back));
    sunday
        .with_hms(1, 0, 0)
        .map(|d| d.assume_utc())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn local_hour(local: OffsetDateTime) -> f64 {
    f64::from(local.hour()) + f64::from(local.minute()) / 60.0
}

/// Whether vehicles leave at this local hour: from 06:00 to 19:30.
fn is_active_hour(hour: f64) -> bool {
    (6.0..19.5).contains(&hour)
}

/// How traffic flows at a local time: rush hours are slow, nights are free.
fn congestion_at(local: OffsetDateTime) -> f64 {
    let hour = local_hour(local);
    let weekend = local.weekday().number_days_from_monday() >= 5;
    match hour {
        _ if !(6.0..22.0).contains(&hour) => 1.1,
        _ if weekend => 0.95,
        h if (7.5..9.5).contains(&h) || (17.0..19.5).contains(&h) => 0.6,
        _ => 0.85,
    }
}

/// The outside temperature in Paris, °C: a seasonal swing with a daily one on top.
fn air_temperature(local: OffsetDateTime) -> f64 {
    use std::f64::consts::TAU;
    let day = f64::from(local.ordinal());
    let hour = local_hour(local);
    let seasonal = 12.5 - 8.0 * (TAU * (day - 20.0) / 365.25).cos();
    let daily = 4.5 * (TAU * (hour - 9.0) / 24.0).sin();
    seasonal + daily
}

/// Whether it is daylight in Paris at a local time.
fn is_daylight(local: OffsetDateTime) -> bool {
    use std::f64::consts::TAU;
    let day = f64::from(local.ordinal());
    let day_length = 12.2 + 4.0 * (TAU * (day - 80.0) / 365.25).sin();
    let noon = if local.offset().whole_hours() == 2 {
        14.0
    } else {
        13.0
    };
    let hour = local_hour(local);
    (hour - noon).abs() < day_length / 2.0
}

/// Many vehicles of one scenario, stepped together.
#[derive(Debug, Clone)]
pub struct Fleet {
    vehicles: Vec<VehicleSim>,
}

impl Fleet {
    /// A fleet on the built-in Paris network.
    pub fn new(params: &ScenarioParams, vins: impl IntoIterator<Item = Vin>) -> Self {
        Self::on(Arc::new(Network::paris()), params, vins)
    }

    /// A fleet on a given network.
    pub fn on(
        network: Arc<Network>,
        params: &ScenarioParams,
        vins: impl IntoIterator<Item = Vin>,
    ) -> Self {
        let vehicles = vins
            .into_iter()
            .map(|vin| VehicleSim::new(Arc::clone(&network), vin, params))
            .collect();
        Self { vehicles }
    }

    /// Every message of every vehicle dated at or before `until`, in time order (ties in
    /// vehicle order).
    pub fn step(&mut self, until: OffsetDateTime) -> Vec<VehicleMessage> {
        let mut messages = Vec::new();
        for vehicle in &mut self.vehicles {
            while let Some(message) = vehicle.next_message_until(until) {
                messages.push(message);
            }
        }
        messages.sort_by_key(|message| message.at);
        messages
    }

    /// The vehicles.
    pub fn vehicles(&self) -> &[VehicleSim] {
        &self.vehicles
    }

    /// The vehicles, to drive each on its own.
    pub fn into_vehicles(self) -> Vec<VehicleSim> {
        self.vehicles
    }
}

#[cfg(test)]
mod tests;
