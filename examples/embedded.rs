//! An embedded broker for a test or a tool: in memory, on a free port.
//!
//! Starts an ephemeral Sluice broker on 127.0.0.1:0, creates a topic through
//! the [`sluice::Admin`] facade, produces three records and consumes them
//! back with an ordinary Kafka client (librdkafka, through the `rdkafka`
//! crate), then shuts the broker down.
//!
//! ```text
//! cargo run --example embedded
//! ```

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Runs the example; `tests/embedded_example.rs` runs it too.
pub async fn run() -> Result<Vec<String>, Box<dyn std::error::Error>> {
    // In memory (nothing on disk), on a port the OS picks.
    let broker = sluice::Broker::builder()
        .ephemeral()
        .listen("127.0.0.1:0")
        .start()
        .await?;
    let bootstrap = broker.bootstrap_servers();

    // Topics, configs, groups and transactions: the Admin facade, no client needed.
    let admin = broker.admin();
    admin
        .create_topic(sluice::admin::NewTopic::new("greetings", 1))
        .await?;

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    for text in ["hello", "from", "sluice"] {
        producer
            .send(
                FutureRecord::<(), str>::to("greetings").payload(text),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)?;
    }

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "example")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&["greetings"])?;
    let mut received = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while received.len() < 3 && std::time::Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message?;
            received
                .push(String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned());
        }
    }
    // The consumer committed its position (auto-commit): the group and
    // its offset are there for the Admin to see.
    consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync)?;
    for group in admin.list_groups() {
        println!("group {} is {}", group.group_id, group.state);
    }
    drop(consumer);
    drop(producer);
    broker.shutdown().await;
    Ok(received)
}

#[tokio::main]
#[allow(dead_code)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    for text in run().await? {
        println!("{text}");
    }
    Ok(())
}
