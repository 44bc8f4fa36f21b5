//! The HTTPS listener: accepts TCP connections, runs the TLS handshake, reads the client
//! certificate once per connection and serves HTTP/1.1 or HTTP/2 with the router.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use fleetgate_pki::ClientCertificate;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// A handshake that has not finished by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long open connections get to finish their requests at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What the TLS layer established about the peer, attached to every request of the
/// connection.
#[derive(Clone, Debug)]
pub struct PeerIdentity {
    /// The client certificate presented and verified at the handshake, if any.
    pub certificate: Option<Arc<ClientCertificate>>,
}

/// Serves `router` on `listener` with `tls` until `shutdown` completes, then lets open
/// connections drain.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, remote) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors or similar: wait a little rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };

        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Some((io, peer)) = handshake(&acceptor, tcp, remote).await else {
                return;
            };
            let service = router.map_request(move |mut request: Request<_>| {
                request.extensions_mut().insert(peer.clone());
                request
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(io, TowerToHyperService::new(service));
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::trace!(%remote, %error, "connection ended with an error");
            }
        });
    }

    tracing::info!("shutting down: draining open connections");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the drain period");
    }
}

async fn handshake(
    acceptor: &TlsAcceptor,
    tcp: tokio::net::TcpStream,
    remote: std::net::SocketAddr,
) -> Option<(
    TokioIo<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>,
    PeerIdentity,
)> {
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::debug!(%remote, %error, "TLS handshake failed");
            return None;
        }
        Err(_) => {
            tracing::debug!(%remote, "TLS handshake timed out");
            return None;
        }
    };

    let certificate = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|der| fleetgate_pki::inspect_client_certificate(der).ok())
        .map(Arc::new);
    tracing::trace!(%remote, client.certificate = certificate.is_some(), "TLS established");

    Some((TokioIo::new(stream), PeerIdentity { certificate }))
}
