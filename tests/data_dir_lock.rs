//! One data directory, one broker: a broker holds an exclusive OS lock on
//! `<data-dir>/.lock` while it runs (Kafka's lock file). A second broker on
//! the same directory — two processes, or two brokers in one process —
//! refuses to start with a message naming the directory, instead of taking
//! writes that a restart would lose. The lock dies with its process, so a
//! killed broker never blocks its restart. `--ephemeral` takes no lock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::child::ChildBroker;
use common::*;
use rdkafka::producer::FutureRecord;
use sluice::{Broker, Config};

const T: Duration = Duration::from_secs(30);

/// Runs `sluice` on `dir` and waits (bounded) for it to exit; fails the test
/// at once if it starts listening instead. Returns its status and stderr.
fn run_expecting_exit(dir: &Path) -> (ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("--listen")
        .arg("127.0.0.1:0")
        .args(["--http-listen", "none"])
        .arg("--data-dir")
        .arg(dir)
        .env("SLUICE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sluice");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        // Returns as soon as a line arrives, the process exits (stdout
        // closes) or 100 ms pass; then the exit status is checked.
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.starts_with("listening on") => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("a second broker started on a data directory in use: {line}");
            }
            _ => {}
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the second broker neither started nor exited within 60 s");
        }
    };
    (status, err_reader.join().unwrap())
}

async fn produce_one(bootstrap: &str, topic: &str, value: &str) -> i64 {
    let producer = producer(bootstrap, &[("enable.idempotence", "true")]);
    producer
        .send(FutureRecord::to(topic).key("k").payload(value), T)
        .await
        .map(|d| d.offset)
        .unwrap_or_else(|(e, _)| panic!("delivery: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_broker_on_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = ChildBroker::start(dir.path(), &[]);
    create_topic(&first.addr, "locked", 1, &[]).await;
    assert_eq!(produce_one(&first.addr, "locked", "a").await, 0);

    // Another process on the same directory: exits non-zero, naming it.
    let (status, stderr) = run_expecting_exit(dir.path());
    assert!(!status.success(), "refused with a failure status: {status}");
    let shown = dir.path().display().to_string();
    assert!(
        stderr.contains(&shown) && stderr.contains(".lock"),
        "the message names the directory and its lock file: {stderr}"
    );

    // An embedded broker on the same directory: Broker::start fails.
    let embedded = Broker::start(Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    })
    .await;
    match embedded {
        Ok(_) => panic!("an embedded broker started on a data directory in use"),
        Err(e) => assert!(e.to_string().contains(&shown), "names the directory: {e}"),
    }

    // The first broker was not disturbed.
    assert_eq!(produce_one(&first.addr, "locked", "b").await, 1);
    first.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_broker_s_lock_does_not_block_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = ChildBroker::start(dir.path(), &["--fsync", "always"]);
    create_topic(&first.addr, "relock", 1, &[]).await;
    assert_eq!(produce_one(&first.addr, "relock", "a").await, 0);
    first.kill();
    assert!(
        dir.path().join(".lock").exists(),
        "the lock file stays behind"
    );
    // The OS dropped the lock with the process: the restart takes it.
    let second = ChildBroker::start(dir.path(), &["--fsync", "always"]);
    assert_eq!(produce_one(&second.addr, "relock", "b").await, 1);
    second.stop();

    // So does a broker in this process, after a clean shutdown of another.
    let mut broker = TestBroker::start().await;
    if !ephemeral_mode() {
        broker.restart().await;
        broker.restart().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_brokers_take_no_lock() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        ephemeral: true,
        ..Config::default()
    };
    let a = Broker::start(config())
        .await
        .expect("first ephemeral broker");
    let b = Broker::start(config())
        .await
        .expect("second ephemeral broker");
    assert!(!dir.path().join(".lock").exists());
    a.shutdown().await;
    b.shutdown().await;
}
