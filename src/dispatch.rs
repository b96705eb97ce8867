//! From a frame body to a response frame: api key and version gate, bounds
//! check, typed decode, handler, encode with the right header version.
//!
//! The registry of supported APIs is [`SUPPORTED`], built from each handler's
//! own `VERSIONS`; ApiVersions answers from it, so we advertise exactly what
//! is dispatched here.
//!
//! What closes the connection (as Kafka does): a body too short for a
//! header, an unknown api key, an unsupported version of anything but
//! ApiVersions, and a body that fails the bounds check or decoding.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use sluice_protocol::{bounds, header};
use tracing::Instrument;

use crate::handlers;
use crate::BrokerState;

/// A response still to come, awaited by the connection's writer in order.
pub type PendingResponse<R> = Pin<Box<dyn Future<Output = R> + Send + 'static>>;

/// What a handler gives back.
pub enum HandlerOutput<R> {
    /// The response, now.
    Respond(R),
    /// No response at all (produce with acks=0).
    NoResponse,
    /// The response once the future completes (long-poll fetch).
    Pending(PendingResponse<R>),
}

/// What the connection does with a request.
pub enum ConnectionAction {
    /// Write this frame.
    Write(BytesMut),
    /// Write the frame this future yields, in order.
    WritePending(PendingResponse<BytesMut>),
    /// Write nothing.
    NoResponse,
    /// Close the connection after the replies already queued, logging why.
    Close(String),
}

/// One registry entry: the API key and the versions its handler declares.
macro_rules! api {
    ($key:ident, $handler:ident) => {
        (
            ApiKey::$key,
            handlers::$handler::VERSIONS.0,
            handlers::$handler::VERSIONS.1,
        )
    };
}

/// Every API Sluice serves, with the versions it implements.
#[rustfmt::skip]
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    api!(Produce, produce),
    api!(Fetch, fetch),
    api!(ListOffsets, list_offsets),
    api!(Metadata, metadata),
    api!(ApiVersions, api_versions),
    api!(CreateTopics, create_topics),
    api!(CreatePartitions, create_partitions),
    api!(DescribeConfigs, describe_configs),
    api!(DeleteRecords, delete_records),
    api!(DeleteTopics, delete_topics),
    api!(FindCoordinator, find_coordinator),
    api!(JoinGroup, join_group),
    api!(SyncGroup, sync_group),
    api!(Heartbeat, heartbeat),
    api!(LeaveGroup, leave_group),
    api!(OffsetCommit, offset_commit),
    api!(OffsetFetch, offset_fetch),
    api!(ListGroups, list_groups),
    api!(DescribeGroups, describe_groups),
    api!(DeleteGroups, delete_groups),
    api!(OffsetDelete, offset_delete),
    api!(InitProducerId, init_producer_id),
    api!(AddPartitionsToTxn, add_partitions_to_txn),
    api!(AddOffsetsToTxn, add_offsets_to_txn),
    api!(EndTxn, end_txn),
    api!(TxnOffsetCommit, txn_offset_commit),
    api!(DescribeProducers, describe_producers),
    api!(DescribeTransactions, describe_transactions),
    api!(ListTransactions, list_transactions),
];

/// The version range we serve for `key`, if any.
pub fn supported_versions(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, min, max)| (*min, *max))
}

/// What every handler gets besides its request.
pub struct RequestContext {
    pub state: Arc<BrokerState>,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
}

/// Handles one frame body (the bytes after the length prefix).
pub async fn dispatch(state: &Arc<BrokerState>, body: Bytes) -> ConnectionAction {
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
    let supported = supported_versions(api_key);
    let in_range = supported.is_some_and(|(min, max)| (min..=max).contains(&version));
    if !in_range {
        if api_key == ApiKey::ApiVersions {
            // KIP-511: answer an unknown ApiVersions version with a v0 body
            // listing our ranges so that newer clients can downgrade.
            return ConnectionAction::Write(handlers::api_versions::unsupported_version_frame(
                prefix.correlation_id,
            ));
        }
        return ConnectionAction::Close(match supported {
            Some((min, max)) => {
                format!("{api_key:?} v{version} is not supported (v{min}-v{max} are)")
            }
            None => format!("{api_key:?} is not supported"),
        });
    }
    if let Err(e) = bounds::check_request(prefix.api_key, version, &body) {
        return ConnectionAction::Close(format!("malformed {api_key:?} v{version} request: {e}"));
    }
    let mut buf = body;
    let header = match RequestHeader::decode(&mut buf, api_key.request_header_version(version)) {
        Ok(h) => h,
        Err(e) => {
            return ConnectionAction::Close(format!("malformed {api_key:?} v{version} header: {e}"))
        }
    };
    let ctx = RequestContext {
        state: Arc::clone(state),
        api_version: version,
        correlation_id: header.correlation_id,
        client_id: header.client_id.as_ref().map(|s| s.to_string()),
    };
    let span = tracing::debug_span!(
        "request",
        api = ?api_key,
        version,
        correlation_id = ctx.correlation_id,
        client_id = ctx.client_id.as_deref().unwrap_or(""),
    );
    route(api_key, ctx, buf).instrument(span).await
}

async fn route(api_key: ApiKey, ctx: RequestContext, mut buf: Bytes) -> ConnectionAction {
    macro_rules! call {
        ($module:ident, $req:ty) => {{
            let req = match <$req>::decode(&mut buf, ctx.api_version) {
                Ok(r) => r,
                Err(e) => {
                    return ConnectionAction::Close(format!(
                        "malformed {:?} v{} body: {e}",
                        api_key, ctx.api_version
                    ))
                }
            };
            let (version, correlation_id) = (ctx.api_version, ctx.correlation_id);
            match handlers::$module::handle(ctx, req).await {
                HandlerOutput::Respond(resp) => {
                    encode_reply(api_key, version, correlation_id, &resp)
                }
                HandlerOutput::NoResponse => ConnectionAction::NoResponse,
                HandlerOutput::Pending(fut) => ConnectionAction::WritePending(Box::pin(async move {
                    let resp = fut.await;
                    match encode_frame(api_key, version, correlation_id, &resp) {
                        Ok(frame) => frame,
                        // Cannot happen for a version we decoded; an empty
                        // frame makes the client time out rather than misread.
                        Err(e) => {
                            tracing::error!(error = %e, "cannot encode response");
                            BytesMut::new()
                        }
                    }
                })),
            }
        }};
    }
    use kafka_protocol::messages as m;
    match api_key {
        ApiKey::Produce => call!(produce, m::ProduceRequest),
        ApiKey::Fetch => call!(fetch, m::FetchRequest),
        ApiKey::ListOffsets => call!(list_offsets, m::ListOffsetsRequest),
        ApiKey::Metadata => call!(metadata, m::MetadataRequest),
        ApiKey::ApiVersions => call!(api_versions, m::ApiVersionsRequest),
        ApiKey::CreateTopics => call!(create_topics, m::CreateTopicsRequest),
        ApiKey::CreatePartitions => call!(create_partitions, m::CreatePartitionsRequest),
        ApiKey::DescribeConfigs => call!(describe_configs, m::DescribeConfigsRequest),
        ApiKey::DeleteTopics => call!(delete_topics, m::DeleteTopicsRequest),
        ApiKey::DeleteRecords => call!(delete_records, m::DeleteRecordsRequest),
        ApiKey::FindCoordinator => call!(find_coordinator, m::FindCoordinatorRequest),
        ApiKey::JoinGroup => call!(join_group, m::JoinGroupRequest),
        ApiKey::SyncGroup => call!(sync_group, m::SyncGroupRequest),
        ApiKey::Heartbeat => call!(heartbeat, m::HeartbeatRequest),
        ApiKey::LeaveGroup => call!(leave_group, m::LeaveGroupRequest),
        ApiKey::OffsetCommit => call!(offset_commit, m::OffsetCommitRequest),
        ApiKey::OffsetFetch => call!(offset_fetch, m::OffsetFetchRequest),
        ApiKey::ListGroups => call!(list_groups, m::ListGroupsRequest),
        ApiKey::DescribeGroups => call!(describe_groups, m::DescribeGroupsRequest),
        ApiKey::DeleteGroups => call!(delete_groups, m::DeleteGroupsRequest),
        ApiKey::OffsetDelete => call!(offset_delete, m::OffsetDeleteRequest),
        ApiKey::InitProducerId => call!(init_producer_id, m::InitProducerIdRequest),
        ApiKey::AddPartitionsToTxn => call!(add_partitions_to_txn, m::AddPartitionsToTxnRequest),
        ApiKey::AddOffsetsToTxn => call!(add_offsets_to_txn, m::AddOffsetsToTxnRequest),
        ApiKey::EndTxn => call!(end_txn, m::EndTxnRequest),
        ApiKey::TxnOffsetCommit => call!(txn_offset_commit, m::TxnOffsetCommitRequest),
        ApiKey::DescribeProducers => call!(describe_producers, m::DescribeProducersRequest),
        ApiKey::DescribeTransactions => {
            call!(describe_transactions, m::DescribeTransactionsRequest)
        }
        ApiKey::ListTransactions => call!(list_transactions, m::ListTransactionsRequest),
        other => ConnectionAction::Close(format!("{other:?} is not supported")),
    }
}

fn encode_reply<R: Encodable>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    resp: &R,
) -> ConnectionAction {
    match encode_frame(api_key, version, correlation_id, resp) {
        Ok(frame) => ConnectionAction::Write(frame),
        Err(e) => ConnectionAction::Close(format!(
            "cannot encode {api_key:?} v{version} response: {e}"
        )),
    }
}

/// A whole response frame: length prefix, response header, body.
pub fn encode_frame<R: Encodable>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    resp: &R,
) -> Result<BytesMut, String> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = api_key.response_header_version(version);
    let mut frame = BytesMut::with_capacity(64);
    frame.put_i32(0);
    header
        .encode(&mut frame, header_version)
        .map_err(|e| e.to_string())?;
    resp.encode(&mut frame, version)
        .map_err(|e| e.to_string())?;
    let len =
        i32::try_from(frame.len() - 4).map_err(|_| "response larger than 2 GiB".to_string())?;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_advertised_version_has_a_bounds_schema() {
        for (key, min, max) in SUPPORTED {
            for v in *min..=*max {
                assert!(
                    bounds::has_schema(*key as i16, v),
                    "{key:?} v{v} is advertised but the bounds walker has no schema"
                );
            }
        }
    }

    #[test]
    fn advertised_versions_are_within_the_codec() {
        for (key, min, max) in SUPPORTED {
            let codec = key.valid_versions();
            assert!(*min >= codec.min && *max <= codec.max, "{key:?}");
        }
    }
}
