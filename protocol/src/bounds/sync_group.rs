//! SyncGroup (api key 14), versions 0–5, flexible from 4.

use super::schema::{between, field, since, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 14,
    name: "SyncGroup",
    versions: between(0, 5),
    flexible_from: Some(4),
    body: &[
        field("group_id", ALL, String),
        field("generation_id", ALL, Int32),
        field("member_id", ALL, String),
        field("group_instance_id", since(3), NullableString),
        field("protocol_type", since(5), NullableString),
        field("protocol_name", since(5), NullableString),
        field("assignments", ALL, Array(&ASSIGNMENT)),
    ],
};

const ASSIGNMENT: Ty = Struct(&[
    field("member_id", ALL, String),
    field("assignment", ALL, Bytes),
]);
