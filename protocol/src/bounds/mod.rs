//! Bounds checks on request frames before they reach the decoder.
//!
//! The `kafka-protocol` decoders size their vectors from the wire:
//! `Vec::with_capacity(count)` with the count straight from an `i32` (classic
//! arrays) or an unsigned varint (compact arrays). A frame that claims 2^31
//! elements would make the broker allocate hundreds of gigabytes and abort.
//! [`check_request`] walks the whole frame body — request header and request
//! body — along the exact field layout of that API and version and refuses the
//! frame if any count or length claims more than the bytes that are left, if
//! a varint is overlong, or if anything is cut short. Once a frame passes, the
//! decoder's allocations are those of a genuine request of the same size.
//!
//! The layouts live in one small file per API (`produce.rs`, `fetch.rs`, ...),
//! written in the schema language of `schema.rs` and derived from the decode
//! functions of `kafka-protocol` 0.18. Adding an API takes such a file, its
//! line in `APIS`, and a request builder in
//! `protocol/tests/bounds_corpus/requests.rs`; the `bounds_*` tests then prove
//! the schema against `kafka-protocol`'s encoder for every version.
//!
//! Trailing bytes after the request body are allowed, as Kafka allows them.
//! A version without a schema is refused ([`BoundsError::UnknownApi`]): the
//! broker must not decode it. ApiVersions requests of a version the broker
//! does not know are the one case Kafka answers anyway (with v0 and
//! UNSUPPORTED_VERSION); that path must not decode the body either.

mod error;
mod schema;
mod walk;

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_client_quotas;
mod alter_configs;
mod alter_partition_reassignments;
mod api_versions;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_client_quotas;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_producers;
mod describe_topic_partitions;
mod describe_transactions;
mod elect_leaders;
mod end_txn;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod list_partition_reassignments;
mod list_transactions;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod sync_group;
mod txn_offset_commit;
mod update_features;

use std::ops::RangeInclusive;

pub use error::BoundsError;
pub use walk::{LengthPrefix, PrefixKind};

use schema::Api;

/// Every API with a request schema, by api key.
static APIS: &[&Api] = &[
    &produce::API,
    &fetch::API,
    &list_offsets::API,
    &metadata::API,
    &offset_commit::API,
    &offset_fetch::API,
    &find_coordinator::API,
    &join_group::API,
    &heartbeat::API,
    &leave_group::API,
    &sync_group::API,
    &describe_groups::API,
    &list_groups::API,
    &api_versions::API,
    &create_topics::API,
    &delete_topics::API,
    &delete_records::API,
    &init_producer_id::API,
    &describe_configs::API,
    &alter_configs::API,
    &create_partitions::API,
    &delete_groups::API,
    &incremental_alter_configs::API,
    &offset_delete::API,
    &describe_client_quotas::API,
    &alter_client_quotas::API,
    &add_partitions_to_txn::API,
    &add_offsets_to_txn::API,
    &end_txn::API,
    &txn_offset_commit::API,
    &describe_producers::API,
    &describe_transactions::API,
    &list_transactions::API,
    &offset_for_leader_epoch::API,
    &describe_log_dirs::API,
    &elect_leaders::API,
    &alter_partition_reassignments::API,
    &list_partition_reassignments::API,
    &update_features::API,
    &describe_cluster::API,
    &describe_topic_partitions::API,
];

fn find(api_key: i16) -> Option<&'static Api> {
    APIS.iter().copied().find(|api| api.key == api_key)
}

fn find_version(api_key: i16, version: i16) -> Result<&'static Api, BoundsError> {
    find(api_key)
        .filter(|api| api.versions.contains(version))
        .ok_or(BoundsError::UnknownApi { api_key, version })
}

/// Checks that the request in `frame_body` (the frame after its 4-byte length:
/// request header, then body) can be decoded without unbounded allocation.
///
/// Fails with [`BoundsError::UnknownApi`] when there is no schema for
/// (`api_key`, `api_version`); the caller must not decode such a request.
pub fn check_request(api_key: i16, api_version: i16, frame_body: &[u8]) -> Result<(), BoundsError> {
    walk_request(api_key, api_version, frame_body).map(|_| ())
}

/// Like [`check_request`], and returns how many bytes header and body take;
/// anything after that is trailing bytes.
pub fn walk_request(
    api_key: i16,
    api_version: i16,
    frame_body: &[u8],
) -> Result<usize, BoundsError> {
    let api = find_version(api_key, api_version)?;
    walk::walk_request(api, api_version, frame_body, &mut walk::Ignore)
}

/// Whether [`check_request`] knows the layout of this API version.
pub fn has_schema(api_key: i16, version: i16) -> bool {
    find_version(api_key, version).is_ok()
}

/// The versions of `api_key` that have a schema, if any.
pub fn schema_versions(api_key: i16) -> Option<RangeInclusive<i16>> {
    find(api_key).map(|api| api.versions.min..=api.versions.max)
}

/// The Kafka name of an API that has a schema, e.g. `"Produce"` for 0.
pub fn api_name(api_key: i16) -> Option<&'static str> {
    find(api_key).map(|api| api.name)
}

/// The request header version (1, or 2 for flexible versions) the schema
/// expects for this API version.
pub fn request_header_version(api_key: i16, version: i16) -> Option<i16> {
    find_version(api_key, version)
        .ok()
        .map(|api| api.header_version(version))
}

/// Every length and count prefix of a valid request, in wire order.
///
/// For tests and fuzzing: it lets them aim corruption at the prefixes.
#[doc(hidden)]
pub fn length_prefixes(
    api_key: i16,
    api_version: i16,
    frame_body: &[u8],
) -> Result<Vec<LengthPrefix>, BoundsError> {
    let api = find_version(api_key, api_version)?;
    let mut prefixes = Vec::new();
    walk::walk_request(api, api_version, frame_body, &mut prefixes)?;
    Ok(prefixes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_unique_and_ranges_sane() {
        for (i, api) in APIS.iter().enumerate() {
            assert!(api.versions.min <= api.versions.max, "{}", api.name);
            assert!(
                APIS.iter().skip(i + 1).all(|other| other.key != api.key),
                "duplicate api key {}",
                api.key
            );
        }
    }

    /// Header v2, ApiVersions v3, correlation 7, client "c", and the given tail.
    fn api_versions_v3(tail: &[u8]) -> Vec<u8> {
        let mut frame = vec![0, 18, 0, 3, 0, 0, 0, 7, 0, 1, b'c', 0];
        frame.extend_from_slice(tail);
        frame
    }

    #[test]
    fn accepts_minimal_flexible_request_and_counts_bytes() {
        // Two empty compact strings, no tagged fields.
        let frame = api_versions_v3(&[1, 1, 0]);
        assert_eq!(walk_request(18, 3, &frame), Ok(frame.len()));
        let mut trailing = frame.clone();
        trailing.extend_from_slice(b"junk");
        assert_eq!(walk_request(18, 3, &trailing), Ok(frame.len()));
    }

    #[test]
    fn rejects_overlong_varints() {
        // Six continuation bytes.
        let frame = api_versions_v3(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
        assert!(matches!(
            check_request(18, 3, &frame),
            Err(BoundsError::VarintOverlong { offset: 12, .. })
        ));
        // Five bytes whose value is above u32::MAX.
        let frame = api_versions_v3(&[0xff, 0xff, 0xff, 0xff, 0x1f]);
        assert!(matches!(
            check_request(18, 3, &frame),
            Err(BoundsError::VarintOverlong { .. })
        ));
        // u32::MAX itself is a valid varint, but far too long a string.
        let frame = api_versions_v3(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(
            check_request(18, 3, &frame),
            Err(BoundsError::LengthTooLarge {
                length: 0xffff_fffe,
                ..
            })
        ));
    }

    #[test]
    fn rejects_null_where_not_nullable() {
        let frame = api_versions_v3(&[0, 1, 0]);
        assert!(matches!(
            check_request(18, 3, &frame),
            Err(BoundsError::UnexpectedNull {
                field: "client_software_name",
                ..
            })
        ));
    }

    #[test]
    fn rejects_header_for_another_api() {
        let frame = api_versions_v3(&[1, 1, 0]);
        assert!(matches!(
            check_request(18, 4, &frame),
            Err(BoundsError::HeaderMismatch { .. })
        ));
    }

    #[test]
    fn unknown_api_and_version() {
        assert_eq!(
            check_request(18, 5, &[]),
            Err(BoundsError::UnknownApi {
                api_key: 18,
                version: 5
            })
        );
        assert!(!has_schema(1000, 0));
        assert!(has_schema(0, 3));
        assert!(!has_schema(0, 2));
        assert_eq!(schema_versions(1), Some(4..=18));
    }
}
