//! Background work that is not a request: the periodic fsync of
//! `--fsync interval=<ms>` and, at shutdown, the final flush.
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
    tasks
}

async fn periodic_fsync(state: Arc<BrokerState>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let state = Arc::clone(&state);
        // Errors are logged by flush_now and poison the partition.
        let _ = tokio::task::spawn_blocking(move || flush_all(&state)).await;
    }
}

/// fsyncs every partition with unflushed data (blocking).
pub fn flush_all(state: &BrokerState) {
    for partition in state.partitions.all() {
        if partition.has_unflushed_data() {
            let _ = partition.flush_now();
        }
    }
}
