//! The aborted transactions of one partition, for read_committed fetches.
//!
//! A read_committed consumer reads up to the last stable offset and drops
//! the records of aborted transactions itself; the broker tells it which
//! ranges those are: for each aborted transaction overlapping the fetched
//! range, its producer id and first offset (the abort marker ends it).
//!
//! Kept in memory, sorted by the marker's offset (`last_offset`), which is
//! the order markers are appended in; rebuilt from the log when the
//! partition opens, trimmed when the log start offset moves past an entry.
//! A lookup is a binary search plus the overlapping entries, never a scan
//! of the log.

/// One aborted transaction in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    /// Offset of the transaction's first batch in this partition.
    pub first_offset: i64,
    /// Offset of the abort marker.
    pub last_offset: i64,
}

/// The aborted transactions of a partition, by `last_offset`.
#[derive(Debug, Default)]
pub struct AbortedTxns {
    entries: Vec<AbortedTxn>,
}

impl AbortedTxns {
    /// Records an abort; markers come in offset order, so this appends.
    pub fn push(&mut self, txn: AbortedTxn) {
        match self.entries.last() {
            Some(last) if last.last_offset > txn.last_offset => {
                let at = self
                    .entries
                    .partition_point(|e| e.last_offset <= txn.last_offset);
                self.entries.insert(at, txn);
            }
            _ => self.entries.push(txn),
        }
    }

    /// Aborted transactions that overlap `[from, upto)`: marker at or after
    /// `from`, first batch before `upto`.
    pub fn overlapping(&self, from: i64, upto: i64) -> Vec<AbortedTxn> {
        let start = self.entries.partition_point(|e| e.last_offset < from);
        self.entries
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|e| e.first_offset < upto)
            .copied()
            .collect()
    }

    /// Forgets transactions wholly below `log_start_offset`.
    pub fn trim_below(&mut self, log_start_offset: i64) {
        let keep_from = self
            .entries
            .partition_point(|e| e.last_offset < log_start_offset);
        self.entries.drain(..keep_from);
    }

    /// Every entry, by marker offset.
    pub fn all(&self) -> &[AbortedTxn] {
        &self.entries
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(pid: i64, first: i64, last: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id: pid,
            first_offset: first,
            last_offset: last,
        }
    }

    #[test]
    fn overlapping_ranges() {
        let mut a = AbortedTxns::default();
        a.push(txn(1, 0, 5));
        a.push(txn(2, 3, 9));
        a.push(txn(1, 10, 12));
        assert_eq!(a.overlapping(0, 100).len(), 3);
        assert_eq!(a.overlapping(6, 100), vec![txn(2, 3, 9), txn(1, 10, 12)]);
        assert_eq!(a.overlapping(6, 10), vec![txn(2, 3, 9)]);
        assert_eq!(a.overlapping(13, 100), vec![]);
        a.trim_below(6);
        assert_eq!(a.len(), 2);
        a.push(txn(3, 1, 11));
        assert_eq!(a.overlapping(11, 12), vec![txn(3, 1, 11), txn(1, 10, 12)]);
    }
}
