//! Heartbeat (api key 12), versions 0–4, flexible from 4.

use super::schema::{between, field, since, Api, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 12,
    name: "Heartbeat",
    versions: between(0, 4),
    flexible_from: Some(4),
    body: &[
        field("group_id", ALL, String),
        field("generation_id", ALL, Int32),
        field("member_id", ALL, String),
        field("group_instance_id", since(3), NullableString),
    ],
};
