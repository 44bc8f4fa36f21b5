//! `fleetgate`: the command line of the platform — set up a data dir, run the server, and
//! administer partners, applications, fleets, vehicles and certificates.
//!
//! This file only wires things: parse the command line, set up tracing, run the command on a
//! Tokio runtime, and turn a failure into a message and an exit code.

mod cli;
mod commands;
mod config;
mod device_pki;
mod output;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the system allocator: a request allocates many small, short-lived
/// values (headers, JSON, links), where glibc's malloc took a tenth of the server's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };

    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr so that `--json` output on stdout stays one clean document.
/// `RUST_LOG` chooses the levels (default: info for fleetgate, warn for the rest).
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(
            "warn,fleetgate=info,fleetgate_api=info,fleetgate_pki=info,fleetgate_notify=info",
        )
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
