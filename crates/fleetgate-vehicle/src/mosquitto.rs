//! A Mosquitto configuration that enforces what the embedded endpoint enforces: device
//! certificates from the device CA, the VIN of the certificate as the MQTT identity, and a
//! topic ACL under which a vehicle publishes only on its own topics, while fleetgate nodes
//! (identified by their node certificate) read every vehicle's uplink and write commands.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use fleetgate_core::vehicle::message::TOPIC_PREFIX;

/// The CN of the certificate fleetgate nodes present to an external broker.
pub const NODE_IDENTITY: &str = "fleetgate-node";

/// Where the broker finds its TLS material and ACL.
pub struct BrokerFiles<'a> {
    /// The device CA certificate.
    pub device_ca: &'a Path,
    /// The broker's server certificate (signed by the device CA).
    pub certificate: &'a Path,
    /// Its key.
    pub key: &'a Path,
    /// The ACL file to write beside the configuration.
    pub acl: &'a Path,
}

/// The `mosquitto.conf` text of a TLS listener on `listen`.
pub fn configuration(listen: SocketAddr, files: &BrokerFiles<'_>) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "# Written by `fleetgate mqtt broker-config`.");
    let _ = writeln!(text, "per_listener_settings false");
    let _ = writeln!(text, "allow_anonymous false");
    let _ = writeln!(text, "persistence true");
    let _ = writeln!(text, "max_inflight_messages 100");
    let _ = writeln!(text, "max_queued_messages 100000");
    let _ = writeln!(text, "listener {} {}", listen.port(), listen.ip());
    let _ = writeln!(text, "cafile {}", files.device_ca.display());
    let _ = writeln!(text, "certfile {}", files.certificate.display());
    let _ = writeln!(text, "keyfile {}", files.key.display());
    let _ = writeln!(text, "require_certificate true");
    let _ = writeln!(text, "use_identity_as_username true");
    let _ = writeln!(text, "acl_file {}", files.acl.display());
    text
}

/// The ACL: nodes read every uplink and write commands; a vehicle (whose user name is the
/// VIN of its certificate) writes its uplinks and reads its commands, nothing else.
pub fn access_list() -> String {
    let mut text = String::new();
    let _ = writeln!(text, "# Written by `fleetgate mqtt broker-config`.");
    let _ = writeln!(text, "user {NODE_IDENTITY}");
    for channel in ["telemetry", "events", "acks"] {
        let _ = writeln!(text, "topic read {TOPIC_PREFIX}/+/{channel}");
    }
    let _ = writeln!(text, "topic write {TOPIC_PREFIX}/+/commands");
    let _ = writeln!(text);
    for channel in ["telemetry", "events", "acks"] {
        let _ = writeln!(text, "pattern write {TOPIC_PREFIX}/%u/{channel}");
    }
    let _ = writeln!(text, "pattern read {TOPIC_PREFIX}/%u/commands");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_requires_device_certificates() {
        let files = BrokerFiles {
            device_ca: Path::new("/d/ca.pem"),
            certificate: Path::new("/d/broker.pem"),
            key: Path::new("/d/broker-key.pem"),
            acl: Path::new("/d/acl"),
        };

        let text = configuration("127.0.0.1:8884".parse().unwrap(), &files);

        assert!(text.contains("listener 8884 127.0.0.1\n"), "{text}");
        assert!(text.contains("require_certificate true\n"));
        assert!(text.contains("use_identity_as_username true\n"));
        assert!(text.contains("allow_anonymous false\n"));
        assert!(text.contains("acl_file /d/acl\n"));
    }

    #[test]
    fn vehicles_write_only_their_own_topics() {
        let acl = access_list();

        assert!(acl.contains("pattern write fleetgate/v1/vehicles/%u/telemetry\n"));
        assert!(acl.contains("pattern read fleetgate/v1/vehicles/%u/commands\n"));
        assert!(!acl.contains("pattern write fleetgate/v1/vehicles/+"));
        assert!(acl.contains("user fleetgate-node\ntopic read fleetgate/v1/vehicles/+/telemetry"));
    }
}
