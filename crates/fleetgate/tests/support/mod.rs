//! What the integration tests share: the `fleetgate` binary, a data dir made by `init` on the
//! database chosen by `FLEETGATE_TEST_DATABASE`, a running server, curl requests, partner
//! fixtures, the partners' tools, and validation against the official OpenAPI schemas.
//!
//! `FLEETGATE_TEST_DATABASE` unset or `sqlite` runs on the default SQLite file of the data
//! dir; `postgres` creates a fresh database on the local PostgreSQL for every environment
//! and drops it afterwards. A PostgreSQL that cannot be reached fails the test, never skips
//! it.

// Each test file uses its own part of these helpers.
#![allow(dead_code)]

pub mod http;
pub mod partner;
pub mod schema;
pub mod server;
pub mod vehicle;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tempfile::TempDir;

// Re-exported for the test files, each of which uses some of them.
#[allow(unused_imports)]
pub use http::{ClientAuth, Reply, Request};
#[allow(unused_imports)]
pub use partner::{ClientCertificate, Partner, PartnerSpec};
pub use server::Server;

/// The administrative connection used to create and drop test databases.
const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Where test databases live; each gets its own name on it.
const POSTGRES_BASE_URL: &str = "postgres://postgres@127.0.0.1:5432";

/// The characters a VIN may hold: digits and capital letters except I, O and Q.
const VIN_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";

/// The `fleetgate` binary built for these tests, with no inherited data dir or database.
pub fn fleetgate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleetgate"));
    command
        .env_remove("FLEETGATE_DATA_DIR")
        .env_remove("FLEETGATE_DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// Whether `tool` can be run. A missing tool fails the test under CI (the `CI` variable
/// is set); elsewhere it prints a skip notice and the caller returns early.
pub fn require_tool(tool: &str) -> bool {
    let probe = match tool {
        "openssl" => "version",
        "keytool" => "-help",
        _ => "--version",
    };
    let spawned = Command::new(tool)
        .arg(probe)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();

    match spawned {
        Ok(_) => true,
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("{tool} is required by this test and cannot be run under CI: {error}")
        }
        Err(error) => {
            eprintln!("SKIPPED: {tool} cannot be run here ({error}); this test needs it");
            false
        }
    }
}

/// [`require_tool`] for each of `tools`.
pub fn require_tools(tools: &[&str]) -> bool {
    tools.iter().all(|tool| require_tool(tool))
}

/// Runs a partner tool (openssl, keytool, curl) in `dir`, feeding `stdin`, and checks that
/// it succeeded; returns its output.
pub fn run_tool(dir: &Path, tool: &str, args: &[&str], stdin: &[u8]) -> Output {
    let output = run_tool_unchecked(dir, tool, args, stdin);
    assert!(
        output.status.success(),
        "{tool} {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs a partner tool in `dir`, feeding `stdin`, whatever its exit status.
pub fn run_tool_unchecked(dir: &Path, tool: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut command = Command::new(tool);
    command.args(args).current_dir(dir);
    output_with_stdin(&mut command, stdin)
}

/// Runs `command` to its end, with `stdin` as its standard input.
pub fn output_with_stdin(command: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;

    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));

    let mut input = child.stdin.take().expect("stdin is piped");
    let bytes = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // A tool may exit without reading all its input; that is its business.
        let _ = input.write_all(&bytes);
    });
    let output = child.wait_with_output().expect("wait for the tool");
    feeder.join().expect("stdin feeder");
    output
}

/// `count` distinct valid VINs, with a random part so that environments never share one.
pub fn vins(count: usize) -> Vec<String> {
    let mut rng = rand::thread_rng();
    let batch: String = (0..6)
        .map(|_| char::from(VIN_ALPHABET[rng.gen_range(0..VIN_ALPHABET.len())]))
        .collect();
    (0..count)
        .map(|index| format!("VR3{batch}{index:08}"))
        .collect()
}

/// A fresh login, `MZP` and nine random digits.
pub fn new_login() -> String {
    format!(
        "MZP{:09}",
        rand::thread_rng().gen_range(0..1_000_000_000u32)
    )
}

// === TestEnv ===

/// A data dir set up by `fleetgate init`, and the database behind it.
pub struct TestEnv {
    root: TempDir,
    data_dir: PathBuf,
    /// Dropped after the servers and commands that use it are gone.
    postgres: Option<PostgresDatabase>,
}

impl TestEnv {
    /// Runs `fleetgate init` in a new temporary data dir, on the database chosen by
    /// `FLEETGATE_TEST_DATABASE`, and checks its answer.
    pub fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("fleetgate-test-")
            .tempdir()
            .expect("temporary directory");
        let data_dir = root.path().join("data");
        let postgres = match test_database().as_str() {
            "sqlite" => None,
            "postgres" => Some(PostgresDatabase::create()),
            other => panic!("FLEETGATE_TEST_DATABASE must be sqlite or postgres, found '{other}'"),
        };
        let env = Self {
            root,
            data_dir,
            postgres,
        };

        let mut args = vec!["init".to_owned(), "--json".to_owned()];
        if let Some(database) = &env.postgres {
            args.extend(["--database-url".to_owned(), database.url()]);
        }
        let answer = env.run_json(&args);
        env.check_init_answer(&answer);
        env
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The partner CA certificate, PEM file, as `init` lays it out.
    pub fn ca_certificate_path(&self) -> PathBuf {
        self.data_dir.join("ca").join("partner-ca.pem")
    }

    /// The partner CA private key, PEM file, as `init` lays it out.
    pub fn ca_private_key_path(&self) -> PathBuf {
        self.data_dir.join("ca").join("partner-ca-key.pem")
    }

    /// The partner CA certificate, PEM text.
    pub fn ca_certificate_pem(&self) -> String {
        read_text(&self.ca_certificate_path())
    }

    /// A new empty directory for a partner's files, named `name`.
    pub fn work_dir(&self, name: &str) -> PathBuf {
        let dir = self.root.path().join("work").join(name);
        fs::create_dir_all(&dir).expect("create a work directory");
        dir
    }

    /// `fleetgate --data-dir DIR` ready for a subcommand.
    pub fn command(&self) -> Command {
        let mut command = fleetgate();
        command.arg("--data-dir").arg(&self.data_dir);
        command
    }

    /// Runs `fleetgate --data-dir DIR ARGS...`, checks it exits 0, and parses its stdout
    /// as one JSON document.
    pub fn run_json<S: AsRef<OsStr>>(&self, args: &[S]) -> Value {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "fleetgate {:?} failed ({}):\nstdout: {}\nstderr: {}",
            args_text(args),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "fleetgate {:?} did not print one JSON document on stdout ({error}):\n{}",
                args_text(args),
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// Runs `fleetgate --data-dir DIR ARGS...`, checks that it fails, and returns its exit
    /// code and stderr.
    pub fn run_fail<S: AsRef<OsStr>>(&self, args: &[S]) -> (i32, String) {
        let output = self.run(args);
        assert!(
            !output.status.success(),
            "fleetgate {:?} succeeded but should have failed:\nstdout: {}",
            args_text(args),
            String::from_utf8_lossy(&output.stdout)
        );
        let code = output.status.code().unwrap_or(-1);
        (code, String::from_utf8_lossy(&output.stderr).into_owned())
    }

    /// Starts `fleetgate serve` on a free port of 127.0.0.1.
    pub fn serve(&self) -> Server {
        Server::start(self)
    }

    /// A partner with one v3 application, one fleet and three vehicles.
    pub fn partner(&self) -> Partner {
        Partner::create(self, &PartnerSpec::default())
    }

    /// A partner made as `spec` says.
    pub fn partner_with(&self, spec: &PartnerSpec) -> Partner {
        Partner::create(self, spec)
    }

    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.command()
            .args(args)
            .output()
            .expect("run the fleetgate binary")
    }

    fn check_init_answer(&self, answer: &Value) {
        let ca = answer["caCertificate"]
            .as_str()
            .unwrap_or_else(|| panic!("init --json has no caCertificate path: {answer}"));
        assert!(
            Path::new(ca).is_file(),
            "init's caCertificate {ca} is not a file"
        );
        assert!(
            self.ca_certificate_path().is_file(),
            "init did not write {}",
            self.ca_certificate_path().display()
        );
        assert_eq!(read_text(Path::new(ca)), self.ca_certificate_pem());

        let answered = answer["dataDir"]
            .as_str()
            .unwrap_or_else(|| panic!("init --json has no dataDir: {answer}"));
        assert_eq!(
            fs::canonicalize(answered).expect("dataDir exists"),
            fs::canonicalize(&self.data_dir).expect("data dir exists"),
        );
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// The backend asked for by `FLEETGATE_TEST_DATABASE`, `sqlite` by default.
pub fn test_database() -> String {
    std::env::var("FLEETGATE_TEST_DATABASE")
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| "sqlite".to_owned())
}

/// Reads a text file the test expects to exist.
pub fn read_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn args_text<S: AsRef<OsStr>>(args: &[S]) -> Vec<String> {
    args.iter()
        .map(|arg| arg.as_ref().to_string_lossy().into_owned())
        .collect()
}

// === PostgreSQL ===

/// A database of its own on the local PostgreSQL, dropped (best effort) with the value.
struct PostgresDatabase {
    name: String,
}

impl PostgresDatabase {
    fn create() -> Self {
        let name = format!("fleetgate_test_{:016x}", rand::random::<u64>());
        if let Err(error) = postgres_admin(&format!("CREATE DATABASE {name}")) {
            panic!(
                "FLEETGATE_TEST_DATABASE=postgres but PostgreSQL at {POSTGRES_ADMIN_URL} \
                 cannot create a test database: {error}"
            );
        }
        Self { name }
    }

    fn url(&self) -> String {
        format!("{POSTGRES_BASE_URL}/{}", self.name)
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(error) = postgres_admin(&drop) {
            eprintln!("could not drop the test database {}: {error}", self.name);
        }
    }
}

/// Runs one statement on the administrative connection.
fn postgres_admin(statement: &str) -> Result<(), String> {
    use sqlx::Connection;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;

    runtime.block_on(async {
        let work = async {
            let mut connection = sqlx::PgConnection::connect(POSTGRES_ADMIN_URL).await?;
            sqlx::raw_sql(statement).execute(&mut connection).await?;
            connection.close().await
        };
        match tokio::time::timeout(Duration::from_secs(20), work).await {
            Ok(result) => result.map_err(|error| error.to_string()),
            Err(_) => Err("no answer within 20 s".to_owned()),
        }
    })
}

/// Runs `future` on a runtime of its own. Tests that drive vehicles are plain `#[test]`s
/// that call this, because a [`TestEnv`] on PostgreSQL creates and drops its database with
/// a runtime of its own, which cannot be started inside another.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
        .block_on(future)
}
