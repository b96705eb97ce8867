//! Runs `docs/snippets/embedded_test.rs`, the embedded-broker test the docs
//! (and the README) show, exactly as written there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

include!("../docs/snippets/embedded_test.rs");
