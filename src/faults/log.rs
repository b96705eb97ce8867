//! The request log: what clients sent and what they got, newest last, in
//! a ring of [`REQUEST_LOG_CAPACITY`] entries (the oldest go first), so
//! that a test can assert what its client did.

use std::collections::VecDeque;
use std::net::SocketAddr;

use kafka_protocol::messages::ApiKey;
use serde::Serialize;

use super::rule::error_code_name;

/// How many requests the log keeps; older ones are dropped.
pub const REQUEST_LOG_CAPACITY: usize = 10_000;

/// What a fault rule did to a recorded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedFault {
    /// The rule's id.
    pub rule: u64,
    /// `error`, `close`, `close_after`, `delay` or `drop`.
    pub action: &'static str,
}

/// One request as the broker saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// Position in the log (increasing from 1; survives clearing).
    pub seq: u64,
    /// When the request was read (ms since the Unix epoch).
    pub at_unix_ms: i64,
    /// Kafka's name of the API (`Produce`).
    pub api: String,
    pub api_key: i16,
    pub version: i16,
    pub client_id: Option<String>,
    pub correlation_id: i32,
    /// The client's address (`127.0.0.1:51234`): one per connection.
    pub peer: String,
    /// From reading the request to its answer being ready (or to the
    /// connection closing / the request dropped), in ms.
    pub latency_ms: f64,
    /// The response's top-level error, else its first non-zero one, else
    /// 0; None when there was no answer (dropped, connection closed,
    /// acks=0).
    pub error_code: Option<i16>,
    /// Kafka's name of `error_code` (`NONE` for 0).
    pub error: Option<String>,
    /// The rule that acted on it, if one did.
    pub fault: Option<AppliedFault>,
}

impl RecordedRequest {
    pub(super) fn new(
        seen: &super::Seen,
        latency_ms: f64,
        error_code: Option<i16>,
        fault: Option<AppliedFault>,
    ) -> RecordedRequest {
        RecordedRequest {
            seq: 0,
            at_unix_ms: seen.at_unix_ms,
            api: format!("{:?}", seen.api_key),
            api_key: seen.api_key as i16,
            version: seen.version,
            client_id: seen.client_id.clone(),
            correlation_id: seen.correlation_id,
            peer: seen.peer.to_string(),
            latency_ms,
            error_code,
            error: error_code.map(error_code_name),
            fault,
        }
    }
}

/// Which recorded requests to list.
#[derive(Debug, Default, Clone)]
pub struct RequestFilter {
    pub api: Option<ApiKey>,
    pub client_id: Option<String>,
    /// Only those read at or after this time (ms since the Unix epoch).
    pub since_unix_ms: Option<i64>,
    /// Only those with a larger `seq`.
    pub after_seq: Option<u64>,
    /// Only the connection from this peer address.
    pub peer: Option<SocketAddr>,
    /// At most this many (the newest).
    pub limit: Option<usize>,
}

impl RequestFilter {
    fn keeps(&self, r: &RecordedRequest) -> bool {
        self.api.is_none_or(|a| a as i16 == r.api_key)
            && self
                .client_id
                .as_deref()
                .is_none_or(|c| r.client_id.as_deref() == Some(c))
            && self.since_unix_ms.is_none_or(|t| r.at_unix_ms >= t)
            && self.after_seq.is_none_or(|s| r.seq > s)
            && self.peer.is_none_or(|p| r.peer == p.to_string())
    }
}

#[derive(Debug, Default)]
pub(super) struct RequestLog {
    entries: VecDeque<RecordedRequest>,
    last_seq: u64,
}

impl RequestLog {
    pub fn push(&mut self, mut entry: RecordedRequest) {
        self.last_seq += 1;
        entry.seq = self.last_seq;
        if self.entries.len() >= REQUEST_LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn list(&self, filter: &RequestFilter) -> Vec<RecordedRequest> {
        let mut out: Vec<RecordedRequest> = self
            .entries
            .iter()
            .filter(|r| filter.keeps(r))
            .cloned()
            .collect();
        if let Some(limit) = filter.limit {
            let skip = out.len().saturating_sub(limit);
            out.drain(..skip);
        }
        out
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
