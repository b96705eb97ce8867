//! ElectLeaders (api key 43), versions 0-2, flexible from 2.

use super::schema::{between, field, since, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 43,
    name: "ElectLeaders",
    versions: between(0, 2),
    flexible_from: Some(2),
    body: &[
        field("election_type", since(1), Int8),
        field("topic_partitions", ALL, NullableArray(&TOPIC)),
        field("timeout_ms", ALL, Int32),
    ],
};

const TOPIC: Ty = Struct(&[
    field("topic", ALL, String),
    field("partitions", ALL, Array(&Int32)),
]);
