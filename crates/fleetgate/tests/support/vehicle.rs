//! A vehicle as the tests drive it: an MQTT client (rumqttc) with the device certificate
//! that `fleetgate vehicle provision` wrote, publishing with QoS 1 and counting PUBACKs.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, Incoming, MqttOptions, Outgoing, QoS, TlsConfiguration,
    Transport,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Mutex};

/// What happened on the vehicle's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happened {
    /// CONNACK with this return code.
    Connected(ConnectReturnCode),
    /// The connection failed or was closed.
    Disconnected(String),
    /// A command arrived on the commands topic.
    Command(Vec<u8>),
}

/// One test vehicle.
pub struct VehicleClient {
    /// The VIN (and MQTT client id unless told otherwise).
    pub vin: String,
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<Happened>,
    acked: Arc<Mutex<AckBook>>,
}

/// Which message ids were acknowledged, matched through the packet ids.
#[derive(Default)]
pub struct AckBook {
    queued: VecDeque<String>,
    in_flight: HashMap<u16, String>,
    /// The ids whose PUBACK arrived.
    pub acknowledged: HashSet<String>,
}

/// The TLS client configuration of a provisioned vehicle's folder (or none for the key).
pub fn vehicle_tls(folder: &Path, with_certificate: bool) -> Arc<rustls::ClientConfig> {
    let read = |name: &str| std::fs::read(folder.join(name)).expect("provisioned file");
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(&read("ca.pem")) {
        roots.add(der.expect("CA PEM")).expect("CA certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots);
    let config = if with_certificate {
        let chain = CertificateDer::pem_slice_iter(&read("vehicle.pem"))
            .collect::<Result<Vec<_>, _>>()
            .expect("certificate PEM");
        let key = PrivateKeyDer::from_pem_slice(&read("vehicle-key.pem")).expect("key PEM");
        builder
            .with_client_auth_cert(chain, key)
            .expect("client auth")
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(config)
}

impl VehicleClient {
    /// Connects to `127.0.0.1:port` with `tls` and client id `client_id`, and waits for the
    /// CONNACK (or the failure).
    pub async fn connect(
        vin: &str,
        client_id: &str,
        port: u16,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, Happened> {
        let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_clean_session(true)
            .set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
        let (client, mut eventloop) = AsyncClient::new(options, 1000);
        let (sender, mut events) = mpsc::unbounded_channel();
        let acked = Arc::new(Mutex::new(AckBook::default()));

        let book = acked.clone();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                        let _ = sender.send(Happened::Connected(ack.code));
                    }
                    Ok(Event::Incoming(Incoming::Publish(publish))) => {
                        let _ = sender.send(Happened::Command(publish.payload.to_vec()));
                    }
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                        let mut book = book.lock().await;
                        if let Some(id) = book.queued.pop_front() {
                            book.in_flight.insert(pkid, id);
                        }
                    }
                    Ok(Event::Incoming(Incoming::PubAck(ack))) => {
                        let mut book = book.lock().await;
                        if let Some(id) = book.in_flight.remove(&ack.pkid) {
                            book.acknowledged.insert(id);
                        }
                    }
                    Ok(_) => {}
                    Err(error) => {
                        let _ = sender.send(Happened::Disconnected(error.to_string()));
                        return;
                    }
                }
            }
        });

        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(Happened::Connected(ConnectReturnCode::Success))) => Ok(Self {
                vin: vin.to_owned(),
                client,
                events,
                acked,
            }),
            Ok(Some(other)) => Err(other),
            Ok(None) => Err(Happened::Disconnected("event loop ended".into())),
            Err(_) => Err(Happened::Disconnected("no CONNACK within 10 s".into())),
        }
    }

    /// Connects a provisioned vehicle (folder written by `vehicle provision`).
    pub async fn provisioned(vin: &str, folder: &Path, port: u16) -> Self {
        Self::connect(vin, vin, port, vehicle_tls(folder, true))
            .await
            .unwrap_or_else(|failure| panic!("vehicle {vin} could not connect: {failure:?}"))
    }

    /// Publishes `payload` with QoS 1 on `topic`; `id` is the message id, for the ack book.
    pub async fn publish_on(&self, topic: &str, id: &str, payload: Vec<u8>) {
        self.acked.lock().await.queued.push_back(id.to_owned());
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .expect("publish queued");
    }

    /// Publishes a message (a JSON object with `id`) on this vehicle's `channel` topic.
    pub async fn publish(&self, channel: &str, message: &Value) {
        let topic = format!("fleetgate/v1/vehicles/{}/{channel}", self.vin);
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        let payload = serde_json::to_vec(message).expect("JSON");
        self.publish_on(&topic, &id, payload).await;
    }

    /// Subscribes to this vehicle's command topic.
    pub async fn subscribe_commands(&self) {
        let topic = format!("fleetgate/v1/vehicles/{}/commands", self.vin);
        self.client
            .subscribe(topic, QoS::AtLeastOnce)
            .await
            .expect("subscribe queued");
    }

    /// Waits until `count` messages are acknowledged, or `timeout`; returns how many are.
    pub async fn wait_acks(&self, count: usize, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let acknowledged = self.acked.lock().await.acknowledged.len();
            if acknowledged >= count || tokio::time::Instant::now() >= deadline {
                return acknowledged;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The ids acknowledged so far.
    pub async fn acknowledged(&self) -> HashSet<String> {
        self.acked.lock().await.acknowledged.clone()
    }

    /// Waits for the connection to be closed by the server; true if it was within `timeout`.
    pub async fn wait_disconnected(&mut self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(Happened::Disconnected(_))) | Ok(None) => return true,
                Ok(Some(_)) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Waits for the next command; `None` after `timeout`.
    pub async fn next_command(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(Happened::Command(payload))) => return Some(payload),
                Ok(Some(_)) => continue,
                _ => return None,
            }
        }
    }
}

/// An RFC 3339 time `seconds_ago` seconds before now.
pub fn ago(seconds_ago: i64) -> String {
    let at = time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds_ago);
    at.format(&time::format_description::well_known::Rfc3339)
        .expect("formats")
}

/// A telemetry sample `seconds_ago` seconds ago at (lon, lat), with the given ignition,
/// speed and odometer.
pub fn sample(
    id: &str,
    seconds_ago: i64,
    at: (f64, f64),
    ignition: &str,
    speed: f64,
    odometer: f64,
) -> Value {
    json!({
        "v": 1,
        "id": id,
        "at": ago(seconds_ago),
        "position": {"lon": at.0, "lat": at.1, "speed": speed, "heading": 90, "type": "Acquire"},
        "ignition": ignition,
        "odometer": odometer,
        "energies": [{"type": "Fuel", "subType": "FossilEnergy", "level": 60.0 - odometer / 1000.0,
                      "autonomy": 500, "consumption": odometer * 6.0}],
    })
}
