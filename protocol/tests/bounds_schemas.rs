//! The bounds schemas agree with `kafka-protocol`, the decoder the broker uses:
//! for every covered API and every version, the walker accepts what
//! `kafka-protocol` encodes and consumes exactly the bytes it decodes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bounds_corpus;

/// Named so that `cargo test bounds` runs these too.
mod bounds_tests {
    use crate::bounds_corpus::{covered, header_version, samples, Sample};
    use sluice_protocol::bounds::{self, LengthPrefix, PrefixKind};

    #[test]
    fn walker_consumes_exactly_what_kafka_protocol_encodes() {
        let samples = samples();
        assert!(samples.len() > 400, "only {} samples", samples.len());
        for sample in &samples {
            let decoded = (sample.decode)(&sample.frame, sample.version)
                .unwrap_or_else(|e| panic!("{}: kafka-protocol cannot decode: {e}", sample.name()));
            assert_eq!(
                decoded,
                sample.frame.len(),
                "{}: kafka-protocol leaves bytes",
                sample.name()
            );
            assert_eq!(
                bounds::walk_request(sample.api_key, sample.version, &sample.frame),
                Ok(sample.frame.len()),
                "{}",
                sample.name()
            );
            assert_eq!(
                bounds::check_request(sample.api_key, sample.version, &sample.frame),
                Ok(()),
                "{}",
                sample.name()
            );
        }
    }

    #[test]
    fn trailing_bytes_are_allowed_and_not_counted() {
        for sample in samples() {
            let mut frame = sample.frame.clone();
            frame.extend_from_slice(&[0xff; 9]);
            assert_eq!(
                bounds::walk_request(sample.api_key, sample.version, &frame),
                Ok(sample.frame.len()),
                "{}",
                sample.name()
            );
        }
    }

    #[test]
    fn schema_versions_and_header_versions_match_kafka_protocol() {
        for api in covered() {
            assert_eq!(
                bounds::schema_versions(api.api_key),
                Some(api.min..=api.max),
                "api {}",
                api.api_key
            );
            assert!(bounds::api_name(api.api_key).is_some());
            for version in api.min..=api.max {
                assert!(bounds::has_schema(api.api_key, version));
                assert_eq!(
                    bounds::request_header_version(api.api_key, version),
                    Some(header_version(api.api_key, version)),
                    "api {} v{version}",
                    api.api_key
                );
            }
            assert!(!bounds::has_schema(api.api_key, api.min - 1));
            assert!(!bounds::has_schema(api.api_key, api.max + 1));
        }
    }

    #[test]
    fn covers_the_requested_apis() {
        let wanted: &[(i16, i16, i16)] = &[
            (18, 0, 4),
            (3, 0, 13),
            (19, 2, 7),
            (20, 1, 6),
            (0, 3, 13),
            (1, 4, 18),
            (2, 1, 10),
            (10, 0, 6),
            (11, 0, 9),
            (14, 0, 5),
            (12, 0, 4),
            (13, 0, 5),
            (8, 2, 9),
            (9, 1, 9),
            (16, 0, 5),
            (15, 0, 6),
            (42, 0, 2),
            (47, 0, 0),
            (48, 0, 1),
            (49, 0, 1),
            (22, 0, 5),
            (21, 0, 2),
            (32, 1, 4),
            (37, 0, 3),
            (24, 0, 3),
            (25, 0, 4),
            (26, 0, 4),
            (28, 0, 4),
            (61, 0, 0),
            (65, 0, 0),
            (66, 0, 1),
            (23, 2, 4),
            (35, 1, 4),
            (43, 0, 2),
            (45, 0, 1),
            (46, 0, 0),
            (57, 0, 2),
            (60, 0, 2),
            (75, 0, 0),
            (33, 0, 2),
            (44, 0, 1),
        ];
        for &(key, min, max) in wanted {
            assert_eq!(bounds::schema_versions(key), Some(min..=max), "api {key}");
        }
        assert_eq!(covered().len(), wanted.len());
    }

    /// The value a length prefix announces; `None` for null.
    fn announced(frame: &[u8], prefix: &LengthPrefix) -> Option<u64> {
        let bytes = &frame[prefix.offset..prefix.offset + prefix.width];
        if prefix.compact {
            let value = bytes
                .iter()
                .enumerate()
                .fold(0u64, |acc, (i, b)| acc | u64::from(b & 0x7f) << (7 * i));
            match prefix.kind {
                PrefixKind::TaggedFieldCount | PrefixKind::TaggedFieldSize => Some(value),
                _ => value.checked_sub(1),
            }
        } else if prefix.width == 2 {
            u64::try_from(i16::from_be_bytes([bytes[0], bytes[1]])).ok()
        } else {
            u64::try_from(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])).ok()
        }
    }

    fn prefixes(sample: &Sample) -> Vec<LengthPrefix> {
        bounds::length_prefixes(sample.api_key, sample.version, &sample.frame)
            .unwrap_or_else(|e| panic!("{}: {e}", sample.name()))
    }

    /// Guards the corpus itself: the `full` samples really have two elements in
    /// every array, no nulls, and unknown tagged fields in every flexible struct;
    /// the `nulls` samples really have nulls.
    #[test]
    fn full_samples_are_rich_and_null_samples_have_nulls() {
        for sample in samples() {
            let prefixes = prefixes(&sample);
            match sample.label {
                "full" => {
                    for prefix in &prefixes {
                        let value = announced(&sample.frame, prefix);
                        match prefix.kind {
                            PrefixKind::Array => {
                                assert_eq!(value, Some(2), "{} at {}", sample.name(), prefix.offset)
                            }
                            PrefixKind::String | PrefixKind::Bytes => {
                                assert!(value.is_some(), "{} at {}", sample.name(), prefix.offset)
                            }
                            PrefixKind::TaggedFieldCount => {
                                assert!(value >= Some(2), "{} at {}", sample.name(), prefix.offset)
                            }
                            PrefixKind::TaggedFieldSize => {}
                        }
                    }
                    let flexible =
                        bounds::request_header_version(sample.api_key, sample.version) == Some(2);
                    let has_tags = prefixes
                        .iter()
                        .any(|p| p.kind == PrefixKind::TaggedFieldCount);
                    assert_eq!(flexible, has_tags, "{}", sample.name());
                }
                "nulls" => {
                    // The header's client id is null in every `nulls` sample.
                    assert!(
                        prefixes
                            .iter()
                            .any(|p| announced(&sample.frame, p).is_none()),
                        "{}",
                        sample.name()
                    );
                }
                _ => {}
            }
        }
    }

    /// Known tagged fields are walked by their type: Fetch v15+ carries
    /// `replica_state` (tag 1) with its own nested tagged fields, and v18
    /// partitions carry `high_watermark`; all of them are seen as prefixes.
    #[test]
    fn known_tagged_fields_are_walked_inside() {
        let sample = samples()
            .into_iter()
            .find(|s| s.api_key == 1 && s.version == 18 && s.label == "full")
            .expect("fetch v18 sample");
        let prefixes = prefixes(&sample);
        let tag_sections = prefixes
            .iter()
            .filter(|p| p.kind == PrefixKind::TaggedFieldCount)
            .count();
        // header, request, replica_state, 2 topics, 4 partitions, 2 forgotten topics
        assert_eq!(tag_sections, 11);
    }
}
