//! The data dir and its configuration file.
//!
//! ```text
//! DATA_DIR/
//!   fleetgate.toml          configuration (this module)
//!   fleetgate.db            the SQLite database, unless database_url says otherwise
//!   ca/partner-ca.pem       the partner CA certificate, given to partners
//!   ca/partner-ca-key.pem   its private key (mode 0600)
//!   tls/server.pem          the HTTPS server certificate, signed by the partner CA
//!   tls/server-key.pem      its private key (mode 0600)
//!   ca/device-ca.pem        the device CA: signs the vehicles' certificates
//!   ca/device-ca-key.pem    its private key (mode 0600)
//!   tls/mqtt-server.pem     the MQTT endpoint's certificate, signed by the device CA
//!   tls/mqtt-server-key.pem its private key (mode 0600)
//!   tls/mqtt-node.pem       the node's client certificate for an external broker
//!   tls/mqtt-node-key.pem   its private key (mode 0600)
//!   vehicles/VIN/           what `vehicle provision` writes for each vehicle
//! ```

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use fleetgate_notify::SmtpSettings;
use serde::{Deserialize, Serialize};

/// The configuration file's name in the data dir.
pub const CONFIG_FILE: &str = "fleetgate.toml";

/// Default validity of issued client certificates.
pub const DEFAULT_CLIENT_VALIDITY_DAYS: u32 = 365;

/// The paths of a data dir.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data dir at `root` (made absolute).
    pub fn new(root: &Path) -> anyhow::Result<Self> {
        let root = std::path::absolute(root)
            .with_context(|| format!("cannot resolve the data dir {}", root.display()))?;
        Ok(Self { root })
    }

    /// The data dir itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The configuration file.
    pub fn config_file(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// The partner CA certificate.
    pub fn ca_certificate(&self) -> PathBuf {
        self.root.join("ca/partner-ca.pem")
    }

    /// The partner CA private key.
    pub fn ca_key(&self) -> PathBuf {
        self.root.join("ca/partner-ca-key.pem")
    }

    /// The server certificate.
    pub fn server_certificate(&self) -> PathBuf {
        self.root.join("tls/server.pem")
    }

    /// The server private key.
    pub fn server_key(&self) -> PathBuf {
        self.root.join("tls/server-key.pem")
    }

    /// The device CA certificate.
    pub fn device_ca_certificate(&self) -> PathBuf {
        self.root.join("ca/device-ca.pem")
    }

    /// The device CA private key.
    pub fn device_ca_key(&self) -> PathBuf {
        self.root.join("ca/device-ca-key.pem")
    }

    /// The MQTT endpoint's certificate.
    pub fn mqtt_server_certificate(&self) -> PathBuf {
        self.root.join("tls/mqtt-server.pem")
    }

    /// The MQTT endpoint's private key.
    pub fn mqtt_server_key(&self) -> PathBuf {
        self.root.join("tls/mqtt-server-key.pem")
    }

    /// The node's client certificate for an external broker.
    pub fn mqtt_node_certificate(&self) -> PathBuf {
        self.root.join("tls/mqtt-node.pem")
    }

    /// The node's private key for an external broker.
    pub fn mqtt_node_key(&self) -> PathBuf {
        self.root.join("tls/mqtt-node-key.pem")
    }

    /// Where `vehicle provision` writes a vehicle's files by default.
    pub fn vehicle_dir(&self, vin: &str) -> PathBuf {
        self.root.join("vehicles").join(vin)
    }

    /// The default SQLite database URL.
    pub fn default_database_url(&self) -> String {
        format!("sqlite://{}", self.root.join("fleetgate.db").display())
    }

    /// Reads the configuration, with a message that says what to do when there is none.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        let path = self.config_file();
        let text = fs::read_to_string(&path).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => anyhow::anyhow!(
                "no configuration at {}: run `fleetgate init` first, or pass --data-dir",
                path.display()
            ),
            _ => anyhow::Error::new(error).context(format!("cannot read {}", path.display())),
        })?;

        let config: Config = toml::from_str(&text)
            .with_context(|| format!("invalid configuration in {}", path.display()))?;
        config
            .validate()
            .with_context(|| format!("invalid configuration in {}", path.display()))?;
        Ok(config)
    }
}

/// The contents of `fleetgate.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the server listens on.
    pub listen: SocketAddr,
    /// The URL partners reach the server at, used in e-mails and links.
    pub public_url: String,
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// Certificate issuing.
    #[serde(default)]
    pub certificates: CertificateSettings,
    /// The vehicle channel.
    #[serde(default)]
    pub vehicles: VehicleSettings,
    /// Outgoing e-mail; without it, e-mails are only logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSettings>,
}

/// Default address of the embedded MQTT endpoint.
pub const DEFAULT_MQTT_LISTEN: &str = "127.0.0.1:8883";

/// Default retention of vehicle data, in days (two months, as the reference keeps).
pub const DEFAULT_RETENTION_DAYS: u32 = 61;

/// `[vehicles]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleSettings {
    /// Address of the embedded MQTT endpoint (unless `mqtt_url` names an external broker).
    #[serde(default = "default_mqtt_listen")]
    pub mqtt_listen: SocketAddr,
    /// An external broker, `mqtt://HOST:PORT` or `mqtts://HOST:PORT`; the embedded endpoint
    /// is then not started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt_url: Option<String>,
    /// The host name vehicles connect to (written by `vehicle provision`).
    #[serde(default = "default_mqtt_host")]
    pub mqtt_public_host: String,
    /// Vehicle data older than this is deleted, in days.
    #[serde(default = "default_retention")]
    pub retention_days: u32,
}

fn default_mqtt_listen() -> SocketAddr {
    DEFAULT_MQTT_LISTEN
        .parse()
        .unwrap_or_else(|_| ([127, 0, 0, 1], 8883).into())
}

fn default_mqtt_host() -> String {
    "localhost".into()
}

fn default_retention() -> u32 {
    DEFAULT_RETENTION_DAYS
}

impl Default for VehicleSettings {
    fn default() -> Self {
        Self {
            mqtt_listen: default_mqtt_listen(),
            mqtt_url: None,
            mqtt_public_host: default_mqtt_host(),
            retention_days: DEFAULT_RETENTION_DAYS,
        }
    }
}

/// `[certificates]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSettings {
    /// Sign CSRs that pass validation at once.
    #[serde(default)]
    pub auto_approve: bool,
    /// Validity of issued client certificates, in days.
    #[serde(default = "default_validity")]
    pub client_validity_days: u32,
}

fn default_validity() -> u32 {
    DEFAULT_CLIENT_VALIDITY_DAYS
}

impl Default for CertificateSettings {
    fn default() -> Self {
        Self {
            auto_approve: false,
            client_validity_days: DEFAULT_CLIENT_VALIDITY_DAYS,
        }
    }
}

impl Config {
    /// Checks what serde cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !self.public_url.starts_with("https://") {
            bail!(
                "public_url must start with https://, found '{}'",
                self.public_url
            );
        }
        let days = self.certificates.client_validity_days;
        if !(1..=3650).contains(&days) {
            bail!("certificates.client_validity_days must be from 1 to 3650, found {days}");
        }
        let retention = self.vehicles.retention_days;
        if !(1..=3650).contains(&retention) {
            bail!("vehicles.retention_days must be from 1 to 3650, found {retention}");
        }
        if let Some(url) = &self.vehicles.mqtt_url {
            fleetgate_vehicle::external::parse_broker_url(url)
                .map_err(|e| anyhow::anyhow!("vehicles.{e}"))?;
        }
        let url = &self.database_url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            bail!(
                "database_url must be sqlite://PATH or postgres://..., found '{}'",
                fleetgate_store::redact_url(url)
            );
        }
        Ok(())
    }

    /// Writes the configuration, readable by its owner only (it may hold an SMTP password).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = String::from(
            "# fleetgate configuration. See the README's \"Configuration\" section.\n",
        );
        text.push_str(&toml::to_string_pretty(self).context("cannot serialise the configuration")?);
        text.push_str(
            "\n# To send e-mails, add:\n# [smtp]\n# host = \"smtp.example.com\"\n# port = 587\n\
             # security = \"starttls\"   # none | starttls | tls\n\
             # from = \"fleetgate <noreply@example.com>\"\n\
             # username = \"...\"\n# password = \"...\"\n",
        );
        write_private(path, text.as_bytes())
    }
}

/// Writes a file with mode 0600, failing if it already exists.
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a public file (certificates), failing if it already exists.
pub fn write_public(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            listen: "127.0.0.1:8443".parse().unwrap(),
            public_url: "https://localhost:8443".into(),
            database_url: "sqlite:///tmp/x.db".into(),
            certificates: CertificateSettings::default(),
            vehicles: VehicleSettings::default(),
            smtp: None,
        }
    }

    #[test]
    fn saved_configuration_loads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = DataDir::new(dir.path()).unwrap();
        config().save(&data_dir.config_file()).unwrap();

        let loaded = data_dir.load_config().unwrap();
        assert_eq!(loaded.public_url, "https://localhost:8443");
        let mode = fs::metadata(data_dir.config_file()).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }

    #[test]
    fn invalid_values_are_reported_by_name() {
        let mut bad = config();
        bad.public_url = "http://x".into();
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("public_url"));

        let mut bad = config();
        bad.certificates.client_validity_days = 0;
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("client_validity_days"));

        let mut bad = config();
        bad.database_url = "mysql://x".into();
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("database_url"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = "listen = \"127.0.0.1:1\"\npublic_url = \"https://a\"\n\
                    database_url = \"sqlite://x\"\nlisen = 1\n";
        assert!(toml::from_str::<Config>(text).is_err());
    }
}
