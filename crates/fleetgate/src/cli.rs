//! The command line: every command and option, with the help texts `--help` prints.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// fleetgate: a self-hostable connected-fleet B2B API platform, compatible with the
/// Groupe PSA / Stellantis "Web API for fleet owner" v3.
///
/// Start with `fleetgate demo` for a populated platform, or `fleetgate init` then
/// `fleetgate serve` for your own.
#[derive(Debug, Parser)]
#[command(name = "fleetgate", version, propagate_version = true)]
pub struct Cli {
    /// Where the configuration, database, CA and server certificate live.
    #[arg(long, global = true, env = "FLEETGATE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database to use instead of the configured one: sqlite://PATH or postgres://...
    #[arg(
        long,
        global = true,
        env = "FLEETGATE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a data dir: configuration, database, partner CA and server certificate.
    Init(InitArgs),
    /// Run the server: onboarding API and mutual-TLS API gateway on one HTTPS port.
    Serve(ServeArgs),
    /// Bring up a populated demo platform in ./fleetgate-demo and serve it.
    Demo(DemoArgs),
    /// Manage partners (MZP logins).
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Manage applications (client ids).
    #[command(subcommand)]
    App(AppCommand),
    /// Manage fleets.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Manage the vehicles of fleets.
    #[command(subcommand)]
    Vehicle(VehicleCommand),
    /// Review certificate signing requests submitted by partners.
    #[command(subcommand)]
    Csr(CsrCommand),
    /// List and revoke issued client certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// The vehicle channel's MQTT side: configuration for an external broker.
    #[command(subcommand)]
    Mqtt(MqttCommand),
    /// Drive simulated vehicles of a fleet through the real vehicle channel.
    Simulate(SimulateArgs),
}

/// `fleetgate mqtt ...`.
#[derive(Debug, Subcommand)]
pub enum MqttCommand {
    /// Write a Mosquitto configuration (TLS with the device CA, VIN identities, per-vehicle
    /// topic ACL) and the broker's certificate, for `serve --mqtt-url`.
    BrokerConfig(BrokerConfigArgs),
}

/// `fleetgate mqtt broker-config`.
#[derive(Debug, Args)]
pub struct BrokerConfigArgs {
    /// The folder to write: mosquitto.conf, acl, broker.pem, broker-key.pem, device-ca.pem.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Address the broker listens on.
    #[arg(long, default_value = "0.0.0.0:8883", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Host name or IP address of the broker's certificate (repeat for several).
    #[arg(long = "host", value_name = "NAME", default_values = ["localhost", "127.0.0.1"])]
    pub hosts: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `fleetgate simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The fleet whose vehicles are simulated; missing vehicles are created in it.
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet: String,
    /// How many vehicles.
    #[arg(long, default_value_t = 10)]
    pub vehicles: u32,
    /// Seconds of simulated time between two messages of a driving vehicle.
    #[arg(long, default_value_t = 10.0, value_name = "S")]
    pub interval: f64,
    /// How long to run, wall clock (e.g. 90s, 10m, 2h); until Ctrl-C without it.
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// Run simulated time this many times faster than the wall clock.
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    pub time_scale: f64,
    /// Incidents (alerts, alarms, collisions, thefts) per vehicle per simulated hour.
    #[arg(long, default_value_t = 0.02, value_name = "R")]
    pub incident_rate: f64,
    /// Seed of the random choices: the same seed gives the same journeys.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The MQTT endpoint to connect to (default: the data dir's configuration).
    #[arg(long, value_name = "HOST:PORT")]
    pub broker: Option<String>,
    /// Benchmark mode: instead of journeys, every vehicle publishes this many telemetry
    /// samples per second of wall-clock time, stamped with the real time, day and night.
    #[arg(long, value_name = "R")]
    pub load_rate: Option<f64>,
    /// Instead of driving live, write the journeys of this last period (e.g. 6h, 2d)
    /// straight into the database through the ingestion pipeline, then stop.
    #[arg(long, value_name = "D", conflicts_with_all = ["load_rate", "duration", "broker"])]
    pub history: Option<String>,
    /// New vehicle connections opened per second (TLS handshakes are spread out).
    #[arg(long, default_value_t = 200.0, value_name = "N")]
    pub connect_rate: f64,
    /// No progress bar (for logs and scripts).
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Output format shared by the commands that create or list.
#[derive(Debug, Args, Clone, Copy)]
pub struct OutputArgs {
    /// Print one JSON document on stdout instead of text for people.
    #[arg(long)]
    pub json: bool,
}

/// `fleetgate init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Host name or IP address the server certificate is valid for (repeat for several).
    #[arg(long = "host", value_name = "NAME", default_values = ["localhost", "127.0.0.1"])]
    pub hosts: Vec<String>,

    /// The address `serve` listens on, written to the configuration.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,

    /// Sign CSRs that pass validation without waiting for an operator.
    #[arg(long)]
    pub auto_approve: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `fleetgate serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: the configuration's, 127.0.0.1:8443). Port 0 picks a
    /// free port; the log line says which.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Address of the embedded MQTT endpoint for vehicles (default: the configuration's,
    /// 127.0.0.1:8883). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub mqtt_listen: Option<SocketAddr>,

    /// Take vehicles' messages from this external broker instead of running the embedded
    /// endpoint: mqtt://HOST:PORT, or mqtts://HOST:PORT with the node certificate.
    #[arg(long, value_name = "URL")]
    pub mqtt_url: Option<String>,
}

/// `fleetgate demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Address of the embedded MQTT endpoint the demo vehicles connect to.
    #[arg(long, default_value = "127.0.0.1:8883", value_name = "ADDR")]
    pub mqtt_listen: SocketAddr,

    /// Set everything up, print the curl command, and exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// `fleetgate partner ...`.
#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Create a partner; without --password-stdin a strong password is generated and shown once.
    Create(PartnerCreateArgs),
    /// List partners.
    List(OutputArgs),
}

/// `fleetgate partner create`.
#[derive(Debug, Args)]
pub struct PartnerCreateArgs {
    /// The partner's login: MZP followed by digits, e.g. MZP123456.
    pub login: String,
    /// Contact e-mail address.
    #[arg(long)]
    pub email: String,
    /// Organization name.
    #[arg(long)]
    pub organization: String,
    /// Read the password from the first line of standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `fleetgate app ...`.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an application (client id) for a partner.
    Create(AppCreateArgs),
    /// List a partner's applications.
    List(LoginArgs),
    /// Set the rate limits of an application; a running server applies them within 2 s.
    Limits(AppLimitsArgs),
}

/// A connected service of a subscription; each grants a data scope.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ServiceArg {
    /// Connected fleet: every data.
    ConnectedFleet,
    /// Tele-maintenance: status, maintenance, telemetry, alerts; no position.
    Tmts,
    /// Usage-based insurance: trips, positions, collisions, telemetry; no alert.
    Ubi,
}

/// An API version to subscribe to.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum VersionArg {
    /// Delegation publique.
    V2,
    /// Connected fleet / TMTS / UBI.
    V3,
}

/// `fleetgate app create`. Its `--version` names API versions, so the program's own
/// version flag is left to the other commands.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct AppCreateArgs {
    /// The owning partner's login.
    pub login: String,
    /// A name for the application.
    #[arg(long)]
    pub name: String,
    /// API version it may call (repeat for both; default v3).
    #[arg(long = "version", value_enum)]
    pub versions: Vec<VersionArg>,
    /// Connected services of the subscription, which grant its data scope (comma-separated
    /// or repeated; default all three).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub services: Vec<ServiceArg>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The rate limits of an application.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Requests allowed in any 24 hours (sliding window).
    #[arg(long, default_value_t = 100_000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub daily_limit: u32,
    /// Requests allowed in one second.
    #[arg(long, default_value_t = 100, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub burst_limit: u32,
}

/// `fleetgate app limits`.
#[derive(Debug, Args)]
pub struct AppLimitsArgs {
    /// The application's client id.
    pub client_id: String,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A partner login and the output format.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The partner's login.
    pub login: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `fleetgate fleet ...`.
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Create a fleet owned by a partner.
    Create(FleetCreateArgs),
    /// List a partner's fleets.
    List(LoginArgs),
}

/// `fleetgate fleet create`.
#[derive(Debug, Args)]
pub struct FleetCreateArgs {
    /// The owning partner's login.
    pub login: String,
    /// The fleet's name.
    #[arg(long)]
    pub name: String,
    /// An optional description.
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `fleetgate vehicle ...`.
#[derive(Debug, Subcommand)]
pub enum VehicleCommand {
    /// Add vehicles (17-character VINs) to a fleet.
    Add(VehicleAddArgs),
    /// Issue a vehicle's device certificate and write its key, certificate, the device CA
    /// and the broker's address to a folder (default DATA_DIR/vehicles/VIN).
    Provision(VehicleProvisionArgs),
    /// Show what the platform derived from a vehicle's messages: last position, status,
    /// latest trips.
    Show(VehicleShowArgs),
}

/// `fleetgate vehicle provision`.
#[derive(Debug, Args)]
pub struct VehicleProvisionArgs {
    /// The vehicle's VIN; it must already be in a fleet.
    pub vin: String,
    /// The folder to write (it must not hold a provisioned vehicle yet).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `fleetgate vehicle show`.
#[derive(Debug, Args)]
pub struct VehicleShowArgs {
    /// The vehicle's VIN.
    pub vin: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `fleetgate vehicle add`.
#[derive(Debug, Args)]
pub struct VehicleAddArgs {
    /// The fleet id.
    pub fleet_id: String,
    /// VINs to add.
    #[arg(required = true)]
    pub vins: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A CSR status filter.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CsrStatusArg {
    /// Waiting for a decision.
    Pending,
    /// Signed.
    Issued,
    /// Refused.
    Rejected,
}

/// `fleetgate csr ...`.
#[derive(Debug, Subcommand)]
pub enum CsrCommand {
    /// List certificate signing requests.
    List {
        /// Only those with this status.
        #[arg(long, value_enum)]
        status: Option<CsrStatusArg>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Approve a pending CSR: sign it and notify the partner.
    Approve {
        /// The CSR request id.
        id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Reject a pending CSR with a reason the partner will read.
    Reject {
        /// The CSR request id.
        id: String,
        /// Why it is refused.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// `fleetgate cert ...`.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// List issued client certificates.
    List(OutputArgs),
    /// Revoke a certificate; a running server refuses it within seconds.
    Revoke {
        /// The certificate's serial number (hex, as `cert list` shows it).
        serial: String,
        /// Why it is revoked.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}
