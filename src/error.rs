//! The one place where internal errors become Kafka error codes.
//!
//! Domain modules return these enums; handlers call [`ErrorCode::code`] (or
//! the `From` impls) and never pick numeric codes themselves.

use kafka_protocol::ResponseError as K;

use crate::coordinator::CoordinatorError;
use sluice_protocol::records::RecordsError;
use sluice_storage::StorageError;

/// Something that has a Kafka error code.
pub trait ErrorCode {
    /// The Kafka error code sent to the client.
    fn code(&self) -> i16;
}

/// Kafka's "no error".
pub const NONE: i16 = 0;

/// A per-partition failure of produce, fetch or list-offsets.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    #[error("unknown topic id")]
    UnknownTopicId,
    /// The partition is known but not served yet (the broker is still
    /// loading its partitions at start): Kafka's answer for a partition it
    /// does not lead right now, which clients retry after a metadata refresh.
    #[error("the partition is not served yet (the broker is loading)")]
    NotLeaderOrFollower,
    #[error("offset {offset} is outside [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start: i64,
        log_end: i64,
    },
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge { size: usize, max: usize },
    #[error("corrupt record batch: {0}")]
    CorruptMessage(String),
    #[error("invalid record batch: {0}")]
    InvalidRecord(String),
    #[error("record timestamp {timestamp} is out of the accepted range")]
    InvalidTimestamp { timestamp: i64 },
    #[error("invalid required acks {0}")]
    InvalidRequiredAcks(i16),
    #[error("leader epoch {requested} is newer than the leader's {current}")]
    UnknownLeaderEpoch { requested: i32, current: i32 },
    #[error("leader epoch {requested} is older than the leader's {current}")]
    FencedLeaderEpoch { requested: i32, current: i32 },
    #[error("internal topic {0} cannot be written or trimmed by clients")]
    InternalTopic(String),
    #[error("compression codec {0} is not allowed here")]
    UnsupportedCompressionType(String),
    #[error("producer {producer_id}: expected sequence {expected}, got {got}")]
    OutOfOrderSequence {
        producer_id: i64,
        expected: i32,
        got: i32,
    },
    #[error("producer {producer_id}: epoch {epoch} is older than the current {current}")]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    #[error(
        "compacted topic cannot accept records without a key (records {indexes:?} of the batch)"
    )]
    KeylessRecordsInCompactedTopic { indexes: Vec<i32> },
    #[error("transactional batch of producer {producer_id} outside a transaction that holds this partition")]
    InvalidTxnState { producer_id: i64 },
    #[error("storage failure: {0}")]
    Storage(#[from] StorageError),
}

impl ErrorCode for PartitionError {
    fn code(&self) -> i16 {
        match self {
            PartitionError::UnknownTopicOrPartition => K::UnknownTopicOrPartition.code(),
            PartitionError::UnknownTopicId => K::UnknownTopicId.code(),
            PartitionError::NotLeaderOrFollower => K::NotLeaderOrFollower.code(),
            PartitionError::OffsetOutOfRange { .. } => K::OffsetOutOfRange.code(),
            PartitionError::MessageTooLarge { .. } => K::MessageTooLarge.code(),
            PartitionError::CorruptMessage(_) => K::CorruptMessage.code(),
            PartitionError::InvalidRecord(_) => K::InvalidRecord.code(),
            PartitionError::InvalidTimestamp { .. } => K::InvalidTimestamp.code(),
            PartitionError::InvalidRequiredAcks(_) => K::InvalidRequiredAcks.code(),
            PartitionError::UnknownLeaderEpoch { .. } => K::UnknownLeaderEpoch.code(),
            PartitionError::FencedLeaderEpoch { .. } => K::FencedLeaderEpoch.code(),
            PartitionError::InternalTopic(_) => K::InvalidTopicException.code(),
            PartitionError::UnsupportedCompressionType(_) => K::UnsupportedCompressionType.code(),
            PartitionError::OutOfOrderSequence { .. } => K::OutOfOrderSequenceNumber.code(),
            // Since Kafka 2.7 a stale epoch on produce is INVALID_PRODUCER_EPOCH
            // (abortable), not PRODUCER_FENCED (fatal).
            PartitionError::InvalidProducerEpoch { .. } => K::InvalidProducerEpoch.code(),
            PartitionError::InvalidTxnState { .. } => K::InvalidTxnState.code(),
            PartitionError::KeylessRecordsInCompactedTopic { .. } => K::InvalidRecord.code(),
            PartitionError::Storage(StorageError::OffsetOutOfRange { .. }) => {
                K::OffsetOutOfRange.code()
            }
            // A batch on disk that fails its CRC, framing or offsets: Kafka's
            // CorruptRecordException on read is CORRUPT_MESSAGE. I/O errors stay
            // KAFKA_STORAGE_ERROR (Kafka's KafkaStorageException).
            PartitionError::Storage(StorageError::CorruptBatch { .. }) => K::CorruptMessage.code(),
            PartitionError::Storage(_) => K::KafkaStorageError.code(),
        }
    }
}

impl PartitionError {
    /// For a read that hit a damaged batch: the offset where the next intact batch
    /// starts, so that a replay can step over the damage.
    pub fn resume_offset(&self) -> Option<i64> {
        match self {
            PartitionError::Storage(StorageError::CorruptBatch { resume_offset, .. }) => {
                Some(*resume_offset)
            }
            _ => None,
        }
    }
}

impl From<RecordsError> for PartitionError {
    /// A CRC or framing failure is CORRUPT_MESSAGE; a well-formed batch that
    /// breaks the rules of produce (magic, offsets, counts, control batches)
    /// is INVALID_RECORD, as Kafka's log validator decides.
    fn from(e: RecordsError) -> Self {
        match e {
            RecordsError::Truncated { .. }
            | RecordsError::InvalidBatchLength(_)
            | RecordsError::CrcMismatch { .. }
            | RecordsError::UnknownCompression(_)
            | RecordsError::Codec(_) => PartitionError::CorruptMessage(e.to_string()),
            RecordsError::Empty
            | RecordsError::UnsupportedMagic(_)
            | RecordsError::InvalidRecordCount { .. }
            | RecordsError::Compressed(_)
            | RecordsError::Corrupt(_) => PartitionError::InvalidRecord(e.to_string()),
        }
    }
}

/// The transaction coordinator's refusal of a transactional batch
/// (KIP-890 part 1), with the batch's producer.
#[derive(Debug)]
pub struct TxnBatchRefused {
    pub producer_id: i64,
    pub epoch: i16,
    pub error: TxnError,
}

impl From<TxnBatchRefused> for PartitionError {
    /// A stale epoch is INVALID_PRODUCER_EPOCH (abortable), with the epoch
    /// the coordinator holds; anything else means the transaction does not
    /// hold the partition: INVALID_TXN_STATE.
    fn from(r: TxnBatchRefused) -> Self {
        match r.error {
            TxnError::InvalidProducerEpoch { current, .. } => {
                PartitionError::InvalidProducerEpoch {
                    producer_id: r.producer_id,
                    epoch: r.epoch,
                    current,
                }
            }
            _ => PartitionError::InvalidTxnState {
                producer_id: r.producer_id,
            },
        }
    }
}

/// A per-topic failure of CreateTopics, DeleteTopics or Metadata.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// Kafka's message names the topic: `Topic 'x' already exists.`
    #[error("Topic '{0}' already exists.")]
    AlreadyExists(String),
    #[error("invalid topic name: {0}")]
    InvalidTopic(String),
    #[error("invalid number of partitions: {0}")]
    InvalidPartitions(String),
    #[error("invalid replication factor: {0}")]
    InvalidReplicationFactor(String),
    #[error("invalid replica assignment: {0}")]
    InvalidReplicaAssignment(String),
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    #[error("unknown topic id")]
    UnknownTopicId,
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("internal topics cannot be deleted")]
    TopicDeletionDisabled,
    /// A limit on partitions (per request, as Kafka's controller has, or the
    /// broker's `--max-partitions`); the message is sent as it is.
    #[error("{0}")]
    PolicyViolation(String),
    /// A partition's log or directory could not be made, opened or removed.
    #[error("storage failure: {0}")]
    Storage(#[from] StorageError),
    /// The metadata log refused the change (it is not recorded).
    #[error("cannot write the metadata log: {0}")]
    MetadataLog(#[source] std::io::Error),
    /// The blocking task running the change failed (it panicked or the
    /// runtime is stopping); what it did is settled like a crash.
    #[error("the topic change did not complete: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
    /// The broker is shutting down: no topic change starts any more. Kafka's
    /// clients retry NOT_CONTROLLER (with a metadata refresh), so an admin
    /// request that meets a restart goes to the broker that comes back.
    #[error("the broker is shutting down")]
    ShuttingDown,
    /// The broker is still loading its partitions at start: no topic change
    /// starts yet. Answered like [`TopicError::ShuttingDown`] (retriable).
    #[error("the broker is still loading its partitions")]
    Loading,
}

impl ErrorCode for TopicError {
    fn code(&self) -> i16 {
        match self {
            TopicError::AlreadyExists(_) => K::TopicAlreadyExists.code(),
            TopicError::InvalidTopic(_) => K::InvalidTopicException.code(),
            TopicError::InvalidPartitions(_) => K::InvalidPartitions.code(),
            TopicError::InvalidReplicationFactor(_) => K::InvalidReplicationFactor.code(),
            TopicError::InvalidReplicaAssignment(_) => K::InvalidReplicaAssignment.code(),
            TopicError::InvalidConfig(_) => K::InvalidConfig.code(),
            TopicError::UnknownTopicOrPartition => K::UnknownTopicOrPartition.code(),
            TopicError::UnknownTopicId => K::UnknownTopicId.code(),
            TopicError::InvalidRequest(_) => K::InvalidRequest.code(),
            TopicError::TopicDeletionDisabled => K::TopicDeletionDisabled.code(),
            TopicError::PolicyViolation(_) => K::PolicyViolation.code(),
            TopicError::Storage(_) | TopicError::MetadataLog(_) | TopicError::Interrupted(_) => {
                K::KafkaStorageError.code()
            }
            TopicError::ShuttingDown | TopicError::Loading => K::NotController.code(),
        }
    }
}

/// A failure of a group-coordinator operation: for a whole group, one
/// member, or one partition's offset, as Kafka's classic group coordinator
/// reports it.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum GroupError {
    #[error("the coordinator is not available")]
    CoordinatorNotAvailable,
    #[error("this broker is not the coordinator")]
    NotCoordinator,
    #[error("the coordinator is loading")]
    CoordinatorLoadInProgress,
    #[error("invalid group id")]
    InvalidGroupId,
    #[error("unknown member id")]
    UnknownMemberId,
    #[error("illegal generation")]
    IllegalGeneration,
    #[error("the group is rebalancing")]
    RebalanceInProgress,
    #[error("inconsistent group protocol")]
    InconsistentGroupProtocol,
    #[error("session timeout outside the broker's allowed range")]
    InvalidSessionTimeout,
    #[error("a member id is required to join the group")]
    MemberIdRequired,
    #[error("the static member was fenced by a newer instance with the same group.instance.id")]
    FencedInstanceId,
    #[error("the group does not exist")]
    GroupIdNotFound,
    #[error("the group is not empty")]
    NonEmptyGroup,
    #[error("the group is subscribed to the topic")]
    GroupSubscribedToTopic,
    #[error("offset metadata is too large")]
    OffsetMetadataTooLarge,
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    #[error("invalid request")]
    InvalidRequest,
    #[error("an open transaction holds an offset of this partition")]
    UnstableOffsetCommit,
    #[error("the producer's transaction does not hold this group's offsets partition")]
    InvalidTxnState,
    #[error("the producer's epoch is stale")]
    InvalidProducerEpoch,
}

impl ErrorCode for GroupError {
    fn code(&self) -> i16 {
        match self {
            GroupError::CoordinatorNotAvailable => K::CoordinatorNotAvailable.code(),
            GroupError::NotCoordinator => K::NotCoordinator.code(),
            GroupError::CoordinatorLoadInProgress => K::CoordinatorLoadInProgress.code(),
            GroupError::InvalidGroupId => K::InvalidGroupId.code(),
            GroupError::UnknownMemberId => K::UnknownMemberId.code(),
            GroupError::IllegalGeneration => K::IllegalGeneration.code(),
            GroupError::RebalanceInProgress => K::RebalanceInProgress.code(),
            GroupError::InconsistentGroupProtocol => K::InconsistentGroupProtocol.code(),
            GroupError::InvalidSessionTimeout => K::InvalidSessionTimeout.code(),
            GroupError::MemberIdRequired => K::MemberIdRequired.code(),
            GroupError::FencedInstanceId => K::FencedInstanceId.code(),
            GroupError::GroupIdNotFound => K::GroupIdNotFound.code(),
            GroupError::NonEmptyGroup => K::NonEmptyGroup.code(),
            GroupError::GroupSubscribedToTopic => K::GroupSubscribedToTopic.code(),
            GroupError::OffsetMetadataTooLarge => K::OffsetMetadataTooLarge.code(),
            GroupError::UnknownTopicOrPartition => K::UnknownTopicOrPartition.code(),
            GroupError::InvalidRequest => K::InvalidRequest.code(),
            GroupError::UnstableOffsetCommit => K::UnstableOffsetCommit.code(),
            GroupError::InvalidTxnState => K::InvalidTxnState.code(),
            GroupError::InvalidProducerEpoch => K::InvalidProducerEpoch.code(),
        }
    }
}

/// A failure of a producer-id or transaction-coordinator operation.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TxnError {
    #[error("the transaction coordinator is not available")]
    CoordinatorNotAvailable,
    /// The coordinator (or the producer id allocator) is still loading at start.
    #[error("the transaction coordinator is loading")]
    CoordinatorLoadInProgress,
    #[error("cannot allocate a producer id: {0}")]
    ProducerIdAllocation(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("transaction timeout {0} ms is outside 1..=transaction.max.timeout.ms")]
    InvalidTransactionTimeout(i32),
    #[error("the producer id does not belong to this transactional id")]
    InvalidProducerIdMapping,
    #[error("a newer producer with the same transactional id fenced this one")]
    ProducerFenced,
    /// A transactional batch or commit with an epoch older than the
    /// producer's current one.
    #[error("producer {producer_id}: epoch {epoch} is older than the current {current}")]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    #[error("another transaction operation of this transactional id is in progress")]
    ConcurrentTransactions,
    #[error("the transaction is not in a state that allows this")]
    InvalidTxnState,
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    #[error("not attempted: another partition of the request failed")]
    OperationNotAttempted,
    #[error("unknown transactional id")]
    TransactionalIdNotFound,
    /// A record or marker could not be appended (the partition's error is
    /// logged where it happened).
    #[error("the transaction state could not be written")]
    NotWritten,
    /// A write was not made durable; the shard stops until restart.
    #[error("a transaction write was not made durable")]
    NotDurable,
    /// The shard failed during the operation and was rebuilt from its log.
    #[error("the transaction coordinator failed and was rebuilt")]
    CoordinatorFailed,
}

impl ErrorCode for TxnError {
    fn code(&self) -> i16 {
        match self {
            TxnError::CoordinatorNotAvailable => K::CoordinatorNotAvailable.code(),
            TxnError::CoordinatorLoadInProgress => K::CoordinatorLoadInProgress.code(),
            TxnError::ProducerIdAllocation(_) => K::UnknownServerError.code(),
            TxnError::InvalidRequest(_) => K::InvalidRequest.code(),
            TxnError::InvalidTransactionTimeout(_) => K::InvalidTransactionTimeout.code(),
            TxnError::InvalidProducerIdMapping => K::InvalidProducerIdMapping.code(),
            TxnError::ProducerFenced => K::ProducerFenced.code(),
            TxnError::InvalidProducerEpoch { .. } => K::InvalidProducerEpoch.code(),
            TxnError::ConcurrentTransactions => K::ConcurrentTransactions.code(),
            TxnError::InvalidTxnState => K::InvalidTxnState.code(),
            TxnError::UnknownTopicOrPartition => K::UnknownTopicOrPartition.code(),
            TxnError::OperationNotAttempted => K::OperationNotAttempted.code(),
            TxnError::TransactionalIdNotFound => K::TransactionalIdNotFound.code(),
            // The coordinator could not write its log: clients retry elsewhere.
            TxnError::NotWritten | TxnError::NotDurable => K::NotCoordinator.code(),
            TxnError::CoordinatorFailed => K::CoordinatorNotAvailable.code(),
        }
    }
}

impl From<CoordinatorError> for GroupError {
    /// Kafka's clients look the coordinator up again on NOT_COORDINATOR;
    /// that is what a coordinator that went away, failed or could not make
    /// a write durable asks of them.
    fn from(e: CoordinatorError) -> Self {
        match e {
            CoordinatorError::NotAvailable => GroupError::CoordinatorNotAvailable,
            CoordinatorError::Loading => GroupError::CoordinatorLoadInProgress,
            CoordinatorError::Gone
            | CoordinatorError::ShardFailed
            | CoordinatorError::NotDurable => GroupError::NotCoordinator,
        }
    }
}

impl From<CoordinatorError> for TxnError {
    fn from(e: CoordinatorError) -> Self {
        match e {
            CoordinatorError::NotAvailable | CoordinatorError::Gone => {
                TxnError::CoordinatorNotAvailable
            }
            CoordinatorError::Loading => TxnError::CoordinatorLoadInProgress,
            CoordinatorError::ShardFailed => TxnError::CoordinatorFailed,
            CoordinatorError::NotDurable => TxnError::NotDurable,
        }
    }
}

impl From<TxnError> for GroupError {
    /// TxnOffsetCommit from a producer the transaction coordinator does not
    /// hold in a transaction with this group's offsets partition.
    fn from(e: TxnError) -> Self {
        match e {
            TxnError::InvalidProducerEpoch { .. } => GroupError::InvalidProducerEpoch,
            _ => GroupError::InvalidTxnState,
        }
    }
}

/// The error code of an optional group error (`None` is Kafka's NONE).
pub fn group_code(error: Option<GroupError>) -> i16 {
    error.map_or(NONE, |e| e.code())
}

/// Request-level error codes used by handlers for whole-request failures.
pub mod request {
    use super::K;

    /// UNSUPPORTED_VERSION, sent in the ApiVersions v0 fallback.
    pub fn unsupported_version() -> i16 {
        K::UnsupportedVersion.code()
    }

    /// FETCH_SESSION_ID_NOT_FOUND: we never create incremental fetch sessions.
    pub fn fetch_session_id_not_found() -> i16 {
        K::FetchSessionIdNotFound.code()
    }
}

/// A failure of a cluster-level admin request (DescribeCluster, ElectLeaders,
/// partition reassignments, feature updates). The message is the one Kafka
/// sends with the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    #[error("{0}")]
    UnknownTopicOrPartition(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("Leader election not needed for topic partition.")]
    ElectionNotNeeded,
    #[error("No partition reassignment is in progress.")]
    NoReassignmentInProgress,
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    #[error("{0}")]
    MismatchedEndpointType(String),
    #[error("{0}")]
    UnsupportedEndpointType(String),
    #[error("{0}")]
    InvalidUpdateVersion(String),
    /// A log directory that cannot be read (Kafka's offline log dir).
    #[error("{0}")]
    KafkaStorage(String),
}

impl ErrorCode for ClusterError {
    fn code(&self) -> i16 {
        match self {
            ClusterError::UnknownTopicOrPartition(_) => K::UnknownTopicOrPartition.code(),
            ClusterError::InvalidRequest(_) => K::InvalidRequest.code(),
            ClusterError::ElectionNotNeeded => K::ElectionNotNeeded.code(),
            ClusterError::NoReassignmentInProgress => K::NoReassignmentInProgress.code(),
            ClusterError::InvalidReplicaAssignment(_) => K::InvalidReplicaAssignment.code(),
            ClusterError::MismatchedEndpointType(_) => K::MismatchedEndpointType.code(),
            ClusterError::UnsupportedEndpointType(_) => K::UnsupportedEndpointType.code(),
            ClusterError::InvalidUpdateVersion(_) => K::InvalidUpdateVersion.code(),
            ClusterError::KafkaStorage(_) => K::KafkaStorageError.code(),
        }
    }
}

/// A refused client-quota request (DescribeClientQuotas,
/// AlterClientQuotas); the message is Kafka's and is sent as it is.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    UnsupportedVersion(String),
    /// More changes in one request than Kafka's controller takes.
    #[error("{0}")]
    PolicyViolation(String),
    /// The metadata log refused the change (it is not recorded).
    #[error("cannot write the metadata log: {0}")]
    MetadataLog(String),
}

impl ErrorCode for QuotaError {
    fn code(&self) -> i16 {
        match self {
            QuotaError::InvalidRequest(_) => K::InvalidRequest.code(),
            QuotaError::UnsupportedVersion(_) => K::UnsupportedVersion.code(),
            QuotaError::PolicyViolation(_) => K::PolicyViolation.code(),
            QuotaError::MetadataLog(_) => K::KafkaStorageError.code(),
        }
    }
}
