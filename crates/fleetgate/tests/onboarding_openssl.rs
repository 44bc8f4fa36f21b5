//! The onboarding guide followed with OpenSSL and curl, end to end: the guide's
//! CSRConfig.conf and `openssl req` with the answers typed at the prompts, the CSR submitted
//! over HTTPS, approved with `fleetgate csr approve`, the certificate downloaded, and the
//! guide's own curl command listing the partner's fleets. Every JSON body is checked against
//! the official schemas. Also: the guide's mistakes partners make most (Enter at the e-mail
//! prompt, the example CN copied) are refused with a message naming the field.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use support::http::WRITE_OUT;
use support::partner::non_empty;
use support::{read_text, require_tools, run_tool, schema, ClientAuth, Partner, Reply, Request};
use support::{Server, TestEnv};

/// The guide's configuration file, as partners copy and paste it.
const CSR_CONFIG: &str = "\
[ req ]
default_bits = 2048
distinguished_name = req_distinguished_name
[ req_distinguished_name ]
countryName = COUNTRY NAME (C) two letters ex: FR
stateOrProvinceName = STATE OR PROVINCE (S) ex: Kansas or Ile de France
localityName = LOCALITY NAME (L) ex: Paris
organizationName = ORGANIZATION NAME (O) ex: Free2Move
organizationalUnitName = ORGANIZATIONAL UNIT (OU) Press enter or Programs Partners
organizationalUnitName_default = Programs Partners
commonName = COMMON NAME (CN) ex: MZP128745
emailAddress = EMAIL ADDRESS will be used in order to download and renew your certificate
";

/// The pass phrase protecting KeyName.pem.
const PASS_PHRASE: &str = "quatre chevaux 4CV";

#[test]
fn a_partner_following_the_openssl_guide_gets_a_certificate_and_reads_its_fleets() {
    if !require_tools(&["openssl", "curl"]) {
        return;
    }
    let env = TestEnv::new();
    let partner = env.partner();
    let server = env.serve();
    let dir = env.work_dir("openssl-guide");

    // Step 2: key and CSR in one step, answers typed at the prompts, Enter at OU.
    let answers = format!(
        "FR\nIle de France\nParis\nFree2Move\n\n{}\n{}\n",
        partner.login, partner.email
    );
    make_guide_csr(&dir, &answers);
    let key = read_text(&dir.join("KeyName.pem"));
    assert!(
        key.contains("BEGIN ENCRYPTED PRIVATE KEY"),
        "the key is not protected"
    );

    // Step 3: the CSR goes to the platform instead of an e-mail.
    let submitted = submit_with_curl(&env, &server, &partner, &dir).expect_json(202);
    assert_eq!(submitted["status"], "pending", "{submitted}");
    let csr_id = non_empty(&submitted["id"], "id", &submitted);
    assert_eq!(
        submitted["caCertificate"],
        env.ca_certificate_pem().as_str()
    );
    assert_eq!(
        submitted["clientIds"],
        serde_json::json!([partner.client_id])
    );

    let pending = env.run_json(&["csr", "list", "--status", "pending", "--json"]);
    let listed = find_by_id(&pending, &csr_id);
    assert_eq!(listed["login"], partner.login.as_str(), "{listed}");
    assert_eq!(listed["status"], "pending", "{listed}");
    let subject = listed["subject"].as_str().expect("subject");
    assert!(
        subject.contains(&format!("CN={}", partner.login)),
        "{subject}"
    );
    assert!(subject.contains("OU=Programs Partners"), "{subject}");

    // Step 4: the operator approves; the partner downloads the certificate.
    let approved = env.run_json(&["csr", "approve", &csr_id, "--json"]);
    assert_eq!(approved["id"], csr_id.as_str(), "{approved}");
    assert_eq!(approved["status"], "issued", "{approved}");
    let serial = non_empty(&approved["serial"], "serial", &approved);

    let still_pending = env.run_json(&["csr", "list", "--status", "pending", "--json"]);
    assert!(
        !ids_of(&still_pending).contains(&csr_id),
        "an approved CSR is still listed as pending: {still_pending}"
    );
    let issued_list = env.run_json(&["csr", "list", "--status", "issued", "--json"]);
    assert_eq!(find_by_id(&issued_list, &csr_id)["status"], "issued");

    let issued = partner.csr_status(&server, &csr_id).expect_json(200);
    assert_eq!(issued["status"], "issued", "{issued}");
    assert_eq!(issued["clientIds"], serde_json::json!([partner.client_id]));
    let certificate = non_empty(&issued["certificate"], "certificate", &issued);
    let ca_certificate = non_empty(&issued["caCertificate"], "caCertificate", &issued);
    fs::write(dir.join("client_cert.pem"), &certificate).expect("write client_cert.pem");
    fs::write(dir.join("ca_cert.pem"), &ca_certificate).expect("write ca_cert.pem");
    check_certificate_with_openssl(&dir, &partner, &serial);

    let ca_download = Request::get(&server, "/onboarding/v1/ca.pem").send();
    assert_eq!(ca_download.status, 200);
    assert_eq!(ca_download.body, ca_certificate);

    let listed = env.run_json(&["cert", "list", "--json"]);
    let listed = listed
        .as_array()
        .and_then(|all| all.iter().find(|cert| cert["serial"] == serial.as_str()))
        .unwrap_or_else(|| panic!("cert list has no serial {serial}: {listed}"));
    assert_eq!(listed["login"], partner.login.as_str(), "{listed}");
    assert_eq!(listed["revoked"], false, "{listed}");

    // Step 5: the guide's curl command, unchanged but for the host.
    let fleets = guide_curl_command(&server, &partner, &dir);
    schema::assert_valid("Fleets", &fleets);
    let fleet_ids: Vec<_> = fleets["_embedded"]["fleets"]
        .as_array()
        .expect("_embedded.fleets")
        .iter()
        .map(|fleet| fleet["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(fleet_ids, [partner.fleet_id()]);
    assert_eq!(fleets["total"], 1);

    read_fleet_and_vehicles(&server, &partner, &dir);

    let key_body = key
        .lines()
        .nth(1)
        .expect("a base64 line in the key")
        .to_owned();
    let cert_body = certificate
        .lines()
        .nth(1)
        .expect("a base64 line")
        .to_owned();
    server.stop_and_check_log_is_free_of(&[&partner.password, PASS_PHRASE, &key_body, &cert_body]);
}

#[test]
fn pressing_enter_at_the_email_prompt_gets_the_csr_refused_naming_the_email() {
    if !require_tools(&["openssl", "curl"]) {
        return;
    }
    let env = TestEnv::new();
    let partner = env.partner();
    let server = env.serve();
    let dir = env.work_dir("no-email");

    let answers = format!(
        "FR\nIle de France\nParis\nFree2Move\n\n{}\n\n",
        partner.login
    );
    make_guide_csr(&dir, &answers);

    let reply = submit_with_curl(&env, &server, &partner, &dir);
    let message = reply.expect_error(400, 40010);
    assert!(message.contains("emailAddress"), "{message}");
    assert!(
        message.contains("EMAIL ADDRESS"),
        "no fix for openssl in: {message}"
    );
    let pending = env.run_json(&["csr", "list", "--status", "pending", "--json"]);
    assert_eq!(
        pending,
        serde_json::json!([]),
        "a refused CSR waits for approval"
    );
}

#[test]
fn copying_the_guides_example_common_name_gets_the_csr_refused_naming_cn_and_the_login() {
    if !require_tools(&["openssl", "curl"]) {
        return;
    }
    let env = TestEnv::new();
    let partner = env.partner();
    let server = env.serve();
    let dir = env.work_dir("example-cn");

    let answers = format!(
        "FR\nIle de France\nParis\nFree2Move\n\nMZP128745\n{}\n",
        partner.email
    );
    make_guide_csr(&dir, &answers);

    let message = submit_with_curl(&env, &server, &partner, &dir).expect_error(400, 40010);
    assert!(message.contains("CN"), "{message}");
    assert!(
        message.contains("MZP128745"),
        "the wrong value is not quoted: {message}"
    );
    assert!(
        message.contains(&partner.login),
        "the fix is not given: {message}"
    );
}

/// Writes CSRConfig.conf and runs the guide's `openssl req` with `answers` on stdin.
fn make_guide_csr(dir: &Path, answers: &str) {
    fs::write(dir.join("CSRConfig.conf"), CSR_CONFIG).expect("write CSRConfig.conf");
    let pass_out = format!("pass:{PASS_PHRASE}");
    let args = [
        "req",
        "-new",
        "-keyout",
        "KeyName.pem",
        "-out",
        "CSRName.csr",
        "-config",
        "CSRConfig.conf",
        "-passout",
        &pass_out,
    ];
    run_tool(dir, "openssl", &args, answers.as_bytes());
    assert!(dir.join("CSRName.csr").is_file(), "openssl wrote no CSR");
}

/// Submits CSRName.csr with curl, the way the README tells partners to.
fn submit_with_curl(env: &TestEnv, server: &Server, partner: &Partner, dir: &Path) -> Reply {
    let ca = env.ca_certificate_path();
    let credentials = format!("{}:{}", partner.login, partner.password);
    let resolve = format!("localhost:{}:127.0.0.1", server.port());
    let url = format!("{}/onboarding/v1/csr", server.origin());
    let args = [
        "--silent",
        "--show-error",
        "--cacert",
        ca.to_str().expect("UTF-8 path"),
        "-u",
        &credentials,
        "-H",
        "Content-Type: application/pkcs10",
        "--data-binary",
        "@CSRName.csr",
        "--resolve",
        &resolve,
        "--write-out",
        WRITE_OUT,
        &url,
    ];
    let output = run_tool(dir, "curl", &args, b"");
    Reply::parse(&String::from_utf8_lossy(&output.stdout))
}

/// The guide's request, word for word but for the host: `{version}` is v3.
fn guide_curl_command(server: &Server, partner: &Partner, dir: &Path) -> Value {
    let url = format!(
        "{}/connectedcar/v3/fleets?client_id={}",
        server.origin_by_ip(),
        partner.client_id
    );
    let cert = format!("client_cert.pem:{PASS_PHRASE}");
    let basic = STANDARD.encode(format!("{}:{}", partner.login, partner.password));
    let authorization = format!("Authorization: Basic {basic}");
    let args = [
        "--request",
        "GET",
        "--url",
        &url,
        "--cert",
        &cert,
        "--key",
        "KeyName.pem",
        "--cacert",
        "ca_cert.pem",
        "--header",
        &authorization,
        "--header",
        "Accept: application/hal+json",
    ];
    let output = run_tool(dir, "curl", &args, b"");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "the guide's curl command got no JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// `GET /fleets/{fid}` and `/fleets/{fid}/vehicles` with the guide's files.
fn read_fleet_and_vehicles(server: &Server, partner: &Partner, dir: &Path) {
    let client = ClientAuth::Pem {
        certificate: dir.join("client_cert.pem"),
        key: dir.join("KeyName.pem"),
        pass_phrase: Some(PASS_PHRASE.to_owned()),
    };
    let ca = dir.join("ca_cert.pem");
    let fid = partner.fleet_id();

    let reply = partner
        .call(server, &client, &format!("/fleets/{fid}"))
        .ca_certificate(&ca)
        .send();
    let fleet = reply.expect_json(200);
    assert_eq!(reply.content_type, "application/hal+json");
    schema::assert_valid("Fleet", &fleet);
    assert_eq!(fleet["id"], fid);
    let self_link = fleet["_links"]["self"]["href"].as_str().expect("self link");
    assert!(
        self_link.starts_with(&format!("{}/connectedcar/v3/fleets/{fid}", server.origin())),
        "{self_link}"
    );

    let reply = partner
        .call(server, &client, &format!("/fleets/{fid}/vehicles"))
        .ca_certificate(&ca)
        .send();
    let vehicles = reply.expect_json(200);
    schema::assert_valid("Vehicles", &vehicles);
    assert_eq!(vehicles["total"], partner.vins.len());
    let seen: BTreeSet<_> = vehicles["_embedded"]["vehicles"]
        .as_array()
        .expect("_embedded.vehicles")
        .iter()
        .map(|vehicle| vehicle["vin"].as_str().unwrap_or_default().to_owned())
        .collect();
    let expected: BTreeSet<_> = partner.vins.iter().cloned().collect();
    assert_eq!(seen, expected);
}

/// `openssl verify` against the downloaded CA, and the serial and subject as expected.
fn check_certificate_with_openssl(dir: &Path, partner: &Partner, serial: &str) {
    let verified = run_tool(
        dir,
        "openssl",
        &["verify", "-CAfile", "ca_cert.pem", "client_cert.pem"],
        b"",
    );
    let verified = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.trim().ends_with("OK"), "{verified}");

    let shown = run_tool(
        dir,
        "openssl",
        &[
            "x509",
            "-in",
            "client_cert.pem",
            "-noout",
            "-serial",
            "-subject",
        ],
        b"",
    );
    let shown = String::from_utf8_lossy(&shown.stdout).to_string();
    let openssl_serial = shown
        .lines()
        .find_map(|line| line.strip_prefix("serial="))
        .expect("openssl prints the serial");
    assert_eq!(
        openssl_serial.trim_start_matches('0').to_lowercase(),
        serial.trim_start_matches('0').to_lowercase()
    );
    assert!(shown.contains(&partner.login), "{shown}");
    assert!(shown.contains("Programs Partners"), "{shown}");
}

fn find_by_id<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .and_then(|all| all.iter().find(|item| item["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|item| item["id"].as_str().map(str::to_owned))
        .collect()
}
