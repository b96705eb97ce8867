//! Fetch (api key 1), versions 4–18, flexible from 12.
//!
//! Has known tagged fields: `cluster_id` (0) and `replica_state` (1) in the
//! request, `replica_directory_id` (0) and `high_watermark` (1) per partition.

use super::schema::{between, field, since, tagged, until, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 1,
    name: "Fetch",
    versions: between(4, 18),
    flexible_from: Some(12),
    body: &[
        tagged(0, "cluster_id", since(12), NullableString),
        field("replica_id", until(14), Int32),
        tagged(1, "replica_state", since(15), REPLICA_STATE),
        field("max_wait_ms", ALL, Int32),
        field("min_bytes", ALL, Int32),
        field("max_bytes", ALL, Int32),
        field("isolation_level", ALL, Int8),
        field("session_id", since(7), Int32),
        field("session_epoch", since(7), Int32),
        field("topics", ALL, Array(&TOPIC)),
        field("forgotten_topics_data", since(7), Array(&FORGOTTEN_TOPIC)),
        field("rack_id", since(11), String),
    ],
};

const REPLICA_STATE: Ty = Struct(&[
    field("replica_id", ALL, Int32),
    field("replica_epoch", ALL, Int64),
]);

const TOPIC: Ty = Struct(&[
    field("topic", until(12), String),
    field("topic_id", since(13), Uuid),
    field("partitions", ALL, Array(&PARTITION)),
]);

const PARTITION: Ty = Struct(&[
    field("partition", ALL, Int32),
    field("current_leader_epoch", since(9), Int32),
    field("fetch_offset", ALL, Int64),
    field("last_fetched_epoch", since(12), Int32),
    field("log_start_offset", since(5), Int64),
    field("partition_max_bytes", ALL, Int32),
    tagged(0, "replica_directory_id", since(17), Uuid),
    tagged(1, "high_watermark", since(18), Int64),
]);

const FORGOTTEN_TOPIC: Ty = Struct(&[
    field("topic", until(12), String),
    field("topic_id", since(13), Uuid),
    field("partitions", ALL, Array(&Int32)),
]);
