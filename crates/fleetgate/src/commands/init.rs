//! `fleetgate init`: a new data dir with its configuration, database, partner CA and server
//! certificate.

use std::net::SocketAddr;

use anyhow::{bail, Context as _};
use fleetgate_pki::CertificateAuthority;
use serde::Serialize;

use super::Context;
use crate::cli::InitArgs;
use crate::config::{
    write_private, write_public, CertificateSettings, Config, VehicleSettings,
    DEFAULT_CLIENT_VALIDITY_DAYS,
};
use crate::output;

/// Validity of the partner CA.
const CA_VALIDITY_DAYS: u32 = 3650;

/// Validity of the server certificate.
const SERVER_VALIDITY_DAYS: u32 = 825;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Initialized {
    data_dir: String,
    ca_certificate: String,
}

/// Runs `init`.
pub async fn run(context: &Context, args: InitArgs) -> anyhow::Result<()> {
    create(context, &args.hosts, args.listen, args.auto_approve).await?;

    let data_dir = &context.data_dir;
    let result = Initialized {
        data_dir: data_dir.root().display().to_string(),
        ca_certificate: data_dir.ca_certificate().display().to_string(),
    };
    output::print(args.output.json, &result, || {
        format!(
            "Initialised {}\n  partner CA certificate: {}\n  server certificate for: {}\n\
             Next: fleetgate --data-dir {} serve",
            result.data_dir,
            result.ca_certificate,
            args.hosts.join(", "),
            result.data_dir
        )
    })
}

/// Creates the data dir: configuration, database schema, partner CA, server certificate.
pub async fn create(
    context: &Context,
    hosts: &[String],
    listen: SocketAddr,
    auto_approve: bool,
) -> anyhow::Result<()> {
    let data_dir = &context.data_dir;
    if data_dir.ca_key().exists() || data_dir.config_file().exists() {
        bail!(
            "{} already holds a fleetgate setup (CA and configuration); refusing to overwrite \
             it. Use another --data-dir, or delete that directory to start over",
            data_dir.root().display()
        );
    }

    let config = Config {
        listen,
        public_url: public_url(hosts, listen.port()),
        database_url: context
            .database_url
            .clone()
            .unwrap_or_else(|| data_dir.default_database_url()),
        certificates: CertificateSettings {
            auto_approve,
            client_validity_days: DEFAULT_CLIENT_VALIDITY_DAYS,
        },
        vehicles: VehicleSettings {
            mqtt_public_host: hosts.first().cloned().unwrap_or_else(|| "localhost".into()),
            ..VehicleSettings::default()
        },
        smtp: None,
    };
    config.validate()?;
    std::fs::create_dir_all(data_dir.root())
        .with_context(|| format!("cannot create {}", data_dir.root().display()))?;

    // The database first: if it is unreachable, nothing is left half-written.
    let store = context.store(&config).await?;
    store.close().await;

    let ca = CertificateAuthority::generate("fleetgate partner CA", CA_VALIDITY_DAYS)
        .context("cannot generate the partner CA")?;
    write_private(&data_dir.ca_key(), ca.private_key_pem().as_bytes())?;
    write_public(&data_dir.ca_certificate(), ca.certificate_pem().as_bytes())?;

    let server = ca
        .issue_server_credentials(hosts, SERVER_VALIDITY_DAYS)
        .context("cannot issue the server certificate")?;
    write_private(&data_dir.server_key(), server.private_key_pem.as_bytes())?;
    write_public(
        &data_dir.server_certificate(),
        server.certificate_pem.as_bytes(),
    )?;

    crate::device_pki::ensure(data_dir, hosts)?;

    config.save(&data_dir.config_file())?;
    tracing::info!(data_dir = %data_dir.root().display(), "data dir initialised");
    Ok(())
}

/// The public URL on the first host name given.
fn public_url(hosts: &[String], port: u16) -> String {
    let host = hosts.first().map(String::as_str).unwrap_or("localhost");
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!("https://{host}:{port}")
}
