//! OffsetForLeaderEpoch (api key 23), versions 2-4 (v0-v1 removed in Kafka
//! 4.0), flexible from 4.

use super::schema::{between, field, since, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 23,
    name: "OffsetForLeaderEpoch",
    versions: between(2, 4),
    flexible_from: Some(4),
    body: &[
        field("replica_id", since(3), Int32),
        field("topics", ALL, Array(&TOPIC)),
    ],
};

const TOPIC: Ty = Struct(&[
    field("topic", ALL, String),
    field("partitions", ALL, Array(&PARTITION)),
]);

const PARTITION: Ty = Struct(&[
    field("partition", ALL, Int32),
    field("current_leader_epoch", ALL, Int32),
    field("leader_epoch", ALL, Int32),
]);
