//! OffsetDelete (api key 47), version 0, never flexible.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 47,
    name: "OffsetDelete",
    versions: between(0, 0),
    flexible_from: None,
    body: &[
        field("group_id", ALL, String),
        field("topics", ALL, Array(&TOPIC)),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("partitions", ALL, Array(&PARTITION)),
]);

const PARTITION: Ty = Struct(&[field("partition_index", ALL, Int32)]);
