//! A steady load for benchmarks: every vehicle publishes a telemetry sample at a fixed
//! wall-clock rate, stamped with the real time, so that the platform's delay from `at` to
//! commit is the delay from publish to visible in the database. Unlike [`crate::run`], it
//! follows no day cycle: the rate does not depend on the time of day.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleetgate_core::vehicle::message::{
    EnergySample, EnergySubType, EnergyType, FixKind, Ignition, MessageBody, PositionFix, Telemetry,
};
use fleetgate_core::vehicle::VehicleMessage;
use fleetgate_core::Vin;
use rumqttc::{AsyncClient, Event, Incoming, QoS, TlsConfiguration, Transport};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::runner::{mqtt_options, SimConfig, SimError, SimVehicle, TlsBase};

/// What a steady-load run did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadReport {
    /// Vehicles that connected at least once.
    pub connected: u64,
    /// Samples handed to the clients.
    pub sent: u64,
    /// PUBACKs received.
    pub acked: u64,
    /// Connection errors seen.
    pub connection_errors: u64,
    /// Wall-clock seconds from the first connection to the end.
    pub seconds: f64,
}

#[derive(Default)]
struct LoadCounters {
    connected: AtomicU64,
    sent: AtomicU64,
    acked: AtomicU64,
    errors: AtomicU64,
}

/// Connects every vehicle (at `config.connect_rate` per second), then has each publish
/// `rate` samples per second until `config.duration` has passed; waits
/// `config.ack_grace` for the last acknowledgements.
pub async fn steady_load(
    config: SimConfig,
    vehicles: Vec<SimVehicle>,
    rate: f64,
) -> Result<LoadReport, SimError> {
    config.validate()?;
    if !(rate.is_finite() && rate > 0.0 && rate <= 100.0) {
        return Err(SimError::InvalidConfig {
            field: "load rate",
            reason: "must be above 0 and at most 100 messages per vehicle per second".into(),
        });
    }
    let base = TlsBase::new(&config.ca_pem)?;
    let counters = Arc::new(LoadCounters::default());
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();

    let mut tasks = Vec::with_capacity(vehicles.len());
    let stagger = Duration::from_secs_f64(1.0 / config.connect_rate);
    for (index, vehicle) in vehicles.iter().enumerate() {
        let tls = base.client_config(vehicle)?;
        let transport = Transport::tls_with_config(TlsConfiguration::Rustls(tls));
        let options = mqtt_options(&config, &vehicle.vin, transport);
        let publisher = Publisher {
            vehicle: vehicle.clone(),
            period: Duration::from_secs_f64(1.0 / rate),
            counters: counters.clone(),
            index: index as u64,
        };
        tasks.push(tokio::spawn(publisher.run(options, stopped.clone())));
        tokio::time::sleep(stagger).await;
    }

    tokio::time::sleep(config.duration.unwrap_or(Duration::from_secs(60))).await;
    let _ = stop.send(true);
    tokio::time::sleep(config.ack_grace).await;
    for task in tasks {
        task.abort();
    }

    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    Ok(LoadReport {
        connected: load(&counters.connected),
        sent: load(&counters.sent),
        acked: load(&counters.acked),
        connection_errors: load(&counters.errors),
        seconds: started.elapsed().as_secs_f64(),
    })
}

struct Publisher {
    vehicle: SimVehicle,
    period: Duration,
    counters: Arc<LoadCounters>,
    index: u64,
}

impl Publisher {
    async fn run(self, options: rumqttc::MqttOptions, mut stopped: watch::Receiver<bool>) {
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let counters = self.counters.clone();
        let events = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                        counters.connected.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Event::Incoming(Incoming::PubAck(_))) => {
                        counters.acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(_) => {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });

        let topic = fleetgate_core::vehicle::Channel::Telemetry.topic(&self.vehicle.vin);
        let mut ticker = tokio::time::interval(self.period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sequence = 0u64;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stopped.wait_for(|stop| *stop) => break,
            }
            let payload = self.sample(sequence).to_payload();
            if client
                .publish(&topic, QoS::AtLeastOnce, false, payload)
                .await
                .is_err()
            {
                break;
            }
            self.counters.sent.fetch_add(1, Ordering::Relaxed);
            sequence += 1;
        }

        // Leave the event loop running until the caller's grace period ends.
        let _ = stopped.changed().await;
        let _ = events.await;
    }

    /// The vehicle's next sample.
    fn sample(&self, sequence: u64) -> VehicleMessage {
        steady_sample(&self.vehicle.vin, self.index, sequence)
    }
}

/// Sample `sequence` of the `index`th vehicle of a steady load, stamped now: the vehicle
/// creeps east along a parallel of Paris.
pub fn steady_sample(vin: &Vin, index: u64, sequence: u64) -> VehicleMessage {
    let at = OffsetDateTime::now_utc();
    let lat = 48.80 + (index % 1000) as f64 * 0.0002;
    let lon = 2.25 + (sequence % 5000) as f64 * 0.00005;
    let odometer = 10_000.0 + sequence as f64 * 0.01;
    let telemetry = Telemetry {
        position: Some(PositionFix {
            lon,
            lat,
            alt: Some(35.0),
            heading: Some(90),
            speed: Some(36.0),
            signal_quality: Some(4),
            kind: Some(FixKind::Acquire),
            fix_status: None,
        }),
        ignition: Some(Ignition::Start),
        odometer: Some(odometer),
        energies: vec![EnergySample {
            kind: EnergyType::Fuel,
            sub_type: Some(EnergySubType::FossilEnergy),
            fuel_type: None,
            level: Some(60.0),
            autonomy: Some(500),
            consumption: Some(odometer * 6.0),
            charging: None,
        }],
        ..Telemetry::default()
    };
    VehicleMessage {
        vin: vin.clone(),
        id: format!("load-{}-{sequence}", at.unix_timestamp()),
        at,
        body: MessageBody::Telemetry(telemetry),
    }
}
