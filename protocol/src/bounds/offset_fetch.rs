//! OffsetFetch (api key 9), versions 1–9, flexible from 6.
//!
//! Up to v7 one group per request; from v8 a batch of groups. `kafka-protocol`
//! 0.18 stops at version 9. A null topic list asks for all topics.

use super::schema::{between, field, since, until, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 9,
    name: "OffsetFetch",
    versions: between(1, 9),
    flexible_from: Some(6),
    body: &[
        field("group_id", until(7), String),
        field("topics", until(7), NullableArray(&TOPIC)),
        field("groups", since(8), Array(&GROUP)),
        field("require_stable", since(7), Bool),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("partition_indexes", ALL, Array(&Int32)),
]);

const GROUP: Ty = Struct(&[
    field("group_id", ALL, String),
    field("member_id", since(9), NullableString),
    field("member_epoch", since(9), Int32),
    field("topics", ALL, NullableArray(&TOPIC)),
]);
