//! The advertised address set while the broker runs: IncrementalAlterConfigs
//! (and AlterConfigs) of `advertised.listeners` on this broker, and HTTP
//! `PUT /v1/advertised-listener`. New Metadata / FindCoordinator /
//! DescribeCluster answers carry it at once, a librdkafka client
//! bootstrapped on the real port follows it (through a TCP forwarder on
//! another port that counts its connections), DescribeConfigs shows it as
//! DYNAMIC_BROKER_CONFIG, and bad values are refused with Kafka's
//! INVALID_REQUEST and message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::http::{get, request};
use common::raw::Raw;
use common::*;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, DescribeClusterRequest, DescribeConfigsRequest, FindCoordinatorRequest,
    IncrementalAlterConfigsRequest, MetadataRequest,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, AlterConfig, ResourceSpecifier};
use rdkafka::producer::FutureRecord;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

const BROKER: i8 = 4;
const SET: i8 = 0;
const DELETE: i8 = 1;
const INVALID_REQUEST: i16 = 42;
const DYNAMIC_BROKER_CONFIG: i8 = 2;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// IncrementalAlterConfigs v1 of `advertised.listeners` on BROKER `name`:
/// the resource's error code and message.
fn alter(raw: &mut Raw, name: &str, op: i8, value: Option<&str>) -> (i16, Option<String>) {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(s(name))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s("advertised.listeners"))
                .with_config_operation(op)
                .with_value(value.map(s))]),
    ]);
    let mut resp = raw.call(1, &req);
    let r = resp.responses.remove(0);
    (r.error_code, r.error_message.map(|m| m.to_string()))
}

/// The broker's host and port in Metadata, FindCoordinator and
/// DescribeCluster, each answered on a new connection.
fn advertised_in_answers(addr: &str) -> [(String, i32); 3] {
    let mut raw = Raw::connect(addr);
    let md = raw.call(12, &MetadataRequest::default().with_topics(Some(vec![])));
    let b = &md.brokers[0];
    let metadata = (b.host.to_string(), b.port);
    let mut raw = Raw::connect(addr);
    let fc = raw.call(
        4,
        &FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g")]),
    );
    let c = &fc.coordinators[0];
    let coordinator = (c.host.to_string(), c.port);
    let mut raw = Raw::connect(addr);
    let dc = raw.call(0, &DescribeClusterRequest::default());
    let d = &dc.brokers[0];
    let cluster = (d.host.to_string(), d.port);
    [metadata, coordinator, cluster]
}

/// (value, source) of `advertised.listeners` in DescribeConfigs of BROKER 0.
fn described(raw: &mut Raw) -> (Option<String>, i8, bool) {
    let req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(s("0"))
            .with_configuration_keys(Some(vec![s("advertised.listeners")]))]);
    let resp = raw.call(4, &req);
    let e = resp.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == "advertised.listeners")
        .expect("advertised.listeners described");
    (
        e.value.as_ref().map(|v| v.to_string()),
        e.config_source,
        e.read_only,
    )
}

/// A TCP forwarder on 127.0.0.1:0 to `target`; counts the connections it
/// forwarded.
async fn forwarder(target: std::net::SocketAddr) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (port, count)
}

/// Produces one record with a new librdkafka producer bootstrapped on
/// `bootstrap`.
async fn produce_one(bootstrap: &str, topic: &str) {
    let p = producer(bootstrap, &[("message.timeout.ms", "30000")]);
    p.send(
        FutureRecord::<(), str>::to(topic).payload("v"),
        Duration::from_secs(30),
    )
    .await
    .expect("delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_alter_configs_changes_what_new_connections_are_told() {
    let broker = TestBroker::start_with(|c| c.http_listen = None).await;
    let b = broker.broker.as_ref().unwrap();
    let real = b.local_addr();
    let addr = real.to_string();
    create_topic(&addr, "adv", 1, &[]).await;
    let (port, forwarded) = forwarder(real).await;

    let mut raw = Raw::connect(&addr);
    let (before, source, read_only) = described(&mut raw);
    assert_eq!(before, None, "no option set: null, as Kafka lists it");
    assert_eq!(source, 5, "DEFAULT_CONFIG");
    assert!(!read_only, "advertised.listeners is dynamic per broker");

    let new = format!("PLAINTEXT://localhost:{port}");
    assert_eq!(alter(&mut raw, "0", SET, Some(&new)), (0, None));
    let expected = ("localhost".to_string(), i32::from(port));
    for answer in advertised_in_answers(&addr) {
        assert_eq!(answer, expected);
    }
    assert_eq!(b.bootstrap_servers(), format!("localhost:{port}"));
    let (value, source, _) = described(&mut raw);
    assert_eq!(value.as_deref(), Some(new.as_str()));
    assert_eq!(source, DYNAMIC_BROKER_CONFIG);

    // librdkafka's metadata shows it...
    let admin = admin(&addr);
    let md = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    assert_eq!(md.brokers()[0].host(), "localhost");
    assert_eq!(md.brokers()[0].port(), i32::from(port));
    // ...and a client bootstrapped on the real port follows it: its
    // connections to the broker go through the forwarder.
    // (librdkafka's admin client connects there too, once it has the
    // metadata: count from after it is gone.)
    drop(admin);
    let before = forwarded.load(Ordering::SeqCst);
    produce_one(&addr, "adv").await;
    assert!(
        forwarded.load(Ordering::SeqCst) > before,
        "the producer connected to the advertised address"
    );

    // DELETE goes back to the bound address.
    assert_eq!(alter(&mut raw, "0", DELETE, None), (0, None));
    let bound = ("127.0.0.1".to_string(), i32::from(real.port()));
    for answer in advertised_in_answers(&addr) {
        assert_eq!(answer, bound);
    }
    assert_eq!(b.bootstrap_servers(), addr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_advertised_listeners_are_invalid_request_with_kafkas_message() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    let mut raw = Raw::connect(&addr);
    for (value, says) in [
        (
            "localhost:9092",
            "Unable to parse localhost:9092 to a broker endpoint",
        ),
        (
            "EXTERNAL://h:1",
            "No security protocol defined for listener EXTERNAL",
        ),
        ("SSL://h:1", "listener names must be equal to or a subset"),
        (
            "PLAINTEXT://a:1,PLAINTEXT://b:2",
            "Each listener must have a different name",
        ),
        (
            "PLAINTEXT://0.0.0.0:9092",
            "nonroutable meta-address 0.0.0.0",
        ),
        ("PLAINTEXT://h:0", "not between 1 and 65535"),
    ] {
        let (code, message) = alter(&mut raw, "0", SET, Some(value));
        assert_eq!(code, INVALID_REQUEST, "{value}");
        let message = message.unwrap_or_default();
        assert!(message.contains(says), "{value}: {message}");
    }
    // Per broker only, as in Kafka.
    let (code, message) = alter(&mut raw, "", SET, Some("PLAINTEXT://h:1"));
    assert_eq!(code, INVALID_REQUEST);
    let message = message.unwrap_or_default();
    assert!(
        message.contains("Cannot update these configs at default cluster level, broker id must be specified: [advertised.listeners]"),
        "{message}"
    );
    // Nothing changed.
    for (host, port) in advertised_in_answers(&addr) {
        assert_eq!(format!("{host}:{port}"), addr);
    }
    // AlterConfigs takes the same checks (a raw request: the rdkafka crate
    // drops AlterConfigs' per-resource errors).
    let req = AlterConfigsRequest::default().with_resources(vec![
        kafka_protocol::messages::alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(s("0"))
            .with_configs(vec![
                kafka_protocol::messages::alter_configs_request::AlterableConfig::default()
                    .with_name(s("advertised.listeners"))
                    .with_value(Some(s("PLAINTEXT://0.0.0.0:1"))),
            ]),
    ]);
    let resp = raw.call(1, &req);
    assert_eq!(resp.responses[0].error_code, INVALID_REQUEST);
    // librdkafka's AlterConfigs of a good value.
    let admin = admin(&addr);
    let results = admin
        .alter_configs(
            &[AlterConfig::new(ResourceSpecifier::Broker(0))
                .set("advertised.listeners", "PLAINTEXT://localhost:19092")],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert_eq!(
        broker.broker.as_ref().unwrap().bootstrap_servers(),
        "localhost:19092"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_route_sets_gets_and_deletes_the_advertised_listener() {
    let broker = sluice::Broker::builder()
        .http_listen("127.0.0.1:0")
        .topic("adv-http", 1)
        .start()
        .await
        .unwrap();
    let http = broker.http_addr().unwrap();
    let real = broker.local_addr();
    let (status, body) = get(http, "/v1/advertised-listener").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"advertised_listener": real.to_string(), "source": "bound"})
    );

    let (port, forwarded) = forwarder(real).await;
    let (status, body) = request(
        http,
        "PUT",
        "/v1/advertised-listener",
        Some(&json!({"advertised_listener": format!("localhost:{port}")})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"advertised_listener": format!("localhost:{port}"), "source": "dynamic"})
    );
    assert_eq!(broker.bootstrap_servers(), format!("localhost:{port}"));
    // A new client bootstrapped on the real port follows it.
    produce_one(&real.to_string(), "adv-http").await;
    assert!(forwarded.load(Ordering::SeqCst) >= 1);
    // The same change as IncrementalAlterConfigs: in DescribeConfigs.
    let entry = broker
        .admin()
        .describe_broker_configs()
        .into_iter()
        .find(|e| e.name == "advertised.listeners")
        .unwrap();
    assert_eq!(
        entry.value.as_deref(),
        Some(&*format!("PLAINTEXT://localhost:{port}"))
    );

    // Refused with Kafka's message, as 400.
    for (body, says) in [
        (
            json!({"advertised_listener": "0.0.0.0:9092"}),
            "nonroutable",
        ),
        (
            json!({"advertised_listener": "nohostport"}),
            "Unable to parse",
        ),
        (json!({"advertised": "h:1"}), "expected"),
    ] {
        let (status, answer) = request(http, "PUT", "/v1/advertised-listener", Some(&body)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(says), "{body}: {error}");
    }
    let (status, body) = request(http, "DELETE", "/v1/advertised-listener", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["source"], "bound");
    assert_eq!(broker.bootstrap_servers(), real.to_string());
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamic_advertised_listener_outlives_a_restart_as_kafkas_does() {
    if ephemeral_mode() {
        return;
    }
    let mut broker = TestBroker::start().await;
    let mut raw = Raw::connect(&broker.bootstrap());
    assert_eq!(
        alter(&mut raw, "0", SET, Some("PLAINTEXT://kafka.example:19092")),
        (0, None)
    );
    drop(raw);
    broker.restart().await;
    let b = broker.broker.as_ref().unwrap();
    assert_eq!(b.bootstrap_servers(), "kafka.example:19092");
    for answer in advertised_in_answers(&broker.bootstrap()) {
        assert_eq!(answer, ("kafka.example".to_string(), 19092));
    }
}
