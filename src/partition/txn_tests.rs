//! Transactions as one partition sees them: the last stable offset, markers
//! and read_committed reads, and their rebuild when the partition reopens.

use std::sync::Arc;

use sluice_protocol::records::{self, builder::BatchBuilder, ControlType};

use super::aborted::AbortedTxn;
use super::{Partition, Partitions};
use crate::metadata::{BrokerDefaults, TopicMeta};

fn open(dir: &std::path::Path) -> (Partitions, Arc<Partition>) {
    let partitions = Partitions::new(dir, false);
    let meta = TopicMeta {
        name: "t".into(),
        id: uuid::Uuid::new_v4(),
        partitions: 1,
        configs: Default::default(),
        internal: false,
    };
    partitions
        .open_topic(&meta, &BrokerDefaults::new(&[]))
        .unwrap();
    let p = partitions.get("t", 0).unwrap();
    (partitions, p)
}

fn write(p: &Partition, pid: i64, seq: i32, txn: bool) -> i64 {
    let bytes = BatchBuilder::new()
        .producer(pid, 0, seq)
        .transactional(txn)
        .record(1, None, Some(b"v"), &[])
        .build();
    let header = records::validate_batch(&bytes).unwrap();
    p.append(&bytes, &header, None).unwrap().base_offset
}

#[test]
fn last_stable_offset_markers_and_read_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (partitions, p) = open(dir.path());
    assert_eq!(write(&p, 1, 0, false), 0); // idempotent, not transactional
    assert_eq!(write(&p, 2, 0, true), 1); // txn A opens at 1
    assert_eq!(write(&p, 3, 0, true), 2); // txn B opens at 2
    assert_eq!(write(&p, 2, 1, true), 3);
    let marks = p.watermarks();
    assert_eq!((marks.high_watermark, marks.last_stable_offset), (4, 1));

    let (bytes, aborted) = p.read_committed(0, 1 << 20).unwrap();
    assert_eq!(
        records::split_batches(&bytes).unwrap().len(),
        1,
        "stops at the LSO"
    );
    assert!(aborted.is_empty());

    // A aborts: the LSO moves to B's first offset.
    assert_eq!(
        p.append_marker(2, 0, ControlType::Abort, 0, 5)
            .unwrap()
            .base_offset,
        4
    );
    assert_eq!(p.watermarks().last_stable_offset, 2);
    // B commits: nothing open, LSO = HW.
    assert_eq!(
        p.append_marker(3, 0, ControlType::Commit, 0, 5)
            .unwrap()
            .base_offset,
        5
    );
    assert_eq!(p.watermarks().last_stable_offset, 6);

    let (bytes, aborted) = p.read_committed(0, 1 << 20).unwrap();
    assert_eq!(records::split_batches(&bytes).unwrap().len(), 6);
    let a = AbortedTxn {
        producer_id: 2,
        first_offset: 1,
        last_offset: 4,
    };
    assert_eq!(aborted, vec![a]);
    assert!(p.read_committed(5, 1 << 20).unwrap().1.is_empty());

    // A new transaction stays open across a reopen; the aborted one is remembered.
    assert_eq!(write(&p, 2, 2, true), 6);
    drop(p);
    partitions.close_all();
    let (_partitions, p) = open(dir.path());
    let marks = p.watermarks();
    assert_eq!((marks.high_watermark, marks.last_stable_offset), (7, 6));
    assert_eq!(p.read_committed(0, 1 << 20).unwrap().1, vec![a]);
    p.append_marker(2, 0, ControlType::Commit, 0, 5).unwrap();
    assert_eq!(p.watermarks().last_stable_offset, 8);
}
