//! Exactly-once support: producer ids ([`producer_ids`]), per-partition
//! idempotence and transaction state ([`producer_state`], [`aborted`]).
//!
//! Who owns what: the broker has one [`ProducerIds`] allocator (in
//! `BrokerState`); every partition owns one
//! [`ProducerStateTable`](producer_state::ProducerStateTable), behind its own
//! lock in `partitions.rs`, rebuilt from the log when the partition opens.

pub mod aborted;
pub mod producer_ids;
pub mod producer_state;

#[cfg(test)]
mod partition_tests;

pub use producer_ids::ProducerIds;
