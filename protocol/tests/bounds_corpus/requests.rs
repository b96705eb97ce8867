//! One builder per covered API: `build(version, nulls)` fills every field with
//! a non-default value (the `fill!` macro drops what the version cannot carry).

use bytes::Bytes;
use kafka_protocol::messages::*;
use uuid::Uuid;

use super::{api, api_upto, fill, s, tags, unless, ApiSamples};

pub fn all() -> Vec<ApiSamples> {
    vec![
        api(0, produce),
        api(1, fetch),
        api(2, list_offsets),
        api(3, metadata),
        api(8, offset_commit),
        api(9, offset_fetch),
        api(10, find_coordinator),
        api(11, join_group),
        api(12, heartbeat),
        api(13, leave_group),
        api(14, sync_group),
        api(15, describe_groups),
        api(16, list_groups),
        api(18, api_versions),
        api(19, create_topics),
        api(20, delete_topics),
        api(21, delete_records),
        api(22, init_producer_id),
        api(32, describe_configs),
        api(33, alter_configs),
        api(44, incremental_alter_configs),
        api(37, create_partitions),
        api(42, delete_groups),
        api(47, offset_delete),
        api(48, describe_client_quotas),
        api(49, alter_client_quotas),
        api_upto(24, 3, add_partitions_to_txn),
        api_upto(25, 4, add_offsets_to_txn),
        api_upto(26, 4, end_txn),
        api_upto(28, 4, txn_offset_commit),
        api(61, describe_producers),
        api(65, describe_transactions),
        api_upto(66, 1, list_transactions),
        api(23, offset_for_leader_epoch),
        api(35, describe_log_dirs),
        api(43, elect_leaders),
        api(45, alter_partition_reassignments),
        api(46, list_partition_reassignments),
        api(57, update_features),
        api(60, describe_cluster),
        api(75, describe_topic_partitions),
    ]
}

fn topic(i: u8) -> TopicName {
    TopicName(s(&format!("topic-{i}")))
}

fn group(i: u8) -> GroupId {
    GroupId(s(&format!("group-{i}")))
}

fn uuid(i: u8) -> Uuid {
    Uuid::from_u128(0x0123_4567_89ab_cdef_0000_0000_0000_0000 | (u128::from(i) + 1))
}

fn two<T>(make: impl Fn(u8) -> T) -> Vec<T> {
    vec![make(0), make(1)]
}

fn produce(v: i16, nulls: bool) -> ProduceRequest {
    use produce_request::*;
    let partition = |i: u8| {
        fill!(
            v,
            PartitionProduceData {
                index: i32::from(i) + 1,
                records: unless(nulls, Bytes::from_static(b"opaque record batch bytes")),
                unknown_tagged_fields: tags(),
            }
        )
    };
    let topic_data = |i: u8| {
        fill!(
            v,
            TopicProduceData {
                name: topic(i),
                topic_id: uuid(i),
                partition_data: two(partition),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        ProduceRequest {
            transactional_id: unless(nulls, TransactionalId(s("txn"))),
            acks: -1,
            timeout_ms: 30_000,
            topic_data: two(topic_data),
            unknown_tagged_fields: tags(),
        }
    )
}

fn fetch(v: i16, nulls: bool) -> FetchRequest {
    use fetch_request::*;
    let partition = |i: u8| {
        fill!(
            v,
            FetchPartition {
                partition: i32::from(i) + 1,
                current_leader_epoch: 3,
                fetch_offset: 1_000,
                last_fetched_epoch: 2,
                log_start_offset: 10,
                partition_max_bytes: 1 << 20,
                replica_directory_id: uuid(i),
                high_watermark: 5_000,
                unknown_tagged_fields: tags(),
            }
        )
    };
    let fetch_topic = |i: u8| {
        fill!(
            v,
            FetchTopic {
                topic: topic(i),
                topic_id: uuid(i),
                partitions: two(partition),
                unknown_tagged_fields: tags(),
            }
        )
    };
    let forgotten = |i: u8| {
        fill!(
            v,
            ForgottenTopic {
                topic: topic(i),
                topic_id: uuid(i),
                partitions: vec![7, 8],
                unknown_tagged_fields: tags(),
            }
        )
    };
    let replica_state = fill!(
        v,
        ReplicaState {
            replica_id: BrokerId(4),
            replica_epoch: 9,
            unknown_tagged_fields: tags(),
        }
    );
    fill!(
        v,
        FetchRequest {
            cluster_id: unless(nulls, s("cluster")),
            replica_id: BrokerId(4),
            replica_state: replica_state,
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 1 << 24,
            isolation_level: 1,
            session_id: 77,
            session_epoch: 3,
            topics: two(fetch_topic),
            forgotten_topics_data: two(forgotten),
            rack_id: s("rack-a"),
            unknown_tagged_fields: tags(),
        }
    )
}

fn list_offsets(v: i16, _nulls: bool) -> ListOffsetsRequest {
    use list_offsets_request::*;
    let partition = |i: u8| {
        fill!(
            v,
            ListOffsetsPartition {
                partition_index: i32::from(i) + 1,
                current_leader_epoch: 3,
                timestamp: -2,
                unknown_tagged_fields: tags(),
            }
        )
    };
    let list_topic = |i: u8| {
        fill!(
            v,
            ListOffsetsTopic {
                name: topic(i),
                partitions: two(partition),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        ListOffsetsRequest {
            replica_id: BrokerId(3),
            isolation_level: 1,
            topics: two(list_topic),
            timeout_ms: 1_500,
            unknown_tagged_fields: tags(),
        }
    )
}

fn metadata(v: i16, nulls: bool) -> MetadataRequest {
    use metadata_request::*;
    let metadata_topic = |i: u8| {
        fill!(
            v,
            MetadataRequestTopic {
                topic_id: uuid(i),
                name: unless(nulls, topic(i)),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        MetadataRequest {
            topics: unless(nulls, two(metadata_topic)),
            allow_auto_topic_creation: false,
            include_cluster_authorized_operations: true,
            include_topic_authorized_operations: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn offset_commit(v: i16, nulls: bool) -> OffsetCommitRequest {
    use offset_commit_request::*;
    let partition = |i: u8| {
        fill!(
            v,
            OffsetCommitRequestPartition {
                partition_index: i32::from(i) + 1,
                committed_offset: 42,
                committed_leader_epoch: 5,
                committed_metadata: unless(nulls, s("meta")),
                unknown_tagged_fields: tags(),
            }
        )
    };
    let commit_topic = |i: u8| {
        fill!(
            v,
            OffsetCommitRequestTopic {
                name: topic(i),
                topic_id: uuid(i),
                partitions: two(partition),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        OffsetCommitRequest {
            group_id: group(0),
            generation_id_or_member_epoch: 6,
            member_id: s("member-0"),
            group_instance_id: unless(nulls, s("instance-0")),
            retention_time_ms: 60_000,
            topics: two(commit_topic),
            unknown_tagged_fields: tags(),
        }
    )
}

fn offset_fetch(v: i16, nulls: bool) -> OffsetFetchRequest {
    use offset_fetch_request::*;
    let fetch_topic = |i: u8| {
        fill!(
            v,
            OffsetFetchRequestTopic {
                name: topic(i),
                partition_indexes: vec![0, 1],
                unknown_tagged_fields: tags(),
            }
        )
    };
    let group_topic = |i: u8| {
        fill!(
            v,
            OffsetFetchRequestTopics {
                name: topic(i),
                topic_id: uuid(i),
                partition_indexes: vec![0, 1],
                unknown_tagged_fields: tags(),
            }
        )
    };
    let fetch_group = |i: u8| {
        fill!(
            v,
            OffsetFetchRequestGroup {
                group_id: group(i),
                member_id: unless(nulls, s("member-0")),
                member_epoch: 4,
                topics: unless(nulls, two(group_topic)),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        OffsetFetchRequest {
            group_id: group(0),
            topics: unless(nulls, two(fetch_topic)),
            groups: two(fetch_group),
            require_stable: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn find_coordinator(v: i16, _nulls: bool) -> FindCoordinatorRequest {
    fill!(
        v,
        FindCoordinatorRequest {
            key: s("group-0"),
            key_type: 1,
            coordinator_keys: vec![s("group-0"), s("group-1")],
            unknown_tagged_fields: tags(),
        }
    )
}

fn join_group(v: i16, nulls: bool) -> JoinGroupRequest {
    use join_group_request::*;
    let protocol = |i: u8| {
        fill!(
            v,
            JoinGroupRequestProtocol {
                name: s(&format!("range-{i}")),
                metadata: Bytes::from_static(b"subscription"),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        JoinGroupRequest {
            group_id: group(0),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            member_id: s("member-0"),
            group_instance_id: unless(nulls, s("instance-0")),
            protocol_type: s("consumer"),
            protocols: two(protocol),
            reason: unless(nulls, s("rejoin")),
            unknown_tagged_fields: tags(),
        }
    )
}

fn heartbeat(v: i16, nulls: bool) -> HeartbeatRequest {
    fill!(
        v,
        HeartbeatRequest {
            group_id: group(0),
            generation_id: 3,
            member_id: s("member-0"),
            group_instance_id: unless(nulls, s("instance-0")),
            unknown_tagged_fields: tags(),
        }
    )
}

fn leave_group(v: i16, nulls: bool) -> LeaveGroupRequest {
    use leave_group_request::*;
    let member = |i: u8| {
        fill!(
            v,
            MemberIdentity {
                member_id: s(&format!("member-{i}")),
                group_instance_id: unless(nulls, s("instance-0")),
                reason: unless(nulls, s("shutdown")),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        LeaveGroupRequest {
            group_id: group(0),
            member_id: s("member-0"),
            members: two(member),
            unknown_tagged_fields: tags(),
        }
    )
}

fn sync_group(v: i16, nulls: bool) -> SyncGroupRequest {
    use sync_group_request::*;
    let assignment = |i: u8| {
        fill!(
            v,
            SyncGroupRequestAssignment {
                member_id: s(&format!("member-{i}")),
                assignment: Bytes::from_static(b"assignment"),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        SyncGroupRequest {
            group_id: group(0),
            generation_id: 3,
            member_id: s("member-0"),
            group_instance_id: unless(nulls, s("instance-0")),
            protocol_type: unless(nulls, s("consumer")),
            protocol_name: unless(nulls, s("range")),
            assignments: two(assignment),
            unknown_tagged_fields: tags(),
        }
    )
}

fn describe_groups(v: i16, _nulls: bool) -> DescribeGroupsRequest {
    fill!(
        v,
        DescribeGroupsRequest {
            groups: two(group),
            include_authorized_operations: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn list_groups(v: i16, _nulls: bool) -> ListGroupsRequest {
    fill!(
        v,
        ListGroupsRequest {
            states_filter: vec![s("Stable"), s("Empty")],
            types_filter: vec![s("classic"), s("consumer")],
            unknown_tagged_fields: tags(),
        }
    )
}

fn api_versions(v: i16, _nulls: bool) -> ApiVersionsRequest {
    fill!(
        v,
        ApiVersionsRequest {
            client_software_name: s("sluice-tests"),
            client_software_version: s("0.1.0"),
            unknown_tagged_fields: tags(),
        }
    )
}

fn create_topics(v: i16, nulls: bool) -> CreateTopicsRequest {
    use create_topics_request::*;
    let assignment = |i: u8| {
        fill!(
            v,
            CreatableReplicaAssignment {
                partition_index: i32::from(i),
                broker_ids: vec![BrokerId(1), BrokerId(2)],
                unknown_tagged_fields: tags(),
            }
        )
    };
    let config = |i: u8| {
        fill!(
            v,
            CreatableTopicConfig {
                name: s(&format!("config-{i}")),
                value: unless(nulls, s("value")),
                unknown_tagged_fields: tags(),
            }
        )
    };
    let creatable = |i: u8| {
        fill!(
            v,
            CreatableTopic {
                name: topic(i),
                num_partitions: 2,
                replication_factor: 1,
                assignments: two(assignment),
                configs: two(config),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        CreateTopicsRequest {
            topics: two(creatable),
            timeout_ms: 5_000,
            validate_only: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn delete_topics(v: i16, nulls: bool) -> DeleteTopicsRequest {
    use delete_topics_request::*;
    let state = |i: u8| {
        fill!(
            v,
            DeleteTopicState {
                name: unless(nulls, topic(i)),
                topic_id: uuid(i),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        DeleteTopicsRequest {
            topics: two(state),
            topic_names: two(topic),
            timeout_ms: 5_000,
            unknown_tagged_fields: tags(),
        }
    )
}

fn delete_records(v: i16, _nulls: bool) -> DeleteRecordsRequest {
    use delete_records_request::*;
    let partition = |i: u8| {
        fill!(
            v,
            DeleteRecordsPartition {
                partition_index: i32::from(i),
                offset: 99,
                unknown_tagged_fields: tags(),
            }
        )
    };
    let records_topic = |i: u8| {
        fill!(
            v,
            DeleteRecordsTopic {
                name: topic(i),
                partitions: two(partition),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        DeleteRecordsRequest {
            topics: two(records_topic),
            timeout_ms: 5_000,
            unknown_tagged_fields: tags(),
        }
    )
}

fn init_producer_id(v: i16, nulls: bool) -> InitProducerIdRequest {
    fill!(
        v,
        InitProducerIdRequest {
            transactional_id: unless(nulls, TransactionalId(s("txn"))),
            transaction_timeout_ms: 60_000,
            producer_id: ProducerId(1_234),
            producer_epoch: 2,
            enable_2_pc: true,
            keep_prepared_txn: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn describe_configs(v: i16, nulls: bool) -> DescribeConfigsRequest {
    use describe_configs_request::*;
    let resource = |i: u8| {
        fill!(
            v,
            DescribeConfigsResource {
                resource_type: 2,
                resource_name: s(&format!("topic-{i}")),
                configuration_keys: unless(nulls, vec![s("retention.ms"), s("cleanup.policy")]),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        DescribeConfigsRequest {
            resources: two(resource),
            include_synonyms: true,
            include_documentation: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn create_partitions(v: i16, nulls: bool) -> CreatePartitionsRequest {
    use create_partitions_request::*;
    let assignment = |_: u8| {
        fill!(
            v,
            CreatePartitionsAssignment {
                broker_ids: vec![BrokerId(1), BrokerId(2)],
                unknown_tagged_fields: tags(),
            }
        )
    };
    let partitions_topic = |i: u8| {
        fill!(
            v,
            CreatePartitionsTopic {
                name: topic(i),
                count: 4,
                assignments: unless(nulls, two(assignment)),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        CreatePartitionsRequest {
            topics: two(partitions_topic),
            timeout_ms: 5_000,
            validate_only: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn delete_groups(v: i16, _nulls: bool) -> DeleteGroupsRequest {
    fill!(
        v,
        DeleteGroupsRequest {
            groups_names: two(group),
            unknown_tagged_fields: tags(),
        }
    )
}

fn offset_delete(v: i16, _nulls: bool) -> OffsetDeleteRequest {
    use offset_delete_request::*;
    let partition = |i: u8| {
        fill!(
            v,
            OffsetDeleteRequestPartition {
                partition_index: i32::from(i),
            }
        )
    };
    let delete_topic = |i: u8| {
        fill!(
            v,
            OffsetDeleteRequestTopic {
                name: topic(i),
                partitions: two(partition),
            }
        )
    };
    fill!(
        v,
        OffsetDeleteRequest {
            group_id: group(0),
            topics: two(delete_topic),
        }
    )
}

fn describe_client_quotas(v: i16, nulls: bool) -> DescribeClientQuotasRequest {
    use describe_client_quotas_request::*;
    let component = |i: u8| {
        fill!(
            v,
            ComponentData {
                entity_type: s("user"),
                match_type: i as i8,
                _match: unless(nulls, s(&format!("name-{i}"))),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        DescribeClientQuotasRequest {
            components: two(component),
            strict: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn alter_client_quotas(v: i16, nulls: bool) -> AlterClientQuotasRequest {
    use alter_client_quotas_request::*;
    let entity = |i: u8| {
        fill!(
            v,
            EntityData {
                entity_type: s(if i == 0 { "user" } else { "client-id" }),
                entity_name: unless(nulls, s(&format!("name-{i}"))),
                unknown_tagged_fields: tags(),
            }
        )
    };
    let op = |i: u8| {
        fill!(
            v,
            OpData {
                key: s("producer_byte_rate"),
                value: 1024.5 * f64::from(i + 1),
                remove: i == 1,
                unknown_tagged_fields: tags(),
            }
        )
    };
    let entry = |_: u8| {
        fill!(
            v,
            EntryData {
                entity: two(entity),
                ops: two(op),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        AlterClientQuotasRequest {
            entries: two(entry),
            validate_only: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn add_partitions_to_txn(v: i16, _nulls: bool) -> AddPartitionsToTxnRequest {
    use add_partitions_to_txn_request::*;
    let txn_topic = |i: u8| {
        fill!(
            v,
            AddPartitionsToTxnTopic {
                name: topic(i),
                partitions: vec![0, 3],
                unknown_tagged_fields: tags(),
            }
        )
    };
    let transaction = |i: u8| {
        fill!(
            v,
            AddPartitionsToTxnTransaction {
                transactional_id: TransactionalId(s(&format!("txn-{i}"))),
                producer_id: ProducerId(77),
                producer_epoch: 3,
                verify_only: true,
                topics: two(txn_topic),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        AddPartitionsToTxnRequest {
            transactions: two(transaction),
            v3_and_below_transactional_id: TransactionalId(s("txn")),
            v3_and_below_producer_id: ProducerId(77),
            v3_and_below_producer_epoch: 3,
            v3_and_below_topics: two(txn_topic),
            unknown_tagged_fields: tags(),
        }
    )
}

fn add_offsets_to_txn(v: i16, _nulls: bool) -> AddOffsetsToTxnRequest {
    fill!(
        v,
        AddOffsetsToTxnRequest {
            transactional_id: TransactionalId(s("txn")),
            producer_id: ProducerId(77),
            producer_epoch: 3,
            group_id: group(0),
            unknown_tagged_fields: tags(),
        }
    )
}

fn end_txn(v: i16, _nulls: bool) -> EndTxnRequest {
    fill!(
        v,
        EndTxnRequest {
            transactional_id: TransactionalId(s("txn")),
            producer_id: ProducerId(77),
            producer_epoch: 3,
            committed: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn txn_offset_commit(v: i16, nulls: bool) -> TxnOffsetCommitRequest {
    use txn_offset_commit_request::*;
    let partition = |i: u8| {
        fill!(
            v,
            TxnOffsetCommitRequestPartition {
                partition_index: i32::from(i),
                committed_offset: 1_000,
                committed_leader_epoch: 4,
                committed_metadata: unless(nulls, s("meta")),
                unknown_tagged_fields: tags(),
            }
        )
    };
    let commit_topic = |i: u8| {
        fill!(
            v,
            TxnOffsetCommitRequestTopic {
                name: topic(i),
                partitions: two(partition),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        TxnOffsetCommitRequest {
            transactional_id: TransactionalId(s("txn")),
            group_id: group(0),
            producer_id: ProducerId(77),
            producer_epoch: 3,
            generation_id: 5,
            member_id: s("member"),
            group_instance_id: unless(nulls, s("instance")),
            topics: two(commit_topic),
            unknown_tagged_fields: tags(),
        }
    )
}

fn describe_producers(v: i16, _nulls: bool) -> DescribeProducersRequest {
    use describe_producers_request::*;
    let request_topic = |i: u8| {
        fill!(
            v,
            TopicRequest {
                name: topic(i),
                partition_indexes: vec![0, 1],
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        DescribeProducersRequest {
            topics: two(request_topic),
            unknown_tagged_fields: tags(),
        }
    )
}

fn describe_transactions(v: i16, _nulls: bool) -> DescribeTransactionsRequest {
    fill!(
        v,
        DescribeTransactionsRequest {
            transactional_ids: vec![TransactionalId(s("a")), TransactionalId(s("b"))],
            unknown_tagged_fields: tags(),
        }
    )
}

fn list_transactions(v: i16, nulls: bool) -> ListTransactionsRequest {
    fill!(
        v,
        ListTransactionsRequest {
            state_filters: vec![s("Ongoing"), s("Empty")],
            producer_id_filters: vec![ProducerId(1), ProducerId(2)],
            duration_filter: 5_000,
            transactional_id_pattern: unless(nulls, s("tx.*")),
            unknown_tagged_fields: tags(),
        }
    )
}

fn offset_for_leader_epoch(v: i16, _nulls: bool) -> OffsetForLeaderEpochRequest {
    use offset_for_leader_epoch_request::*;
    let partition = |i: u8| {
        fill!(
            v,
            OffsetForLeaderPartition {
                partition: i32::from(i) + 1,
                current_leader_epoch: 4,
                leader_epoch: 3,
                unknown_tagged_fields: tags(),
            }
        )
    };
    let leader_topic = |i: u8| {
        fill!(
            v,
            OffsetForLeaderTopic {
                topic: topic(i),
                partitions: two(partition),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        OffsetForLeaderEpochRequest {
            replica_id: BrokerId(-1),
            topics: two(leader_topic),
            unknown_tagged_fields: tags(),
        }
    )
}

fn describe_log_dirs(v: i16, nulls: bool) -> DescribeLogDirsRequest {
    use describe_log_dirs_request::*;
    let log_dir_topic = |i: u8| {
        fill!(
            v,
            DescribableLogDirTopic {
                topic: topic(i),
                partitions: vec![0, 1],
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        DescribeLogDirsRequest {
            topics: unless(nulls, two(log_dir_topic)),
            unknown_tagged_fields: tags(),
        }
    )
}

fn elect_leaders(v: i16, nulls: bool) -> ElectLeadersRequest {
    use elect_leaders_request::*;
    let partitions = |i: u8| {
        fill!(
            v,
            TopicPartitions {
                topic: topic(i),
                partitions: vec![0, 1],
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        ElectLeadersRequest {
            election_type: 1,
            topic_partitions: unless(nulls, two(partitions)),
            timeout_ms: 1_500,
            unknown_tagged_fields: tags(),
        }
    )
}

fn alter_partition_reassignments(v: i16, nulls: bool) -> AlterPartitionReassignmentsRequest {
    use alter_partition_reassignments_request::*;
    let partition = |i: u8| {
        fill!(
            v,
            ReassignablePartition {
                partition_index: i32::from(i) + 1,
                replicas: unless(nulls, vec![BrokerId(1), BrokerId(2)]),
                unknown_tagged_fields: tags(),
            }
        )
    };
    let reassignable_topic = |i: u8| {
        fill!(
            v,
            ReassignableTopic {
                name: topic(i),
                partitions: two(partition),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        AlterPartitionReassignmentsRequest {
            timeout_ms: 1_500,
            allow_replication_factor_change: false,
            topics: two(reassignable_topic),
            unknown_tagged_fields: tags(),
        }
    )
}

fn list_partition_reassignments(v: i16, nulls: bool) -> ListPartitionReassignmentsRequest {
    use list_partition_reassignments_request::*;
    let listed = |i: u8| {
        fill!(
            v,
            ListPartitionReassignmentsTopics {
                name: topic(i),
                partition_indexes: vec![0, 1],
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        ListPartitionReassignmentsRequest {
            timeout_ms: 1_500,
            topics: unless(nulls, two(listed)),
            unknown_tagged_fields: tags(),
        }
    )
}

fn update_features(v: i16, _nulls: bool) -> UpdateFeaturesRequest {
    use update_features_request::*;
    let update = |i: u8| {
        fill!(
            v,
            FeatureUpdateKey {
                feature: s(&format!("feature-{i}")),
                max_version_level: 3,
                allow_downgrade: true,
                upgrade_type: 2,
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        UpdateFeaturesRequest {
            timeout_ms: 1_500,
            feature_updates: two(update),
            validate_only: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn describe_cluster(v: i16, _nulls: bool) -> DescribeClusterRequest {
    fill!(
        v,
        DescribeClusterRequest {
            include_cluster_authorized_operations: true,
            endpoint_type: 2,
            include_fenced_brokers: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn describe_topic_partitions(v: i16, nulls: bool) -> DescribeTopicPartitionsRequest {
    use describe_topic_partitions_request::*;
    let request_topic = |i: u8| {
        fill!(
            v,
            TopicRequest {
                name: topic(i),
                unknown_tagged_fields: tags(),
            }
        )
    };
    let cursor = fill!(
        v,
        Cursor {
            topic_name: topic(1),
            partition_index: 7,
            unknown_tagged_fields: tags(),
        }
    );
    fill!(
        v,
        DescribeTopicPartitionsRequest {
            topics: two(request_topic),
            response_partition_limit: 50,
            cursor: unless(nulls, cursor),
            unknown_tagged_fields: tags(),
        }
    )
}

fn alter_configs(v: i16, nulls: bool) -> AlterConfigsRequest {
    use alter_configs_request::*;
    let config = |i: u8| {
        fill!(
            v,
            AlterableConfig {
                name: s(&format!("config-{i}")),
                value: unless(nulls, s("value")),
                unknown_tagged_fields: tags(),
            }
        )
    };
    let resource = |i: u8| {
        fill!(
            v,
            AlterConfigsResource {
                resource_type: 2,
                resource_name: s(&format!("topic-{i}")),
                configs: two(config),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        AlterConfigsRequest {
            resources: two(resource),
            validate_only: true,
            unknown_tagged_fields: tags(),
        }
    )
}

fn incremental_alter_configs(v: i16, nulls: bool) -> IncrementalAlterConfigsRequest {
    use incremental_alter_configs_request::*;
    let config = |i: u8| {
        fill!(
            v,
            AlterableConfig {
                name: s(&format!("config-{i}")),
                config_operation: 2,
                value: unless(nulls, s("value")),
                unknown_tagged_fields: tags(),
            }
        )
    };
    let resource = |i: u8| {
        fill!(
            v,
            AlterConfigsResource {
                resource_type: 2,
                resource_name: s(&format!("topic-{i}")),
                configs: two(config),
                unknown_tagged_fields: tags(),
            }
        )
    };
    fill!(
        v,
        IncrementalAlterConfigsRequest {
            resources: two(resource),
            validate_only: true,
            unknown_tagged_fields: tags(),
        }
    )
}
