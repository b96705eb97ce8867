//! OffsetCommit (api key 8), versions 2–9, flexible from 8.
//!
//! `kafka-protocol` 0.18 stops at version 9 (v10 adds topic ids).

use super::schema::{between, field, since, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 8,
    name: "OffsetCommit",
    versions: between(2, 9),
    flexible_from: Some(8),
    body: &[
        field("group_id", ALL, String),
        field("generation_id_or_member_epoch", ALL, Int32),
        field("member_id", ALL, String),
        field("group_instance_id", since(7), NullableString),
        field("retention_time_ms", between(2, 4), Int64),
        field("topics", ALL, Array(&TOPIC)),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("partitions", ALL, Array(&PARTITION)),
]);

const PARTITION: Ty = Struct(&[
    field("partition_index", ALL, Int32),
    field("committed_offset", ALL, Int64),
    field("committed_leader_epoch", since(6), Int32),
    field("committed_metadata", ALL, NullableString),
]);
