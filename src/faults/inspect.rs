//! What fault injection reads from requests and responses: the topics,
//! partitions, groups and transactional id a decoded request names (for
//! the rules' filters), the error answer of a request (for `error`
//! rules), and a response's error code (for the request log).
//!
//! The body is decoded a second time here (the handler decodes its own):
//! only when fault injection is on and a rule for the API filters on
//! what the body holds. The bounds walk has already passed it.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::add_partitions_to_txn_response::*;
use kafka_protocol::messages::create_topics_response::*;
use kafka_protocol::messages::delete_topics_response::*;
use kafka_protocol::messages::describe_groups_response::*;
use kafka_protocol::messages::fetch_response::FetchableTopicResponse;
use kafka_protocol::messages::find_coordinator_response::*;
use kafka_protocol::messages::list_offsets_response::*;
use kafka_protocol::messages::metadata_response::*;
use kafka_protocol::messages::offset_commit_response::*;
use kafka_protocol::messages::offset_fetch_response::*;
use kafka_protocol::messages::produce_response::*;
use kafka_protocol::messages::txn_offset_commit_response::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};
use uuid::Uuid;

/// What a request names, as far as a rule can filter on it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    /// Topics and the partitions named of each (empty: the whole topic).
    pub topics: Vec<(String, Vec<i32>)>,
    pub groups: Vec<String>,
    pub transactional_id: Option<String>,
}

/// Decodes the request body (after the header).
pub(super) fn decode(api_key: ApiKey, version: i16, body: &Bytes) -> Result<RequestKind, String> {
    let mut buf = body.clone();
    RequestKind::decode(api_key, &mut buf, version).map_err(|e| e.to_string())
}

/// What `req` names; topic ids are resolved with `name_of`.
pub(super) fn facts(req: &RequestKind, name_of: &dyn Fn(&Uuid) -> Option<String>) -> RequestFacts {
    let mut f = RequestFacts::default();
    let topic = |name: &TopicName, id: &Uuid| -> String {
        if name.is_empty() {
            name_of(id).unwrap_or_default()
        } else {
            name.to_string()
        }
    };
    match req {
        RequestKind::Produce(r) => {
            f.transactional_id = r.transactional_id.as_ref().map(|t| t.to_string());
            for t in &r.topic_data {
                let ps = t.partition_data.iter().map(|p| p.index).collect();
                f.topics.push((topic(&t.name, &t.topic_id), ps));
            }
        }
        RequestKind::Fetch(r) => {
            for t in &r.topics {
                let ps = t.partitions.iter().map(|p| p.partition).collect();
                f.topics.push((topic(&t.topic, &t.topic_id), ps));
            }
        }
        RequestKind::ListOffsets(r) => {
            for t in &r.topics {
                let ps = t.partitions.iter().map(|p| p.partition_index).collect();
                f.topics.push((t.name.to_string(), ps));
            }
        }
        RequestKind::Metadata(r) => {
            for t in r.topics.iter().flatten() {
                let name = match &t.name {
                    Some(n) => n.to_string(),
                    None => name_of(&t.topic_id).unwrap_or_default(),
                };
                f.topics.push((name, Vec::new()));
            }
        }
        RequestKind::OffsetCommit(r) => {
            f.groups.push(r.group_id.to_string());
            for t in &r.topics {
                let ps = t.partitions.iter().map(|p| p.partition_index).collect();
                f.topics.push((topic(&t.name, &t.topic_id), ps));
            }
        }
        RequestKind::OffsetFetch(r) => {
            if r.groups.is_empty() {
                f.groups.push(r.group_id.to_string());
                for t in r.topics.iter().flatten() {
                    f.topics
                        .push((t.name.to_string(), t.partition_indexes.clone()));
                }
            }
            for g in &r.groups {
                f.groups.push(g.group_id.to_string());
                for t in g.topics.iter().flatten() {
                    f.topics
                        .push((topic(&t.name, &t.topic_id), t.partition_indexes.clone()));
                }
            }
        }
        RequestKind::FindCoordinator(r) => {
            let mut keys: Vec<String> = r.coordinator_keys.iter().map(|k| k.to_string()).collect();
            if keys.is_empty() {
                keys.push(r.key.to_string());
            }
            if r.key_type == 1 {
                f.transactional_id = keys.into_iter().next();
            } else {
                f.groups = keys;
            }
        }
        RequestKind::JoinGroup(r) => f.groups.push(r.group_id.to_string()),
        RequestKind::Heartbeat(r) => f.groups.push(r.group_id.to_string()),
        RequestKind::LeaveGroup(r) => f.groups.push(r.group_id.to_string()),
        RequestKind::SyncGroup(r) => f.groups.push(r.group_id.to_string()),
        RequestKind::DescribeGroups(r) => {
            f.groups = r.groups.iter().map(|g| g.to_string()).collect();
        }
        RequestKind::DeleteGroups(r) => {
            f.groups = r.groups_names.iter().map(|g| g.to_string()).collect();
        }
        RequestKind::OffsetDelete(r) => {
            f.groups.push(r.group_id.to_string());
            for t in &r.topics {
                let ps = t.partitions.iter().map(|p| p.partition_index).collect();
                f.topics.push((t.name.to_string(), ps));
            }
        }
        RequestKind::InitProducerId(r) => {
            f.transactional_id = r.transactional_id.as_ref().map(|t| t.to_string());
        }
        RequestKind::AddPartitionsToTxn(r) => {
            if r.transactions.is_empty() {
                f.transactional_id = Some(r.v3_and_below_transactional_id.to_string());
                for t in &r.v3_and_below_topics {
                    f.topics.push((t.name.to_string(), t.partitions.clone()));
                }
            }
            for txn in &r.transactions {
                f.transactional_id
                    .get_or_insert_with(|| txn.transactional_id.to_string());
                for t in &txn.topics {
                    f.topics.push((t.name.to_string(), t.partitions.clone()));
                }
            }
        }
        RequestKind::AddOffsetsToTxn(r) => {
            f.transactional_id = Some(r.transactional_id.to_string());
            f.groups.push(r.group_id.to_string());
        }
        RequestKind::EndTxn(r) => f.transactional_id = Some(r.transactional_id.to_string()),
        RequestKind::TxnOffsetCommit(r) => {
            f.transactional_id = Some(r.transactional_id.to_string());
            f.groups.push(r.group_id.to_string());
            for t in &r.topics {
                let ps = t.partitions.iter().map(|p| p.partition_index).collect();
                f.topics.push((t.name.to_string(), ps));
            }
        }
        RequestKind::CreateTopics(r) => {
            for t in &r.topics {
                f.topics.push((t.name.to_string(), Vec::new()));
            }
        }
        RequestKind::DeleteTopics(r) => {
            for t in &r.topic_names {
                f.topics.push((t.to_string(), Vec::new()));
            }
            for t in &r.topics {
                let name = match &t.name {
                    Some(n) => n.to_string(),
                    None => name_of(&t.topic_id).unwrap_or_default(),
                };
                f.topics.push((name, Vec::new()));
            }
        }
        RequestKind::DeleteRecords(r) => {
            for t in &r.topics {
                let ps = t.partitions.iter().map(|p| p.partition_index).collect();
                f.topics.push((t.name.to_string(), ps));
            }
        }
        RequestKind::CreatePartitions(r) => {
            for t in &r.topics {
                f.topics.push((t.name.to_string(), Vec::new()));
            }
        }
        RequestKind::OffsetForLeaderEpoch(r) => {
            for t in &r.topics {
                let ps = t.partitions.iter().map(|p| p.partition).collect();
                f.topics.push((t.topic.to_string(), ps));
            }
        }
        RequestKind::DescribeProducers(r) => {
            for t in &r.topics {
                f.topics
                    .push((t.name.to_string(), t.partition_indexes.clone()));
            }
        }
        RequestKind::DescribeTransactions(r) => {
            f.transactional_id = r.transactional_ids.first().map(|t| t.to_string());
        }
        _ => {}
    }
    f
}

/// The APIs an `error` rule can answer for.
pub const ERROR_APIS: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::SyncGroup,
    ApiKey::DescribeGroups,
    ApiKey::ListGroups,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::InitProducerId,
    ApiKey::AddPartitionsToTxn,
    ApiKey::AddOffsetsToTxn,
    ApiKey::EndTxn,
    ApiKey::TxnOffsetCommit,
];

/// Whether an `error` rule can answer requests of `api`.
pub fn answers_errors(api: ApiKey) -> bool {
    ERROR_APIS.contains(&api)
}

/// The response to `req` carrying `code` in every place it names (per
/// partition, per topic, per group, or at the top level).
pub(super) fn error_response(req: &RequestKind, version: i16, code: i16) -> Option<ResponseKind> {
    let resp = match req {
        RequestKind::Produce(r) => ResponseKind::Produce(
            ProduceResponse::default().with_responses(
                r.topic_data
                    .iter()
                    .map(|t| {
                        TopicProduceResponse::default()
                            .with_name(t.name.clone())
                            .with_topic_id(t.topic_id)
                            .with_partition_responses(
                                t.partition_data
                                    .iter()
                                    .map(|p| {
                                        PartitionProduceResponse::default()
                                            .with_index(p.index)
                                            .with_error_code(code)
                                            .with_base_offset(-1)
                                            .with_log_append_time_ms(-1)
                                            .with_log_start_offset(-1)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        RequestKind::Fetch(r) => ResponseKind::Fetch(
            FetchResponse::default().with_session_id(0).with_responses(
                r.topics
                    .iter()
                    .map(|t| {
                        FetchableTopicResponse::default()
                            .with_topic(t.topic.clone())
                            .with_topic_id(t.topic_id)
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        fetch_response::PartitionData::default()
                                            .with_partition_index(p.partition)
                                            .with_error_code(code)
                                            .with_high_watermark(-1)
                                            .with_last_stable_offset(-1)
                                            .with_log_start_offset(-1)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        RequestKind::ListOffsets(r) => ResponseKind::ListOffsets(
            ListOffsetsResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        ListOffsetsTopicResponse::default()
                            .with_name(t.name.clone())
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        ListOffsetsPartitionResponse::default()
                                            .with_partition_index(p.partition_index)
                                            .with_error_code(code)
                                            .with_timestamp(-1)
                                            .with_offset(-1)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        RequestKind::Metadata(r) => {
            // Per topic named; a request for every topic gets the error
            // at the top level (v13+ has one; earlier versions cannot
            // carry it without a topic to hang it on).
            let topics: Vec<MetadataResponseTopic> = r
                .topics
                .iter()
                .flatten()
                .map(|t| {
                    MetadataResponseTopic::default()
                        .with_name(t.name.clone())
                        .with_topic_id(t.topic_id)
                        .with_error_code(code)
                })
                .collect();
            let mut resp = MetadataResponse::default()
                .with_controller_id(BrokerId(-1))
                .with_topics(topics);
            if version >= 13 {
                resp.error_code = code;
            }
            ResponseKind::Metadata(resp)
        }
        RequestKind::OffsetCommit(r) => ResponseKind::OffsetCommit(
            OffsetCommitResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        OffsetCommitResponseTopic::default()
                            .with_name(t.name.clone())
                            .with_topic_id(t.topic_id)
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        OffsetCommitResponsePartition::default()
                                            .with_partition_index(p.partition_index)
                                            .with_error_code(code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        RequestKind::OffsetFetch(r) => {
            let mut resp = OffsetFetchResponse::default();
            if version >= 8 {
                resp.groups = r
                    .groups
                    .iter()
                    .map(|g| {
                        OffsetFetchResponseGroup::default()
                            .with_group_id(g.group_id.clone())
                            .with_error_code(code)
                    })
                    .collect();
            } else {
                resp.error_code = code;
                resp.topics = r
                    .topics
                    .iter()
                    .flatten()
                    .map(|t| {
                        OffsetFetchResponseTopic::default()
                            .with_name(t.name.clone())
                            .with_partitions(
                                t.partition_indexes
                                    .iter()
                                    .map(|&p| {
                                        OffsetFetchResponsePartition::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(-1)
                                            .with_committed_leader_epoch(-1)
                                            .with_error_code(code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
            }
            ResponseKind::OffsetFetch(resp)
        }
        RequestKind::FindCoordinator(r) => {
            let mut resp = FindCoordinatorResponse::default()
                .with_node_id(BrokerId(-1))
                .with_port(-1);
            if version >= 4 {
                resp.coordinators = r
                    .coordinator_keys
                    .iter()
                    .map(|k| {
                        Coordinator::default()
                            .with_key(k.clone())
                            .with_node_id(BrokerId(-1))
                            .with_port(-1)
                            .with_error_code(code)
                    })
                    .collect();
            } else {
                resp.error_code = code;
            }
            ResponseKind::FindCoordinator(resp)
        }
        RequestKind::JoinGroup(r) => ResponseKind::JoinGroup(
            JoinGroupResponse::default()
                .with_error_code(code)
                .with_generation_id(-1)
                .with_member_id(r.member_id.clone()),
        ),
        RequestKind::Heartbeat(_) => {
            ResponseKind::Heartbeat(HeartbeatResponse::default().with_error_code(code))
        }
        RequestKind::LeaveGroup(_) => {
            ResponseKind::LeaveGroup(LeaveGroupResponse::default().with_error_code(code))
        }
        RequestKind::SyncGroup(_) => {
            ResponseKind::SyncGroup(SyncGroupResponse::default().with_error_code(code))
        }
        RequestKind::DescribeGroups(r) => ResponseKind::DescribeGroups(
            DescribeGroupsResponse::default().with_groups(
                r.groups
                    .iter()
                    .map(|g| {
                        DescribedGroup::default()
                            .with_group_id(g.clone())
                            .with_error_code(code)
                    })
                    .collect(),
            ),
        ),
        RequestKind::ListGroups(_) => {
            ResponseKind::ListGroups(ListGroupsResponse::default().with_error_code(code))
        }
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(
            CreateTopicsResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        CreatableTopicResult::default()
                            .with_name(t.name.clone())
                            .with_error_code(code)
                            .with_num_partitions(-1)
                            .with_replication_factor(-1)
                    })
                    .collect(),
            ),
        ),
        RequestKind::DeleteTopics(r) => {
            let mut results: Vec<DeletableTopicResult> = r
                .topic_names
                .iter()
                .map(|n| {
                    DeletableTopicResult::default()
                        .with_name(Some(n.clone()))
                        .with_error_code(code)
                })
                .collect();
            results.extend(r.topics.iter().map(|t| {
                DeletableTopicResult::default()
                    .with_name(t.name.clone())
                    .with_topic_id(t.topic_id)
                    .with_error_code(code)
            }));
            ResponseKind::DeleteTopics(DeleteTopicsResponse::default().with_responses(results))
        }
        RequestKind::InitProducerId(_) => ResponseKind::InitProducerId(
            InitProducerIdResponse::default()
                .with_error_code(code)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        ),
        RequestKind::AddPartitionsToTxn(r) => {
            let results = |topics: &[add_partitions_to_txn_request::AddPartitionsToTxnTopic]| {
                topics
                    .iter()
                    .map(|t| {
                        AddPartitionsToTxnTopicResult::default()
                            .with_name(t.name.clone())
                            .with_results_by_partition(
                                t.partitions
                                    .iter()
                                    .map(|&p| {
                                        AddPartitionsToTxnPartitionResult::default()
                                            .with_partition_index(p)
                                            .with_partition_error_code(code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect::<Vec<_>>()
            };
            let mut resp = AddPartitionsToTxnResponse::default();
            if version >= 4 {
                resp.error_code = code;
                resp.results_by_transaction = r
                    .transactions
                    .iter()
                    .map(|t| {
                        AddPartitionsToTxnResult::default()
                            .with_transactional_id(t.transactional_id.clone())
                            .with_topic_results(results(&t.topics))
                    })
                    .collect();
            } else {
                resp.results_by_topic_v3_and_below = results(&r.v3_and_below_topics);
            }
            ResponseKind::AddPartitionsToTxn(resp)
        }
        RequestKind::AddOffsetsToTxn(_) => {
            ResponseKind::AddOffsetsToTxn(AddOffsetsToTxnResponse::default().with_error_code(code))
        }
        RequestKind::EndTxn(_) => ResponseKind::EndTxn(
            EndTxnResponse::default()
                .with_error_code(code)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        ),
        RequestKind::TxnOffsetCommit(r) => ResponseKind::TxnOffsetCommit(
            TxnOffsetCommitResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        TxnOffsetCommitResponseTopic::default()
                            .with_name(t.name.clone())
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        TxnOffsetCommitResponsePartition::default()
                                            .with_partition_index(p.partition_index)
                                            .with_error_code(code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        _ => return None,
    };
    Some(resp)
}

/// A whole response frame (length, header, body) for `resp`.
pub(super) fn encode_frame(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    resp: &ResponseKind,
) -> Result<BytesMut, String> {
    let mut frame = BytesMut::with_capacity(64);
    frame.extend_from_slice(&[0; 4]);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut frame, api_key.response_header_version(version))
        .map_err(|e| e.to_string())?;
    resp.encode(&mut frame, version)
        .map_err(|e| e.to_string())?;
    let len = i32::try_from(frame.len() - 4).map_err(|_| "response too large".to_string())?;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    Ok(frame)
}

/// The error code of an encoded response frame: the top-level one, or the
/// first non-zero one inside (0 if none; None if the frame cannot be read).
pub(super) fn frame_error(api_key: ApiKey, version: i16, frame: &[u8]) -> Option<i16> {
    let mut buf = Bytes::copy_from_slice(frame.get(4..)?);
    ResponseHeader::decode(&mut buf, api_key.response_header_version(version)).ok()?;
    let resp = ResponseKind::decode(api_key, &mut buf, version).ok()?;
    Some(first_error(&resp))
}

/// The top-level error, else the first non-zero error inside, else 0.
fn first_error(resp: &ResponseKind) -> i16 {
    fn first(codes: impl IntoIterator<Item = i16>) -> i16 {
        codes.into_iter().find(|&c| c != 0).unwrap_or(0)
    }
    match resp {
        ResponseKind::Produce(r) => first(
            r.responses
                .iter()
                .flat_map(|t| t.partition_responses.iter().map(|p| p.error_code)),
        ),
        ResponseKind::Fetch(r) => first(
            std::iter::once(r.error_code).chain(
                r.responses
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            ),
        ),
        ResponseKind::ListOffsets(r) => first(
            r.topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
        ),
        ResponseKind::Metadata(r) => first(std::iter::once(r.error_code).chain(
            r.topics.iter().flat_map(|t| {
                std::iter::once(t.error_code).chain(t.partitions.iter().map(|p| p.error_code))
            }),
        )),
        ResponseKind::OffsetCommit(r) => first(
            r.topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
        ),
        ResponseKind::OffsetFetch(r) => first(
            std::iter::once(r.error_code)
                .chain(
                    r.topics
                        .iter()
                        .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
                )
                .chain(r.groups.iter().flat_map(|g| {
                    std::iter::once(g.error_code).chain(
                        g.topics
                            .iter()
                            .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
                    )
                })),
        ),
        ResponseKind::FindCoordinator(r) => {
            first(std::iter::once(r.error_code).chain(r.coordinators.iter().map(|c| c.error_code)))
        }
        ResponseKind::JoinGroup(r) => r.error_code,
        ResponseKind::Heartbeat(r) => r.error_code,
        ResponseKind::LeaveGroup(r) => {
            first(std::iter::once(r.error_code).chain(r.members.iter().map(|m| m.error_code)))
        }
        ResponseKind::SyncGroup(r) => r.error_code,
        ResponseKind::DescribeGroups(r) => first(r.groups.iter().map(|g| g.error_code)),
        ResponseKind::ListGroups(r) => r.error_code,
        ResponseKind::ApiVersions(r) => r.error_code,
        ResponseKind::CreateTopics(r) => first(r.topics.iter().map(|t| t.error_code)),
        ResponseKind::DeleteTopics(r) => first(r.responses.iter().map(|t| t.error_code)),
        ResponseKind::DeleteRecords(r) => first(
            r.topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
        ),
        ResponseKind::InitProducerId(r) => r.error_code,
        ResponseKind::AddPartitionsToTxn(r) => first(
            std::iter::once(r.error_code)
                .chain(r.results_by_topic_v3_and_below.iter().flat_map(|t| {
                    t.results_by_partition
                        .iter()
                        .map(|p| p.partition_error_code)
                }))
                .chain(r.results_by_transaction.iter().flat_map(|x| {
                    x.topic_results.iter().flat_map(|t| {
                        t.results_by_partition
                            .iter()
                            .map(|p| p.partition_error_code)
                    })
                })),
        ),
        ResponseKind::AddOffsetsToTxn(r) => r.error_code,
        ResponseKind::EndTxn(r) => r.error_code,
        ResponseKind::TxnOffsetCommit(r) => first(
            r.topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
        ),
        ResponseKind::DescribeConfigs(r) => first(r.results.iter().map(|x| x.error_code)),
        ResponseKind::AlterConfigs(r) => first(r.responses.iter().map(|x| x.error_code)),
        ResponseKind::IncrementalAlterConfigs(r) => first(r.responses.iter().map(|x| x.error_code)),
        ResponseKind::CreatePartitions(r) => first(r.results.iter().map(|x| x.error_code)),
        ResponseKind::DeleteGroups(r) => first(r.results.iter().map(|x| x.error_code)),
        ResponseKind::OffsetDelete(r) => first(
            std::iter::once(r.error_code).chain(
                r.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            ),
        ),
        ResponseKind::OffsetForLeaderEpoch(r) => first(
            r.topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
        ),
        ResponseKind::DescribeCluster(r) => r.error_code,
        ResponseKind::ListTransactions(r) => r.error_code,
        ResponseKind::DescribeTransactions(r) => {
            first(r.transaction_states.iter().map(|x| x.error_code))
        }
        ResponseKind::DescribeProducers(r) => first(
            r.topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
        ),
        ResponseKind::ElectLeaders(r) => r.error_code,
        ResponseKind::UpdateFeatures(r) => r.error_code,
        ResponseKind::DescribeClientQuotas(r) => r.error_code,
        ResponseKind::AlterClientQuotas(r) => first(r.entries.iter().map(|x| x.error_code)),
        ResponseKind::ListPartitionReassignments(r) => r.error_code,
        ResponseKind::AlterPartitionReassignments(r) => r.error_code,
        ResponseKind::DescribeLogDirs(r) => {
            first(std::iter::once(r.error_code).chain(r.results.iter().map(|x| x.error_code)))
        }
        ResponseKind::DescribeTopicPartitions(r) => first(r.topics.iter().map(|t| t.error_code)),
        _ => 0,
    }
}
