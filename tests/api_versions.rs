//! ApiVersions: every version we advertise answers, and an unknown version
//! gets UNSUPPORTED_VERSION with a v0 body listing our ranges (KIP-511).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::{Buf, BufMut, BytesMut};
use common::raw::Raw;
use common::*;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::{Decodable, StrBytes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_answers_and_lists_what_dispatch_serves() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        for v in 0..=4 {
            let req = ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("sluice-test"))
                .with_client_software_version(StrBytes::from_static_str("1.0"));
            let resp = raw.call(v, &req);
            assert_eq!(resp.error_code, 0, "v{v}");
            let produce = resp
                .api_keys
                .iter()
                .find(|k| k.api_key == ApiKey::Produce as i16)
                .unwrap();
            assert_eq!((produce.min_version, produce.max_version), (3, 13));
            let fetch = resp
                .api_keys
                .iter()
                .find(|k| k.api_key == ApiKey::Fetch as i16)
                .unwrap();
            assert_eq!((fetch.min_version, fetch.max_version), (4, 18));
            assert!(
                resp.api_keys
                    .iter()
                    .all(|k| k.api_key != ApiKey::BrokerHeartbeat as i16),
                "nothing unimplemented is advertised"
            );
            // Feature levels (v3+), as a Kafka 4.1 KRaft broker reports them.
            let supported: Vec<(String, i16, i16)> = resp
                .supported_features
                .iter()
                .map(|f| (f.name.to_string(), f.min_version, f.max_version))
                .collect();
            let finalized: Vec<(String, i16, i16)> = resp
                .finalized_features
                .iter()
                .map(|f| (f.name.to_string(), f.min_version_level, f.max_version_level))
                .collect();
            let mv = ("metadata.version".to_string(), 27, 27);
            match v {
                0..=2 => assert!(supported.is_empty() && finalized.is_empty(), "v{v}"),
                // v3 leaves out features whose lowest level is 0 (KAFKA-17492).
                3 => assert_eq!(supported, vec![mv.clone()]),
                _ => {
                    assert!(supported.contains(&mv), "{supported:?}");
                    for name in [
                        "group.version",
                        "transaction.version",
                        "kraft.version",
                        "share.version",
                    ] {
                        assert!(
                            supported.contains(&(name.to_string(), 0, 0)),
                            "{name} at level 0 only: {supported:?}"
                        );
                    }
                }
            }
            if v >= 3 {
                // Only levels above 0 are finalized: group.version stays 0
                // (KIP-848 is not served), transaction.version too.
                assert_eq!(finalized, vec![mv], "v{v}");
                assert!(!resp.zk_migration_ready);
                assert_eq!(resp.finalized_features_epoch, 0);
            }
            assert!(resp.unknown_tagged_fields.is_empty());
        }
    })
    .await
    .unwrap();
    // The pipeline counted and timed each of them.
    let metrics = broker.broker.as_ref().unwrap().request_metrics();
    let api_versions = metrics.api(ApiKey::ApiVersions).unwrap();
    assert_eq!((api_versions.requests(), api_versions.answered()), (5, 5));
    assert_eq!(metrics.api(ApiKey::Produce).unwrap().requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_versions_version_gets_v0_fallback() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        // ApiVersions v99 with a body we cannot know: header v2 + garbage.
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        frame.put_i16(ApiKey::ApiVersions as i16);
        frame.put_i16(99);
        frame.put_i32(4242);
        frame.put_i16(-1);
        frame.put_slice(&[0, 1, 2, 3, 4, 5]);
        let len = (frame.len() - 4) as i32;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        raw.write(&frame).unwrap();
        let mut body = raw
            .read_frame()
            .expect("an answer, not a closed connection");
        assert_eq!(body.get_i32(), 4242, "header v0: just the correlation id");
        let resp = ApiVersionsResponse::decode(&mut body, 0).unwrap();
        assert_eq!(resp.error_code, 35, "UNSUPPORTED_VERSION");
        let av = resp
            .api_keys
            .iter()
            .find(|k| k.api_key == ApiKey::ApiVersions as i16)
            .unwrap();
        assert_eq!((av.min_version, av.max_version), (0, 4));
        // The connection stays usable for the downgraded request.
        let resp = raw.call(3, &ApiVersionsRequest::default());
        assert_eq!(resp.error_code, 0);
    })
    .await
    .unwrap();
}
