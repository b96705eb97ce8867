//! Produce (api key 0), versions 3–13, flexible from 9.
//!
//! Record sets are opaque bytes here; `records/` parses them afterwards.

use super::schema::{between, field, since, until, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 0,
    name: "Produce",
    versions: between(3, 13),
    flexible_from: Some(9),
    body: &[
        field("transactional_id", ALL, NullableString),
        field("acks", ALL, Int16),
        field("timeout_ms", ALL, Int32),
        field("topic_data", ALL, Array(&TOPIC)),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", until(12), String),
    field("topic_id", since(13), Uuid),
    field("partition_data", ALL, Array(&PARTITION)),
]);

const PARTITION: Ty = Struct(&[field("index", ALL, Int32), field("records", ALL, Records)]);
