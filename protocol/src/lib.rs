//! Sans-io pieces of the Kafka wire protocol that Sluice handles itself:
//! length-prefixed frames, request header peeking, bounds checks on request
//! bodies before they are decoded, and v2 record batches kept as raw bytes.
//!
//! Nothing here does I/O or depends on tokio.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod bounds;
pub mod frame;
pub mod header;
pub mod records;
