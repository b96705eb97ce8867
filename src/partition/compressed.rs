//! The records inside a compressed batch, and the broker's own codec
//! (`compression.type`): what Kafka's `LogValidator` does for a batch it has
//! to decompress.
//!
//! A batch takes this path when it is compressed, or when the topic's
//! `compression.type` names a codec other than the batch's (an uncompressed
//! batch for a `gzip` topic is "recompressed" from its own record bytes,
//! without any decompression). An uncompressed batch for a `producer` or
//! `uncompressed` topic never comes here: its records were already read once
//! by `split_batches`, and it keeps today's zero-copy path.
//!
//! Here the records are decompressed once, to at most
//! [`decompressed_limit`] bytes, and walked once:
//!
//! | check | refusal |
//! |---|---|
//! | the data decompresses (not damaged, not past the limit) | CORRUPT_MESSAGE |
//! | exactly `records_count` well-formed records filling the data | INVALID_RECORD |
//! | offset deltas are 0, 1, 2, ... | INVALID_RECORD |
//! | a compacted topic's records have keys | INVALID_RECORD + record indexes |
//! | CreateTime record timestamps within `message.timestamp.before/after.max.ms` | INVALID_TIMESTAMP |
//!
//! As in Kafka, a record with a timestamp error is reported as such even if
//! others lack a key (one error per record, keys first; INVALID_TIMESTAMP
//! wins over INVALID_RECORD for the batch). Kafka would silently rebuild a
//! compressed batch whose inner offsets do not count from 0; Sluice refuses
//! it, as it refuses such an uncompressed batch (no client writes one).
//!
//! The header's max timestamp is set to the records' largest, and when the
//! topic's codec differs from the batch's the records are written anew with
//! it (offsets, timestamps, producer id, epoch, sequence and flags kept; new
//! batch length and CRC), after which the batch must still fit
//! `max.message.bytes` (MESSAGE_TOO_LARGE), as Kafka re-checks it.

use std::borrow::Cow;

use sluice_protocol::records::{self, BatchRef, Compression};

use super::validator::ValidBatch;
use crate::error::PartitionError;
use crate::metadata::{TimestampType, TopicConfig};

/// The smallest decompressed size every topic allows (see
/// [`decompressed_limit`]).
const MIN_DECOMPRESSED_LIMIT: usize = 64 << 20;
/// How much larger than `max.message.bytes` a batch's records may be once
/// decompressed.
const DECOMPRESSION_RATIO: usize = 64;
/// The most any batch may decompress to.
const MAX_DECOMPRESSED_LIMIT: usize = 256 << 20;

/// How many bytes the records of one compressed batch may decompress to:
/// 64 × `max.message.bytes`, at least 64 MiB and at most 256 MiB.
///
/// Kafka sets no such bound (it streams the records, and its heap is the
/// limit); Sluice holds the decompressed records of a batch in memory, so it
/// needs one, and a batch that would inflate past it (a decompression bomb)
/// is refused with CORRUPT_MESSAGE after at most this much work. The bound
/// must still pass what real producers send: `max.message.bytes` caps the
/// *compressed* batch, and the Java producer fills batches by their
/// estimated compressed size, so highly compressible data (zeros, repeated
/// JSON) legitimately inflates tens of times. 64× covers ratios beyond what
/// zstd reaches on real payloads; the floor keeps small topic limits from
/// refusing ordinary batches, the ceiling bounds the memory one request can
/// take however large `max.message.bytes` is set.
pub fn decompressed_limit(max_message_bytes: i64) -> usize {
    usize::try_from(max_message_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(DECOMPRESSION_RATIO)
        .clamp(MIN_DECOMPRESSED_LIMIT, MAX_DECOMPRESSED_LIMIT)
}

/// Validates the records of `batch` (already framed, CRC-checked and past
/// the batch-level checks) and stores them with `target`, the topic's codec
/// for this batch.
pub(super) fn validate<'a>(
    batch: &BatchRef<'a>,
    config: &TopicConfig,
    target: Compression,
    now: i64,
) -> Result<ValidBatch<'a>, PartitionError> {
    let mut header = batch.header;
    let decoded =
        records::batch_records(batch.bytes, decompressed_limit(config.max_message_bytes))?;
    let create_time = config.message_timestamp_type == TimestampType::CreateTime;

    let mut max_timestamp = None;
    let mut keyless = Vec::new();
    let mut bad_timestamp = None;
    let mut expected: i32 = 0;
    for record in decoded.iter() {
        let record = record?;
        if record.offset_delta != expected {
            return Err(PartitionError::InvalidRecord(format!(
                "record {expected} inside the compressed batch has offset delta {}",
                record.offset_delta
            )));
        }
        let timestamp = header.base_timestamp.saturating_add(record.timestamp_delta);
        max_timestamp = Some(max_timestamp.map_or(timestamp, |m: i64| m.max(timestamp)));
        if config.cleanup_policy.compact && record.key.is_none() {
            keyless.push(expected);
        } else if create_time
            && bad_timestamp.is_none()
            && timestamp != -1
            && out_of_range(config, timestamp, now)
        {
            bad_timestamp = Some(timestamp);
        }
        expected = expected.saturating_add(1);
    }
    if let Some(timestamp) = bad_timestamp {
        return Err(PartitionError::InvalidTimestamp { timestamp });
    }
    if !keyless.is_empty() {
        return Err(PartitionError::KeylessRecordsInCompactedTopic { indexes: keyless });
    }

    let mut bytes = Cow::Borrowed(batch.bytes);
    if target != header.compression() {
        let level = config.compression.level(target);
        let rewritten = records::with_codec(batch.bytes, decoded.area(), target, level)?;
        header = records::parse_header(&rewritten)?;
        check_size(rewritten.len(), config)?;
        bytes = Cow::Owned(rewritten);
    }
    if !create_time {
        return Ok(ValidBatch {
            bytes,
            header,
            log_append_time: Some(now),
        });
    }
    if let Some(max) = max_timestamp.filter(|max| *max != header.max_timestamp) {
        records::set_max_timestamp(bytes.to_mut(), max)?;
        header.max_timestamp = max;
        header.crc = records::compute_crc(&bytes)?;
    }
    Ok(ValidBatch {
        bytes,
        header,
        log_append_time: None,
    })
}

/// Kafka's per-record test: `now - ts > before` or `ts - now > after`.
fn out_of_range(config: &TopicConfig, timestamp: i64, now: i64) -> bool {
    now.saturating_sub(timestamp) > config.message_timestamp_before_max_ms
        || timestamp.saturating_sub(now) > config.message_timestamp_after_max_ms
}

fn check_size(size: usize, config: &TopicConfig) -> Result<(), PartitionError> {
    if i64::try_from(size).unwrap_or(i64::MAX) > config.max_message_bytes {
        return Err(PartitionError::MessageTooLarge {
            size,
            max: usize::try_from(config.max_message_bytes).unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sluice_protocol::records::builder::BatchBuilder;
    use sluice_protocol::records::compute_crc;

    use super::*;
    use crate::error::{ErrorCode, TxnError};
    use crate::metadata::{BrokerDefaults, TopicMeta};
    use crate::partition::validator::{
        validate as run_validator, ProducedBatch, TransactionMembership,
    };

    const NOW: i64 = 1_700_000_000_000;
    const CODECS: [Compression; 4] = [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    struct NoTxns;
    impl TransactionMembership for NoTxns {
        fn verify(&self, _: i64, _: i16, _: &str, _: i32) -> Result<(), TxnError> {
            Ok(())
        }
    }

    fn run(
        configs: &[(&str, &str)],
        bytes: &[u8],
    ) -> Result<(Vec<u8>, ValidBatch<'static>), PartitionError> {
        let meta = TopicMeta {
            name: "t".into(),
            id: uuid::Uuid::nil(),
            partitions: 1,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            internal: false,
        };
        let config = TopicConfig::resolve(&meta, &BrokerDefaults::new(&[]));
        let produced = ProducedBatch {
            records: Some(bytes),
            produce_version: 9,
        };
        let valid = run_validator(&meta, 0, &config, produced, &NoTxns, NOW)?;
        let owned = valid.bytes.into_owned();
        Ok((
            owned.clone(),
            ValidBatch {
                bytes: Cow::Owned(owned),
                header: valid.header,
                log_append_time: valid.log_append_time,
            },
        ))
    }

    fn code(r: Result<(Vec<u8>, ValidBatch<'static>), PartitionError>) -> i16 {
        r.map(|_| 0).unwrap_or_else(|e| e.code())
    }

    fn three(codec: Compression) -> BatchBuilder {
        BatchBuilder::new()
            .compression(codec)
            .producer(5, 1, 10)
            .record(NOW - 3, Some(b"a"), Some(b"1"), &[(b"h", Some(b"x"))])
            .record(NOW - 1, Some(b"b"), Some(b"2"), &[])
            .record(NOW - 2, Some(b"c"), Some(b"3"), &[])
    }

    /// Replaces a compressed batch's records with `area` compressed by
    /// `codec`, keeping its header (count, last offset delta) as it was.
    fn with_area(batch: &[u8], area: &[u8], codec: Compression) -> Vec<u8> {
        records::with_codec(batch, area, codec, None).unwrap()
    }

    #[test]
    fn every_codec_passes_and_is_stored_as_sent() {
        for codec in CODECS {
            let bytes = three(codec).build();
            let (stored, valid) = run(&[], &bytes).unwrap();
            assert_eq!(stored, bytes, "{codec:?}: kept as sent");
            assert_eq!(valid.header.compression(), codec);
            assert_eq!(valid.header.max_timestamp, NOW - 1);
            assert_eq!(valid.log_append_time, None);
        }
    }

    #[test]
    fn the_max_timestamp_comes_from_the_decompressed_records() {
        let mut bytes = three(Compression::Lz4).build();
        records::set_max_timestamp(&mut bytes, -1).unwrap();
        let (stored, valid) = run(&[], &bytes).unwrap();
        assert_eq!(valid.header.max_timestamp, NOW - 1);
        let reparsed = records::validate_batch(&stored).unwrap();
        assert_eq!(reparsed.max_timestamp, NOW - 1);
        assert_eq!(reparsed.crc, valid.header.crc);
    }

    #[test]
    fn damaged_compressed_data_is_corrupt_message() {
        for codec in CODECS {
            let good = three(codec).build();
            // Valid CRC over garbage where the compressed records should be.
            let mut bad = good[..61].to_vec();
            bad.extend_from_slice(b"\x00\x01 definitely not compressed data \xff\xfe");
            let len = (bad.len() - 12) as i32;
            bad[8..12].copy_from_slice(&len.to_be_bytes());
            let crc = compute_crc(&bad).unwrap();
            bad[17..21].copy_from_slice(&crc.to_be_bytes());
            assert!(
                matches!(run(&[], &bad), Err(PartitionError::CorruptMessage(_))),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn a_decompression_bomb_is_corrupt_message() {
        // 1 MiB of zeros per record, 80 records: 80 MiB once decompressed,
        // past the 64 MiB floor; the zstd batch itself is a few KiB.
        let zeros = vec![0u8; 1 << 20];
        let mut b = BatchBuilder::new().compression(Compression::Zstd);
        for _ in 0..80 {
            b = b.record(NOW, Some(b"k"), Some(&zeros), &[]);
        }
        let bomb = b.build();
        assert!(bomb.len() < 1_048_588, "{}", bomb.len());
        let refused = run(&[], &bomb);
        assert!(
            matches!(&refused, Err(PartitionError::CorruptMessage(m)) if m.contains("more than")),
            "{:?}",
            refused.map(|_| ())
        );
        assert_eq!(decompressed_limit(1_048_588), 64 * 1_048_588);
        assert_eq!(decompressed_limit(100), 64 << 20);
        assert_eq!(decompressed_limit(i64::MAX), 256 << 20);
        assert_eq!(decompressed_limit(-1), 256 << 20);
    }

    #[test]
    fn keyless_records_in_a_compressed_batch_on_a_compacted_topic() {
        let compact = [("cleanup.policy", "compact")];
        for codec in CODECS {
            let bytes = BatchBuilder::new()
                .compression(codec)
                .record(NOW, Some(b"k"), Some(b"v"), &[])
                .record(NOW, None, Some(b"v"), &[])
                .record(NOW, Some(b"k"), Some(b"v"), &[])
                .record(NOW, None, None, &[])
                .build();
            assert!(matches!(
                run(&compact, &bytes),
                Err(PartitionError::KeylessRecordsInCompactedTopic { indexes }) if indexes == [1, 3]
            ));
            assert_eq!(code(run(&[], &bytes)), 0, "delete policy");
        }
    }

    #[test]
    fn bad_inner_offsets_and_counts_are_invalid_record() {
        let good = three(Compression::Gzip);
        let plain = BatchBuilder::new()
            .producer(5, 1, 10)
            .record(NOW - 3, Some(b"a"), Some(b"1"), &[(b"h", Some(b"x"))])
            .record(NOW - 1, Some(b"b"), Some(b"2"), &[])
            .record(NOW - 2, Some(b"c"), Some(b"3"), &[])
            .build();
        let batch = good.build();
        let area = &plain[61..];

        // The second record's offset delta 1 → 5 (zigzag 2 → 10): the byte
        // after its length, attributes and timestamp delta.
        let first_len = usize::from(area[0] / 2) + 1;
        let mut shifted = area.to_vec();
        assert_eq!(shifted[first_len + 3], 2);
        shifted[first_len + 3] = 10;
        let refused = run(&[], &with_area(&batch, &shifted, Compression::Gzip));
        assert!(
            matches!(&refused, Err(PartitionError::InvalidRecord(m)) if m.contains("offset delta 5")),
            "{:?}",
            refused.map(|_| ())
        );

        // Fewer records than the header says (two of three).
        let two_records = BatchBuilder::new()
            .record(NOW, Some(b"a"), Some(b"1"), &[])
            .record(NOW, Some(b"b"), Some(b"2"), &[])
            .build();
        let fewer = with_area(&batch, &two_records[61..], Compression::Gzip);
        assert!(
            matches!(run(&[], &fewer), Err(PartitionError::InvalidRecord(m)) if m.contains("declares 3"))
        );

        // More: bytes left after the third record.
        let mut more = area.to_vec();
        more.extend_from_slice(&two_records[61..]);
        let refused = run(&[], &with_area(&batch, &more, Compression::Gzip));
        assert!(
            matches!(refused, Err(PartitionError::InvalidRecord(m)) if m.contains("left after"))
        );

        // A malformed record (a length running past the data).
        let mut broken = area.to_vec();
        broken[0] = 0x7e;
        let refused = run(&[], &with_area(&batch, &broken, Compression::Gzip));
        assert!(matches!(refused, Err(PartitionError::InvalidRecord(_))));
    }

    #[test]
    fn record_timestamps_are_checked_one_by_one() {
        // The middle record is out of range, the first and max are not: only
        // a per-record walk finds it.
        let bytes = BatchBuilder::new()
            .compression(Compression::Snappy)
            .record(NOW, Some(b"k"), Some(b"v"), &[])
            .record(NOW - 5_000, Some(b"k"), Some(b"v"), &[])
            .record(NOW, Some(b"k"), Some(b"v"), &[])
            .build();
        let bounds = [("message.timestamp.before.max.ms", "1000")];
        assert!(matches!(
            run(&bounds, &bytes),
            Err(PartitionError::InvalidTimestamp { timestamp }) if timestamp == NOW - 5_000
        ));
        let future = [("message.timestamp.after.max.ms", "0")];
        let ahead = BatchBuilder::new()
            .compression(Compression::Lz4)
            .record(NOW, Some(b"k"), Some(b"v"), &[])
            .record(NOW + 1, Some(b"k"), Some(b"v"), &[])
            .build();
        assert!(matches!(
            run(&future, &ahead),
            Err(PartitionError::InvalidTimestamp { .. })
        ));
        // A timestamp error wins over a missing key elsewhere, as in Kafka.
        let both = BatchBuilder::new()
            .compression(Compression::Gzip)
            .record(NOW, None, Some(b"v"), &[])
            .record(NOW - 5_000, Some(b"k"), Some(b"v"), &[])
            .build();
        let compact_bounds = [
            ("cleanup.policy", "compact"),
            ("message.timestamp.before.max.ms", "1000"),
        ];
        assert!(matches!(
            run(&compact_bounds, &both),
            Err(PartitionError::InvalidTimestamp { .. })
        ));
        // LogAppendTime: not checked, stamped on append.
        let (_, valid) = run(
            &[
                ("message.timestamp.type", "LogAppendTime"),
                ("message.timestamp.before.max.ms", "1000"),
            ],
            &bytes,
        )
        .unwrap();
        assert_eq!(valid.log_append_time, Some(NOW));
    }

    #[test]
    fn compression_type_recompresses_keeping_the_header() {
        let sources = [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ];
        let targets = [
            ("uncompressed", Compression::None),
            ("gzip", Compression::Gzip),
            ("snappy", Compression::Snappy),
            ("lz4", Compression::Lz4),
            ("zstd", Compression::Zstd),
        ];
        let plain = three(Compression::None).transactional(true).build();
        for source in sources {
            let bytes = three(source).transactional(true).build();
            let before = records::validate_batch(&bytes).unwrap();
            for (name, target) in targets {
                let (stored, valid) = run(&[("compression.type", name)], &bytes).unwrap();
                let after = records::validate_batch(&stored).unwrap();
                assert_eq!(after, valid.header);
                assert_eq!(after.compression(), target, "{source:?} → {name}");
                assert_eq!(
                    (
                        after.attributes & !7,
                        after.last_offset_delta,
                        after.base_timestamp,
                        after.max_timestamp
                    ),
                    (
                        before.attributes & !7,
                        before.last_offset_delta,
                        before.base_timestamp,
                        before.max_timestamp
                    )
                );
                assert_eq!(
                    (
                        after.producer_id,
                        after.producer_epoch,
                        after.base_sequence,
                        after.records_count
                    ),
                    (5, 1, 10, 3)
                );
                let decoded = records::batch_records(&stored, 1 << 20).unwrap();
                assert_eq!(decoded.area(), &plain[61..]);
                if source == target {
                    assert_eq!(stored, bytes, "same codec: kept as sent");
                }
            }
            // `producer` keeps the batch's codec and bytes.
            let (stored, _) = run(&[("compression.type", "producer")], &bytes).unwrap();
            assert_eq!(stored, bytes);
        }
    }

    #[test]
    fn the_topic_level_is_used() {
        let value = (0..20_000u32).map(|i| (i % 97) as u8).collect::<Vec<_>>();
        let bytes = BatchBuilder::new()
            .record(NOW, Some(b"k"), Some(&value), &[])
            .build();
        let (fast, _) = run(
            &[
                ("compression.type", "gzip"),
                ("compression.gzip.level", "1"),
            ],
            &bytes,
        )
        .unwrap();
        let (best, _) = run(
            &[
                ("compression.type", "gzip"),
                ("compression.gzip.level", "9"),
            ],
            &bytes,
        )
        .unwrap();
        assert_ne!(fast, best);
        // gzip's header says which: XFL 4 = fastest, 2 = best (RFC 1952).
        assert_eq!((fast[61 + 8], best[61 + 8]), (4, 2));
    }

    #[test]
    fn a_batch_too_large_after_recompression_is_refused() {
        // Random-looking values do not compress: the gzip copy is larger than
        // the uncompressed batch, which fits the limit exactly.
        let mut x: u32 = 12345;
        let value: Vec<u8> = (0..4000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as u8
            })
            .collect();
        let bytes = BatchBuilder::new()
            .record(NOW, Some(b"k"), Some(&value), &[])
            .build();
        let limit = bytes.len().to_string();
        let configs = [
            ("compression.type", "gzip"),
            ("max.message.bytes", limit.as_str()),
        ];
        assert!(matches!(
            run(&configs, &bytes),
            Err(PartitionError::MessageTooLarge { .. })
        ));
        assert_eq!(
            code(run(&[("max.message.bytes", limit.as_str())], &bytes)),
            0
        );
    }
}
