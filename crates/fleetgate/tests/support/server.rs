//! A `fleetgate serve` child process on a free port, with its log kept for inspection.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::TestEnv;

/// What the server logs once it accepts connections.
const LISTENING: &str = "listening on https://";

/// What the server logs once its vehicle endpoint accepts connections.
const MQTT_LISTENING: &str = "listening on mqtts://";

/// How long a server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The log levels asked of the server: everything of fleetgate's own crates, so that the
/// secret checks see as much as an operator could switch on.
const LOG_FILTER: &str = "info,fleetgate=debug,fleetgate_api=debug,fleetgate_pki=debug,\
                          fleetgate_store=debug,fleetgate_notify=debug,fleetgate_vehicle=debug";

/// A running `fleetgate serve`, killed when dropped.
pub struct Server {
    child: Child,
    address: SocketAddr,
    mqtt_address: Option<SocketAddr>,
    ca_certificate: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts `fleetgate serve --listen 127.0.0.1:0` on `env`'s data dir and waits for the
    /// line that gives the bound address.
    pub fn start(env: &TestEnv) -> Self {
        Self::start_with(env, &["--mqtt-listen", "127.0.0.1:0"])
    }

    /// Starts `fleetgate serve --listen 127.0.0.1:0 EXTRA...` and waits until it listens.
    pub fn start_with(env: &TestEnv, extra: &[&str]) -> Self {
        let mut child = env
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", LOG_FILTER)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fleetgate serve");

        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, listening) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let readers = vec![
            drain(stderr, Arc::clone(&log), Some(found)),
            drain(stdout, Arc::clone(&log), None),
        ];

        let mut server = Self {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            mqtt_address: None,
            ca_certificate: env.ca_certificate_path(),
            log,
            readers,
        };
        match listening.recv_timeout(START_TIMEOUT) {
            Ok(address) => server.address = address,
            Err(_) => {
                let status = server.child.try_wait().ok().flatten();
                panic!(
                    "fleetgate serve did not log '{LISTENING}<address>' within {START_TIMEOUT:?} \
                     (exit status {status:?}); its log:\n{}",
                    server.log_lines().join("\n")
                );
            }
        }
        server
    }

    /// The port of the embedded vehicle endpoint (its line comes before the HTTPS one).
    pub fn mqtt_port(&mut self) -> u16 {
        if self.mqtt_address.is_none() {
            self.mqtt_address = self
                .log_lines()
                .iter()
                .find_map(|line| address_after(line, MQTT_LISTENING));
        }
        self.mqtt_address
            .unwrap_or_else(|| panic!("no '{MQTT_LISTENING}' line in the server's log"))
            .port()
    }

    /// Kills the server at once (SIGKILL), as a crash would, and returns its log.
    pub fn crash(self) -> Vec<String> {
        self.stop()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The origin the tests call: `https://localhost:PORT` (resolved to 127.0.0.1).
    pub fn origin(&self) -> String {
        format!("https://localhost:{}", self.port())
    }

    /// The same origin by IP address, as the seed's curl command would write a host.
    pub fn origin_by_ip(&self) -> String {
        format!("https://127.0.0.1:{}", self.port())
    }

    /// The CA certificate that verifies the server (the data dir's partner CA).
    pub fn ca_certificate(&self) -> &PathBuf {
        &self.ca_certificate
    }

    /// The log lines so far, stdout and stderr together, ANSI colours removed.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// Stops the server and returns its whole log.
    pub fn stop(mut self) -> Vec<String> {
        self.kill();
        for reader in std::mem::take(&mut self.readers) {
            let _ = reader.join();
        }
        self.log_lines()
    }

    /// Stops the server and checks that no log line holds any of `secrets`, a private key
    /// or a whole certificate.
    pub fn stop_and_check_log_is_free_of(self, secrets: &[&str]) {
        let lines = self.stop();
        assert!(!lines.is_empty(), "the server logged nothing at all");

        for line in &lines {
            for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
                assert!(
                    !line.contains(secret),
                    "a secret appears in the server log: {line}"
                );
            }
            assert!(
                !line.contains("PRIVATE KEY"),
                "a private key appears in the log: {line}"
            );
            assert!(
                !line.contains("BEGIN CERTIFICATE"),
                "a certificate or CSR appears in the log: {line}"
            );
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads `stream` line by line into `log`; the first line announcing the address is also
/// sent on `found`.
fn drain(
    stream: impl Read + Send + 'static,
    log: Arc<Mutex<Vec<String>>>,
    mut found: Option<mpsc::Sender<SocketAddr>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut raw = Vec::new();
        loop {
            raw.clear();
            match reader.read_until(b'\n', &mut raw) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = strip_ansi(&String::from_utf8_lossy(&raw));
            let line = line.trim_end().to_owned();

            if let Some(address) = listening_address(&line) {
                if let Some(sender) = found.take() {
                    let _ = sender.send(address);
                }
            }
            log.lock().expect("log lock").push(line);
        }
    })
}

/// The address of a `listening on https://IP:PORT` line; an unspecified IP becomes 127.0.0.1.
fn listening_address(line: &str) -> Option<SocketAddr> {
    address_after(line, LISTENING)
}

/// The address that follows `marker` in a log line.
fn address_after(line: &str, marker: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once(marker)?;
    let text: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    let mut address: SocketAddr = text.parse().ok()?;
    if address.ip().is_unspecified() {
        address.set_ip([127, 0, 0, 1].into());
    }
    Some(address)
}

/// Removes ANSI escape sequences (colours) from a log line.
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            plain.push(c);
            continue;
        }
        // CSI: ESC [ parameters, ended by a letter.
        if chars.next() == Some('[') {
            for end in chars.by_ref() {
                if end.is_ascii_alphabetic() {
                    break;
                }
            }
        }
    }
    plain
}
