//! The embedded MQTT endpoint: vehicles connect to it over TLS with their device
//! certificate, publish on their own topics, and receive their commands.
//!
//! It speaks MQTT 3.1.1 with the packet codec of `rumqttc`, and is purpose-built rather
//! than a general broker: the PUBACK of a message is written only once the message is
//! committed to the database (a general broker acknowledges on receipt, which would lose
//! acknowledged messages in a crash), a vehicle may publish only on its own uplink topics
//! and subscribe only to its own command topic, and messages go straight to ingestion
//! rather than through a router.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use fleetgate_core::vehicle::message::{command_topic, parse_uplink_topic};
use fleetgate_core::vehicle::VehicleMessage;
use fleetgate_core::Vin;
use fleetgate_store::InboundMessage;
use parking_lot::Mutex;
use rumqttc::mqttbytes::v4::{
    ConnAck, ConnectReturnCode, Packet, PubAck, Publish, SubAck, SubscribeReasonCode, UnsubAck,
};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use crate::ingest::{Ingestor, Receipt};
use crate::tls::vin_of_certificate;

/// The largest MQTT packet accepted (the payload limit plus room for the topic).
const MAX_PACKET_BYTES: usize = 80 * 1024;

/// How long a new connection may take to finish TLS and send CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How much the reader asks of the connection at a time (a telemetry sample is ~500 bytes).
const READ_CHUNK: usize = 1024;

/// Packets and acknowledgements waiting to be written on one connection.
const OUTGOING_QUEUE: usize = 512;

/// What the writer half of a connection does next.
///
/// Packets are boxed: a connection's queue allocates room for 32 entries up front, and ten
/// thousand connections multiply every byte of an entry (a packet is 144 bytes, a box 8).
enum Outgoing {
    /// Write this packet.
    Packet(Box<Packet>),
    /// Write the PUBACK of `pkid` once the message is committed; close if it is not.
    AckWhenStored { pkid: u16, receipt: Receipt },
    /// Close the connection (another connection took over the vehicle's session).
    Close,
}

/// The vehicles connected now, to reach them with commands.
#[derive(Default)]
struct Connected {
    links: Mutex<HashMap<Vin, (u64, mpsc::Sender<Outgoing>)>>,
    next_generation: std::sync::atomic::AtomicU64,
}

/// The running endpoint's shared parts.
pub struct Endpoint {
    ingestor: Ingestor,
    connected: Connected,
    open_connections: AtomicUsize,
    packet_ids: AtomicU16,
}

impl Endpoint {
    /// An endpoint that hands valid messages to `ingestor`.
    pub fn new(ingestor: Ingestor) -> Arc<Self> {
        Arc::new(Self {
            ingestor,
            connected: Connected::default(),
            open_connections: AtomicUsize::new(0),
            packet_ids: AtomicU16::new(1),
        })
    }

    /// How many vehicles are connected now.
    pub fn connected_vehicles(&self) -> usize {
        self.connected.links.lock().len()
    }

    /// How many TCP connections are open (including those still in their handshake).
    pub fn open_connections(&self) -> usize {
        self.open_connections.load(Ordering::Relaxed)
    }

    /// Publishes a command to a connected vehicle (QoS 1); false when it is not connected.
    pub async fn send_command(&self, vin: &Vin, payload: Vec<u8>) -> bool {
        let link = self.connected.links.lock().get(vin).map(|(_, l)| l.clone());
        let Some(link) = link else {
            return false;
        };

        let mut publish = Publish::new(command_topic(vin), QoS::AtLeastOnce, payload);
        publish.pkid = self.next_packet_id();
        link.send(Outgoing::Packet(Box::new(Packet::Publish(publish))))
            .await
            .is_ok()
    }

    fn next_packet_id(&self) -> u16 {
        loop {
            let id = self.packet_ids.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
    }

    /// Accepts vehicles on `listener` until `shutdown` completes.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Arc<rustls::ServerConfig>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let acceptor = TlsAcceptor::from(tls);
        tokio::pin!(shutdown);

        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            match accepted {
                Ok((tcp, remote)) => {
                    let endpoint = self.clone();
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move { endpoint.connection(acceptor, tcp, remote).await });
                }
                Err(error) => {
                    tracing::warn!(%error, "MQTT accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        self.close_all();
    }

    fn close_all(&self) {
        let links: Vec<_> = self.connected.links.lock().drain().collect();
        for (_, (_, link)) in links {
            let _ = link.try_send(Outgoing::Close);
        }
    }

    async fn connection(
        self: Arc<Self>,
        acceptor: TlsAcceptor,
        tcp: TcpStream,
        remote: SocketAddr,
    ) {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
        let _ = tcp.set_nodelay(true);

        match tokio::time::timeout(CONNECT_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => {
                let vin = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .and_then(|leaf| vin_of_certificate(leaf));
                match vin {
                    Some(vin) => self.session(stream, vin, remote).await,
                    None => tracing::warn!(%remote, "device certificate names no valid VIN"),
                }
            }
            Ok(Err(error)) => tracing::debug!(%remote, %error, "MQTT TLS handshake failed"),
            Err(_) => tracing::debug!(%remote, "MQTT TLS handshake timed out"),
        }

        self.open_connections.fetch_sub(1, Ordering::Relaxed);
    }

    /// One vehicle's MQTT session on an authenticated connection.
    async fn session<S>(self: &Arc<Self>, stream: S, vin: Vin, remote: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (read_half, write_half) = tokio::io::split(stream);
        let mut reader = PacketReader::new(read_half);

        let connect = match tokio::time::timeout(CONNECT_TIMEOUT, reader.next()).await {
            Ok(Ok(Some(Packet::Connect(connect)))) => connect,
            _ => {
                tracing::debug!(%remote, vin = vin.as_str(), "no CONNECT: closing");
                return;
            }
        };

        let (outgoing, queue) = mpsc::channel(OUTGOING_QUEUE);
        let writer = tokio::spawn(write_packets(write_half, queue));

        if connect.client_id != vin.as_str() {
            tracing::warn!(
                %remote,
                vin = vin.as_str(),
                client_id = %connect.client_id,
                "refused: the MQTT client id must be the certificate's VIN"
            );
            let refusal = ConnAck::new(ConnectReturnCode::BadClientId, false);
            let _ = outgoing
                .send(Outgoing::Packet(Box::new(Packet::ConnAck(refusal))))
                .await;
            drop(outgoing);
            let _ = writer.await;
            return;
        }

        let generation = self.register(&vin, outgoing.clone());
        let accepted = ConnAck::new(ConnectReturnCode::Success, false);
        let _ = outgoing
            .send(Outgoing::Packet(Box::new(Packet::ConnAck(accepted))))
            .await;
        tracing::debug!(%remote, vin = vin.as_str(), "vehicle connected");

        let keep_alive = Duration::from_secs(u64::from(connect.keep_alive));
        let session = Session {
            endpoint: self.clone(),
            vin: vin.clone(),
            outgoing,
        };
        let ended = session.run(&mut reader, keep_alive).await;

        // The writer ends once every sender is gone: the session's and the registry's.
        drop(session);
        self.unregister(&vin, generation);
        let _ = writer.await;
        tracing::debug!(%remote, vin = vin.as_str(), reason = ended, "vehicle disconnected");
    }

    fn register(&self, vin: &Vin, link: mpsc::Sender<Outgoing>) -> u64 {
        let generation = self
            .connected
            .next_generation
            .fetch_add(1, Ordering::Relaxed);
        let previous = self
            .connected
            .links
            .lock()
            .insert(vin.clone(), (generation, link));
        if let Some((_, previous)) = previous {
            // MQTT: a new connection with the same client id takes over the session.
            let _ = previous.try_send(Outgoing::Close);
        }
        generation
    }

    fn unregister(&self, vin: &Vin, generation: u64) {
        let mut links = self.connected.links.lock();
        if links.get(vin).is_some_and(|(g, _)| *g == generation) {
            links.remove(vin);
        }
    }
}

/// The reading side of one vehicle's session.
struct Session {
    endpoint: Arc<Endpoint>,
    vin: Vin,
    outgoing: mpsc::Sender<Outgoing>,
}

impl Session {
    /// Handles packets until the vehicle leaves or breaks a rule; returns why it ended.
    async fn run<R>(&self, reader: &mut PacketReader<R>, keep_alive: Duration) -> &'static str
    where
        R: AsyncRead + Unpin,
    {
        // MQTT 3.1.1 §3.1.2.10: one and a half keep-alive periods without a packet.
        let silence = if keep_alive.is_zero() {
            Duration::from_secs(24 * 3600)
        } else {
            keep_alive + keep_alive / 2
        };

        loop {
            let packet = match tokio::time::timeout(silence, reader.next()).await {
                Err(_) => return "keep-alive expired",
                Ok(Err(_)) => return "malformed packet or connection error",
                Ok(Ok(None)) => return "connection closed",
                Ok(Ok(Some(packet))) => packet,
            };
            let step = match packet {
                Packet::Publish(publish) => self.publish(publish).await,
                Packet::Subscribe(subscribe) => {
                    let codes = subscribe
                        .filters
                        .iter()
                        .map(|filter| self.subscription(&filter.path))
                        .collect();
                    self.send(Packet::SubAck(SubAck::new(subscribe.pkid, codes)))
                        .await
                }
                Packet::Unsubscribe(unsubscribe) => {
                    let answer = UnsubAck::new(unsubscribe.pkid);
                    self.send(Packet::UnsubAck(answer)).await
                }
                Packet::PingReq => self.send(Packet::PingResp).await,
                Packet::PubAck(_) => Ok(()),
                Packet::Disconnect => return "vehicle disconnected",
                _ => Err("packet not allowed from a vehicle"),
            };
            if let Err(reason) = step {
                return reason;
            }
        }
    }

    fn subscription(&self, filter: &str) -> SubscribeReasonCode {
        if filter == command_topic(&self.vin) {
            SubscribeReasonCode::Success(QoS::AtLeastOnce)
        } else {
            tracing::warn!(vin = self.vin.as_str(), filter, "subscription refused");
            SubscribeReasonCode::Failure
        }
    }

    async fn send(&self, packet: Packet) -> Result<(), &'static str> {
        self.outgoing
            .send(Outgoing::Packet(Box::new(packet)))
            .await
            .map_err(|_| "connection closed")
    }

    async fn publish(&self, publish: Publish) -> Result<(), &'static str> {
        let Some((vin, channel)) = parse_uplink_topic(&publish.topic) else {
            self.refuse_topic(&publish.topic);
            return Err("published on a topic that is not a vehicle uplink topic");
        };
        if vin != self.vin {
            self.refuse_topic(&publish.topic);
            return Err("published on another vehicle's topic");
        }
        if publish.qos == QoS::ExactlyOnce {
            return Err("QoS 2 is not supported");
        }

        let received_at = OffsetDateTime::now_utc();
        let parsed = VehicleMessage::parse(&vin, channel, &publish.payload, received_at);
        let receipt = match parsed {
            Ok(message) => {
                let payload = String::from_utf8_lossy(&publish.payload).into_owned();
                let inbound = InboundMessage {
                    message,
                    payload,
                    received_at,
                };
                Some(self.endpoint.ingestor.submit(inbound).await)
            }
            Err(reason) => {
                self.endpoint.ingestor.stats().count_rejected();
                tracing::warn!(vin = vin.as_str(), channel = channel.as_str(), %reason,
                    "message refused");
                None
            }
        };

        if publish.qos == QoS::AtMostOnce {
            return Ok(());
        }
        let pkid = publish.pkid;
        let next = match receipt {
            // A refused message is acknowledged: sending it again would not make it valid,
            // and an unacknowledged one would hold the vehicle's next messages back.
            None => Outgoing::Packet(Box::new(Packet::PubAck(PubAck::new(pkid)))),
            Some(receipt) => Outgoing::AckWhenStored { pkid, receipt },
        };
        self.outgoing
            .send(next)
            .await
            .map_err(|_| "connection closed")
    }

    fn refuse_topic(&self, topic: &str) {
        self.endpoint.ingestor.stats().count_rejected();
        tracing::warn!(
            vin = self.vin.as_str(),
            topic,
            "publish refused: not its own topic"
        );
    }
}

/// Writes packets in order; an acknowledgement waits for its commit. Flushes when no
/// more is queued, so that a burst of PUBACKs leaves in few TLS records.
async fn write_packets<W>(write_half: W, mut queue: mpsc::Receiver<Outgoing>)
where
    W: AsyncWrite + Unpin,
{
    // Small buffers: a vehicle's outgoing traffic is a few bytes of PUBACK at a time, and
    // ten thousand connections multiply every byte reserved here.
    let mut writer = BufWriter::with_capacity(512, write_half);
    let mut buffer = BytesMut::with_capacity(64);

    while let Some(next) = queue.recv().await {
        let packet = match next {
            Outgoing::Packet(packet) => *packet,
            Outgoing::AckWhenStored { pkid, receipt } => match receipt.await {
                Ok(Ok(())) => Packet::PubAck(PubAck::new(pkid)),
                // Not stored: close without acknowledging, the vehicle will send it again.
                _ => break,
            },
            Outgoing::Close => break,
        };

        buffer.clear();
        if packet.write(&mut buffer, MAX_PACKET_BYTES).is_err() {
            break;
        }
        if writer.write_all(&buffer).await.is_err() {
            break;
        }
        if queue.is_empty() && writer.flush().await.is_err() {
            break;
        }
    }

    let _ = writer.flush().await;
    let _ = writer.shutdown().await;
}

/// Why no packet could be read.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    /// The bytes are not MQTT 3.1.1.
    #[error("malformed MQTT packet: {0}")]
    Codec(CodecError),
    /// The connection failed.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads whole MQTT packets from a byte stream.
struct PacketReader<R> {
    source: R,
    buffer: BytesMut,
}

impl<R: AsyncRead + Unpin> PacketReader<R> {
    fn new(source: R) -> Self {
        Self {
            source,
            buffer: BytesMut::with_capacity(READ_CHUNK),
        }
    }

    /// The next packet; `None` when the peer closed the connection cleanly.
    async fn next(&mut self) -> Result<Option<Packet>, ReadError> {
        loop {
            match Packet::read(&mut self.buffer, MAX_PACKET_BYTES) {
                Ok(packet) => return Ok(Some(packet)),
                Err(CodecError::InsufficientBytes(_)) => {}
                Err(error) => return Err(ReadError::Codec(error)),
            }

            self.buffer.reserve(READ_CHUNK);
            if self.source.read_buf(&mut self.buffer).await? == 0 {
                return Ok(None);
            }
        }
    }
}
