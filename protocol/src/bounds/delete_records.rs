//! DeleteRecords (api key 21), versions 0–2, flexible from 2.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 21,
    name: "DeleteRecords",
    versions: between(0, 2),
    flexible_from: Some(2),
    body: &[
        field("topics", ALL, Array(&TOPIC)),
        field("timeout_ms", ALL, Int32),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("partitions", ALL, Array(&PARTITION)),
]);

const PARTITION: Ty = Struct(&[
    field("partition_index", ALL, Int32),
    field("offset", ALL, Int64),
]);
