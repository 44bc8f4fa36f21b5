//! Partners made through the command line, and their client certificates obtained the way
//! a partner gets one: a CSR made with openssl, submitted over HTTPS, approved by the
//! operator, downloaded.

use std::fs;
use std::path::{Path, PathBuf};

use super::http::{ClientAuth, Reply, Request};
use super::{new_login, run_tool, vins, Server, TestEnv};

/// `openssl req` options for a new ECDSA P-256 key (fast to make, accepted by the policy).
pub const EC_P256: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

/// What to create for a partner.
#[derive(Debug, Clone)]
pub struct PartnerSpec {
    /// The API versions of its application (`v3`, `v2`).
    pub versions: Vec<&'static str>,
    /// How many fleets.
    pub fleets: usize,
    /// How many vehicles in its first fleet.
    pub vehicles: usize,
}

impl Default for PartnerSpec {
    fn default() -> Self {
        Self {
            versions: vec!["v3"],
            fleets: 1,
            vehicles: 3,
        }
    }
}

/// A partner with an application, fleets and vehicles.
#[derive(Debug, Clone)]
pub struct Partner {
    /// The MZP login.
    pub login: String,
    /// The password `partner create` generated.
    pub password: String,
    /// The partner's contact address, also put in its CSRs.
    pub email: String,
    /// The organization, also put in its CSRs.
    pub organization: String,
    /// The client id of its application.
    pub client_id: String,
    /// Its fleets, in creation order.
    pub fleet_ids: Vec<String>,
    /// The VINs of its first fleet.
    pub vins: Vec<String>,
}

/// A client certificate issued by the platform, with its key.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    /// The certificate, PEM file.
    pub certificate: PathBuf,
    /// The private key, PEM file, not encrypted.
    pub key: PathBuf,
    /// The serial number `csr approve` answered.
    pub serial: String,
    /// The id of the CSR request.
    pub csr_id: String,
}

impl ClientCertificate {
    /// This certificate and key for curl.
    pub fn auth(&self) -> ClientAuth {
        ClientAuth::pem(&self.certificate, &self.key)
    }
}

impl Partner {
    /// Creates the partner, its application, fleets and vehicles with the command line and
    /// checks each JSON answer.
    pub fn create(env: &TestEnv, spec: &PartnerSpec) -> Self {
        let login = new_login();
        let email = format!("it.{}@partner.example", login.to_lowercase());
        let organization = format!("Free2Move {login}");

        let created = env.run_json(&[
            "partner",
            "create",
            &login,
            "--email",
            &email,
            "--organization",
            &organization,
            "--json",
        ]);
        assert_eq!(
            created["login"],
            login.as_str(),
            "partner create: {created}"
        );
        let password = created["password"]
            .as_str()
            .filter(|password| !password.is_empty())
            .unwrap_or_else(|| panic!("partner create gave no password: {created}"))
            .to_owned();

        let mut app_args = vec!["app", "create", &login, "--name", "fleet dashboard"];
        for version in &spec.versions {
            app_args.extend(["--version", version]);
        }
        app_args.push("--json");
        let app = env.run_json(&app_args);
        let client_id = non_empty(&app["clientId"], "app create's clientId", &app);

        let fleet_ids: Vec<String> = (0..spec.fleets)
            .map(|index| {
                let name = format!("fleet {index} of {login}");
                let fleet = env.run_json(&["fleet", "create", &login, "--name", &name, "--json"]);
                non_empty(&fleet["id"], "fleet create's id", &fleet)
            })
            .collect();

        let vins = vins(spec.vehicles);
        if !vins.is_empty() {
            let mut args = vec!["vehicle", "add", &fleet_ids[0]];
            args.extend(vins.iter().map(String::as_str));
            args.push("--json");
            let added = env.run_json(&args);
            assert_eq!(added["added"], vins.len(), "vehicle add: {added}");
        }

        Self {
            login,
            password,
            email,
            organization,
            client_id,
            fleet_ids,
            vins,
        }
    }

    /// The first fleet.
    pub fn fleet_id(&self) -> &str {
        &self.fleet_ids[0]
    }

    /// A complete, valid subject for `openssl req -subj`.
    pub fn subject(&self) -> String {
        format!(
            "/C=FR/ST=Ile de France/L=Paris/O={}/OU=Programs Partners/CN={}/emailAddress={}",
            self.organization, self.login, self.email
        )
    }

    /// `POST /onboarding/v1/csr` of `csr` with this partner's credentials.
    pub fn submit_csr(&self, server: &Server, csr: &[u8]) -> Reply {
        Request::post(server, "/onboarding/v1/csr", csr)
            .basic(&self.login, &self.password)
            .header("Content-Type: application/pkcs10")
            .send()
    }

    /// `GET /onboarding/v1/csr/{id}` with this partner's credentials.
    pub fn csr_status(&self, server: &Server, id: &str) -> Reply {
        Request::get(server, &format!("/onboarding/v1/csr/{id}"))
            .basic(&self.login, &self.password)
            .send()
    }

    /// A gateway call with this partner's Basic credentials; `path` is below
    /// `/connectedcar/v3` and gets this partner's `client_id`.
    pub fn call(&self, server: &Server, client: &ClientAuth, path: &str) -> Request {
        let separator = if path.contains('?') { '&' } else { '?' };
        let path_and_query = format!(
            "/connectedcar/v3{path}{separator}client_id={}",
            self.client_id
        );
        Request::gateway(server, &path_and_query, client, &self.login, &self.password)
    }

    /// Gets a client certificate as a partner does: an openssl CSR (ECDSA P-256) submitted
    /// over HTTPS, `csr approve` by the operator, the certificate downloaded.
    pub fn enroll(&self, env: &TestEnv, server: &Server) -> ClientCertificate {
        let dir = env.work_dir(&format!("{}-{:08x}", self.login, rand::random::<u32>()));
        let csr = make_csr(&dir, "client", &self.subject(), EC_P256, &[]);

        let submitted = self.submit_csr(server, &csr).expect_json(202);
        assert_eq!(submitted["status"], "pending", "submitted: {submitted}");
        let csr_id = non_empty(&submitted["id"], "the CSR request id", &submitted);

        let approved = env.run_json(&["csr", "approve", &csr_id, "--json"]);
        assert_eq!(approved["status"], "issued", "csr approve: {approved}");
        let serial = non_empty(&approved["serial"], "csr approve's serial", &approved);

        let issued = self.csr_status(server, &csr_id).expect_json(200);
        assert_eq!(issued["status"], "issued", "CSR status: {issued}");
        let pem = issued["certificate"]
            .as_str()
            .filter(|pem| pem.contains("-----BEGIN CERTIFICATE-----"))
            .unwrap_or_else(|| panic!("no certificate PEM once issued: {issued}"));

        let certificate = dir.join("client.pem");
        fs::write(&certificate, pem).expect("write the client certificate");
        ClientCertificate {
            certificate,
            key: dir.join("client.key"),
            serial,
            csr_id,
        }
    }
}

/// Makes `{stem}.key` (unencrypted) and a CSR for `subject` with `openssl req` in `dir`;
/// `key_options` chooses the new key (e.g. [`EC_P256`] or `["-newkey", "rsa:1024"]`),
/// `extra` adds options (e.g. `-sha1`). Returns the CSR, PEM.
pub fn make_csr(
    dir: &Path,
    stem: &str,
    subject: &str,
    key_options: &[&str],
    extra: &[&str],
) -> Vec<u8> {
    let key = format!("{stem}.key");
    let csr = format!("{stem}.csr");
    let mut args = vec!["req", "-new", "-nodes", "-keyout", &key, "-out", &csr];
    args.extend(["-subj", subject]);
    args.extend(key_options);
    args.extend(extra);

    run_tool(dir, "openssl", &args, b"");
    fs::read(dir.join(&csr)).expect("read the CSR openssl wrote")
}

/// A string field that must be present and not empty.
pub fn non_empty(value: &serde_json::Value, what: &str, whole: &serde_json::Value) -> String {
    value
        .as_str()
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| panic!("{what} is missing or empty in {whole}"))
        .to_owned()
}
