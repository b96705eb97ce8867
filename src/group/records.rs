//! Kafka's `__consumer_offsets` record formats, so that Kafka's own tools
//! (and ours at startup) can read what the coordinator wrote.
//!
//! Every record's key and value start with an `int16` schema version. Strings
//! are `int16` length + UTF-8 (-1 = null), bytes are `int32` length + data
//! (-1 = null), arrays are an `int32` count; all integers are big-endian.
//! Flexible versions (values v4) use unsigned-varint lengths plus one
//! (0 = null) and end every struct with tagged fields.
//!
//! ```text
//! OffsetCommitKey      v0, v1  group string, topic string, partition int32
//! GroupMetadataKey     v2      group string
//!
//! OffsetCommitValue    v0      offset int64, metadata string, commit_timestamp int64
//!                      v1      offset, metadata, commit_timestamp, expire_timestamp int64
//!                      v2      offset, metadata, commit_timestamp
//!                      v3      offset, leader_epoch int32, metadata, commit_timestamp   <- written
//!                      v4      as v3, flexible
//!
//! GroupMetadataValue   v0..v4  protocol_type string, generation int32,
//!                              protocol nullable string, leader nullable string,
//!                              current_state_timestamp int64 (v2+),
//!                              members [member_id string, group_instance_id
//!                              nullable string (v3+), client_id string,
//!                              client_host string, rebalance_timeout int32 (v1+),
//!                              session_timeout int32, subscription bytes,
//!                              assignment bytes]                         <- v3 written
//! ```
//!
//! A null value is a tombstone: the offset or the group is gone. Keys of other
//! versions (KIP-848 records written by newer Kafka) decode to `None` and are
//! skipped by the loader.

use bytes::Bytes;

pub use super::wire::FormatError;
use super::wire::{Reader, Writer};

/// Which partition's committed offset a record is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OffsetKey {
    pub group: String,
    pub topic: String,
    pub partition: i32,
}

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    pub offset: i64,
    /// -1 when the client did not give one.
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

/// One member in a stored group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberValue {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    /// The member's metadata for the group's selected protocol.
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// A group's membership as stored after each completed rebalance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadataValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    /// When the group entered its current state (ms), -1 if unknown.
    pub current_state_timestamp: i64,
    pub members: Vec<MemberValue>,
}

/// One record of `__consumer_offsets`; `None` values are tombstones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRecord {
    Offset {
        key: OffsetKey,
        value: Option<OffsetValue>,
    },
    Group {
        group: String,
        value: Option<GroupMetadataValue>,
    },
}

impl GroupRecord {
    /// Key and value bytes, in the versions Sluice writes.
    pub fn encode(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        match self {
            GroupRecord::Offset { key, value } => {
                let mut k = Writer::new(1);
                k.string(&key.group);
                k.string(&key.topic);
                k.i32(key.partition);
                let v = value.as_ref().map(|v| {
                    let mut w = Writer::new(3);
                    w.i64(v.offset);
                    w.i32(v.leader_epoch);
                    w.string(&v.metadata);
                    w.i64(v.commit_timestamp);
                    w.0
                });
                (k.0, v)
            }
            GroupRecord::Group { group, value } => {
                let mut k = Writer::new(2);
                k.string(group);
                let v = value.as_ref().map(|g| {
                    let mut w = Writer::new(3);
                    w.string(&g.protocol_type);
                    w.i32(g.generation);
                    w.nullable_string(g.protocol.as_deref());
                    w.nullable_string(g.leader.as_deref());
                    w.i64(g.current_state_timestamp);
                    w.i32(i32::try_from(g.members.len()).unwrap_or(i32::MAX));
                    for m in &g.members {
                        w.string(&m.member_id);
                        w.nullable_string(m.group_instance_id.as_deref());
                        w.string(&m.client_id);
                        w.string(&m.client_host);
                        w.i32(m.rebalance_timeout_ms);
                        w.i32(m.session_timeout_ms);
                        w.bytes(&m.subscription);
                        w.bytes(&m.assignment);
                    }
                    w.0
                });
                (k.0, v)
            }
        }
    }

    /// Reads a record; `Ok(None)` for record types this coordinator does not
    /// keep (other key versions).
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<GroupRecord>, FormatError> {
        let mut k = Reader::new(key, false);
        match k.i16()? {
            0 | 1 => {
                let key = OffsetKey {
                    group: k.string()?,
                    topic: k.string()?,
                    partition: k.i32()?,
                };
                let value = value.map(decode_offset_value).transpose()?;
                Ok(Some(GroupRecord::Offset { key, value }))
            }
            2 => {
                let group = k.string()?;
                let value = value.map(decode_group_value).transpose()?;
                Ok(Some(GroupRecord::Group { group, value }))
            }
            _ => Ok(None),
        }
    }
}

fn decode_offset_value(bytes: &[u8]) -> Result<OffsetValue, FormatError> {
    let version = Reader::new(bytes, false).i16()?;
    if !(0..=4).contains(&version) {
        return Err(FormatError::UnknownVersion(version));
    }
    let mut r = Reader::new(bytes.get(2..).unwrap_or_default(), version >= 4);
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.string()?;
    let commit_timestamp = r.i64()?;
    if version == 1 {
        r.i64()?; // expire_timestamp: retention is per group since KIP-211
    }
    r.tagged_fields()?;
    Ok(OffsetValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
    })
}

fn decode_group_value(bytes: &[u8]) -> Result<GroupMetadataValue, FormatError> {
    let version = Reader::new(bytes, false).i16()?;
    if !(0..=4).contains(&version) {
        return Err(FormatError::UnknownVersion(version));
    }
    let mut r = Reader::new(bytes.get(2..).unwrap_or_default(), version >= 4);
    let protocol_type = r.string()?;
    let generation = r.i32()?;
    let protocol = r.nullable_string()?;
    let leader = r.nullable_string()?;
    let current_state_timestamp = if version >= 2 { r.i64()? } else { -1 };
    let count = r.array_len()?;
    let mut members = Vec::new();
    for _ in 0..count {
        let member_id = r.string()?;
        let group_instance_id = if version >= 3 {
            r.nullable_string()?
        } else {
            None
        };
        let client_id = r.string()?;
        let client_host = r.string()?;
        let rebalance_timeout_ms = if version >= 1 { r.i32()? } else { -1 };
        let session_timeout_ms = r.i32()?;
        let subscription = r.bytes()?;
        let assignment = r.bytes()?;
        r.tagged_fields()?;
        members.push(MemberValue {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            // v0 had one timeout for both.
            rebalance_timeout_ms: if version >= 1 {
                rebalance_timeout_ms
            } else {
                session_timeout_ms
            },
            session_timeout_ms,
            subscription,
            assignment,
        });
    }
    r.tagged_fields()?;
    Ok(GroupMetadataValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset_record() -> GroupRecord {
        GroupRecord::Offset {
            key: OffsetKey {
                group: "g".into(),
                topic: "t".into(),
                partition: 3,
            },
            value: Some(OffsetValue {
                offset: 42,
                leader_epoch: 7,
                metadata: "meta".into(),
                commit_timestamp: 1_700_000_000_000,
            }),
        }
    }

    fn group_record() -> GroupRecord {
        GroupRecord::Group {
            group: "g".into(),
            value: Some(GroupMetadataValue {
                protocol_type: "consumer".into(),
                generation: 5,
                protocol: Some("range".into()),
                leader: Some("m1".into()),
                current_state_timestamp: 99,
                members: vec![MemberValue {
                    member_id: "m1".into(),
                    group_instance_id: Some("i1".into()),
                    client_id: "c".into(),
                    client_host: "/127.0.0.1".into(),
                    rebalance_timeout_ms: 300_000,
                    session_timeout_ms: 45_000,
                    subscription: Bytes::from_static(b"sub"),
                    assignment: Bytes::from_static(b"asg"),
                }],
            }),
        }
    }

    fn round_trip(record: GroupRecord) {
        let (k, v) = record.encode();
        assert_eq!(GroupRecord::decode(&k, v.as_deref()).unwrap(), Some(record));
    }

    #[test]
    fn records_round_trip() {
        round_trip(offset_record());
        round_trip(group_record());
        round_trip(GroupRecord::Offset {
            key: OffsetKey {
                group: "g".into(),
                topic: "t".into(),
                partition: 0,
            },
            value: None,
        });
        round_trip(GroupRecord::Group {
            group: "g".into(),
            value: None,
        });
    }

    /// The exact bytes Kafka writes for OffsetCommitKey v1 / value v3.
    #[test]
    fn offset_bytes_match_kafka_layout() {
        let (k, v) = offset_record().encode();
        assert_eq!(k, b"\x00\x01\x00\x01g\x00\x01t\x00\x00\x00\x03");
        let mut want = vec![0, 3];
        want.extend_from_slice(&42i64.to_be_bytes());
        want.extend_from_slice(&7i32.to_be_bytes());
        want.extend_from_slice(b"\x00\x04meta");
        want.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        assert_eq!(v.unwrap(), want);
        let (k, _) = group_record().encode();
        assert_eq!(k, b"\x00\x02\x00\x01g");
    }

    #[test]
    fn older_value_versions_decode() {
        let key = b"\x00\x00\x00\x01g\x00\x01t\x00\x00\x00\x00";
        let mut v1 = vec![0, 1];
        v1.extend_from_slice(&5i64.to_be_bytes());
        v1.extend_from_slice(b"\x00\x00");
        v1.extend_from_slice(&10i64.to_be_bytes());
        v1.extend_from_slice(&20i64.to_be_bytes());
        let Some(GroupRecord::Offset { value: Some(v), .. }) =
            GroupRecord::decode(key, Some(&v1)).unwrap()
        else {
            panic!("offset record")
        };
        assert_eq!((v.offset, v.leader_epoch, v.commit_timestamp), (5, -1, 10));

        // OffsetCommitValue v4 (flexible): compact string, empty tagged fields.
        let mut v4 = vec![0, 4];
        v4.extend_from_slice(&6i64.to_be_bytes());
        v4.extend_from_slice(&2i32.to_be_bytes());
        v4.extend_from_slice(b"\x03hi");
        v4.extend_from_slice(&11i64.to_be_bytes());
        v4.push(0);
        let Some(GroupRecord::Offset { value: Some(v), .. }) =
            GroupRecord::decode(key, Some(&v4)).unwrap()
        else {
            panic!("offset record")
        };
        assert_eq!(
            (v.offset, v.leader_epoch, v.metadata.as_str()),
            (6, 2, "hi")
        );
    }

    #[test]
    fn other_key_versions_are_skipped() {
        assert_eq!(GroupRecord::decode(b"\x00\x03\x00\x01g", None), Ok(None));
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let (k, v) = group_record().encode();
        let v = v.unwrap();
        for cut in 0..v.len() {
            assert!(GroupRecord::decode(&k, Some(&v[..cut])).is_err());
        }
        for cut in 0..k.len() {
            assert!(GroupRecord::decode(&k[..cut], None).is_err());
        }
        // A member count of 2^31-1 with nothing behind it.
        let mut lie = vec![0, 3, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        lie.extend_from_slice(&0i64.to_be_bytes());
        lie.extend_from_slice(&i32::MAX.to_be_bytes());
        assert_eq!(
            GroupRecord::decode(&k, Some(&lie)),
            Err(FormatError::Truncated)
        );
        assert_eq!(
            GroupRecord::decode(&k, Some(&[0, 9])),
            Err(FormatError::UnknownVersion(9))
        );
    }
}
