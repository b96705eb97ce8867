//! DescribeProducers (api key 61), version 0, flexible.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 61,
    name: "DescribeProducers",
    versions: between(0, 0),
    flexible_from: Some(0),
    body: &[field("topics", ALL, Array(&TOPIC))],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("partition_indexes", ALL, Array(&Int32)),
]);
