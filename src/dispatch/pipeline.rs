//! The one chain every request passes through, in order: the table (key,
//! version, bounds, header) → authentication gate → fault injection (when
//! on: `crate::faults`) → metrics → handler. Each stage is in its own file; this one only puts them in
//! order. What the table stage refuses closes the connection before any
//! later stage sees it, except an unknown ApiVersions version, which gets
//! its KIP-511 answer there (no stage after it would refuse ApiVersions).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::Decodable;
use sluice_protocol::{bounds, header};
use tracing::Instrument;

use super::{authentication, metrics, table, ConnectionAction, Dispatcher};
use crate::faults::{Action, Faults};
use crate::handlers::RequestContext;
use crate::session::Session;

pub(super) async fn run(
    dispatcher: &Dispatcher,
    session: &Arc<Session>,
    body: Bytes,
) -> ConnectionAction {
    let Some(prefix) = header::peek_request_header(&body) else {
        return ConnectionAction::Close(format!(
            "request of {} bytes is too short for a header",
            body.len()
        ));
    };
    let Ok(api_key) = ApiKey::try_from(prefix.api_key) else {
        return ConnectionAction::Close(format!("unknown api key {}", prefix.api_key));
    };
    let version = prefix.api_version;
    let Some((index, entry)) = table::find(api_key) else {
        return ConnectionAction::Close(format!("{api_key:?} is not supported"));
    };
    if !entry.versions().contains(&version) {
        if api_key == ApiKey::ApiVersions {
            // KIP-511: answer an unknown ApiVersions version with a v0 body
            // listing our ranges so that newer clients can downgrade.
            return ConnectionAction::Write(table::unsupported_api_versions_frame(
                prefix.correlation_id,
            ));
        }
        return ConnectionAction::Close(format!(
            "{api_key:?} v{version} is not supported (v{}-v{} are)",
            entry.min_version, entry.max_version
        ));
    }
    if let Err(e) = bounds::check_request(prefix.api_key, version, &body) {
        return ConnectionAction::Close(format!("malformed {api_key:?} v{version} request: {e}"));
    }
    let request_bytes = body.len();
    let mut buf = body;
    let header = match RequestHeader::decode(&mut buf, api_key.request_header_version(version)) {
        Ok(h) => h,
        Err(e) => {
            return ConnectionAction::Close(format!("malformed {api_key:?} v{version} header: {e}"))
        }
    };
    let client_id = header.client_id.as_ref().map(|s| s.to_string());
    if let Some(id) = &client_id {
        session.note_client_id(id);
    }
    let ctx = RequestContext {
        state: Arc::clone(dispatcher.state()),
        session: Arc::clone(session),
        api_version: version,
        correlation_id: header.correlation_id,
        client_id,
        request_bytes,
        served_apis: table::served_apis(),
    };
    let span = tracing::debug_span!(
        "request",
        api = ?api_key,
        version,
        correlation_id = ctx.correlation_id,
        client_id = ctx.client_id.as_deref().unwrap_or(""),
    );
    async move {
        if let Err(reason) = authentication::gate(session, api_key) {
            return ConnectionAction::Close(reason);
        }
        let Some(faults) = dispatcher.state().faults.as_ref() else {
            // Fault injection off: one `Option` read, nothing more.
            return metrics::measure(dispatcher.metrics(), index, entry.serve(ctx, buf)).await;
        };
        let started = std::time::Instant::now();
        let seen = crate::faults::seen(
            api_key,
            version,
            ctx.correlation_id,
            ctx.client_id.clone(),
            session.peer(),
        );
        let metadata = &dispatcher.state().metadata;
        let name_of = |id: &uuid::Uuid| metadata.topic_by_id(id).map(|t| t.name.clone());
        let fired = faults.decide(&seen, &buf, &name_of);
        let action = match fired.map(|f| f.action) {
            Some(Action::Close) => {
                ConnectionAction::Close("fault injection: closing the connection".into())
            }
            Some(Action::Drop) => ConnectionAction::NoResponse,
            Some(Action::Error { error }) => match Faults::error_answer(&seen, &buf, error) {
                Ok(frame) => ConnectionAction::Write(frame),
                Err(e) => ConnectionAction::Close(format!("fault injection: {e}")),
            },
            Some(Action::Delay { ms, jitter_ms }) => {
                tokio::time::sleep(Faults::delay_of(ms, jitter_ms)).await;
                metrics::measure(dispatcher.metrics(), index, entry.serve(ctx, buf)).await
            }
            Some(Action::CloseAfter) => {
                // Handled (a produce is written), never answered.
                let _ = metrics::measure(dispatcher.metrics(), index, entry.serve(ctx, buf)).await;
                ConnectionAction::Close("fault injection: closing the connection".into())
            }
            None => metrics::measure(dispatcher.metrics(), index, entry.serve(ctx, buf)).await,
        };
        // The request log: the outcome once known (a pending answer when
        // it is ready).
        match action {
            ConnectionAction::Write(frame) => {
                faults.record_outcome(&seen, started, fired, Some(&frame));
                ConnectionAction::Write(frame)
            }
            ConnectionAction::WritePending(pending) => {
                let faults = Arc::clone(faults);
                ConnectionAction::WritePending(Box::pin(async move {
                    let frame = pending.await;
                    faults.record_outcome(&seen, started, fired, Some(&frame));
                    frame
                }))
            }
            other => {
                faults.record_outcome(&seen, started, fired, None);
                other
            }
        }
    }
    .instrument(span)
    .await
}
