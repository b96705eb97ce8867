//! The topic list inside a consumer-protocol subscription (the metadata a
//! Kafka consumer gives in JoinGroup), needed to know which offsets a group
//! still uses (offset expiry, OffsetDelete). The format is kafka-protocol's
//! [`ConsumerProtocolSubscription`], after an `int16` version:
//!
//! ```text
//! version   int16
//! topics    int32 count, then count × (int16 length, UTF-8 name)
//! ...       user data, owned partitions, generation, rack (not read)
//! ```
//!
//! Every version starts with the v0 layout (topics, user data), so only
//! that prefix is read: a subscription with a tail this broker does not
//! know still names its topics.

use std::collections::BTreeSet;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::Decodable;

/// The protocol type of Kafka consumers.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The subscribed topics, or `None` if `metadata` is not a subscription.
pub fn topics(metadata: &[u8]) -> Option<BTreeSet<String>> {
    let mut buf = Bytes::copy_from_slice(metadata);
    if buf.remaining() < 6 || buf.get_i16() < 0 {
        return None;
    }
    // kafka-protocol's array decoder reserves room for the count it reads:
    // a count the bytes present cannot hold (each name takes at least its
    // two length bytes) is refused first.
    let count = usize::try_from(i32::from_be_bytes(buf.get(..4)?.try_into().ok()?)).ok()?;
    if count > (buf.remaining() - 4) / 2 {
        return None;
    }
    // The v0 fields (topics, user data) open every version.
    let subscription = ConsumerProtocolSubscription::decode(&mut buf, 0).ok()?;
    Some(subscription.topics.iter().map(|t| t.to_string()).collect())
}

/// A v0 subscription to `topics` (tests and tools).
#[cfg(test)]
pub fn encode(topics: &[&str]) -> Vec<u8> {
    use bytes::BytesMut;
    use kafka_protocol::protocol::{Encodable, StrBytes};
    let subscription = ConsumerProtocolSubscription::default().with_topics(
        topics
            .iter()
            .map(|t| StrBytes::from_string(t.to_string()))
            .collect(),
    );
    let mut out = BytesMut::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    // Encoding a v0 subscription of valid names cannot fail; an empty
    // subscription is what a failure would leave.
    if subscription.encode(&mut out, 0).is_err() {
        out.truncate(2);
    }
    out.to_vec()
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

    #[test]
    fn encodes_what_kafka_consumers_send() {
        // version 0, one topic "t", null user data.
        assert_eq!(
            encode(&["t"]),
            [0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff]
        );
        // A later version's tail is not read.
        let mut v1 = encode(&["t"]);
        v1[1] = 1;
        v1.extend_from_slice(&0i32.to_be_bytes()); // no owned partitions
        assert_eq!(topics(&v1).unwrap().len(), 1);
    }
}
