//! Routes for tests and CI: `POST /v1/reset` (the broker as it started, for
//! the next test; see `reset.rs`) and `/v1/advertised-listener` (the
//! address clients are given, changeable while the broker runs; see
//! `advertised.rs`).
//!
//! Both go through the same calls as the Kafka API and the Rust handle:
//! the reset is [`crate::Admin::reset`]; a PUT is IncrementalAlterConfigs
//! of `advertised.listeners` on this broker, so it is kept in the metadata
//! log and shows in DescribeConfigs as DYNAMIC_BROKER_CONFIG.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{ApiError, HttpContext};
use crate::admin::AdminError;
use crate::advertised::{self, ADVERTISED_LISTENERS};
use crate::config_admin::{AlterOp, ConfigChange, Mode, BROKER};
use crate::error::TopicError;

pub(super) fn routes() -> Router<HttpContext> {
    Router::new().route("/v1/reset", post(reset)).route(
        "/v1/advertised-listener",
        get(get_advertised)
            .put(put_advertised)
            .delete(delete_advertised),
    )
}

/// 400 for what the caller got wrong, 503 for what a retry fixes (the
/// broker is loading or stopping), 500 for the rest; the message names
/// Kafka's error.
fn admin_error(e: AdminError) -> ApiError {
    let status = if e.is_retriable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else if matches!(e.name().as_str(), "INVALID_REQUEST" | "INVALID_CONFIG") {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    ApiError {
        status,
        message: e.to_string(),
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
    }
}

async fn reset(State(ctx): State<HttpContext>) -> Result<Json<Value>, ApiError> {
    let summary = crate::reset::reset(ctx.state).await.map_err(admin_error)?;
    Ok(Json(json!({
        "deleted_topics": summary.deleted_topics,
        "deleted_groups": summary.deleted_groups,
        "created_topics": summary.created_topics,
    })))
}

fn current(ctx: &HttpContext) -> Json<Value> {
    let ((host, port), origin) = ctx.state.advertised_with_origin();
    Json(json!({
        "advertised_listener": advertised::host_port(&host, port),
        "source": origin.name(),
    }))
}

async fn get_advertised(State(ctx): State<HttpContext>) -> Json<Value> {
    current(&ctx)
}

/// `{"advertised_listener": "HOST:PORT"}` (or `PLAINTEXT://HOST:PORT`).
async fn put_advertised(
    State(ctx): State<HttpContext>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("the body is not JSON: {e}")))?;
    let given = body
        .get("advertised_listener")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad_request(r#"expected {"advertised_listener": "HOST:PORT"}"#.to_string())
        })?;
    let value = if given.contains("://") {
        given.to_string()
    } else {
        format!("PLAINTEXT://{given}")
    };
    alter(&ctx, AlterOp::Set, Some(value)).await?;
    Ok(current(&ctx))
}

/// Back to `--advertised-listener`, or the bound address.
async fn delete_advertised(State(ctx): State<HttpContext>) -> Result<Json<Value>, ApiError> {
    alter(&ctx, AlterOp::Delete, None).await?;
    Ok(current(&ctx))
}

async fn alter(ctx: &HttpContext, op: AlterOp, value: Option<String>) -> Result<(), ApiError> {
    let state = std::sync::Arc::clone(&ctx.state);
    let change = ConfigChange {
        name: ADVERTISED_LISTENERS.to_string(),
        op,
        value,
    };
    let node = state.config.node_id.to_string();
    let outcome = tokio::task::spawn_blocking(move || {
        state.alter_configs(BROKER, &node, &[change], Mode::Incremental, false)
    })
    .await
    .unwrap_or_else(|e| Err(TopicError::Interrupted(e)));
    outcome.map_err(|e| admin_error(e.into()))
}
