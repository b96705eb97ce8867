//! `sluice-storage`: the segmented log of one Kafka partition.
//!
//! The crate knows bytes and offsets, not the Kafka protocol's messages (it reads v2
//! batch headers with `sluice_protocol::records::parse_header`, and nothing else of
//! that crate). The broker hands [`Log::append`] whole record batches (magic v2,
//! already validated, offsets already assigned) together with a [`BatchMeta`]; they are
//! stored exactly as given and served back by [`Log::read`] as byte ranges of whole
//! batches, so a consumer receives the bytes the producer's batch became. Only the
//! batch framing (base offset, length, CRC, last offset delta, max timestamp) is ever
//! looked at, to recover and index the log and to check every batch a read serves (a
//! damaged one is refused, see `segment/verify.rs`).
//! [`faults`] injects I/O failures for tests. Compaction (`cleaner/`, see
//! [`Log::begin_clean`]) is the one place that reads records (keys, values, markers),
//! through `sluice_protocol::records`.
//!
//! A log lives in a partition directory ([`Log::open`]) or in memory
//! ([`Log::open_in_memory`]). Layout of a partition directory, durability, recovery
//! and retention are documented in `log.rs`, `segment/`, `index/`, `recovery/`,
//! `retention.rs` and `checkpoint.rs`, next to the code that writes and reads each
//! file. File descriptors are bounded: one per open log plus a process-wide cache of
//! read handles (see [`set_max_open_read_handles`]).
//!
//! Every fsync, directory fsync and `syncfs` of the broker goes through [`durable`]
//! (this crate's and the broker's own files alike), which also holds the power-loss
//! simulator the durability tests run under.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod batch;
mod checkpoint;
mod cleaner;
pub mod durable;
mod error;
pub mod faults;
mod handles;
mod index;
mod log;
mod recovery;
mod retention;
mod segment;
mod space;
mod syncfs;

pub use crate::cleaner::{
    AbortedRange, CleanJob, CleanOutcome, CleanRequest, CleanableSection, CleanerConfig,
    PreparedClean,
};
pub use crate::error::StorageError;
pub use crate::handles::{
    max_open_read_handles, set_max_open_read_handles, DEFAULT_MAX_OPEN_READ_HANDLES,
};
pub use crate::log::{
    make_new_logs_durable, BatchMeta, FlushTicket, Log, LogConfig, NewLog, RetentionOutcome,
};
pub use crate::recovery::RecoveryReport;
pub use crate::space::{disk_space, DiskSpace};
pub use crate::syncfs::sync_many;
