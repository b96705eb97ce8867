//! Expiry of idle transactional ids on the runtime, by the injected clock:
//! tombstones reach `__transaction_state` and replay at start keeps the ids
//! gone.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use sluice_protocol::records::ControlType;

use super::*;
use crate::coordinator::{ManualClock, Runtime};
use crate::metadata::{BrokerDefaults, TopicMeta};
use crate::partition::Partitions;

const EXPIRATION: i64 = 60_000;

/// New producer ids from a counter; no data partitions (no markers).
struct Participants(AtomicI64);

impl TxnParticipants for Participants {
    fn next_producer_id(&self) -> Result<i64, TxnError> {
        Ok(self.0.fetch_add(1, Ordering::Relaxed))
    }

    fn write_marker(
        &self,
        _topic: &str,
        _index: i32,
        _producer_id: i64,
        _epoch: i16,
        _control: ControlType,
        _now: i64,
    ) -> Option<Result<Write, PartitionError>> {
        None
    }
}

fn open(dir: &std::path::Path, clock: Arc<ManualClock>) -> (Partitions, Transactions) {
    let partitions = Partitions::new(dir, false);
    let meta = TopicMeta {
        name: TXN_STATE_TOPIC.into(),
        id: uuid::Uuid::new_v4(),
        partitions: 1,
        configs: Default::default(),
        internal: true,
    };
    partitions
        .open_topic(&meta, &BrokerDefaults::new(&[]))
        .unwrap();
    let writers =
        crate::coordinator::writer::internal_topic_writers(&partitions, TXN_STATE_TOPIC, 1)
            .unwrap();
    let runtime = Runtime::load(writers, || TxnCoordinator::new(900_000), clock, false).unwrap();
    let txns = Transactions {
        runtime: Arc::new(runtime),
    };
    (partitions, txns)
}

fn ids(txns: &Transactions) -> Vec<String> {
    let mut all: Vec<String> = txns
        .list()
        .into_iter()
        .map(|m| m.transactional_id)
        .collect();
    all.sort();
    all
}

#[test]
fn idle_ids_are_tombstoned_and_stay_gone_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let state = Participants(AtomicI64::new(10));
    let (partitions, txns) = open(dir.path(), Arc::clone(&clock));
    let (idle_pid, _) = txns
        .init_producer_id(&state, "idle", 30_000, None)
        .wait_blocking()
        .unwrap();
    let (busy_pid, busy_epoch) = txns
        .init_producer_id(&state, "busy", 30_000, None)
        .wait_blocking()
        .unwrap();
    txns.add_partitions("busy", busy_pid, busy_epoch, &[("t".into(), 0)])
        .wait_blocking()
        .unwrap();
    let end_before = partitions
        .get(TXN_STATE_TOPIC, 0)
        .unwrap()
        .watermarks()
        .high_watermark;

    clock.advance(EXPIRATION - 1);
    assert_eq!(txns.remove_expired_transactional_ids(EXPIRATION), 0);
    clock.advance(1);
    assert_eq!(txns.remove_expired_transactional_ids(EXPIRATION), 1);
    assert_eq!(ids(&txns), ["busy"], "an open transaction does not expire");
    assert!(txns.describe("idle").is_none());
    let log = partitions.get(TXN_STATE_TOPIC, 0).unwrap();
    assert_eq!(
        log.watermarks().high_watermark,
        end_before + 1,
        "one tombstone"
    );
    assert_eq!(
        txns.remove_expired_transactional_ids(EXPIRATION),
        0,
        "done once"
    );
    drop((txns, log));
    partitions.close_all();
    drop(partitions);

    // Replay at start reads the tombstone: the id stays gone.
    let (partitions, txns) = open(dir.path(), Arc::clone(&clock));
    assert_eq!(ids(&txns), ["busy"]);
    // InitProducerId with it starts afresh: a new producer id, epoch 0.
    let (pid, epoch) = txns
        .init_producer_id(&state, "idle", 30_000, Some((idle_pid, 0)))
        .wait_blocking()
        .unwrap();
    assert_ne!(pid, idle_pid);
    assert_eq!(epoch, 0);
    assert_eq!(ids(&txns), ["busy", "idle"]);
    partitions.close_all();
}

#[test]
fn tombstones_are_split_into_bounded_batches() {
    let long = "x".repeat(30_000);
    let tombstones: Vec<TxnRecord> = (0..100)
        .map(|i| TxnRecord {
            transactional_id: format!("{long}{i}"),
            value: None,
        })
        .collect();
    let batches = tombstone_batches(tombstones);
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 100);
    assert!(batches.len() > 1);
    for batch in &batches {
        let bytes: usize = batch.iter().map(|t| t.transactional_id.len() + 4).sum();
        assert!(bytes <= TOMBSTONE_BATCH_BYTES);
    }
    assert!(tombstone_batches(Vec::new()).is_empty());
}
