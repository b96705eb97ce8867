//! Exactly-once support: producer ids ([`producer_ids`]) and the
//! transaction coordinator. Per-partition idempotence and transaction state
//! (producer state, aborted transactions, snapshots) belong to the
//! partition layer (`crate::partition`).
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
//!   expired transactions, and the one that removes idle transactional ids
//!   with tombstones).
//!
//! Who owns what: the broker has one [`ProducerIds`] allocator (in
//! `BrokerState`); every partition owns one
//! [`ProducerStateTable`](crate::partition::producer_state::ProducerStateTable),
//! behind its own lock in `partition/`, rebuilt from the log when the
//! partition opens.

pub mod coordinator;
pub mod producer_ids;
pub mod records;
pub mod service;
pub mod state;

pub use producer_ids::ProducerIds;
pub use service::{Transactions, TxnParticipants, TXN_STATE_TOPIC};
