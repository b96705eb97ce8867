//! DescribeTransactions (api key 65), version 0, flexible.

use super::schema::{between, field, Api, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 65,
    name: "DescribeTransactions",
    versions: between(0, 0),
    flexible_from: Some(0),
    body: &[field("transactional_ids", ALL, Array(&String))],
};
