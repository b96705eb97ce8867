//! The third stage: per-API request metrics, kept in memory with atomics
//! (no exporter yet; a Prometheus `/metrics` endpoint reads
//! [`RequestMetrics::apis`] later).
//!
//! For each API of the table: requests received, and the latency of those
//! answered — from the request entering this stage to its response being
//! ready to write (a long poll or a produce waiting for its fsync
//! included; the time in the connection's write queue excluded) — as a sum
//! and a histogram.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::ApiKey;

use super::output::ConnectionAction;
use super::table::{ApiEntry, API_TABLE};

/// Upper bounds of the latency histogram's buckets, in microseconds; one
/// more bucket counts everything slower.
pub const LATENCY_BUCKETS_US: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// The metrics of one API.
#[derive(Debug)]
pub struct ApiMetrics {
    pub key: ApiKey,
    /// The table's name of the API.
    pub name: &'static str,
    requests: AtomicU64,
    latency_us_sum: AtomicU64,
    /// Answers per latency bucket (not cumulative); the last one is +Inf.
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
}

impl ApiMetrics {
    fn new(entry: &ApiEntry) -> ApiMetrics {
        ApiMetrics {
            key: entry.key,
            name: entry.name,
            requests: AtomicU64::new(0),
            latency_us_sum: AtomicU64::new(0),
            latency_buckets: Default::default(),
        }
    }

    /// Requests received.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests answered (or closed on); at most [`Self::requests`].
    pub fn answered(&self) -> u64 {
        self.latency_buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .sum()
    }

    /// The latencies of the answered requests, added up.
    pub fn latency_sum(&self) -> Duration {
        Duration::from_micros(self.latency_us_sum.load(Ordering::Relaxed))
    }

    /// Answered requests per bucket of [`LATENCY_BUCKETS_US`], the last
    /// entry counting those slower than every bound (not cumulative).
    pub fn latency_histogram(&self) -> [u64; LATENCY_BUCKETS_US.len() + 1] {
        std::array::from_fn(|i| self.latency_buckets[i].load(Ordering::Relaxed))
    }

    fn received(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn answered_after(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us_sum.fetch_add(us, Ordering::Relaxed);
        let bucket = LATENCY_BUCKETS_US.partition_point(|&bound| bound < us);
        self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }
}

/// Every API's metrics, one per API the broker serves, in the order of
/// its API table.
#[derive(Debug)]
pub struct RequestMetrics {
    apis: Box<[ApiMetrics]>,
}

impl Default for RequestMetrics {
    fn default() -> RequestMetrics {
        RequestMetrics {
            apis: API_TABLE.iter().map(ApiMetrics::new).collect(),
        }
    }
}

impl RequestMetrics {
    /// Every API's metrics, in table order.
    pub fn apis(&self) -> &[ApiMetrics] {
        &self.apis
    }

    /// The metrics of `key`, if the table serves it.
    pub fn api(&self, key: ApiKey) -> Option<&ApiMetrics> {
        self.apis.iter().find(|m| m.key == key)
    }
}

/// Counts a request of the API at `index` in the table and times what
/// `handle` does with it, until its response is ready: a pending response
/// is timed when it completes (one dropped unanswered is not counted).
pub(super) async fn measure<F>(
    metrics: &Arc<RequestMetrics>,
    index: usize,
    handle: F,
) -> ConnectionAction
where
    F: Future<Output = ConnectionAction>,
{
    let Some(api) = metrics.apis.get(index) else {
        return handle.await;
    };
    api.received();
    let started = Instant::now();
    match handle.await {
        ConnectionAction::WritePending(pending) => {
            let metrics = Arc::clone(metrics);
            ConnectionAction::WritePending(Box::pin(async move {
                let frame = pending.await;
                if let Some(api) = metrics.apis.get(index) {
                    api.answered_after(started.elapsed());
                }
                frame
            }))
        }
        action => {
            api.answered_after(started.elapsed());
            action
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::dispatch::table;

    fn index_of(key: ApiKey) -> usize {
        table::find(key).map(|(i, _)| i).unwrap()
    }

    #[test]
    fn latencies_land_in_their_buckets() {
        let metrics = RequestMetrics::default();
        let fetch = metrics.api(ApiKey::Fetch).unwrap();
        for us in [0, 100, 101, 999, 1_000, 20_000_000] {
            fetch.answered_after(Duration::from_micros(us));
        }
        let histogram = fetch.latency_histogram();
        assert_eq!(histogram[0], 2, "<= 100 us");
        assert_eq!(histogram[1], 1, "<= 250 us");
        assert_eq!(histogram[3], 2, "<= 1 ms");
        assert_eq!(histogram[LATENCY_BUCKETS_US.len()], 1, "slower than 10 s");
        assert_eq!(fetch.answered(), 6);
        assert_eq!(fetch.latency_sum(), Duration::from_micros(20_002_200));
    }

    #[test]
    fn one_entry_per_table_api() {
        let metrics = RequestMetrics::default();
        assert_eq!(metrics.apis().len(), API_TABLE.len());
        for (m, e) in metrics.apis().iter().zip(API_TABLE) {
            assert_eq!((m.key, m.name), (e.key, e.name));
        }
    }

    #[tokio::test]
    async fn requests_are_counted_and_timed_once_answered() {
        let metrics = Arc::new(RequestMetrics::default());
        let produce = index_of(ApiKey::Produce);
        let answered = measure(&metrics, produce, async {
            ConnectionAction::Write(BytesMut::from(&b"now"[..]))
        })
        .await;
        assert!(matches!(answered, ConnectionAction::Write(_)));

        let (answer, answered) = tokio::sync::oneshot::channel::<()>();
        let pending = measure(&metrics, produce, async move {
            ConnectionAction::WritePending(Box::pin(async move {
                let _ = answered.await;
                BytesMut::new()
            }))
        })
        .await;
        let m = metrics.api(ApiKey::Produce).unwrap();
        assert_eq!(
            (m.requests(), m.answered()),
            (2, 1),
            "the pending one is not answered yet"
        );
        let ConnectionAction::WritePending(pending) = pending else {
            panic!("a pending response stays pending");
        };
        answer.send(()).unwrap();
        pending.await;
        assert_eq!((m.requests(), m.answered()), (2, 2));
        assert_eq!(metrics.api(ApiKey::Fetch).unwrap().requests(), 0);
    }
}
