//! Fault injection for integration tests. Off unless a test turns it on;
//! when off it costs one relaxed atomic load per request.
//!
//! Not a production feature: nothing in the configuration enables it.
//! Storage I/O failures (full disk, failing reads, failed fsyncs) are injected
//! one level down, with `sluice_storage::faults` (see tests/storage_errors.rs).

use std::sync::atomic::{AtomicU64, Ordering};

/// Faults the broker injects on a test's request.
#[derive(Debug, Default)]
pub struct Faults {
    /// Close the connection instead of answering every n-th Produce
    /// request (0: never).
    drop_produce_every: AtomicU64,
    produce_count: AtomicU64,
}

impl Faults {
    /// From now on, every `n`-th Produce request (counted over all
    /// connections) is handled — its batches are written — but the broker
    /// closes the client's socket instead of answering it, and drops the
    /// requests pipelined behind it unread. `n = 0` turns this off.
    pub fn drop_connection_every_nth_produce(&self, n: u64) {
        self.produce_count.store(0, Ordering::Relaxed);
        self.drop_produce_every.store(n, Ordering::Relaxed);
    }

    /// Connections closed by [`Self::drop_connection_every_nth_produce`]
    /// since it was last called.
    pub fn connections_dropped(&self) -> u64 {
        let every = self.drop_produce_every.load(Ordering::Relaxed);
        if every == 0 {
            return 0;
        }
        self.produce_count.load(Ordering::Relaxed) / every
    }

    /// True when the connection must close instead of answering this request.
    pub fn should_drop(&self, api_key: i16) -> bool {
        let every = self.drop_produce_every.load(Ordering::Relaxed);
        if every == 0 || api_key != 0 {
            return false;
        }
        let n = self.produce_count.fetch_add(1, Ordering::Relaxed) + 1;
        n.is_multiple_of(every)
    }
}
