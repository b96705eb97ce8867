//! The examples of docs/fault-injection.md, run: the Rust one is the test
//! included from docs/snippets/, the curl and Python ones run against a
//! broker with fault injection on (tests/doc_snippets.rs holds the page to
//! the files).
#![allow(clippy::unwrap_used, clippy::expect_used)]

// (The snippet brings `Duration` and the rest it uses.)
include!("../docs/snippets/fault_injection.rs");

/// Runs `program snippet` with SLUICE_HTTP pointing at a broker with fault
/// injection on; returns its output.
async fn run_snippet(program: &str, snippet: &str) -> (sluice::Broker, String) {
    let broker = sluice::Broker::builder()
        .fault_injection()
        .http_listen("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let http = format!("http://{}", broker.http_addr().unwrap());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/snippets/");
    let run = tokio::process::Command::new(program)
        .arg(format!("{path}{snippet}"))
        .env("SLUICE_HTTP", &http)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the snippet ends within a minute")
        .expect("the snippet's interpreter runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{snippet}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (broker, stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_curl_example_runs() {
    let (broker, out) = run_snippet("sh", "fault-injection.sh").await;
    assert!(out.contains(r#"{"id":1}"#), "{out}");
    assert!(out.contains(r#""error":"NOT_LEADER_OR_FOLLOWER""#), "{out}");
    assert!(
        out.contains(r#"{"down":true}"#) && out.contains(r#"{"down":false}"#),
        "{out}"
    );
    let faults = broker.faults().unwrap();
    assert!(faults.rules().is_empty(), "the script resets at the end");
    assert!(!faults.is_down());
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_runs() {
    let (broker, out) = run_snippet("python3", "fault_injection.py").await;
    assert!(out.starts_with("rule 1\nfired 0\n"), "{out}");
    assert!(broker.faults().unwrap().rules().is_empty());
    broker.shutdown().await;
}
