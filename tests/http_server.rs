//! The HTTP server: `/healthz`, `/readyz`, JSON errors, and its place in
//! start-up (bound with the Kafka listener, a port in use fails the start).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::http::get;
use sluice::{Broker, Config, StartError};

#[tokio::test]
async fn healthz_and_readyz_answer_once_the_broker_serves() {
    let broker = Broker::builder()
        .http_listen("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let http = broker.http_addr().expect("an HTTP server was asked for");
    let (status, body) = get(http, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    let (status, body) = get(http, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    let (status, body) = get(http, "/no/such/route").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("/no/such/route"));
    broker.shutdown().await;
}

#[tokio::test]
async fn readyz_is_503_while_the_broker_loads() {
    let config = Config {
        listen: "127.0.0.1:0".into(),
        http_listen: Some("127.0.0.1:0".into()),
        ephemeral: true,
        ..Config::default()
    };
    let (mut broker, hold) = Broker::start_held(config).await.unwrap();
    let http = broker.http_addr().unwrap();
    let (status, body) = get(http, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "loading");
    assert_eq!(get(http, "/healthz").await.0, 200);
    hold.release();
    tokio::time::timeout(Duration::from_secs(60), broker.ready())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(get(http, "/readyz").await.0, 200);
    broker.shutdown().await;
}

#[tokio::test]
async fn an_http_port_in_use_fails_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = Broker::builder()
        .http_listen(addr.clone())
        .start()
        .await
        .err()
        .expect("the port is taken");
    assert!(
        matches!(&err, StartError::Listen { addr: a, .. } if *a == addr),
        "{err}"
    );
}

#[tokio::test]
async fn a_library_broker_runs_no_http_server_unless_asked() {
    let broker = Broker::builder().start().await.unwrap();
    assert_eq!(broker.http_addr(), None);
    broker.shutdown().await;
}

/// A client that opened an HTTP connection and never finished its request
/// must not hold the broker's shutdown for ever.
#[tokio::test]
async fn a_stalled_http_client_does_not_hold_shutdown() {
    let broker = Broker::builder()
        .http_listen("127.0.0.1:0")
        .with_config(|c| c.shutdown_timeout_ms = 200)
        .start()
        .await
        .unwrap();
    let http = broker.http_addr().unwrap();
    let mut stalled = tokio::net::TcpStream::connect(http).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stalled, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), broker.shutdown())
        .await
        .expect("shutdown finished although a client stalled");
    drop(stalled);
}
