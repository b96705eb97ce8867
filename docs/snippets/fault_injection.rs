use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use sluice::faults::{Action, ApiKey, RequestFilter, Rule};

#[tokio::test]
async fn produce_errors_are_retried() {
    let broker = sluice::Broker::builder()
        .fault_injection()
        .start()
        .await
        .unwrap();
    let faults = broker.faults().expect("fault injection is on");
    // The next 3 Produce requests are answered NOT_LEADER_OR_FOLLOWER (6).
    let rule = faults
        .add(Rule::new(ApiKey::Produce, Action::error(6)).count(3))
        .unwrap();
    // Every Fetch waits 200 ms (± 20 ms), for the next 5 seconds.
    faults
        .add(
            Rule::new(ApiKey::Fetch, Action::Delay { ms: 200, jitter_ms: 20 })
                .keep()
                .for_duration(Duration::from_secs(5)),
        )
        .unwrap();

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("client.id", "my-app")
        .set("retry.backoff.ms", "10")
        .create()
        .unwrap();
    let record = FutureRecord::to("orders").key("k").payload("v");
    producer.send(record, Duration::from_secs(30)).await.unwrap();

    // The client retried: 3 errors, then success.
    assert_eq!(faults.fired(rule), 3);
    let produced = faults.requests(&RequestFilter {
        api: Some(ApiKey::Produce),
        client_id: Some("my-app".into()),
        ..Default::default()
    });
    let errors: Vec<_> = produced.iter().map(|r| r.error.clone().unwrap()).collect();
    assert_eq!(errors.last().map(String::as_str), Some("NONE"));

    faults.down(); // every client connection closed, new ones refused
    faults.up();
    faults.clear(); // all rules deleted
    broker.shutdown().await;
}
