//! Every way the gateway and the onboarding API say no: each refusal is checked for its HTTP
//! status and its error code, in the reference's error body `{code, uuid, message,
//! timestamp}` valid against the spec's `xError`. Covers the mutual-TLS chain (no, foreign,
//! expired, unknown, revoked certificate), Basic credentials, client ids and subscriptions,
//! other partners' data, paging parameters and tokens, unserved paths, and CSRs that each
//! break one rule of the policy. Each test ends by checking that the server's log holds no
//! password, private key or certificate.

mod support;

use std::thread::sleep;
use std::time::{Duration, Instant};

use fleetgate_core::Login;
use fleetgate_pki::{validate_csr, CertificateAuthority, CsrField};
use serde_json::Value;
use support::partner::{make_csr, EC_P256};
use support::{read_text, require_tools, run_tool, ClientAuth, ClientCertificate, Partner};
use support::{PartnerSpec, Reply, Request, Server, TestEnv};
use time::{Duration as TimeDuration, OffsetDateTime};

/// A running platform with partner A enrolled; partner B is added by the tests that need it.
struct Gateway {
    /// Dropped first, so that the database outlives the server.
    server: Server,
    a: Partner,
    a_cert: ClientCertificate,
    others: Vec<Partner>,
    env: TestEnv,
}

impl Gateway {
    /// A platform whose partner A has its certificate, or `None` when a tool is missing.
    fn start() -> Option<Self> {
        Self::start_with(&PartnerSpec::default())
    }

    fn start_with(a_spec: &PartnerSpec) -> Option<Self> {
        if !require_tools(&["openssl", "curl"]) {
            return None;
        }
        let env = TestEnv::new();
        let a = env.partner_with(a_spec);
        let server = env.serve();
        let a_cert = a.enroll(&env, &server);
        Some(Self {
            server,
            a,
            a_cert,
            others: Vec::new(),
            env,
        })
    }

    /// Another partner, remembered for the log check.
    fn other_partner(&mut self, spec: &PartnerSpec) -> Partner {
        let partner = self.env.partner_with(spec);
        self.others.push(partner.clone());
        partner
    }

    /// Partner A calls `path` (below `/connectedcar/v3`) with its own certificate.
    fn a_calls(&self, path: &str) -> Reply {
        self.a.call(&self.server, &self.a_cert.auth(), path).send()
    }

    /// A gateway request of `path_and_query` with A's certificate and Basic credentials.
    fn a_request(&self, path_and_query: &str) -> Request {
        Request::gateway(
            &self.server,
            path_and_query,
            &self.a_cert.auth(),
            &self.a.login,
            &self.a.password,
        )
    }

    /// Stops the server and checks its log for every partner's password and the usual PEMs.
    fn finish(self) {
        let mut secrets = vec![self.a.password.as_str()];
        secrets.extend(self.others.iter().map(|other| other.password.as_str()));
        let key_body = read_text(&self.a_cert.key);
        let key_line = key_body.lines().nth(1).unwrap_or_default().to_owned();
        secrets.push(&key_line);
        self.server.stop_and_check_log_is_free_of(&secrets);
    }
}

// === Mutual TLS ===

#[test]
fn a_call_without_a_client_certificate_is_refused_with_40101() {
    let Some(gateway) = Gateway::start() else {
        return;
    };
    let path = format!("/connectedcar/v3/fleets?client_id={}", gateway.a.client_id);

    let reply = Request::get(&gateway.server, &path)
        .basic(&gateway.a.login, &gateway.a.password)
        .header("Accept: application/hal+json")
        .send();

    let message = reply.expect_error(401, 40101);
    assert!(
        message.to_lowercase().contains("client certificate"),
        "the message should say a client certificate is required: {message}"
    );
    gateway.finish();
}

#[test]
fn a_certificate_from_another_ca_fails_the_handshake_or_is_refused_with_401() {
    let Some(gateway) = Gateway::start() else {
        return;
    };
    let dir = gateway.env.work_dir("rogue-ca");
    let ca_args = [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "rogue-ca.key",
        "-out",
        "rogue-ca.pem",
        "-subj",
        "/CN=Rogue Partner CA",
        "-days",
        "30",
    ];
    run_tool(&dir, "openssl", &ca_args, b"");
    make_csr(&dir, "rogue", &gateway.a.subject(), EC_P256, &[]);
    let sign_args = [
        "x509",
        "-req",
        "-in",
        "rogue.csr",
        "-CA",
        "rogue-ca.pem",
        "-CAkey",
        "rogue-ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-out",
        "rogue.pem",
    ];
    run_tool(&dir, "openssl", &sign_args, b"");
    let rogue = ClientAuth::pem(&dir.join("rogue.pem"), &dir.join("rogue.key"));

    match gateway
        .a
        .call(&gateway.server, &rogue, "/fleets")
        .try_send()
    {
        Err(failure) => assert_ne!(failure.exit_code, 0),
        Ok(reply) => {
            assert_eq!(
                reply.status, 401,
                "a foreign certificate got in: {}",
                reply.body
            );
            let code = reply.json()["code"].as_u64();
            assert!(
                matches!(code, Some(40101 | 40104)),
                "expected 40101 or 40104 for a foreign certificate: {}",
                reply.body
            );
        }
    }
    gateway.finish();
}

#[test]
fn an_expired_certificate_signed_by_the_platform_ca_is_refused_with_40102() {
    let Some(gateway) = Gateway::start() else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let expired = sign_with_platform_ca(
        &gateway,
        "expired",
        now - TimeDuration::days(30),
        now - TimeDuration::days(1),
    );

    let reply = gateway.a.call(&gateway.server, &expired, "/fleets").send();

    let message = reply.expect_error(401, 40102);
    assert!(message.to_lowercase().contains("expired"), "{message}");
    gateway.finish();
}

#[test]
fn a_valid_certificate_the_platform_never_issued_is_refused_with_40104() {
    let Some(gateway) = Gateway::start() else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let unrecorded = sign_with_platform_ca(
        &gateway,
        "unrecorded",
        now - TimeDuration::minutes(5),
        now + TimeDuration::days(30),
    );

    let reply = gateway
        .a
        .call(&gateway.server, &unrecorded, "/fleets")
        .send();

    reply.expect_error(401, 40104);
    gateway.finish();
}

#[test]
fn a_certificate_revoked_while_the_server_runs_is_refused_within_seconds_with_40103() {
    let Some(gateway) = Gateway::start() else {
        return;
    };
    gateway.a_calls("/fleets").expect_json(200);

    let revoked = gateway.env.run_json(&[
        "cert",
        "revoke",
        &gateway.a_cert.serial,
        "--reason",
        "laptop stolen",
        "--json",
    ]);
    assert_eq!(
        revoked["serial"],
        gateway.a_cert.serial.as_str(),
        "{revoked}"
    );
    assert_eq!(revoked["revoked"], true, "{revoked}");

    let revoked_at = Instant::now();
    let reply = loop {
        let reply = gateway.a_calls("/fleets");
        if reply.status != 200 || revoked_at.elapsed() > Duration::from_secs(5) {
            break reply;
        }
        sleep(Duration::from_millis(200));
    };
    reply.expect_error(401, 40103);

    let listed = gateway.env.run_json(&["cert", "list", "--json"]);
    let entry = listed
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|c| c["serial"] == gateway.a_cert.serial.as_str())
        })
        .unwrap_or_else(|| panic!("the revoked certificate is not listed: {listed}"));
    assert_eq!(entry["revoked"], true, "{entry}");
    assert_eq!(entry["revocationReason"], "laptop stolen", "{entry}");
    gateway.finish();
}

// === Basic credentials, client ids, subscriptions ===

#[test]
fn another_partners_certificate_with_my_credentials_is_refused_with_40112() {
    let Some(mut gateway) = Gateway::start() else {
        return;
    };
    let b = gateway.other_partner(&PartnerSpec::default());
    let b_cert = b.enroll(&gateway.env, &gateway.server);

    let reply = gateway
        .a
        .call(&gateway.server, &b_cert.auth(), "/fleets")
        .send();

    reply.expect_error(401, 40112);
    gateway.finish();
}

#[test]
fn a_wrong_password_is_refused_with_40111_and_a_missing_one_with_40110() {
    let Some(gateway) = Gateway::start() else {
        return;
    };
    let path = format!("/connectedcar/v3/fleets?client_id={}", gateway.a.client_id);
    let wrong = format!("{}x", gateway.a.password);

    let reply = Request::gateway(
        &gateway.server,
        &path,
        &gateway.a_cert.auth(),
        &gateway.a.login,
        &wrong,
    )
    .send();
    reply.expect_error(401, 40111);

    let reply = Request::get(&gateway.server, &path)
        .client(&gateway.a_cert.auth())
        .header("Accept: application/hal+json")
        .send();
    reply.expect_error(401, 40110);
    gateway.finish();
}

#[test]
fn an_unknown_client_id_and_another_partners_client_id_both_get_40121() {
    let Some(mut gateway) = Gateway::start() else {
        return;
    };
    let b = gateway.other_partner(&PartnerSpec::default());
    let unknown = altered(&gateway.a.client_id);

    let reply = gateway
        .a_request(&format!("/connectedcar/v3/fleets?client_id={unknown}"))
        .send();
    reply.expect_error(401, 40121);

    let reply = gateway
        .a_request(&format!(
            "/connectedcar/v3/fleets?client_id={}",
            b.client_id
        ))
        .send();
    reply.expect_error(401, 40121);

    let reply = gateway.a_request("/connectedcar/v3/fleets").send();
    reply.expect_error(401, 40120);
    gateway.finish();
}

#[test]
fn a_v2_call_with_a_v3_only_application_is_refused_with_40301() {
    let Some(gateway) = Gateway::start() else {
        return;
    };

    let reply = gateway
        .a_request(&format!(
            "/connectedcar/v2/fleets?client_id={}",
            gateway.a.client_id
        ))
        .send();
    reply.expect_error(403, 40301);

    let app = gateway.env.run_json(&[
        "app",
        "create",
        &gateway.a.login,
        "--name",
        "delegation publique",
        "--version",
        "v2",
        "--json",
    ]);
    let v2_only = app["clientId"].as_str().expect("clientId").to_owned();
    let reply = gateway
        .a_request(&format!("/connectedcar/v2/fleets?client_id={v2_only}"))
        .send();
    let fleets = reply.expect_json(200);
    assert_eq!(fleets["_embedded"]["fleets"][0]["id"], gateway.a.fleet_id());
    for resource in ["monitors", "remote/callbacks"] {
        let path = format!(
            "/connectedcar/v2/fleets/{}/{resource}?client_id={v2_only}",
            gateway.a.fleet_id()
        );
        let message = gateway.a_request(&path).send().expect_error(404, 40400);
        assert!(message.contains("/connectedcar/v3/"), "{message}");
    }
    let reply = gateway
        .a_request(&format!("/connectedcar/v3/fleets?client_id={v2_only}"))
        .send();
    reply.expect_error(403, 40301);
    gateway.finish();
}

// === Resources ===

#[test]
fn another_partners_fleet_is_answered_like_a_missing_one_with_40400() {
    let Some(mut gateway) = Gateway::start() else {
        return;
    };
    let b = gateway.other_partner(&PartnerSpec::default());

    let theirs = gateway.a_calls(&format!("/fleets/{}", b.fleet_id()));
    theirs.expect_error(404, 40400);
    let their_vehicles = gateway.a_calls(&format!("/fleets/{}/vehicles", b.fleet_id()));
    their_vehicles.expect_error(404, 40400);
    let missing = gateway.a_calls(&format!("/fleets/{}", altered(b.fleet_id())));
    missing.expect_error(404, 40400);
    gateway.finish();
}

#[test]
fn a_spec_path_not_served_yet_answers_501_and_a_path_outside_the_spec_404() {
    let Some(gateway) = Gateway::start() else {
        return;
    };

    let monitors = gateway.a_calls(&format!("/fleets/{}/monitors", gateway.a.fleet_id()));
    let message = monitors.expect_error(501, 50100);
    assert!(message.contains("getFleetMonitors"), "{message}");

    let nowhere = gateway.a_calls("/no-such-resource");
    nowhere.expect_error(404, 40400);
    gateway.finish();
}

// === Paging ===

#[test]
fn a_page_size_outside_1_to_60_is_refused_with_40001() {
    let Some(gateway) = Gateway::start() else {
        return;
    };
    let fid = gateway.a.fleet_id().to_owned();

    for size in ["0", "61", "ten"] {
        let reply = gateway.a_calls(&format!("/fleets/{fid}/vehicles?pageSize={size}"));
        let message = reply.expect_error(400, 40001);
        assert!(message.contains("pageSize"), "{message}");
    }
    for size in ["1", "60"] {
        let reply = gateway.a_calls(&format!("/fleets/{fid}/vehicles?pageSize={size}"));
        reply.expect_json(200);
    }
    gateway.finish();
}

#[test]
fn a_tampered_page_token_is_refused_with_40001() {
    let spec = PartnerSpec {
        fleets: 3,
        ..PartnerSpec::default()
    };
    let Some(gateway) = Gateway::start_with(&spec) else {
        return;
    };
    let first = gateway.a_calls("/fleets?pageSize=1").expect_json(200);
    let token = page_token(&first["_links"]["next"]);

    let genuine = gateway.a_calls(&format!("/fleets?pageToken={token}"));
    assert_eq!(genuine.expect_json(200)["currentPage"], 2);

    let tampered = altered_token(&token);
    let reply = gateway.a_calls(&format!("/fleets?pageToken={tampered}"));
    let message = reply.expect_error(400, 40001);
    assert!(message.contains("pageToken"), "{message}");
    gateway.finish();
}

#[test]
fn a_page_token_of_partner_a_is_refused_to_partner_b_on_the_same_path() {
    let spec = PartnerSpec {
        fleets: 3,
        ..PartnerSpec::default()
    };
    let Some(mut gateway) = Gateway::start_with(&spec) else {
        return;
    };
    let b = gateway.other_partner(&spec);
    let b_cert = b.enroll(&gateway.env, &gateway.server);
    let first = gateway.a_calls("/fleets?pageSize=1").expect_json(200);
    let token = page_token(&first["_links"]["next"]);

    let reply = b
        .call(
            &gateway.server,
            &b_cert.auth(),
            &format!("/fleets?pageToken={token}"),
        )
        .send();

    reply.expect_error(400, 40001);
    gateway.finish();
}

// === Onboarding ===

/// One broken CSR: its name, subject, key options, extra openssl options, and the field
/// the refusal must name.
type CsrCase<'a> = (&'a str, String, &'a [&'a str], &'a [&'a str], CsrField);

#[test]
fn a_csr_breaking_one_rule_is_refused_with_40010_naming_that_field() {
    let Some(gateway) = Gateway::start() else {
        return;
    };
    let a = &gateway.a;
    let dir = gateway.env.work_dir("csr-policy");
    let subject = |c: &str, l: &str, o: &str, ou: &str, cn: &str, email: &str| {
        let mut text = String::new();
        for (name, value) in [
            ("C", c),
            ("ST", "Ile de France"),
            ("L", l),
            ("O", o),
            ("OU", ou),
            ("CN", cn),
            ("emailAddress", email),
        ] {
            if !value.is_empty() {
                text.push_str(&format!("/{name}={value}"));
            }
        }
        text
    };
    let (org, ou, login, email) = (
        a.organization.as_str(),
        "Programs Partners",
        a.login.as_str(),
        a.email.as_str(),
    );
    let other_login = format!("{login}0");
    let cases: Vec<CsrCase<'_>> = vec![
        (
            "no-c",
            subject("", "Paris", org, ou, login, email),
            EC_P256,
            &[],
            CsrField::Country,
        ),
        (
            "no-l",
            subject("FR", "", org, ou, login, email),
            EC_P256,
            &[],
            CsrField::Locality,
        ),
        (
            "no-o",
            subject("FR", "Paris", "", ou, login, email),
            EC_P256,
            &[],
            CsrField::Organization,
        ),
        (
            "bad-ou",
            subject("FR", "Paris", org, "Programs Partner", login, email),
            EC_P256,
            &[],
            CsrField::OrganizationalUnit,
        ),
        (
            "bad-cn",
            subject("FR", "Paris", org, ou, &other_login, email),
            EC_P256,
            &[],
            CsrField::CommonName,
        ),
        (
            "no-email",
            subject("FR", "Paris", org, ou, login, ""),
            EC_P256,
            &[],
            CsrField::Email,
        ),
        (
            "rsa-1024",
            a.subject(),
            &["-newkey", "rsa:1024"],
            &[],
            CsrField::Key,
        ),
        (
            "sha1",
            a.subject(),
            EC_P256,
            &["-sha1"],
            CsrField::SignatureAlgorithm,
        ),
    ];

    for (name, subject, key_options, extra, field) in cases {
        let csr = make_csr(&dir, name, &subject, key_options, extra);
        let reply = a.submit_csr(&gateway.server, &csr);
        let message = reply.expect_error(400, 40010);
        assert!(
            message.contains(field.label()),
            "case {name}: the message should name {}: {message}",
            field.label()
        );
    }

    let reply = a.submit_csr(&gateway.server, b"this is not a certificate request\n");
    let message = reply.expect_error(400, 40010);
    assert!(message.contains(CsrField::Encoding.label()), "{message}");

    let pending = gateway
        .env
        .run_json(&["csr", "list", "--status", "pending", "--json"]);
    assert_eq!(
        pending,
        serde_json::json!([]),
        "a refused CSR waits for approval"
    );
    gateway.finish();
}

#[test]
fn onboarding_refuses_bad_credentials_other_media_types_and_other_partners_requests() {
    let Some(mut gateway) = Gateway::start() else {
        return;
    };
    let b = gateway.other_partner(&PartnerSpec::default());
    let dir = gateway.env.work_dir("onboarding-refusals");
    let csr = make_csr(&dir, "good", &gateway.a.subject(), EC_P256, &[]);

    let reply = Request::post(&gateway.server, "/onboarding/v1/csr", &csr)
        .basic(&gateway.a.login, "not the password")
        .header("Content-Type: application/pkcs10")
        .send();
    reply.expect_error(401, 40111);

    let reply = Request::post(&gateway.server, "/onboarding/v1/csr", &csr)
        .basic(&gateway.a.login, &gateway.a.password)
        .header("Content-Type: application/json")
        .send();
    reply.expect_error(415, 41500);

    let reply = b.csr_status(&gateway.server, &gateway.a_cert.csr_id);
    reply.expect_error(404, 40400);
    let mine = gateway
        .a
        .csr_status(&gateway.server, &gateway.a_cert.csr_id);
    assert_eq!(mine.expect_json(200)["status"], "issued");
    gateway.finish();
}

// === Helpers ===

/// A certificate for partner A signed directly with the data dir's CA files, valid between
/// the bounds given, and never recorded by the platform.
fn sign_with_platform_ca(
    gateway: &Gateway,
    name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> ClientAuth {
    let env = &gateway.env;
    let ca = CertificateAuthority::from_pem(
        &env.ca_certificate_pem(),
        &read_text(&env.ca_private_key_path()),
    )
    .expect("load the platform CA from the data dir");

    let dir = env.work_dir(name);
    let csr = make_csr(&dir, name, &gateway.a.subject(), EC_P256, &[]);
    let login = Login::parse(&gateway.a.login).expect("a valid login");
    let validated = validate_csr(&csr, &login).expect("a CSR that passes the policy");
    let issued = ca
        .sign_client_csr_between(&validated, not_before, not_after)
        .expect("sign the certificate");

    let certificate = dir.join(format!("{name}.pem"));
    std::fs::write(&certificate, issued.certificate_pem).expect("write the certificate");
    ClientAuth::pem(&certificate, &dir.join(format!("{name}.key")))
}

/// The `pageToken` query parameter of a HAL link.
fn page_token(link: &Value) -> String {
    let href = link["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no href in {link}"));
    href.split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("pageToken="))
        .unwrap_or_else(|| panic!("no pageToken in {href}"))
        .to_owned()
}

/// The token with one character in its middle changed to another URL-safe one.
fn altered_token(token: &str) -> String {
    let middle = token.len() / 2;
    let mut chars: Vec<char> = token.chars().collect();
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// An id of the same shape with every hex digit changed: well formed, but unknown.
fn altered(id: &str) -> String {
    id.chars()
        .map(|c| match c.to_digit(16) {
            Some(digit) => std::char::from_digit((digit + 1) % 16, 16).unwrap_or(c),
            None => c,
        })
        .collect()
}
