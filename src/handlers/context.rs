//! The handler's contract: what every handler gets besides its request
//! ([`RequestContext`]) and what it gives back ([`HandlerOutput`]). The
//! pipeline in `dispatch/` builds the one and takes the other; handlers know
//! nothing of the pipeline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kafka_protocol::messages::ApiKey;

use crate::session::Session;
use crate::BrokerState;

/// A response still to come, awaited by the connection's writer in order.
pub type PendingResponse<R> = Pin<Box<dyn Future<Output = R> + Send + 'static>>;

/// What a handler gives back: a typed response, now or to come.
pub enum HandlerOutput<R> {
    /// The response, now.
    Respond(R),
    /// No response at all (produce with acks=0).
    NoResponse,
    /// The response once the future completes (long-poll fetch, a produce
    /// waiting for its fsync).
    Pending(PendingResponse<R>),
}

/// One API the broker serves and its versions, as ApiVersions lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedApi {
    pub key: ApiKey,
    pub min_version: i16,
    pub max_version: i16,
}

/// The request's surroundings: the broker, the connection's session, and
/// the request header's fields. Built by the pipeline for one request and
/// moved into its handler.
pub struct RequestContext {
    pub state: Arc<BrokerState>,
    /// The connection this request came on: peer, principal, client
    /// software. Shared by every request of that connection.
    pub session: Arc<Session>,
    pub api_version: i16,
    pub correlation_id: i32,
    /// This request's header client id (the session keeps the first one).
    pub client_id: Option<String>,
    /// Size of the request (header and body), as quotas count it.
    pub request_bytes: usize,
    /// Every API served, in key order (the pipeline's table): what
    /// ApiVersions answers.
    pub served_apis: &'static [ServedApi],
}
