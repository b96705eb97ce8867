//! `/healthz` (the process serves HTTP) and `/readyz` (the broker has
//! loaded its data, created its `--topics` and serves every Kafka request:
//! what a container orchestrator or a test waits on).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::HttpContext;

pub(super) fn routes() -> Router<HttpContext> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(ctx): State<HttpContext>) -> (StatusCode, Json<Value>) {
    if ctx.state.started.load(std::sync::atomic::Ordering::Acquire) {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "loading" })),
        )
    }
}
