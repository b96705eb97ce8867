//! TxnOffsetCommit (api key 28), versions 0–4, flexible from 3.

use super::schema::{between, field, since, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 28,
    name: "TxnOffsetCommit",
    versions: between(0, 4),
    flexible_from: Some(3),
    body: &[
        field("transactional_id", ALL, String),
        field("group_id", ALL, String),
        field("producer_id", ALL, Int64),
        field("producer_epoch", ALL, Int16),
        field("generation_id", since(3), Int32),
        field("member_id", since(3), String),
        field("group_instance_id", since(3), NullableString),
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
    field("committed_leader_epoch", since(2), Int32),
    field("committed_metadata", ALL, NullableString),
]);
