//! Client quotas: AlterClientQuotas / DescribeClientQuotas over the wire,
//! kept across a restart, and enforced on real librdkafka clients — a
//! producer and a consumer held to 1 MiB/s, told so in throttle_time_ms,
//! and back to full speed once the quota is removed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::raw::Raw;
use common::*;
use futures::stream::{FuturesUnordered, StreamExt};
use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, ApiVersionsRequest,
    DescribeClientQuotasRequest, DescribeClientQuotasResponse, MetadataRequest, ProduceRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientContext, Message, Offset, Statistics, TopicPartitionList};
use sluice::config::FsyncMode;

const INVALID_REQUEST: i16 = 42;
const UNSUPPORTED_VERSION: i16 = 35;
const MIB: f64 = 1_048_576.0;
const VALUE_BYTES: usize = 10_000;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// One AlterClientQuotas entry: `entity` as (type, name), `ops` as (key,
/// value; None removes).
fn entry(entity: &[(&str, Option<&str>)], ops: &[(&str, Option<f64>)]) -> EntryData {
    EntryData::default()
        .with_entity(
            entity
                .iter()
                .map(|(t, n)| {
                    EntityData::default()
                        .with_entity_type(s(t))
                        .with_entity_name(n.map(s))
                })
                .collect(),
        )
        .with_ops(
            ops.iter()
                .map(|(k, v)| {
                    OpData::default()
                        .with_key(s(k))
                        .with_value(v.unwrap_or(0.0))
                        .with_remove(v.is_none())
                })
                .collect(),
        )
}

async fn alter(
    addr: &str,
    entries: Vec<EntryData>,
    validate_only: bool,
) -> AlterClientQuotasResponse {
    let addr = addr.to_string();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        raw.call(
            1,
            &AlterClientQuotasRequest::default()
                .with_entries(entries)
                .with_validate_only(validate_only),
        )
    })
    .await
    .unwrap()
}

/// Sets (or removes) quotas and checks every entry was accepted.
async fn set(addr: &str, entries: Vec<EntryData>) {
    let resp = alter(addr, entries, false).await;
    for e in resp.entries {
        assert_eq!(e.error_code, 0, "{:?}", e.error_message);
    }
}

async fn describe(
    addr: &str,
    version: i16,
    components: &[(&str, i8, Option<&str>)],
    strict: bool,
) -> DescribeClientQuotasResponse {
    let addr = addr.to_string();
    let components: Vec<ComponentData> = components
        .iter()
        .map(|(t, m, n)| {
            ComponentData::default()
                .with_entity_type(s(t))
                .with_match_type(*m)
                .with_match(n.map(s))
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        raw.call(
            version,
            &DescribeClientQuotasRequest::default()
                .with_components(components)
                .with_strict(strict),
        )
    })
    .await
    .unwrap()
}

/// (entity as "type=name" pairs, values) of a describe answer, sorted.
type Listing = Vec<(Vec<String>, Vec<(String, f64)>)>;

fn listing(resp: &DescribeClientQuotasResponse) -> Listing {
    let mut out: Vec<_> = resp
        .entries
        .as_ref()
        .expect("entries")
        .iter()
        .map(|e| {
            let entity: Vec<String> = e
                .entity
                .iter()
                .map(|c| {
                    format!(
                        "{}={}",
                        c.entity_type.as_str(),
                        c.entity_name.as_deref().unwrap_or("<default>")
                    )
                })
                .collect();
            let values = e
                .values
                .iter()
                .map(|v| (v.key.to_string(), v.value))
                .collect();
            (entity, values)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_are_altered_described_and_kept_across_a_restart() {
    let mut broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    let resp = alter(
        &addr,
        vec![
            entry(
                &[("user", Some("alice")), ("client-id", None)],
                &[
                    ("producer_byte_rate", Some(1024.0)),
                    ("request_percentage", Some(12.5)),
                ],
            ),
            entry(
                &[("client-id", Some("app"))],
                &[("consumer_byte_rate", Some(2048.0))],
            ),
            entry(
                &[("ip", Some("10.0.0.1"))],
                &[("connection_creation_rate", Some(5.0))],
            ),
            // Kafka's refusals, each for its own entry only.
            entry(&[("user", None)], &[("no_such_quota", Some(1.0))]),
            entry(&[("user", None)], &[("producer_byte_rate", Some(1.5))]),
            entry(&[("user", None)], &[("producer_byte_rate", Some(-1.0))]),
            entry(&[], &[("producer_byte_rate", Some(1.0))]),
            entry(
                &[("group", Some("g"))],
                &[("producer_byte_rate", Some(1.0))],
            ),
            entry(&[("user", Some(""))], &[("producer_byte_rate", Some(1.0))]),
            entry(
                &[("ip", Some("10.0.0.1")), ("user", None)],
                &[("connection_creation_rate", Some(1.0))],
            ),
            entry(
                &[("client-id", Some("app"))],
                &[("consumer_byte_rate", Some(1.0))],
            ),
        ],
        false,
    )
    .await;
    let results: Vec<(i16, Option<String>)> = resp
        .entries
        .iter()
        .map(|e| {
            (
                e.error_code,
                e.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    let expect = [
        (0, None),
        (0, None),
        (0, None),
        (INVALID_REQUEST, Some("Invalid configuration key no_such_quota")),
        (INVALID_REQUEST, Some("producer_byte_rate cannot be a fractional value.")),
        (INVALID_REQUEST, Some("Quota producer_byte_rate must be greater than 0")),
        (INVALID_REQUEST, Some("Invalid empty client quota entity")),
        (INVALID_REQUEST, Some("Unhandled client quota entity type: group")),
        (INVALID_REQUEST, Some("Empty user not supported")),
        (
            INVALID_REQUEST,
            Some("Invalid quota entity combination, IP entity should not be combined with User or ClientId"),
        ),
        (
            INVALID_REQUEST,
            Some("Ignoring duplicate entity ClientQuotaEntity(entries={client-id=app})"),
        ),
    ];
    let expect: Vec<(i16, Option<String>)> = expect
        .iter()
        .map(|(c, m)| (*c, m.map(str::to_string)))
        .collect();
    assert_eq!(results, expect);
    // validate_only stores nothing.
    let resp = alter(
        &addr,
        vec![entry(
            &[("user", None)],
            &[("producer_byte_rate", Some(5.0))],
        )],
        true,
    )
    .await;
    assert_eq!(resp.entries[0].error_code, 0);

    let alice = (
        vec!["user=alice".to_string(), "client-id=<default>".to_string()],
        vec![
            ("producer_byte_rate".to_string(), 1024.0),
            ("request_percentage".to_string(), 12.5),
        ],
    );
    let app = (
        vec!["client-id=app".to_string()],
        vec![("consumer_byte_rate".to_string(), 2048.0)],
    );
    let ip = (
        vec!["ip=10.0.0.1".to_string()],
        vec![("connection_creation_rate".to_string(), 5.0)],
    );
    let check = |addr: String| {
        let (alice, app, ip) = (alice.clone(), app.clone(), ip.clone());
        async move {
            for version in [0, 1] {
                let all = describe(&addr, version, &[], false).await;
                assert_eq!(all.error_code, 0);
                assert_eq!(listing(&all), [app.clone(), ip.clone(), alice.clone()]);
            }
            let exact = describe(&addr, 1, &[("user", 0, Some("alice"))], false).await;
            assert_eq!(listing(&exact), std::slice::from_ref(&alice));
            // strict: only entities naming no other type.
            let strict = describe(&addr, 1, &[("user", 0, Some("alice"))], true).await;
            assert_eq!(listing(&strict), []);
            let defaults = describe(&addr, 1, &[("client-id", 1, None)], false).await;
            assert_eq!(listing(&defaults), std::slice::from_ref(&alice));
            let any = describe(&addr, 1, &[("client-id", 2, None)], true).await;
            assert_eq!(listing(&any), std::slice::from_ref(&app));
        }
    };
    check(addr.clone()).await;

    // Refused filters: Kafka's codes and messages, no entries.
    let bad = describe(&addr, 1, &[("user", 0, None)], false).await;
    assert_eq!(bad.error_code, INVALID_REQUEST);
    assert_eq!(
        bad.error_message.as_deref(),
        Some("Request specified MATCH_TYPE_EXACT, but set match string to null.")
    );
    assert!(bad.entries.is_none());
    let twice = describe(&addr, 1, &[("user", 2, None), ("user", 1, None)], false).await;
    assert_eq!(twice.error_code, INVALID_REQUEST);
    let unknown = describe(&addr, 1, &[("group", 2, None)], false).await;
    assert_eq!(unknown.error_code, UNSUPPORTED_VERSION);

    // Removing a key; an entity left with none is gone.
    set(
        &addr,
        vec![entry(
            &[("client-id", Some("app"))],
            &[("consumer_byte_rate", None)],
        )],
    )
    .await;
    let after = describe(&addr, 1, &[("client-id", 0, Some("app"))], false).await;
    assert_eq!(listing(&after), []);
    set(
        &addr,
        vec![entry(
            &[("client-id", Some("app"))],
            &[("consumer_byte_rate", Some(2048.0))],
        )],
    )
    .await;

    if ephemeral_mode() {
        return;
    }
    broker.restart().await;
    check(broker.bootstrap()).await;
}

/// Keeps the largest throttle time librdkafka reports in its statistics.
#[derive(Clone, Default)]
struct ThrottleSeen(Arc<AtomicI64>);

impl ClientContext for ThrottleSeen {
    fn stats(&self, stats: Statistics) {
        for broker in stats.brokers.values() {
            if let Some(w) = &broker.throttle {
                self.0.fetch_max(w.max, Ordering::Relaxed);
            }
        }
    }
}

impl ConsumerContext for ThrottleSeen {}

impl ThrottleSeen {
    fn max(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

fn quota_client_config(addr: &str, client_id: &str) -> ClientConfig {
    let mut c = client_config(addr);
    c.set("client.id", client_id)
        .set("statistics.interval.ms", "200");
    c
}

/// Produces 10 kB records with up to 64 in flight for `run` (or until
/// `stop_after` bytes are acknowledged): the bytes acknowledged and the
/// time taken.
async fn produce_flat_out(
    producer: &FutureProducer<ThrottleSeen>,
    topic: &str,
    run: Duration,
    stop_after: usize,
) -> (usize, Duration) {
    let value = vec![b'q'; VALUE_BYTES];
    let start = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let mut acked = 0usize;
    loop {
        while in_flight.len() < 64 {
            in_flight.push(
                producer.send(
                    FutureRecord::<(), [u8]>::to(topic)
                        .partition(0)
                        .payload(&value[..]),
                    Duration::from_secs(30),
                ),
            );
        }
        let Some(delivered) = in_flight.next().await else {
            break;
        };
        delivered.expect("delivered");
        if start.elapsed() > run {
            break;
        }
        acked += VALUE_BYTES;
        if acked >= stop_after {
            break;
        }
    }
    (acked, start.elapsed().min(run))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_is_held_to_its_byte_rate_until_the_quota_is_removed() {
    let broker = TestBroker::start_with(|c| c.fsync = FsyncMode::Never).await;
    let addr = broker.bootstrap();
    let topic = unique_topic("quota-produce");
    create_topic(&addr, &topic, 1, &[]).await;
    set(
        &addr,
        vec![entry(
            &[("client-id", Some("quota-producer"))],
            &[("producer_byte_rate", Some(MIB))],
        )],
    )
    .await;
    let seen = ThrottleSeen::default();
    // One record per request: a throttled request is still appended (as
    // Kafka does), so each one the client sends after a mute goes over by
    // its size; small requests keep that small.
    let producer: FutureProducer<ThrottleSeen> = quota_client_config(&addr, "quota-producer")
        .set("linger.ms", "5")
        .set("batch.size", "16384")
        .set("message.timeout.ms", "60000")
        .create_with_context(seen.clone())
        .expect("producer");

    let (bytes, took) =
        produce_flat_out(&producer, &topic, Duration::from_secs(10), usize::MAX).await;
    let rate = bytes as f64 / took.as_secs_f64();
    eprintln!(
        "{}: with the quota: {bytes} bytes in {took:?}, {:.3} MiB/s",
        std::thread::current().name().unwrap_or(""),
        rate / MIB
    );
    assert!(
        (0.8 * MIB..=1.2 * MIB).contains(&rate),
        "{bytes} bytes in {took:?}: {:.2} MiB/s, not 1 ± 20 %",
        rate / MIB
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.max() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.max() > 0, "librdkafka saw no throttle time");

    set(
        &addr,
        vec![entry(
            &[("client-id", Some("quota-producer"))],
            &[("producer_byte_rate", None)],
        )],
    )
    .await;
    // The last throttle may still hold the connection for a moment.
    produce_flat_out(&producer, &topic, Duration::from_secs(10), 100_000).await;
    let (bytes, took) =
        produce_flat_out(&producer, &topic, Duration::from_secs(5), 30_000_000).await;
    let rate = bytes as f64 / took.as_secs_f64();
    eprintln!(
        "without: {bytes} bytes in {took:?}, {:.3} MiB/s",
        rate / MIB
    );
    assert!(
        rate > 3.0 * MIB,
        "without the quota: {:.2} MiB/s",
        rate / MIB
    );
}

/// Consumes from where `consumer` is for `run` (or until `stop_after`
/// bytes): the bytes consumed and the time taken.
fn consume_for(
    consumer: &BaseConsumer<ThrottleSeen>,
    run: Duration,
    stop_after: usize,
) -> (usize, Duration) {
    let start = Instant::now();
    let mut bytes = 0;
    while start.elapsed() < run && bytes < stop_after {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            bytes += m.expect("message").payload().map_or(0, <[u8]>::len);
        }
    }
    (bytes, start.elapsed().min(run))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_is_held_to_its_byte_rate_until_the_quota_is_removed() {
    let broker = TestBroker::start_with(|c| c.fsync = FsyncMode::Never).await;
    let addr = broker.bootstrap();
    let topic = unique_topic("quota-fetch");
    create_topic(&addr, &topic, 1, &[]).await;
    let filler: FutureProducer<ThrottleSeen> = quota_client_config(&addr, "filler")
        .set("linger.ms", "5")
        .set("batch.size", "65536")
        .create_with_context(ThrottleSeen::default())
        .expect("producer");
    let total = 40_000_000;
    let (filled, _) = produce_flat_out(&filler, &topic, Duration::from_secs(120), total).await;
    assert_eq!(filled, total);
    set(
        &addr,
        vec![entry(
            &[("client-id", Some("quota-consumer"))],
            &[("consumer_byte_rate", Some(MIB))],
        )],
    )
    .await;
    let seen = ThrottleSeen::default();
    let consumer = tokio::task::spawn_blocking({
        let (addr, topic, seen) = (addr.clone(), topic.clone(), seen.clone());
        move || {
            let consumer: BaseConsumer<ThrottleSeen> = quota_client_config(&addr, "quota-consumer")
                .set("group.id", "sluice-tests-no-group")
                .set("enable.auto.commit", "false")
                .set("fetch.wait.max.ms", "100")
                .set("max.partition.fetch.bytes", "65536")
                .create_with_context(seen)
                .expect("consumer");
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&topic, 0, Offset::Beginning)
                .unwrap();
            consumer.assign(&tpl).unwrap();
            let (bytes, took) = consume_for(&consumer, Duration::from_secs(10), usize::MAX);
            (consumer, bytes, took)
        }
    });
    let (consumer, bytes, took) = consumer.await.unwrap();
    let rate = bytes as f64 / took.as_secs_f64();
    eprintln!(
        "{}: with the quota: {bytes} bytes in {took:?}, {:.3} MiB/s",
        std::thread::current().name().unwrap_or(""),
        rate / MIB
    );
    assert!(
        (0.8 * MIB..=1.2 * MIB).contains(&rate),
        "{bytes} bytes in {took:?}: {:.2} MiB/s, not 1 ± 20 %",
        rate / MIB
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.max() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.max() > 0, "librdkafka saw no throttle time");

    set(
        &addr,
        vec![entry(
            &[("client-id", Some("quota-consumer"))],
            &[("consumer_byte_rate", None)],
        )],
    )
    .await;
    let (bytes, took) = tokio::task::spawn_blocking(move || {
        // The last throttle may still hold the connection for a moment.
        consume_for(&consumer, Duration::from_secs(10), 100_000);
        consume_for(&consumer, Duration::from_secs(5), 15_000_000)
    })
    .await
    .unwrap();
    let rate = bytes as f64 / took.as_secs_f64();
    eprintln!(
        "without: {bytes} bytes in {took:?}, {:.3} MiB/s",
        rate / MIB
    );
    assert!(
        rate > 3.0 * MIB,
        "without the quota: {:.2} MiB/s",
        rate / MIB
    );
}

/// A produce of `value` to partition 0 of `topic`, acks -1.
fn produce_request(topic: &str, value: &[u8]) -> ProduceRequest {
    let data = TopicProduceData::default()
        .with_name(TopicName(s(topic)))
        .with_partition_data(vec![PartitionProduceData::default()
            .with_index(0)
            .with_records(Some(common::batch::one_record_batch(b"k", value).into()))]);
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![data])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_connection_is_muted_and_its_batch_kept() {
    // Two samples of 1 s: a new client is measured over one second.
    let broker = TestBroker::start_with(|c| {
        c.fsync = FsyncMode::Never;
        c.quota_window_num = 2;
    })
    .await;
    let addr = broker.bootstrap();
    let topic = unique_topic("quota-mute");
    create_topic(&addr, &topic, 1, &[]).await;
    // The raw client's id: 50 kB/s.
    set(
        &addr,
        vec![entry(
            &[("client-id", Some("raw-test"))],
            &[("producer_byte_rate", Some(50_000.0))],
        )],
    )
    .await;
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let value = vec![b'x'; 100_000];
        let resp = raw.call(9, &produce_request(&topic, &value));
        let p = &resp.responses[0].partition_responses[0];
        // Appended all the same (Kafka appends, then throttles).
        assert_eq!((p.error_code, p.base_offset), (0, 0));
        // 100 kB in a 1 s span is twice the quota: about 1 s of throttle.
        let throttle = resp.throttle_time_ms;
        assert!(
            (900..=1_200).contains(&throttle),
            "throttle_time_ms {throttle}"
        );
        // The connection handles nothing more until the throttle is over.
        // (A lower bound only: the broker never answers sooner.)
        let sent = Instant::now();
        raw.call(3, &ApiVersionsRequest::default());
        let waited = sent.elapsed();
        assert!(
            waited >= Duration::from_millis(u64::try_from(throttle).unwrap() - 100),
            "answered after {waited:?}, throttled for {throttle} ms"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_time_over_request_percentage_is_throttled() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    set(
        &addr,
        vec![entry(
            &[("user", None)],
            &[("request_percentage", Some(0.001))],
        )],
    )
    .await;
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        // 0.001 % of a thread over a 10 s span is 0.1 ms of handling: some
        // Metadata requests are enough to go over.
        let throttled = (0..5_000)
            .map(|_| {
                raw.call(12, &MetadataRequest::default().with_topics(None))
                    .throttle_time_ms
            })
            .find(|t| *t > 0)
            .expect("request time throttled");
        // Kafka bounds a request-time throttle by one quota window (1 s).
        assert!(throttled <= 1_000, "{throttled}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_over_its_ips_rate_is_closed_unserved() {
    // Two samples of 1 s: the rate is measured over one second.
    let broker = TestBroker::start_with(|c| c.quota_window_num = 2).await;
    let addr = broker.bootstrap();
    set(
        &addr,
        vec![entry(
            &[("ip", Some("127.0.0.1"))],
            &[("connection_creation_rate", Some(1.0))],
        )],
    )
    .await;
    tokio::task::spawn_blocking(move || {
        // One connection a second: the first is served, one more at once
        // is held and closed without an answer.
        let mut first = Raw::connect(&addr);
        first.call(3, &ApiVersionsRequest::default());
        let mut second = Raw::connect(&addr);
        second.send(3, &ApiVersionsRequest::default());
        assert!(
            second.read_frame().is_none(),
            "the second connection was served"
        );
        // The first one is unaffected.
        first.call(3, &ApiVersionsRequest::default());
    })
    .await
    .unwrap();
}
