//! Exactly-once support: producer ids ([`producer_ids`]), per-partition
//! idempotence and transaction state ([`producer_state`], [`aborted`]), and
//! the transaction coordinator.
//!
//! Layout of the coordinator, like the group coordinator's:
//!
//! - [`state`]: one transactional id — Kafka's states and transitions.
//! - [`coordinator`]: [`coordinator::TxnCoordinator`], the transactional ids
//!   of one `__transaction_state` partition as a deterministic state machine.
//! - [`records`]: Kafka's key/value formats of `__transaction_state`.
//! - [`service`]: [`Transactions`], what the broker holds: the coordinators
//!   on the shared [runtime](crate::coordinator) (one shard per partition,
//!   state records written then replayed, markers, the timer that aborts
//!   expired transactions).
//!
//! Who owns what: the broker has one [`ProducerIds`] allocator (in
//! `BrokerState`); every partition owns one
//! [`ProducerStateTable`](producer_state::ProducerStateTable), behind its own
//! lock in `partitions.rs`, rebuilt from the log when the partition opens.

pub mod aborted;
pub mod coordinator;
pub mod producer_ids;
pub mod producer_state;
pub mod records;
pub mod service;
pub mod snapshot;
pub mod state;

#[cfg(test)]
mod partition_tests;

pub use producer_ids::ProducerIds;
pub use service::{Transactions, TXN_STATE_TOPIC};
