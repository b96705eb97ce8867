//! The broker's append path, end to end on bytes: split a Produce request's
//! records, cut each batch out of the shared buffer, assign offsets and
//! LogAppendTime, and check the stored bytes still validate and read back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use sluice_protocol::records::builder::BatchBuilder;
use sluice_protocol::records::{
    records, set_base_offset, set_log_append_time, set_partition_leader_epoch, split_batches,
    validate_batch, RecordsError, TimestampType,
};

#[test]
fn assign_offsets_across_batches() {
    let a = BatchBuilder::new()
        .record(10, Some(b"k"), Some(b"one"), &[])
        .record(11, Some(b"k"), Some(b"two"), &[])
        .build();
    let b = BatchBuilder::new()
        .record(12, None, Some(b"three"), &[])
        .build();
    let request_records = Bytes::from([a, b].concat());

    let mut next_offset = 1_000i64;
    let mut log = Vec::new();
    for batch in split_batches(&request_records).unwrap() {
        let mut stored = BytesMut::from(&request_records.slice(batch.range.clone())[..]);
        set_base_offset(&mut stored, next_offset).unwrap();
        set_partition_leader_epoch(&mut stored, 2).unwrap();
        set_log_append_time(&mut stored, 77_000).unwrap();
        let header = validate_batch(&stored).unwrap();
        assert_eq!(header.base_offset, next_offset);
        next_offset = header.last_offset() + 1;
        log.extend_from_slice(&stored);
    }
    assert_eq!(next_offset, 1_003);

    // What a consumer would be served: the log bytes, back to back.
    let served = split_batches(&log).unwrap();
    assert_eq!(served.len(), 2);
    let values: Vec<Vec<u8>> = served
        .iter()
        .flat_map(|b| records(b.bytes).unwrap())
        .map(|r| r.unwrap().value.unwrap().to_vec())
        .collect();
    assert_eq!(
        values,
        [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
    for b in &served {
        assert_eq!(b.header.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(b.header.max_timestamp, 77_000);
        assert_eq!(b.header.partition_leader_epoch, 2);
    }
}

#[test]
fn errors_say_what_is_wrong() {
    let batch = BatchBuilder::new().record(1, None, Some(b"v"), &[]).build();
    let mut bad = batch.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let err = split_batches(&bad).unwrap_err();
    assert!(matches!(err, RecordsError::CrcMismatch { .. }));
    assert!(err.to_string().contains("CRC"), "{err}");

    let err = split_batches(&batch[..batch.len() - 3]).unwrap_err();
    assert_eq!(
        err,
        RecordsError::Truncated {
            needed: batch.len(),
            available: batch.len() - 3
        }
    );
}

#[test]
fn control_and_transactional_flags_are_visible_to_the_broker() {
    // Kafka refuses control batches from clients; the broker decides, so the
    // flag must survive validation and be readable.
    let batch = BatchBuilder::new()
        .producer(5, 0, 0)
        .transactional(true)
        .control(true)
        .record(1, Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0, 0]), &[])
        .build();
    let header = split_batches(&batch).unwrap()[0].header;
    assert!(header.is_control());
    assert!(header.is_transactional());
    assert!(header.has_producer_id());
}
