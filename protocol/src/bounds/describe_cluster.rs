//! DescribeCluster (api key 60), versions 0-2, flexible.

use super::schema::{between, field, since, Api, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 60,
    name: "DescribeCluster",
    versions: between(0, 2),
    flexible_from: Some(0),
    body: &[
        field("include_cluster_authorized_operations", ALL, Bool),
        field("endpoint_type", since(1), Int8),
        field("include_fenced_brokers", since(2), Bool),
    ],
};
