//! DeleteTopics (api key 20), versions 1–6, flexible from 4.
//!
//! Up to v5 topics by name; from v6 by name or topic id.

use super::schema::{between, field, since, until, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 20,
    name: "DeleteTopics",
    versions: between(1, 6),
    flexible_from: Some(4),
    body: &[
        field("topics", since(6), Array(&TOPIC)),
        field("topic_names", until(5), Array(&String)),
        field("timeout_ms", ALL, Int32),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, NullableString),
    field("topic_id", ALL, Uuid),
]);
