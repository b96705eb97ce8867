//! A log level changed at run time through IncrementalAlterConfigs
//! (BROKER_LOGGER) takes effect at once, and DELETE gives the logger its
//! parent's level back. Its own test binary: it installs the process's
//! subscriber with `sluice::logging::init`, as the `sluice` command does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::IncrementalAlterConfigsRequest;
use kafka_protocol::protocol::StrBytes;

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn set_level(addr: &str, level: Option<&str>) -> i16 {
    let mut raw = Raw::connect(addr);
    let config = AlterableConfig::default()
        .with_name(StrBytes::from_static_str("sluice::metadata"))
        .with_config_operation(if level.is_some() { 0 } else { 1 })
        .with_value(level.map(|l| StrBytes::from_string(l.to_string())));
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(8)
            .with_resource_name(StrBytes::from_static_str("0"))
            .with_configs(vec![config]),
    ]);
    raw.call(1, &req).responses[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logger_level_set_at_run_time_takes_effect() {
    if ephemeral_mode() {
        // The line watched for is the metadata log's, which an ephemeral broker has not.
        return;
    }
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&logs);
    sluice::logging::init("info", false, false, move || Capture(Arc::clone(&sink))).unwrap();
    let written = |topic: &str| {
        String::from_utf8_lossy(&logs.lock().unwrap())
            .lines()
            .any(|l| l.contains("metadata record written") && l.contains(topic))
    };
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    let (quiet, loud, quiet_again) = (
        unique_topic("quiet"),
        unique_topic("loud"),
        unique_topic("quiet-again"),
    );
    create_topic(&addr, &quiet, 1, &[]).await;
    assert!(!written(&quiet), "DEBUG is off at INFO");
    let a = addr.clone();
    assert_eq!(
        tokio::task::spawn_blocking(move || set_level(&a, Some("DEBUG")))
            .await
            .unwrap(),
        0
    );
    create_topic(&addr, &loud, 1, &[]).await;
    assert!(
        written(&loud),
        "DEBUG lines of sluice::metadata are written now"
    );
    let a = addr.clone();
    assert_eq!(
        tokio::task::spawn_blocking(move || set_level(&a, None))
            .await
            .unwrap(),
        0
    );
    create_topic(&addr, &quiet_again, 1, &[]).await;
    assert!(!written(&quiet_again), "back to the root's INFO");
}
