//! The MQTT side of the simulator: one client per vehicle (its device certificate, client id
//! = VIN), connections staggered and retried with backoff, each vehicle's messages
//! published with QoS 1 when simulated time reaches them, PUBACKs counted, a progress bar,
//! and a clean stop at the end of the run or on the caller's shutdown signal.
//!
//! Each vehicle has two tokio tasks: the connection task owns the MQTT event loop (connect,
//! reconnect, read PUBACKs and commands, keep-alive); the vehicle task owns the
//! [`VehicleSim`], sleeps until its next message is due and hands it to the client.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fleetgate_core::vehicle::message::command_topic;
use fleetgate_core::vehicle::VehicleMessage;
use fleetgate_core::Vin;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, NetworkOptions, Outgoing, Packet,
    QoS, TlsConfiguration, Transport,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::clock::SimClock;
use crate::network::Network;
use crate::report::{SimReport, StopReason, Tally};
use crate::scenario::{ActivityCounts, ScenarioParams, VehicleSim};

/// Requests a vehicle's client may queue before its task waits.
const REQUEST_CAPACITY: usize = 16;

/// QoS 1 messages a vehicle may have in flight, unacknowledged.
const MAX_INFLIGHT: u16 = 32;

/// The largest packet sent or received, bytes (a payload is at most 64 KiB).
const MAX_PACKET_BYTES: usize = 66 * 1024;

/// The longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How long a hand-over to the client under way may still take once the run stops.
const HANDOVER_GRACE: Duration = Duration::from_secs(1);

/// How long the disconnection of each client may take at the end.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How the vehicles reach the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimTransport {
    /// TLS with each vehicle's device certificate (the platform's only transport).
    #[default]
    Tls,
    /// Plain TCP with no client certificate, for tests against a local test broker.
    PlainTcp,
}

/// How to run a simulation.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The MQTT endpoint's host name (it must match the server certificate).
    pub broker_host: String,
    /// The MQTT endpoint's port.
    pub broker_port: u16,
    /// The CA certificate(s) the broker's certificate chains to, PEM.
    pub ca_pem: String,
    /// TLS (default) or plain TCP.
    pub transport: SimTransport,
    /// Simulated time between two samples of a driving vehicle (default 10 s).
    pub interval: Duration,
    /// Wall-clock duration of the run; `None` runs until `shutdown`.
    pub duration: Option<Duration>,
    /// How many times faster than the wall clock simulated time runs.
    pub time_scale: f64,
    /// Incidents per vehicle per simulated hour.
    pub incident_rate: f64,
    /// The seed of the scenario.
    pub seed: u64,
    /// Whether to draw a progress bar on stderr.
    pub show_progress: bool,
    /// New connections opened per second (the handshakes are staggered).
    pub connect_rate: f64,
    /// The MQTT keep-alive.
    pub keep_alive: Duration,
    /// How long to wait for outstanding PUBACKs at the end.
    pub ack_grace: Duration,
}

impl SimConfig {
    /// A TLS configuration with the defaults: 10 s interval, real time, 0.01 incidents per
    /// vehicle-hour, seed 0, progress bar, 200 connections per second, 60 s keep-alive.
    pub fn new(
        broker_host: impl Into<String>,
        broker_port: u16,
        ca_pem: impl Into<String>,
    ) -> Self {
        Self {
            broker_host: broker_host.into(),
            broker_port,
            ca_pem: ca_pem.into(),
            transport: SimTransport::Tls,
            interval: Duration::from_secs(10),
            duration: None,
            time_scale: 1.0,
            incident_rate: 0.01,
            seed: 0,
            show_progress: true,
            connect_rate: 200.0,
            keep_alive: Duration::from_secs(60),
            ack_grace: Duration::from_secs(5),
        }
    }

    /// Checks the settings that would make the run meaningless or the MQTT client panic.
    pub fn validate(&self) -> Result<(), SimError> {
        let invalid = |field, reason: &str| {
            Err(SimError::InvalidConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.broker_host.trim().is_empty() {
            return invalid("broker_host", "empty");
        }
        if self.interval < Duration::from_millis(100) {
            return invalid("interval", "must be at least 100 ms");
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0 && self.time_scale <= 10_000.0) {
            return invalid("time_scale", "must be a number above 0 and at most 10000");
        }
        if !(self.incident_rate.is_finite() && self.incident_rate >= 0.0) {
            return invalid("incident_rate", "must be a number >= 0");
        }
        if !(self.connect_rate.is_finite() && self.connect_rate > 0.0) {
            return invalid("connect_rate", "must be a number above 0");
        }
        if self.keep_alive < Duration::from_secs(5) {
            return invalid("keep_alive", "must be at least 5 s");
        }
        if self.duration.is_some_and(|d| d.is_zero()) {
            return invalid("duration", "must be above 0");
        }
        Ok(())
    }
}

/// A vehicle to simulate, with the device certificate and key `fleetgate vehicle provision`
/// wrote for it.
#[derive(Debug, Clone)]
pub struct SimVehicle {
    /// The VIN (the certificate's CN and the MQTT client id).
    pub vin: Vin,
    /// The device certificate (and chain), PEM.
    pub cert_pem: String,
    /// The device's private key, PEM.
    pub key_pem: String,
}

/// Why a simulation cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A setting is out of range.
    #[error("invalid simulator setting '{field}': {reason}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The list of vehicles is empty.
    #[error("no vehicles to simulate")]
    NoVehicles,
    /// The CA PEM cannot be read.
    #[error("cannot read the broker CA certificate PEM")]
    CaPem {
        /// Why.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// The CA PEM holds no usable certificate.
    #[error("the broker CA PEM holds no usable certificate")]
    NoCaCertificate,
    /// A vehicle's certificate PEM cannot be read.
    #[error("cannot read the device certificate of vehicle {vin}")]
    DeviceCertificate {
        /// The vehicle.
        vin: Vin,
        /// Why.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// A vehicle's key PEM cannot be read.
    #[error("cannot read the device key of vehicle {vin}")]
    DeviceKey {
        /// The vehicle.
        vin: Vin,
        /// Why.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused a vehicle's certificate and key.
    #[error("the TLS client configuration of vehicle {vin} is refused")]
    Tls {
        /// The vehicle.
        vin: Vin,
        /// Why.
        #[source]
        source: rustls::Error,
    },
}

/// What every vehicle's TLS configuration shares: the crypto provider and the broker's CA.
#[derive(Debug, Clone)]
pub struct TlsBase {
    provider: Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
}

impl TlsBase {
    /// Reads the broker's CA certificates.
    pub fn new(ca_pem: &str) -> Result<Self, SimError> {
        let certificates = CertificateDer::pem_slice_iter(ca_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| SimError::CaPem { source })?;
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certificates);
        if added == 0 {
            return Err(SimError::NoCaCertificate);
        }

        Ok(Self {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots: Arc::new(roots),
        })
    }

    /// A vehicle's client configuration: TLS 1.2 or 1.3, its device certificate.
    pub fn client_config(&self, vehicle: &SimVehicle) -> Result<Arc<ClientConfig>, SimError> {
        let vin = || vehicle.vin.clone();
        let chain = CertificateDer::pem_slice_iter(vehicle.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| SimError::DeviceCertificate { vin: vin(), source })?;
        let key = PrivateKeyDer::from_pem_slice(vehicle.key_pem.as_bytes())
            .map_err(|source| SimError::DeviceKey { vin: vin(), source })?;

        let mut config = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder
                    .with_root_certificates(Arc::clone(&self.roots))
                    .with_client_auth_cert(chain, key)
            })
            .map_err(|source| SimError::Tls { vin: vin(), source })?;
        config.resumption = rustls::client::Resumption::in_memory_sessions(4);
        Ok(Arc::new(config))
    }
}

/// The counters every task updates and the progress display reads.
#[derive(Debug, Default)]
struct Counters {
    connected: AtomicU64,
    connections: AtomicU64,
    connection_failures: AtomicU64,
    sent: AtomicU64,
    acked: AtomicU64,
    commands: AtomicU64,
}

impl Counters {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the tasks of a run share.
#[derive(Debug, Clone)]
struct Shared {
    counters: Arc<Counters>,
    clock: SimClock,
    wall_start: Instant,
}

impl Shared {
    fn sim_now(&self) -> OffsetDateTime {
        self.clock.sim_time_at(self.wall_start.elapsed())
    }
}

/// Runs the simulation until `config.duration` elapses or `shutdown` resolves, then waits
/// up to `config.ack_grace` for outstanding PUBACKs and disconnects every vehicle.
pub async fn run(
    config: SimConfig,
    vehicles: Vec<SimVehicle>,
    shutdown: impl Future<Output = ()>,
) -> Result<SimReport, SimError> {
    config.validate()?;
    if vehicles.is_empty() {
        return Err(SimError::NoVehicles);
    }
    let transports = transports(&config, &vehicles)?;

    let shared = Shared {
        counters: Arc::new(Counters::default()),
        clock: SimClock::plan(
            OffsetDateTime::now_utc(),
            config.time_scale,
            config.duration,
        ),
        wall_start: Instant::now(),
    };
    let params = ScenarioParams {
        start: shared.clock.sim_start(),
        interval: config.interval,
        incident_rate: config.incident_rate,
        seed: config.seed,
    };
    info!(
        vehicles = vehicles.len(),
        broker = %config.broker_host,
        port = config.broker_port,
        time_scale = config.time_scale,
        sim_start = %params.start,
        seed = config.seed,
        "fleet simulation starting"
    );

    let (stop_vehicles, vehicles_stopped) = watch::channel(false);
    let (stop_connections, connections_stopped) = watch::channel(false);
    let network = Arc::new(Network::paris());
    let vehicle_count = vehicles.len();
    let mut vehicle_tasks = Vec::with_capacity(vehicle_count);
    let mut connection_tasks = Vec::with_capacity(vehicle_count);

    for (index, (vehicle, transport)) in vehicles.into_iter().zip(transports).enumerate() {
        let (client, eventloop) = AsyncClient::new(
            mqtt_options(&config, &vehicle.vin, transport),
            REQUEST_CAPACITY,
        );
        let (commands_tx, commands_rx) = mpsc::channel(8);
        let connection = Connection {
            vin: vehicle.vin.clone(),
            client: client.clone(),
            commands: commands_tx,
            shared: shared.clone(),
            start_delay: Duration::from_secs_f64(index as f64 / config.connect_rate),
        };
        connection_tasks.push(tokio::spawn(
            connection.run(eventloop, connections_stopped.clone()),
        ));

        let sim = VehicleSim::new(Arc::clone(&network), vehicle.vin, &params);
        let task = VehicleTask {
            sim,
            client,
            commands: commands_rx,
            shared: shared.clone(),
        };
        vehicle_tasks.push(tokio::spawn(task.run(vehicles_stopped.clone())));
    }

    let progress = Progress::start(&config, vehicle_count, shared.clone());
    let stopped_by = wait_for_end(config.duration, shutdown).await;
    info!(reason = ?stopped_by, "fleet simulation stopping");

    let _ = stop_vehicles.send(true);
    let (tally, activity, mut task_failures) = collect_vehicles(vehicle_tasks).await;
    wait_for_acks(&shared.counters, config.ack_grace).await;
    let _ = stop_connections.send(true);
    task_failures += join_connections(connection_tasks).await;
    progress.finish();

    let report = build_report(
        &shared,
        vehicle_count,
        tally,
        activity,
        task_failures,
        stopped_by,
    );
    info!(
        sent = report.messages_sent,
        acked = report.messages_acked,
        trips = report.trips_started,
        "fleet simulation done"
    );
    Ok(report)
}

fn transports(config: &SimConfig, vehicles: &[SimVehicle]) -> Result<Vec<Transport>, SimError> {
    match config.transport {
        SimTransport::PlainTcp => Ok(vec![Transport::tcp(); vehicles.len()]),
        SimTransport::Tls => {
            let base = TlsBase::new(&config.ca_pem)?;
            vehicles
                .iter()
                .map(|vehicle| {
                    let tls = base.client_config(vehicle)?;
                    Ok(Transport::tls_with_config(TlsConfiguration::Rustls(tls)))
                })
                .collect()
        }
    }
}

pub(crate) fn mqtt_options(config: &SimConfig, vin: &Vin, transport: Transport) -> MqttOptions {
    let mut options = MqttOptions::new(
        vin.as_str(),
        config.broker_host.as_str(),
        config.broker_port,
    );
    options
        .set_keep_alive(config.keep_alive)
        .set_clean_session(false)
        .set_transport(transport)
        .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
        .set_inflight(MAX_INFLIGHT)
        .set_request_channel_capacity(REQUEST_CAPACITY);
    options
}

async fn wait_for_end(
    duration: Option<Duration>,
    shutdown: impl Future<Output = ()>,
) -> StopReason {
    let elapsed = async {
        match duration {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = elapsed => StopReason::DurationElapsed,
        () = shutdown => StopReason::Shutdown,
    }
}

async fn collect_vehicles(
    tasks: Vec<JoinHandle<(Tally, ActivityCounts)>>,
) -> (Tally, ActivityCounts, u64) {
    let mut tally = Tally::default();
    let mut activity = ActivityCounts::default();
    let mut failures = 0;
    for task in tasks {
        match task.await {
            Ok((vehicle_tally, vehicle_activity)) => {
                tally.add(&vehicle_tally);
                activity.add(&vehicle_activity);
            }
            Err(error) => {
                warn!(%error, "a vehicle task ended abnormally");
                failures += 1;
            }
        }
    }
    (tally, activity, failures)
}

async fn wait_for_acks(counters: &Counters, grace: Duration) {
    let deadline = Instant::now() + grace;
    while Counters::get(&counters.acked) < Counters::get(&counters.sent)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let missing = Counters::get(&counters.sent).saturating_sub(Counters::get(&counters.acked));
    if missing > 0 {
        warn!(missing, "messages still unacknowledged at the end");
    }
}

async fn join_connections(tasks: Vec<JoinHandle<()>>) -> u64 {
    let mut failures = 0;
    let deadline = Instant::now() + DISCONNECT_TIMEOUT + Duration::from_secs(1);
    for task in tasks {
        let abort = task.abort_handle();
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) if error.is_cancelled() => {}
            Ok(Err(error)) => {
                warn!(%error, "a connection task ended abnormally");
                failures += 1;
            }
            Err(_) => abort.abort(),
        }
    }
    failures
}

fn build_report(
    shared: &Shared,
    vehicles: usize,
    tally: Tally,
    activity: ActivityCounts,
    task_failures: u64,
    stopped_by: StopReason,
) -> SimReport {
    let counters = &shared.counters;
    SimReport {
        vehicles,
        messages_sent: Counters::get(&counters.sent),
        messages_acked: Counters::get(&counters.acked),
        alerts: tally.alerts_raised,
        alarms: tally.alarms,
        collisions: tally.collisions,
        thefts: tally.thefts,
        recoveries: tally.recoveries,
        trips_started: tally.trips_started,
        trips_completed: tally.trips_completed,
        by_kind: tally.by_kind,
        activity,
        commands_received: Counters::get(&counters.commands),
        connections: Counters::get(&counters.connections),
        connection_failures: Counters::get(&counters.connection_failures),
        task_failures,
        simulated_from: shared.clock.sim_start(),
        simulated_until: shared.sim_now(),
        wall_time: shared.wall_start.elapsed(),
        stopped_by,
    }
}

/// A vehicle's MQTT connection: connects after its stagger delay, reconnects with backoff,
/// subscribes to its commands, counts PUBACKs and forwards commands to the vehicle task.
struct Connection {
    vin: Vin,
    client: AsyncClient,
    commands: mpsc::Sender<Vec<u8>>,
    shared: Shared,
    start_delay: Duration,
}

impl Connection {
    async fn run(self, mut eventloop: EventLoop, mut stop: watch::Receiver<bool>) {
        let mut network = NetworkOptions::new();
        network.set_connection_timeout(30);
        eventloop.set_network_options(network);
        if !sleep_unless_stopped(self.start_delay, &mut stop).await {
            return;
        }

        let topic = command_topic(&self.vin);
        let mut backoff = Backoff::new(crate::scenario::vehicle_seed(0, &self.vin));
        let mut connected = false;
        let mut subscribe_pending = false;
        loop {
            let event = tokio::select! {
                biased;
                _ = stop.changed() => break,
                event = eventloop.poll() => event,
            };
            match event {
                Ok(event) => {
                    subscribe_pending |= self.on_event(event, &topic, &mut connected, &mut backoff);
                }
                Err(error) => {
                    self.on_error(&error, &mut connected, &backoff);
                    if !sleep_unless_stopped(backoff.next_delay(), &mut stop).await {
                        break;
                    }
                }
            }
            if subscribe_pending {
                subscribe_pending = self.client.try_subscribe(&topic, QoS::AtLeastOnce).is_err();
            }
        }
        self.disconnect(&mut eventloop, connected).await;
    }

    /// Handles one event; true when the subscription must be (re)made.
    fn on_event(
        &self,
        event: Event,
        topic: &str,
        connected: &mut bool,
        backoff: &mut Backoff,
    ) -> bool {
        let counters = &self.shared.counters;
        match event {
            Event::Incoming(Packet::ConnAck(ack)) => {
                *connected = true;
                backoff.reset();
                Counters::bump(&counters.connected);
                Counters::bump(&counters.connections);
                debug!(vin = %self.vin, session_present = ack.session_present, "connected");
                return !ack.session_present;
            }
            Event::Incoming(Packet::PubAck(_)) => Counters::bump(&counters.acked),
            Event::Incoming(Packet::Publish(publish)) if publish.topic == topic => {
                Counters::bump(&counters.commands);
                if self.commands.try_send(publish.payload.to_vec()).is_err() {
                    debug!(vin = %self.vin, "command dropped: the vehicle is busy");
                }
            }
            _ => {}
        }
        false
    }

    fn on_error(&self, error: &ConnectionError, connected: &mut bool, backoff: &Backoff) {
        let counters = &self.shared.counters;
        Counters::bump(&counters.connection_failures);
        if std::mem::take(connected) {
            counters.connected.fetch_sub(1, Ordering::Relaxed);
            warn!(vin = %self.vin, %error, "connection lost; reconnecting");
        } else if backoff.attempts() == 0 {
            warn!(vin = %self.vin, %error, "cannot connect; retrying with backoff");
        } else {
            debug!(vin = %self.vin, %error, attempt = backoff.attempts(), "cannot connect");
        }
    }

    async fn disconnect(&self, eventloop: &mut EventLoop, connected: bool) {
        if !connected {
            return;
        }
        self.shared
            .counters
            .connected
            .fetch_sub(1, Ordering::Relaxed);
        if self.client.try_disconnect().is_err() {
            return;
        }
        let flushed = tokio::time::timeout(DISCONNECT_TIMEOUT, async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        Counters::bump(&self.shared.counters.acked);
                    }
                    Ok(_) => {}
                }
            }
        })
        .await;
        if flushed.is_err() {
            debug!(vin = %self.vin, "disconnection timed out");
        }
    }
}

/// Sleeps unless the stop signal comes first; false when it did.
async fn sleep_unless_stopped(delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = stop.changed() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

/// Exponential backoff between connection attempts, 1 s doubling up to a minute, with a
/// jitter of ±25 % so that refused vehicles do not all come back at once.
#[derive(Debug, Clone)]
struct Backoff {
    attempts: u32,
    jitter_state: u64,
}

impl Backoff {
    fn new(seed: u64) -> Self {
        Self {
            attempts: 0,
            jitter_state: seed | 1,
        }
    }

    fn attempts(&self) -> u32 {
        self.attempts
    }

    fn reset(&mut self) {
        self.attempts = 0;
    }

    fn next_delay(&mut self) -> Duration {
        let base = Duration::from_secs(1)
            .saturating_mul(1 << self.attempts.min(6))
            .min(MAX_BACKOFF);
        self.attempts += 1;
        // xorshift64: a cheap spread of the jitter; nothing depends on its quality.
        self.jitter_state ^= self.jitter_state << 13;
        self.jitter_state ^= self.jitter_state >> 7;
        self.jitter_state ^= self.jitter_state << 17;
        let share = (self.jitter_state % 1000) as f64 / 1000.0;
        base.mul_f64(0.75 + share * 0.5)
    }
}

/// A vehicle's generator: sleeps until its next message is due on the simulated clock and
/// publishes it; answers commands.
struct VehicleTask {
    sim: VehicleSim,
    client: AsyncClient,
    commands: mpsc::Receiver<Vec<u8>>,
    shared: Shared,
}

impl VehicleTask {
    async fn run(mut self, mut stop: watch::Receiver<bool>) -> (Tally, ActivityCounts) {
        let mut tally = Tally::default();
        let mut next = self.sim.next_message();
        while !*stop.borrow() {
            let due = self.shared.wall_start + self.shared.clock.elapsed_when(next.at);
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                Some(command) = self.commands.recv() => {
                    self.answer(&command, &mut tally, &mut stop).await;
                    continue;
                }
                () = tokio::time::sleep_until(due) => {}
            }
            match self.publish(&next, &mut stop).await {
                Handover::Sent => tally.record(&next),
                Handover::Stopped | Handover::ClientGone => break,
            }
            next = self.sim.next_message();
        }
        (tally, self.sim.counts())
    }

    /// Acknowledges a command.
    async fn answer(
        &mut self,
        payload: &[u8],
        tally: &mut Tally,
        stop: &mut watch::Receiver<bool>,
    ) {
        let Some(command_id) = command_id(payload) else {
            debug!(vin = %self.sim.vin(), "command without a usable id ignored");
            return;
        };
        let Some(ack) = self.sim.acknowledge(&command_id, self.shared.sim_now()) else {
            debug!(vin = %self.sim.vin(), command = %command_id, "command id too long to answer");
            return;
        };
        if let Handover::Sent = self.publish(&ack, stop).await {
            tally.record(&ack);
        }
    }

    /// Hands a message to the MQTT client. When the run stops meanwhile, a hand-over under
    /// way gets [`HANDOVER_GRACE`] to finish: dropping it half-way could let the message
    /// through uncounted.
    async fn publish(
        &self,
        message: &VehicleMessage,
        stop: &mut watch::Receiver<bool>,
    ) -> Handover {
        let topic = message.body.channel().topic(&message.vin);
        let payload = message.to_payload();
        let handover = self.client.publish(topic, QoS::AtLeastOnce, false, payload);
        tokio::pin!(handover);

        let result = tokio::select! {
            biased;
            result = &mut handover => result,
            _ = stop.changed() => match tokio::time::timeout(HANDOVER_GRACE, &mut handover).await {
                Ok(result) => result,
                Err(_) => return Handover::Stopped,
            },
        };
        match result {
            Ok(()) => {
                Counters::bump(&self.shared.counters.sent);
                Handover::Sent
            }
            Err(error) => {
                debug!(vin = %message.vin, %error, "the MQTT client is gone");
                Handover::ClientGone
            }
        }
    }
}

/// What became of a message handed to the MQTT client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handover {
    /// It is queued for publishing.
    Sent,
    /// The run stopped before it could be queued.
    Stopped,
    /// The client's event loop is gone.
    ClientGone,
}

/// The `id` of a command payload.
fn command_id(payload: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    value.get("id")?.as_str().map(str::to_owned)
}

/// The progress display: a bar on stderr, or a log line every 30 s when it is hidden.
struct Progress {
    bar: ProgressBar,
    task: JoinHandle<()>,
}

impl Progress {
    fn start(config: &SimConfig, vehicles: usize, shared: Shared) -> Self {
        let bar = progress_bar(config);
        let period = if config.show_progress {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(30)
        };
        let task = tokio::spawn(show_progress(
            bar.clone(),
            vehicles,
            shared,
            period,
            config.show_progress,
        ));
        Self { bar, task }
    }

    fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}

fn progress_bar(config: &SimConfig) -> ProgressBar {
    if !config.show_progress {
        return ProgressBar::hidden();
    }
    let length = config.duration.map(|d| d.as_secs().max(1));
    let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr());
    let template = if length.is_some() {
        "{spinner} [{elapsed_precise}] {bar:25} {wide_msg}"
    } else {
        "{spinner} [{elapsed_precise}] {wide_msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

async fn show_progress(
    bar: ProgressBar,
    vehicles: usize,
    shared: Shared,
    period: Duration,
    visible: bool,
) {
    let mut ticker = tokio::time::interval(period);
    let mut previous = Snapshot::take(&shared);
    loop {
        ticker.tick().await;
        let now = Snapshot::take(&shared);
        let seconds = (now.at - previous.at).as_secs_f64().max(1e-3);
        let sent_rate = now.sent.saturating_sub(previous.sent) as f64 / seconds;
        let acked_rate = now.acked.saturating_sub(previous.acked) as f64 / seconds;

        if visible {
            bar.set_position(shared.wall_start.elapsed().as_secs());
            bar.set_message(now.line(vehicles, sent_rate, acked_rate));
        } else {
            info!(
                connected = now.connected,
                vehicles,
                sent = now.sent,
                acked = now.acked,
                sent_rate,
                acked_rate,
                sim = %shared.sim_now(),
                "progress"
            );
        }
        previous = now;
    }
}

/// The counters at one moment, for rates.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    at: Instant,
    connected: u64,
    sent: u64,
    acked: u64,
    sim_now: OffsetDateTime,
}

impl Snapshot {
    fn take(shared: &Shared) -> Self {
        let counters = &shared.counters;
        Self {
            at: Instant::now(),
            connected: Counters::get(&counters.connected),
            sent: Counters::get(&counters.sent),
            acked: Counters::get(&counters.acked),
            sim_now: shared.sim_now(),
        }
    }

    /// The progress bar's message.
    fn line(&self, vehicles: usize, sent_rate: f64, acked_rate: f64) -> String {
        let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
        let sim = self.sim_now.format(format).unwrap_or_default();
        format!(
            "connected {}/{vehicles} · sent {} ({sent_rate:.0}/s) · acked {} ({acked_rate:.0}/s) \
             · simulated {sim} UTC",
            self.connected, self.sent, self.acked
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SimConfig {
        SimConfig::new("localhost", 8883, "")
    }

    fn vehicle(vin: &str, cert_pem: String, key_pem: String) -> SimVehicle {
        SimVehicle {
            vin: Vin::parse(vin).unwrap(),
            cert_pem,
            key_pem,
        }
    }

    /// A CA, and a device certificate it signed for `vin`.
    fn device_credentials(vin: &str) -> (String, String, String) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let device_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, vin);
        let device = params.signed_by(&device_key, &issuer).unwrap();
        (ca.pem(), device.pem(), device_key.serialize_pem())
    }

    #[test]
    fn the_defaults_are_valid_and_broken_settings_are_named() {
        assert!(config().validate().is_ok());

        type Breaker = fn(&mut SimConfig);
        let cases: [(&str, Breaker); 6] = [
            ("time_scale", |c| c.time_scale = 0.0),
            ("time_scale", |c| c.time_scale = f64::NAN),
            ("interval", |c| c.interval = Duration::ZERO),
            ("incident_rate", |c| c.incident_rate = -1.0),
            ("keep_alive", |c| c.keep_alive = Duration::from_millis(500)),
            ("duration", |c| c.duration = Some(Duration::ZERO)),
        ];
        for (field, break_it) in cases {
            let mut broken = config();
            break_it(&mut broken);
            let error = broken.validate().unwrap_err();
            assert!(
                matches!(error, SimError::InvalidConfig { field: f, .. } if f == field),
                "{error}"
            );
        }
    }

    #[test]
    fn a_vehicle_client_config_is_built_from_its_device_credentials() {
        let vin = "VF3SMXTLS00000001";
        let (ca, cert, key) = device_credentials(vin);
        let base = TlsBase::new(&ca).unwrap();

        let config = base.client_config(&vehicle(vin, cert, key)).unwrap();

        assert!(config.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn unreadable_credentials_are_refused_with_the_vin() {
        let vin = "VF3SMXTLS00000002";
        let (ca, cert, key) = device_credentials(vin);
        let base = TlsBase::new(&ca).unwrap();

        let no_cert = base.client_config(&vehicle(vin, String::new(), key.clone()));
        let no_key = base.client_config(&vehicle(vin, cert.clone(), "garbage".into()));
        let no_ca = TlsBase::new("not a pem");

        assert!(matches!(
            no_cert,
            Err(SimError::Tls { .. } | SimError::DeviceCertificate { .. })
        ));
        let message = no_key.unwrap_err().to_string();
        assert!(
            message.contains(vin) && message.contains("key"),
            "{message}"
        );
        assert!(matches!(no_ca, Err(SimError::NoCaCertificate)));
    }

    #[test]
    fn backoff_grows_to_a_minute_with_jitter_and_resets() {
        let mut backoff = Backoff::new(42);

        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        backoff.reset();
        let again = backoff.next_delay();

        assert!(
            delays[0] >= Duration::from_millis(750) && delays[0] <= Duration::from_millis(1250)
        );
        assert!(delays[3] > delays[0] * 4);
        assert!(delays.iter().all(|d| *d <= MAX_BACKOFF.mul_f64(1.25)));
        assert!(delays[9] >= MAX_BACKOFF.mul_f64(0.75));
        assert!(again <= Duration::from_millis(1250));
    }

    #[test]
    fn a_command_id_is_read_from_its_payload() {
        assert_eq!(
            command_id(br#"{"v":1,"id":"c-1","command":{}}"#),
            Some("c-1".into())
        );
        assert_eq!(command_id(b"{}"), None);
        assert_eq!(command_id(b"not json"), None);
    }

    #[tokio::test]
    async fn a_run_without_vehicles_is_refused_before_any_connection() {
        let result = run(config(), Vec::new(), std::future::pending()).await;

        assert!(matches!(result, Err(SimError::NoVehicles)));
    }
}
