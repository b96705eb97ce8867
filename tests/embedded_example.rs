//! Runs `examples/embedded.rs`, so the example in the docs keeps working.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../examples/embedded.rs"]
mod example;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_example_produces_and_consumes() {
    let received = example::run().await.expect("the example runs");
    assert_eq!(received, ["hello", "from", "sluice"]);
}
