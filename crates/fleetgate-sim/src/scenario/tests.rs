//! Tests of the scenario: believable days, energies, incidents, determinism, and messages
//! the platform accepts.

use std::collections::BTreeMap;

use fleetgate_core::vehicle::message::{Channel, EnergySample, EnergyType, Telemetry};
use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::model::Powertrain;
use crate::network::Services;
use crate::report::{MessageKind, Tally};

/// A Friday, 07:00 in Paris.
const START: OffsetDateTime = datetime!(2026-12-04 06:00 UTC);

fn vin(n: usize) -> Vin {
    Vin::parse(&format!("VF3SMX{n:011}")).unwrap()
}

fn vins(count: usize) -> Vec<Vin> {
    (0..count).map(vin).collect()
}

fn params(seed: u64, incident_rate: f64) -> ScenarioParams {
    ScenarioParams {
        incident_rate,
        ..ScenarioParams::new(START, seed)
    }
}

fn simulate(params: &ScenarioParams, vehicles: usize, hours: i64) -> Vec<VehicleMessage> {
    Fleet::new(params, vins(vehicles)).step(START + Duration::hours(hours))
}

fn by_vehicle(messages: &[VehicleMessage]) -> BTreeMap<Vin, Vec<&VehicleMessage>> {
    let mut map: BTreeMap<Vin, Vec<&VehicleMessage>> = BTreeMap::new();
    for message in messages {
        map.entry(message.vin.clone()).or_default().push(message);
    }
    map
}

fn telemetry(message: &VehicleMessage) -> Option<&Telemetry> {
    match &message.body {
        MessageBody::Telemetry(t) => Some(t),
        _ => None,
    }
}

fn position(t: &Telemetry) -> (f64, f64) {
    let p = t.position.expect("every sample has a position");
    (p.lon, p.lat)
}

fn speed(t: &Telemetry) -> f64 {
    t.position.and_then(|p| p.speed).unwrap_or(0.0)
}

/// A trip as seen in one vehicle's samples: from `StartUp` to `Stop`.
struct Trip<'a> {
    samples: Vec<&'a VehicleMessage>,
}

impl Trip<'_> {
    fn first(&self) -> &Telemetry {
        telemetry(self.samples[0]).unwrap()
    }

    fn last(&self) -> &Telemetry {
        telemetry(self.samples[self.samples.len() - 1]).unwrap()
    }

    fn odometer_km(&self) -> f64 {
        self.last().odometer.unwrap() - self.first().odometer.unwrap()
    }

    fn hours(&self) -> f64 {
        let last = self.samples[self.samples.len() - 1].at;
        (last - self.samples[0].at).as_seconds_f64() / 3600.0
    }

    fn gps_km(&self) -> f64 {
        let points: Vec<(f64, f64)> = self
            .samples
            .iter()
            .map(|m| position(telemetry(m).unwrap()))
            .collect();
        points
            .windows(2)
            .map(|w| distance_m(w[0], w[1]))
            .sum::<f64>()
            / 1000.0
    }
}

fn trips<'a>(messages: &[&'a VehicleMessage]) -> Vec<Trip<'a>> {
    let mut trips = Vec::new();
    let mut current: Option<Vec<&VehicleMessage>> = None;
    for &message in messages {
        let Some(t) = telemetry(message) else {
            continue;
        };
        match (t.ignition, current.as_mut()) {
            (Some(Ignition::StartUp), _) => current = Some(vec![message]),
            (Some(Ignition::Start), Some(samples)) => samples.push(message),
            (Some(Ignition::Stop), Some(samples)) => {
                samples.push(message);
                let samples = current.take().unwrap_or_default();
                trips.push(Trip { samples });
            }
            _ => {}
        }
    }
    trips
}

fn payloads(messages: &[VehicleMessage]) -> Vec<Vec<u8>> {
    messages.iter().map(VehicleMessage::to_payload).collect()
}

#[test]
fn the_same_seed_gives_the_same_messages_and_another_seed_others() {
    let first = payloads(&simulate(&params(1, 0.5), 6, 8));
    let again = payloads(&simulate(&params(1, 0.5), 6, 8));
    let other = payloads(&simulate(&params(2, 0.5), 6, 8));

    assert!(first.len() > 500, "{} messages", first.len());
    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[test]
fn a_vehicle_behaves_the_same_whatever_its_place_in_the_fleet() {
    let params = params(9, 0.5);
    let forward = Fleet::new(&params, vins(4)).step(START + Duration::hours(6));
    let backward = Fleet::new(&params, vins(4).into_iter().rev()).step(START + Duration::hours(6));

    let forward = by_vehicle(&forward);
    let backward = by_vehicle(&backward);

    assert_eq!(forward.len(), 4);
    assert_eq!(forward, backward);
}

#[test]
fn every_message_is_accepted_by_the_platform_as_sent() {
    let messages = simulate(&params(3, 1.0), 25, 12);
    let now = messages.last().unwrap().at + Duration::seconds(1);

    for message in &messages {
        let channel = message.body.channel();
        let payload = message.to_payload();
        let parsed = VehicleMessage::parse(&message.vin, channel, &payload, now);
        assert_eq!(
            parsed.as_ref(),
            Ok(message),
            "{}",
            String::from_utf8_lossy(&payload)
        );
    }
}

#[test]
fn messages_start_at_the_start_are_ordered_and_have_unique_ids() {
    let messages = simulate(&params(4, 1.0), 10, 10);

    for (vin, messages) in by_vehicle(&messages) {
        assert_eq!(messages[0].at, START, "{vin}");
        assert!(
            messages.windows(2).all(|w| w[0].at <= w[1].at),
            "{vin}: out of order"
        );
        let mut ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), messages.len(), "{vin}: duplicate ids");
        assert!(messages[0].id.starts_with("s4-"), "{}", messages[0].id);
    }
}

#[test]
fn journeys_have_believable_speeds_distances_and_positions() {
    let messages = simulate(&params(5, 0.0), 40, 14);
    let mut averages = Vec::new();

    for (vin, messages) in by_vehicle(&messages) {
        for trip in trips(&messages) {
            for sample in &trip.samples {
                let kmh = speed(telemetry(sample).unwrap());
                assert!((0.0..=140.0).contains(&kmh), "{vin}: {kmh} km/h");
            }
            let km = trip.odometer_km();
            assert!(km > 0.0, "{vin}: a trip of {km} km");
            // The odometer is rounded to 0.1 km and parking spots are off the junctions.
            let gps = trip.gps_km();
            assert!(
                gps < km * 1.01 + 0.2,
                "{vin}: {gps} km of positions for {km} km"
            );
            assert!(
                gps > km * 0.85 - 0.2,
                "{vin}: {gps} km of positions for {km} km"
            );
            averages.push(km / trip.hours());
        }
    }

    averages.sort_by(f64::total_cmp);
    let median = averages[averages.len() / 2];
    assert!(
        averages.len() >= 80,
        "{} trips for 40 vehicles in a day",
        averages.len()
    );
    assert!(
        (15.0..55.0).contains(&median),
        "median trip speed {median} km/h"
    );
    assert!(
        averages.iter().all(|&a| (4.0..110.0).contains(&a)),
        "{averages:?}"
    );
}

#[test]
fn the_odometer_grows_by_the_route_length() {
    let network = Arc::new(Network::paris());
    let params = params(6, 0.0);
    let mut sim = VehicleSim::new(network, vin(1), &params);
    let mut checked = 0;
    let mut route_km = 0.0;
    let mut odometer_at_start = 0.0;

    while checked < 5 {
        let message = sim.next_message();
        let Some(t) = telemetry(&message) else {
            continue;
        };
        match t.ignition {
            Some(Ignition::StartUp) => {
                odometer_at_start = t.odometer.unwrap();
                sim.peek_time();
                if let Activity::Driving { journey, .. } = &sim.activity {
                    route_km = journey.route().length_m / 1000.0;
                }
            }
            Some(Ignition::Stop) if route_km > 0.0 => {
                let driven = t.odometer.unwrap() - odometer_at_start;
                assert!(
                    (driven - route_km).abs() < 0.15,
                    "{driven} km for {route_km} km"
                );
                route_km = 0.0;
                checked += 1;
            }
            _ => {}
        }
    }
}

fn levels(t: &Telemetry) -> Vec<f64> {
    t.energies.iter().map(|e| e.level.unwrap()).collect()
}

#[test]
fn energy_levels_fall_while_driving() {
    let messages = simulate(&params(7, 0.0), 30, 12);
    let mut long_trips = 0;

    for messages in by_vehicle(&messages).values() {
        for trip in trips(messages) {
            let before = levels(trip.first());
            let after = levels(trip.last());
            assert!(
                before.iter().zip(&after).all(|(b, a)| a <= b),
                "{before:?} -> {after:?}"
            );
            if trip.odometer_km() > 5.0 {
                long_trips += 1;
                assert!(before.iter().zip(&after).any(|(b, a)| a < b), "{before:?}");
            }
        }
    }

    assert!(long_trips > 20, "{long_trips} trips over 5 km");
}

/// A vehicle of a given powertrain whose first energy starts at `level`.
fn vehicle_with(powertrain: Powertrain, store: usize, level: f64, seed: u64) -> VehicleSim {
    let network = Arc::new(Network::paris());
    let params = params(seed, 0.0);
    VehicleSim::with_model(network, vin(seed as usize), &params, |rng| {
        let mut model = VehicleModel::draw_with(rng, powertrain, START);
        model.energies[store].level = level;
        model
    })
}

fn next_samples(sim: &mut VehicleSim, hours: i64) -> Vec<VehicleMessage> {
    let until = START + Duration::hours(hours);
    std::iter::from_fn(|| sim.next_message_until(until)).collect()
}

fn is_at_node_offering(network: &Network, t: &Telemetry, wanted: fn(&Services) -> bool) -> bool {
    network
        .nodes()
        .iter()
        .filter(|node| wanted(&node.services))
        .any(|node| distance_m(node.lon_lat(), position(t)) < 100.0)
}

#[test]
fn a_low_tank_is_filled_at_a_filling_station() {
    let network = Network::paris();
    let mut sim = vehicle_with(Powertrain::Petrol, 0, 0.1, 11);

    let messages = next_samples(&mut sim, 12);
    let samples: Vec<&Telemetry> = messages.iter().filter_map(telemetry).collect();
    let filled = samples
        .windows(2)
        .find(|w| levels(w[1])[0] > levels(w[0])[0] + 1.0)
        .expect("the tank is filled");

    assert!(levels(filled[0])[0] < 15.0);
    assert!(
        is_at_node_offering(&network, filled[1], |s| s.fuel),
        "{:?}",
        filled[1].position
    );
    let best = samples.iter().map(|t| levels(t)[0]).fold(0.0, f64::max);
    assert_eq!(best, 100.0);
    assert_eq!(sim.counts().refuels, 1);
}

fn charging(energy: &EnergySample) -> serde_json::Value {
    serde_json::Value::Object(energy.charging.clone().unwrap_or_default())
}

#[test]
fn a_nearly_empty_battery_is_quick_charged_at_a_charger() {
    let network = Network::paris();
    let mut sim = vehicle_with(Powertrain::Electric, 0, 0.08, 12);
    sim.model.unplug();
    sim.set_parked(sim.depart_t(), Service::Idle);

    let messages = next_samples(&mut sim, 12);
    let samples: Vec<&Telemetry> = messages.iter().filter_map(telemetry).collect();
    let quick: Vec<&&Telemetry> = samples
        .iter()
        .filter(|t| charging(&t.energies[0])["chargingMode"] == json!("Quick"))
        .collect();

    assert!(!quick.is_empty(), "no quick charge");
    let section = charging(&quick[0].energies[0]);
    assert_eq!(section["plugged"], json!(true));
    assert_eq!(section["status"], json!("InProgress"));
    assert!(is_at_node_offering(&network, quick[0], |s| s.quick_charge));
    let last_quick = levels(quick[quick.len() - 1])[0];
    assert!(last_quick > levels(quick[0])[0] + 30.0, "{last_quick}");
}

#[test]
fn a_low_battery_is_plugged_in_slowly_where_it_parks() {
    let mut sim = vehicle_with(Powertrain::PluginHybrid, 1, 0.15, 13);

    let messages = next_samples(&mut sim, 3);
    let samples: Vec<&Telemetry> = messages.iter().filter_map(telemetry).collect();
    let first = charging(&samples[0].energies[1]);
    let plugged: Vec<f64> = samples
        .iter()
        .take_while(|t| t.ignition == Some(Ignition::Stop))
        .map(|t| levels(t)[1])
        .collect();

    assert_eq!(first["chargingMode"], json!("Slow"));
    assert_eq!(first["status"], json!("InProgress"));
    assert!(plugged.windows(2).all(|w| w[1] >= w[0]));
    assert!(
        plugged.len() < 2 || plugged[plugged.len() - 1] > plugged[0],
        "{plugged:?}"
    );
    let unplugged = samples
        .iter()
        .find(|t| t.ignition == Some(Ignition::StartUp));
    if let Some(t) = unplugged {
        assert_eq!(charging(&t.energies[1])["plugged"], json!(false));
    }
}

#[test]
fn telemetry_follows_the_interval_driving_and_ten_intervals_parked() {
    let messages = simulate(&params(8, 0.0), 20, 12);
    let (mut driving_gaps, mut parked_gaps) = (Vec::new(), Vec::new());

    for messages in by_vehicle(&messages).values() {
        let samples: Vec<&VehicleMessage> = messages
            .iter()
            .copied()
            .filter(|m| telemetry(m).is_some())
            .collect();
        for pair in samples.windows(2) {
            let gap = (pair[1].at - pair[0].at).as_seconds_f64();
            match telemetry(pair[1]).unwrap().ignition {
                Some(Ignition::Start) => driving_gaps.push(gap),
                Some(Ignition::Stop)
                    if telemetry(pair[0]).unwrap().ignition == Some(Ignition::Stop) =>
                {
                    parked_gaps.push(gap)
                }
                _ => {}
            }
        }
    }

    assert!(
        driving_gaps.iter().all(|&g| g <= 10.0 + 1e-3),
        "a driving gap above 10 s"
    );
    assert!(
        parked_gaps.iter().all(|&g| g <= 100.0 + 1e-3),
        "a parked gap above 100 s"
    );
    let exact = parked_gaps
        .iter()
        .filter(|&&g| (g - 100.0).abs() < 1e-3)
        .count();
    assert!(
        exact * 10 >= parked_gaps.len() * 9,
        "{exact} of {}",
        parked_gaps.len()
    );
    assert!(parked_gaps.len() > driving_gaps.len() / 20);
}

#[test]
fn every_kind_of_incident_happens_with_a_high_rate() {
    let messages = simulate(&params(10, 2.0), 20, 12);
    let mut tally = Tally::default();
    for messages in by_vehicle(&messages).values() {
        let mut vehicle = Tally::default();
        messages.iter().for_each(|m| vehicle.record(m));
        tally.add(&vehicle);
    }

    assert!(
        tally.alerts_raised > 0 && tally.alerts_ended > 0,
        "{tally:?}"
    );
    assert!(tally.alarms > 0, "{tally:?}");
    assert!(tally.collisions > 0, "{tally:?}");
    assert!(tally.thefts > 0 && tally.recoveries > 0, "{tally:?}");
    assert!(tally.count(MessageKind::Telemetry) > tally.messages / 2);
}

#[test]
fn no_incident_happens_with_a_zero_rate() {
    let messages = simulate(&params(10, 0.0), 20, 12);
    let mut tally = Tally::default();
    messages.iter().for_each(|m| tally.record(m));

    assert_eq!(
        tally.alarms + tally.collisions + tally.thefts,
        0,
        "{tally:?}"
    );
    let alerts: Vec<&str> = messages
        .iter()
        .filter_map(|m| match &m.body {
            MessageBody::Event(Event::Alert(alert)) => Some(alert.alert.as_str()),
            _ => None,
        })
        .collect();
    assert!(alerts.iter().all(|&a| a == LOW_FUEL_ALERT), "{alerts:?}");
}

#[test]
fn alerts_end_after_they_are_raised() {
    let messages = simulate(&params(14, 3.0), 10, 24);
    let mut raised = 0;

    for messages in by_vehicle(&messages).values() {
        let mut active: Vec<&str> = Vec::new();
        for message in messages {
            let MessageBody::Event(Event::Alert(alert)) = &message.body else {
                continue;
            };
            let name = alert.alert.as_str();
            if alert.active {
                assert!(!active.contains(&name), "{name} raised twice");
                active.push(name);
                raised += 1;
            } else {
                assert!(active.contains(&name), "{name} ended but never raised");
                active.retain(|&a| a != name);
            }
        }
    }

    assert!(raised > 20, "{raised} alerts");
}

#[test]
fn a_stolen_vehicle_drives_away_and_is_recovered_later() {
    let messages = simulate(&params(15, 2.0), 20, 24);
    let mut thefts_checked = 0;

    for messages in by_vehicle(&messages).values() {
        let mut stolen_at: Option<(usize, (f64, f64))> = None;
        for (index, message) in messages.iter().enumerate() {
            let MessageBody::Event(Event::Theft(theft)) = &message.body else {
                continue;
            };
            let here = theft.position.map(|p| (p.lon, p.lat)).unwrap();
            match (theft.stolen, stolen_at) {
                (true, None) => stolen_at = Some((index, here)),
                (false, Some((from, origin))) => {
                    let between = &messages[from..index];
                    let started = between
                        .iter()
                        .filter_map(|m| telemetry(m))
                        .any(|t| t.ignition == Some(Ignition::StartUp));
                    assert!(started, "the thief never started the vehicle");
                    assert!(
                        distance_m(origin, here) > 5_000.0,
                        "recovered where it was stolen"
                    );
                    thefts_checked += 1;
                    stolen_at = None;
                }
                (stolen, _) => panic!("theft {stolen} out of sequence"),
            }
        }
    }

    assert!(thefts_checked > 0);
}

#[test]
fn a_collision_stops_the_vehicle() {
    let messages = simulate(&params(16, 3.0), 20, 12);
    let mut collisions = 0;

    for messages in by_vehicle(&messages).values() {
        for (index, message) in messages.iter().enumerate() {
            if !matches!(message.body, MessageBody::Event(Event::Collision(_))) {
                continue;
            }
            let next = messages[index + 1..].iter().find_map(|m| telemetry(m));
            if let Some(next) = next {
                assert_eq!(speed(next), 0.0, "moving right after a collision");
                collisions += 1;
            }
        }
    }

    assert!(collisions > 0);
}

#[test]
fn status_sections_follow_the_vehicle_state() {
    let messages = simulate(&params(17, 0.0), 10, 10);
    let mut checked = 0;

    for t in messages
        .iter()
        .filter_map(telemetry)
        .filter(|t| !t.status.is_empty())
    {
        let doors = &t.status["doorsState"]["lockedStates"][0];
        let expected = if t.ignition == Some(Ignition::Stop) {
            "Locked"
        } else {
            "Unlocked"
        };
        assert_eq!(doors, &json!(expected), "{t:?}");
        let temp = t.status["environment"]["air"]["temp"].as_f64().unwrap();
        assert!((-10.0..20.0).contains(&temp), "{temp} °C in December");
        let voltage = t.status["battery"]["voltage"].as_f64().unwrap();
        assert!((60.0..=100.0).contains(&voltage));
        assert!(t.maintenance.is_some());
        checked += 1;
    }

    assert!(checked > 100);
}

#[test]
fn some_journeys_hide_the_position() {
    let messages = simulate(&params(18, 0.0), 40, 14);
    let samples: Vec<&Telemetry> = messages.iter().filter_map(telemetry).collect();

    let hidden = samples
        .iter()
        .filter(|t| t.privacy == Some(Privacy::Geolocation))
        .count();

    assert!(hidden > 0);
    assert!(hidden * 5 < samples.len(), "{hidden} of {}", samples.len());
}

#[test]
fn nobody_leaves_at_night() {
    let night = ScenarioParams::new(datetime!(2026-12-04 22:00 UTC), 19);
    let messages = Fleet::new(&night, vins(30)).step(night.start + Duration::hours(10));

    let first_departure = messages
        .iter()
        .filter(|m| telemetry(m).is_some_and(|t| t.ignition == Some(Ignition::StartUp)))
        .map(|m| m.at)
        .min()
        .expect("someone leaves in the morning");

    let local = first_departure.to_offset(UtcOffset::from_hms(1, 0, 0).unwrap());
    assert!(local.hour() >= 6, "left at {local}");
}

#[test]
fn energy_samples_fit_the_powertrain() {
    let messages = simulate(&params(20, 0.0), 40, 1);
    let mut kinds: Vec<Vec<EnergyType>> = messages
        .iter()
        .filter_map(telemetry)
        .map(|t| t.energies.iter().map(|e| e.kind).collect())
        .collect();
    kinds.sort_by_key(|k| format!("{k:?}"));
    kinds.dedup();

    assert!(kinds.contains(&vec![EnergyType::Fuel]));
    assert!(kinds.contains(&vec![EnergyType::Electric]));
    assert!(kinds.contains(&vec![EnergyType::Fuel, EnergyType::Electric]));
    assert_eq!(kinds.len(), 3);
}

#[test]
fn an_acknowledgement_is_valid_and_leaves_the_sequence_alone() {
    let network = Arc::new(Network::paris());
    let params = params(21, 0.5);
    let mut plain = VehicleSim::new(Arc::clone(&network), vin(1), &params);
    let mut answering = VehicleSim::new(network, vin(1), &params);

    let first = answering.next_message();
    let ack = answering.acknowledge("cmd-42", START).unwrap();
    let later: Vec<VehicleMessage> = (0..50).map(|_| answering.next_message()).collect();
    let expected: Vec<VehicleMessage> = (0..51).map(|_| plain.next_message()).collect();

    let parsed = VehicleMessage::parse(&vin(1), Channel::Acks, &ack.to_payload(), START).unwrap();
    assert!(matches!(parsed.body, MessageBody::Ack(ref a) if a.command == "cmd-42"));
    assert_ne!(ack.id, first.id);
    assert_eq!(expected[0], first);
    assert_eq!(expected[1..], later[..]);
    assert!(answering.acknowledge(&"x".repeat(65), START).is_none());
}

#[test]
fn paris_is_an_hour_ahead_in_winter_and_two_in_summer() {
    let winter = paris_offset(datetime!(2026-12-04 12:00 UTC));
    let summer = paris_offset(datetime!(2026-07-14 12:00 UTC));
    let before_switch = paris_offset(datetime!(2026-03-29 00:59 UTC));
    let after_switch = paris_offset(datetime!(2026-03-29 01:00 UTC));

    assert_eq!(winter.whole_hours(), 1);
    assert_eq!(summer.whole_hours(), 2);
    assert_eq!(
        (before_switch.whole_hours(), after_switch.whole_hours()),
        (1, 2)
    );
}

#[test]
fn vehicle_seeds_differ_by_vin_and_by_seed() {
    let a = vehicle_seed(1, &vin(1));

    assert_eq!(a, vehicle_seed(1, &vin(1)));
    assert_ne!(a, vehicle_seed(1, &vin(2)));
    assert_ne!(a, vehicle_seed(2, &vin(1)));
}
