//! The device CA of the data dir and what it signs: the MQTT endpoint's certificate, the
//! node certificate for external brokers, and each vehicle's certificate.

use anyhow::Context as _;
use fleetgate_pki::CertificateAuthority;
use fleetgate_vehicle::mosquitto::NODE_IDENTITY;

use crate::config::{write_private, write_public, DataDir};

/// Validity of the device CA.
const DEVICE_CA_VALIDITY_DAYS: u32 = 3650;

/// Validity of the MQTT endpoint and node certificates.
const SERVICE_VALIDITY_DAYS: u32 = 825;

/// Validity of a vehicle's certificate.
pub const VEHICLE_VALIDITY_DAYS: u32 = 3650;

/// Creates the device CA, the endpoint's and the node's certificates where missing, so that a
/// data dir made by an older fleetgate gains them on its next start.
pub fn ensure(data_dir: &DataDir, hosts: &[String]) -> anyhow::Result<()> {
    if !data_dir.device_ca_key().exists() {
        let ca = CertificateAuthority::generate("fleetgate device CA", DEVICE_CA_VALIDITY_DAYS)
            .context("cannot generate the device CA")?;
        write_private(&data_dir.device_ca_key(), ca.private_key_pem().as_bytes())?;
        write_public(
            &data_dir.device_ca_certificate(),
            ca.certificate_pem().as_bytes(),
        )?;
        tracing::info!(path = %data_dir.device_ca_certificate().display(), "device CA created");
    }

    let ca = authority(data_dir)?;
    if !data_dir.mqtt_server_key().exists() {
        let server = ca
            .issue_server_credentials(hosts, SERVICE_VALIDITY_DAYS)
            .context("cannot issue the MQTT endpoint's certificate")?;
        write_private(
            &data_dir.mqtt_server_key(),
            server.private_key_pem.as_bytes(),
        )?;
        write_public(
            &data_dir.mqtt_server_certificate(),
            server.certificate_pem.as_bytes(),
        )?;
    }
    if !data_dir.mqtt_node_key().exists() {
        let node = ca
            .issue_node_credentials(NODE_IDENTITY, SERVICE_VALIDITY_DAYS)
            .context("cannot issue the node certificate")?;
        write_private(&data_dir.mqtt_node_key(), node.private_key_pem.as_bytes())?;
        write_public(
            &data_dir.mqtt_node_certificate(),
            node.certificate_pem.as_bytes(),
        )?;
    }
    Ok(())
}

/// The device CA of the data dir.
pub fn authority(data_dir: &DataDir) -> anyhow::Result<CertificateAuthority> {
    let certificate = read(&data_dir.device_ca_certificate())?;
    let key = zeroize::Zeroizing::new(read(&data_dir.device_ca_key())?);
    CertificateAuthority::from_pem(&certificate, &key)
        .with_context(|| format!("invalid device CA in {}", data_dir.root().display()))
}

/// Reads a text file, naming it in the error.
pub fn read(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}
