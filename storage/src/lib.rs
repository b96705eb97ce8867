//! `sluice-storage`: the segmented log of one Kafka partition.
//!
//! The crate knows bytes and offsets, not the Kafka protocol. The broker hands
//! [`Log::append`] whole record batches (magic v2, already validated, offsets already
//! assigned) together with a [`BatchMeta`]; they are stored exactly as given and served
//! back by [`Log::read`] as byte ranges of whole batches, so a consumer receives the
//! bytes the producer's batch became. Only the batch framing (base offset, length, last
//! offset delta, max timestamp) is ever looked at, to recover and index the log.
//!
//! Layout of a partition directory, durability and recovery are documented in
//! `log.rs`, `segment.rs`, `index/` and `recovery.rs`, next to the code that writes and
//! reads each file.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod batch;
mod error;
mod index;
mod log;
mod log_start;
mod recovery;
mod segment;

pub use crate::error::StorageError;
pub use crate::log::{BatchMeta, Log, LogConfig};
