//! The classic group coordinator: consumer groups with JoinGroup, SyncGroup,
//! Heartbeat and LeaveGroup, and committed offsets (KIP-848 groups are not
//! served).
//!
//! Layout:
//!
//! - [`state`]: one group — Kafka's table of states, actions and transitions.
//! - [`coordinator`]: [`Coordinator`], the groups of one `__consumer_offsets`
//!   partition as a deterministic state machine (time comes in as `now`,
//!   records to append and answers come out), with [`join`], [`membership`],
//!   [`offsets`] and [`rebalance`] holding its operations.
//! - [`operations`]: the operations' inputs and outputs as plain values.
//! - [`records`]: Kafka's key/value formats of `__consumer_offsets` (their
//!   primitive encodings in `wire`); [`subscription`]: the topics inside a
//!   consumer's JoinGroup metadata.
//! - [`service`]: [`Groups`], what the broker holds: the coordinators on
//!   the shared [runtime](crate::coordinator) (one shard per partition of
//!   `__consumer_offsets`, replay, parked requests, the timer).
//!
//! Group `g` lives in partition `abs(javaHashCode(g)) % partitions`, like
//! Kafka, so that Kafka's tools find it where they expect.

pub mod coordinator;
pub mod join;
pub mod membership;
pub mod offsets;
pub mod operations;
pub mod rebalance;
pub mod records;
pub mod service;
pub mod state;
pub mod subscription;
pub mod txn_offsets;
pub(crate) mod wire;

#[cfg(test)]
mod tests;

pub use crate::coordinator::partition_for;
pub use coordinator::Coordinator;
pub use service::Groups;

/// The internal topic holding offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The coordinator's settings (Kafka's broker options of the same names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`: how long a group that was empty
    /// waits for more members before its first rebalance completes.
    pub initial_rebalance_delay_ms: i64,
    /// `group.min.session.timeout.ms` / `group.max.session.timeout.ms`.
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// `offsets.retention.minutes`, in ms.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms`.
    pub offsets_retention_check_interval_ms: i64,
    /// `offset.metadata.max.bytes`.
    pub offset_metadata_max_bytes: usize,
    /// How long a new member may wait in a rebalance before it is dropped
    /// (Kafka's fixed `NewMemberJoinTimeoutMs`).
    pub new_member_join_timeout_ms: i64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: 3_000,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            offset_metadata_max_bytes: 4096,
            new_member_join_timeout_ms: 300_000,
        }
    }
}
