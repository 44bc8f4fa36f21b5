//! `fleetgate mqtt broker-config`: a ready-to-run Mosquitto configuration for deployments
//! where vehicles connect to an external broker and several nodes share the load.

use std::net::SocketAddr;

use anyhow::bail;
use fleetgate_vehicle::mosquitto::{access_list, configuration, BrokerFiles};
use serde_json::json;

use super::Context;
use crate::cli::BrokerConfigArgs;
use crate::config::{write_private, write_public};
use crate::{device_pki, output};

/// Validity of the broker's certificate.
const BROKER_VALIDITY_DAYS: u32 = 825;

/// Runs `mqtt broker-config`.
pub async fn broker_config(context: &Context, args: BrokerConfigArgs) -> anyhow::Result<()> {
    let data_dir = &context.data_dir;
    context.config()?;
    let out = std::path::absolute(&args.out)?;
    if out.join("mosquitto.conf").exists() {
        bail!(
            "{} already holds a broker configuration; choose another --out",
            out.display()
        );
    }

    device_pki::ensure(data_dir, &args.hosts)?;
    let broker = device_pki::authority(data_dir)?
        .issue_server_credentials(&args.hosts, BROKER_VALIDITY_DAYS)?;

    let files = BrokerFiles {
        device_ca: &out.join("device-ca.pem"),
        certificate: &out.join("broker.pem"),
        key: &out.join("broker-key.pem"),
        acl: &out.join("acl"),
    };
    write_public(
        files.device_ca,
        device_pki::read(&data_dir.device_ca_certificate())?.as_bytes(),
    )?;
    write_public(files.certificate, broker.certificate_pem.as_bytes())?;
    write_private(files.key, broker.private_key_pem.as_bytes())?;
    write_public(files.acl, access_list().as_bytes())?;
    let config_path = out.join("mosquitto.conf");
    write_public(&config_path, configuration(args.listen, &files).as_bytes())?;

    let result = json!({
        "configuration": config_path.display().to_string(),
        "mqttUrl": mqtt_url(&args.hosts, args.listen),
    });
    output::print(args.output.json, &result, || {
        format!(
            "Wrote {}\nRun the broker:   mosquitto -c {}\nThen every node:  fleetgate serve \
             --mqtt-url {}",
            out.display(),
            config_path.display(),
            result["mqttUrl"].as_str().unwrap_or_default()
        )
    })
}

fn mqtt_url(hosts: &[String], listen: SocketAddr) -> String {
    let host = hosts.first().map(String::as_str).unwrap_or("localhost");
    format!("mqtts://{host}:{}", listen.port())
}
