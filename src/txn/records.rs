//! Kafka's record formats of `__transaction_state`, so that Kafka's own
//! tools can read what Sluice writes.
//!
//! Key (`TransactionLogKey` v0): `int16` version 0, `string` transactional id.
//!
//! Value (`TransactionLogValue`), written as v0 (classic encodings):
//!
//! | field                         | type                                  |
//! |-------------------------------|---------------------------------------|
//! | version                       | int16 (0)                             |
//! | producer_id                   | int64                                 |
//! | producer_epoch                | int16                                 |
//! | transaction_timeout_ms        | int32                                 |
//! | transaction_status            | int8 (see [`TxnState::id`])           |
//! | transaction_partitions        | nullable array of (string topic, array of int32 partition) |
//! | last_update_timestamp_ms      | int64                                 |
//! | transaction_start_timestamp_ms| int64                                 |
//!
//! v1 (flexible: compact encodings and tagged fields, which carry the
//! previous/next producer ids of KIP-890) is read too. A null value is a
//! tombstone: the transactional id is gone.

use std::collections::BTreeSet;

use super::state::{TxnMetadata, TxnState};
use crate::group::records::FormatError;
use crate::group::wire::{Reader, Writer};

/// One record of `__transaction_state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnRecord {
    pub transactional_id: String,
    /// `None`: tombstone.
    pub value: Option<TxnMetadata>,
}

impl TxnRecord {
    pub fn encode(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut k = Writer::new(0);
        k.string(&self.transactional_id);
        let v = self.value.as_ref().map(|m| {
            let mut w = Writer::new(0);
            w.i64(m.producer_id);
            w.i16(m.producer_epoch);
            w.i32(m.timeout_ms);
            w.i8(m.state.id());
            // Kafka writes null partitions for states without any.
            if m.partitions.is_empty() {
                w.i32(-1);
            } else {
                let topics = group_by_topic(&m.partitions);
                w.i32(i32::try_from(topics.len()).unwrap_or(i32::MAX));
                for (topic, parts) in topics {
                    w.string(topic);
                    w.i32(i32::try_from(parts.len()).unwrap_or(i32::MAX));
                    for p in parts {
                        w.i32(p);
                    }
                }
            }
            w.i64(m.last_update_ms);
            w.i64(m.txn_start_ms);
            w.0
        });
        (k.0, v)
    }

    /// Reads a record; `Ok(None)` for key versions this coordinator does not know.
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<TxnRecord>, FormatError> {
        let mut k = Reader::new(key, false);
        if k.i16()? != 0 {
            return Ok(None);
        }
        let transactional_id = k.string()?;
        let value = value
            .map(|v| decode_value(&transactional_id, v))
            .transpose()?;
        Ok(Some(TxnRecord {
            transactional_id,
            value,
        }))
    }
}

fn group_by_topic(partitions: &BTreeSet<(String, i32)>) -> Vec<(&str, Vec<i32>)> {
    let mut out: Vec<(&str, Vec<i32>)> = Vec::new();
    for (topic, p) in partitions {
        match out.last_mut() {
            Some((t, parts)) if *t == topic.as_str() => parts.push(*p),
            _ => out.push((topic.as_str(), vec![*p])),
        }
    }
    out
}

fn decode_value(transactional_id: &str, bytes: &[u8]) -> Result<TxnMetadata, FormatError> {
    let version = Reader::new(bytes, false).i16()?;
    if !(0..=1).contains(&version) {
        return Err(FormatError::UnknownVersion(version));
    }
    let mut r = Reader::new(bytes.get(2..).unwrap_or_default(), version >= 1);
    let producer_id = r.i64()?;
    let producer_epoch = r.i16()?;
    let timeout_ms = r.i32()?;
    let state = TxnState::from_id(r.i8()?).ok_or(FormatError::Invalid("transaction status"))?;
    let mut partitions = BTreeSet::new();
    let topics = r.array_len()?;
    for _ in 0..topics {
        let topic = r.string()?;
        let count = r.array_len()?;
        for _ in 0..count {
            partitions.insert((topic.clone(), r.i32()?));
        }
        r.tagged_fields()?;
    }
    let last_update_ms = r.i64()?;
    let txn_start_ms = r.i64()?;
    r.tagged_fields()?;
    Ok(TxnMetadata {
        transactional_id: transactional_id.to_string(),
        producer_id,
        producer_epoch,
        last_producer_epoch: -1,
        timeout_ms,
        state,
        partitions,
        txn_start_ms,
        last_update_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_and_without_partitions() {
        let mut m = TxnMetadata::new("tx-1", 42, 60_000, 1_000);
        m.producer_epoch = 3;
        m.state = TxnState::Ongoing;
        m.partitions.insert(("a".into(), 1));
        m.partitions.insert(("a".into(), 0));
        m.partitions.insert(("b".into(), 7));
        m.txn_start_ms = 1_500;
        m.last_update_ms = 2_000;
        for value in [Some(m.clone()), None] {
            let record = TxnRecord {
                transactional_id: "tx-1".into(),
                value,
            };
            let (k, v) = record.encode();
            let back = TxnRecord::decode(&k, v.as_deref()).unwrap().unwrap();
            assert_eq!(back, record);
        }
        m.partitions.clear();
        m.state = TxnState::CompleteCommit;
        let (k, v) = TxnRecord {
            transactional_id: "tx-1".into(),
            value: Some(m.clone()),
        }
        .encode();
        let back = TxnRecord::decode(&k, v.as_deref()).unwrap().unwrap();
        assert_eq!(back.value, Some(m));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let (k, v) = TxnRecord {
            transactional_id: "t".into(),
            value: Some(TxnMetadata::new("t", 1, 1, 1)),
        }
        .encode();
        let v = v.unwrap();
        for cut in 0..v.len() {
            assert!(TxnRecord::decode(&k, Some(&v[..cut])).is_err());
        }
        let mut bad = v.clone();
        bad[2 + 8 + 2 + 4] = 99; // status
        assert!(TxnRecord::decode(&k, Some(&bad)).is_err());
        assert!(TxnRecord::decode(&[0, 0, 0x7f, 0xff], None).is_err());
        assert_eq!(TxnRecord::decode(&[0, 5], None).unwrap(), None);
    }
}
