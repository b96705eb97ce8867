//! Committed offsets with real librdkafka consumers: a consumer that
//! commits, stops and comes back resumes after its last commit, also across
//! a broker restart (offsets live in `__consumer_offsets`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod group_support;

use std::time::Duration;

use common::*;
use group_support::*;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

fn group_consumer(bootstrap: &str, group: &str, topic: &str) -> BaseConsumer {
    let mut config = client_config(bootstrap);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false");
    for (k, v) in GROUP_SETTINGS
        .iter()
        .filter(|(k, _)| *k != "enable.auto.commit")
    {
        config.set(*k, *v);
    }
    let consumer: BaseConsumer = config.create().expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// Consumes `count` records and commits the position after them.
fn consume_and_commit(consumer: &BaseConsumer, topic: &str, count: usize) -> Vec<Got> {
    let got = consume(consumer, count, Duration::from_secs(60));
    assert_eq!(got.len(), count, "consumed");
    let next = got.last().unwrap().offset + 1;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(next))
        .unwrap();
    consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    got
}

fn committed(consumer: &BaseConsumer, topic: &str) -> Offset {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let c = consumer
        .committed_offsets(tpl, Duration::from_secs(30))
        .expect("committed offsets");
    c.find_partition(topic, 0).unwrap().offset()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_commits_stops_and_restarts_resumes_after_its_last_commit() {
    let broker = TestBroker::start_with(|c| c.group_initial_rebalance_delay_ms = Some(200)).await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("resume");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    produce(&bootstrap, &topic, 1, 100).await;

    let first = tokio::task::block_in_place(|| {
        let consumer = group_consumer(&bootstrap, "resume", &topic);
        let got = consume_and_commit(&consumer, &topic, 40);
        assert_eq!(committed(&consumer, &topic), Offset::Offset(40));
        got
    }); // dropped: closes and leaves the group
    assert_eq!(first.first().unwrap().offset, 0);

    let second = tokio::task::block_in_place(|| {
        let consumer = group_consumer(&bootstrap, "resume", &topic);
        consume(&consumer, 60, Duration::from_secs(60))
    });
    assert_eq!(second.len(), 60, "the rest, and only the rest");
    assert_eq!(
        second.first().unwrap().offset,
        40,
        "resumed after the last commit"
    );
    assert_eq!(second.last().unwrap().offset, 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_a_broker_restart() {
    let mut broker =
        TestBroker::start_with(|c| c.group_initial_rebalance_delay_ms = Some(200)).await;
    let topic = unique_topic("restart");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    produce(&broker.bootstrap(), &topic, 1, 100).await;
    let bootstrap = broker.bootstrap();
    tokio::task::block_in_place(|| {
        let consumer = group_consumer(&bootstrap, "restart", &topic);
        consume_and_commit(&consumer, &topic, 60);
    });

    broker
        .restart_with(|c| c.group_initial_rebalance_delay_ms = Some(200))
        .await;
    let bootstrap = broker.bootstrap();
    let resumed = tokio::task::block_in_place(|| {
        let consumer = group_consumer(&bootstrap, "restart", &topic);
        assert_eq!(
            committed(&consumer, &topic),
            Offset::Offset(60),
            "read back after the restart"
        );
        consume(&consumer, 40, Duration::from_secs(60))
    });
    assert_eq!(resumed.len(), 40);
    assert_eq!(resumed.first().unwrap().offset, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_clients_list_describe_and_delete_groups() {
    let broker = TestBroker::start_with(|c| c.group_initial_rebalance_delay_ms = Some(200)).await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("admin");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    produce(&bootstrap, &topic, 1, 10).await;
    let member = Member::start(&bootstrap, "admin-active", &topic, "m", &[]);
    assert!(wait_until(Duration::from_secs(60), || member.assignment().len() == 1).await);
    tokio::task::block_in_place(|| {
        let consumer = group_consumer(&bootstrap, "admin-done", &topic);
        consume_and_commit(&consumer, &topic, 5);
    });

    // librdkafka's group listing: ListGroups, then DescribeGroups.
    let admin = admin(&bootstrap);
    let list = tokio::task::block_in_place(|| {
        admin
            .inner()
            .fetch_group_list(None, Duration::from_secs(30))
            .expect("group list")
    });
    let active = list
        .groups()
        .iter()
        .find(|g| g.name() == "admin-active")
        .expect("listed");
    assert_eq!(
        (active.state(), active.protocol_type(), active.protocol()),
        ("Stable", "consumer", "range")
    );
    assert_eq!(active.members().len(), 1);
    assert!(active.members()[0]
        .assignment()
        .is_some_and(|a| !a.is_empty()));
    let done = list
        .groups()
        .iter()
        .find(|g| g.name() == "admin-done")
        .expect("listed");
    assert_eq!(done.state(), "Empty");

    let opts = rdkafka::admin::AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .delete_groups(&["admin-done", "admin-active"], &opts)
        .await
        .expect("delete");
    assert!(
        results[0].is_ok(),
        "an empty group is deleted: {:?}",
        results[0]
    );
    assert!(
        results[1].is_err(),
        "a group with members is not: {:?}",
        results[1]
    );
    let list = tokio::task::block_in_place(|| {
        admin
            .inner()
            .fetch_group_list(None, Duration::from_secs(30))
            .expect("group list")
    });
    assert!(
        list.groups().iter().all(|g| g.name() != "admin-done"),
        "gone"
    );
    member.stop().await;
}
