//! CreateTopics (api key 19), versions 2–7, flexible from 5.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 19,
    name: "CreateTopics",
    versions: between(2, 7),
    flexible_from: Some(5),
    body: &[
        field("topics", ALL, Array(&TOPIC)),
        field("timeout_ms", ALL, Int32),
        field("validate_only", ALL, Bool),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("num_partitions", ALL, Int32),
    field("replication_factor", ALL, Int16),
    field("assignments", ALL, Array(&ASSIGNMENT)),
    field("configs", ALL, Array(&CONFIG)),
]);

const ASSIGNMENT: Ty = Struct(&[
    field("partition_index", ALL, Int32),
    field("broker_ids", ALL, Array(&Int32)),
]);

const CONFIG: Ty = Struct(&[
    field("name", ALL, String),
    field("value", ALL, NullableString),
]);
