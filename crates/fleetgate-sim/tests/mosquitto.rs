//! The runner against a real MQTT broker: a Mosquitto of the test's own on a loopback port,
//! plain TCP and anonymous (the TLS path is the platform's, tested with it). An observer
//! subscribed to every vehicle topic checks what the simulated vehicles published.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fleetgate_core::vehicle::message::{parse_uplink_topic, Channel, MessageBody};
use fleetgate_core::vehicle::VehicleMessage;
use fleetgate_core::Vin;
use fleetgate_sim::{run, SimConfig, SimTransport, SimVehicle, StopReason};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// A Mosquitto listening on 127.0.0.1, killed when dropped.
struct Mosquitto {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Mosquitto {
    /// A plain-TCP, anonymous broker.
    fn start() -> Option<Self> {
        Self::start_with(|_| "allow_anonymous true\n".to_owned())
    }

    /// A broker whose listener is configured by `settings`, given the broker's directory.
    fn start_with(settings: impl FnOnce(&Path) -> String) -> Option<Self> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("fleetgate-sim-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("mosquitto.conf");
        let text = format!(
            "listener {port} 127.0.0.1\npersistence false\n{}",
            settings(&dir)
        );
        std::fs::write(&config, text).unwrap();

        let spawned = Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) if std::env::var_os("CI").is_some() => {
                panic!("mosquitto is required in CI: {error}")
            }
            Err(error) => {
                eprintln!("skipped: mosquitto cannot be started ({error})");
                return None;
            }
        };
        let broker = Self { child, port, dir };
        broker.wait_until_listening();
        Some(broker)
    }

    /// Kills the broker, waits `down`, then starts it again on the same port.
    fn restart_after(&mut self, down: Duration) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(down);
        self.child = Command::new("mosquitto")
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts again");
        self.wait_until_listening();
    }

    fn wait_until_listening(&self) {
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("mosquitto did not listen on {}", self.port);
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn vehicles(count: usize) -> Vec<SimVehicle> {
    (0..count)
        .map(|n| SimVehicle {
            vin: Vin::parse(&format!("VF3MXTT{n:010}")).unwrap(),
            cert_pem: String::new(),
            key_pem: String::new(),
        })
        .collect()
}

/// Subscribes to every vehicle topic and forwards what arrives; returns the client too, to
/// publish commands.
async fn observe(port: u16) -> (AsyncClient, mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let mut options = MqttOptions::new("observer", "127.0.0.1", port);
    options.set_max_packet_size(128 * 1024, 128 * 1024);
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    client
        .subscribe("fleetgate/v1/vehicles/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();

    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {}
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    (client, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_vehicles_publish_valid_messages_and_answer_commands() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let (observer, mut received) = observe(broker.port).await;
    let fleet = vehicles(10);
    let first_vin = fleet[0].vin.clone();
    let config = SimConfig {
        transport: SimTransport::PlainTcp,
        duration: Some(Duration::from_secs(4)),
        time_scale: 120.0,
        show_progress: false,
        connect_rate: 50.0,
        ack_grace: Duration::from_secs(3),
        ..SimConfig::new("127.0.0.1", broker.port, "")
    };

    let command_topic = fleetgate_core::vehicle::message::command_topic(&first_vin);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let command =
            r#"{"v":1,"id":"cmd-77","at":"2026-01-01T00:00:00Z","command":{"type":"Horn"}}"#;
        observer
            .publish(command_topic, QoS::AtLeastOnce, false, command)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(observer);
    });
    let report = run(config, fleet, std::future::pending()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!("{report}");

    assert_eq!(report.stopped_by, StopReason::DurationElapsed);
    assert_eq!(report.vehicles, 10);
    assert!(report.connections >= 10, "{report}");
    assert!(report.messages_sent >= 20, "{report}");
    assert_eq!(report.messages_acked, report.messages_sent, "{report}");
    assert!(report.commands_received >= 1, "{report}");

    let now = OffsetDateTime::now_utc();
    let mut uplink = 0;
    let mut acked_command = false;
    while let Ok((topic, payload)) = received.try_recv() {
        let Some((vin, channel)) = parse_uplink_topic(&topic) else {
            continue;
        };
        let message = VehicleMessage::parse(&vin, channel, &payload, now)
            .unwrap_or_else(|e| panic!("{topic}: {e}: {}", String::from_utf8_lossy(&payload)));
        assert!(
            message.at <= now,
            "{} is ahead of the real clock",
            message.at
        );
        if let (Channel::Acks, MessageBody::Ack(ack)) = (channel, &message.body) {
            acked_command |= vin == first_vin && ack.command == "cmd-77";
        }
        uplink += 1;
    }
    assert_eq!(
        uplink, report.messages_sent,
        "every message reached the broker once"
    );
    assert!(acked_command, "the command was not acknowledged");
}

/// A CA, the broker's certificate for 127.0.0.1 and one device certificate per VIN.
struct Pki {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
    vehicles: Vec<SimVehicle>,
}

impl Pki {
    fn new(vins: &[Vin]) -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "sim test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let server_key = rcgen::KeyPair::generate().unwrap();
        let server_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .unwrap();
        let server = server_params.signed_by(&server_key, &issuer).unwrap();

        let vehicles = vins
            .iter()
            .map(|vin| {
                let key = rcgen::KeyPair::generate().unwrap();
                let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
                params
                    .distinguished_name
                    .push(rcgen::DnType::CommonName, vin.as_str());
                let cert = params.signed_by(&key, &issuer).unwrap();
                SimVehicle {
                    vin: vin.clone(),
                    cert_pem: cert.pem(),
                    key_pem: key.serialize_pem(),
                }
            })
            .collect();
        Self {
            ca_pem: ca.pem(),
            server_pem: server.pem(),
            server_key_pem: server_key.serialize_pem(),
            vehicles,
        }
    }

    /// The listener settings of a broker that requires a device certificate.
    fn listener(&self, dir: &Path) -> String {
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n\
             use_identity_as_username true\nallow_anonymous false\nmax_connections -1\n",
            write("ca.pem", &self.ca_pem),
            write("server.pem", &self.server_pem),
            write("server.key", &self.server_key_pem),
        )
    }
}

fn vins(count: usize) -> Vec<Vin> {
    (0..count)
        .map(|n| Vin::parse(&format!("VF3TLS{n:011}")).unwrap())
        .collect()
}

async fn run_over_tls(count: usize, seconds: u64, time_scale: f64, show_progress: bool) {
    let pki = Pki::new(&vins(count));
    let Some(broker) = Mosquitto::start_with(|dir| pki.listener(dir)) else {
        return;
    };
    let config = SimConfig {
        duration: Some(Duration::from_secs(seconds)),
        time_scale,
        show_progress,
        incident_rate: 0.5,
        ack_grace: Duration::from_secs(10),
        ..SimConfig::new("127.0.0.1", broker.port, pki.ca_pem.clone())
    };

    let started = std::time::Instant::now();
    let report = run(config, pki.vehicles, std::future::pending())
        .await
        .unwrap();
    eprintln!("{report}\n(in {:.1} s)", started.elapsed().as_secs_f64());

    assert_eq!(report.connection_failures, 0, "{report}");
    assert_eq!(report.connections, count as u64, "{report}");
    assert!(report.messages_sent >= count as u64, "{report}");
    assert_eq!(report.messages_acked, report.messages_sent, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vehicles_connect_with_their_device_certificates_over_tls() {
    run_over_tls(20, 3, 60.0, false).await;
}

/// The simulator's scale: `FLEETGATE_SIM_LOAD` vehicles (10,000 by default) over TLS for
/// `FLEETGATE_SIM_LOAD_SECONDS` (90) at `FLEETGATE_SIM_LOAD_TIME_SCALE` (1). Run by hand: it
/// takes minutes and many sockets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a load run of minutes; run with --ignored"]
async fn ten_thousand_vehicles_over_tls() {
    let read = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let count = read("FLEETGATE_SIM_LOAD", 10_000) as usize;
    let seconds = read("FLEETGATE_SIM_LOAD_SECONDS", 90);
    let time_scale = read("FLEETGATE_SIM_LOAD_TIME_SCALE", 1) as f64;
    run_over_tls(count, seconds, time_scale, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vehicle_with_a_foreign_certificate_is_refused_and_retried() {
    let vins = vins(3);
    let pki = Pki::new(&vins);
    let stranger = Pki::new(&vins[2..]).vehicles.remove(0);
    let mut fleet = pki.vehicles.clone();
    fleet[2] = stranger;
    let Some(broker) = Mosquitto::start_with(|dir| pki.listener(dir)) else {
        return;
    };
    let config = SimConfig {
        duration: Some(Duration::from_secs(4)),
        show_progress: false,
        ack_grace: Duration::from_secs(1),
        ..SimConfig::new("127.0.0.1", broker.port, pki.ca_pem.clone())
    };

    let report = run(config, fleet, std::future::pending()).await.unwrap();
    eprintln!("{report}");

    assert_eq!(report.connections, 2, "{report}");
    assert!(report.connection_failures >= 2, "not retried: {report}");
    assert!(report.messages_unacked() >= 1, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vehicles_reconnect_when_the_broker_comes_back() {
    let Some(mut broker) = Mosquitto::start() else {
        return;
    };
    let config = SimConfig {
        transport: SimTransport::PlainTcp,
        duration: Some(Duration::from_secs(10)),
        time_scale: 60.0,
        show_progress: false,
        ack_grace: Duration::from_secs(2),
        ..SimConfig::new("127.0.0.1", broker.port, "")
    };
    let simulation = tokio::spawn(run(config, vehicles(5), std::future::pending()));

    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::block_in_place(|| broker.restart_after(Duration::from_secs(2)));
    let report = simulation.await.unwrap().unwrap();
    eprintln!("{report}");

    assert_eq!(report.connections, 10, "{report}");
    assert!(report.connection_failures >= 5, "{report}");
    assert!(report.messages_acked > 0, "{report}");
}
