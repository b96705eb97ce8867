//! The module against the image built in the same CI run: a real client
//! (librdkafka, through rdkafka) produces and consumes through it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message};
use testcontainers_sluice::Sluice;

fn sluice() -> Sluice {
    Sluice::default().with_image(&common::image())
}

async fn produce(bootstrap: &str, topic: &str, values: &[String]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    for v in values {
        producer
            .send(
                FutureRecord::<(), _>::to(topic).payload(v),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

async fn consume(bootstrap: &str, topic: &str, n: usize) -> Vec<String> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("g-{topic}"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut got = Vec::new();
    while got.len() < n {
        let m = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("a message within 30 s")
            .unwrap();
        got.push(String::from_utf8(m.payload().unwrap().to_vec()).unwrap());
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_and_consume_through_the_container() {
    let Some(_docker) = common::docker_or_skip("produce_and_consume_through_the_container") else {
        return;
    };
    let broker = sluice().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers().to_string();
    assert!(
        bootstrap.starts_with("127.0.0.1:") && !bootstrap.ends_with(":0"),
        "{bootstrap}"
    );
    let values: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    produce(&bootstrap, "orders", &values).await;
    assert_eq!(consume(&bootstrap, "orders", 20).await, values);
    broker.remove().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_containers_get_their_own_ports_and_options() {
    let Some(_docker) =
        common::docker_or_skip("parallel_containers_get_their_own_ports_and_options")
    else {
        return;
    };
    let (a, b) = tokio::join!(
        sluice().with_option("default-partitions", "3").start(),
        sluice().start()
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.bootstrap_servers(), b.bootstrap_servers());
    for (broker, partitions) in [(&a, 3), (&b, 1)] {
        produce(broker.bootstrap_servers(), "auto", &["x".to_string()]).await;
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", broker.bootstrap_servers())
            .create()
            .unwrap();
        let md = consumer
            .fetch_metadata(Some("auto"), Duration::from_secs(10))
            .unwrap();
        assert_eq!(md.topics()[0].partitions().len(), partitions);
    }
    // The HTTP server answers /readyz on its own port 0 too.
    let http = a.http_addr().expect("HTTP is on by default").to_string();
    let status = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&http).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.lines().next().unwrap_or_default().to_string()
    })
    .await
    .unwrap();
    assert!(status.contains(" 200 "), "{status}");
    a.remove().await.unwrap();
    b.remove().await.unwrap();
}
