//! The validator: every check a producer's record batch passes before it is
//! appended (Kafka's `LogValidator`, with the produce-side checks Kafka
//! makes around it), over the topic's typed config.
//!
//! In order, as Kafka answers them:
//!
//! | check                                               | refusal                          |
//! |-----------------------------------------------------|----------------------------------|
//! | acks is -1, 0 or 1                                  | INVALID_REQUIRED_ACKS            |
//! | the topic is not internal (only the broker writes those) | INVALID_TOPIC_EXCEPTION     |
//! | there is a record batch                             | INVALID_RECORD                   |
//! | the input is at most `max.message.bytes` (before any CRC is computed) | MESSAGE_TOO_LARGE |
//! | it is one whole v2 batch: framing, CRC-32C, offsets vs count | CORRUPT_MESSAGE / INVALID_RECORD |
//! | it is not a control batch                           | INVALID_RECORD                   |
//! | a transactional batch belongs to an open transaction holding the partition (KIP-890 part 1) | INVALID_TXN_STATE / INVALID_PRODUCER_EPOCH |
//! | zstd only from Produce v7                           | UNSUPPORTED_COMPRESSION_TYPE     |
//! | a compressed batch's records: decompressed within a bound, well-formed, offset deltas 0..n-1 (`compressed.rs`) | CORRUPT_MESSAGE / INVALID_RECORD |
//! | a compacted topic's records have keys               | INVALID_RECORD + record indexes  |
//! | CreateTime timestamps within `message.timestamp.before/after.max.ms` of the broker clock | INVALID_TIMESTAMP |
//! | after recompression to the topic's `compression.type`, still within `max.message.bytes` | MESSAGE_TOO_LARGE |
//!
//! A passing batch keeps its bytes unless its header's max timestamp is not
//! its records' (then a copy is patched; sarama leaves it at -1) or the
//! topic's `compression.type` names another codec (then its records are
//! written anew with that codec), and is stamped with broker time on append
//! for LogAppendTime topics. Uncompressed batches for topics that keep them
//! uncompressed are read once (by `split_batches`) and never copied;
//! compressed ones are decompressed once. Idempotence
//! (sequence and epoch per producer) is checked under the partition's
//! producer lock by `producer_state.rs`, as part of the append itself.

use std::borrow::Cow;

use sluice_protocol::records::{self, BatchHeader, BatchRef};

use super::compressed;
use crate::error::{PartitionError, TxnBatchRefused, TxnError};
use crate::metadata::{TimestampType, TopicConfig, TopicMeta};

/// The first Produce version whose producers may send zstd batches.
const ZSTD_SINCE_PRODUCE_VERSION: i16 = 7;

/// One partition's records, as a producer sent them.
#[derive(Debug, Clone, Copy)]
pub struct ProducedBatch<'a> {
    /// The records; `None` (or empty) is refused.
    pub records: Option<&'a [u8]>,
    /// The Produce version the producer speaks (it decides which codecs it
    /// may use); producers of other APIs give the newest (13).
    pub produce_version: i16,
}

/// Whether a transactional batch belongs to an open transaction that holds
/// its partition: the transaction coordinator answers (KIP-890 part 1).
/// The partition layer asks through this trait so that it does not depend
/// on the coordinator.
pub trait TransactionMembership {
    fn verify(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), TxnError>;
}

/// A batch that passed every check, ready to append.
#[derive(Debug)]
pub struct ValidBatch<'a> {
    pub bytes: Cow<'a, [u8]>,
    pub header: BatchHeader,
    /// `Some(now)` for LogAppendTime topics: the append stamps this time.
    pub log_append_time: Option<i64>,
}

/// Refuses acks other than -1 (all), 0 (none) and 1 (leader).
pub fn check_acks(acks: i16) -> Result<(), PartitionError> {
    if matches!(acks, -1..=1) {
        Ok(())
    } else {
        Err(PartitionError::InvalidRequiredAcks(acks))
    }
}

/// Refuses writes by clients to internal topics (`__consumer_offsets`, ...).
pub fn check_writable(topic: &TopicMeta) -> Result<(), PartitionError> {
    if topic.internal {
        Err(PartitionError::InternalTopic(topic.name.clone()))
    } else {
        Ok(())
    }
}

/// Runs every batch check (see the table above) for partition `index` of
/// `topic`, at broker time `now`.
pub fn validate<'a>(
    topic: &TopicMeta,
    index: i32,
    config: &TopicConfig,
    produced: ProducedBatch<'a>,
    txns: &dyn TransactionMembership,
    now: i64,
) -> Result<ValidBatch<'a>, PartitionError> {
    let records = produced.records.filter(|r| !r.is_empty()).ok_or_else(|| {
        PartitionError::InvalidRecord("a produce request must carry one record batch".into())
    })?;
    check_size(records, config)?;
    let batch = single_batch(records)?;
    let header = batch.header;
    if header.is_control() {
        return Err(PartitionError::InvalidRecord(
            "clients may not write control batches".into(),
        ));
    }
    if header.is_transactional() {
        // A transactional batch outside an open transaction that holds this
        // partition could leave its last stable offset stuck behind a
        // transaction that never gets a marker.
        txns.verify(
            header.producer_id,
            header.producer_epoch,
            &topic.name,
            index,
        )
        .map_err(|error| TxnBatchRefused {
            producer_id: header.producer_id,
            epoch: header.producer_epoch,
            error,
        })?;
    }
    check_codec(&header, produced.produce_version)?;
    let source = header.compression();
    let target = config.compression.target(source);
    if source != records::Compression::None || target != records::Compression::None {
        // Decompressed (or recompressed) records: `compressed.rs`.
        return compressed::validate(&batch, config, target, now);
    }
    if config.cleanup_policy.compact {
        check_keys(batch.bytes)?;
    }
    if config.message_timestamp_type == TimestampType::LogAppendTime {
        return Ok(ValidBatch {
            bytes: Cow::Borrowed(batch.bytes),
            header,
            log_append_time: Some(now),
        });
    }
    let (bytes, header) = with_record_max_timestamp(&batch)?;
    check_timestamps(config, header.base_timestamp, header.max_timestamp, now)?;
    Ok(ValidBatch {
        bytes,
        header,
        log_append_time: None,
    })
}

/// A batch over `max.message.bytes` is refused before its CRC is computed.
/// (More than one batch is refused anyway, so the whole input is the batch.)
fn check_size(records: &[u8], config: &TopicConfig) -> Result<(), PartitionError> {
    let size = records.len();
    if i64::try_from(size).unwrap_or(i64::MAX) > config.max_message_bytes {
        return Err(PartitionError::MessageTooLarge {
            size,
            max: usize::try_from(config.max_message_bytes).unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

/// Exactly one whole, CRC-checked v2 batch, as Kafka requires since Produce v3.
fn single_batch(records: &[u8]) -> Result<BatchRef<'_>, PartitionError> {
    let mut batches = records::split_batches(records)?;
    if batches.len() != 1 {
        return Err(PartitionError::InvalidRecord(format!(
            "a produce request must carry exactly one record batch per partition, got {}",
            batches.len()
        )));
    }
    batches
        .pop()
        .ok_or_else(|| PartitionError::InvalidRecord("no record batch".into()))
}

/// zstd came with Produce v7; an older producer cannot have negotiated it.
fn check_codec(header: &BatchHeader, produce_version: i16) -> Result<(), PartitionError> {
    if header.compression() == records::Compression::Zstd
        && produce_version < ZSTD_SINCE_PRODUCE_VERSION
    {
        return Err(PartitionError::UnsupportedCompressionType(
            "zstd needs Produce v7 or later".into(),
        ));
    }
    Ok(())
}

/// Kafka takes a batch's max timestamp from its records, not from the header
/// (sarama, for one, leaves the header's at -1). Only when they differ is
/// the batch copied (its CRC changes); otherwise the partition writes the
/// records straight from the request.
fn with_record_max_timestamp<'a>(
    batch: &BatchRef<'a>,
) -> Result<(Cow<'a, [u8]>, BatchHeader), PartitionError> {
    let mut header = batch.header;
    let mut bytes = Cow::Borrowed(batch.bytes);
    let max_timestamp = record_max_timestamp(batch);
    if max_timestamp != header.max_timestamp {
        records::set_max_timestamp(bytes.to_mut(), max_timestamp)?;
        header.max_timestamp = max_timestamp;
    }
    Ok((bytes, header))
}

/// The largest record timestamp, found by `split_batches` (only uncompressed
/// batches come here); without one, the larger of the header's max and
/// first timestamps.
fn record_max_timestamp(batch: &BatchRef<'_>) -> i64 {
    let header = &batch.header;
    match batch.record_max_timestamp {
        Some(max) => max,
        None => header.max_timestamp.max(header.base_timestamp),
    }
}

/// Compaction keeps the latest record of each key, so a compacted topic
/// refuses records without one: the partition gets INVALID_RECORD with the
/// index of each keyless record, and nothing of the batch is written. This
/// is the check for uncompressed batches; `compressed.rs` makes it for
/// compressed ones while it walks their records.
fn check_keys(batch: &[u8]) -> Result<(), PartitionError> {
    let Ok(iter) = records::records(batch) else {
        return Ok(()); // validated already; cannot happen
    };
    let indexes: Vec<i32> = iter
        .enumerate()
        .filter(|(_, r)| r.as_ref().is_ok_and(|r| r.key.is_none()))
        .map(|(i, _)| i32::try_from(i).unwrap_or(i32::MAX))
        .collect();
    if indexes.is_empty() {
        Ok(())
    } else {
        Err(PartitionError::KeylessRecordsInCompactedTopic { indexes })
    }
}

/// CreateTime records must lie within `message.timestamp.before.max.ms`
/// before and `message.timestamp.after.max.ms` after the broker's clock.
fn check_timestamps(
    config: &TopicConfig,
    first: i64,
    max: i64,
    now: i64,
) -> Result<(), PartitionError> {
    if max > now.saturating_add(config.message_timestamp_after_max_ms) {
        return Err(PartitionError::InvalidTimestamp { timestamp: max });
    }
    if first >= 0 && first < now.saturating_sub(config.message_timestamp_before_max_ms) {
        return Err(PartitionError::InvalidTimestamp { timestamp: first });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sluice_protocol::records::builder::BatchBuilder;

    use super::*;
    use crate::error::ErrorCode;
    use crate::metadata::BrokerDefaults;

    const NOW: i64 = 1_700_000_000_000;

    /// Transaction membership that answers `result` and counts its calls.
    struct Txns(Result<(), TxnError>, std::cell::Cell<usize>);

    impl TransactionMembership for Txns {
        fn verify(&self, _: i64, _: i16, _: &str, _: i32) -> Result<(), TxnError> {
            self.1.set(self.1.get() + 1);
            self.0.clone()
        }
    }

    fn ok_txns() -> Txns {
        Txns(Ok(()), std::cell::Cell::new(0))
    }

    fn topic(configs: &[(&str, &str)], internal: bool) -> (TopicMeta, TopicConfig) {
        let meta = TopicMeta {
            name: "t".into(),
            id: uuid::Uuid::nil(),
            partitions: 1,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            internal,
        };
        let config = TopicConfig::resolve(&meta, &BrokerDefaults::new(&[]));
        (meta, config)
    }

    fn run(
        configs: &[(&str, &str)],
        bytes: &[u8],
        version: i16,
        txns: &Txns,
    ) -> Result<ValidBatch<'static>, PartitionError> {
        let (meta, config) = topic(configs, false);
        let produced = ProducedBatch {
            records: Some(bytes),
            produce_version: version,
        };
        validate(&meta, 0, &config, produced, txns, NOW).map(|v| ValidBatch {
            bytes: Cow::Owned(v.bytes.into_owned()),
            header: v.header,
            log_append_time: v.log_append_time,
        })
    }

    fn batch(key: Option<&[u8]>) -> Vec<u8> {
        BatchBuilder::new()
            .record(NOW, key, Some(b"v"), &[])
            .build()
    }

    fn code(r: Result<ValidBatch<'_>, PartitionError>) -> i16 {
        r.map(|_| 0).unwrap_or_else(|e| e.code())
    }

    #[test]
    fn acks() {
        for acks in [-1, 0, 1] {
            assert!(check_acks(acks).is_ok());
        }
        assert!(matches!(
            check_acks(2),
            Err(PartitionError::InvalidRequiredAcks(2))
        ));
    }

    #[test]
    fn internal_topics_are_not_writable() {
        let (meta, _) = topic(&[], true);
        assert!(matches!(
            check_writable(&meta),
            Err(PartitionError::InternalTopic(_))
        ));
        assert!(check_writable(&topic(&[], false).0).is_ok());
    }

    #[test]
    fn a_plain_batch_passes_unchanged() {
        let bytes = batch(Some(b"k"));
        let valid = run(&[], &bytes, 9, &ok_txns()).unwrap();
        assert_eq!(&*valid.bytes, bytes.as_slice());
        assert_eq!(valid.log_append_time, None);
        assert_eq!(valid.header.max_timestamp, NOW);
    }

    #[test]
    fn missing_or_empty_records() {
        let (meta, config) = topic(&[], false);
        for records in [None, Some(&[][..])] {
            let produced = ProducedBatch {
                records,
                produce_version: 9,
            };
            assert!(matches!(
                validate(&meta, 0, &config, produced, &ok_txns(), NOW),
                Err(PartitionError::InvalidRecord(_))
            ));
        }
    }

    #[test]
    fn max_message_bytes() {
        let bytes = batch(Some(b"k"));
        let limit = (bytes.len() - 1).to_string();
        let refused = run(&[("max.message.bytes", &limit)], &bytes, 9, &ok_txns());
        assert!(matches!(
            refused,
            Err(PartitionError::MessageTooLarge { size, .. }) if size == bytes.len()
        ));
        let exact = bytes.len().to_string();
        assert!(run(&[("max.message.bytes", &exact)], &bytes, 9, &ok_txns()).is_ok());
    }

    #[test]
    fn corrupt_and_multiple_batches() {
        let mut bytes = batch(Some(b"k"));
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert!(matches!(
            run(&[], &bytes, 9, &ok_txns()),
            Err(PartitionError::CorruptMessage(_))
        ));
        let mut two = batch(Some(b"k"));
        two.extend(batch(Some(b"k")));
        assert!(matches!(
            run(&[], &two, 9, &ok_txns()),
            Err(PartitionError::InvalidRecord(_))
        ));
    }

    #[test]
    fn control_batches_are_refused() {
        let bytes = BatchBuilder::new()
            .producer(1, 0, 0)
            .transactional(true)
            .control(true)
            .record(NOW, Some(&[0, 0, 0, 0]), Some(&[0, 0, 0, 0, 0, 0]), &[])
            .build();
        assert!(matches!(
            run(&[], &bytes, 9, &ok_txns()),
            Err(PartitionError::InvalidRecord(_))
        ));
    }

    #[test]
    fn transactional_batches_ask_the_coordinator() {
        let bytes = BatchBuilder::new()
            .producer(7, 3, 0)
            .transactional(true)
            .record(NOW, Some(b"k"), Some(b"v"), &[])
            .build();
        let txns = ok_txns();
        assert!(run(&[], &bytes, 9, &txns).is_ok());
        assert_eq!(txns.1.get(), 1);
        let stale = Txns(
            Err(TxnError::InvalidProducerEpoch {
                producer_id: 7,
                epoch: 3,
                current: 4,
            }),
            Default::default(),
        );
        assert!(matches!(
            run(&[], &bytes, 9, &stale),
            Err(PartitionError::InvalidProducerEpoch {
                producer_id: 7,
                epoch: 3,
                current: 4
            })
        ));
        let outside = Txns(Err(TxnError::InvalidTxnState), Default::default());
        assert!(matches!(
            run(&[], &bytes, 9, &outside),
            Err(PartitionError::InvalidTxnState { producer_id: 7 })
        ));
        // Not transactional: the coordinator is not asked.
        let idempotent = BatchBuilder::new()
            .producer(7, 3, 0)
            .record(NOW, Some(b"k"), Some(b"v"), &[])
            .build();
        let txns = ok_txns();
        assert!(run(&[], &idempotent, 9, &txns).is_ok());
        assert_eq!(txns.1.get(), 0);
    }

    #[test]
    fn compacted_topics_need_keys() {
        let bytes = BatchBuilder::new()
            .record(NOW, Some(b"k"), Some(b"v"), &[])
            .record(NOW, None, Some(b"v"), &[])
            .record(NOW, Some(b"k"), Some(b"v"), &[])
            .record(NOW, None, Some(b"v"), &[])
            .build();
        let compact = [("cleanup.policy", "compact")];
        assert!(matches!(
            run(&compact, &bytes, 9, &ok_txns()),
            Err(PartitionError::KeylessRecordsInCompactedTopic { indexes }) if indexes == [1, 3]
        ));
        assert!(run(&[], &bytes, 9, &ok_txns()).is_ok(), "delete policy");
        assert!(run(&compact, &batch(Some(b"k")), 9, &ok_txns()).is_ok());
    }

    #[test]
    fn zstd_needs_produce_v7() {
        let bytes = BatchBuilder::new()
            .compression(records::Compression::Zstd)
            .record(NOW, Some(b"k"), Some(b"v"), &[])
            .build();
        assert!(matches!(
            run(&[], &bytes, 6, &ok_txns()),
            Err(PartitionError::UnsupportedCompressionType(_))
        ));
        assert_eq!(code(run(&[], &bytes, 7, &ok_txns())), 0);
    }

    #[test]
    fn create_time_timestamps_within_the_topic_bounds() {
        let at = |ts: i64| {
            BatchBuilder::new()
                .record(ts, Some(b"k"), Some(b"v"), &[])
                .build()
        };
        let bounds = [
            ("message.timestamp.before.max.ms", "1000"),
            ("message.timestamp.after.max.ms", "1000"),
        ];
        assert!(run(&bounds, &at(NOW - 1000), 9, &ok_txns()).is_ok());
        assert!(run(&bounds, &at(NOW + 1000), 9, &ok_txns()).is_ok());
        assert!(matches!(
            run(&bounds, &at(NOW - 1001), 9, &ok_txns()),
            Err(PartitionError::InvalidTimestamp { timestamp }) if timestamp == NOW - 1001
        ));
        assert!(matches!(
            run(&bounds, &at(NOW + 1001), 9, &ok_txns()),
            Err(PartitionError::InvalidTimestamp { timestamp }) if timestamp == NOW + 1001
        ));
        // LogAppendTime: the producer's timestamps are replaced, not checked.
        let log_append = [
            ("message.timestamp.type", "LogAppendTime"),
            ("message.timestamp.after.max.ms", "0"),
        ];
        let valid = run(&log_append, &at(NOW + 5000), 9, &ok_txns()).unwrap();
        assert_eq!(valid.log_append_time, Some(NOW));
    }

    #[test]
    fn the_max_timestamp_comes_from_the_records() {
        let mut bytes = BatchBuilder::new()
            .record(NOW - 5, Some(b"k"), Some(b"v"), &[])
            .record(NOW - 2, Some(b"k"), Some(b"v"), &[])
            .build();
        // As sarama sends it: the header's max timestamp left at -1.
        records::set_max_timestamp(&mut bytes, -1).unwrap();
        let valid = run(&[], &bytes, 9, &ok_txns()).unwrap();
        assert_eq!(valid.header.max_timestamp, NOW - 2);
        let reparsed = records::validate_batch(&valid.bytes).unwrap();
        assert_eq!(reparsed.max_timestamp, NOW - 2);
    }
}
