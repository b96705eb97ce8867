//! Builds v2 record batches, uncompressed or compressed with any codec
//! ([`BatchBuilder::compression`]): for tests, and for the broker's own
//! records (`__consumer_offsets`).
//!
//! ```
//! use sluice_protocol::records::builder::BatchBuilder;
//! use sluice_protocol::records::split_batches;
//!
//! let batch = BatchBuilder::new()
//!     .record(1_700_000_000_000, Some(b"key"), Some(b"value"), &[(b"trace", Some(b"1"))])
//!     .record(1_700_000_000_005, None, None, &[])
//!     .build();
//! assert_eq!(split_batches(&batch).unwrap()[0].header.records_count, 2);
//! ```
//!
//! Why not kafka-protocol's `RecordBatchEncoder`: where both can express a
//! batch they write the same bytes (`tests/records_kafka_protocol.rs` checks
//! it), but this builder must also write batches that encoder cannot:
//!
//! - the base timestamp is the first record's, as Kafka's producer writes it;
//!   kafka-protocol takes the smallest one, so records out of time order come
//!   out with other timestamp deltas;
//! - header keys are bytes and may repeat, as Kafka allows; kafka-protocol
//!   keeps headers in an `IndexMap<StrBytes, _>` (UTF-8 only, a repeated key
//!   overwrites the earlier one);
//! - raw attributes ([`BatchBuilder::attributes`]: a codec id over
//!   uncompressed records, the LogAppendTime bit) and batches of no records,
//!   which the refusal tests build; kafka-protocol sets no attribute bits but
//!   the codec it compresses with (failing for every codec when built without
//!   them, as the broker builds it) and the transactional, control and
//!   delete-horizon flags, and writes nothing for no records;
//! - [`BatchBuilder::build`] cannot fail; that encoder returns an error.
//!
//! Its varint writers would serve, but are not public (see `varint.rs`).

use super::batch::Compression;
use super::batch::{
    ATTRIBUTES_OFFSET, BATCH_HEADER_LEN, CONTROL_BIT, CRC_OFFSET, TRANSACTIONAL_BIT,
};
use super::compression::with_codec;
use super::varint::{put_varint, put_varlong};
use super::RecordsError;

type OwnedHeader = (Vec<u8>, Option<Vec<u8>>);

#[derive(Debug, Clone)]
struct OwnedRecord {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<OwnedHeader>,
}

/// Builder for one batch with a correct CRC, uncompressed unless
/// [`compression`](Self::compression) names a codec.
///
/// Defaults are what a plain (non-idempotent) producer sends: base offset 0,
/// partition leader epoch -1, CreateTime, no compression, producer id -1,
/// producer epoch -1, base sequence -1. Records get offset deltas 0, 1, 2, ...;
/// the base timestamp is the first record's, the max timestamp the largest.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    base_offset: i64,
    partition_leader_epoch: i32,
    attributes: i16,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    records: Vec<OwnedRecord>,
    codec: Compression,
    level: Option<i32>,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchBuilder {
    pub fn new() -> Self {
        BatchBuilder {
            base_offset: 0,
            partition_leader_epoch: -1,
            attributes: 0,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            records: Vec::new(),
            codec: Compression::None,
            level: None,
        }
    }

    pub fn base_offset(mut self, base_offset: i64) -> Self {
        self.base_offset = base_offset;
        self
    }

    pub fn partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Marks the batch as from an idempotent producer.
    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    pub fn transactional(mut self, on: bool) -> Self {
        self.attributes = with_bit(self.attributes, TRANSACTIONAL_BIT, on);
        self
    }

    pub fn control(mut self, on: bool) -> Self {
        self.attributes = with_bit(self.attributes, CONTROL_BIT, on);
        self
    }

    /// Sets the raw attributes field. Records are still written uncompressed,
    /// whatever codec the bits name: useful for testing refusals.
    pub fn attributes(mut self, attributes: i16) -> Self {
        self.attributes = attributes;
        self
    }

    /// Compresses the records with `codec` (and sets its attribute bits), as
    /// a producer or the broker writes them.
    pub fn compression(mut self, codec: Compression) -> Self {
        self.codec = codec;
        self
    }

    /// The codec's level (`None`: Kafka's default for the codec).
    pub fn compression_level(mut self, level: Option<i32>) -> Self {
        self.level = level;
        self
    }

    /// Appends a record with an absolute `timestamp` (ms).
    pub fn record(
        mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&[u8], Option<&[u8]>)],
    ) -> Self {
        self.records.push(OwnedRecord {
            timestamp,
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                .collect(),
        });
        self
    }

    /// The batch bytes. With no records, the batch has `records_count` 0 and
    /// `last_offset_delta` -1, which validation refuses.
    ///
    /// With a [`compression`](Self::compression) codec this is
    /// [`try_build`](Self::try_build) giving an empty `Vec` on failure, which
    /// only a level out of the codec's range causes.
    pub fn build(&self) -> Vec<u8> {
        self.try_build().unwrap_or_default()
    }

    /// The batch bytes, or why its records could not be compressed (a level
    /// out of the codec's range, an unknown codec).
    pub fn try_build(&self) -> Result<Vec<u8>, RecordsError> {
        let plain = self.build_plain();
        if self.codec == Compression::None {
            return Ok(plain);
        }
        with_codec(
            &plain,
            plain.get(BATCH_HEADER_LEN..).unwrap_or_default(),
            self.codec,
            self.level,
        )
    }

    fn build_plain(&self) -> Vec<u8> {
        let base_timestamp = self.records.first().map_or(-1, |r| r.timestamp);
        let max_timestamp = self.records.iter().map(|r| r.timestamp).max().unwrap_or(-1);
        let count = i32::try_from(self.records.len()).unwrap_or(i32::MAX);

        let mut out = Vec::with_capacity(BATCH_HEADER_LEN);
        out.extend_from_slice(&self.base_offset.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes()); // batch length, patched below
        out.extend_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out.push(2); // magic
        out.extend_from_slice(&0u32.to_be_bytes()); // crc, patched below
        out.extend_from_slice(&self.attributes.to_be_bytes());
        out.extend_from_slice(&count.wrapping_sub(1).to_be_bytes());
        out.extend_from_slice(&base_timestamp.to_be_bytes());
        out.extend_from_slice(&max_timestamp.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.base_sequence.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());

        for (index, record) in self.records.iter().enumerate() {
            let offset_delta = i32::try_from(index).unwrap_or(i32::MAX);
            let body = encode_record(record, offset_delta, base_timestamp);
            put_varint(&mut out, i32::try_from(body.len()).unwrap_or(i32::MAX));
            out.extend_from_slice(&body);
        }

        let batch_length = i32::try_from(out.len().saturating_sub(12)).unwrap_or(i32::MAX);
        patch(&mut out, 8, &batch_length.to_be_bytes());
        let crc = crc32c::crc32c(out.get(ATTRIBUTES_OFFSET..).unwrap_or_default());
        patch(&mut out, CRC_OFFSET, &crc.to_be_bytes());
        out
    }
}

fn encode_record(record: &OwnedRecord, offset_delta: i32, base_timestamp: i64) -> Vec<u8> {
    let mut body = vec![0]; // attributes
    put_varlong(&mut body, record.timestamp.wrapping_sub(base_timestamp));
    put_varint(&mut body, offset_delta);
    put_nullable(&mut body, record.key.as_deref());
    put_nullable(&mut body, record.value.as_deref());
    put_varint(
        &mut body,
        i32::try_from(record.headers.len()).unwrap_or(i32::MAX),
    );
    for (key, value) in &record.headers {
        put_nullable(&mut body, Some(key));
        put_nullable(&mut body, value.as_deref());
    }
    body
}

fn put_nullable(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varint(out, -1),
        Some(bytes) => {
            put_varint(out, i32::try_from(bytes.len()).unwrap_or(i32::MAX));
            out.extend_from_slice(bytes);
        }
    }
}

fn patch(out: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(target) = out.get_mut(at..at.saturating_add(bytes.len())) {
        target.copy_from_slice(bytes);
    }
}

fn with_bit(attributes: i16, bit: i16, on: bool) -> i16 {
    if on {
        attributes | bit
    } else {
        attributes & !bit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{records, validate_batch, Compression, TimestampType};

    #[test]
    fn round_trip() {
        let batch = BatchBuilder::new()
            .base_offset(100)
            .partition_leader_epoch(3)
            .producer(11, 2, 40)
            .record(
                500,
                Some(b"k"),
                Some(b"v"),
                &[(b"x", Some(b"y")), (b"z", None)],
            )
            .record(490, None, None, &[])
            .record(520, Some(b""), Some(&[0u8; 300]), &[])
            .build();
        let h = validate_batch(&batch).unwrap();
        assert_eq!(h.base_offset, 100);
        assert_eq!(h.partition_leader_epoch, 3);
        assert_eq!(h.producer_id, 11);
        assert_eq!(h.producer_epoch, 2);
        assert_eq!(h.base_sequence, 40);
        assert_eq!(h.base_timestamp, 500);
        assert_eq!(h.max_timestamp, 520);
        assert_eq!(h.records_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.compression(), Compression::None);
        assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
        assert_eq!(h.total_len(), batch.len());

        let recs: Vec<_> = records(&batch).unwrap().map(Result::unwrap).collect();
        assert_eq!(
            recs[0].headers,
            vec![
                (b"x".as_slice(), Some(b"y".as_slice())),
                (b"z".as_slice(), None)
            ]
        );
        assert_eq!(recs[1].timestamp_delta, -10);
        assert_eq!(recs[1].key, None);
        assert_eq!(recs[2].value.map(<[u8]>::len), Some(300));
    }

    #[test]
    fn flags() {
        let h = validate_batch(
            &BatchBuilder::new()
                .transactional(true)
                .control(true)
                .control(false)
                .record(1, None, None, &[])
                .build(),
        )
        .unwrap();
        assert!(h.is_transactional());
        assert!(!h.is_control());
    }

    #[test]
    fn compressed_batches_hold_the_same_records() {
        let builder = BatchBuilder::new()
            .base_offset(9)
            .producer(11, 2, 40)
            .transactional(true)
            .record(500, Some(b"k"), Some(b"v"), &[(b"x", Some(b"y"))])
            .record(490, None, Some(&[7u8; 3000]), &[]);
        let plain = builder.build();
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let batch = builder.clone().compression(codec).try_build().unwrap();
            let h = validate_batch(&batch).unwrap();
            assert_eq!(h.compression(), codec);
            assert!(h.is_transactional());
            assert_eq!((h.base_offset, h.producer_id, h.base_sequence), (9, 11, 40));
            assert_eq!((h.base_timestamp, h.max_timestamp), (500, 500));
            assert!(batch.len() < plain.len(), "{codec:?}");
            let decoded = crate::records::batch_records(&batch, 1 << 20).unwrap();
            assert!(decoded.was_decompressed());
            assert_eq!(decoded.area(), &plain[BATCH_HEADER_LEN..]);
            let values: Vec<_> = decoded.iter().map(|r| r.unwrap().value).collect();
            assert_eq!(values[1].map(<[u8]>::len), Some(3000));
        }
        assert!(BatchBuilder::new()
            .compression(Compression::Gzip)
            .compression_level(Some(12))
            .record(1, None, None, &[])
            .try_build()
            .is_err());
        let plain_records = crate::records::batch_records(&plain, 0).unwrap();
        assert!(!plain_records.was_decompressed());
        assert_eq!(plain_records.iter().count(), 2);
    }
}
