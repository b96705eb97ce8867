//! Fault injection over HTTP (`docs/fault-injection.md`): `/v1/faults`
//! (rules), `/v1/broker/down|up`, `/v1/requests` (the request log). The
//! same abilities as `Broker::faults()`, over the same [`Faults`].
//!
//! Off unless the broker runs with `--fault-injection`: then every route
//! here answers 403 with how to turn it on.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{ApiError, HttpContext};
use crate::faults::{self, Faults, RequestFilter, Rule, RuleId};

/// The most rules one POST may add.
pub(crate) const MAX_RULES_PER_REQUEST: usize = 100;

pub(super) fn routes() -> Router<HttpContext> {
    Router::new()
        .route(
            "/v1/faults",
            get(list_rules).post(add_rules).delete(delete_rules),
        )
        .route("/v1/faults/{id}", get(get_rule).delete(delete_rule))
        .route("/v1/broker/down", post(broker_down))
        .route("/v1/broker/up", post(broker_up))
        .route("/v1/requests", get(list_requests).delete(clear_requests))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
    }
}

/// The broker's [`Faults`], or 403 saying how to turn them on.
fn faults(ctx: &HttpContext) -> Result<&Arc<Faults>, ApiError> {
    ctx.state.faults.as_ref().ok_or_else(|| ApiError {
        status: StatusCode::FORBIDDEN,
        message: "fault injection is off: start the broker with --fault-injection \
                  (SLUICE_FAULT_INJECTION=1, or Broker::builder().fault_injection())"
            .into(),
    })
}

async fn list_rules(State(ctx): State<HttpContext>) -> Result<Json<Value>, ApiError> {
    let f = faults(&ctx)?;
    Ok(Json(json!({ "rules": f.rules(), "down": f.is_down() })))
}

/// One rule (`{...}`) → `{"id": n}`; a list (`[{...}, ...]`, at most
/// [`MAX_RULES_PER_REQUEST`]) → `{"ids": [...]}`, all or none.
async fn add_rules(
    State(ctx): State<HttpContext>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let f = faults(&ctx)?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("the body is not JSON: {e}")))?;
    let (rules, many) = match value {
        Value::Array(items) => {
            if items.len() > MAX_RULES_PER_REQUEST {
                return Err(bad_request(format!(
                    "{} rules in one request; at most {MAX_RULES_PER_REQUEST}",
                    items.len()
                )));
            }
            let mut rules = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                rules.push(parse_rule(item).map_err(|e| bad_request(format!("rule {i}: {e}")))?);
            }
            (rules, true)
        }
        other => (vec![parse_rule(other).map_err(bad_request)?], false),
    };
    for (i, rule) in rules.iter().enumerate() {
        f.check(rule)
            .map_err(|e| bad_request(if many { format!("rule {i}: {e}") } else { e.0 }))?;
    }
    if f.rules().len() + rules.len() > faults::MAX_RULES {
        return Err(bad_request(format!(
            "at most {} rules are held; delete some first (DELETE /v1/faults deletes all)",
            faults::MAX_RULES
        )));
    }
    let mut ids = Vec::with_capacity(rules.len());
    for rule in rules {
        ids.push(f.add(rule).map_err(|e| bad_request(e.0))?);
    }
    let body = if many {
        json!({ "ids": ids })
    } else {
        json!({ "id": ids[0] })
    };
    Ok((StatusCode::CREATED, Json(body)))
}

fn parse_rule(value: Value) -> Result<Rule, String> {
    if !value.is_object() {
        return Err("a rule is a JSON object, such as {\"api\": \"Produce\", \"action\": {\"type\": \"drop\"}}".into());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

async fn delete_rules(State(ctx): State<HttpContext>) -> Result<Json<Value>, ApiError> {
    let f = faults(&ctx)?;
    let n = f.rules().len();
    f.clear();
    Ok(Json(json!({ "deleted": n })))
}

fn rule_id(text: &str) -> Result<RuleId, ApiError> {
    text.parse::<u64>()
        .map(RuleId)
        .map_err(|_| bad_request(format!("{text:?} is not a rule id (a number)")))
}

async fn get_rule(
    State(ctx): State<HttpContext>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let f = faults(&ctx)?;
    let id = rule_id(&id)?;
    let status = f
        .rule(id)
        .ok_or_else(|| ApiError::not_found(format!("no rule {id}")))?;
    Ok(Json(json!(status)))
}

async fn delete_rule(
    State(ctx): State<HttpContext>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let f = faults(&ctx)?;
    let id = rule_id(&id)?;
    if f.remove(id) {
        Ok(Json(json!({ "deleted": id })))
    } else {
        Err(ApiError::not_found(format!("no rule {id}")))
    }
}

async fn broker_down(State(ctx): State<HttpContext>) -> Result<Json<Value>, ApiError> {
    let f = faults(&ctx)?;
    f.down();
    Ok(Json(json!({ "down": true })))
}

async fn broker_up(State(ctx): State<HttpContext>) -> Result<Json<Value>, ApiError> {
    let f = faults(&ctx)?;
    f.up();
    Ok(Json(json!({ "down": false })))
}

/// Filters: `api` (name or number), `client_id`, `since` (ms since the
/// Unix epoch), `after` (a `seq`), `limit`.
async fn list_requests(
    State(ctx): State<HttpContext>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let f = faults(&ctx)?;
    let filter = request_filter(&params).map_err(bad_request)?;
    Ok(Json(json!({ "requests": f.requests(&filter) })))
}

fn request_filter(params: &HashMap<String, String>) -> Result<RequestFilter, String> {
    let mut filter = RequestFilter::default();
    for (key, value) in params {
        match key.as_str() {
            "api" => {
                filter.api = Some(faults::parse_api(value).ok_or_else(|| {
                    format!("unknown API {value:?} (Produce, Fetch, ... or a key number)")
                })?);
            }
            "client_id" => filter.client_id = Some(value.clone()),
            "since" => {
                filter.since_unix_ms = Some(value.parse().map_err(|_| {
                    format!("since={value:?} is not a time in ms since the Unix epoch")
                })?);
            }
            "after" => {
                filter.after_seq = Some(
                    value
                        .parse()
                        .map_err(|_| format!("after={value:?} is not a seq number"))?,
                );
            }
            "limit" => {
                filter.limit = Some(
                    value
                        .parse()
                        .map_err(|_| format!("limit={value:?} is not a number"))?,
                );
            }
            other => {
                return Err(format!(
                    "unknown filter {other:?}; the filters are api, client_id, since, after, limit"
                ))
            }
        }
    }
    Ok(filter)
}

async fn clear_requests(State(ctx): State<HttpContext>) -> Result<Json<Value>, ApiError> {
    let f = faults(&ctx)?;
    f.clear_requests();
    Ok(Json(json!({ "cleared": true })))
}
