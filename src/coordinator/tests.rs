//! The runtime with a tiny state machine over a real (on-disk) partition:
//! writes replay what they append, and a panicked operation leaves the
//! shard rebuilt from its log, not half-changed.

use std::sync::Arc;

use super::writer::EncodedRecord;
use super::*;
use crate::error::PartitionError;
use crate::metadata::{BrokerDefaults, TopicMeta};
use crate::partition::Partitions;

/// The record `Sum` panics on.
const POISON: i64 = i64::MIN;

/// Sums the numbers in its log.
#[derive(Debug, Default)]
struct Sum {
    total: i64,
    loads: usize,
}

impl Playback for Sum {
    type Record = i64;

    fn replay(&mut self, _producer_id: Option<i64>, record: &i64) {
        // A record the machine cannot apply (a bug): replay panics on it.
        assert_ne!(*record, POISON, "a record replay cannot apply");
        self.total += record;
    }
}

impl CoordinatorShard for Sum {
    type Answer = i64;
    type DecodeError = String;

    fn decode(_key: &[u8], value: Option<&[u8]>) -> Result<Option<i64>, String> {
        let bytes: [u8; 8] = value
            .ok_or("tombstone")?
            .try_into()
            .map_err(|_| "not 8 bytes".to_string())?;
        Ok(Some(i64::from_be_bytes(bytes)))
    }

    fn encode(record: &i64) -> EncodedRecord {
        (b"n".to_vec(), Some(record.to_be_bytes().to_vec()))
    }

    fn loaded(&mut self, _now: i64) {
        self.loads += 1;
    }
}

impl From<CoordinatorError> for String {
    fn from(e: CoordinatorError) -> String {
        e.to_string()
    }
}

fn open(dir: &std::path::Path) -> (Partitions, Runtime<Sum>) {
    let partitions = Partitions::new(dir, false);
    let meta = TopicMeta {
        name: "__sums".into(),
        id: uuid::Uuid::new_v4(),
        partitions: 1,
        configs: Default::default(),
        internal: true,
    };
    partitions
        .open_topic(&meta, &BrokerDefaults::new(&[]))
        .unwrap();
    let writer: Arc<dyn PartitionWriter> = partitions.get("__sums", 0).unwrap();
    let runtime =
        Runtime::load(vec![writer], Sum::default, ManualClock::new(1_000), false).unwrap();
    (partitions, runtime)
}

fn add(runtime: &Runtime<Sum>, n: i64) -> Result<(i64, Option<i64>), PartitionError> {
    runtime
        .with_shard(0, |shard| shard.write(CoordinatorResult::new(vec![n], n)))
        .unwrap()
}

#[test]
fn a_write_appends_then_replays_and_a_restart_sees_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (partitions, runtime) = open(dir.path());
    assert_eq!(add(&runtime, 5).unwrap(), (5, Some(1)));
    assert_eq!(add(&runtime, 7).unwrap(), (7, Some(2)));
    let nothing = runtime
        .with_shard(0, |shard| {
            shard.write(CoordinatorResult::<i64, _>::response("read"))
        })
        .unwrap()
        .unwrap();
    assert_eq!(nothing, ("read", None));
    assert_eq!(runtime.with_shard(0, |s| s.machine.total), Ok(12));
    drop(runtime);
    drop(partitions);
    let (_partitions, reopened) = open(dir.path());
    assert_eq!(reopened.with_shard(0, |s| s.machine.total), Ok(12));
}

#[test]
fn a_record_whose_replay_panics_stops_the_shard_instead_of_poisoning_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_partitions, runtime) = open(dir.path());
    add(&runtime, 5).unwrap();
    // Appended, then its replay panics; the rebuild replays it again and
    // panics again: the shard stops, and later calls get an error, not a
    // panic of a poisoned lock.
    let written = runtime.with_shard(0, |shard| {
        shard.write(CoordinatorResult::new(vec![POISON], 0))
    });
    assert_eq!(written.map(|_| ()), Err(CoordinatorError::ShardFailed));
    assert!(runtime.with_shard(0, |s| s.machine.total).is_err());
    assert!(runtime.with_shard(0, |s| s.machine.total).is_err());
}

#[tokio::test]
async fn a_panicking_operation_leaves_the_shard_rebuilt_from_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let (_partitions, runtime) = open(dir.path());
    add(&runtime, 5).unwrap();
    let (parked, failed) = {
        let mut parked = None;
        let failed = runtime.with_shard(0, |shard| {
            let (_, pending) = shard.park::<i64, String>(Some);
            parked = Some(pending);
            // Half-changed, outside the log, then the operation dies.
            shard.machine.total += 100;
            panic!("an operation bug");
        });
        (parked.unwrap(), failed)
    };
    assert_eq!(failed, Err::<(), _>(CoordinatorError::ShardFailed));
    // The request parked before the panic is dropped, not left hanging.
    assert_eq!(parked.wait().await, Err(CoordinatorError::Gone.to_string()));
    // Rebuilt by replay into a fresh machine (loaded once): the change
    // that was never written is gone, and the shard keeps serving.
    assert_eq!(
        runtime.with_shard(0, |s| (s.machine.total, s.machine.loads)),
        Ok((5, 1))
    );
    add(&runtime, 1).unwrap();
    assert_eq!(runtime.with_shard(0, |s| s.machine.total), Ok(6));
}

#[tokio::test]
async fn parked_requests_get_their_typed_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (_partitions, runtime) = open(dir.path());
    let pending = runtime
        .with_shard(0, |shard| {
            let (request, pending) = shard.park::<i64, String>(|n| (n > 0).then_some(n));
            shard.deliver(request, 42);
            pending
        })
        .unwrap();
    assert_eq!(pending.wait().await, Ok(42));
    let wrong_kind = runtime
        .with_shard(0, |shard| {
            let (request, pending) = shard.park::<i64, String>(|n| (n > 0).then_some(n));
            shard.deliver(request, -1);
            pending
        })
        .unwrap();
    assert_eq!(
        wrong_kind.wait().await,
        Err(CoordinatorError::Gone.to_string())
    );
}

#[test]
fn keys_map_to_shards_like_kafka() {
    // Java: "group".hashCode() = 98629247; 98629247 % 50 = 47.
    assert_eq!(partition_for("group", 50), 47);
    assert_eq!(partition_for("anything", 1), 0);
    assert_eq!(partition_for("anything", 0), 0);
}

#[test]
fn a_runtime_not_loaded_yet_answers_loading_then_serves_what_it_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (partitions, runtime) = open(dir.path());
    add(&runtime, 9).unwrap();
    drop(runtime);
    let loading = Runtime::<Sum>::loading(1, ManualClock::new(1_000));
    assert!(!loading.is_loaded());
    // Which shard owns a key is known before loading.
    assert_eq!(loading.shard_of("any key"), 0);
    assert_eq!(
        loading.with_shard(0, |s| s.machine.total),
        Err(CoordinatorError::Loading)
    );
    let mut visited = 0;
    loading.for_each_shard(|_| visited += 1);
    assert_eq!(visited, 0, "no shard is visited before loading");
    let writer: Arc<dyn PartitionWriter> = partitions.get("__sums", 0).unwrap();
    loading
        .finish_load(vec![Arc::clone(&writer)], Sum::default, false)
        .unwrap();
    assert_eq!(loading.with_shard(0, |s| s.machine.total), Ok(9));
    assert!(
        loading
            .finish_load(vec![writer], Sum::default, false)
            .is_err(),
        "a second load is refused"
    );
}
