//! `fleetgate serve`: the HTTPS server and the vehicle channel, until Ctrl-C or SIGTERM.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use fleetgate_api::tls::{server_config, TlsMaterial};
use fleetgate_api::AppState;
use fleetgate_core::PageTokenKey;
use rand::RngCore;
use tokio::net::TcpListener;

use super::channel::VehicleChannel;
use super::Context;
use crate::cli::ServeArgs;

/// The settings row holding the page-token key, shared by every node of a deployment.
const PAGE_TOKEN_KEY_SETTING: &str = "page_token_key";

/// Runs `serve`.
pub async fn run(context: &Context, args: ServeArgs) -> anyhow::Result<()> {
    let server = Server::bind(context, &args).await?;
    server.run(shutdown_signal()).await;
    Ok(())
}

/// A server whose listener is bound, ready to run.
pub struct Server {
    listener: TcpListener,
    tls: std::sync::Arc<rustls::ServerConfig>,
    router: axum::Router,
    address: SocketAddr,
    vehicles: VehicleChannel,
    state: AppState,
}

impl Server {
    /// Loads everything and binds the listener; every configuration error surfaces here,
    /// before any request is accepted.
    pub async fn bind(context: &Context, args: &ServeArgs) -> anyhow::Result<Self> {
        let mut config = context.config()?;
        if let Some(url) = &args.mqtt_url {
            config.vehicles.mqtt_url = Some(url.clone());
            config.validate()?;
        }
        let store = context.store(&config).await?;
        let certificates = context.certificate_service(&config, &store)?;
        let page_key = page_token_key(&store).await?;
        let tls = tls_config(context)?;

        let vehicles =
            VehicleChannel::prepare(&context.data_dir, &config, store.clone(), args.mqtt_listen)
                .await?;
        let state = AppState::new(store, certificates, page_key);
        let router = fleetgate_api::router(state.clone());

        let listen = args.listen.unwrap_or(config.listen);
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}: is another server using it?"))?;
        let address = listener
            .local_addr()
            .context("cannot read the bound address")?;

        Ok(Self {
            listener,
            tls,
            router,
            address,
            vehicles,
            state,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The address vehicles connect to, when the embedded endpoint runs.
    pub fn mqtt_address(&self) -> Option<SocketAddr> {
        self.vehicles.local_address()
    }

    /// Serves until `shutdown` completes, then lets the vehicle channel commit what it
    /// accepted.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let vehicles = self.vehicles.start();
        let (stop_limits, limits_stopped) = tokio::sync::oneshot::channel::<()>();
        let state = self.state.clone();
        let limits = tokio::spawn(async move {
            let stop = async {
                limits_stopped.await.ok();
            };
            state.rate_limiter().synchronise(state.store(), stop).await;
        });

        tracing::info!(address = %self.address, "listening on https://{}", self.address);
        fleetgate_api::server::serve(self.listener, self.tls, self.router, shutdown).await;
        vehicles.stop().await;
        stop_limits.send(()).ok();
        limits.await.ok();
        tracing::info!("stopped");
    }
}

fn tls_config(context: &Context) -> anyhow::Result<std::sync::Arc<rustls::ServerConfig>> {
    let data_dir = &context.data_dir;
    let read = |path: std::path::PathBuf| {
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let certificate = read(data_dir.server_certificate())?;
    let key = zeroize::Zeroizing::new(read(data_dir.server_key())?);
    let ca = read(data_dir.ca_certificate())?;

    let material = TlsMaterial {
        server_certificate_pem: &certificate,
        server_key_pem: &key,
        client_ca_pem: &ca,
    };
    server_config(&material).context("cannot set up TLS from the data dir's certificates")
}

/// The deployment's page-token key, created by the first node that starts.
async fn page_token_key(store: &fleetgate_store::Store) -> anyhow::Result<PageTokenKey> {
    let mut fresh = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);

    let stored = store
        .setting_or_insert(PAGE_TOKEN_KEY_SETTING, &hex::encode(fresh))
        .await
        .context("cannot read the page-token key")?;
    let bytes: [u8; 32] = hex::decode(&stored)
        .ok()
        .and_then(|v| v.try_into().ok())
        .context("the stored page-token key is corrupt")?;
    Ok(PageTokenKey::new(bytes))
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
