//! The ingestion pipeline's writer: validated messages from every connection are gathered
//! into batches and committed with one transaction each; each message's sender learns the
//! outcome only after the commit, so an acknowledgement always means "in the database".

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleetgate_store::{InboundMessage, StateWrites, Store};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How often, at most, the vehicle states are written while messages keep coming.
const STATES_EVERY: Duration = Duration::from_secs(1);

/// How the writer batches.
#[derive(Debug, Clone, Copy)]
pub struct BatchSettings {
    /// The most messages committed in one transaction.
    pub max_messages: usize,
    /// How long the first message of a batch may wait for others.
    pub max_delay: Duration,
    /// Messages waiting for the writer before senders are slowed down.
    pub queue: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            max_messages: batch_size_from_env().unwrap_or(1_000),
            max_delay: Duration::from_millis(20),
            queue: 5_000,
        }
    }
}

fn batch_size_from_env() -> Option<usize> {
    std::env::var("FLEETGATE_INGEST_BATCH").ok()?.parse().ok()
}

/// Why a message was not committed; its sender must not acknowledge it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestFailed {
    /// The database refused the batch.
    #[error("the batch could not be stored: {0}")]
    Store(String),
    /// The writer stopped before the message was committed.
    #[error("the ingestion writer has stopped")]
    Stopped,
}

/// The outcome of one message, known once its batch is committed.
pub type Receipt = oneshot::Receiver<Result<(), IngestFailed>>;

struct Pending {
    inbound: InboundMessage,
    done: oneshot::Sender<Result<(), IngestFailed>>,
}

/// The counters of the pipeline, shared by every connection and the writer.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Messages received and valid.
    pub accepted: AtomicU64,
    /// Messages refused by validation (bad JSON, field out of range, wrong topic...).
    pub rejected: AtomicU64,
    /// Messages committed.
    pub stored: AtomicU64,
    /// Messages sent again: already stored (same VIN, channel, time and id), or repeated
    /// within their batch (same VIN and id).
    pub duplicates: AtomicU64,
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Transactions that failed.
    pub failed_batches: AtomicU64,
    delays: DelayHistogram,
}

impl IngestStats {
    /// Counts a message refused by validation.
    pub fn count_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// The delays from the vehicle's `at` to the commit, as (p50, p99) in milliseconds.
    pub fn delay_percentiles(&self) -> Option<(u64, u64)> {
        Some((self.delays.percentile(0.50)?, self.delays.percentile(0.99)?))
    }

    /// One line for the logs.
    pub fn summary(&self) -> String {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let (p50, p99) = self.delay_percentiles().unwrap_or((0, 0));
        format!(
            "accepted {}, rejected {}, stored {}, duplicates {}, batches {} ({} failed), \
             delay p50 {p50} ms, p99 {p99} ms",
            load(&self.accepted),
            load(&self.rejected),
            load(&self.stored),
            load(&self.duplicates),
            load(&self.batches),
            load(&self.failed_batches),
        )
    }
}

/// Delays in milliseconds, in buckets of growing width (1 ms up to 64 ms, then about 6 %).
#[derive(Debug)]
struct DelayHistogram {
    buckets: Vec<AtomicU64>,
}

impl Default for DelayHistogram {
    fn default() -> Self {
        Self {
            buckets: (0..Self::BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl DelayHistogram {
    const BUCKETS: usize = 256;

    fn bucket_of(millis: u64) -> usize {
        if millis < 64 {
            return millis as usize;
        }
        let index = 64.0 + (millis as f64 / 64.0).ln() / 1.06_f64.ln();
        (index as usize).min(Self::BUCKETS - 1)
    }

    fn upper_bound(bucket: usize) -> u64 {
        if bucket < 64 {
            return bucket as u64;
        }
        (64.0 * 1.06_f64.powf(bucket as f64 - 63.0)).ceil() as u64
    }

    fn record(&self, millis: u64) {
        self.buckets[Self::bucket_of(millis)].fetch_add(1, Ordering::Relaxed);
    }

    fn percentile(&self, fraction: f64) -> Option<u64> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }

        let wanted = ((total as f64) * fraction).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bucket, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return Some(Self::upper_bound(bucket));
            }
        }
        None
    }
}

/// The front of the writer: connections submit messages here.
#[derive(Clone)]
pub struct Ingestor {
    queue: mpsc::Sender<Pending>,
    stats: Arc<IngestStats>,
}

impl Ingestor {
    /// Starts the writer task on `store`.
    pub fn start(store: Store, settings: BatchSettings) -> (Self, JoinHandle<()>) {
        let (queue, receiver) = mpsc::channel(settings.queue.max(1));
        let stats = Arc::new(IngestStats::default());
        let writer = Writer {
            store,
            settings,
            receiver,
            stats: stats.clone(),
        };

        let task = tokio::task::spawn_blocking(move || writer.run_on_own_thread());
        (Self { queue, stats }, task)
    }

    /// Queues a valid message; the receipt resolves once it is committed (or not).
    pub async fn submit(&self, inbound: InboundMessage) -> Receipt {
        let (done, receipt) = oneshot::channel();
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
        if let Err(refused) = self.queue.send(Pending { inbound, done }).await {
            let _ = refused.0.done.send(Err(IngestFailed::Stopped));
        }
        receipt
    }

    /// The pipeline's counters.
    pub fn stats(&self) -> &Arc<IngestStats> {
        &self.stats
    }
}

struct Writer {
    store: Store,
    settings: BatchSettings,
    receiver: mpsc::Receiver<Pending>,
    stats: Arc<IngestStats>,
}

impl Writer {
    /// Runs the writer on a runtime of its own, on the calling (blocking) thread.
    ///
    /// Each batch waits for the database several times (statements, commit). On the
    /// server's runtime every wake-up would queue behind the thousands of connection tasks
    /// woken by the previous commit; on its own thread the writer resumes at once, and the
    /// connections' work overlaps with the database's.
    fn run_on_own_thread(self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("ingest-writer")
            .build();
        match runtime {
            Ok(runtime) => runtime.block_on(self.run()),
            Err(error) => tracing::error!(%error, "the ingestion writer cannot start"),
        }
    }

    /// Commits batches until every [`Ingestor`] is dropped and the queue is empty, then
    /// writes the vehicle states still unwritten.
    async fn run(mut self) {
        if let Err(error) = self.store.recover_vehicle_states().await {
            tracing::error!(%error, "vehicle states not rebuilt; the next batch tries again");
        }
        let mut states_written = Instant::now();
        while let Some(batch) = self.next_batch().await {
            let when = self.state_writes(states_written);
            self.commit(batch, when).await;
            if when == StateWrites::Now {
                states_written = Instant::now();
            }
        }

        if let Err(error) = self.store.write_vehicle_states().await {
            tracing::error!(%error, "vehicle states not written; rebuilt at the next start");
        }
        tracing::debug!(stats = %self.stats.summary(), "ingestion writer stopped");
    }

    /// Whether the next batch writes the vehicle states: yes when no message waits (they
    /// are then visible as soon as the batch is acknowledged), or when they were last
    /// written [`STATES_EVERY`] ago; under load, a vehicle's state is written once per
    /// period rather than with each of its messages.
    fn state_writes(&self, last_written: Instant) -> StateWrites {
        if self.receiver.is_empty() || last_written.elapsed() >= STATES_EVERY {
            StateWrites::Now
        } else {
            StateWrites::Later
        }
    }

    /// Waits for a first message, then gathers more until the batch is full or its first
    /// message has waited `max_delay`.
    async fn next_batch(&mut self) -> Option<Vec<Pending>> {
        let first = self.receiver.recv().await?;
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + self.settings.max_delay;

        while batch.len() < self.settings.max_messages {
            match self.receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    let next = tokio::time::timeout_at(deadline, self.receiver.recv()).await;
                    match next {
                        Ok(Some(next)) => batch.push(next),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        Some(batch)
    }

    async fn commit(&self, batch: Vec<Pending>, when: StateWrites) {
        let (messages, senders): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|p| (p.inbound, p.done)).unzip();
        let started = Instant::now();

        let outcome = self.store.ingest_with(&messages, when).await;

        let committed_at = OffsetDateTime::now_utc();
        let reply = match outcome {
            Ok(report) => {
                self.count_committed(&messages, report.stored, report.duplicates, committed_at);
                tracing::debug!(
                    messages = messages.len(),
                    stored = report.stored,
                    duplicates = report.duplicates,
                    records = report.records,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "batch committed"
                );
                Ok(())
            }
            Err(error) => {
                self.stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::error!(messages = messages.len(), %error, "batch not stored");
                Err(IngestFailed::Store(error.to_string()))
            }
        };

        for sender in senders {
            let _ = sender.send(reply.clone());
        }
    }

    fn count_committed(
        &self,
        messages: &[InboundMessage],
        stored: usize,
        duplicates: usize,
        committed_at: OffsetDateTime,
    ) {
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .stored
            .fetch_add(stored as u64, Ordering::Relaxed);
        self.stats
            .duplicates
            .fetch_add(duplicates as u64, Ordering::Relaxed);
        for inbound in messages {
            let delay = (committed_at - inbound.message.at)
                .whole_milliseconds()
                .max(0);
            self.stats.delays.record(delay as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_delays() {
        let histogram = DelayHistogram::default();
        for millis in 1..=100 {
            histogram.record(millis);
        }

        assert_eq!(histogram.percentile(0.5), Some(50));
        let p99 = histogram.percentile(0.99).unwrap();
        assert!((99..=106).contains(&p99), "{p99}");
    }

    #[test]
    fn long_delays_land_in_wide_buckets_without_overflow() {
        let histogram = DelayHistogram::default();
        histogram.record(3_000);
        histogram.record(u64::MAX / 2);

        let p50 = histogram.percentile(0.5).unwrap();
        assert!((3_000..=3_200).contains(&p50), "{p50}");
        assert!(histogram.percentile(1.0).unwrap() > 1_000_000);
    }

    #[test]
    fn an_empty_histogram_has_no_percentile() {
        assert_eq!(DelayHistogram::default().percentile(0.99), None);
    }
}
