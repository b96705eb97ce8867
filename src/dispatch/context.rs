//! What every handler gets besides its request.

use std::sync::Arc;

use crate::server::session::Session;
use crate::BrokerState;

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
}
