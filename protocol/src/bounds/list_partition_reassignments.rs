//! ListPartitionReassignments (api key 46), version 0, flexible.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 46,
    name: "ListPartitionReassignments",
    versions: between(0, 0),
    flexible_from: Some(0),
    body: &[
        field("timeout_ms", ALL, Int32),
        field("topics", ALL, NullableArray(&TOPIC)),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("partition_indexes", ALL, Array(&Int32)),
]);
