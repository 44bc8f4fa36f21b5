//! A benchmark of the ingestion writer alone, without MQTT or TLS: `VEHICLES` vehicles each
//! submit a driving sample every `1 / RATE` seconds through [`Ingestor::submit`] and wait
//! for its commit, as the MQTT endpoint does before its PUBACK. It prints the committed
//! messages per second, the writer's delay percentiles and the process's peak RSS.
//!
//! `cargo run --release -p fleetgate-vehicle --example ingest_writer -- [DB_URL]`
//! (default: a new SQLite file in a temporary directory). Knobs: `VEHICLES` (10000), `RATE`
//! (2 per vehicle per second), `SECONDS` (30).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleetgate_core::Vin;
use fleetgate_sim::load::steady_sample;
use fleetgate_store::{InboundMessage, Store};
use fleetgate_vehicle::{BatchSettings, Ingestor};

fn knob(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A VIN made from a number, valid for the VIN parser.
fn vin(index: usize) -> Vin {
    Vin::parse(&format!("VF3BENCH{index:09}")).expect("a valid VIN")
}

fn sample(vin: &Vin, index: usize, sequence: u64) -> InboundMessage {
    let message = steady_sample(vin, index as u64, sequence);
    InboundMessage {
        payload: String::from_utf8(message.to_payload()).expect("JSON is UTF-8"),
        received_at: message.at,
        message,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vehicles = knob("VEHICLES", 10_000.0) as usize;
    let rate = knob("RATE", 2.0);
    let seconds = knob("SECONDS", 30.0);
    let dir = tempfile::tempdir()?;
    let url = std::env::args().nth(1).unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        )
    });

    let store = Store::open(&url).await?;
    store.migrate().await?;
    let (ingestor, writer) = Ingestor::start(store, BatchSettings::default());

    let committed = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs_f64(seconds);
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut tasks = Vec::with_capacity(vehicles);
    for index in 0..vehicles {
        let (ingestor, committed) = (ingestor.clone(), committed.clone());
        tasks.push(tokio::spawn(async move {
            let vin = vin(index);
            let offset = period.mul_f64(index as f64 / vehicles as f64);
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
            let mut sequence = 0;
            while Instant::now() < stop {
                ticker.tick().await;
                let receipt = ingestor.submit(sample(&vin, index, sequence)).await;
                if matches!(receipt.await, Ok(Ok(()))) {
                    committed.fetch_add(1, Ordering::Relaxed);
                }
                sequence += 1;
            }
        }));
    }

    let started = Instant::now();
    let mut last = 0;
    while Instant::now() < stop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let now = committed.load(Ordering::Relaxed);
        println!(
            "{:>5.1} s: {:>8.0} committed/s",
            started.elapsed().as_secs_f64(),
            (now - last) as f64 / 5.0
        );
        last = now;
    }
    for task in tasks {
        task.await?;
    }
    let total = committed.load(Ordering::Relaxed);
    println!(
        "committed {total} in {:.1} s: {:.0} messages/s; {}",
        started.elapsed().as_secs_f64(),
        total as f64 / started.elapsed().as_secs_f64(),
        ingestor.stats().summary()
    );
    drop(ingestor);
    writer.await?;
    println!("peak RSS: {} MiB", peak_rss_mib());
    Ok(())
}

/// The process's peak resident set, from /proc.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib / 1024)
}
