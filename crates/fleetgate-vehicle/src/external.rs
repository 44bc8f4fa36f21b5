//! Ingestion through an external MQTT broker (Mosquitto, a broker cluster...): each
//! fleetgate node takes its share of the vehicles' messages with an MQTT 5 shared
//! subscription, and acknowledges each message to the broker only after its commit, so a
//! node that dies leaves its unacknowledged messages to be delivered again.

use std::sync::Arc;
use std::time::Duration;

use fleetgate_core::vehicle::message::{parse_uplink_topic, Channel, TOPIC_PREFIX};
use fleetgate_core::vehicle::VehicleMessage;
use fleetgate_store::InboundMessage;
use rumqttc::v5::mqttbytes::v5::{Packet, Publish};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use rumqttc::{TlsConfiguration, Transport};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::ingest::{Ingestor, Receipt};

/// The shared-subscription group every fleetgate node joins.
pub const SHARE_GROUP: &str = "fleetgate";

/// Where the broker is and how to reach it.
#[derive(Clone)]
pub struct BrokerSettings {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS with the node's client certificate (`mqtts://`), or plain TCP (`mqtt://`).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// This node's MQTT client id; unique per node, stable across restarts.
    pub client_id: String,
}

impl std::fmt::Debug for BrokerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// Why a broker URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mqtt_url '{url}' is not valid: {reason}")]
pub struct BrokerUrlError {
    /// The URL given.
    pub url: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Parses `mqtt://HOST[:PORT]` (plain, default port 1883) or `mqtts://HOST[:PORT]` (TLS,
/// default 8883) into host, port and whether TLS is used.
pub fn parse_broker_url(url: &str) -> Result<(String, u16, bool), BrokerUrlError> {
    let error = |reason| BrokerUrlError {
        url: url.to_owned(),
        reason,
    };
    let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("mqtt://") {
        (false, rest)
    } else {
        return Err(error("expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"));
    };

    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => {
            let port = port
                .parse()
                .map_err(|_| error("the port is not a number"))?;
            (host, port)
        }
        None => (rest, if tls { 8883 } else { 1883 }),
    };
    if host.is_empty() || host.contains('/') || host.contains('@') {
        return Err(error(
            "expected a host name or address, without path or credentials",
        ));
    }
    Ok((host.to_owned(), port, tls))
}

/// The shared subscriptions of a node.
pub fn shared_filters() -> Vec<String> {
    [Channel::Telemetry, Channel::Events, Channel::Acks]
        .iter()
        .map(|c| format!("$share/{SHARE_GROUP}/{TOPIC_PREFIX}/+/{}", c.as_str()))
        .collect()
}

/// Consumes the vehicles' messages from the broker until `shutdown` completes; reconnects
/// (with the same persistent session) whenever the connection drops.
pub async fn consume(
    settings: BrokerSettings,
    ingestor: Ingestor,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut options = MqttOptions::new(&settings.client_id, &settings.host, settings.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_start(false)
        .set_session_expiry_interval(Some(3 * 24 * 3600))
        .set_manual_acks(true)
        .set_max_packet_size(Some(96 * 1024));
    if let Some(tls) = &settings.tls {
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            tls.clone(),
        )));
    }

    let (client, mut events) = AsyncClient::new(options, 1024);
    let (acks, ack_queue) = mpsc::channel(4096);
    let acknowledger = tokio::spawn(acknowledge_in_order(client.clone(), ack_queue));
    tokio::pin!(shutdown);

    tracing::info!(broker = %format!("{}:{}", settings.host, settings.port),
        client_id = %settings.client_id, "consuming vehicle messages from the broker");
    loop {
        let event = tokio::select! {
            event = events.poll() => event,
            () = &mut shutdown => break,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => subscribe(&client).await,
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                if let Some(receipt) = accept(&ingestor, &publish).await {
                    if acks.send((publish, receipt)).await.is_err() {
                        break;
                    }
                } else if client.ack(&publish).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "broker connection lost; reconnecting in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    drop(acks);
    let _ = acknowledger.await;
    let _ = client.disconnect().await;
}

async fn subscribe(client: &AsyncClient) {
    for filter in shared_filters() {
        if let Err(error) = client.subscribe(filter.clone(), QoS::AtLeastOnce).await {
            tracing::error!(%error, filter, "cannot subscribe");
        }
    }
}

/// Validates a message from the broker and queues it; `None` when it is refused (it is
/// then acknowledged at once: sending it again would not make it valid).
async fn accept(ingestor: &Ingestor, publish: &Publish) -> Option<Receipt> {
    let topic = String::from_utf8_lossy(&publish.topic);
    let Some((vin, channel)) = parse_uplink_topic(&topic) else {
        ingestor.stats().count_rejected();
        tracing::warn!(topic = %topic, "message on an unexpected topic");
        return None;
    };

    let received_at = OffsetDateTime::now_utc();
    match VehicleMessage::parse(&vin, channel, &publish.payload, received_at) {
        Ok(message) => {
            let inbound = InboundMessage {
                message,
                payload: String::from_utf8_lossy(&publish.payload).into_owned(),
                received_at,
            };
            Some(ingestor.submit(inbound).await)
        }
        Err(reason) => {
            ingestor.stats().count_rejected();
            tracing::warn!(vin = vin.as_str(), channel = channel.as_str(), %reason,
                "message refused");
            None
        }
    }
}

/// Acknowledges messages to the broker in the order they came, each once committed. A
/// failed commit drops the connection, so that the broker delivers the unacknowledged
/// messages again when the node reconnects.
async fn acknowledge_in_order(client: AsyncClient, mut queue: mpsc::Receiver<(Publish, Receipt)>) {
    while let Some((publish, receipt)) = queue.recv().await {
        match receipt.await {
            Ok(Ok(())) => {
                if client.ack(&publish).await.is_err() {
                    return;
                }
            }
            _ => {
                tracing::error!("a message was not stored: reconnecting to have it again");
                let _ = client.disconnect().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_give_host_port_and_tls() {
        assert_eq!(
            parse_broker_url("mqtt://127.0.0.1:1883"),
            Ok(("127.0.0.1".into(), 1883, false))
        );
        assert_eq!(
            parse_broker_url("mqtts://broker.example.com"),
            Ok(("broker.example.com".into(), 8883, true))
        );
        assert_eq!(parse_broker_url("mqtt://b"), Ok(("b".into(), 1883, false)));
        for bad in ["http://b", "mqtt://", "mqtt://b:x", "mqtt://u:p@b:1"] {
            assert!(parse_broker_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nodes_share_every_uplink_topic() {
        assert_eq!(
            shared_filters(),
            [
                "$share/fleetgate/fleetgate/v1/vehicles/+/telemetry",
                "$share/fleetgate/fleetgate/v1/vehicles/+/events",
                "$share/fleetgate/fleetgate/v1/vehicles/+/acks",
            ]
        );
    }
}
