//! Cross-checks against an independent v2 batch implementation (the
//! `kafka-protocol` crate): what it encodes we accept and read back the same,
//! and what we build or rewrite it decodes (it checks the CRC too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression as KCompression, Record as KRecord, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType as KTimestampType,
};
use sluice_protocol::records::builder::BatchBuilder;
use sluice_protocol::records::{
    records, set_base_offset, set_log_append_time, set_partition_leader_epoch, split_batches,
    Compression, TimestampType,
};

fn k_record(offset: i64, timestamp: i64, key: Option<&str>, value: Option<&str>) -> KRecord {
    let mut headers = kafka_protocol::indexmap::IndexMap::new();
    if offset % 2 == 0 {
        headers.insert(
            StrBytes::from_static_str("trace"),
            Some(Bytes::from_static(b"abc")),
        );
        headers.insert(StrBytes::from_static_str("empty"), None);
    }
    KRecord {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: 1234,
        producer_epoch: 5,
        timestamp_type: KTimestampType::Creation,
        offset,
        sequence: 10 + offset as i32,
        timestamp,
        key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
        value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
        headers,
    }
}

fn k_encode(records: &[KRecord], compression: KCompression) -> Vec<u8> {
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    if compression == KCompression::None {
        RecordBatchEncoder::encode(&mut buf, records, &options).unwrap();
    } else {
        // Stand-in "compressor" that copies: we never decompress, so only the
        // header and CRC matter here.
        RecordBatchEncoder::encode_with_custom_compression(
            &mut buf,
            records,
            &options,
            Some(|src: &mut BytesMut, dst: &mut BytesMut, _: KCompression| {
                dst.extend_from_slice(src);
                Ok(())
            }),
        )
        .unwrap();
    }
    buf.to_vec()
}

#[test]
fn their_uncompressed_batch_reads_the_same_here() {
    let input = vec![
        k_record(0, 1_000, Some("k0"), Some("v0")),
        k_record(1, 1_002, None, Some("")),
        k_record(2, 1_001, Some(""), None),
    ];
    let bytes = k_encode(&input, KCompression::None);
    let batches = split_batches(&bytes).unwrap();
    assert_eq!(batches.len(), 1);
    let h = batches[0].header;
    assert_eq!(h.records_count, 3);
    assert_eq!(h.producer_id, 1234);
    assert_eq!(h.producer_epoch, 5);
    assert_eq!(h.base_sequence, 10);
    assert_eq!(h.max_timestamp, 1_002);
    assert_eq!(h.compression(), Compression::None);

    let got: Vec<_> = records(&bytes).unwrap().map(Result::unwrap).collect();
    for (ours, theirs) in got.iter().zip(&input) {
        assert_eq!(i64::from(ours.offset_delta), theirs.offset);
        assert_eq!(h.base_timestamp + ours.timestamp_delta, theirs.timestamp);
        assert_eq!(ours.key, theirs.key.as_deref());
        assert_eq!(ours.value, theirs.value.as_deref());
        let headers: Vec<(&[u8], Option<&[u8]>)> = theirs
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().as_bytes(), v.as_deref()))
            .collect();
        assert_eq!(ours.headers, headers);
    }
}

#[test]
fn their_compressed_batch_passes_batch_level_checks() {
    let input = vec![
        k_record(0, 5, Some("a"), Some("b")),
        k_record(1, 6, None, None),
    ];
    let bytes = k_encode(&input, KCompression::Zstd);
    let batches = split_batches(&bytes).unwrap();
    assert_eq!(batches[0].header.compression(), Compression::Zstd);
    assert!(records(&bytes).is_err());
}

#[test]
fn our_batch_decodes_there() {
    let bytes = BatchBuilder::new()
        .producer(77, 3, 100)
        .record(
            2_000,
            Some(b"key"),
            Some(b"value"),
            &[(b"h1", Some(b"x")), (b"h2", None)],
        )
        .record(2_010, None, None, &[])
        .build();
    let set = RecordBatchDecoder::decode(&mut Bytes::from(bytes)).unwrap();
    assert_eq!(set.records.len(), 2);
    let r0 = &set.records[0];
    assert_eq!((r0.offset, r0.timestamp, r0.sequence), (0, 2_000, 100));
    assert_eq!(r0.key.as_deref(), Some(b"key".as_slice()));
    assert_eq!(r0.value.as_deref(), Some(b"value".as_slice()));
    assert_eq!(r0.headers.len(), 2);
    assert_eq!(r0.producer_id, 77);
    let r1 = &set.records[1];
    assert_eq!(
        (r1.offset, r1.timestamp, r1.key.clone(), r1.value.clone()),
        (1, 2_010, None, None)
    );
}

#[test]
fn rewritten_batch_decodes_there_with_new_offsets_and_append_time() {
    let mut bytes = BatchBuilder::new()
        .record(2_000, None, Some(b"a"), &[])
        .record(2_010, None, Some(b"b"), &[])
        .build();
    set_base_offset(&mut bytes, 500).unwrap();
    set_partition_leader_epoch(&mut bytes, 4).unwrap();
    set_log_append_time(&mut bytes, 9_999).unwrap();
    assert_eq!(
        split_batches(&bytes).unwrap()[0].header.timestamp_type(),
        TimestampType::LogAppendTime
    );
    let set = RecordBatchDecoder::decode(&mut Bytes::from(bytes)).unwrap();
    let offsets: Vec<i64> = set.records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, [500, 501]);
    for r in &set.records {
        assert_eq!(r.partition_leader_epoch, 4);
        assert_eq!(r.timestamp_type, KTimestampType::LogAppend);
    }
}
