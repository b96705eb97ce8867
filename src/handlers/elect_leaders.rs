//! ElectLeaders (key 43), v0–v2.
//!
//! This node is the only replica, the preferred replica and the leader of
//! every partition, so neither a preferred (0) nor an unclean (1) election
//! has anything to do: each partition named gets ELECTION_NOT_NEEDED, as
//! Kafka's controller answers for a partition that already has its
//! preferred leader (preferred) or any leader (unclean). Unknown topics or
//! partitions: UNKNOWN_TOPIC_OR_PARTITION. A null topic list means every
//! partition, and then, as Kafka, partitions that need no election are left
//! out (each topic is listed with no partitions). Another election type is
//! INVALID_REQUEST for the whole request. v0 has no election type
//! (preferred).

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{ClusterError, ErrorCode};

pub const VERSIONS: (i16, i16) = (0, 2);

const PREFERRED: i8 = 0;
const UNCLEAN: i8 = 1;

pub async fn handle(
    ctx: RequestContext,
    req: ElectLeadersRequest,
) -> HandlerOutput<ElectLeadersResponse> {
    let state = &ctx.state;
    let election_type = if ctx.api_version == 0 {
        PREFERRED
    } else {
        req.election_type
    };
    if election_type != PREFERRED && election_type != UNCLEAN {
        let e = ClusterError::InvalidRequest(format!("Unknown election type {election_type}"));
        let results = req
            .topic_partitions
            .iter()
            .flatten()
            .map(|t| {
                ReplicaElectionResult::default()
                    .with_topic(t.topic.clone())
                    .with_partition_result(t.partitions.iter().map(|p| result(*p, &e)).collect())
            })
            .collect();
        return HandlerOutput::Respond(
            ElectLeadersResponse::default()
                .with_error_code(e.code())
                .with_replica_election_results(results),
        );
    }
    let results = match req.topic_partitions {
        // Every partition needs no election: every topic, none of its partitions.
        None => state
            .metadata
            .topics()
            .iter()
            .map(|meta| {
                ReplicaElectionResult::default()
                    .with_topic(TopicName(StrBytes::from_string(meta.name.clone())))
            })
            .collect(),
        Some(topics) => topics
            .into_iter()
            .map(|t| {
                let meta = state.metadata.topic(t.topic.as_str());
                let partitions = t
                    .partitions
                    .iter()
                    .map(|&p| {
                        let e = match &meta {
                            None => ClusterError::UnknownTopicOrPartition(format!(
                                "No such topic as {}",
                                t.topic.as_str()
                            )),
                            Some(m) if p < 0 || p >= m.partitions => {
                                ClusterError::UnknownTopicOrPartition(format!(
                                    "No such partition as {}-{p}",
                                    t.topic.as_str()
                                ))
                            }
                            Some(_) => ClusterError::ElectionNotNeeded,
                        };
                        result(p, &e)
                    })
                    .collect();
                ReplicaElectionResult::default()
                    .with_topic(t.topic)
                    .with_partition_result(partitions)
            })
            .collect(),
    };
    HandlerOutput::Respond(ElectLeadersResponse::default().with_replica_election_results(results))
}

fn result(partition: i32, e: &ClusterError) -> PartitionResult {
    PartitionResult::default()
        .with_partition_id(partition)
        .with_error_code(e.code())
        .with_error_message(Some(StrBytes::from_string(e.to_string())))
}
