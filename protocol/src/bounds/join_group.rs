//! JoinGroup (api key 11), versions 0–9, flexible from 6.

use super::schema::{between, field, since, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 11,
    name: "JoinGroup",
    versions: between(0, 9),
    flexible_from: Some(6),
    body: &[
        field("group_id", ALL, String),
        field("session_timeout_ms", ALL, Int32),
        field("rebalance_timeout_ms", since(1), Int32),
        field("member_id", ALL, String),
        field("group_instance_id", since(5), NullableString),
        field("protocol_type", ALL, String),
        field("protocols", ALL, Array(&PROTOCOL)),
        field("reason", since(8), NullableString),
    ],
};

const PROTOCOL: Ty = Struct(&[field("name", ALL, String), field("metadata", ALL, Bytes)]);
