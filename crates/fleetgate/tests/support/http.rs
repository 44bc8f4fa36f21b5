//! HTTPS requests made with curl, as a partner makes them, and their replies.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{output_with_stdin, schema, Server};

/// curl's `--write-out` format that [`Reply::parse`] reads after the body.
pub const WRITE_OUT: &str =
    "\n--fleetgate-test-reply--\n%{http_code}\n%{content_type}\n%{header_json}";

/// The line that [`WRITE_OUT`] puts between the body and the status.
const REPLY_MARK: &str = "\n--fleetgate-test-reply--\n";

/// How the client authenticates at the TLS handshake.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// A PEM certificate and its key, the key optionally protected by a pass phrase.
    Pem {
        /// The client certificate.
        certificate: PathBuf,
        /// Its private key.
        key: PathBuf,
        /// The key's pass phrase, if encrypted.
        pass_phrase: Option<String>,
    },
    /// A PKCS#12 file and its password.
    Pkcs12 {
        /// The PKCS#12 file.
        file: PathBuf,
        /// Its password.
        password: String,
    },
}

impl ClientAuth {
    /// A PEM certificate with an unencrypted key.
    pub fn pem(certificate: &Path, key: &Path) -> Self {
        Self::Pem {
            certificate: certificate.to_owned(),
            key: key.to_owned(),
            pass_phrase: None,
        }
    }
}

/// One request, built step by step and sent with curl.
#[derive(Debug, Clone)]
pub struct Request {
    url: String,
    method: &'static str,
    ca_certificate: PathBuf,
    resolve: String,
    client: Option<ClientAuth>,
    basic: Option<(String, String)>,
    headers: Vec<String>,
    body: Option<Vec<u8>>,
}

/// The answer to a request.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The Content-Type header, empty when absent.
    pub content_type: String,
    /// The body, as text.
    pub body: String,
    /// The response headers, by lower-case name, each with its values.
    pub headers: serde_json::Map<String, Value>,
}

/// curl could not complete the exchange (TLS handshake refused, connection closed...).
#[derive(Debug, Clone)]
pub struct CurlFailure {
    /// curl's exit code.
    pub exit_code: i32,
    /// curl's error message.
    pub stderr: String,
}

impl Request {
    /// `GET` of `path_and_query` on `server`, e.g. `/onboarding/v1/ca.pem`.
    pub fn get(server: &Server, path_and_query: &str) -> Self {
        Self::to_url(server, &format!("{}{path_and_query}", server.origin()))
    }

    /// `GET` of an absolute URL on `server`, e.g. a HAL link.
    pub fn to_url(server: &Server, url: &str) -> Self {
        Self {
            url: url.to_owned(),
            method: "GET",
            ca_certificate: server.ca_certificate().clone(),
            resolve: format!("localhost:{}:127.0.0.1", server.port()),
            client: None,
            basic: None,
            headers: Vec::new(),
            body: None,
        }
    }

    /// `POST` of `body` to `path` on `server`.
    pub fn post(server: &Server, path: &str, body: &[u8]) -> Self {
        let mut request = Self::get(server, path);
        request.method = "POST";
        request.body = Some(body.to_vec());
        request
    }

    /// A gateway call as the seed shows it: `Accept: application/hal+json`, the client
    /// certificate, Basic credentials.
    pub fn gateway(
        server: &Server,
        path_and_query: &str,
        client: &ClientAuth,
        login: &str,
        password: &str,
    ) -> Self {
        Self::get(server, path_and_query)
            .client(client)
            .basic(login, password)
            .header("Accept: application/hal+json")
    }

    /// Presents `client` at the handshake.
    pub fn client(mut self, client: &ClientAuth) -> Self {
        self.client = Some(client.clone());
        self
    }

    /// Sends `Authorization: Basic` for `login:password`.
    pub fn basic(mut self, login: &str, password: &str) -> Self {
        self.basic = Some((login.to_owned(), password.to_owned()));
        self
    }

    /// Adds a header line, e.g. `Content-Type: application/pkcs10`.
    pub fn header(mut self, line: &str) -> Self {
        self.headers.push(line.to_owned());
        self
    }

    /// Verifies the server with `ca_certificate` instead of the data dir's CA file.
    pub fn ca_certificate(mut self, ca_certificate: &Path) -> Self {
        self.ca_certificate = ca_certificate.to_owned();
        self
    }

    /// Sends the request; panics when curl cannot complete the exchange.
    pub fn send(&self) -> Reply {
        self.try_send().unwrap_or_else(|failure| {
            panic!("curl {} {} failed: {failure:?}", self.method, self.url)
        })
    }

    /// Sends the request, or says why curl could not.
    pub fn try_send(&self) -> Result<Reply, CurlFailure> {
        let mut command = Command::new("curl");
        command
            .args(["--silent", "--show-error", "--max-time", "30"])
            .args(["--request", self.method])
            .arg("--resolve")
            .arg(&self.resolve)
            .arg("--cacert")
            .arg(&self.ca_certificate)
            .args(["--write-out", WRITE_OUT]);

        match &self.client {
            Some(ClientAuth::Pem {
                certificate,
                key,
                pass_phrase,
            }) => {
                let mut cert = certificate.as_os_str().to_owned();
                if let Some(pass) = pass_phrase {
                    cert.push(format!(":{pass}"));
                }
                command.arg("--cert").arg(cert).arg("--key").arg(key);
            }
            Some(ClientAuth::Pkcs12 { file, password }) => {
                let mut cert = file.as_os_str().to_owned();
                cert.push(format!(":{password}"));
                command.args(["--cert-type", "P12", "--cert"]).arg(cert);
            }
            None => {}
        }
        if let Some((login, password)) = &self.basic {
            command.arg("--user").arg(format!("{login}:{password}"));
        }
        for line in &self.headers {
            command.arg("--header").arg(line);
        }
        if self.body.is_some() {
            command.args(["--data-binary", "@-"]);
        }
        command.arg("--url").arg(&self.url);

        let output = output_with_stdin(&mut command, self.body.as_deref().unwrap_or_default());
        if !output.status.success() {
            return Err(CurlFailure {
                exit_code: output.status.code().unwrap_or(-1),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        Ok(Reply::parse(&String::from_utf8_lossy(&output.stdout)))
    }
}

impl Reply {
    /// Splits the output of curl run with [`WRITE_OUT`]: the body, then the status, the
    /// content type and the headers as JSON.
    pub fn parse(output: &str) -> Self {
        let (body, trailer) = output
            .rsplit_once(REPLY_MARK)
            .unwrap_or_else(|| panic!("curl wrote no reply trailer: {output}"));
        let mut lines = trailer.splitn(3, '\n');
        let status = lines.next().unwrap_or_default();
        let content_type = lines.next().unwrap_or_default().to_owned();
        let headers = lines.next().unwrap_or("{}");
        let status = status
            .parse()
            .unwrap_or_else(|_| panic!("curl wrote no HTTP status: {output}"));
        let headers = serde_json::from_str(headers)
            .unwrap_or_else(|error| panic!("curl's header JSON ({error}): {headers}"));
        Self {
            status,
            content_type,
            body: body.to_owned(),
            headers,
        }
    }

    /// The first value of response header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.get(0)?.as_str()
    }

    /// The body as JSON; panics, showing it, when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| {
            panic!(
                "status {} body is not JSON ({error}): {}",
                self.status, self.body
            )
        })
    }

    /// Checks the status and returns the JSON body.
    pub fn expect_json(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {}: {}",
            self.status, self.body
        );
        self.json()
    }

    /// Checks that this is the reference's error body with `status` and `code`: the body is
    /// exactly `{code, uuid, message, timestamp}` and valid against the spec's `xError`.
    /// Returns the message.
    pub fn expect_error(&self, status: u16, code: u64) -> String {
        assert_eq!(
            self.status, status,
            "expected HTTP {status} ({code}), got {}: {}",
            self.status, self.body
        );
        assert!(
            self.content_type.contains("json"),
            "an error body must be JSON, Content-Type is '{}'",
            self.content_type
        );
        let body = self.json();
        schema::assert_valid("xError", &body);

        assert_eq!(body["code"].as_u64(), Some(code), "error code of {body}");
        let object = body.as_object().expect("the error body is an object");
        let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["code", "message", "timestamp", "uuid"],
            "fields of {body}"
        );

        let uuid = body["uuid"].as_str().expect("uuid is a string");
        assert!(is_uuid(uuid), "uuid '{uuid}' is not a UUID");
        let timestamp = body["timestamp"].as_str().expect("timestamp is a string");
        assert!(
            OffsetDateTime::parse(timestamp, &Rfc3339).is_ok(),
            "timestamp '{timestamp}' is not RFC 3339"
        );
        let message = body["message"].as_str().expect("message is a string");
        assert!(!message.trim().is_empty(), "empty error message in {body}");
        message.to_owned()
    }
}

/// Whether `text` is a UUID in its usual hyphenated form.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<_> = text.split('-').map(str::len).collect();
    groups == [8, 4, 4, 4, 12] && text.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}
