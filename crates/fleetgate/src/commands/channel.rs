//! The vehicle side of `fleetgate serve`: the ingestion writer, fed by the embedded MQTT
//! endpoint or by an external broker, and the background upkeep of vehicle data
//! (closing trips of silent vehicles, retention).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use fleetgate_store::Store;
use fleetgate_vehicle::external::{self, BrokerSettings};
use fleetgate_vehicle::tls::{endpoint_config, EndpointTls};
use fleetgate_vehicle::{BatchSettings, Endpoint, Ingestor};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, DataDir};
use crate::device_pki;

/// Rows deleted per statement by the retention task.
const PRUNE_CHUNK: u32 = 5_000;

/// How often retention runs.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How often trips of silent vehicles are closed.
const SILENCE_CHECK_EVERY: Duration = Duration::from_secs(60);

/// How often the pipeline's counters are logged while they move.
const STATS_EVERY: Duration = Duration::from_secs(30);

/// Where vehicles' messages come from.
enum Source {
    /// The embedded endpoint, bound and ready.
    Embedded {
        listener: TcpListener,
        tls: Arc<rustls::ServerConfig>,
    },
    /// An external broker.
    External(BrokerSettings),
}

/// The vehicle channel, prepared by [`VehicleChannel::prepare`] and started by `start`.
pub struct VehicleChannel {
    store: Store,
    source: Source,
    retention_days: u32,
}

/// The running vehicle channel.
pub struct RunningChannel {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    writer: JoinHandle<()>,
    ingestor: Ingestor,
}

impl VehicleChannel {
    /// Loads the device TLS material and binds the endpoint (or checks the broker URL).
    pub async fn prepare(
        data_dir: &DataDir,
        config: &Config,
        store: Store,
        mqtt_listen: Option<SocketAddr>,
    ) -> anyhow::Result<Self> {
        let settings = &config.vehicles;
        let hosts = [settings.mqtt_public_host.clone(), "127.0.0.1".into()];
        device_pki::ensure(data_dir, &hosts)?;

        let source = match &settings.mqtt_url {
            Some(url) => Source::External(broker_settings(data_dir, url)?),
            None => {
                let listen = mqtt_listen.unwrap_or(settings.mqtt_listen);
                let listener = TcpListener::bind(listen).await.with_context(|| {
                    format!("cannot listen for vehicles on {listen}: is another server using it?")
                })?;
                Source::Embedded {
                    listener,
                    tls: endpoint_tls(data_dir)?,
                }
            }
        };

        Ok(Self {
            store,
            source,
            retention_days: settings.retention_days,
        })
    }

    /// The address vehicles connect to, with the embedded endpoint.
    pub fn local_address(&self) -> Option<SocketAddr> {
        match &self.source {
            Source::Embedded { listener, .. } => listener.local_addr().ok(),
            Source::External(_) => None,
        }
    }

    /// Starts ingestion and the upkeep tasks.
    pub fn start(self) -> RunningChannel {
        let (ingestor, writer) = Ingestor::start(self.store.clone(), BatchSettings::default());
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(close_silent_trips(self.store.clone(), stopped.clone())),
            tokio::spawn(prune(
                self.store.clone(),
                self.retention_days,
                stopped.clone(),
            )),
            tokio::spawn(log_stats(ingestor.clone(), stopped.clone())),
        ];

        let feeder = match self.source {
            Source::Embedded { listener, tls } => {
                let address = listener.local_addr().ok();
                if let Some(address) = address {
                    tracing::info!(%address, "vehicle endpoint listening on mqtts://{address}");
                }
                let endpoint = Endpoint::new(ingestor.clone());
                tokio::spawn(endpoint.serve(listener, tls, wait_for(stopped)))
            }
            Source::External(settings) => {
                let ingestor = ingestor.clone();
                tokio::spawn(external::consume(settings, ingestor, wait_for(stopped)))
            }
        };
        tasks.push(feeder);

        RunningChannel {
            stop,
            tasks,
            writer,
            ingestor,
        }
    }
}

impl RunningChannel {
    /// Stops taking messages, then waits until every accepted one is committed.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }

        let summary = self.ingestor.stats().summary();
        drop(self.ingestor);
        let _ = self.writer.await;
        tracing::info!(stats = %summary, "vehicle channel stopped");
    }
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

fn endpoint_tls(data_dir: &DataDir) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certificate = device_pki::read(&data_dir.mqtt_server_certificate())?;
    let key = zeroize::Zeroizing::new(device_pki::read(&data_dir.mqtt_server_key())?);
    let device_ca = device_pki::read(&data_dir.device_ca_certificate())?;
    let material = EndpointTls {
        certificate_pem: &certificate,
        key_pem: &key,
        device_ca_pem: &device_ca,
    };
    endpoint_config(&material).context("cannot set up the vehicle endpoint's TLS")
}

fn broker_settings(data_dir: &DataDir, url: &str) -> anyhow::Result<BrokerSettings> {
    let (host, port, use_tls) = external::parse_broker_url(url)?;
    let tls = if use_tls {
        Some(node_tls(data_dir)?)
    } else {
        tracing::warn!(
            url,
            "the external broker is reached without TLS: use mqtts:// outside a trusted network"
        );
        None
    };

    Ok(BrokerSettings {
        host,
        port,
        tls,
        client_id: node_client_id(),
    })
}

/// The node's MQTT client id: stable for a host and data dir, different between nodes.
fn node_client_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let instance = std::env::var("FLEETGATE_NODE_ID").unwrap_or(host);
    format!("fleetgate-node-{instance}-{}", std::process::id())
}

/// TLS to an external broker: the broker must present a certificate of the device CA, and
/// the node presents its node certificate.
fn node_tls(data_dir: &DataDir) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let ca = device_pki::read(&data_dir.device_ca_certificate())?;
    let certificate = device_pki::read(&data_dir.mqtt_node_certificate())?;
    let key = zeroize::Zeroizing::new(device_pki::read(&data_dir.mqtt_node_key())?);

    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots
            .add(der.context("invalid device CA certificate")?)
            .context("unusable device CA certificate")?;
    }
    let chain = CertificateDer::pem_slice_iter(certificate.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("invalid node certificate")?;
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).context("invalid node key")?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .context("cannot use the node certificate")?;
    Ok(Arc::new(config))
}

/// Closes the trips of vehicles silent for too long, every minute.
async fn close_silent_trips(store: Store, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(SILENCE_CHECK_EVERY) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        match store.close_silent_trips(OffsetDateTime::now_utc()).await {
            Ok(0) => {}
            Ok(closed) => tracing::info!(closed, "closed the trips of silent vehicles"),
            Err(error) => tracing::warn!(%error, "cannot close the trips of silent vehicles"),
        }
    }
}

/// Deletes vehicle data older than the retention period, a minute after start and then
/// every hour, in small chunks so that ingestion is never held back for long.
async fn prune(store: Store, retention_days: u32, mut stopped: watch::Receiver<bool>) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        wait = PRUNE_EVERY;

        let cutoff = OffsetDateTime::now_utc() - time::Duration::days(i64::from(retention_days));
        match store.prune_vehicle_data(cutoff, PRUNE_CHUNK).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, retention_days, "old vehicle data deleted"),
            Err(error) => tracing::warn!(%error, "retention failed; will try again"),
        }
    }
}

/// Logs the pipeline's counters while they change.
async fn log_stats(ingestor: Ingestor, mut stopped: watch::Receiver<bool>) {
    let mut last = String::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(STATS_EVERY) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        let summary = ingestor.stats().summary();
        if summary != last {
            tracing::info!(stats = %summary, "vehicle ingestion");
            last = summary;
        }
    }
}
