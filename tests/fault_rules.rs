//! Fault rules act in the request pipeline, per API key: a rule that closes
//! before handling drops the connection without touching the broker, one
//! that expires lets the next connection through, other APIs never see it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, MetadataRequest};
use sluice::faults::{Action, Rule};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_closes_the_connection_on_its_api_only_and_expires() {
    let broker = TestBroker::start_with(|c| c.fault_injection = true).await;
    let faults = broker.broker.as_ref().unwrap().faults().unwrap();
    let rule = faults
        .add(Rule::new(ApiKey::Metadata, Action::Close))
        .unwrap();
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        // Another API passes untouched.
        assert_eq!(raw.call(3, &ApiVersionsRequest::default()).error_code, 0);
        raw.send(12, &MetadataRequest::default().with_topics(Some(vec![])));
        assert!(raw.is_closed(), "the rule closes the connection");
        // Fired once: the next connection is served.
        let mut raw = Raw::connect(&addr);
        let resp = raw.call(12, &MetadataRequest::default().with_topics(Some(vec![])));
        assert_eq!(resp.brokers.len(), 1);
    })
    .await
    .unwrap();
    assert_eq!(faults.fired(rule), 1);
    // Handled requests only are counted: the refused one never reached metrics.
    let metrics = broker.broker.as_ref().unwrap().request_metrics();
    assert_eq!(metrics.api(ApiKey::Metadata).unwrap().requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_rule_holds_its_request() {
    let broker = TestBroker::start_with(|c| c.fault_injection = true).await;
    let faults = broker.broker.as_ref().unwrap().faults().unwrap();
    let delay = Duration::from_millis(300);
    faults
        .add(Rule::new(ApiKey::ApiVersions, Action::delay(delay)))
        .unwrap();
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let started = Instant::now();
        assert_eq!(raw.call(3, &ApiVersionsRequest::default()).error_code, 0);
        assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    })
    .await
    .unwrap();
    faults.clear();
}
