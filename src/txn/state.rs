//! One transactional id's state, as Kafka's transaction coordinator keeps it.
//!
//! | state          | action that leaves it                     | next state                   |
//! |----------------|-------------------------------------------|------------------------------|
//! | Empty          | InitProducerId                            | Empty (epoch + 1)            |
//! |                | AddPartitionsToTxn / AddOffsetsToTxn      | Ongoing                      |
//! | Ongoing        | AddPartitionsToTxn (new partitions)       | Ongoing                      |
//! |                | EndTxn commit / abort                     | PrepareCommit / PrepareAbort |
//! |                | InitProducerId, transaction timeout       | PrepareAbort (epoch + 1)     |
//! | PrepareCommit  | markers written to every partition        | CompleteCommit               |
//! | PrepareAbort   | markers written to every partition        | CompleteAbort                |
//! | CompleteCommit | like Empty                                | Empty / Ongoing              |
//! | CompleteAbort  | like Empty                                | Empty / Ongoing              |
//! | Empty, CompleteCommit, CompleteAbort | no update for `transactional.id.expiration.ms` | removed (a tombstone) |
//!
//! Sluice writes markers right after the Prepare record, under the same
//! lock, so the Prepare states are only seen after a crash between the two;
//! loading finishes them. Dead and PrepareEpochFence exist in Kafka's
//! format and are read, but Sluice never enters them (Kafka passes through
//! Dead while an expired id's tombstone is written; Sluice writes it under
//! the shard's lock and removes the id when it is replayed).

use std::collections::BTreeSet;

/// Kafka's `TransactionState`, with its on-disk ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnState {
    /// The `transaction_status` byte of `__transaction_state`.
    pub fn id(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    pub fn from_id(id: i8) -> Option<TxnState> {
        Some(match id {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            6 => TxnState::Dead,
            7 => TxnState::PrepareEpochFence,
            _ => return None,
        })
    }

    /// The name DescribeTransactions and ListTransactions use.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// No transaction in progress: a new one may start.
    pub fn is_idle(self) -> bool {
        matches!(
            self,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        )
    }
}

/// One transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The epoch before the last bump, so that a retried InitProducerId
    /// (KIP-360) is recognised. In memory only, as in Kafka.
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// (topic, partition) in the current transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// When the current transaction started (-1 if none).
    pub txn_start_ms: i64,
    pub last_update_ms: i64,
}

impl TxnMetadata {
    /// A new transactional id with a fresh producer id, before its first epoch.
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32, now: i64) -> Self {
        TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            producer_epoch: -1,
            last_producer_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            txn_start_ms: -1,
            last_update_ms: now,
        }
    }

    /// Whether the transaction has run past its timeout at `now`.
    pub fn expired(&self, now: i64) -> bool {
        self.state == TxnState::Ongoing
            && self.txn_start_ms >= 0
            && self.txn_start_ms.saturating_add(i64::from(self.timeout_ms)) < now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for id in 0..8 {
            assert_eq!(TxnState::from_id(id).unwrap().id(), id);
        }
        assert_eq!(TxnState::from_id(8), None);
        assert_eq!(TxnState::from_id(-1), None);
    }
}
