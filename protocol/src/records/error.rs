use super::batch::Compression;
use super::compression::CodecError;

/// Why record batch bytes were refused.
///
/// Mapping these to Kafka error codes is the broker's job (`src/error.rs`);
/// the doc on each variant says what Apache Kafka answers in the same case.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum RecordsError {
    /// The records field holds no batch at all. Kafka: `INVALID_RECORD`.
    #[error("no record batches")]
    Empty,
    /// The bytes end before the batch does (a partial header or a partial
    /// batch). Kafka: `CORRUPT_MESSAGE`.
    #[error("record batch is truncated: needs {needed} bytes, {available} available")]
    Truncated { needed: usize, available: usize },
    /// The batch length field is too small for a v2 batch header (including
    /// negative). Kafka: `CORRUPT_MESSAGE`.
    #[error("record batch length {0} is too small for a v2 batch header")]
    InvalidBatchLength(i32),
    /// The magic byte is not 2. Kafka: `INVALID_RECORD` for Produce v3+.
    #[error("record batch magic {0} is not supported, only magic 2")]
    UnsupportedMagic(i8),
    /// The CRC-32C stored in the batch does not match its bytes.
    /// Kafka: `CORRUPT_MESSAGE`.
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
    /// The record count is not positive, or does not agree with the last
    /// offset delta (a produced batch covers relative offsets `0..count`).
    /// Kafka: `INVALID_RECORD`.
    #[error(
        "record batch count {records_count} does not fit last offset delta {last_offset_delta}"
    )]
    InvalidRecordCount {
        records_count: i32,
        last_offset_delta: i32,
    },
    /// The compression codec bits name no known codec (5, 6 or 7).
    /// Suggested answer: `CORRUPT_MESSAGE`.
    #[error("record batch uses unknown compression codec {0}")]
    UnknownCompression(u8),
    /// The batch is compressed, and [`records`](super::records) reads only
    /// uncompressed batches ([`batch_records`](super::batch_records)
    /// decompresses).
    #[error(
        "record batch is compressed with {0:?}; its records are not readable without decompressing"
    )]
    Compressed(Compression),
    /// The compressed records could not be decompressed (damaged, or larger
    /// than the limit), or not compressed. Kafka: `CORRUPT_MESSAGE`.
    #[error("record batch compression: {0}")]
    Codec(#[from] CodecError),
    /// A record, or the record area of a batch, is malformed (bad varint,
    /// length out of range, records not filling the batch, offset deltas out
    /// of order). Kafka: `INVALID_RECORD`.
    #[error("corrupt record batch: {0}")]
    Corrupt(String),
}
