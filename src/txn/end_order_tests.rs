//! The order of an end of transaction under `--fsync always`: no marker is
//! written before the Prepare record is durable.
//!
//! Regression: EndTxn wrote the markers right after appending the Prepare
//! record, before its fsync. When the power went before that fsync, a
//! partition could keep its commit marker while `__transaction_state` lost
//! the Prepare record; the next broker found the transaction open and
//! aborted it, and the partition that kept its commit marker showed its
//! records — a transaction half visible (seen in the power-loss test).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use sluice_protocol::records::ControlType;

use super::*;
use crate::coordinator::writer::{DurableFuture, EncodedRecord, PartitionWriter};
use crate::coordinator::{ManualClock, Runtime};

/// `__transaction_state` whose fsyncs fail once `failing` is set (the
/// power went); appends still succeed, as writes to the page cache do.
#[derive(Default)]
struct StateLog {
    end: AtomicI64,
    failing: AtomicBool,
}

fn not_durable() -> PartitionError {
    PartitionError::Storage(sluice_storage::StorageError::Io(std::io::Error::other(
        "fsync failed",
    )))
}

impl PartitionWriter for StateLog {
    fn topic(&self) -> &str {
        TXN_STATE_TOPIC
    }

    fn index(&self) -> i32 {
        0
    }

    fn append_records(
        &self,
        records: &[EncodedRecord],
        _producer: Option<(i64, i16)>,
        _now: i64,
    ) -> Result<i64, PartitionError> {
        let n = i64::try_from(records.len()).unwrap_or(i64::MAX);
        Ok(self.end.fetch_add(n, Ordering::SeqCst) + n)
    }

    fn append_marker(
        &self,
        _producer_id: i64,
        _producer_epoch: i16,
        _control: ControlType,
        _now: i64,
    ) -> Result<i64, PartitionError> {
        Ok(self.end.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn wait_durable(self: Arc<Self>, _end: i64) -> DurableFuture {
        Box::pin(async move {
            if self.failing.load(Ordering::SeqCst) {
                Err(not_durable())
            } else {
                Ok(())
            }
        })
    }

    fn flush_blocking(self: Arc<Self>, _end: i64) -> bool {
        !self.failing.load(Ordering::SeqCst)
    }

    fn log_range(&self) -> (i64, i64) {
        (0, 0)
    }

    fn read_batches(&self, _offset: i64, _max_bytes: usize) -> Result<Bytes, PartitionError> {
        Ok(Bytes::new())
    }
}

/// Counts the markers written (to partitions that are not there).
struct Participants {
    ids: AtomicI64,
    markers: AtomicUsize,
}

impl TxnParticipants for Participants {
    fn next_producer_id(&self) -> Result<i64, TxnError> {
        Ok(self.ids.fetch_add(1, Ordering::Relaxed))
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
        self.markers.fetch_add(1, Ordering::SeqCst);
        None
    }
}

fn open() -> (Arc<StateLog>, Arc<Participants>, Transactions) {
    let log = Arc::new(StateLog::default());
    let writers: Vec<Arc<dyn PartitionWriter>> = vec![Arc::clone(&log) as Arc<dyn PartitionWriter>];
    let clock = ManualClock::new(1_000_000);
    let runtime = Runtime::load(writers, || TxnCoordinator::new(900_000), clock, true).unwrap();
    let participants = Arc::new(Participants {
        ids: AtomicI64::new(10),
        markers: AtomicUsize::new(0),
    });
    let txns = Transactions {
        runtime: Arc::new(runtime),
    };
    (log, participants, txns)
}

#[tokio::test]
async fn no_marker_is_written_before_the_prepare_record_is_durable() {
    let (log, participants, txns) = open();
    let (pid, epoch) = txns
        .init_producer_id(&*participants, "t", 30_000, None)
        .wait()
        .await
        .unwrap();
    txns.add_partitions("t", pid, epoch, &[("data".to_string(), 0)])
        .wait()
        .await
        .unwrap();
    // The power goes: the Prepare record reaches the page cache only.
    log.failing.store(true, Ordering::SeqCst);
    let ended = txns
        .end_txn(
            Arc::clone(&participants) as Arc<dyn TxnParticipants>,
            "t",
            pid,
            epoch,
            true,
        )
        .wait()
        .await;
    assert!(
        ended.is_err(),
        "a commit whose Prepare record is not durable fails"
    );
    assert_eq!(
        participants.markers.load(Ordering::SeqCst),
        0,
        "no marker may be written before the Prepare record is durable"
    );
}

#[tokio::test]
async fn markers_follow_a_durable_prepare_record() {
    let (_log, participants, txns) = open();
    let (pid, epoch) = txns
        .init_producer_id(&*participants, "t", 30_000, None)
        .wait()
        .await
        .unwrap();
    txns.add_partitions(
        "t",
        pid,
        epoch,
        &[("data".to_string(), 0), ("data".to_string(), 1)],
    )
    .wait()
    .await
    .unwrap();
    txns.end_txn(
        Arc::clone(&participants) as Arc<dyn TxnParticipants>,
        "t",
        pid,
        epoch,
        true,
    )
    .wait()
    .await
    .unwrap();
    assert_eq!(participants.markers.load(Ordering::SeqCst), 2);
    let m = txns.describe("t").unwrap();
    assert_eq!(m.state, super::super::state::TxnState::CompleteCommit);
}
