//! The log cleaner's schedule (Kafka's `LogCleaner` threads and
//! `LogCleanerManager`): which compacted partition to clean next, on the
//! blocking pool, one partition at a time per cleaner thread.
//!
//! Every pass looks at the partitions of topics with `cleanup.policy`
//! containing `compact` and picks the filthiest: the highest dirty ratio
//! (bytes not yet cleaned over all cleanable bytes, see
//! [`sluice_storage::CleanableSection`]) above the topic's
//! `min.cleanable.dirty.ratio`; a partition whose oldest uncleaned segment is
//! older than `max.compaction.lag.ms` goes first whatever its ratio. Only
//! sealed segments wholly below the last stable offset and older than
//! `min.compaction.lag.ms` are cleanable (the active segment never is; it
//! becomes cleanable when `segment.bytes` or `segment.ms` rolls it). With
//! nothing to clean a thread sleeps `log.cleaner.backoff.ms`. The pass itself
//! (`Partition::clean`, `sluice_storage::Log::begin_clean`) holds the
//! partition's log lock only to plan it and to swap segments in; its I/O is
//! throttled by `log.cleaner.io.max.bytes.per.second` and its memory bounded by
//! the thread's share of `log.cleaner.dedupe.buffer.size`.
//!
//! A log whose kept tombstones or markers reached their delete horizon is
//! cleaned too, dirty or not, so that they go after `delete.retention.ms`.
//!
//! `compact,delete` topics are also trimmed by retention (`maintenance.rs`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_storage::CleanerConfig;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::partition::Partition;
use crate::BrokerState;

/// Partitions a cleaner thread is working on, so that two threads never
/// clean the same one.
type Busy = Arc<Mutex<HashSet<(String, i32)>>>;

/// Starts `log.cleaner.threads` cleaner tasks, unless the cleaner is off.
pub fn start(state: &Arc<BrokerState>, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let config = &state.config;
    if !config.cleaner_enable {
        return Vec::new();
    }
    let threads = config.cleaner_threads.max(1);
    let cleaner = CleanerConfig {
        dedupe_buffer_bytes: config.cleaner_dedupe_buffer_size / threads as u64,
        io_max_bytes_per_second: config.cleaner_io_max_bytes_per_second,
    };
    let backoff = Duration::from_millis(config.cleaner_backoff_ms);
    let busy: Busy = Arc::default();
    (0..threads)
        .map(|_| {
            tokio::spawn(run(
                Arc::clone(state),
                cleaner.clone(),
                backoff,
                Arc::clone(&busy),
                shutdown.clone(),
            ))
        })
        .collect()
}

async fn run(
    state: Arc<BrokerState>,
    cleaner: CleanerConfig,
    backoff: Duration,
    busy: Busy,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let (s, c, b) = (Arc::clone(&state), cleaner.clone(), Arc::clone(&busy));
        let cleaned = tokio::task::spawn_blocking(move || clean_filthiest(&s, &c, &b))
            .await
            .unwrap_or(false);
        if cleaned {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The partition to clean next, if any needs it (see the module doc).
fn filthiest(state: &BrokerState, busy: &HashSet<(String, i32)>) -> Option<Arc<Partition>> {
    let now = state.clock.now_ms();
    // Segments' first-append times are the storage's wall clock.
    let wall = wall_clock_ms();
    let mut best: Option<(bool, f64, Arc<Partition>)> = None;
    for partition in state.partitions.all() {
        if busy.contains(&(partition.topic.clone(), partition.index)) {
            continue;
        }
        let Some(section) = partition.cleanable_section(now) else {
            continue;
        };
        if section.dirty_bytes == 0 && !section.delete_horizon_passed {
            continue;
        }
        let compaction = partition.config().compaction;
        let ratio = section.dirty_ratio();
        let forced = section.delete_horizon_passed
            || section
                .first_dirty_append_ms
                .is_some_and(|t| wall.saturating_sub(t) > compaction.max_compaction_lag_ms);
        if !forced && ratio <= compaction.min_cleanable_dirty_ratio() {
            continue;
        }
        let better = match &best {
            None => true,
            Some((f, r, _)) => (forced, ratio) > (*f, *r),
        };
        if better {
            best = Some((forced, ratio, partition));
        }
    }
    best.map(|(_, _, p)| p)
}

/// One pass of one cleaner thread (blocking): cleans the filthiest partition.
/// Returns whether it cleaned anything.
pub fn clean_filthiest(
    state: &BrokerState,
    cleaner: &CleanerConfig,
    busy: &Mutex<HashSet<(String, i32)>>,
) -> bool {
    let lock = || busy.lock().unwrap_or_else(|e| e.into_inner());
    let partition = {
        let mut busy = lock();
        let Some(partition) = filthiest(state, &busy) else {
            return false;
        };
        busy.insert((partition.topic.clone(), partition.index));
        partition
    };
    let result = partition.clean(cleaner, state.clock.now_ms());
    lock().remove(&(partition.topic.clone(), partition.index));
    match result {
        Ok(Some(outcome)) => {
            tracing::info!(topic = %partition.topic, partition = partition.index,
                segments = outcome.segments_cleaned, bytes_before = outcome.bytes_before,
                bytes_after = outcome.bytes_after, records_removed = outcome.records_removed,
                log_start_offset = outcome.log_start_offset, cleaned_up_to = outcome.cleaned_up_to,
                "cleaned log");
            true
        }
        Ok(None) => false,
        Err(e) => {
            // Kafka marks such a partition uncleanable; here the next pass
            // tries again after the backoff (the error is logged each time).
            tracing::warn!(topic = %partition.topic, partition = partition.index, error = %e,
                "cleaning failed");
            false
        }
    }
}
