//! The coordinator runtime shared by the group and transaction
//! coordinators (and, later, the KIP-848 and share-group ones), after
//! Kafka's `coordinator-common`.
//!
//! - [`runtime`]: [`Runtime`], one [`Shard`] per partition of the internal
//!   topic, each a state machine behind its own lock; the [`Playback`] and
//!   [`CoordinatorShard`] traits a state machine implements;
//!   [`CoordinatorResult`] (records + response); rebuild by replay after a
//!   panicked operation.
//! - [`writer`]: [`PartitionWriter`], where records are appended and read
//!   back from (the local partition today).
//! - [`pending`]: [`Pending`], the typed answer to come.
//! - [`clock`]: [`Clock`], the injected time every deadline is read against.
//! - [`timer`]: the task that drives deadlines.
//!
//! Dependencies run one way: `group/` and `txn/` state machines know this
//! module's traits, never tokio or wire types; the runtime knows nothing of
//! groups or transactions.

pub mod clock;
pub mod pending;
pub mod runtime;
pub mod timer;
pub mod writer;

#[cfg(test)]
mod tests;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use pending::{CoordinatorError, Pending};
pub use runtime::{CoordinatorResult, CoordinatorShard, Playback, RequestId, Runtime, Shard};
pub use writer::PartitionWriter;

/// The shard (internal-topic partition) that holds `key`: Kafka's
/// `Utils.abs(key.hashCode) % partitions`, with Java's `String.hashCode`,
/// so that Kafka's tools find a group or transactional id where they expect.
pub fn partition_for(key: &str, partitions: usize) -> usize {
    let hash = key
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    let abs = if hash == i32::MIN {
        0
    } else {
        hash.unsigned_abs()
    };
    (abs as usize) % partitions.max(1)
}
