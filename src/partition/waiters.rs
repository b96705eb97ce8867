//! Fetch waiters: the long-poll fetches parked on one partition.
//!
//! A fetch that found fewer bytes than its `min_bytes` registers one
//! [`Notify`] with every partition it reads, reads again (so an append in
//! between is not missed), then waits; the next append to any of them wakes
//! it. A fetch that timed out leaves its `Notify` behind, dropped at the next
//! registration (nobody else holds it any more).

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The parked fetches of one partition.
#[derive(Default)]
pub(super) struct FetchWaiters(Mutex<Vec<Arc<Notify>>>);

impl FetchWaiters {
    pub(super) fn register(&self, waiter: &Arc<Notify>) {
        let mut waiters = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Fetches that timed out left their Notify here; drop those.
        waiters.retain(|w| Arc::strong_count(w) > 1);
        waiters.push(Arc::clone(waiter));
    }

    /// Wakes every parked fetch (an append, a deletion, shutdown).
    pub(super) fn wake_all(&self) {
        let waiters = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for w in waiters {
            w.notify_one();
        }
    }
}
