//! AlterPartitionReassignments (api key 45), versions 0-1, flexible.

use super::schema::{between, field, since, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 45,
    name: "AlterPartitionReassignments",
    versions: between(0, 1),
    flexible_from: Some(0),
    body: &[
        field("timeout_ms", ALL, Int32),
        field("allow_replication_factor_change", since(1), Bool),
        field("topics", ALL, Array(&TOPIC)),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("partitions", ALL, Array(&PARTITION)),
]);

const PARTITION: Ty = Struct(&[
    field("partition_index", ALL, Int32),
    field("replicas", ALL, NullableArray(&Int32)),
]);
