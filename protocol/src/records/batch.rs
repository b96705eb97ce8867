//! The v2 record batch header.
//!
//! Layout (big-endian, offsets from the start of the batch):
//!
//! ```text
//!  0 base_offset            i64  ┐ not covered by the CRC
//!  8 batch_length           i32  │ bytes after this field: batch = 12 + batch_length
//! 12 partition_leader_epoch i32  │
//! 16 magic                  i8   │ always 2 here
//! 17 crc                    u32  ┘ CRC-32C (Castagnoli) of bytes 21..end of batch
//! 21 attributes             i16    bits 0-2 codec, 3 timestamp type, 4 transactional,
//!                                  5 control, 6 delete horizon
//! 23 last_offset_delta      i32
//! 27 base_timestamp         i64
//! 35 max_timestamp          i64
//! 43 producer_id            i64
//! 51 producer_epoch         i16
//! 53 base_sequence          i32
//! 57 records_count          i32
//! 61 records...
//! ```
//!
//! This is the one parser of this layout in Sluice: the storage crate reads
//! the headers of its `.log` files with [`parse_header`] too.
//! kafka-protocol's `RecordBatchDecoder::decode_batch_info` does not serve
//! here: it needs the whole batch and checks its CRC before it returns
//! anything, so it can neither size a batch from its first 61 bytes nor leave
//! the CRC to a later, chunked pass (as storage does); and it leaves out
//! fields both crates need (batch length, CRC, last offset delta, max
//! timestamp).

use nom::number::complete::{be_i16, be_i32, be_i64, be_i8, be_u32};
use nom::IResult;

use super::RecordsError;

/// Offset of the base offset field.
pub const BASE_OFFSET_OFFSET: usize = 0;
/// Offset of the batch length field.
pub const BATCH_LENGTH_OFFSET: usize = 8;
/// Offset of the partition leader epoch field.
pub const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
/// Offset of the magic byte.
pub const MAGIC_OFFSET: usize = 16;
/// Offset of the CRC field.
pub const CRC_OFFSET: usize = 17;
/// Offset of the attributes field; the CRC covers from here to the end.
pub const ATTRIBUTES_OFFSET: usize = 21;
/// Offset of the max timestamp field.
pub const MAX_TIMESTAMP_OFFSET: usize = 35;
/// Size of base offset + batch length, the part not counted by batch length.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the whole v2 batch header; records start here.
pub const BATCH_HEADER_LEN: usize = 61;
/// Smallest valid batch length field (a header with no records).
pub const MIN_BATCH_LENGTH: i32 = (BATCH_HEADER_LEN - LOG_OVERHEAD) as i32;
/// The only record batch format Sluice handles.
pub const MAGIC_V2: i8 = 2;

const COMPRESSION_MASK: i16 = 0x07;
/// Attributes bit: timestamps are LogAppendTime.
pub const TIMESTAMP_TYPE_BIT: i16 = 0x08;
/// Attributes bit: the batch belongs to a transaction.
pub const TRANSACTIONAL_BIT: i16 = 0x10;
/// Attributes bit: the batch holds control records (transaction markers).
pub const CONTROL_BIT: i16 = 0x20;
/// Attributes bit: base timestamp holds the delete horizon (compaction).
pub const DELETE_HORIZON_BIT: i16 = 0x40;

/// Compression codec named by attribute bits 0-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
    /// Ids 5, 6 and 7 name no codec.
    Unknown(u8),
}

impl Compression {
    /// The codec named by the low three bits of `attributes`.
    pub fn from_attributes(attributes: i16) -> Self {
        match (attributes & COMPRESSION_MASK) as u8 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => Compression::Unknown(other),
        }
    }

    /// The codec id as written in the attributes.
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
            Compression::Unknown(id) => id,
        }
    }
}

/// Which clock the batch's timestamps come from (attributes bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampType {
    /// Set by the producer, per record.
    CreateTime,
    /// Set by the broker on append; every record's timestamp is `max_timestamp`.
    LogAppendTime,
}

/// The fixed 61-byte header of a v2 record batch, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    pub fn compression(&self) -> Compression {
        Compression::from_attributes(self.attributes)
    }

    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & TIMESTAMP_TYPE_BIT == 0 {
            TimestampType::CreateTime
        } else {
            TimestampType::LogAppendTime
        }
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & DELETE_HORIZON_BIT != 0
    }

    /// Whether the batch came from an idempotent or transactional producer.
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// Offset of the last record: `base_offset + last_offset_delta`
    /// (saturating, so a hostile header cannot overflow it).
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    /// Size of the whole batch in bytes: `12 + batch_length`.
    /// A negative `batch_length` (never produced by [`parse_header`]) counts as 0.
    pub fn total_len(&self) -> usize {
        usize::try_from(self.batch_length)
            .unwrap_or(0)
            .saturating_add(LOG_OVERHEAD)
    }
}

/// Decodes the header at the start of `bytes`.
///
/// Needs only the first 61 bytes; the rest of the batch need not be present,
/// so this also serves to size a batch before reading all of it. Checks that
/// the magic is 2 and the batch length can hold a header. It does not check
/// the CRC or the records: that is [`split_batches`](super::split_batches)'
/// and [`validate_batch`](super::validate_batch)'s job.
pub fn parse_header(bytes: &[u8]) -> Result<BatchHeader, RecordsError> {
    if bytes.len() < BATCH_HEADER_LEN {
        // Report the magic first when it is visible: a legacy message set is
        // better described as "wrong magic" than as "truncated".
        if let Some(&magic) = bytes.get(MAGIC_OFFSET) {
            let magic = magic as i8;
            if magic != MAGIC_V2 {
                return Err(RecordsError::UnsupportedMagic(magic));
            }
        }
        return Err(RecordsError::Truncated {
            needed: BATCH_HEADER_LEN,
            available: bytes.len(),
        });
    }
    let (_, header) = header_fields(bytes).map_err(|_| RecordsError::Truncated {
        needed: BATCH_HEADER_LEN,
        available: bytes.len(),
    })?;
    if header.magic != MAGIC_V2 {
        return Err(RecordsError::UnsupportedMagic(header.magic));
    }
    if header.batch_length < MIN_BATCH_LENGTH {
        return Err(RecordsError::InvalidBatchLength(header.batch_length));
    }
    Ok(header)
}

fn header_fields(input: &[u8]) -> IResult<&[u8], BatchHeader> {
    let (input, base_offset) = be_i64(input)?;
    let (input, batch_length) = be_i32(input)?;
    let (input, partition_leader_epoch) = be_i32(input)?;
    let (input, magic) = be_i8(input)?;
    let (input, crc) = be_u32(input)?;
    let (input, attributes) = be_i16(input)?;
    let (input, last_offset_delta) = be_i32(input)?;
    let (input, base_timestamp) = be_i64(input)?;
    let (input, max_timestamp) = be_i64(input)?;
    let (input, producer_id) = be_i64(input)?;
    let (input, producer_epoch) = be_i16(input)?;
    let (input, base_sequence) = be_i32(input)?;
    let (input, records_count) = be_i32(input)?;
    Ok((
        input,
        BatchHeader {
            base_offset,
            batch_length,
            partition_leader_epoch,
            magic,
            crc,
            attributes,
            last_offset_delta,
            base_timestamp,
            max_timestamp,
            producer_id,
            producer_epoch,
            base_sequence,
            records_count,
        },
    ))
}

/// The CRC-32C of the part of `batch` the CRC covers: from the attributes to
/// the end of the batch as given by its length field. `batch` must start with
/// a header [`parse_header`] accepts and hold the whole batch.
pub fn compute_crc(batch: &[u8]) -> Result<u32, RecordsError> {
    let header = parse_header(batch)?;
    let covered =
        batch
            .get(ATTRIBUTES_OFFSET..header.total_len())
            .ok_or(RecordsError::Truncated {
                needed: header.total_len(),
                available: batch.len(),
            })?;
    Ok(crc32c::crc32c(covered))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::builder::BatchBuilder;

    #[test]
    fn header_fields_land_where_kafka_puts_them() {
        let mut bytes = vec![0u8; BATCH_HEADER_LEN];
        bytes[0..8].copy_from_slice(&1234i64.to_be_bytes());
        bytes[8..12].copy_from_slice(&49i32.to_be_bytes());
        bytes[12..16].copy_from_slice(&7i32.to_be_bytes());
        bytes[16] = 2;
        bytes[17..21].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        bytes[21..23].copy_from_slice(&0x0039i16.to_be_bytes());
        bytes[23..27].copy_from_slice(&4i32.to_be_bytes());
        bytes[27..35].copy_from_slice(&1000i64.to_be_bytes());
        bytes[35..43].copy_from_slice(&2000i64.to_be_bytes());
        bytes[43..51].copy_from_slice(&99i64.to_be_bytes());
        bytes[51..53].copy_from_slice(&3i16.to_be_bytes());
        bytes[53..57].copy_from_slice(&17i32.to_be_bytes());
        bytes[57..61].copy_from_slice(&5i32.to_be_bytes());

        let h = parse_header(&bytes).unwrap();
        assert_eq!(
            h,
            BatchHeader {
                base_offset: 1234,
                batch_length: 49,
                partition_leader_epoch: 7,
                magic: 2,
                crc: 0xdead_beef,
                attributes: 0x39,
                last_offset_delta: 4,
                base_timestamp: 1000,
                max_timestamp: 2000,
                producer_id: 99,
                producer_epoch: 3,
                base_sequence: 17,
                records_count: 5,
            }
        );
        // 0x39 = 0b0011_1001: codec 1 (gzip), LogAppendTime, transactional, control.
        assert_eq!(h.compression(), Compression::Gzip);
        assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
        assert!(h.is_transactional());
        assert!(h.is_control());
        assert!(!h.has_delete_horizon());
        assert!(h.has_producer_id());
        assert_eq!(h.last_offset(), 1238);
        assert_eq!(h.total_len(), 61);
    }

    #[test]
    fn compression_ids() {
        for id in 0u8..8 {
            let c = Compression::from_attributes(i16::from(id) | 0x78);
            assert_eq!(c.id(), id);
            assert_eq!(matches!(c, Compression::Unknown(_)), id >= 5);
        }
        assert_eq!(Compression::from_attributes(4), Compression::Zstd);
    }

    #[test]
    fn short_input_is_truncated() {
        let batch = BatchBuilder::new().record(1, None, Some(b"v"), &[]).build();
        for len in 0..BATCH_HEADER_LEN {
            assert_eq!(
                parse_header(&batch[..len]),
                Err(RecordsError::Truncated {
                    needed: BATCH_HEADER_LEN,
                    available: len
                })
            );
        }
        assert!(parse_header(&batch[..BATCH_HEADER_LEN]).is_ok());
    }

    #[test]
    fn wrong_magic_is_refused() {
        let mut batch = BatchBuilder::new().record(1, None, Some(b"v"), &[]).build();
        batch[MAGIC_OFFSET] = 1;
        assert_eq!(parse_header(&batch), Err(RecordsError::UnsupportedMagic(1)));
        assert_eq!(
            parse_header(&batch[..20]),
            Err(RecordsError::UnsupportedMagic(1))
        );
    }

    #[test]
    fn batch_length_below_header_is_refused() {
        let mut batch = BatchBuilder::new().record(1, None, Some(b"v"), &[]).build();
        for bad in [-1, 0, 48, i32::MIN] {
            batch[8..12].copy_from_slice(&bad.to_be_bytes());
            assert_eq!(
                parse_header(&batch),
                Err(RecordsError::InvalidBatchLength(bad))
            );
        }
    }

    #[test]
    fn crc_matches_the_stored_one() {
        let batch = BatchBuilder::new()
            .record(1, Some(b"k"), Some(b"v"), &[])
            .build();
        let header = parse_header(&batch).unwrap();
        assert_eq!(compute_crc(&batch), Ok(header.crc));
        assert!(matches!(
            compute_crc(&batch[..batch.len() - 1]),
            Err(RecordsError::Truncated { .. })
        ));
    }

    #[test]
    fn last_offset_saturates() {
        let batch = BatchBuilder::new().record(1, None, None, &[]).build();
        let mut h = parse_header(&batch).unwrap();
        h.base_offset = i64::MAX;
        h.last_offset_delta = 10;
        assert_eq!(h.last_offset(), i64::MAX);
        h.batch_length = -5;
        assert_eq!(h.total_len(), LOG_OVERHEAD);
    }
}
