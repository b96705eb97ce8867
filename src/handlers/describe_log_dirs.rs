//! DescribeLogDirs (key 35), v1–v4 (v0 was removed in Kafka 4.0, KIP-896).
//!
//! The data directory is the one log directory. Each partition's size is
//! the bytes of its segments; offset lag is 0 and nothing is a future
//! replica (this node is the only replica of everything). A null topic list
//! means every partition, internal topics included; with a list, only the
//! partitions named that exist are reported and unknown ones are left out,
//! as Kafka does. Total and usable bytes (v4) are those of the filesystem
//! under the data directory (`statvfs`); a directory that cannot be read is
//! KAFKA_STORAGE_ERROR. Ephemeral mode (`--ephemeral`): the same log
//! directory name, the sizes of the logs in memory, and total/usable bytes
//! -1 (Kafka's "unknown"), since no filesystem holds them.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{ClusterError, ErrorCode};

pub const VERSIONS: (i16, i16) = (1, 4);

pub async fn handle(
    ctx: RequestContext,
    req: DescribeLogDirsRequest,
) -> HandlerOutput<DescribeLogDirsResponse> {
    let state = &ctx.state;
    let data_dir = std::path::absolute(&state.config.data_dir)
        .unwrap_or_else(|_| state.config.data_dir.clone());
    let log_dir = StrBytes::from_string(data_dir.display().to_string());
    let space = if state.config.ephemeral {
        Ok(None)
    } else {
        sluice_storage::disk_space(&data_dir)
            .map(Some)
            .map_err(|e| ClusterError::KafkaStorage(format!("log directory {log_dir}: {e}")))
    };
    let result = match space {
        Err(e) => {
            tracing::warn!(error = %e, "DescribeLogDirs: cannot read the log directory");
            DescribeLogDirsResult::default()
                .with_error_code(e.code())
                .with_log_dir(log_dir)
        }
        Ok(space) => {
            let (total, usable) = space.map_or((-1, -1), |s| {
                (clamp_i64(s.total_bytes), clamp_i64(s.usable_bytes))
            });
            DescribeLogDirsResult::default()
                .with_log_dir(log_dir)
                .with_topics(topics(&ctx, req.topics.as_deref()))
                .with_total_bytes(total)
                .with_usable_bytes(usable)
        }
    };
    HandlerOutput::Respond(DescribeLogDirsResponse::default().with_results(vec![result]))
}

/// The partitions asked for (all when `requested` is None) that this node
/// holds, by topic name.
fn topics(
    ctx: &RequestContext,
    requested: Option<
        &[kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic],
    >,
) -> Vec<DescribeLogDirsTopic> {
    let state = &ctx.state;
    let wanted: Option<BTreeMap<&str, BTreeSet<i32>>> = requested.map(|list| {
        let mut m: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
        for t in list {
            m.entry(t.topic.as_str())
                .or_default()
                .extend(t.partitions.iter().copied());
        }
        m
    });
    let mut out = Vec::new();
    for meta in state.metadata.topics() {
        let indexes: Vec<i32> = match &wanted {
            None => (0..meta.partitions).collect(),
            Some(w) => match w.get(meta.name.as_str()) {
                None => continue,
                Some(set) => set
                    .iter()
                    .copied()
                    .filter(|p| *p >= 0 && *p < meta.partitions)
                    .collect(),
            },
        };
        let partitions: Vec<DescribeLogDirsPartition> = indexes
            .into_iter()
            .filter_map(|index| state.partitions.get(&meta.name, index))
            .map(|p| {
                DescribeLogDirsPartition::default()
                    .with_partition_index(p.index)
                    .with_partition_size(clamp_i64(p.size_bytes()))
                    .with_offset_lag(0)
                    .with_is_future_key(false)
            })
            .collect();
        if !partitions.is_empty() {
            out.push(
                DescribeLogDirsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(meta.name.clone())))
                    .with_partitions(partitions),
            );
        }
    }
    out
}

fn clamp_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
