use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_round_trip() -> Result<(), Box<dyn std::error::Error>> {
    // In memory, on a free port, its topics created before start returns.
    let broker = sluice::Broker::builder().topics("orders:3").start().await?;
    let bootstrap = broker.bootstrap_servers();

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    let record = FutureRecord::to("orders").key("42").payload("pizza");
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)?;

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "kitchen")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&["orders"])?;
    let message = tokio::task::block_in_place(|| {
        (0..300).find_map(|_| consumer.poll(Duration::from_millis(100)))
    });
    assert_eq!(message.expect("a message")?.payload(), Some(&b"pizza"[..]));

    broker.reset().await?; // next test: orders back, empty; groups gone
    drop((consumer, producer)); // clients first: they leave while the broker is up
    broker.shutdown().await;
    Ok(())
}
