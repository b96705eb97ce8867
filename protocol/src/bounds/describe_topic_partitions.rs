//! DescribeTopicPartitions (api key 75), version 0, flexible.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 75,
    name: "DescribeTopicPartitions",
    versions: between(0, 0),
    flexible_from: Some(0),
    body: &[
        field("topics", ALL, Array(&TOPIC)),
        field("response_partition_limit", ALL, Int32),
        field(
            "cursor",
            ALL,
            NullableStruct(&[
                field("topic_name", ALL, String),
                field("partition_index", ALL, Int32),
            ]),
        ),
    ],
};

const TOPIC: Ty = Struct(&[field("name", ALL, String)]);
