//! The onboarding guide followed with Java's keytool: the guide's `-dname` as printed (its
//! `OU=Programs Partner` typo and placeholder CN) is refused over HTTPS with a message
//! naming both fields; the corrected one is accepted, approved, and the certificate
//! imported back into the keystore, exported to PKCS#12 and used with curl on the API.

mod support;

use std::fs;
use std::path::Path;

use support::partner::non_empty;
use support::{require_tools, run_tool, schema, ClientAuth, TestEnv};

/// The keystore password, also the key password (PKCS#12 keystores have only one).
const STORE_PASS: &str = "changeit-4CV";

/// The guide's `-dname`, without the stray `<` before Paris.
const GUIDE_DNAME: &str =
    "CN=MZPXXXX,OU=Programs Partner,O=PatrnerName,L=Paris,C=FR,email=it@partner.com";

#[test]
fn the_keytool_guide_as_printed_is_refused_and_once_corrected_calls_the_api_with_pkcs12() {
    if !require_tools(&["keytool", "curl"]) {
        return;
    }
    let env = TestEnv::new();
    let partner = env.partner();
    let server = env.serve();

    // The guide's commands as printed: refused, naming OU and CN and how to fix them.
    let guide = env.work_dir("keytool-guide");
    let csr = keytool_csr(&guide, GUIDE_DNAME);
    let message = partner.submit_csr(&server, &csr).expect_error(400, 40010);
    for expected in ["OU", "CN", "Programs Partners", partner.login.as_str()] {
        assert!(
            message.contains(expected),
            "'{expected}' missing in: {message}"
        );
    }

    // Corrected: CN is the login, OU is Programs Partners.
    let dir = env.work_dir("keytool-corrected");
    let dname = format!(
        "CN={},OU=Programs Partners,O=PatrnerName,L=Paris,C=FR,email=it@partner.com",
        partner.login
    );
    let csr = keytool_csr(&dir, &dname);
    let submitted = partner.submit_csr(&server, &csr).expect_json(202);
    assert_eq!(submitted["status"], "pending", "{submitted}");
    let csr_id = non_empty(&submitted["id"], "id", &submitted);

    let approved = env.run_json(&["csr", "approve", &csr_id, "--json"]);
    assert_eq!(approved["status"], "issued", "{approved}");
    let issued = partner.csr_status(&server, &csr_id).expect_json(200);
    let certificate = non_empty(&issued["certificate"], "certificate", &issued);
    let ca_certificate = non_empty(&issued["caCertificate"], "caCertificate", &issued);
    fs::write(dir.join("client_cert.pem"), &certificate).expect("write client_cert.pem");
    fs::write(dir.join("ca_cert.pem"), &ca_certificate).expect("write ca_cert.pem");

    import_reply_and_export_pkcs12(&dir);

    let client = ClientAuth::Pkcs12 {
        file: dir.join("x.p12"),
        password: STORE_PASS.to_owned(),
    };
    let reply = partner
        .call(&server, &client, "/fleets")
        .ca_certificate(&dir.join("ca_cert.pem"))
        .send();
    let fleets = reply.expect_json(200);
    schema::assert_valid("Fleets", &fleets);
    assert_eq!(fleets["_embedded"]["fleets"][0]["id"], partner.fleet_id());
    assert_eq!(fleets["total"], 1);

    server.stop_and_check_log_is_free_of(&[&partner.password, STORE_PASS]);
}

/// Runs the guide's two keytool commands in `dir` with `dname`; returns CSRName.csr.
fn keytool_csr(dir: &Path, dname: &str) -> Vec<u8> {
    let store = ["-storepass", STORE_PASS, "-keypass", STORE_PASS];
    let mut genkey = vec![
        "-genkey",
        "-alias",
        "KeyName",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-dname",
        dname,
        "-keystore",
        "KeyStoreName.jks",
    ];
    genkey.extend(store);
    run_tool(dir, "keytool", &genkey, b"");

    // The guide spells the alias "Keyname" here; keytool aliases ignore case.
    let certreq = [
        "-certreq",
        "-alias",
        "Keyname",
        "-keystore",
        "KeyStoreName.jks",
        "-file",
        "CSRName.csr",
        "-storepass",
        STORE_PASS,
    ];
    run_tool(dir, "keytool", &certreq, b"");

    let csr = fs::read(dir.join("CSRName.csr")).expect("keytool wrote CSRName.csr");
    assert!(
        String::from_utf8_lossy(&csr).contains("BEGIN NEW CERTIFICATE REQUEST"),
        "keytool's usual PEM label expected"
    );
    csr
}

/// Imports the CA then the signed certificate into the keystore, and exports it as x.p12.
fn import_reply_and_export_pkcs12(dir: &Path) {
    let import_ca = [
        "-importcert",
        "-trustcacerts",
        "-noprompt",
        "-alias",
        "fleetgate-ca",
        "-file",
        "ca_cert.pem",
        "-keystore",
        "KeyStoreName.jks",
        "-storepass",
        STORE_PASS,
    ];
    run_tool(dir, "keytool", &import_ca, b"");

    let import_reply = [
        "-importcert",
        "-noprompt",
        "-alias",
        "KeyName",
        "-file",
        "client_cert.pem",
        "-keystore",
        "KeyStoreName.jks",
        "-storepass",
        STORE_PASS,
        "-keypass",
        STORE_PASS,
    ];
    let imported = run_tool(dir, "keytool", &import_reply, b"");
    let said = String::from_utf8_lossy(&imported.stdout).to_lowercase()
        + &String::from_utf8_lossy(&imported.stderr).to_lowercase();
    assert!(
        said.contains("installed"),
        "keytool did not install the reply: {said}"
    );

    let export = [
        "-importkeystore",
        "-noprompt",
        "-srckeystore",
        "KeyStoreName.jks",
        "-srcstorepass",
        STORE_PASS,
        "-destkeystore",
        "x.p12",
        "-deststoretype",
        "PKCS12",
        "-deststorepass",
        STORE_PASS,
    ];
    run_tool(dir, "keytool", &export, b"");
    assert!(dir.join("x.p12").is_file(), "keytool wrote no x.p12");
}
