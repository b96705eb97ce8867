//! `--fsync always` fsync batching (the flusher): produce requests in
//! flight share one flush, whichever partitions they wrote to. librdkafka sends one partition
//! per Produce request, so a producer to many partitions pipelines many
//! small requests on one connection; their fsyncs used to run one after
//! another, each when its reply's turn to be sent came.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use futures::future::join_all;
use rdkafka::producer::FutureRecord;
use sluice::config::FsyncMode;

const PARTITIONS: i32 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_produce_requests_to_many_partitions_share_their_fsyncs() {
    if ephemeral_mode() {
        return; // nothing to fsync in memory
    }
    let broker = TestBroker::start_with(|c| c.fsync = FsyncMode::Always).await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("fsync-batching");
    create_topic(&bootstrap, &topic, PARTITIONS, &[]).await;
    let producer = producer(&bootstrap, &[("linger.ms", "0")]);
    // Connected, with metadata, before counting.
    producer
        .send(
            FutureRecord::<(), str>::to(&topic)
                .partition(0)
                .payload("warm-up"),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let embedded = broker.broker.as_ref().unwrap();
    // Each flush waits a while first, so requests that arrive meanwhile
    // (however slow this machine is) have every chance to share it.
    embedded.hold_each_flush_round_for_tests(Duration::from_millis(200));
    let before = embedded.flush_stats().rounds;

    let sends = (0..PARTITIONS).map(|p| {
        producer.send(
            FutureRecord::to(&topic).partition(p).key("k").payload("v"),
            Duration::from_secs(30),
        )
    });
    for (p, delivered) in join_all(sends).await.into_iter().enumerate() {
        let delivery = delivered.unwrap_or_else(|(e, _)| panic!("partition {p}: {e}"));
        assert_eq!(delivery.partition, p as i32);
    }
    // Acknowledged means fsynced.
    for p in 0..PARTITIONS {
        assert!(
            !embedded.has_unflushed_data(&topic, p).unwrap(),
            "partition {p} acked before its fsync"
        );
    }
    let rounds = embedded.flush_stats().rounds - before;
    assert!(
        rounds <= (PARTITIONS / 4) as u64,
        "{PARTITIONS} produce requests took {rounds} flushes"
    );
}
