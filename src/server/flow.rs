//! What one connection's reader and writer share — the replies it owes,
//! in bytes and in number, and when it last made progress — and the
//! broker-wide [`ConnectionStats`] they add up to.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Broker-wide figures of all connections (shared by the server's tasks).
#[derive(Debug, Default)]
pub struct ConnectionStats {
    queued_reply_bytes: AtomicUsize,
    pub(super) paused_readers: AtomicUsize,
}

impl ConnectionStats {
    /// Bytes of replies handled but not yet written to their sockets.
    pub fn queued_reply_bytes(&self) -> usize {
        self.queued_reply_bytes.load(Ordering::Relaxed)
    }

    /// Connections whose reader waits for their replies to be written.
    pub fn paused_readers(&self) -> usize {
        self.paused_readers.load(Ordering::Relaxed)
    }
}

/// What one connection's reader and writer share: the replies it owes.
pub(super) struct Flow {
    pub(super) stats: Arc<ConnectionStats>,
    /// Bytes of this connection's replies in hand but not yet written.
    pub(super) queued_bytes: AtomicUsize,
    /// Replies handed to the writer and not yet written (pending included).
    pub(super) in_flight: AtomicUsize,
    /// When the writer last wrote bytes, in ms since `opened`.
    pub(super) last_write_ms: AtomicU64,
    /// The writer has bytes in hand that the socket has not taken yet.
    pub(super) writing: AtomicBool,
    pub(super) opened: Instant,
    /// Signalled after every write.
    pub(super) written: Notify,
}

impl Flow {
    pub(super) fn new(stats: Arc<ConnectionStats>) -> Flow {
        Flow {
            stats,
            queued_bytes: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            last_write_ms: AtomicU64::new(0),
            writing: AtomicBool::new(false),
            opened: Instant::now(),
            written: Notify::new(),
        }
    }

    pub(super) fn queue(&self, bytes: usize) {
        self.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.stats
            .queued_reply_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }

    /// `replies` replies of `bytes` bytes in all were written.
    pub(super) fn wrote(&self, replies: usize, bytes: usize) {
        self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.stats
            .queued_reply_bytes
            .fetch_sub(bytes, Ordering::Relaxed);
        self.in_flight.fetch_sub(replies, Ordering::Relaxed);
        self.wrote_some();
        self.written.notify_one();
    }

    /// The socket took bytes: the connection is not idle.
    pub(super) fn wrote_some(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_write_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether the connection has been idle for `max_idle`: nothing read
    /// since `last_read` nor written since the last write, and no reply owed
    /// (a parked fetch keeps it open) unless the writer is stuck on a client
    /// that does not read. Otherwise, when to look again.
    pub(super) fn idle_check(&self, last_read: Instant, max_idle: Duration) -> Result<(), Instant> {
        let active = last_read.max(self.last_write());
        let quiet =
            self.in_flight.load(Ordering::Relaxed) == 0 || self.writing.load(Ordering::Relaxed);
        if quiet && active.elapsed() >= max_idle {
            Ok(())
        } else if quiet {
            Err(active + max_idle)
        } else {
            Err(Instant::now() + max_idle)
        }
    }

    /// Whether the reader may handle another request now.
    pub(super) fn may_read(&self, per_connection: usize, total: usize) -> bool {
        let mine = self.queued_bytes.load(Ordering::Relaxed);
        mine == 0
            || (mine < per_connection
                && self.stats.queued_reply_bytes.load(Ordering::Relaxed) < total)
    }

    fn last_write(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_write_ms.load(Ordering::Relaxed))
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        // Replies never written (the connection closed) leave the total.
        let left = *self.queued_bytes.get_mut();
        self.stats
            .queued_reply_bytes
            .fetch_sub(left, Ordering::Relaxed);
    }
}
