use testcontainers_sluice::Sluice;

async fn a_test_with_its_own_broker() -> Result<(), Box<dyn std::error::Error>> {
    // `sluice:latest` on host networking, ephemeral, on a free port.
    let broker = Sluice::default()
        .with_option("default-partitions", "3")
        .start()
        .await?;
    let bootstrap = broker.bootstrap_servers(); // "127.0.0.1:PORT" for any client
    // ... point the code under test at `bootstrap` ...
    assert!(bootstrap.starts_with("127.0.0.1:"));
    broker.remove().await?;
    Ok(())
}
