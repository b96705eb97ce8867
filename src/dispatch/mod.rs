//! From a frame body to what the connection does with it.
//!
//! [`table::API_TABLE`] is the one list of served APIs: ApiVersions answers
//! from it, requests are routed by it and metrics are kept per entry of it.
//! Every request takes the same way (`pipeline.rs`):
//!
//! 1. in the table? — api key and version served, bounds walk, header
//!    decode (anything else closes the connection; an unknown ApiVersions
//!    version gets the KIP-511 fallback answer);
//! 2. authentication gate (`authentication.rs`) — may this session send
//!    this request yet?
//! 3. fault injection — only when the broker runs with it
//!    (`crate::faults`: rules, the request log);
//! 4. [`metrics`] — per-API request count and latency;
//! 5. the handler — typed decode, `handlers::<api>::handle`, encode —
//!    inside the quota stage (`quota.rs`): request time measured,
//!    `throttle_time_ms` set, the connection muted while throttled.
//!
//! What closes the connection (as Kafka does): a body too short for a
//! header, an unknown api key, an unsupported version of anything but
//! ApiVersions, a body that fails the bounds check or decoding, and a
//! request the session may not send.

mod authentication;
#[cfg(test)]
mod coverage_doc;
pub mod metrics;
mod output;
mod pipeline;
mod quota;
pub mod table;

use std::sync::Arc;

use bytes::Bytes;

pub use output::{encode_frame, ConnectionAction};

use crate::session::Session;
use crate::BrokerState;
use metrics::RequestMetrics;

/// The request pipeline of one broker, shared by all its connections.
pub struct Dispatcher {
    state: Arc<BrokerState>,
    metrics: Arc<RequestMetrics>,
}

impl Dispatcher {
    pub fn new(state: Arc<BrokerState>) -> Dispatcher {
        Dispatcher {
            state,
            metrics: Arc::default(),
        }
    }

    pub fn state(&self) -> &Arc<BrokerState> {
        &self.state
    }

    /// The per-API request metrics of every connection.
    pub fn metrics(&self) -> &Arc<RequestMetrics> {
        &self.metrics
    }

    /// Takes one frame body (the bytes after the length prefix) from a
    /// connection of `session` through the pipeline.
    pub async fn dispatch(&self, session: &Arc<Session>, body: Bytes) -> ConnectionAction {
        pipeline::run(self, session, body).await
    }
}
