//! Hand-made bad frames never crash the broker: each gets the answer Kafka
//! gives (an error response, or a closed connection) while a well-behaved
//! client on another connection keeps working.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::{BufMut, BytesMut};
use common::raw::Raw;
use common::*;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

/// A frame from raw header fields and body bytes.
fn frame(api_key: i16, version: i16, correlation_id: i32, rest: &[u8]) -> BytesMut {
    let mut f = BytesMut::new();
    f.put_i32((8 + rest.len()) as i32);
    f.put_i16(api_key);
    f.put_i16(version);
    f.put_i32(correlation_id);
    f.put_slice(rest);
    f
}

/// Sends `bytes` on a fresh connection and says whether the broker closed it.
fn closes(addr: &str, bytes: &[u8]) -> bool {
    let mut raw = Raw::connect(addr);
    raw.stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    if raw.write(bytes).is_err() {
        return true;
    }
    raw.is_closed()
}

/// The bystander: a connection opened before the attacks that must keep working.
fn still_serves(raw: &mut Raw) {
    let resp = raw.call(3, &ApiVersionsRequest::default());
    assert_eq!(resp.error_code, 0);
    let md = raw.call(12, &MetadataRequest::default());
    assert_eq!(md.brokers.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_close_only_their_connection() {
    let broker = TestBroker::start_with(|c| c.max_frame_bytes = 1024 * 1024).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut bystander = Raw::connect(&addr);
        still_serves(&mut bystander);

        // Negative length.
        assert!(closes(&addr, &(-5i32).to_be_bytes()), "negative length");
        // Huge length: refused from the 4 length bytes, before any body.
        assert!(closes(&addr, &i32::MAX.to_be_bytes()), "huge length");
        assert!(
            closes(&addr, &(2 * 1024 * 1024i32).to_be_bytes()),
            "over max frame size"
        );
        // Too short for a request header.
        assert!(closes(&addr, &[0, 0, 0, 3, 0, 18, 0]), "tiny frame");
        // Unknown api key.
        assert!(
            closes(&addr, &frame(9999, 0, 1, &[0, 0])),
            "unknown api key"
        );
        // A known but unadvertised api (ConsumerGroupHeartbeat) and an unsupported version.
        assert!(closes(&addr, &frame(68, 0, 1, &[0, 0])), "unsupported api");
        assert!(closes(&addr, &frame(0, 2, 1, &[0, 0])), "produce v2");
        // Metadata v1 claiming 2^31-1 topics in a tiny body.
        let mut body = BytesMut::new();
        body.put_i16(-1); // client id: null
        body.put_i32(i32::MAX);
        assert!(closes(&addr, &frame(3, 1, 1, &body)), "huge array count");
        // Metadata v9 (flexible): a compact array count of u32::MAX.
        let mut body = BytesMut::new();
        body.put_i16(-1);
        body.put_u8(0); // header tagged fields
        body.put_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(
            closes(&addr, &frame(3, 9, 1, &body)),
            "huge compact array count"
        );
        // Produce v7 truncated after the acks.
        let mut body = BytesMut::new();
        body.put_i16(-1);
        body.put_i16(-1); // transactional id: null
        body.put_i16(1);
        assert!(closes(&addr, &frame(0, 7, 1, &body)), "truncated body");
        // A string length larger than the frame.
        let mut body = BytesMut::new();
        body.put_i16(i16::MAX);
        assert!(
            closes(&addr, &frame(3, 1, 1, &body)),
            "client id longer than the frame"
        );
        // Half a frame, then the client goes away.
        {
            let mut raw = Raw::connect(&addr);
            let f = frame(18, 0, 1, &[]);
            raw.write(&f[..6]).unwrap();
        }
        // Garbage: deterministic pseudo-random frames of random sizes.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 300) as usize;
            let mut f = BytesMut::new();
            f.put_i32(len as i32);
            let mut s = seed;
            for _ in 0..len {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                f.put_u8((s >> 33) as u8);
            }
            // Either answered or closed; what matters is the broker lives.
            let mut raw = Raw::connect(&addr);
            raw.stream
                .set_read_timeout(Some(std::time::Duration::from_millis(200)))
                .unwrap();
            let _ = raw.write(&f);
            let _ = raw.read_frame();
        }
        still_serves(&mut bystander);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_record_batches_get_error_codes_and_keep_the_connection() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("hostile-produce");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let produce = |records: Vec<u8>, partition: i32| {
            ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(5000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(topic.clone())))
                    .with_partition_data(vec![PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(records.into()))])])
        };
        let good = common::batch::one_record_batch(b"key", b"value");

        // Flip one byte of the value: the CRC no longer matches.
        let mut corrupt = good.clone();
        let last = corrupt.len() - 2;
        corrupt[last] ^= 0xff;
        let resp = raw.call(9, &produce(corrupt, 0));
        assert_eq!(
            resp.responses[0].partition_responses[0].error_code, 2,
            "CORRUPT_MESSAGE"
        );

        // Garbage that is not a batch at all.
        let resp = raw.call(9, &produce(vec![1, 2, 3, 4, 5], 0));
        assert_ne!(resp.responses[0].partition_responses[0].error_code, 0);

        // Magic 1 is refused.
        let mut old = good.clone();
        old[16] = 1;
        let resp = raw.call(9, &produce(old, 0));
        assert_ne!(resp.responses[0].partition_responses[0].error_code, 0);

        // A partition that does not exist.
        let resp = raw.call(9, &produce(good.clone(), 5));
        assert_eq!(resp.responses[0].partition_responses[0].error_code, 3);

        // Invalid acks.
        let mut req = produce(good.clone(), 0);
        req.acks = 7;
        let resp = raw.call(9, &req);
        assert_eq!(
            resp.responses[0].partition_responses[0].error_code, 21,
            "INVALID_REQUIRED_ACKS"
        );

        // After all that the good batch lands at offset 0: nothing bad was stored.
        let resp = raw.call(9, &produce(good, 0));
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!((p.error_code, p.base_offset), (0, 0));
    })
    .await
    .unwrap();
}
