//! Transactions with librdkafka (the `rdkafka` crate): commit and abort with
//! read_committed and read_uncommitted consumers, the LSO holding back an
//! open transaction, fencing by a second producer with the same
//! transactional.id, a consume-transform-produce pipeline
//! (send_offsets_to_transaction) that is abandoned mid-transaction and
//! restarted, and a broker restart in the middle of an open transaction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};

const T: Duration = Duration::from_secs(30);

type TxnProducer = ThreadedProducer<DefaultProducerContext>;

fn txn_producer(bootstrap: &str, transactional_id: &str, extra: &[(&str, &str)]) -> TxnProducer {
    let mut c = client_config(bootstrap);
    c.set("transactional.id", transactional_id)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "60000");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    let p: TxnProducer = c.create().expect("transactional producer");
    p.init_transactions(T).expect("init_transactions");
    p
}

fn send(p: &TxnProducer, topic: &str, partition: Option<i32>, key: &str, value: &str) {
    let deadline = Instant::now() + T;
    loop {
        let mut record = BaseRecord::to(topic).key(key).payload(value);
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        match p.send(record) {
            Ok(()) => return,
            Err((e, _)) if Instant::now() < deadline => {
                assert!(
                    matches!(
                        e,
                        KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull)
                    ),
                    "send failed: {e}"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((e, _)) => panic!("send failed: {e}"),
        }
    }
}

fn values(got: &[Got]) -> Vec<String> {
    got.iter()
        .map(|g| String::from_utf8(g.value.clone().unwrap_or_default()).unwrap())
        .collect()
}

/// Everything a fresh consumer sees within `quiet` of silence after `count` records.
fn read_all(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    isolation: &str,
    count: usize,
) -> Vec<Got> {
    let consumer = consumer_from_start(
        bootstrap,
        topic,
        partitions,
        &[("isolation.level", isolation)],
    );
    let mut got = consume(&consumer, count, T);
    // Nothing more may follow.
    got.extend(consume(&consumer, 1, Duration::from_millis(1500)));
    got
}

fn high_watermark(bootstrap: &str, topic: &str, isolation: &str) -> (i64, i64) {
    let consumer = consumer_from_start(bootstrap, topic, 1, &[("isolation.level", isolation)]);
    consumer.fetch_watermarks(topic, 0, T).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_and_aborted_transactions_by_isolation_level() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("txn-isolation");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    tokio::task::spawn_blocking(move || {
        let p = txn_producer(&bootstrap, &format!("{topic}-tx"), &[]);
        p.begin_transaction().unwrap();
        for i in 0..5 {
            send(&p, &topic, Some(0), "k", &format!("commit-{i}"));
        }
        p.commit_transaction(T).expect("commit");
        p.begin_transaction().unwrap();
        for i in 0..5 {
            send(&p, &topic, Some(0), "k", &format!("abort-{i}"));
        }
        p.flush(T).unwrap();
        p.abort_transaction(T).expect("abort");

        let committed = read_all(&bootstrap, &topic, 1, "read_committed", 5);
        assert_eq!(
            values(&committed),
            (0..5).map(|i| format!("commit-{i}")).collect::<Vec<_>>()
        );
        let uncommitted = read_all(&bootstrap, &topic, 1, "read_uncommitted", 10);
        assert_eq!(
            uncommitted.len(),
            10,
            "read_uncommitted sees the aborted records too"
        );
        // 5 records, commit marker, 5 records, abort marker.
        let offsets: Vec<i64> = uncommitted.iter().map(|g| g.offset).collect();
        assert_eq!(offsets, vec![0, 1, 2, 3, 4, 6, 7, 8, 9, 10]);
        assert_eq!(high_watermark(&bootstrap, &topic, "read_uncommitted").1, 12);
        assert_eq!(high_watermark(&bootstrap, &topic, "read_committed").1, 12);

        // An open transaction holds the last stable offset back.
        p.begin_transaction().unwrap();
        for i in 0..3 {
            send(&p, &topic, Some(0), "k", &format!("open-{i}"));
        }
        p.flush(T).unwrap();
        assert_eq!(high_watermark(&bootstrap, &topic, "read_uncommitted").1, 15);
        assert_eq!(
            high_watermark(&bootstrap, &topic, "read_committed").1,
            12,
            "LSO"
        );
        let consumer = consumer_from_start(
            &bootstrap,
            &topic,
            1,
            &[("isolation.level", "read_committed")],
        );
        assert_eq!(consume(&consumer, 5, T).len(), 5);
        assert!(consume(&consumer, 1, Duration::from_millis(1500)).is_empty());
        p.commit_transaction(T).expect("commit");
        let more = consume(&consumer, 3, T);
        assert_eq!(values(&more), vec!["open-0", "open-1", "open-2"]);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_producer_with_the_same_transactional_id_fences_the_first() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("txn-fence");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    tokio::task::spawn_blocking(move || {
        let id = format!("{topic}-tx");
        let first = txn_producer(&bootstrap, &id, &[]);
        first.begin_transaction().unwrap();
        send(&first, &topic, Some(0), "k", "zombie");
        first.flush(T).unwrap();

        let second = txn_producer(&bootstrap, &id, &[]);
        let err = first
            .commit_transaction(T)
            .expect_err("the fenced producer cannot commit");
        let fatal = err
            .rdkafka_error_code()
            .is_some_and(|c| c == rdkafka::types::RDKafkaErrorCode::Fenced)
            || matches!(&err, KafkaError::Transaction(e) if e.is_fatal());
        assert!(fatal, "fenced: {err:?}");

        second.begin_transaction().unwrap();
        send(&second, &topic, Some(0), "k", "live");
        second
            .commit_transaction(T)
            .expect("the new producer commits");
        let got = read_all(&bootstrap, &topic, 1, "read_committed", 1);
        assert_eq!(values(&got), vec!["live"]);
    })
    .await
    .unwrap();
}

const INPUT: usize = 10_000;
const INPUT_PARTITIONS: i32 = 3;

/// One pipeline instance: consume `input` in group `group`, write each value
/// upper-cased to `output`, committing input offsets in the same transaction.
/// With `abandon_after = Some(n)`, it stops in the middle of its n-th
/// transaction without committing, as a killed process would.
fn pipeline(
    bootstrap: &str,
    input: &str,
    output: &str,
    group: &str,
    abandon_after: Option<usize>,
) -> bool {
    let mut c = client_config(bootstrap);
    c.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "100")
        .set("session.timeout.ms", "6000");
    let consumer: BaseConsumer = c.create().unwrap();
    consumer.subscribe(&[input]).unwrap();
    let producer = txn_producer(bootstrap, &format!("{group}-tx"), &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut transactions = 0;
    while Instant::now() < deadline {
        // Wait for an assignment and a first message.
        let mut batch = Vec::new();
        if let Some(m) = consumer.poll(Duration::from_millis(500)) {
            batch.push(m.unwrap().detach());
        }
        while batch.len() < 700 {
            match consumer.poll(Duration::from_millis(20)) {
                Some(m) => batch.push(m.unwrap().detach()),
                None => break,
            }
        }
        if batch.is_empty() {
            let done = consumer
                .position()
                .map(|tpl| {
                    tpl.elements()
                        .iter()
                        .filter_map(|e| match e.offset() {
                            Offset::Offset(o) => Some(o),
                            _ => None,
                        })
                        .sum::<i64>()
                })
                .unwrap_or(0);
            if done as usize >= INPUT && consumer.assignment().unwrap().count() == 3 {
                return true;
            }
            continue;
        }
        producer.begin_transaction().unwrap();
        transactions += 1;
        for (i, m) in batch.iter().enumerate() {
            let value = std::str::from_utf8(m.payload().unwrap())
                .unwrap()
                .to_uppercase();
            send(&producer, output, None, "k", &value);
            if abandon_after == Some(transactions) && i == batch.len() / 2 {
                producer.flush(T).unwrap();
                return false; // dropped mid-transaction
            }
        }
        let mut offsets = TopicPartitionList::new();
        for m in &batch {
            offsets
                .add_partition_offset(m.topic(), m.partition(), Offset::Offset(m.offset() + 1))
                .unwrap();
        }
        let cgm = consumer.group_metadata().unwrap();
        producer
            .send_offsets_to_transaction(&offsets, &cgm, T)
            .expect("send_offsets_to_transaction");
        producer.commit_transaction(T).expect("commit");
    }
    panic!("the pipeline did not finish in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_transform_produce_is_exactly_once_across_a_crash() {
    let broker = TestBroker::start_with(|c| c.group_initial_rebalance_delay_ms = Some(0)).await;
    let bootstrap = broker.bootstrap();
    let input = unique_topic("eos-in");
    let output = unique_topic("eos-out");
    create_topic(&bootstrap, &input, INPUT_PARTITIONS, &[]).await;
    create_topic(&bootstrap, &output, 2, &[]).await;
    let plain = producer(&bootstrap, &[("linger.ms", "5")]);
    let mut sends = Vec::new();
    for i in 0..INPUT {
        let value = format!("msg-{i:05}");
        let record = rdkafka::producer::FutureRecord::to(&input)
            .partition((i % INPUT_PARTITIONS as usize) as i32)
            .key("k")
            .payload(&value);
        sends.push(plain.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    for s in sends {
        s.await.unwrap().unwrap();
    }
    let group = unique_topic("eos-group");
    tokio::task::spawn_blocking(move || {
        assert!(!pipeline(&bootstrap, &input, &output, &group, Some(4)));
        assert!(pipeline(&bootstrap, &input, &output, &group, None));

        let got = read_all(&bootstrap, &output, 2, "read_committed", INPUT);
        let vals = values(&got);
        assert_eq!(vals.len(), INPUT, "exactly one output per input");
        let distinct: BTreeSet<&String> = vals.iter().collect();
        assert_eq!(distinct.len(), INPUT, "no duplicates");
        assert!(vals.iter().all(|v| v.starts_with("MSG-")));

        // The input offsets were committed with the transactions.
        let mut c = client_config(&bootstrap);
        c.set("group.id", &group).set("enable.auto.commit", "false");
        let checker: BaseConsumer = c.create().unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in 0..INPUT_PARTITIONS {
            tpl.add_partition(&input, p);
        }
        let committed = checker.committed_offsets(tpl, T).unwrap();
        let total: i64 = committed
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                other => panic!("nothing committed: {other:?}"),
            })
            .sum();
        assert_eq!(total as usize, INPUT);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_leaves_no_hanging_transaction_and_keeps_committed_data() {
    if ephemeral_mode() {
        return; // nothing survives a restart in memory
    }
    let mut broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("txn-restart");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    let id = format!("{topic}-tx");
    let (t, i) = (topic.clone(), id.clone());
    tokio::task::spawn_blocking(move || {
        let p = txn_producer(
            &bootstrap,
            &i,
            &[
                ("transaction.timeout.ms", "3000"),
                ("socket.timeout.ms", "3000"),
                ("message.timeout.ms", "3000"),
            ],
        );
        p.begin_transaction().unwrap();
        for n in 0..3 {
            send(&p, &t, Some(0), "k", &format!("kept-{n}"));
        }
        p.commit_transaction(T).unwrap();
        p.begin_transaction().unwrap();
        for n in 0..3 {
            send(&p, &t, Some(0), "k", &format!("open-{n}"));
        }
        p.flush(T).unwrap();
        // The process goes away with its transaction open.
    })
    .await
    .unwrap();
    broker.restart().await;
    // The clean shutdown left the partition's producer state in a snapshot,
    // so the restart replayed nothing to rebuild it.
    let snapshots = std::fs::read_dir(broker.dir.join(format!("{topic}-0")))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "snapshot")
        })
        .count();
    assert_eq!(snapshots, 1, "one producer state snapshot");
    let bootstrap = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        // The coordinator aborts the open transaction once it times out, so
        // the last stable offset reaches the end of the log.
        let deadline = Instant::now() + T;
        loop {
            let (_, uncommitted) = high_watermark(&bootstrap, &topic, "read_uncommitted");
            let (_, stable) = high_watermark(&bootstrap, &topic, "read_committed");
            if stable == uncommitted {
                assert_eq!(stable, 8, "3 + marker + 3 + abort marker");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "transaction still hanging: LSO {stable}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let p = txn_producer(&bootstrap, &id, &[]);
        p.begin_transaction().unwrap();
        send(&p, &topic, Some(0), "k", "after");
        p.commit_transaction(T).unwrap();
        let got = read_all(&bootstrap, &topic, 1, "read_committed", 4);
        assert_eq!(values(&got), vec!["kept-0", "kept-1", "kept-2", "after"]);
    })
    .await
    .unwrap();
}

fn committed_offset(bootstrap: &str, group: &str, topic: &str) -> Offset {
    let mut c = client_config(bootstrap);
    c.set("group.id", group).set("enable.auto.commit", "false");
    let checker: BaseConsumer = c.create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let committed = checker.committed_offsets(tpl, T).unwrap();
    let offset = committed.elements()[0].offset();
    offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_offset_commits_survive_a_restart_and_aborted_ones_never_appear() {
    if ephemeral_mode() {
        return;
    }
    let mut broker = TestBroker::start_with(|c| c.group_initial_rebalance_delay_ms = Some(0)).await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("txn-offsets");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    let group = unique_topic("txn-offsets-group");
    let (b, t, g) = (bootstrap.clone(), topic.clone(), group.clone());
    tokio::task::spawn_blocking(move || {
        let mut c = client_config(&b);
        c.set("group.id", &g).set("enable.auto.commit", "false");
        let consumer: BaseConsumer = c.create().unwrap();
        let cgm = consumer.group_metadata().unwrap();
        let p = txn_producer(&b, &format!("{g}-tx"), &[]);
        let offsets = |o: i64| {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&t, 0, Offset::Offset(o)).unwrap();
            tpl
        };
        p.begin_transaction().unwrap();
        send(&p, &t, Some(0), "k", "v");
        p.send_offsets_to_transaction(&offsets(42), &cgm, T)
            .unwrap();
        p.commit_transaction(T).unwrap();
        assert_eq!(committed_offset(&b, &g, &t), Offset::Offset(42));
        p.begin_transaction().unwrap();
        send(&p, &t, Some(0), "k", "v");
        p.send_offsets_to_transaction(&offsets(99), &cgm, T)
            .unwrap();
        p.abort_transaction(T).unwrap();
        assert_eq!(
            committed_offset(&b, &g, &t),
            Offset::Offset(42),
            "aborted offsets"
        );
    })
    .await
    .unwrap();
    broker.restart().await;
    let bootstrap = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            committed_offset(&bootstrap, &group, &topic),
            Offset::Offset(42),
            "the committed transactional offset is replayed, the aborted one is not"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txn_offset_commit_without_add_offsets_to_txn_is_invalid_txn_state() {
    use kafka_protocol::messages::txn_offset_commit_request::{
        TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::{
        AddOffsetsToTxnRequest, GroupId, InitProducerIdRequest, TopicName, TransactionalId,
        TxnOffsetCommitRequest,
    };
    use kafka_protocol::protocol::StrBytes;
    let broker = TestBroker::start().await;
    let topic = unique_topic("txn-raw");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let s = |v: &str| StrBytes::from_string(v.to_string());
        let mut raw = common::raw::Raw::connect(&addr);
        let init = raw.call(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(s("raw-tx"))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(kafka_protocol::messages::ProducerId(-1))
                .with_producer_epoch(-1),
        );
        assert_eq!(init.error_code, 0);
        let commit = TxnOffsetCommitRequest::default()
            .with_transactional_id(TransactionalId(s("raw-tx")))
            .with_group_id(GroupId(s("raw-group")))
            .with_producer_id(init.producer_id)
            .with_producer_epoch(init.producer_epoch)
            .with_generation_id(-1)
            .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                .with_name(TopicName(s(&topic)))
                .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(5)])]);
        let resp = raw.call(3, &commit);
        assert_eq!(
            resp.topics[0].partitions[0].error_code,
            48, // INVALID_TXN_STATE
            "offsets outside the transaction would wait for a marker forever"
        );
        let add = raw.call(
            3,
            &AddOffsetsToTxnRequest::default()
                .with_transactional_id(TransactionalId(s("raw-tx")))
                .with_producer_id(init.producer_id)
                .with_producer_epoch(init.producer_epoch)
                .with_group_id(GroupId(s("raw-group"))),
        );
        assert_eq!(add.error_code, 0);
        let resp = raw.call(3, &commit);
        assert_eq!(resp.topics[0].partitions[0].error_code, 0);
        // A stale epoch is fenced.
        let stale = commit.with_producer_epoch(init.producer_epoch - 1);
        let resp = raw.call(3, &stale);
        assert_eq!(resp.topics[0].partitions[0].error_code, 47); // INVALID_PRODUCER_EPOCH
    })
    .await
    .unwrap();
}
