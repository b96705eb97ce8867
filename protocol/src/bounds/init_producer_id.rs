//! InitProducerId (api key 22), versions 0–5, flexible from 2.
//!
//! `kafka-protocol` 0.18 stops at version 5 (v6 adds two-phase commit).

use super::schema::{between, field, since, Api, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 22,
    name: "InitProducerId",
    versions: between(0, 5),
    flexible_from: Some(2),
    body: &[
        field("transactional_id", ALL, NullableString),
        field("transaction_timeout_ms", ALL, Int32),
        field("producer_id", since(3), Int64),
        field("producer_epoch", since(3), Int16),
    ],
};
