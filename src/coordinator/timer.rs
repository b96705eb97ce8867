//! The task that drives a coordinator's deadlines until shutdown.
//!
//! The deadlines themselves live in the state machines and are read
//! against the runtime's [`Clock`](super::Clock); this task only decides
//! how often they are looked at.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Calls `tick` every `period` until `shutdown` changes, the first time at
/// once. With `blocking`, each call runs on tokio's blocking pool (it
/// writes files).
pub fn spawn_timer(
    period: Duration,
    shutdown: &watch::Receiver<bool>,
    blocking: bool,
    tick: impl Fn() + Send + Sync + 'static,
) -> JoinHandle<()> {
    spawn_timer_after(Duration::ZERO, period, shutdown, blocking, tick)
}

/// [`spawn_timer`], the first call `first` from now (Kafka's scheduled
/// tasks wait one period before their first run).
pub fn spawn_timer_after(
    first: Duration,
    period: Duration,
    shutdown: &watch::Receiver<bool>,
    blocking: bool,
    tick: impl Fn() + Send + Sync + 'static,
) -> JoinHandle<()> {
    let mut shutdown = shutdown.clone();
    let tick = Arc::new(tick);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + first, period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = shutdown.changed() => return,
            }
            if blocking {
                let tick = Arc::clone(&tick);
                let _ = tokio::task::spawn_blocking(move || tick()).await;
            } else {
                tick();
            }
        }
    })
}
