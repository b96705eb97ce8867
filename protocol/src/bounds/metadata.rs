//! Metadata (api key 3), versions 0–13, flexible from 9.
//!
//! A null `topics` array asks for all topics.

use super::schema::{between, field, since, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 3,
    name: "Metadata",
    versions: between(0, 13),
    flexible_from: Some(9),
    body: &[
        field("topics", ALL, NullableArray(&TOPIC)),
        field("allow_auto_topic_creation", since(4), Bool),
        field(
            "include_cluster_authorized_operations",
            between(8, 10),
            Bool,
        ),
        field("include_topic_authorized_operations", since(8), Bool),
    ],
};

const TOPIC: Ty = Struct(&[
    field("topic_id", since(10), Uuid),
    field("name", ALL, NullableString),
]);
