//! The commands, one module each, and what they share: finding the data dir, opening the
//! store, loading the CA and assembling the certificate service.

mod admin;
mod certificates;
mod channel;
mod demo;
mod init;
mod mqtt;
mod serve;
mod simulate;
mod vehicles;

use std::path::PathBuf;

use anyhow::Context as _;
use fleetgate_api::onboarding::{CertificateService, IssuancePolicy};
use fleetgate_notify::Mailer;
use fleetgate_pki::CertificateAuthority;
use fleetgate_store::Store;

use crate::cli::{Cli, Command, MqttCommand};
use crate::config::{Config, DataDir};

/// Default data dir of every command but `demo`.
const DEFAULT_DATA_DIR: &str = "fleetgate-data";

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let context = Context::new(&cli)?;
    match cli.command {
        Command::Init(args) => init::run(&context, args).await,
        Command::Serve(args) => serve::run(&context, args).await,
        Command::Demo(args) => demo::run(cli.data_dir, args).await,
        Command::Partner(command) => admin::partner(&context, command).await,
        Command::App(command) => admin::app(&context, command).await,
        Command::Fleet(command) => admin::fleet(&context, command).await,
        Command::Vehicle(command) => admin::vehicle(&context, command).await,
        Command::Csr(command) => certificates::csr(&context, command).await,
        Command::Cert(command) => certificates::cert(&context, command).await,
        Command::Mqtt(MqttCommand::BrokerConfig(args)) => mqtt::broker_config(&context, args).await,
        Command::Simulate(args) => simulate::run(&context, args).await,
    }
}

/// What every command needs to find its data.
pub struct Context {
    data_dir: DataDir,
    database_url: Option<String>,
}

impl Context {
    fn new(cli: &Cli) -> anyhow::Result<Self> {
        let root = cli
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        Ok(Self {
            data_dir: DataDir::new(&root)?,
            database_url: cli.database_url.clone(),
        })
    }

    /// The configuration, with `--database-url` applied.
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = self.data_dir.load_config()?;
        if let Some(url) = &self.database_url {
            config.database_url = url.clone();
        }
        Ok(config)
    }

    /// The store of the configured database, migrated.
    async fn store(&self, config: &Config) -> anyhow::Result<Store> {
        Store::open(&config.database_url).await.with_context(|| {
            format!(
                "cannot open the database {}; check database_url in {} or --database-url",
                fleetgate_store::redact_url(&config.database_url),
                self.data_dir.config_file().display()
            )
        })
    }

    /// The partner CA from the data dir.
    fn certificate_authority(&self) -> anyhow::Result<CertificateAuthority> {
        let cert_path = self.data_dir.ca_certificate();
        let key_path = self.data_dir.ca_key();
        let certificate = std::fs::read_to_string(&cert_path)
            .with_context(|| format!("cannot read the CA certificate {}", cert_path.display()))?;
        let key = zeroize::Zeroizing::new(
            std::fs::read_to_string(&key_path)
                .with_context(|| format!("cannot read the CA key {}", key_path.display()))?,
        );
        CertificateAuthority::from_pem(&certificate, &key)
            .with_context(|| format!("invalid CA in {}", self.data_dir.root().display()))
    }

    /// The certificate service, as the server and the operator commands use it.
    fn certificate_service(
        &self,
        config: &Config,
        store: &Store,
    ) -> anyhow::Result<CertificateService> {
        let mailer = match &config.smtp {
            Some(settings) => Mailer::smtp(settings).context("invalid [smtp] configuration")?,
            None => Mailer::log_only(),
        };
        let policy = IssuancePolicy {
            auto_approve: config.certificates.auto_approve,
            validity_days: config.certificates.client_validity_days,
            public_url: config.public_url.clone(),
        };
        Ok(CertificateService::new(
            self.certificate_authority()?,
            store.clone(),
            mailer,
            policy,
        ))
    }
}
