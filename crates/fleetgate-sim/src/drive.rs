//! How a vehicle drives a route, second by second: it accelerates and brakes, keeps near
//! the speed limit with a personal pace and some noise, stops at red lights along city
//! streets and at some junctions, and slows down for turns.

use rand::Rng;

use crate::network::{bearing_deg, Edge, Network, RoadClass, Route};

/// No simulated vehicle ever goes faster than this, m/s (136 km/h).
pub const MAX_SPEED_MS: f64 = 136.0 / 3.6;

/// Comfortable acceleration, m/s².
const ACCELERATION: f64 = 1.6;

/// Comfortable braking, m/s², used to plan stops.
const BRAKING: f64 = 2.2;

/// The hardest braking allowed when the plan was too optimistic, m/s².
const HARD_BRAKING: f64 = 4.5;

/// The slowest a moving vehicle creeps towards a stop, m/s.
const CREEP: f64 = 1.5;

/// Where a vehicle is and how it moves, as its receiver would report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Altitude, metres.
    pub alt: f64,
    /// Course, degrees from north, 0..360.
    pub heading: f64,
    /// Speed, km/h.
    pub speed_kmh: f64,
}

/// What one step of driving did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Distance driven, metres.
    pub distance_m: f64,
    /// Mean speed over the step, km/h.
    pub speed_kmh: f64,
    /// Seconds spent standing still with the engine on.
    pub idle_s: f64,
    /// Whether the destination was reached.
    pub arrived: bool,
}

/// A journey under way along a route.
#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    route: Route,
    leg: usize,
    along_m: f64,
    speed_ms: f64,
    pace: f64,
    drift: f64,
    red_light_at_m: f64,
    stop_at_junction: bool,
    held_s: f64,
    travelled_m: f64,
    arrived: bool,
}

impl Journey {
    /// Starts a journey at the route's origin, standing still; `pace` is the driver's share
    /// of the speed limit (about 0.9 to 1.05).
    pub fn new(route: Route, pace: f64, network: &Network, rng: &mut impl Rng) -> Self {
        let arrived = route.edges.is_empty();
        let mut journey = Self {
            route,
            leg: 0,
            along_m: 0.0,
            speed_ms: 0.0,
            pace,
            drift: 0.0,
            red_light_at_m: f64::INFINITY,
            stop_at_junction: false,
            held_s: 0.0,
            travelled_m: 0.0,
            arrived,
        };
        if !arrived {
            journey.enter_edge(network, rng);
        }
        journey
    }

    /// The route driven.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// The distance driven so far, metres.
    pub fn travelled_m(&self) -> f64 {
        self.travelled_m
    }

    /// Whether the destination was reached.
    pub fn is_arrived(&self) -> bool {
        self.arrived
    }

    /// The current speed, km/h.
    pub fn speed_kmh(&self) -> f64 {
        self.speed_ms * 3.6
    }

    /// Stops the vehicle where it is and keeps it still for `seconds` (after a collision).
    pub fn hold(&mut self, seconds: f64) {
        self.speed_ms = 0.0;
        self.held_s = self.held_s.max(seconds);
    }

    /// Drives for `dt` seconds. `congestion` in 0.3..=1.1 slows traffic down (below 1) or
    /// lets it flow (above 1).
    pub fn step(
        &mut self,
        network: &Network,
        dt: f64,
        congestion: f64,
        rng: &mut impl Rng,
    ) -> Step {
        if self.arrived {
            return Step::standing(0.0, true);
        }
        if self.held_s > 0.0 {
            let idle = dt.min(self.held_s);
            self.held_s -= idle;
            self.speed_ms = 0.0;
            return Step::standing(idle, false);
        }

        self.drift_pace(rng);
        let edge = *network.edge(self.route.edges[self.leg]);
        let target = self.target_speed(network, &edge, congestion);
        let before = self.speed_ms;
        let after = if before < target {
            (before + ACCELERATION * dt).min(target)
        } else {
            (before - HARD_BRAKING * dt).max(target)
        };
        self.speed_ms = after;

        let planned = (before + after) / 2.0 * dt;
        let distance_m = self.advance(network, &edge, planned, rng);
        self.travelled_m += distance_m;
        Step {
            distance_m,
            speed_kmh: distance_m / dt * 3.6,
            idle_s: 0.0,
            arrived: self.arrived,
        }
    }

    /// The speed wanted now: the road's flowing speed, capped so that the vehicle can still
    /// brake for the next red light or junction.
    fn target_speed(&self, network: &Network, edge: &Edge, congestion: f64) -> f64 {
        let flowing = edge.speed_limit_kmh / 3.6 * self.pace * (1.0 + self.drift);
        let cruise = (flowing * class_congestion(edge.class, congestion)).min(MAX_SPEED_MS);

        let to_junction = (edge.length_m - self.along_m).max(0.0);
        let at_junction = self.junction_speed(network, edge);
        let mut brake_cap = (at_junction.powi(2) + 2.0 * BRAKING * to_junction).sqrt();
        if self.red_light_at_m.is_finite() {
            let to_light = (self.red_light_at_m - self.along_m).max(0.0);
            brake_cap = brake_cap.min((2.0 * BRAKING * to_light).sqrt());
        }
        cruise.min(brake_cap).max(CREEP)
    }

    /// How fast the vehicle may pass the end of the current edge.
    fn junction_speed(&self, network: &Network, edge: &Edge) -> f64 {
        let Some(&next) = self.route.edges.get(self.leg + 1) else {
            return 0.0;
        };
        if self.stop_at_junction {
            return 0.0;
        }
        let next = network.edge(next);
        let through = edge.class == next.class && edge.class != RoadClass::Street;
        let limit = edge.speed_limit_kmh.min(next.speed_limit_kmh) / 3.6;
        if through {
            limit
        } else {
            limit * 0.45
        }
    }

    /// Moves `planned` metres along the route, stopping at a red light or a junction;
    /// returns the distance actually driven.
    fn advance(&mut self, network: &Network, edge: &Edge, planned: f64, rng: &mut impl Rng) -> f64 {
        let start = self.along_m;
        let end = start + planned;

        if end >= self.red_light_at_m {
            self.along_m = self.red_light_at_m;
            self.stand_at_signal(rng);
            self.red_light_at_m = next_red_light(edge, self.along_m, rng);
            return self.along_m - start;
        }
        if end < edge.length_m {
            self.along_m = end;
            return planned;
        }

        let driven = edge.length_m - start;
        self.leave_edge(network, rng);
        driven
    }

    fn leave_edge(&mut self, network: &Network, rng: &mut impl Rng) {
        if self.leg + 1 == self.route.edges.len() {
            self.along_m = network.edge(self.route.edges[self.leg]).length_m;
            self.speed_ms = 0.0;
            self.arrived = true;
            return;
        }
        if self.stop_at_junction {
            self.stand_at_signal(rng);
        }
        self.leg += 1;
        self.along_m = 0.0;
        self.enter_edge(network, rng);
    }

    fn enter_edge(&mut self, network: &Network, rng: &mut impl Rng) {
        let edge = network.edge(self.route.edges[self.leg]);
        self.red_light_at_m = next_red_light(edge, 0.0, rng);
        let next_class = self
            .route
            .edges
            .get(self.leg + 1)
            .map(|&next| network.edge(next).class);
        self.stop_at_junction = match next_class {
            Some(next) if next == RoadClass::Street || edge.class == RoadClass::Street => {
                rng.gen_bool(0.5)
            }
            Some(next) if next != edge.class => rng.gen_bool(0.2),
            _ => false,
        };
    }

    fn stand_at_signal(&mut self, rng: &mut impl Rng) {
        self.speed_ms = 0.0;
        self.held_s = rng.gen_range(8.0..45.0);
    }

    /// A slowly varying share added to the driver's pace, in -0.15..0.08.
    fn drift_pace(&mut self, rng: &mut impl Rng) {
        let kick: f64 = rng.gen_range(-0.03..0.03);
        self.drift = (self.drift * 0.95 + kick).clamp(-0.15, 0.08);
    }

    /// Where the vehicle is now.
    pub fn fix(&self, network: &Network) -> Fix {
        let edge_id = self.route.edges.get(self.leg).copied();
        let Some(edge) = edge_id.map(|id| network.edge(id)) else {
            let node = network.node(self.route.origin());
            return Fix {
                lon: node.lon,
                lat: node.lat,
                alt: node.alt,
                heading: 0.0,
                speed_kmh: 0.0,
            };
        };

        let from = network.node(edge.from);
        let to = network.node(edge.to);
        let share = (self.along_m / edge.length_m).clamp(0.0, 1.0);
        Fix {
            lon: from.lon + (to.lon - from.lon) * share,
            lat: from.lat + (to.lat - from.lat) * share,
            alt: from.alt + (to.alt - from.alt) * share,
            heading: bearing_deg(from.lon_lat(), to.lon_lat()),
            speed_kmh: self.speed_kmh(),
        }
    }
}

impl Step {
    fn standing(idle_s: f64, arrived: bool) -> Self {
        Self {
            distance_m: 0.0,
            speed_kmh: 0.0,
            idle_s,
            arrived,
        }
    }
}

/// The position along `edge`, after `from_m`, of the next red light, or infinity.
fn next_red_light(edge: &Edge, from_m: f64, rng: &mut impl Rng) -> f64 {
    if edge.class != RoadClass::Street {
        return f64::INFINITY;
    }
    let mut at = from_m;
    loop {
        at += rng.gen_range(180.0..450.0);
        if at >= edge.length_m - 60.0 {
            return f64::INFINITY;
        }
        if rng.gen_bool(0.4) {
            return at;
        }
    }
}

/// The share of the flowing speed left by congestion on a class of road: streets and the
/// périphérique suffer most, motorways least.
fn class_congestion(class: RoadClass, congestion: f64) -> f64 {
    let weight = match class {
        RoadClass::Street => 1.0,
        RoadClass::Ring => 1.2,
        RoadClass::Expressway => 0.9,
        RoadClass::Motorway => 0.6,
    };
    (1.0 - (1.0 - congestion) * weight).clamp(0.3, 1.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    struct Drive {
        distance_m: f64,
        seconds: f64,
        max_kmh: f64,
    }

    fn drive(network: &Network, from: &str, to: &str, seed: u64, congestion: f64) -> Drive {
        let from = network.node_named(from).unwrap();
        let to = network.node_named(to).unwrap();
        let route = network.route(from, to).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut journey = Journey::new(route, 1.0, network, &mut rng);
        let mut result = Drive {
            distance_m: 0.0,
            seconds: 0.0,
            max_kmh: 0.0,
        };

        while !journey.is_arrived() {
            let step = journey.step(network, 1.0, congestion, &mut rng);
            result.distance_m += step.distance_m;
            result.seconds += 1.0;
            result.max_kmh = result.max_kmh.max(journey.speed_kmh()).max(step.speed_kmh);
            assert!(result.seconds < 6.0 * 3600.0, "journey never ends");
        }
        result
    }

    #[test]
    fn a_journey_covers_exactly_its_route() {
        let network = Network::paris();
        let route_m = network
            .route(
                network.node_named("etoile").unwrap(),
                network.node_named("orly").unwrap(),
            )
            .unwrap()
            .length_m;

        let result = drive(&network, "etoile", "orly", 1, 1.0);

        assert!(
            (result.distance_m - route_m).abs() < 1e-6,
            "{} vs {route_m}",
            result.distance_m
        );
    }

    #[test]
    fn city_journeys_average_city_speeds() {
        let network = Network::paris();
        let trips = [
            ("chatelet", "nation"),
            ("opera", "denfert"),
            ("etoile", "bastille"),
        ];

        for (seed, (from, to)) in trips.into_iter().enumerate() {
            let result = drive(&network, from, to, seed as u64, 0.9);
            let average = result.distance_m / result.seconds * 3.6;
            assert!(
                (12.0..40.0).contains(&average),
                "{from} -> {to}: {average} km/h"
            );
            assert!(
                result.max_kmh <= 55.0,
                "{from} -> {to}: {} km/h",
                result.max_kmh
            );
        }
    }

    #[test]
    fn motorway_journeys_are_fast_but_never_above_140() {
        let network = Network::paris();

        for seed in 0..5 {
            let result = drive(&network, "porte-chapelle", "roissy", seed, 1.1);
            let average = result.distance_m / result.seconds * 3.6;
            assert!(average > 70.0, "{average} km/h");
            assert!(
                result.max_kmh > 110.0 && result.max_kmh <= 140.0,
                "{}",
                result.max_kmh
            );
        }
    }

    #[test]
    fn congestion_makes_journeys_slower() {
        let network = Network::paris();

        let free = drive(&network, "porte-maillot", "porte-bercy", 3, 1.1);
        let jammed = drive(&network, "porte-maillot", "porte-bercy", 3, 0.5);

        assert!(
            jammed.seconds > free.seconds * 1.3,
            "{} vs {}",
            jammed.seconds,
            free.seconds
        );
    }

    #[test]
    fn a_held_vehicle_stands_still_then_moves_on() {
        let network = Network::paris();
        let route = network
            .route(
                network.node_named("porte-chapelle").unwrap(),
                network.node_named("roissy").unwrap(),
            )
            .unwrap();
        let mut rng = StdRng::seed_from_u64(9);
        let mut journey = Journey::new(route, 1.0, &network, &mut rng);
        for _ in 0..60 {
            journey.step(&network, 1.0, 1.0, &mut rng);
        }
        let before = journey.fix(&network);

        journey.hold(120.0);
        let standing: Vec<Step> = (0..120)
            .map(|_| journey.step(&network, 1.0, 1.0, &mut rng))
            .collect();
        let after_hold = journey.fix(&network);
        let moving = journey.step(&network, 1.0, 1.0, &mut rng);

        assert!(before.speed_kmh > 30.0);
        assert!(standing
            .iter()
            .all(|step| step.distance_m == 0.0 && step.idle_s == 1.0));
        assert_eq!((after_hold.lon, after_hold.lat), (before.lon, before.lat));
        assert!(moving.distance_m > 0.0);
    }

    #[test]
    fn the_fix_follows_the_road() {
        let network = Network::paris();
        let from = network.node_named("porte-bercy").unwrap();
        let to = network.node_named("charenton").unwrap();
        let route = network.route(from, to).unwrap();
        let mut rng = StdRng::seed_from_u64(4);
        let mut journey = Journey::new(route, 1.0, &network, &mut rng);

        journey.step(&network, 1.0, 1.0, &mut rng);
        journey.step(&network, 1.0, 1.0, &mut rng);
        let fix = journey.fix(&network);
        let (a, b) = (network.node(from), network.node(to));

        assert!(fix.lon >= a.lon.min(b.lon) && fix.lon <= a.lon.max(b.lon));
        assert!(fix.lat >= a.lat.min(b.lat) && fix.lat <= a.lat.max(b.lat));
        let expected = bearing_deg(a.lon_lat(), b.lon_lat());
        assert!((fix.heading - expected).abs() < 1e-9);
    }
}
