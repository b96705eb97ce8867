//! Runs `compat/kcat/run.sh` (Debian's kcat 1.7.1 on librdkafka 2.0.2)
//! against an in-process broker. kcat must be installed (`.ci/run` does it);
//! set SLUICE_SKIP_KCAT=1 to skip deliberately.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_lists_produces_consumes_and_queries_offsets() {
    if std::env::var_os("SLUICE_SKIP_KCAT").is_some() {
        eprintln!("SLUICE_SKIP_KCAT set: skipping the kcat suite");
        return;
    }
    let broker = TestBroker::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/compat/kcat/run.sh");
    let bootstrap = broker.bootstrap();
    // cargo puts the vendored librdkafka (rdkafka-sys's build output) on
    // LD_LIBRARY_PATH; kcat must run on Debian's own librdkafka instead.
    let out = tokio::process::Command::new("bash")
        .env_remove("LD_LIBRARY_PATH")
        .env("KCAT_EXPECT_LIBRDKAFKA", "2.0.2")
        .arg(script)
        .arg(&bootstrap)
        .output()
        .await
        .expect("run compat/kcat/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kcat suite failed ({}):\n{stdout}\n{stderr}\n(kcat missing? run .ci/run or apt-get install kcat)",
        out.status
    );
    assert!(stdout.contains("PASS"), "{stdout}");
}
