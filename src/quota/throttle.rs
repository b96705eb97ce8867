//! `throttle_time_ms` on every response type, so that the pipeline sets
//! it once for whatever API answered (kafka-protocol has no common trait
//! for the field). Generated from kafka-protocol 0.18's message list: the
//! types with the field set it (the encoder leaves it out of versions
//! without it), the few without it (SASL, quorum and share-state APIs)
//! ignore it. A new kafka-protocol release with a new response type needs
//! its line here.

use kafka_protocol::messages::*;

/// A response's `throttle_time_ms`.
pub trait ThrottleTime {
    fn throttle_time_ms(&self) -> i32;
    fn set_throttle_time_ms(&mut self, ms: i32);
}

macro_rules! with_field {
    ($($t:ident),* $(,)?) => {$(
        impl ThrottleTime for $t {
            fn throttle_time_ms(&self) -> i32 {
                self.throttle_time_ms
            }
            fn set_throttle_time_ms(&mut self, ms: i32) {
                self.throttle_time_ms = ms;
            }
        }
    )*};
}

macro_rules! without_field {
    ($($t:ident),* $(,)?) => {$(
        impl ThrottleTime for $t {
            fn throttle_time_ms(&self) -> i32 {
                0
            }
            fn set_throttle_time_ms(&mut self, _: i32) {}
        }
    )*};
}

with_field!(
    ProduceResponse,
    FetchResponse,
    ListOffsetsResponse,
    MetadataResponse,
    OffsetCommitResponse,
    OffsetFetchResponse,
    FindCoordinatorResponse,
    JoinGroupResponse,
    HeartbeatResponse,
    LeaveGroupResponse,
    SyncGroupResponse,
    DescribeGroupsResponse,
    ListGroupsResponse,
    ApiVersionsResponse,
    CreateTopicsResponse,
    DeleteTopicsResponse,
    DeleteRecordsResponse,
    InitProducerIdResponse,
    OffsetForLeaderEpochResponse,
    AddPartitionsToTxnResponse,
    AddOffsetsToTxnResponse,
    EndTxnResponse,
    TxnOffsetCommitResponse,
    DescribeAclsResponse,
    CreateAclsResponse,
    DeleteAclsResponse,
    DescribeConfigsResponse,
    AlterConfigsResponse,
    AlterReplicaLogDirsResponse,
    DescribeLogDirsResponse,
    CreatePartitionsResponse,
    CreateDelegationTokenResponse,
    RenewDelegationTokenResponse,
    ExpireDelegationTokenResponse,
    DescribeDelegationTokenResponse,
    DeleteGroupsResponse,
    ElectLeadersResponse,
    IncrementalAlterConfigsResponse,
    AlterPartitionReassignmentsResponse,
    ListPartitionReassignmentsResponse,
    OffsetDeleteResponse,
    DescribeClientQuotasResponse,
    AlterClientQuotasResponse,
    DescribeUserScramCredentialsResponse,
    AlterUserScramCredentialsResponse,
    AlterPartitionResponse,
    UpdateFeaturesResponse,
    FetchSnapshotResponse,
    DescribeClusterResponse,
    DescribeProducersResponse,
    BrokerRegistrationResponse,
    BrokerHeartbeatResponse,
    UnregisterBrokerResponse,
    DescribeTransactionsResponse,
    ListTransactionsResponse,
    AllocateProducerIdsResponse,
    ConsumerGroupHeartbeatResponse,
    ConsumerGroupDescribeResponse,
    ControllerRegistrationResponse,
    GetTelemetrySubscriptionsResponse,
    PushTelemetryResponse,
    AssignReplicasToDirsResponse,
    ListConfigResourcesResponse,
    DescribeTopicPartitionsResponse,
    ShareGroupHeartbeatResponse,
    ShareGroupDescribeResponse,
    ShareFetchResponse,
    ShareAcknowledgeResponse,
    AddRaftVoterResponse,
    RemoveRaftVoterResponse,
    UpdateRaftVoterResponse,
    DescribeShareGroupOffsetsResponse,
    AlterShareGroupOffsetsResponse,
    DeleteShareGroupOffsetsResponse,
);

without_field!(
    SaslHandshakeResponse,
    WriteTxnMarkersResponse,
    SaslAuthenticateResponse,
    VoteResponse,
    BeginQuorumEpochResponse,
    EndQuorumEpochResponse,
    DescribeQuorumResponse,
    EnvelopeResponse,
    InitializeShareGroupStateResponse,
    ReadShareGroupStateResponse,
    WriteShareGroupStateResponse,
    DeleteShareGroupStateResponse,
    ReadShareGroupStateSummaryResponse,
);
