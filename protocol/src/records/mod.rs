//! Record batches (magic v2) handled as raw bytes.
//!
//! The broker never re-encodes a producer's batch. It checks it
//! ([`split_batches`] / [`validate_batch`]: header, CRC-32C, offsets and, for
//! uncompressed batches, every record), assigns offsets by rewriting header
//! fields in place ([`rewrite`]), and stores and serves the bytes as they came.
//! [`records`] reads the records of an uncompressed batch without copying;
//! [`batch_records`] reads those of any batch, decompressing a compressed one
//! once ([`compression`]: gzip, snappy, lz4 and zstd as Kafka writes them,
//! every decompression bounded).
//!
//! Everything here takes untrusted bytes: sizes and counts from the input are
//! checked against the bytes actually present before they are used, and no
//! input makes these functions panic.
//!
//! The `kafka-protocol` crate, which the broker uses for its message codecs,
//! also reads and writes v2 batches. It serves as an independent cross-check
//! in this crate's tests (`tests/records_kafka_protocol.rs`: what it encodes
//! we read back the same, what we build it decodes, and where both can express
//! a batch they write the same bytes), not as the implementation: it has no
//! in-place rewrite, it re-encodes; its decoder trusts counts from the wire
//! and needs the whole batch to read a header; its varint helpers are not
//! public; and its encoder cannot write every batch [`builder`] must. Each
//! module says which of these it is about.

pub mod batch;
pub mod compression;
pub mod control;
mod error;
pub mod record;
pub mod rewrite;
pub mod validate;
mod varint;

pub mod builder;

pub use batch::{compute_crc, parse_header, BatchHeader, Compression, TimestampType};
pub use compression::{
    batch_records, compress, decompress, with_codec, with_records, BatchRecords, CodecError,
};
pub use control::{control_type, marker_batch, ControlType};
pub use error::RecordsError;
pub use record::{records, Record, RecordIter};
pub use rewrite::{
    patched_header, set_base_offset, set_log_append_time, set_max_timestamp,
    set_partition_leader_epoch,
};
pub use validate::{split_batches, validate_batch, BatchRef};
