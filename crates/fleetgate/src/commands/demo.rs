//! `fleetgate demo`: a populated platform in one command.
//!
//! In a fresh data dir (`./fleetgate-demo` by default) it creates the CA and server
//! certificate, a demo partner with an application and a fleet of vehicles, then makes the
//! partner's key and CSR and gets the certificate through the real onboarding path: the CSR
//! goes over HTTPS to `POST /onboarding/v1/csr`, the operator approves it, and the
//! certificate is downloaded from the link the partner receives. It then proves the
//! credentials with a mutual-TLS call and prints the onboarding guide's curl command,
//! filled in, before serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fleetgate_core::{ApiVersion, Login, Vin};
use fleetgate_store::{NewPartner, Store};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::serve::{shutdown_signal, Server};
use super::Context;
use crate::cli::{DemoArgs, ServeArgs};
use crate::config::{write_private, write_public, DataDir};

/// The demo's data dir when `--data-dir` is not given.
const DEFAULT_DEMO_DIR: &str = "fleetgate-demo";

/// A file that marks a data dir as the demo's own, so that a new demo may replace it.
const DEMO_MARKER: &str = ".fleetgate-demo";

/// The demo partner's login.
const DEMO_LOGIN: &str = "MZP123456";

/// The demo fleet: a mix of the group's makes.
/// Incidents per demo vehicle per simulated hour: often enough to see alerts soon.
const DEMO_INCIDENT_RATE: f64 = 0.3;

/// The seed of the demo's journeys.
const DEMO_SEED: u64 = 2026;

const DEMO_VINS: [&str; 8] = [
    "VF3MRHNSXKS000101",
    "VF3MRHNSXKS000102",
    "VF7RHRHPHLJ000201",
    "VF7RHRHPHLJ000202",
    "VR1JJEHZRKY000301",
    "VR3UHZKXZMT000401",
    "VXKUPHNSSL4000501",
    "W0VZRHNSXKS000601",
];

/// Runs `demo`.
pub async fn run(data_dir: Option<PathBuf>, args: DemoArgs) -> anyhow::Result<()> {
    let root = data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DEMO_DIR));
    prepare_directory(&root)?;
    let context = Context {
        data_dir: DataDir::new(&root)?,
        database_url: None,
    };

    println!(
        "Setting up the demo platform in {} ...",
        context.data_dir.root().display()
    );
    super::init::create(
        &context,
        &["localhost".into(), "127.0.0.1".into()],
        args.listen,
        false,
    )
    .await?;
    write_public(
        &context.data_dir.root().join(DEMO_MARKER),
        b"made by fleetgate demo\n",
    )?;

    let config = context.config()?;
    let store = context.store(&config).await?;
    let partner = populate(&store).await?;

    let serve_args = ServeArgs {
        listen: Some(args.listen),
        mqtt_listen: Some(args.mqtt_listen),
        mqtt_url: None,
    };
    let server = Server::bind(&context, &serve_args).await?;
    let address = server.address();
    let mqtt_port = server
        .mqtt_address()
        .map_or(args.mqtt_listen.port(), |a| a.port());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut server_stopped = stopped.clone();
    let serving = tokio::spawn(server.run(async move {
        let _ = server_stopped.wait_for(|stop| *stop).await;
    }));

    let files = onboard_partner(&context, &store, &partner, address.port()).await?;
    let fleets = call_api(&files, &partner, address.port()).await?;
    let vehicles = drive_first_hour(&context, &store, mqtt_port).await?;
    print_instructions(&files, &partner, address.port(), fleets);

    if args.no_serve {
        let _ = stop.send(true);
    } else {
        let settings = demo_simulation(&context, mqtt_port, None, 1.0)?;
        let mut sim_stopped = stopped.clone();
        let driving = tokio::spawn(fleetgate_sim::run(settings, vehicles, async move {
            let _ = sim_stopped.wait_for(|stop| *stop).await;
        }));
        println!(
            "\nServing on https://{address}, the demo vehicles driving in real time through \
             mqtts://127.0.0.1:{mqtt_port}.\nSee one with: fleetgate --data-dir {} vehicle show \
             {}\nPress Ctrl-C to stop.",
            context.data_dir.root().display(),
            DEMO_VINS[0]
        );
        shutdown_signal().await;
        let _ = stop.send(true);
        let _ = driving.await;
    }
    serving.await.context("the server task failed")?;
    Ok(())
}

/// Provisions the demo vehicles and drives them through the last simulated hour in a few
/// seconds, so that the platform has positions, statuses and trips from the start.
async fn drive_first_hour(
    context: &Context,
    store: &Store,
    mqtt_port: u16,
) -> anyhow::Result<Vec<fleetgate_sim::SimVehicle>> {
    let vins = DEMO_VINS
        .iter()
        .map(|v| Vin::parse(v))
        .collect::<Result<Vec<_>, _>>()?;
    let vehicles = super::simulate::load_vehicles(context, store, &vins, true).await?;

    println!("  driving the demo fleet through the last hour (8 s) ...");
    let settings = demo_simulation(context, mqtt_port, Some(Duration::from_secs(8)), 450.0)?;
    let report = fleetgate_sim::run(settings, vehicles.clone(), std::future::pending())
        .await
        .context("the demo vehicles could not drive")?;
    println!(
        "  {} vehicle messages sent, {} acknowledged, {} trips started",
        report.messages_sent, report.messages_acked, report.trips_started
    );
    Ok(vehicles)
}

/// The simulation of the demo fleet on the demo's own endpoint.
fn demo_simulation(
    context: &Context,
    mqtt_port: u16,
    duration: Option<Duration>,
    time_scale: f64,
) -> anyhow::Result<fleetgate_sim::SimConfig> {
    let ca = crate::device_pki::read(&context.data_dir.device_ca_certificate())?;
    let mut settings = fleetgate_sim::SimConfig::new("127.0.0.1", mqtt_port, ca);
    settings.duration = duration;
    settings.time_scale = time_scale;
    settings.incident_rate = DEMO_INCIDENT_RATE;
    settings.seed = DEMO_SEED;
    settings.show_progress = false;
    Ok(settings)
}

/// Makes sure `root` is a place the demo may use: absent, empty, or a previous demo's.
fn prepare_directory(root: &Path) -> anyhow::Result<()> {
    if !root.exists() {
        return Ok(());
    }
    if root.join(DEMO_MARKER).exists() {
        std::fs::remove_dir_all(root)
            .with_context(|| format!("cannot remove the previous demo in {}", root.display()))?;
        return Ok(());
    }
    let empty = std::fs::read_dir(root)
        .with_context(|| format!("cannot read {}", root.display()))?
        .next()
        .is_none();
    if !empty {
        bail!(
            "{} exists and was not made by `fleetgate demo`; choose another --data-dir",
            root.display()
        );
    }
    Ok(())
}

/// The demo partner's credentials and ids.
struct DemoPartner {
    login: Login,
    password: Zeroizing<String>,
    client_id: String,
    fleet_id: String,
}

async fn populate(store: &Store) -> anyhow::Result<DemoPartner> {
    let login = Login::parse(DEMO_LOGIN)?;
    let password = fleetgate_api::password::generate();
    let hash = fleetgate_api::password::hash(&password)?;
    let partner = store
        .create_partner(NewPartner {
            login: &login,
            email: "fleet-manager@demo-partner.example",
            organization: "Demo Partner",
            password_hash: &hash,
        })
        .await?;

    let versions = [ApiVersion::V3, ApiVersion::V2];
    let app = store
        .create_application(&partner.id, "demo application", &versions)
        .await?;
    let fleet = store
        .create_fleet(
            &partner.id,
            "Demo fleet",
            Some("Vehicles of the fleetgate demo"),
        )
        .await?;
    let vins = DEMO_VINS
        .iter()
        .map(|v| Vin::parse(v))
        .collect::<Result<Vec<_>, _>>()?;
    store.add_vehicles(&fleet.id, &vins).await?;
    println!(
        "  partner {login}, application {}, fleet {} with {} vehicles",
        app.client_id,
        fleet.id,
        vins.len()
    );

    Ok(DemoPartner {
        login,
        password,
        client_id: app.client_id.to_string(),
        fleet_id: fleet.id.to_string(),
    })
}

/// Where the partner's files are written.
struct PartnerFiles {
    key: PathBuf,
    certificate: PathBuf,
    ca: PathBuf,
}

#[derive(Deserialize)]
struct CsrAnswer {
    id: String,
    status: String,
    certificate: Option<String>,
}

/// Key and CSR made as the partner would, sent over HTTPS, approved, downloaded.
async fn onboard_partner(
    context: &Context,
    store: &Store,
    partner: &DemoPartner,
    port: u16,
) -> anyhow::Result<PartnerFiles> {
    let dir = context.data_dir.root().join("partner");
    let files = PartnerFiles {
        key: dir.join("key.pem"),
        certificate: dir.join("client_cert.pem"),
        ca: dir.join("ca_cert.pem"),
    };
    let ca_pem = std::fs::read_to_string(context.data_dir.ca_certificate())?;
    write_public(&files.ca, ca_pem.as_bytes())?;

    let (key_pem, csr_pem) = partner_key_and_csr(&partner.login)?;
    write_private(&files.key, key_pem.as_bytes())?;
    write_public(&dir.join("request.csr"), csr_pem.as_bytes())?;

    let client = https_client(&ca_pem, None)?;
    let base = format!("https://localhost:{port}/onboarding/v1");
    let submitted: CsrAnswer = client
        .post(format!("{base}/csr"))
        .basic_auth(partner.login.as_str(), Some(partner.password.as_str()))
        .header("Content-Type", "application/pkcs10")
        .body(csr_pem)
        .send()
        .await?
        .error_for_status()
        .context("the onboarding API refused the demo CSR")?
        .json()
        .await?;
    println!(
        "  CSR {} submitted over HTTPS: {}",
        submitted.id, submitted.status
    );

    let config = context.config()?;
    let issued = context
        .certificate_service(&config, store)?
        .approve(&submitted.id)
        .await?;
    println!(
        "  CSR approved by the operator: certificate {}",
        issued.serial_hex
    );

    let downloaded: CsrAnswer = client
        .get(format!("{base}/csr/{}", submitted.id))
        .basic_auth(partner.login.as_str(), Some(partner.password.as_str()))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let certificate = downloaded
        .certificate
        .context("the issued CSR has no certificate")?;
    write_public(&files.certificate, certificate.as_bytes())?;

    let credentials = json!({
        "login": partner.login, "password": partner.password.as_str(),
        "clientId": partner.client_id, "fleetId": partner.fleet_id,
    });
    write_private(
        &dir.join("credentials.json"),
        serde_json::to_string_pretty(&credentials)?.as_bytes(),
    )?;
    Ok(files)
}

/// An ECDSA P-256 key and a CSR with the subject the onboarding guide asks for.
fn partner_key_and_csr(login: &Login) -> anyhow::Result<(Zeroizing<String>, String)> {
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair};

    let key = KeyPair::generate().context("cannot generate the partner key")?;
    let mut params = CertificateParams::default();
    let name = &mut params.distinguished_name;
    name.push(
        DnType::CountryName,
        DnValue::PrintableString("FR".try_into()?),
    );
    name.push(DnType::StateOrProvinceName, "Ile de France");
    name.push(DnType::LocalityName, "Paris");
    name.push(DnType::OrganizationName, "Demo Partner");
    name.push(DnType::OrganizationalUnitName, "Programs Partners");
    name.push(DnType::CommonName, login.as_str());
    let email_oid = vec![1, 2, 840, 113549, 1, 9, 1];
    name.push(
        DnType::CustomDnType(email_oid),
        DnValue::Ia5String("fleet-manager@demo-partner.example".try_into()?),
    );

    let csr = params
        .serialize_request(&key)
        .context("cannot make the CSR")?;
    Ok((Zeroizing::new(key.serialize_pem()), csr.pem()?))
}

/// An HTTPS client trusting the platform CA, optionally with a client certificate.
fn https_client(ca_pem: &str, identity: Option<(&str, &str)>) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(certificate?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let tls = match identity {
        Some((certificate_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(certificate_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()?;
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()?)
}

/// One call through the gateway with the partner's credentials: how many fleets it sees.
async fn call_api(files: &PartnerFiles, partner: &DemoPartner, port: u16) -> anyhow::Result<u64> {
    let ca = std::fs::read_to_string(&files.ca)?;
    let certificate = std::fs::read_to_string(&files.certificate)?;
    let key = Zeroizing::new(std::fs::read_to_string(&files.key)?);
    let client = https_client(&ca, Some((&certificate, &key)))?;

    let url = format!(
        "https://localhost:{port}/connectedcar/v3/fleets?client_id={}",
        partner.client_id
    );
    let body: serde_json::Value = client
        .get(url)
        .basic_auth(partner.login.as_str(), Some(partner.password.as_str()))
        .header("Accept", "application/hal+json")
        .send()
        .await?
        .error_for_status()
        .context("the demo partner's first API call failed")?
        .json()
        .await?;
    Ok(body["total"].as_u64().unwrap_or(0))
}

fn print_instructions(files: &PartnerFiles, partner: &DemoPartner, port: u16, fleets: u64) {
    let basic = STANDARD.encode(format!("{}:{}", partner.login, partner.password.as_str()));
    println!("  first mutual-TLS call answered with {fleets} fleet(s)\n");
    println!(
        "Demo partner:  login {}  password {}",
        partner.login,
        partner.password.as_str()
    );
    println!("Client id:     {}", partner.client_id);
    println!("Fleet id:      {}", partner.fleet_id);
    println!("\nTry the onboarding guide's request (paste it in another terminal):\n");
    println!(
        "curl \\\n  --request GET \\\n  \
         --url 'https://localhost:{port}/connectedcar/v3/fleets?client_id={}' \\\n  \
         --cert '{}' \\\n  --key '{}' \\\n  --cacert '{}' \\\n  \
         --header 'Authorization: Basic {basic}' \\\n  --header 'Accept: application/hal+json'",
        partner.client_id,
        files.certificate.display(),
        files.key.display(),
        files.ca.display(),
    );
    println!(
        "\nThe fleet's vehicles: same command with the URL \
         'https://localhost:{port}/connectedcar/v3/fleets/{}/vehicles?client_id={}'",
        partner.fleet_id, partner.client_id
    );
}
