//! OffsetFetch (key 9), v1–v9.
//!
//! Committed offsets of a group, whatever its state (-1 and empty metadata
//! where nothing is committed, also for unknown groups). A null topic list
//! (v2+) asks for every committed offset. v5+ leader epoch; v8+ several
//! groups per request. With `require_stable` (v7+), a partition whose
//! offset an open transaction has committed (TxnOffsetCommit, no marker
//! yet) gets UNSTABLE_OFFSET_COMMIT, so the consumer retries; without it,
//! the last committed offset. The v9 member id and epoch (KIP-848) are not
//! checked.

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{GroupId, OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, NONE};
use crate::group::records::OffsetValue;
use crate::BrokerState;

pub const VERSIONS: (i16, i16) = (1, 9);

pub async fn handle(
    ctx: RequestContext,
    req: OffsetFetchRequest,
) -> HandlerOutput<OffsetFetchResponse> {
    let state = &ctx.state;
    if ctx.api_version >= 8 {
        let groups = req
            .groups
            .iter()
            .map(|g| {
                let topics = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                        .collect::<Vec<_>>()
                });
                let (code, found) =
                    fetch(state, &g.group_id, topics.as_deref(), req.require_stable);
                let topics = found
                    .into_iter()
                    .map(|(name, parts)| {
                        let partitions = parts
                            .into_iter()
                            .map(|(index, v)| {
                                let p = OffsetFetchResponsePartitions::default()
                                    .with_partition_index(index);
                                match v {
                                    Err(code) => p.with_committed_offset(-1).with_error_code(code),
                                    Ok(Some(v)) => p
                                        .with_committed_offset(v.offset)
                                        .with_committed_leader_epoch(v.leader_epoch)
                                        .with_metadata(Some(StrBytes::from_string(v.metadata))),
                                    Ok(None) => p.with_committed_offset(-1),
                                }
                            })
                            .collect();
                        OffsetFetchResponseTopics::default()
                            .with_name(TopicName(StrBytes::from_string(name)))
                            .with_partitions(partitions)
                    })
                    .collect();
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_error_code(code)
                    .with_topics(topics)
            })
            .collect();
        return HandlerOutput::Respond(OffsetFetchResponse::default().with_groups(groups));
    }
    let topics = req.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
            .collect::<Vec<_>>()
    });
    let require_stable = ctx.api_version >= 7 && req.require_stable;
    let (code, found) = fetch(state, &req.group_id, topics.as_deref(), require_stable);
    let with_epoch = ctx.api_version >= 5;
    let topics = found
        .into_iter()
        .map(|(name, parts)| {
            let partitions = parts
                .into_iter()
                .map(|(index, v)| {
                    let p = OffsetFetchResponsePartition::default().with_partition_index(index);
                    match v {
                        Err(code) => p.with_committed_offset(-1).with_error_code(code),
                        Ok(Some(v)) => p
                            .with_committed_offset(v.offset)
                            .with_committed_leader_epoch(if with_epoch {
                                v.leader_epoch
                            } else {
                                -1
                            })
                            .with_metadata(Some(StrBytes::from_string(v.metadata))),
                        Ok(None) => p.with_committed_offset(-1),
                    }
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(StrBytes::from_string(name)))
                .with_partitions(partitions)
        })
        .collect();
    let mut response = OffsetFetchResponse::default().with_topics(topics);
    if ctx.api_version >= 2 {
        response = response.with_error_code(code);
    }
    HandlerOutput::Respond(response)
}

/// One topic's partitions: the committed offset (`None` if nothing is
/// committed), or a per-partition error code.
type Found = (String, Vec<(i32, Result<Option<OffsetValue>, i16>)>);

fn fetch(
    state: &BrokerState,
    group_id: &GroupId,
    topics: Option<&[(String, Vec<i32>)]>,
    require_stable: bool,
) -> (i16, Vec<Found>) {
    match crate::admin::fetch_offsets(state, group_id.as_str(), topics, require_stable) {
        Ok(found) => (
            NONE,
            found
                .into_iter()
                .map(|(topic, parts)| {
                    let parts = parts
                        .into_iter()
                        .map(|(p, v)| (p, v.map_err(|e| e.code())))
                        .collect();
                    (topic, parts)
                })
                .collect(),
        ),
        Err(e) => (e.code(), Vec::new()),
    }
}
