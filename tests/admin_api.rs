//! `sluice::Admin` against a real embedded broker, each operation
//! cross-checked with librdkafka where that is cheap: a topic the Admin
//! creates takes a client's records, a group a client commits for is
//! listed and described, a client's transaction is listed and described.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use sluice::admin::{ConfigSource, NewTopic, TransactionFilter};
use sluice::clock::ManualClock;
use sluice::Broker;

const T: Duration = Duration::from_secs(30);

async fn broker() -> Broker {
    Broker::builder()
        .with_config(|c| c.group_initial_rebalance_delay_ms = Some(0))
        .start()
        .await
        .expect("broker starts")
}

/// Polls `check` (every 20 ms, up to 30 s) until it holds.
async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_described_grown_and_deleted() {
    let broker = broker().await;
    let admin = broker.admin();
    let created = admin
        .create_topic(NewTopic::new("orders", 2).config("retention.ms", "60000"))
        .await
        .unwrap();
    assert_eq!(created.name, "orders");
    assert_eq!(created.partitions, 2);
    assert!(!created.internal);
    assert_eq!(created.id.len(), 36, "a hyphenated uuid: {}", created.id);

    let topics = admin.list_topics();
    assert!(topics.contains(&"orders".to_string()), "{topics:?}");
    assert!(topics.contains(&"__consumer_offsets".to_string()));
    assert!(admin.describe_topic("__consumer_offsets").unwrap().internal);

    // A second creation, and a bad one, fail with Kafka's errors.
    let again = admin
        .create_topic(NewTopic::new("orders", 1))
        .await
        .unwrap_err();
    assert_eq!(again.code(), 36);
    assert_eq!(again.name(), "TOPIC_ALREADY_EXISTS");
    let bad = admin
        .validate_topic(&NewTopic::new("bad", 1).config("retention.ms", "soon"))
        .unwrap_err();
    assert_eq!(bad.name(), "INVALID_CONFIG");
    assert!(!admin.list_topics().contains(&"bad".to_string()));

    admin.create_partitions("orders", 3).await.unwrap();
    assert_eq!(admin.describe_topic("orders").unwrap().partitions, 3);
    let shrink = admin.create_partitions("orders", 1).await.unwrap_err();
    assert_eq!(shrink.name(), "INVALID_PARTITIONS");

    // A client produces to the new partition.
    let bootstrap = broker.bootstrap_servers();
    let producer = producer(&bootstrap, &[]);
    let delivered = producer
        .send(
            rdkafka::producer::FutureRecord::to("orders")
                .partition(2)
                .key("k")
                .payload("v"),
            T,
        )
        .await
        .unwrap();
    assert_eq!((delivered.partition, delivered.offset), (2, 0));
    drop(producer);

    admin.delete_topic("orders").await.unwrap();
    let gone = admin.describe_topic("orders").unwrap_err();
    assert_eq!(gone.code(), 3);
    assert_eq!(gone.name(), "UNKNOWN_TOPIC_OR_PARTITION");
    assert!(
        gone.is_retriable(),
        "clients retry UNKNOWN_TOPIC_OR_PARTITION"
    );
    let internal = admin.delete_topic("__consumer_offsets").await.unwrap_err();
    assert_eq!(internal.name(), "TOPIC_DELETION_DISABLED");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configs_show_their_source() {
    let broker = Broker::builder()
        .with_config(|c| {
            c.default_partitions = 4;
            c.segment_bytes = 1 << 20;
        })
        .start()
        .await
        .unwrap();
    let admin = broker.admin();
    admin
        .create_topic(NewTopic::new("configured", 1).config("cleanup.policy", "compact"))
        .await
        .unwrap();
    let configs = admin.describe_topic_configs("configured").unwrap();
    let find = |name: &str| {
        configs
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} in {configs:?}"))
    };
    assert_eq!(find("cleanup.policy").value.as_deref(), Some("compact"));
    assert_eq!(find("cleanup.policy").source, ConfigSource::Topic);
    assert_eq!(find("segment.bytes").value, Some((1 << 20).to_string()));
    assert_eq!(find("segment.bytes").source, ConfigSource::Broker);
    assert_eq!(find("message.timestamp.type").source, ConfigSource::Default);
    // The same list as DescribeTopic carries.
    assert_eq!(admin.describe_topic("configured").unwrap().configs, configs);

    let broker_configs = admin.describe_broker_configs();
    let partitions = broker_configs
        .iter()
        .find(|e| e.name == "num.partitions")
        .unwrap();
    assert_eq!(partitions.value.as_deref(), Some("4"));
    assert_eq!(
        admin.describe_topic_configs("nope").unwrap_err().name(),
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_takes_kafka_property_names() {
    let broker = Broker::builder()
        .option("num.partitions", "3")
        .option("log.retention.ms", "60000")
        .option("auto.create.topics.enable", "false")
        .start()
        .await
        .unwrap();
    let configs = broker.admin().describe_broker_configs();
    let value = |name: &str| {
        configs
            .iter()
            .find(|e| e.name == name)
            .and_then(|e| e.value.clone())
            .unwrap_or_else(|| panic!("{name} in {configs:?}"))
    };
    assert_eq!(value("num.partitions"), "3");
    assert_eq!(value("log.retention.ms"), "60000");
    assert_eq!(value("auto.create.topics.enable"), "false");
    broker.shutdown().await;

    let refused = Broker::builder()
        .option("num.partition", "3")
        .start()
        .await
        .err()
        .expect("a misspelt key is refused");
    assert!(
        refused
            .to_string()
            .contains("did you mean `num.partitions`"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_a_client_joins_are_listed_described_and_deleted() {
    let broker = broker().await;
    let admin = broker.admin();
    admin
        .create_topic(NewTopic::new("events", 2))
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    fill_partition_zero(&bootstrap, "events", 3).await;

    let consumer: BaseConsumer = client_config(&bootstrap)
        .set("group.id", "readers")
        .set("client.id", "reader-1")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["events"]).unwrap();
    let consumer = tokio::task::spawn_blocking(move || {
        let got = consume(&consumer, 3, T);
        assert_eq!(got.len(), 3);
        consumer.commit_consumer_state(CommitMode::Sync).unwrap();
        consumer
    })
    .await
    .unwrap();

    let listed = admin.list_groups();
    let readers = listed.iter().find(|g| g.group_id == "readers").unwrap();
    assert_eq!(readers.protocol_type, "consumer");
    assert_eq!(readers.state, "Stable");
    assert_eq!(admin.list_groups_in_states(&["stable"]).len(), 1);
    assert!(admin.list_groups_in_states(&["Empty"]).is_empty());

    let described = admin.describe_group("readers").unwrap();
    assert_eq!(described.state, "Stable");
    assert_eq!(described.protocol_type, "consumer");
    assert_eq!(described.members.len(), 1);
    assert_eq!(described.members[0].client_id, "reader-1");
    assert!(!described.members[0].assignment.is_empty());

    let offsets = admin.committed_offsets("readers").unwrap();
    let zero = offsets
        .iter()
        .find(|o| o.topic == "events" && o.partition == 0)
        .unwrap_or_else(|| panic!("{offsets:?}"));
    assert_eq!(zero.offset, 3);

    // Not while a member is in it.
    assert_eq!(
        admin.delete_group("readers").await.unwrap_err().name(),
        "NON_EMPTY_GROUP"
    );
    tokio::task::spawn_blocking(move || {
        consumer.unsubscribe();
        drop(consumer);
    })
    .await
    .unwrap();
    wait_until("the group to empty", || {
        admin.describe_group("readers").unwrap().state == "Empty"
    })
    .await;

    let deleted = admin
        .delete_offsets("readers", &[("events", 0), ("no-such-topic", 0)])
        .await
        .unwrap();
    assert!(deleted[0].is_ok(), "{deleted:?}");
    assert_eq!(
        deleted[1].as_ref().unwrap_err().name(),
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert!(admin
        .committed_offsets("readers")
        .unwrap()
        .iter()
        .all(|o| o.partition != 0 || o.topic != "events"));

    // Its last offset gone, an empty group is removed, as in Kafka.
    assert_eq!(
        admin.describe_group("readers").unwrap_err().name(),
        "GROUP_ID_NOT_FOUND"
    );
    assert_eq!(
        admin.delete_group("readers").await.unwrap_err().name(),
        "GROUP_ID_NOT_FOUND"
    );
    assert!(admin.committed_offsets("readers").unwrap().is_empty());
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_committed_without_a_subscription_are_read_back_and_deleted() {
    let broker = broker().await;
    let admin = broker.admin();
    admin.create_topic(NewTopic::new("logs", 1)).await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = client_config(&bootstrap)
            .set("group.id", "by-hand")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("logs", 0, Offset::Offset(42))
            .unwrap();
        consumer.commit(&tpl, CommitMode::Sync).unwrap();
    })
    .await
    .unwrap();
    let offsets = admin.committed_offsets("by-hand").unwrap();
    assert_eq!(offsets.len(), 1);
    assert_eq!(
        (
            offsets[0].topic.as_str(),
            offsets[0].partition,
            offsets[0].offset
        ),
        ("logs", 0, 42)
    );
    let group = admin.describe_group("by-hand").unwrap();
    assert_eq!(group.state, "Empty");
    assert!(group.members.is_empty());
    assert_eq!(
        admin.list_groups_in_states(&["Empty"])[0].group_id,
        "by-hand"
    );

    admin.delete_group("by-hand").await.unwrap();
    assert_eq!(
        admin.describe_group("by-hand").unwrap_err().name(),
        "GROUP_ID_NOT_FOUND"
    );
    assert!(admin.committed_offsets("by-hand").unwrap().is_empty());
    assert!(admin.list_groups().is_empty());
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_and_transactions_are_described() {
    let broker = broker().await;
    let admin = broker.admin();
    admin
        .create_topic(NewTopic::new("payments", 1))
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();

    let producer = tokio::task::spawn_blocking(move || {
        let producer: ThreadedProducer<DefaultProducerContext> = client_config(&bootstrap)
            .set("transactional.id", "payer")
            .set("linger.ms", "5")
            .create()
            .unwrap();
        producer.init_transactions(T).unwrap();
        producer.begin_transaction().unwrap();
        producer
            .send(
                BaseRecord::to("payments")
                    .partition(0)
                    .key("k")
                    .payload("v"),
            )
            .map_err(|(e, _)| e)
            .unwrap();
        producer.flush(T).unwrap();
        producer
    })
    .await
    .unwrap();

    let ongoing = admin.list_transactions(&TransactionFilter::all().state("Ongoing"));
    assert_eq!(ongoing.len(), 1, "{ongoing:?}");
    assert_eq!(ongoing[0].transactional_id, "payer");
    let producer_id = ongoing[0].producer_id;
    let described = admin.describe_transaction("payer").unwrap();
    assert_eq!(described.state, "Ongoing");
    assert_eq!(described.producer_id, producer_id);
    assert_eq!(described.partitions, [("payments".to_string(), 0)]);
    assert!(described.start_time_ms > 0);

    let producers = admin.describe_producers("payments", 0).unwrap();
    assert_eq!(producers.len(), 1);
    assert_eq!(producers[0].producer_id, producer_id);
    assert_eq!(producers[0].current_txn_start_offset, Some(0));
    assert_eq!(producers[0].last_sequence, 0);

    tokio::task::spawn_blocking(move || producer.commit_transaction(T).unwrap())
        .await
        .unwrap();
    wait_until("the commit to complete", || {
        admin.describe_transaction("payer").unwrap().state == "CompleteCommit"
    })
    .await;
    assert!(admin
        .list_transactions(&TransactionFilter::all().state("Ongoing"))
        .is_empty());
    assert_eq!(
        admin
            .list_transactions(&TransactionFilter::all().producer_id(producer_id))
            .len(),
        1
    );
    assert!(admin
        .list_transactions(&TransactionFilter::all().producer_id(producer_id + 1))
        .is_empty());
    assert_eq!(
        admin.describe_producers("payments", 0).unwrap()[0].current_txn_start_offset,
        None
    );

    assert_eq!(
        admin.describe_transaction("nobody").unwrap_err().name(),
        "TRANSACTIONAL_ID_NOT_FOUND"
    );
    assert_eq!(
        admin.describe_producers("payments", 7).unwrap_err().name(),
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    broker.shutdown().await;
}

/// The builder's clock is the one produce reads: a LogAppendTime topic
/// stamps records with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_clock_stamps_log_append_time() {
    let clock = ManualClock::new(now_ms());
    clock.advance(3_600_000);
    let stamp = now_ms() + 3_600_000;
    let broker = Broker::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    broker
        .admin()
        .create_topic(NewTopic::new("stamped", 1).config("message.timestamp.type", "LogAppendTime"))
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    fill_partition_zero(&bootstrap, "stamped", 1).await;
    let got = tokio::task::spawn_blocking(move || {
        let consumer = consumer_from_start(&bootstrap, "stamped", 1, &[]);
        consume(&consumer, 1, T)
    })
    .await
    .unwrap();
    assert_eq!(got.len(), 1);
    let timestamp = got[0].timestamp.unwrap();
    // The manual clock, an hour ahead of the system's, not the system's.
    assert!(
        (timestamp - stamp).abs() < 60_000,
        "stamped {timestamp}, the clock said about {stamp}"
    );
    broker.shutdown().await;
}
