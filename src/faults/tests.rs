//! Matching and triggers, without a broker.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::*;

fn seen(api_key: ApiKey, version: i16, client: Option<&str>) -> Seen {
    Seen {
        api_key,
        version,
        correlation_id: 1,
        client_id: client.map(str::to_string),
        peer: SocketAddr::from(([127, 0, 0, 1], 1)),
        at_unix_ms: unix_ms(),
    }
}

fn no_ids(_: &Uuid) -> Option<String> {
    None
}

fn check(f: &Faults, s: &Seen, body: &Bytes) -> Option<RuleId> {
    f.decide(s, body, &no_ids).map(|x| x.rule)
}

fn produce_body(version: i16, topic: &str, partition: i32) -> Bytes {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.into())))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default().with_index(partition),
            ])]);
    let mut buf = BytesMut::new();
    req.encode(&mut buf, version).unwrap();
    buf.freeze()
}

#[test]
fn no_rule_no_fault() {
    let f = Faults::default();
    assert_eq!(
        check(&f, &seen(ApiKey::Produce, 9, None), &Bytes::new()),
        None
    );
}

#[test]
fn a_rule_fires_once_by_default_on_its_api_only() {
    let f = Faults::default();
    let id = f.add(Rule::new(ApiKey::Fetch, Action::Close)).unwrap();
    let empty = Bytes::new();
    assert_eq!(check(&f, &seen(ApiKey::Produce, 9, None), &empty), None);
    assert_eq!(check(&f, &seen(ApiKey::Fetch, 12, None), &empty), Some(id));
    assert_eq!(check(&f, &seen(ApiKey::Fetch, 12, None), &empty), None);
    let status = f.rule(id).unwrap();
    assert_eq!((status.fired, status.matched, status.spent), (1, 1, true));
    assert_eq!(
        f.live.load(Ordering::Relaxed),
        0,
        "a spent rule costs nothing"
    );
}

#[test]
fn count_keep_and_every() {
    let f = Faults::default();
    let empty = Bytes::new();
    let s = seen(ApiKey::Metadata, 12, None);
    let three = f
        .add(Rule::new(ApiKey::Metadata, Action::Drop).count(3))
        .unwrap();
    let fired: Vec<_> = (0..5).map(|_| check(&f, &s, &empty)).collect();
    assert_eq!(fired, [Some(three), Some(three), Some(three), None, None]);
    f.clear();
    let nth = f
        .add(Rule::new(ApiKey::Metadata, Action::Drop).keep().every(3))
        .unwrap();
    let fired: Vec<bool> = (0..7).map(|_| check(&f, &s, &empty).is_some()).collect();
    assert_eq!(fired, [false, false, true, false, false, true, false]);
    assert_eq!(f.fired(nth), 2);
    assert!(f.remove(nth));
    assert!(!f.remove(nth));
    assert_eq!(check(&f, &s, &empty), None);
}

#[test]
fn the_first_firing_rule_acts_and_every_match_counts() {
    let f = Faults::default();
    let empty = Bytes::new();
    let s = seen(ApiKey::Produce, 9, None);
    let a = f.add(Rule::new(ApiKey::Produce, Action::Close)).unwrap();
    let b = f.add(Rule::new(ApiKey::Produce, Action::Drop)).unwrap();
    assert_eq!(check(&f, &s, &empty), Some(a));
    assert_eq!(check(&f, &s, &empty), Some(b));
    assert_eq!(f.rule(b).unwrap().matched, 2);
}

#[test]
fn versions_and_client_id_filter() {
    let f = Faults::default();
    let empty = Bytes::new();
    let id = f
        .add(
            Rule::new(ApiKey::Produce, Action::Drop)
                .versions(7, 9)
                .client_id("app")
                .keep(),
        )
        .unwrap();
    assert_eq!(
        check(&f, &seen(ApiKey::Produce, 6, Some("app")), &empty),
        None
    );
    assert_eq!(
        check(&f, &seen(ApiKey::Produce, 10, Some("app")), &empty),
        None
    );
    assert_eq!(
        check(&f, &seen(ApiKey::Produce, 8, Some("other")), &empty),
        None
    );
    assert_eq!(check(&f, &seen(ApiKey::Produce, 8, None), &empty), None);
    assert_eq!(
        check(&f, &seen(ApiKey::Produce, 8, Some("app")), &empty),
        Some(id)
    );
}

#[test]
fn topic_and_partition_match_what_the_request_names() {
    let f = Faults::default();
    let id = f
        .add(
            Rule::new(ApiKey::Produce, Action::Drop)
                .topic("orders")
                .partition(2)
                .keep(),
        )
        .unwrap();
    let s = seen(ApiKey::Produce, 9, None);
    assert_eq!(check(&f, &s, &produce_body(9, "orders", 1)), None);
    assert_eq!(check(&f, &s, &produce_body(9, "payments", 2)), None);
    assert_eq!(check(&f, &s, &produce_body(9, "orders", 2)), Some(id));
    // A body that does not decode matches no content filter.
    assert_eq!(check(&f, &s, &Bytes::from_static(b"\xff")), None);
}

#[test]
fn group_and_transactional_id_match() {
    let f = Faults::default();
    let g = f
        .add(
            Rule::new(ApiKey::JoinGroup, Action::Drop)
                .group_id("g1")
                .keep(),
        )
        .unwrap();
    let body = |group: &str| {
        let mut buf = BytesMut::new();
        JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.into())))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .encode(&mut buf, 5)
            .unwrap();
        buf.freeze()
    };
    let s = seen(ApiKey::JoinGroup, 5, None);
    assert_eq!(check(&f, &s, &body("g2")), None);
    assert_eq!(check(&f, &s, &body("g1")), Some(g));

    let t = f
        .add(
            Rule::new(ApiKey::InitProducerId, Action::Drop)
                .transactional_id("tx")
                .keep(),
        )
        .unwrap();
    let body = |id: Option<&str>| {
        let mut buf = BytesMut::new();
        InitProducerIdRequest::default()
            .with_transactional_id(id.map(|i| TransactionalId(StrBytes::from_string(i.into()))))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
            .encode(&mut buf, 4)
            .unwrap();
        buf.freeze()
    };
    let s = seen(ApiKey::InitProducerId, 4, None);
    assert_eq!(check(&f, &s, &body(None)), None);
    assert_eq!(check(&f, &s, &body(Some("tx"))), Some(t));
}

#[test]
fn probability_zero_never_one_always() {
    let f = Faults::default();
    let empty = Bytes::new();
    let s = seen(ApiKey::Metadata, 12, None);
    let never = f
        .add(
            Rule::new(ApiKey::Metadata, Action::Drop)
                .keep()
                .probability(0.0),
        )
        .unwrap();
    for _ in 0..100 {
        assert_eq!(check(&f, &s, &empty), None);
    }
    assert_eq!(f.rule(never).unwrap().matched, 100);
    let always = f
        .add(
            Rule::new(ApiKey::Metadata, Action::Drop)
                .keep()
                .probability(1.0),
        )
        .unwrap();
    assert_eq!(check(&f, &s, &empty), Some(always));
    // About half: bounded loose limits, no flakiness worth the name.
    f.clear();
    let half = f
        .add(
            Rule::new(ApiKey::Metadata, Action::Drop)
                .keep()
                .probability(0.5),
        )
        .unwrap();
    let fired = (0..2000)
        .filter(|_| check(&f, &s, &empty).is_some())
        .count();
    assert!((700..1300).contains(&fired), "{fired}");
    assert_eq!(f.fired(half), fired as u64);
}

#[test]
fn time_windows() {
    let f = Faults::default();
    let empty = Bytes::new();
    let s = seen(ApiKey::Metadata, 12, None);
    // Not yet: starts an hour from now.
    f.add(
        Rule::new(ApiKey::Metadata, Action::Drop)
            .keep()
            .after(Duration::from_secs(3600)),
    )
    .unwrap();
    assert_eq!(check(&f, &s, &empty), None);
    f.clear();
    // Over: a window of 0 ms.
    f.add(
        Rule::new(ApiKey::Metadata, Action::Drop)
            .keep()
            .for_duration(Duration::ZERO),
    )
    .unwrap();
    assert_eq!(check(&f, &s, &empty), None);
    f.clear();
    // Absolute: until a time past, from a time to come, between now-1s and now+1h.
    let now = unix_ms();
    let mut past = Rule::new(ApiKey::Metadata, Action::Drop).keep();
    past.until_unix_ms = Some(now - 1000);
    f.add(past).unwrap();
    let mut future = Rule::new(ApiKey::Metadata, Action::Drop).keep();
    future.from_unix_ms = Some(now + 3_600_000);
    f.add(future).unwrap();
    assert_eq!(check(&f, &s, &empty), None);
    let mut now_on = Rule::new(ApiKey::Metadata, Action::Drop).keep();
    now_on.from_unix_ms = Some(now - 1000);
    now_on.until_unix_ms = Some(now + 3_600_000);
    let id = f.add(now_on).unwrap();
    assert_eq!(check(&f, &s, &empty), Some(id));
    // A long window is open now.
    f.clear();
    let id = f
        .add(
            Rule::new(ApiKey::Metadata, Action::Drop)
                .keep()
                .for_duration(Duration::from_secs(3600)),
        )
        .unwrap();
    assert_eq!(check(&f, &s, &empty), Some(id));
}

#[test]
fn bad_rules_are_refused_with_a_reason() {
    let f = Faults::default();
    let refused = |rule: Rule| f.add(rule).unwrap_err().0;
    assert!(
        refused(Rule::new(ApiKey::Produce, Action::error(9999))).contains("not a Kafka error code")
    );
    assert!(refused(Rule::new(ApiKey::Produce, Action::error(0))).contains("NONE"));
    assert!(
        refused(Rule::new(ApiKey::Produce, Action::Drop).probability(1.5))
            .contains("between 0 and 1")
    );
    assert!(refused(Rule::new(ApiKey::Produce, Action::Drop).count(0)).contains("at least 1"));
    assert!(refused(Rule::new(ApiKey::Produce, Action::Drop).versions(5, 3)).contains("above"));
    assert!(
        refused(Rule::new(ApiKey::DescribeCluster, Action::error(6))).contains("not available")
    );
    let served = Faults::new(vec![ApiKey::Produce]);
    let err = served
        .add(Rule::new(ApiKey::SaslHandshake, Action::Drop))
        .unwrap_err()
        .0;
    assert!(err.contains("does not serve SaslHandshake"), "{err}");
    assert!(
        refused(Rule::new(ApiKey::Produce, Action::Drop).topic("x".repeat(2000)))
            .contains("longer")
    );
    assert!(refused(Rule::new(
        ApiKey::Produce,
        Action::Delay {
            ms: MAX_DELAY_MS,
            jitter_ms: 1
        }
    ))
    .contains("at most"));
    for _ in 0..MAX_RULES {
        f.add(Rule::new(ApiKey::Produce, Action::Drop)).unwrap();
    }
    assert!(refused(Rule::new(ApiKey::Produce, Action::Drop)).contains("delete"));
}

#[test]
fn rules_read_from_json() {
    let rule: Rule = serde_json::from_str(
        r#"{"api": "produce", "topic": "t", "action": {"type": "error", "error": "not_leader_or_follower"}, "count": 3}"#,
    )
    .unwrap();
    assert_eq!(
        rule,
        Rule::new(ApiKey::Produce, Action::error(6))
            .topic("t")
            .count(3)
    );
    let rule: Rule = serde_json::from_str(
        r#"{"api": 1, "action": {"type": "delay", "ms": 500, "jitter_ms": 20}}"#,
    )
    .unwrap();
    assert_eq!(rule.api, ApiKey::Fetch);
    assert_eq!(
        rule.action,
        Action::Delay {
            ms: 500,
            jitter_ms: 20
        }
    );
    let err = serde_json::from_str::<Rule>(r#"{"api": "Prodce", "action": {"type": "drop"}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown API \"Prodce\""), "{err}");
    let err = serde_json::from_str::<Rule>(
        r#"{"api": "Produce", "action": {"type": "error", "error": "NOPE"}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown error \"NOPE\""), "{err}");
    let err = serde_json::from_str::<Rule>(
        r#"{"api": "Produce", "action": {"type": "drop"}, "topik": "x"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `topik`"), "{err}");
    // And back: names, not numbers.
    let json = serde_json::to_value(Rule::new(ApiKey::Produce, Action::error(7))).unwrap();
    assert_eq!(json["api"], "Produce");
    assert_eq!(json["action"]["error"], "REQUEST_TIMED_OUT");
}

#[test]
fn error_names_round_trip() {
    for code in [-1, 1, 3, 6, 7, 15, 16, 25, 27, 47, 79] {
        assert_eq!(
            parse_error_code(&error_code_name(code)),
            Some(code),
            "{code}"
        );
    }
    assert_eq!(error_code_name(6), "NOT_LEADER_OR_FOLLOWER");
    assert_eq!(error_code_name(0), "NONE");
    assert_eq!(parse_api("JoinGroup"), Some(ApiKey::JoinGroup));
    assert_eq!(parse_api("11"), Some(ApiKey::JoinGroup));
    assert_eq!(parse_api("Nope"), None);
}

#[test]
fn error_answers_name_every_partition_and_decode_back() {
    let body = produce_body(9, "orders", 4);
    let s = seen(ApiKey::Produce, 9, None);
    let frame = Faults::error_answer(&s, &body, 6).unwrap();
    assert_eq!(inspect::frame_error(ApiKey::Produce, 9, &frame), Some(6));
    let mut buf = Bytes::copy_from_slice(&frame[4..]);
    let header = <ResponseHeader as kafka_protocol::protocol::Decodable>::decode(
        &mut buf,
        ApiKey::Produce.response_header_version(9),
    )
    .unwrap();
    assert_eq!(header.correlation_id, 1);
    let resp =
        <ProduceResponse as kafka_protocol::protocol::Decodable>::decode(&mut buf, 9).unwrap();
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(
        (resp.responses[0].name.as_str(), p.index, p.error_code),
        ("orders", 4, 6)
    );
}

#[test]
fn the_request_log_is_bounded_and_filtered() {
    let f = Faults::default();
    for i in 0..(REQUEST_LOG_CAPACITY + 5) {
        let api = if i % 2 == 0 {
            ApiKey::Produce
        } else {
            ApiKey::Fetch
        };
        let client = if i % 3 == 0 { "a" } else { "b" };
        f.record(RecordedRequest::new(
            &seen(api, 9, Some(client)),
            0.1,
            Some(0),
            None,
        ));
    }
    let all = f.requests(&RequestFilter::default());
    assert_eq!(all.len(), REQUEST_LOG_CAPACITY);
    assert_eq!(all[0].seq, 6, "the oldest went first");
    let produce = f.requests(&RequestFilter {
        api: Some(ApiKey::Produce),
        client_id: Some("a".into()),
        limit: Some(3),
        ..Default::default()
    });
    assert_eq!(produce.len(), 3);
    assert!(produce
        .iter()
        .all(|r| r.api == "Produce" && r.client_id.as_deref() == Some("a")));
    let last = all.last().unwrap().seq;
    assert!(f
        .requests(&RequestFilter {
            after_seq: Some(last),
            ..Default::default()
        })
        .is_empty());
    f.clear_requests();
    assert!(f.requests(&RequestFilter::default()).is_empty());
}

#[tokio::test]
async fn down_and_up() {
    let f = Arc::new(Faults::default());
    assert!(!f.is_down());
    let waiter = tokio::spawn({
        let f = Arc::clone(&f);
        async move { f.wait_down().await }
    });
    f.down();
    tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(f.is_down());
    f.up();
    assert!(!f.is_down());
}

#[test]
fn jitter_stays_within_its_bounds() {
    assert_eq!(Faults::delay_of(500, 0), Duration::from_millis(500));
    for _ in 0..1000 {
        let d = Faults::delay_of(500, 50).as_millis();
        assert!((450..=550).contains(&d), "{d}");
        // Never below zero.
        assert!(Faults::delay_of(10, 50).as_millis() <= 60);
    }
}
