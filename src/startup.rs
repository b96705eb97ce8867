//! Start-up order: the listener is bound first, then the broker serves while
//! it recovers.
//!
//! [`crate::Broker::start_serving`] validates the configuration, binds the
//! listener (so a port in use fails in milliseconds, whatever the data
//! size), locks the data directory, reads the metadata log (small) and
//! starts serving with every partition still closed. The [`Loader`] then
//! opens the partitions on the blocking pool, internal topics first, loads
//! the group and transaction coordinators, the producer id allocator, and
//! completes transactions a crash left prepared; only then are clients
//! served partitions ([`crate::partition::Partitions::finish_loading`]).
//!
//! Until then requests get the retriable answers Kafka gives while it loads:
//! Metadata lists every partition as LEADER_NOT_AVAILABLE (leader -1);
//! Produce, Fetch, ListOffsets and DeleteRecords are NOT_LEADER_OR_FOLLOWER;
//! group and transaction requests and InitProducerId are
//! COORDINATOR_LOAD_IN_PROGRESS (FindCoordinator answers as usual); topic
//! changes are NOT_CONTROLLER. Partitions are served together at the end,
//! not one by one as they open, so that no batch meets a partition whose
//! producer ids or transactions are not loaded yet.
//!
//! Last, the `--topics` topics that do not exist yet are created
//! (`reset.rs`); then the broker is ready (`/readyz`, the ready file, the
//! `listening on` line).
//!
//! Progress is logged at most every [`PROGRESS_EVERY`] while loading, and
//! one summary line at the end; per-partition lines are DEBUG.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::partition::registry::OpenStats;
use crate::{coordinator, group, maintenance, txn, BrokerState, StartError};

/// How often a progress line is logged while partitions load.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The background load of a broker that already serves.
pub(crate) struct Loader {
    /// Ends with the broker's background tasks once everything is loaded.
    task: JoinHandle<Result<Vec<JoinHandle<()>>, StartError>>,
    cancel: watch::Sender<bool>,
}

/// A test hook: the load waits until this is released (or dropped), so a
/// test can talk to a broker that is still loading.
#[doc(hidden)]
pub struct LoadHold(oneshot::Sender<()>);

impl LoadHold {
    /// Lets the load go on.
    pub fn release(self) {
        let _ = self.0.send(());
    }
}

/// A hold for [`Loader::spawn`] and the hook that releases it.
pub(crate) fn hold() -> (LoadHold, oneshot::Receiver<()>) {
    let (tx, rx) = oneshot::channel();
    (LoadHold(tx), rx)
}

impl Loader {
    /// Starts loading `state` (whose registry and coordinators are in their
    /// loading state); background tasks are started on `stop_background`.
    pub(crate) fn spawn(
        state: Arc<BrokerState>,
        hold: Option<oneshot::Receiver<()>>,
        stop_background: watch::Receiver<bool>,
    ) -> Loader {
        let (cancel, cancelled) = watch::channel(false);
        let task = tokio::spawn(run(state, hold, cancelled, stop_background));
        Loader { task, cancel }
    }

    /// Waits for the load to end; cancel-safe (the loader stays in place
    /// until it has ended).
    pub(crate) async fn wait(&mut self) -> Result<Vec<JoinHandle<()>>, StartError> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(StartError::LoadFailed(e.to_string())),
        }
    }

    /// Shutdown during load: stops at the next topic and waits for that.
    pub(crate) async fn cancel(mut self) -> Vec<JoinHandle<()>> {
        let _ = self.cancel.send(true);
        self.wait().await.unwrap_or_default()
    }
}

async fn run(
    state: Arc<BrokerState>,
    hold: Option<oneshot::Receiver<()>>,
    mut cancelled: watch::Receiver<bool>,
    stop_background: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, StartError> {
    if let Some(hold) = hold {
        tokio::select! {
            _ = hold => {}
            _ = cancelled.wait_for(|c| *c) => return Err(StartError::Stopped),
        }
    }
    let started = Instant::now();
    let total: usize = state
        .metadata
        .topics()
        .iter()
        .map(|t| usize::try_from(t.partitions).unwrap_or(0))
        .sum();
    let loading = Arc::clone(&state);
    let flag = cancelled.clone();
    let mut load = tokio::task::spawn_blocking(move || load(&loading, &flag));
    let mut progress =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    let outcome = loop {
        tokio::select! {
            outcome = &mut load => break outcome,
            _ = progress.tick() => {
                let opened = &state.partitions.opened;
                tracing::info!(
                    "recovering partitions: {} of {total} done, {} checked",
                    opened.partitions.load(Ordering::Relaxed),
                    human_bytes(opened.bytes.load(Ordering::Relaxed)),
                );
            }
        }
    };
    outcome.map_err(|e| StartError::LoadFailed(e.to_string()))??;
    tracing::info!("{}", summary(&state.partitions.opened, started.elapsed()));
    let mut background = maintenance::start(&state, &stop_background);
    background.extend(crate::cleaner::start(&state, &stop_background));
    let timer_state = Arc::clone(&state);
    background.push(coordinator::timer::spawn_timer(
        group::service::TICK,
        &stop_background,
        false,
        move || timer_state.groups.tick(),
    ));
    let timer_state = Arc::clone(&state);
    // Markers and records are blocking file writes.
    background.push(coordinator::timer::spawn_timer(
        txn::service::TICK,
        &stop_background,
        true,
        move || timer_state.txns.tick(&*timer_state),
    ));
    let timer_state = Arc::clone(&state);
    let every = Duration::from_millis(
        u64::try_from(
            state
                .config
                .transaction_remove_expired_transaction_cleanup_interval_ms,
        )
        .unwrap_or(1)
        .max(1),
    );
    // Tombstones are blocking file writes too. The first pass after one
    // period, as Kafka schedules it.
    background.push(coordinator::timer::spawn_timer_after(
        every,
        every,
        &stop_background,
        true,
        move || {
            let expiration_ms = i64::from(timer_state.config.transactional_id_expiration_ms);
            timer_state
                .txns
                .remove_expired_transactional_ids(expiration_ms);
        },
    ));
    state.partitions.finish_loading();
    // `--topics`: after the partitions are served (a topic change needs
    // that), before the broker says it is ready.
    let creating = Arc::clone(&state);
    let created = tokio::task::spawn_blocking(move || creating.create_configured_topics())
        .await
        .map_err(|e| StartError::LoadFailed(e.to_string()))??;
    if !created.is_empty() {
        tracing::info!(topics = ?created, "created the --topics topics");
    }
    state.started.store(true, Ordering::Release);
    Ok(background)
}

/// Opens every partition (internal topics first: the coordinators replay
/// them), then loads the coordinators and producer ids. Runs on the
/// blocking pool; `cancelled` is looked at between topics.
fn load(state: &BrokerState, cancelled: &watch::Receiver<bool>) -> Result<(), StartError> {
    let config = &state.config;
    let metadata = &state.metadata;
    let partitions = &state.partitions;
    partitions.settle_dirs(&|name: &str, index: i32| state.owns(name, index));
    let mut topics = metadata.topics();
    // Stable: the internal topics first, the rest in the metadata's order.
    topics.sort_by_key(|t| !t.internal);
    for topic in topics {
        if *cancelled.borrow() {
            return Err(StartError::Stopped);
        }
        partitions
            .open_topic(&topic, &state.topic_defaults())
            .map_err(|source| StartError::Partitions {
                topic: topic.name.clone(),
                source,
            })?;
    }
    if *cancelled.borrow() {
        return Err(StartError::Stopped);
    }
    state
        .groups
        .finish_load(config, partitions)
        .map_err(|e| StartError::Topic {
            topic: group::OFFSETS_TOPIC.to_string(),
            message: e.to_string(),
        })?;
    state
        .txns
        .finish_load(config, partitions)
        .map_err(|e| StartError::Topic {
            topic: txn::TXN_STATE_TOPIC.to_string(),
            message: e.to_string(),
        })?;
    let producer_ids = if config.ephemeral {
        txn::ProducerIds::in_memory()
    } else {
        // After partitions and coordinator state are loaded: ids they know
        // of are never handed out again, whatever the file says.
        let highest_known = txn::producer_ids::highest_known(partitions, &state.txns);
        txn::ProducerIds::open(
            &config.data_dir.join(crate::metadata::METADATA_DIR),
            highest_known,
        )
        .map_err(|source| StartError::DataDir {
            dir: config.data_dir.clone(),
            source,
        })?
    };
    state.producer_ids.finish_load(producer_ids);
    state.txns.finish_recovery(state);
    // Kafka drops expired producers as it loads a snapshot; the log
    // replayed after it can bring back more, so the whole state is swept
    // once before anything is served (after the producer ids above have
    // seen every producer, so that none is handed out again).
    maintenance::remove_expired_producers(state);
    Ok(())
}

/// The one line that says what loading did.
fn summary(opened: &OpenStats, took: Duration) -> String {
    let partitions = opened.partitions.load(Ordering::Relaxed);
    let recovered = opened.recovered.load(Ordering::Relaxed);
    let bytes = human_bytes(opened.bytes.load(Ordering::Relaxed));
    format!(
        "loaded {partitions} partitions ({recovered} recovered after an unclean shutdown, \
         {bytes} checked) in {:.1} s",
        took.as_secs_f64()
    )
}

/// `1.2 GiB`, `340 KiB`, `12 B`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Display only: the precision of f64 is plenty.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1_288_490_189), "1.2 GiB");
    }

    #[test]
    fn the_summary_says_what_was_loaded() {
        let stats = OpenStats::default();
        stats.partitions.store(3000, Ordering::Relaxed);
        stats.recovered.store(12, Ordering::Relaxed);
        stats.bytes.store(1_288_490_189, Ordering::Relaxed);
        assert_eq!(
            summary(&stats, Duration::from_millis(2300)),
            "loaded 3000 partitions (12 recovered after an unclean shutdown, 1.2 GiB checked) in 2.3 s"
        );
    }
}
