//! The cleaner's key -> latest offset map (Kafka's `SkimpyOffsetMap`), bounded by
//! `log.cleaner.dedupe.buffer.size`.
//!
//! A key is stored as a 128-bit hash (two SipHash-1-3 runs with different prefixes),
//! never as its bytes, so an entry costs the same whatever the key: 16 bytes of hash
//! and 8 of offset, 24 bytes as Kafka counts it (MD5 there). Like Kafka, the map
//! fills up to 90 % of the buffer's entries (`log.cleaner.io.buffer.load.factor`),
//! and a pass that fills it cleans only up to the last offset it got.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Bytes Kafka counts per entry: a 16-byte hash and an 8-byte offset.
pub(crate) const BYTES_PER_ENTRY: u64 = 24;

/// Kafka's default `log.cleaner.io.buffer.load.factor`.
const LOAD_FACTOR: f64 = 0.9;

#[derive(Debug)]
pub(crate) struct OffsetMap {
    entries: HashMap<u128, i64>,
    capacity: usize,
    /// The largest offset put in so far (-1 before any).
    latest: i64,
}

pub(crate) fn key_hash(key: &[u8]) -> u128 {
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        key.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

impl OffsetMap {
    /// A map for a buffer of `buffer_bytes` (at least one entry).
    pub(crate) fn new(buffer_bytes: u64) -> OffsetMap {
        let slots = (buffer_bytes / BYTES_PER_ENTRY) as f64 * LOAD_FACTOR;
        let capacity = (slots as usize).max(1);
        OffsetMap {
            entries: HashMap::new(),
            capacity,
            latest: -1,
        }
    }

    /// Whether a key not yet in the map would not fit.
    pub(crate) fn is_full(&self) -> bool {
        self.entries.len() >= self.capacity
    }

    /// Records `offset` as the latest for `key`. `false` (and nothing changed) when
    /// the key is new and the map is full.
    pub(crate) fn put(&mut self, key: u128, offset: i64) -> bool {
        if let Some(slot) = self.entries.get_mut(&key) {
            *slot = (*slot).max(offset);
        } else {
            if self.is_full() {
                return false;
            }
            self.entries.insert(key, offset);
        }
        self.latest = self.latest.max(offset);
        true
    }

    /// How many new keys still fit.
    pub(crate) fn room(&self) -> usize {
        self.capacity.saturating_sub(self.entries.len())
    }

    pub(crate) fn get(&self, key: u128) -> Option<i64> {
        self.entries.get(&key).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn latest_offset(&self) -> i64 {
        self.latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_offset_and_stops_when_full() {
        let mut map = OffsetMap::new(4 * BYTES_PER_ENTRY);
        assert!(map.put(key_hash(b"a"), 1));
        assert!(map.put(key_hash(b"b"), 2));
        assert!(map.put(key_hash(b"a"), 5));
        assert!(map.put(key_hash(b"c"), 6));
        assert!(map.is_full());
        assert!(!map.put(key_hash(b"d"), 7), "a new key does not fit");
        assert!(map.put(key_hash(b"b"), 8), "a known key still updates");
        assert_eq!(map.get(key_hash(b"a")), Some(5));
        assert_eq!(map.get(key_hash(b"d")), None);
        assert_eq!(map.latest_offset(), 8);
        assert_ne!(key_hash(b"ab"), key_hash(b"ba"));
    }
}
