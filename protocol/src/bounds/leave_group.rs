//! LeaveGroup (api key 13), versions 0–5, flexible from 4.
//!
//! Up to v2 one member; from v3 a batch of members.

use super::schema::{between, field, since, until, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 13,
    name: "LeaveGroup",
    versions: between(0, 5),
    flexible_from: Some(4),
    body: &[
        field("group_id", ALL, String),
        field("member_id", until(2), String),
        field("members", since(3), Array(&MEMBER)),
    ],
};

const MEMBER: Ty = Struct(&[
    field("member_id", ALL, String),
    field("group_instance_id", ALL, NullableString),
    field("reason", since(5), NullableString),
]);
