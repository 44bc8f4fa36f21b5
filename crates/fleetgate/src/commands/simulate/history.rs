//! `fleetgate simulate --history D`: the fleet's journeys of the last D, written straight
//! into the database through the ingestion pipeline (the same de-duplication, derivation of
//! status, trips and events as the vehicle channel), as fast as the database takes them.
//! It gives a sandbox, a demo or a benchmark a history without waiting for it. The journeys
//! start at the midnight (UTC) before the period, so that a second run the same day adds
//! only what is new.
// LIMITATION: a run on a later day starts its journeys at another midnight, so its history
// overlaps the earlier run's instead of continuing it.

use std::time::Duration;

use anyhow::Context as _;
use fleetgate_core::Vin;
use fleetgate_sim::{Fleet, ScenarioParams};
use fleetgate_store::{InboundMessage, Store};
use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;

/// Simulated time generated between two hand-overs to the database.
const STEP: time::Duration = time::Duration::minutes(10);

/// Messages written per transaction.
const BATCH: usize = 2_000;

/// What a history run wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryReport {
    /// Messages generated.
    pub generated: usize,
    /// Messages stored (the others were already there).
    pub stored: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The journey settings of a history run.
#[derive(Debug, Clone, Copy)]
pub struct HistorySettings {
    /// How far back the history starts.
    pub span: Duration,
    /// Simulated seconds between two samples of a driving vehicle.
    pub interval: Duration,
    /// Incidents per vehicle per simulated hour.
    pub incident_rate: f64,
    /// The seed of the journeys.
    pub seed: u64,
    /// Whether to draw a progress bar.
    pub progress: bool,
}

/// Generates and ingests the history of `vins` up to now.
pub async fn write(
    store: &Store,
    vins: Vec<Vin>,
    settings: HistorySettings,
) -> anyhow::Result<HistoryReport> {
    let started = std::time::Instant::now();
    let now = OffsetDateTime::now_utc();
    let span = time::Duration::try_from(settings.span).context("--history is too long")?;
    // Journeys start at the midnight (UTC) before `now - span`: the same seed on the same
    // day makes the same messages, which the store then skips as duplicates.
    let start = (now - span).replace_time(time::Time::MIDNIGHT);
    let mut params = ScenarioParams::new(start, settings.seed);
    params.interval = settings.interval;
    params.incident_rate = settings.incident_rate;
    let mut fleet = Fleet::new(&params, vins);

    let bar = progress_bar(settings, span);
    let mut report = HistoryReport::default();
    let mut reached = params.start;
    while reached < now {
        reached = (reached + STEP).min(now);
        let messages = fleet.step(reached);
        report.generated += messages.len();
        for chunk in messages.chunks(BATCH) {
            let inbound: Vec<InboundMessage> = chunk.iter().map(inbound).collect();
            report.stored += store.ingest(&inbound).await?.stored;
        }

        bar.set_position((reached - params.start).whole_minutes().max(0) as u64);
        bar.set_message(format!("{} messages", report.generated));
    }
    bar.finish_and_clear();

    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// A generated message as the channel would hand it over, received when it was sent.
fn inbound(message: &fleetgate_core::vehicle::VehicleMessage) -> InboundMessage {
    let payload = String::from_utf8_lossy(&message.to_payload()).into_owned();
    InboundMessage {
        message: message.clone(),
        payload,
        received_at: message.at,
    }
}

fn progress_bar(settings: HistorySettings, span: time::Duration) -> ProgressBar {
    if !settings.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(span.whole_minutes().max(1) as u64);
    let style = ProgressStyle::with_template(
        "history {bar:40} {pos}/{len} simulated minutes, {msg} ({elapsed})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
