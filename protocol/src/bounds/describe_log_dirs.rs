//! DescribeLogDirs (api key 35), versions 1-4 (v0 removed in Kafka 4.0),
//! flexible from 2.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 35,
    name: "DescribeLogDirs",
    versions: between(1, 4),
    flexible_from: Some(2),
    body: &[field("topics", ALL, NullableArray(&TOPIC))],
};

const TOPIC: Ty = Struct(&[
    field("topic", ALL, String),
    field("partitions", ALL, Array(&Int32)),
]);
