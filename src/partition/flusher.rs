//! The flusher: fsync batching, one for the whole broker.
//!
//! Every wait for durability goes through it ([`Partition::make_durable`]
//! for one partition). Under `--fsync always` a produce request registers
//! the partitions it wrote to (and the offset each must be durable to) while
//! it is handled, before its reply is queued. A single flusher task takes
//! everything registered so far, makes it durable with one filesystem commit
//! ([`flush_many_now`]), answers those requests, and starts over with what
//! arrived meanwhile. So the requests in flight on every connection share
//! their fsyncs, whichever partitions they touch. (This is Kafka's and
//! databases' "group commit" of fsyncs; it has nothing to do with consumer
//! groups or their offset commits.)
//!
//! Why: librdkafka sends one partition per Produce request. A producer to
//! 1,000 partitions pipelines many small requests on one connection, and its
//! replies go out in order; a flush started only when a reply's turn came
//! made those fsyncs one after another.
//!
//! `--fsync interval` flushes every partition with unflushed data on a timer
//! (`maintenance.rs`), through [`flush_many_now`] too.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::Partition;
use crate::error::PartitionError;

/// Offsets that must be durable, and where to say when they are.
struct Registration {
    parts: Vec<(Arc<Partition>, i64)>,
    done: oneshot::Sender<Vec<Result<(), PartitionError>>>,
}

/// The broker's flusher; clones share it (every partition holds one). The
/// task starts with the first registration (in the runtime that makes it)
/// and ends when the last clone is dropped.
#[derive(Clone, Default)]
pub struct Flusher(Arc<Shared>);

#[derive(Default)]
struct Shared {
    queue: OnceLock<mpsc::UnboundedSender<Registration>>,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    /// Flushes done (each one filesystem commit, or one fdatasync).
    rounds: AtomicU64,
    /// Test hook: how long the flusher waits before each flush (ms).
    hold_ms: AtomicU64,
}

impl Flusher {
    /// Registers `parts` now; the returned future resolves with one outcome
    /// per entry, in order, once each is durable to its offset (or its
    /// flush failed). Must be called within a Tokio runtime.
    pub fn durable(
        &self,
        parts: Vec<(Arc<Partition>, i64)>,
    ) -> impl Future<Output = Vec<Result<(), PartitionError>>> + Send + 'static {
        let count = parts.len();
        let (done, answer) = oneshot::channel();
        if parts.iter().all(|(p, end)| p.durable_to(*end)) {
            let _ = done.send(parts.iter().map(|_| Ok(())).collect());
        } else {
            let queue = self.0.queue.get_or_init(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(flush_rounds(rx, Arc::clone(&self.0.counters)));
                tx
            });
            // If the flusher is gone (runtime shutting down), `done` is
            // dropped with the registration and the answer is an error.
            let _ = queue.send(Registration { parts, done });
        }
        async move {
            match answer.await {
                Ok(outcomes) => outcomes,
                Err(_) => (0..count).map(|_| Err(not_flushed())).collect(),
            }
        }
    }

    /// How many flushes the flusher has done.
    pub fn rounds(&self) -> u64 {
        self.0.counters.rounds.load(Ordering::Relaxed)
    }

    /// Test hook: the flusher waits `hold` before each flush, so that a test
    /// can see requests that arrive meanwhile share it. Zero turns it off.
    pub fn hold_each_round_for_tests(&self, hold: Duration) {
        let ms = u64::try_from(hold.as_millis()).unwrap_or(u64::MAX);
        self.0.counters.hold_ms.store(ms, Ordering::Relaxed);
    }
}

/// The outcome of a wait whose flush failed or never ran.
pub(crate) fn not_flushed() -> PartitionError {
    PartitionError::Storage(sluice_storage::StorageError::Poisoned)
}

async fn flush_rounds(mut rx: mpsc::UnboundedReceiver<Registration>, counters: Arc<Counters>) {
    while let Some(first) = rx.recv().await {
        let hold = counters.hold_ms.load(Ordering::Relaxed);
        if hold > 0 {
            tokio::time::sleep(Duration::from_millis(hold)).await;
        }
        let mut round = vec![first];
        while let Ok(more) = rx.try_recv() {
            round.push(more);
        }
        let mut seen = HashSet::new();
        let todo: Vec<Arc<Partition>> = round
            .iter()
            .flat_map(|r| r.parts.iter())
            .filter(|(p, end)| !p.durable_to(*end) && seen.insert(Arc::as_ptr(p) as usize))
            .map(|(p, _)| Arc::clone(p))
            .collect();
        let failed: HashSet<usize> = if todo.is_empty() {
            HashSet::new()
        } else {
            counters.rounds.fetch_add(1, Ordering::Relaxed);
            let flushing = todo.clone();
            match tokio::task::spawn_blocking(move || flush_many_now(&flushing)).await {
                Ok(failed) => failed.into_iter().collect(),
                Err(e) => {
                    tracing::error!(error = %e, "flush task failed");
                    todo.iter().map(|p| Arc::as_ptr(p) as usize).collect()
                }
            }
        };
        for r in round {
            let outcomes = r
                .parts
                .iter()
                .map(|(p, end)| {
                    if failed.contains(&(Arc::as_ptr(p) as usize)) || !p.durable_to(*end) {
                        Err(not_flushed())
                    } else {
                        Ok(())
                    }
                })
                .collect();
            let _ = r.done.send(outcomes);
        }
    }
}

/// Flushes `parts` with one filesystem commit (blocking); returns the
/// addresses of the partitions whose flush failed.
pub fn flush_many_now(parts: &[Arc<Partition>]) -> Vec<usize> {
    let mut failed = Vec::new();
    let mut tickets = Vec::with_capacity(parts.len());
    for p in parts {
        match p.begin_flush() {
            None => {}
            Some(Ok(ticket)) => tickets.push((p, ticket)),
            Some(Err(e)) => {
                tracing::error!(topic = %p.topic, partition = p.index, error = %e,
                    "fsync failed; the partition refuses further writes");
                failed.push(Arc::as_ptr(p) as usize);
            }
        }
    }
    let refs: Vec<&sluice_storage::FlushTicket> = tickets.iter().map(|(_, t)| t).collect();
    let synced = sluice_storage::sync_many(&refs);
    for ((p, ticket), result) in tickets.iter().zip(synced) {
        if p.finish_flush(ticket, result).is_err() {
            failed.push(Arc::as_ptr(*p) as usize);
        }
    }
    failed
}

/// Durability of one partition, as the flusher drives it.
impl Partition {
    /// Waits until everything below `end` is fsynced, through the broker's
    /// flusher: waits that arrive while a flush runs share the next one.
    pub async fn make_durable(self: &Arc<Self>, end: i64) -> Result<(), PartitionError> {
        let outcomes = self.flusher.durable(vec![(Arc::clone(self), end)]).await;
        outcomes
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(not_flushed()))
    }

    /// Begins a flush unless everything is durable already (`None`).
    fn begin_flush(&self) -> Option<Result<sluice_storage::FlushTicket, PartitionError>> {
        let mut log = self.lock_log();
        if self.durable_to(log.log_end_offset()) {
            return None;
        }
        Some(log.begin_flush().map_err(PartitionError::from))
    }

    fn finish_flush(
        &self,
        ticket: &sluice_storage::FlushTicket,
        synced: std::io::Result<()>,
    ) -> Result<(), PartitionError> {
        if let Err(e) = self.lock_log().finish_flush(ticket, synced) {
            tracing::error!(topic = %self.topic, partition = self.index, error = %e,
                "fsync failed; the partition refuses further writes");
            return Err(e.into());
        }
        self.durable_offset
            .fetch_max(ticket.end(), Ordering::AcqRel);
        Ok(())
    }

    /// True when everything below `end` is fsynced.
    pub fn durable_to(&self, end: i64) -> bool {
        self.durable_offset.load(Ordering::Acquire) >= end
    }

    /// True when appended data is not fsynced yet.
    pub fn has_unflushed_data(&self) -> bool {
        self.durable_offset.load(Ordering::Acquire) < self.high_watermark.load(Ordering::Acquire)
    }
}
