//! CreatePartitions (api key 37), versions 0–3, flexible from 2.
//!
//! A null `assignments` lets the broker place the new partitions.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 37,
    name: "CreatePartitions",
    versions: between(0, 3),
    flexible_from: Some(2),
    body: &[
        field("topics", ALL, Array(&TOPIC)),
        field("timeout_ms", ALL, Int32),
        field("validate_only", ALL, Bool),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("count", ALL, Int32),
    field("assignments", ALL, NullableArray(&ASSIGNMENT)),
]);

const ASSIGNMENT: Ty = Struct(&[field("broker_ids", ALL, Array(&Int32))]);
