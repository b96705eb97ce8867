//! The one table of APIs Sluice serves, [`API_TABLE`]. ApiVersions lists
//! it, the pipeline routes by it and the request metrics are kept per entry
//! of it, so what is advertised is exactly what is dispatched. Adding an API
//! is one line here plus its handler file (`handlers/<api>.rs` with
//! `VERSIONS` and `handle`); the tests then ask for its row in
//! `docs/protocol-coverage.md` (`coverage_doc.rs`) and for a sample request
//! in `tests/every_version_answers.rs`.
//!
//! Each line names the API key and the handler module; the version range is
//! the handler's own `VERSIONS`, the request and response types are those
//! of its `handle`. A line whose key is not the key of the handler's request
//! type does not compile.

use std::future::Future;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::Request;

use super::output::{encode_output, ConnectionAction};
use super::quota;
use crate::handlers::{self, HandlerOutput, RequestContext, ServedApi};
use crate::quota::throttle::ThrottleTime;

/// Serving one request: decode the body (the bytes after the header), call
/// the handler, encode what it answers.
pub(super) type Serving = Pin<Box<dyn Future<Output = ConnectionAction> + Send + 'static>>;

type Serve = fn(ApiKey, RequestContext, Bytes) -> Serving;

/// One API: its key, the versions served, how a request is served, and the
/// name its metrics are kept under.
pub struct ApiEntry {
    pub key: ApiKey,
    pub min_version: i16,
    pub max_version: i16,
    /// Kafka's name of the API (`Produce`, `ListOffsets`), for metrics.
    pub name: &'static str,
    serve: Serve,
}

impl ApiEntry {
    /// The versions served, both ends included.
    pub fn versions(&self) -> RangeInclusive<i16> {
        self.min_version..=self.max_version
    }

    /// Decodes the body at `ctx.api_version`, calls the handler, encodes.
    pub(super) fn serve(&self, ctx: RequestContext, body: Bytes) -> Serving {
        (self.serve)(self.key, ctx, body)
    }
}

/// The request type's api key, read off a handler's signature at compile
/// time (the handler is never called here).
const fn request_key<Req, Fut, F>(_handle: &F) -> i16
where
    Req: Request,
    F: Fn(RequestContext, Req) -> Fut,
    Fut: Future<Output = HandlerOutput<Req::Response>>,
{
    Req::KEY
}

/// Decode, handle, encode: the last stage of the pipeline for one API.
async fn serve<Req, Fut, F>(
    api_key: ApiKey,
    ctx: RequestContext,
    mut body: Bytes,
    handle: F,
) -> ConnectionAction
where
    Req: Request,
    Req::Response: ThrottleTime + Send + 'static,
    F: Fn(RequestContext, Req) -> Fut,
    Fut: Future<Output = HandlerOutput<Req::Response>>,
{
    let version = ctx.api_version;
    let req = match Req::decode(&mut body, version) {
        Ok(req) => req,
        Err(e) => {
            return ConnectionAction::Close(format!("malformed {api_key:?} v{version} body: {e}"))
        }
    };
    let correlation_id = ctx.correlation_id;
    let session = Arc::clone(&ctx.session);
    let quotas_set = ctx.state.metadata.client_quotas().any_enabled();
    let timing = quota::RequestTime::start(&ctx);
    let output = handle(ctx, req).await;
    let request_throttle = timing.map_or(0, |t| t.finish(&session));
    let output = quota::apply(output, request_throttle, session, quotas_set);
    encode_output(api_key, version, correlation_id, output)
}

/// One table line: `api!(Key, handler_module)`.
macro_rules! api {
    ($key:ident, $handler:ident) => {
        ApiEntry {
            key: {
                assert!(
                    ApiKey::$key as i16 == request_key(&handlers::$handler::handle),
                    concat!(
                        "ApiKey::",
                        stringify!($key),
                        " is not the key of handlers::",
                        stringify!($handler),
                        "'s request type"
                    )
                );
                ApiKey::$key
            },
            min_version: handlers::$handler::VERSIONS.0,
            max_version: handlers::$handler::VERSIONS.1,
            name: stringify!($key),
            serve: |key, ctx, body| Box::pin(serve(key, ctx, body, handlers::$handler::handle)),
        }
    };
}

/// Every API Sluice serves, in api key order.
#[rustfmt::skip]
pub static API_TABLE: &[ApiEntry] = &[
    api!(Produce, produce),
    api!(Fetch, fetch),
    api!(ListOffsets, list_offsets),
    api!(Metadata, metadata),
    api!(OffsetCommit, offset_commit),
    api!(OffsetFetch, offset_fetch),
    api!(FindCoordinator, find_coordinator),
    api!(JoinGroup, join_group),
    api!(Heartbeat, heartbeat),
    api!(LeaveGroup, leave_group),
    api!(SyncGroup, sync_group),
    api!(DescribeGroups, describe_groups),
    api!(ListGroups, list_groups),
    api!(ApiVersions, api_versions),
    api!(CreateTopics, create_topics),
    api!(DeleteTopics, delete_topics),
    api!(DeleteRecords, delete_records),
    api!(InitProducerId, init_producer_id),
    api!(OffsetForLeaderEpoch, offset_for_leader_epoch),
    api!(AddPartitionsToTxn, add_partitions_to_txn),
    api!(AddOffsetsToTxn, add_offsets_to_txn),
    api!(EndTxn, end_txn),
    api!(TxnOffsetCommit, txn_offset_commit),
    api!(DescribeConfigs, describe_configs),
    api!(AlterConfigs, alter_configs),
    api!(DescribeLogDirs, describe_log_dirs),
    api!(CreatePartitions, create_partitions),
    api!(DeleteGroups, delete_groups),
    api!(ElectLeaders, elect_leaders),
    api!(IncrementalAlterConfigs, incremental_alter_configs),
    api!(AlterPartitionReassignments, alter_partition_reassignments),
    api!(ListPartitionReassignments, list_partition_reassignments),
    api!(OffsetDelete, offset_delete),
    api!(DescribeClientQuotas, describe_client_quotas),
    api!(AlterClientQuotas, alter_client_quotas),
    api!(UpdateFeatures, update_features),
    api!(DescribeCluster, describe_cluster),
    api!(DescribeProducers, describe_producers),
    api!(DescribeTransactions, describe_transactions),
    api!(ListTransactions, list_transactions),
    api!(DescribeTopicPartitions, describe_topic_partitions),
];

/// The table entry for `key` and its index (where its metrics are kept).
pub fn find(key: ApiKey) -> Option<(usize, &'static ApiEntry)> {
    API_TABLE.iter().enumerate().find(|(_, e)| e.key == key)
}

/// Every API of the table as ApiVersions lists it (built once).
pub fn served_apis() -> &'static [ServedApi] {
    static SERVED: std::sync::LazyLock<Vec<ServedApi>> = std::sync::LazyLock::new(|| {
        API_TABLE
            .iter()
            .map(|api| ServedApi {
                key: api.key,
                min_version: api.min_version,
                max_version: api.max_version,
            })
            .collect()
    });
    &SERVED
}

/// The KIP-511 fallback frame for an ApiVersions version we do not serve:
/// header v0, v0 body listing the table, UNSUPPORTED_VERSION.
pub fn unsupported_api_versions_frame(correlation_id: i32) -> bytes::BytesMut {
    let resp = handlers::api_versions::listing(
        served_apis(),
        crate::error::request::unsupported_version(),
    );
    super::encode_frame(ApiKey::ApiVersions, 0, correlation_id, &resp).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use sluice_protocol::bounds;

    use super::*;

    #[test]
    fn every_advertised_version_has_a_bounds_schema() {
        for e in API_TABLE {
            for v in e.versions() {
                assert!(
                    bounds::has_schema(e.key as i16, v),
                    "{:?} v{v} is advertised but the bounds walker has no schema",
                    e.key
                );
            }
        }
    }

    #[test]
    fn advertised_versions_are_within_the_codec() {
        for e in API_TABLE {
            let codec = e.key.valid_versions();
            assert!(
                e.min_version <= e.max_version
                    && e.min_version >= codec.min
                    && e.max_version <= codec.max,
                "{:?}",
                e.key
            );
        }
    }

    #[test]
    fn each_api_appears_once_in_key_order() {
        for pair in API_TABLE.windows(2) {
            assert!(
                (pair[0].key as i16) < (pair[1].key as i16),
                "{:?} before {:?}",
                pair[0].key,
                pair[1].key
            );
        }
    }

    #[test]
    fn metric_names_are_kafka_api_names() {
        for e in API_TABLE {
            assert_eq!(e.name, format!("{:?}", e.key));
        }
    }

    #[test]
    fn api_versions_lists_the_table() {
        let listed: Vec<(i16, i16, i16)> = handlers::api_versions::listing(served_apis(), 0)
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        let table: Vec<(i16, i16, i16)> = API_TABLE
            .iter()
            .map(|api| (api.key as i16, api.min_version, api.max_version))
            .collect();
        assert_eq!(listed, table);
    }
}
