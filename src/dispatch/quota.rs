//! The quota stage, around the handler: a request-time quota
//! (`request_percentage`) measures how long the handler took, and every
//! throttle — the handler's own (produce and fetch byte rates, set in its
//! response) or the request-time one — ends up in the response's
//! `throttle_time_ms` and mutes the connection for that long (KIP-219:
//! the reply goes out at once; the reader handles no further request
//! until the time is over). Without any quota configured this stage is
//! two relaxed atomic loads.

use std::sync::Arc;
use std::time::Instant;

use crate::handlers::{HandlerOutput, RequestContext};
use crate::quota::throttle::ThrottleTime;
use crate::quota::QuotaClient;
use crate::session::Session;
use crate::BrokerState;

/// A request being timed for its client's request quota.
pub(super) struct RequestTime {
    state: Arc<BrokerState>,
    client_id: Option<String>,
    started: Instant,
}

impl RequestTime {
    /// Starts timing if any request quota is set.
    pub(super) fn start(ctx: &RequestContext) -> Option<RequestTime> {
        let store = ctx.state.metadata.client_quotas();
        store
            .enabled(crate::metadata::client_quotas::QuotaKind::Request)
            .then(|| RequestTime {
                state: Arc::clone(&ctx.state),
                client_id: ctx.client_id.clone(),
                started: Instant::now(),
            })
    }

    /// The request-time throttle of the request handled since `start`.
    pub(super) fn finish(self, session: &Session) -> i32 {
        let client = QuotaClient::of(session, self.client_id.as_deref());
        self.state.quotas.record_request_time(
            self.state.metadata.client_quotas(),
            client,
            self.started.elapsed(),
        )
    }
}

/// Puts the larger of the handler's throttle and `request_throttle` into
/// the response and mutes the connection for it. A pending response is
/// wrapped (only when some quota was set as the request came) so that a throttle its handler
/// sets when it completes — a long-poll fetch — mutes too.
pub(super) fn apply<R: ThrottleTime + Send + 'static>(
    output: HandlerOutput<R>,
    request_throttle: i32,
    session: Arc<Session>,
    quotas_set: bool,
) -> HandlerOutput<R> {
    match output {
        HandlerOutput::Respond(mut resp) => {
            throttle(&mut resp, request_throttle, &session);
            HandlerOutput::Respond(resp)
        }
        HandlerOutput::NoResponse => {
            session.throttle_for(request_throttle);
            HandlerOutput::NoResponse
        }
        HandlerOutput::Pending(pending) if request_throttle > 0 || quotas_set => {
            HandlerOutput::Pending(Box::pin(async move {
                let mut resp = pending.await;
                throttle(&mut resp, request_throttle, &session);
                resp
            }))
        }
        pending @ HandlerOutput::Pending(_) => pending,
    }
}

fn throttle<R: ThrottleTime>(resp: &mut R, request_throttle: i32, session: &Session) {
    let ms = resp.throttle_time_ms().max(request_throttle);
    if ms > 0 {
        resp.set_throttle_time_ms(ms);
        session.throttle_for(ms);
    }
}
