//! The README's testcontainers example (docs/snippets/testcontainers.rs), run
//! as written against the image (skipped without Docker, as the other tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

include!("../../../docs/snippets/testcontainers.rs");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_example_runs() {
    let Some(_docker) = common::docker_or_skip("the_readme_example_runs") else {
        return;
    };
    // The example runs `sluice:latest`, which ci.sh builds (the README's
    // docker snippet) before these tests.
    a_test_with_its_own_broker().await.unwrap();
}
