//! ListOffsets (api key 2), versions 1–10, flexible from 6.

use super::schema::{between, field, since, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 2,
    name: "ListOffsets",
    versions: between(1, 10),
    flexible_from: Some(6),
    body: &[
        field("replica_id", ALL, Int32),
        field("isolation_level", since(2), Int8),
        field("topics", ALL, Array(&TOPIC)),
        field("timeout_ms", since(10), Int32),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("partitions", ALL, Array(&PARTITION)),
]);

const PARTITION: Ty = Struct(&[
    field("partition_index", ALL, Int32),
    field("current_leader_epoch", since(4), Int32),
    field("timestamp", ALL, Int64),
]);
