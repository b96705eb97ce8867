//! The topic list inside a consumer-protocol subscription (the metadata a
//! Kafka consumer gives in JoinGroup), needed to know which offsets a group
//! still uses (offset expiry, OffsetDelete).
//!
//! ```text
//! version   int16
//! topics    int32 count, then count × (int16 length, UTF-8 name)
//! ...       user data, owned partitions, generation, rack (not read)
//! ```
//!
//! Every version starts with the v0 layout, so only that prefix is read, as
//! Kafka's coordinator does.

use std::collections::BTreeSet;

/// The protocol type of Kafka consumers.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The subscribed topics, or `None` if `metadata` is not a subscription.
pub fn topics(metadata: &[u8]) -> Option<BTreeSet<String>> {
    let (version, rest) = split_i16(metadata)?;
    if version < 0 {
        return None;
    }
    let (count, mut rest) = split_i32(rest)?;
    let count = usize::try_from(count).ok()?;
    // Each name takes at least its two length bytes.
    if count > rest.len() / 2 {
        return None;
    }
    let mut topics = BTreeSet::new();
    for _ in 0..count {
        let (len, tail) = split_i16(rest)?;
        let len = usize::try_from(len).ok()?;
        let name = tail.get(..len)?;
        topics.insert(String::from_utf8(name.to_vec()).ok()?);
        rest = tail.get(len..)?;
    }
    Some(topics)
}

fn split_i16(b: &[u8]) -> Option<(i16, &[u8])> {
    let head: [u8; 2] = b.get(..2)?.try_into().ok()?;
    Some((i16::from_be_bytes(head), b.get(2..)?))
}

fn split_i32(b: &[u8]) -> Option<(i32, &[u8])> {
    let head: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some((i32::from_be_bytes(head), b.get(4..)?))
}

/// A v0 subscription to `topics` (tests and tools).
pub fn encode(topics: &[&str]) -> Vec<u8> {
    let mut out = 0i16.to_be_bytes().to_vec();
    out.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for t in topics {
        out.extend_from_slice(&(t.len() as i16).to_be_bytes());
        out.extend_from_slice(t.as_bytes());
    }
    out.extend_from_slice(&(-1i32).to_be_bytes()); // no user data
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_topics_and_refuses_garbage() {
        let sub = encode(&["b", "a"]);
        let got = topics(&sub).unwrap();
        assert_eq!(got.into_iter().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(topics(&[]), None);
        assert_eq!(topics(&[0, 0, 0x7f, 0xff, 0xff, 0xff]), None);
        for cut in 0..sub.len() - 4 {
            assert_eq!(topics(&sub[..cut]), None, "cut at {cut}");
        }
    }
}
