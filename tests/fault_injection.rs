//! Fault injection with real clients (librdkafka through the `rdkafka`
//! crate): errors a retrying idempotent producer rides out exactly once, a
//! delayed Fetch the consumer measures, a dropped JoinGroup the consumer
//! retries, the broker down and up again, and the request log showing what
//! the client sent. Then the HTTP routes, bad input included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::http::{get, request};
use common::*;
use kafka_protocol::messages::ApiKey;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::producer::FutureRecord;
use rdkafka::statistics::Statistics;
use rdkafka::ClientContext;
use serde_json::{json, Value};
use sluice::faults::{Action, RequestFilter, Rule};
use sluice::Broker;

const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const REQUEST_TIMED_OUT: i16 = 7;

async fn broker() -> Broker {
    Broker::builder()
        .fault_injection()
        .http_listen("127.0.0.1:0")
        .start()
        .await
        .expect("broker starts")
}

fn requests(broker: &Broker, api: ApiKey) -> Vec<sluice::faults::RecordedRequest> {
    broker.faults().unwrap().requests(&RequestFilter {
        api: Some(api),
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn not_leader_and_timeouts_on_produce_still_deliver_10000_exactly_once_in_order() {
    const MESSAGES: usize = 10_000;
    const PARTITIONS: i32 = 3;
    let broker = broker().await;
    let bootstrap = broker.bootstrap_servers();
    let topic = unique_topic("faults-idempotent");
    create_topic(&bootstrap, &topic, PARTITIONS, &[]).await;
    let faults = broker.faults().unwrap();
    let not_leader = faults
        .add(Rule::new(ApiKey::Produce, Action::error(NOT_LEADER_OR_FOLLOWER)).count(3))
        .unwrap();
    let timed_out = faults
        .add(
            Rule::new(ApiKey::Produce, Action::error(REQUEST_TIMED_OUT))
                .topic(topic.clone())
                .count(2),
        )
        .unwrap();
    let producer = producer(
        &bootstrap,
        &[
            ("enable.idempotence", "true"),
            ("client.id", "faults-idempotent"),
            ("retry.backoff.ms", "10"),
            ("message.timeout.ms", "120000"),
        ],
    );
    let mut deliveries = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let payload = i.to_string();
        let partition = (i % PARTITIONS as usize) as i32;
        loop {
            let record = FutureRecord::to(&topic)
                .partition(partition)
                .key("k")
                .payload(&payload);
            match producer.send_result(record) {
                Ok(fut) => {
                    deliveries.push(fut);
                    break;
                }
                // Queue full: let deliveries drain.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }
    for d in deliveries {
        d.await.expect("not cancelled").expect("delivered");
    }
    assert_eq!(faults.fired(not_leader), 3);
    assert_eq!(faults.fired(timed_out), 2);
    let errors: Vec<i16> = requests(&broker, ApiKey::Produce)
        .iter()
        .filter_map(|r| r.error_code.filter(|&c| c != 0))
        .collect();
    assert_eq!(
        errors
            .iter()
            .filter(|&&c| c == NOT_LEADER_OR_FOLLOWER)
            .count(),
        3
    );
    assert_eq!(
        errors.iter().filter(|&&c| c == REQUEST_TIMED_OUT).count(),
        2
    );

    let consumer = consumer_from_start(&bootstrap, &topic, PARTITIONS, &[]);
    let got = tokio::task::spawn_blocking(move || {
        let got = consume(&consumer, MESSAGES, Duration::from_secs(120));
        // The logs hold exactly that many records: nothing written twice.
        let stored: i64 = (0..PARTITIONS)
            .map(|p| {
                consumer
                    .fetch_watermarks(&topic, p, Duration::from_secs(10))
                    .unwrap()
                    .1
            })
            .sum();
        assert_eq!(stored, MESSAGES as i64);
        got
    })
    .await
    .unwrap();
    assert_eq!(got.len(), MESSAGES, "every message once, none twice");
    let mut last: Vec<Option<usize>> = vec![None; PARTITIONS as usize];
    let mut seen = vec![false; MESSAGES];
    for g in &got {
        let n: usize = String::from_utf8(g.value.clone().unwrap())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(n % PARTITIONS as usize, g.partition as usize);
        assert!(!seen[n], "message {n} twice");
        seen[n] = true;
        let slot = &mut last[g.partition as usize];
        assert!(
            slot.is_none_or(|prev| prev < n),
            "out of order: {n} after {slot:?}"
        );
        *slot = Some(n);
    }
    broker.shutdown().await;
}

/// Keeps the largest round-trip time librdkafka reports for any broker.
#[derive(Clone, Default)]
struct MaxRtt(Arc<Mutex<i64>>);

impl ClientContext for MaxRtt {
    fn stats(&self, statistics: Statistics) {
        let mut max = self.0.lock().unwrap();
        for b in statistics.brokers.values() {
            if let Some(rtt) = &b.rtt {
                *max = (*max).max(rtt.max);
            }
        }
    }
}

impl ConsumerContext for MaxRtt {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_ms_fetch_delay_is_seen_by_the_consumer() {
    let broker = broker().await;
    let bootstrap = broker.bootstrap_servers();
    let topic = unique_topic("faults-delay");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    fill_partition_zero(&bootstrap, &topic, 10).await;
    let faults = Arc::clone(broker.faults().unwrap());
    let rule = faults
        .add(
            Rule::new(ApiKey::Fetch, Action::delay(Duration::from_millis(500)))
                .topic(topic.clone()),
        )
        .unwrap();
    let stats = MaxRtt::default();
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", "faults-delay-no-group")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .set("statistics.interval.ms", "100");
    let consumer: BaseConsumer<MaxRtt> = c.create_with_context(stats.clone()).unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, rdkafka::Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let rtt = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut got = 0;
        // Messages, then statistics covering the delayed fetch.
        while Instant::now() < deadline && (got < 10 || *stats.0.lock().unwrap() < 500_000) {
            if let Some(m) = consumer.poll(Duration::from_millis(100)) {
                m.expect("no consumer error");
                got += 1;
            }
        }
        assert_eq!(got, 10);
        let rtt = *stats.0.lock().unwrap();
        rtt
    })
    .await
    .unwrap();
    assert!(rtt >= 500_000, "librdkafka's largest rtt was {rtt} µs");
    assert_eq!(faults.fired(rule), 1);
    let delayed: Vec<_> = requests(&broker, ApiKey::Fetch)
        .into_iter()
        .filter(|r| r.fault.is_some())
        .collect();
    assert_eq!(delayed.len(), 1);
    assert!(delayed[0].latency_ms >= 500.0, "{:?}", delayed[0]);
    assert_eq!(delayed[0].fault.as_ref().unwrap().action, "delay");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_join_group_makes_the_consumer_retry() {
    let broker = broker().await;
    let bootstrap = broker.bootstrap_servers();
    let topic = unique_topic("faults-join");
    create_topic(&bootstrap, &topic, 2, &[]).await;
    let group = unique_topic("faults-join-group");
    let faults = Arc::clone(broker.faults().unwrap());
    let rule = faults
        .add(Rule::new(ApiKey::JoinGroup, Action::Drop).group_id(group.clone()))
        .unwrap();
    let mut c = client_config(&bootstrap);
    c.set("group.id", &group)
        .set("session.timeout.ms", "6000")
        .set("max.poll.interval.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .set("enable.auto.commit", "false");
    let consumer: BaseConsumer = c.create().unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let assigned = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            let _ = consumer.poll(Duration::from_millis(100));
            let assignment = consumer.assignment().unwrap();
            if assignment.count() > 0 {
                return assignment.count();
            }
        }
        0
    })
    .await
    .unwrap();
    assert_eq!(assigned, 2, "the consumer got its assignment");
    assert_eq!(faults.fired(rule), 1);
    let joins = requests(&broker, ApiKey::JoinGroup);
    let dropped = joins
        .iter()
        .position(|r| r.fault.as_ref().is_some_and(|f| f.action == "drop"))
        .expect("the dropped JoinGroup is in the log");
    assert_eq!(joins[dropped].error_code, None, "it was never answered");
    assert!(
        joins[dropped + 1..].iter().any(|r| r.error_code == Some(0)),
        "a later JoinGroup succeeded: {joins:?}"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_then_up_and_the_client_reconnects() {
    let broker = broker().await;
    let bootstrap = broker.bootstrap_servers();
    let topic = unique_topic("faults-down");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    let producer = producer(
        &bootstrap,
        &[
            ("reconnect.backoff.ms", "10"),
            ("reconnect.backoff.max.ms", "200"),
        ],
    );
    let send = |v: &'static str| {
        producer.send(
            FutureRecord::to(&topic).partition(0).key("k").payload(v),
            Duration::from_secs(30),
        )
    };
    send("before").await.expect("delivered before down");
    // A connection open before "down" is closed by it.
    let addr = bootstrap.clone();
    let mut open = std::net::TcpStream::connect(&addr).unwrap();
    let faults = broker.faults().unwrap();
    faults.down();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        open.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(open.read(&mut buf).unwrap(), 0, "closed by down");
        // A new one is accepted and closed at once.
        let mut fresh = std::net::TcpStream::connect(&addr).unwrap();
        fresh
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(fresh.read(&mut buf).unwrap_or(0), 0, "accepted and closed");
    })
    .await
    .unwrap();
    // While down, nothing is delivered.
    let during = send("during");
    tokio::pin!(during);
    assert!(
        tokio::time::timeout(Duration::from_millis(700), &mut during)
            .await
            .is_err(),
        "delivered while down"
    );
    faults.up();
    during.await.expect("delivered once up");
    send("after").await.expect("delivered after up");
    let consumer = consumer_from_start(&bootstrap, &topic, 1, &[]);
    let got = tokio::task::spawn_blocking(move || consume(&consumer, 3, Duration::from_secs(30)))
        .await
        .unwrap();
    let values: Vec<_> = got.iter().map(|g| g.value.clone().unwrap()).collect();
    assert_eq!(
        values,
        [b"before".to_vec(), b"during".to_vec(), b"after".to_vec()]
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_shows_what_the_client_sent() {
    let broker = broker().await;
    let bootstrap = broker.bootstrap_servers();
    let topic = unique_topic("faults-log");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    let producer = producer(&bootstrap, &[("client.id", "log-checker")]);
    producer
        .send(
            FutureRecord::to(&topic).partition(0).key("k").payload("v"),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered");
    let log = broker.faults().unwrap().requests(&RequestFilter {
        client_id: Some("log-checker".into()),
        ..Default::default()
    });
    let apis: Vec<&str> = log.iter().map(|r| r.api.as_str()).collect();
    for want in ["ApiVersions", "Metadata", "Produce"] {
        assert!(apis.contains(&want), "{want} missing from {apis:?}");
    }
    for r in &log {
        assert_eq!(r.client_id.as_deref(), Some("log-checker"));
        let api = ApiKey::try_from(r.api_key).unwrap();
        assert_eq!(r.api, format!("{api:?}"));
    }
    let produce: Vec<_> = log.iter().filter(|r| r.api == "Produce").collect();
    assert_eq!(produce.len(), 1);
    assert!(produce[0].version >= 3, "{:?}", produce[0]);
    assert_eq!(produce[0].error_code, Some(0));
    assert_eq!(produce[0].error.as_deref(), Some("NONE"));
    // The same over HTTP, filtered.
    let http = broker.http_addr().unwrap();
    let (status, body) = get(http, "/v1/requests?api=Produce&client_id=log-checker").await;
    assert_eq!(status, 200, "{body}");
    let listed = body["requests"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["api"], "Produce");
    assert_eq!(listed[0]["version"], produce[0].version);
    assert_eq!(listed[0]["correlation_id"], produce[0].correlation_id);
    let (status, _) = request(http, "DELETE", "/v1/requests", None).await;
    assert_eq!(status, 200);
    let (_, body) = get(http, "/v1/requests?client_id=log-checker").await;
    assert_eq!(body["requests"], json!([]));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_injection_is_off_unless_asked_for() {
    let broker = Broker::builder()
        .http_listen("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    assert!(broker.faults().is_none());
    let http = broker.http_addr().unwrap();
    for (method, path) in [
        ("GET", "/v1/faults"),
        ("POST", "/v1/broker/down"),
        ("GET", "/v1/requests"),
        ("DELETE", "/v1/faults/1"),
    ] {
        let (status, body) = request(http, method, path, None).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("--fault-injection"),
            "{body}"
        );
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_rules_add_list_get_delete_and_reset() {
    let broker = broker().await;
    let http = broker.http_addr().unwrap();
    let rule = json!({"api": "Produce", "topic": "orders",
        "action": {"type": "error", "error": "NOT_LEADER_OR_FOLLOWER"}, "count": 3});
    let (status, body) = request(http, "POST", "/v1/faults", Some(&rule)).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_u64().unwrap();
    let (status, body) = get(http, &format!("/v1/faults/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["api"], "Produce");
    assert_eq!(body["action"]["error"], "NOT_LEADER_OR_FOLLOWER");
    assert_eq!(body["fired"], 0);
    let many = json!([{"api": 1, "action": {"type": "delay", "ms": 10}},
                      {"api": "JoinGroup", "action": {"type": "drop"}, "keep": true}]);
    let (status, body) = request(http, "POST", "/v1/faults", Some(&many)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["ids"].as_array().unwrap().len(), 2);
    let (_, body) = get(http, "/v1/faults").await;
    assert_eq!(body["rules"].as_array().unwrap().len(), 3);
    assert_eq!(body["down"], false);
    let (status, _) = request(http, "DELETE", &format!("/v1/faults/{id}"), None).await;
    assert_eq!(status, 200);
    let (status, body) = get(http, &format!("/v1/faults/{id}")).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = request(http, "DELETE", "/v1/faults", None).await;
    assert_eq!((status, body["deleted"].as_u64()), (200, Some(2)));
    let (status, body) = request(http, "POST", "/v1/broker/down", None).await;
    assert_eq!((status, body["down"].as_bool()), (200, Some(true)));
    assert!(broker.faults().unwrap().is_down());
    let (status, _) = request(http, "POST", "/v1/broker/up", None).await;
    assert_eq!(status, 200);
    assert!(!broker.faults().unwrap().is_down());
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_bad_input_is_400_with_a_clear_message() {
    let broker = broker().await;
    let http = broker.http_addr().unwrap();
    let drop = json!({"type": "drop"});
    let cases = [
        (
            json!({"api": "Prodce", "action": drop}),
            "unknown API \"Prodce\"",
        ),
        (
            json!({"api": "Produce", "action": {"type": "error", "error": "NOT_A_THING"}}),
            "unknown error \"NOT_A_THING\"",
        ),
        (
            json!({"api": "Produce", "action": {"type": "error", "error": 9999}}),
            "unknown error \"9999\"",
        ),
        (
            json!({"api": "Produce", "action": drop, "probability": 1.5}),
            "probability 1.5 is not between 0 and 1",
        ),
        (
            json!({"api": "Produce", "action": drop, "count": 0}),
            "count must be at least 1",
        ),
        (
            json!({"api": "DescribeCluster", "action": {"type": "error", "error": 6}}),
            "error answers are not available for DescribeCluster",
        ),
        (
            json!({"api": "Produce", "action": {"type": "explode"}}),
            "unknown variant `explode`",
        ),
        (
            json!({"api": "Produce", "action": drop, "topik": "x"}),
            "unknown field `topik`",
        ),
        (json!("Produce"), "a rule is a JSON object"),
        (
            Value::Array(vec![json!({"api": "Produce", "action": drop}); 101]),
            "101 rules in one request; at most 100",
        ),
        (
            json!([{"api": "Produce", "action": drop}, {"api": "Nope", "action": drop}]),
            "rule 1: unknown API",
        ),
    ];
    for (body, want) in cases {
        let (status, answer) = request(http, "POST", "/v1/faults", Some(&body)).await;
        assert_eq!(status, 400, "{body} → {answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains(want), "{body}: {message:?} lacks {want:?}");
    }
    // All or none: the good rule of the refused list was not added.
    let (_, list) = get(http, "/v1/faults").await;
    assert_eq!(list["rules"], json!([]));
    for (path, want) in [
        ("/v1/faults/abc", "not a rule id"),
        ("/v1/requests?api=Nope", "unknown API \"Nope\""),
        ("/v1/requests?colour=red", "unknown filter \"colour\""),
        ("/v1/requests?since=yesterday", "not a time"),
    ] {
        let (status, answer) = get(http, path).await;
        assert_eq!(status, 400, "{path} → {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(want),
            "{path}: {answer}"
        );
    }
    // Not JSON at all.
    let (status, answer) = raw_post(http, "/v1/faults", "{not json").await;
    assert_eq!(status, 400);
    assert!(answer.contains("not JSON"), "{answer}");
    broker.shutdown().await;
}

/// POSTs a body that is not JSON (the test client sends JSON values only).
async fn raw_post(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_turns_it_on_from_the_environment_and_says_so() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("SLUICE_FAULT_INJECTION", "1")
        .env("SLUICE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let warned = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .take(1000)
            .map_while(Result::ok)
            .any(|l| l.contains("WARN") && l.contains("fault injection is ON"))
    });
    let stdout = child.stdout.take().unwrap();
    let http: std::net::SocketAddr = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut http = None;
        for line in lines.by_ref().take(100).map_while(Result::ok) {
            if let Some(a) = line.strip_prefix("http listening on ") {
                http = a.trim().parse().ok();
            } else if line.starts_with("listening on ") {
                break;
            }
        }
        // Keep reading stdout so the child never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        http.expect("the http line")
    })
    .await
    .unwrap();
    let (status, body) = get(http, "/v1/faults").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rules"], json!([]));
    let _ = child.kill();
    let _ = child.wait();
    assert!(warned.join().unwrap(), "the start log has the WARN line");
}
