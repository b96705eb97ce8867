//! Background work that is not a request: the periodic fsync of
//! `--fsync interval=<ms>`, retention (whole segments past a topic's
//! `retention.ms` / `retention.bytes`, or below its log start offset, are
//! deleted every `--retention-check-interval-ms`), and producer id expiry
//! (idle producers are forgotten by every partition every
//! `producer.id.expiration.check.interval.ms`).
//!
//! Tasks run until the broker's shutdown signal; each pass works partition
//! by partition, never holding more than one partition's lock.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::FsyncMode;
use crate::BrokerState;

/// Starts the background tasks the configuration asks for.
pub fn start(state: &Arc<BrokerState>, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if let FsyncMode::Interval(ms) = state.config.fsync {
        if !state.config.ephemeral {
            tasks.push(tokio::spawn(periodic_fsync(
                Arc::clone(state),
                Duration::from_millis(ms),
                shutdown.clone(),
            )));
        }
    }
    tasks.push(tokio::spawn(retention(
        Arc::clone(state),
        Duration::from_millis(state.config.retention_check_interval_ms),
        shutdown.clone(),
    )));
    tasks.push(tokio::spawn(producer_expiration(
        Arc::clone(state),
        interval_ms(state.config.producer_id_expiration_check_interval_ms),
        shutdown.clone(),
    )));
    tasks
}

/// A positive interval option as a [`Duration`] (validated at start).
fn interval_ms(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(1).max(1))
}

async fn producer_expiration(
    state: Arc<BrokerState>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate; start-up has just done a pass.
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let state = Arc::clone(&state);
        let _ = tokio::task::spawn_blocking(move || remove_expired_producers(&state)).await;
    }
}

/// One pass of producer id expiry over every partition (blocking: it takes
/// each partition's producer lock in turn, never two at once).
pub fn remove_expired_producers(state: &BrokerState) {
    let now = state.clock.now_ms();
    let expiration_ms = i64::from(state.config.producer_id_expiration_ms);
    let mut removed = 0;
    for partition in state.partitions.all() {
        removed += partition.remove_expired_producers(now, expiration_ms);
    }
    if removed > 0 {
        tracing::debug!(removed, "expired idle producer ids");
    }
}

async fn retention(state: Arc<BrokerState>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let state = Arc::clone(&state);
        let _ = tokio::task::spawn_blocking(move || apply_retention(&state)).await;
    }
}

/// One retention pass over every topic (blocking). Each partition trims by
/// its topic's typed config (compact-only topics are never trimmed by time
/// or size).
pub fn apply_retention(state: &BrokerState) {
    let now = state.clock.now_ms();
    for topic in state.metadata.topics() {
        for index in 0..topic.partitions {
            if let Some(partition) = state.partitions.get(&topic.name, index) {
                if let Err(e) = partition.apply_retention(now) {
                    tracing::warn!(topic = %topic.name, partition = index, error = %e, "retention failed");
                }
            }
        }
    }
}

async fn periodic_fsync(
    state: Arc<BrokerState>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let state = Arc::clone(&state);
        // Errors are logged by flush_many_now and poison the partition.
        let _ = tokio::task::spawn_blocking(move || flush_all(&state)).await;
    }
}

/// fsyncs every partition with unflushed data (blocking), with one
/// filesystem commit for all of them.
pub fn flush_all(state: &BrokerState) {
    let dirty: Vec<_> = state
        .partitions
        .all()
        .into_iter()
        .filter(|p| p.has_unflushed_data())
        .collect();
    // Failures are logged and poison their partitions.
    let _ = crate::partition::flush_many_now(&dirty);
}
