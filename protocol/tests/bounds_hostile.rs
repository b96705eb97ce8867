//! Hostile frames: huge or negative counts and lengths, truncation at every
//! byte, and random and mutated bytes. The walker must refuse what would make
//! the decoder over-allocate, and never panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bounds_corpus;

/// Named so that `cargo test bounds` runs these too.
mod bounds_tests {
    use crate::bounds_corpus::{covered, samples, Rng, Sample};
    use sluice_protocol::bounds::{self, BoundsError, LengthPrefix, PrefixKind};

    fn prefixes(sample: &Sample) -> Vec<LengthPrefix> {
        bounds::length_prefixes(sample.api_key, sample.version, &sample.frame)
            .unwrap_or_else(|e| panic!("{}: {e}", sample.name()))
    }

    /// `frame` with the prefix replaced by `replacement` bytes.
    fn patched(frame: &[u8], prefix: &LengthPrefix, replacement: &[u8]) -> Vec<u8> {
        let mut out = frame[..prefix.offset].to_vec();
        out.extend_from_slice(replacement);
        out.extend_from_slice(&frame[prefix.offset + prefix.width..]);
        out
    }

    /// The largest value the prefix's encoding can hold.
    fn huge(prefix: &LengthPrefix) -> Vec<u8> {
        if prefix.compact {
            vec![0xff, 0xff, 0xff, 0xff, 0x0f]
        } else if prefix.width == 2 {
            i16::MAX.to_be_bytes().to_vec()
        } else {
            i32::MAX.to_be_bytes().to_vec()
        }
    }

    #[test]
    fn every_huge_count_or_length_is_refused_where_it_stands() {
        let mut patched_prefixes = 0;
        for sample in samples() {
            for prefix in prefixes(&sample) {
                let frame = patched(&sample.frame, &prefix, &huge(&prefix));
                let result = bounds::check_request(sample.api_key, sample.version, &frame);
                let at = prefix.offset;
                let refused_here = match prefix.kind {
                    PrefixKind::Array | PrefixKind::TaggedFieldCount => {
                        matches!(result, Err(BoundsError::CountTooLarge { offset, .. }) if offset == at)
                    }
                    PrefixKind::String | PrefixKind::Bytes | PrefixKind::TaggedFieldSize => {
                        matches!(result, Err(BoundsError::LengthTooLarge { offset, .. }) if offset == at)
                    }
                };
                assert!(
                    refused_here,
                    "{}: {:?} at {at} patched to huge gave {result:?}",
                    sample.name(),
                    prefix.kind
                );
                patched_prefixes += 1;
            }
        }
        assert!(patched_prefixes > 4_000, "only {patched_prefixes} prefixes");
    }

    #[test]
    fn negative_classic_lengths_are_refused() {
        for sample in samples() {
            for prefix in prefixes(&sample).iter().filter(|p| !p.compact) {
                let minus_two: Vec<u8> = if prefix.width == 2 {
                    (-2i16).to_be_bytes().to_vec()
                } else {
                    (-2i32).to_be_bytes().to_vec()
                };
                let frame = patched(&sample.frame, prefix, &minus_two);
                let result = bounds::check_request(sample.api_key, sample.version, &frame);
                assert!(
                    matches!(result, Err(BoundsError::NegativeLength { length: -2, offset, .. }) if offset == prefix.offset),
                    "{}: {result:?}",
                    sample.name()
                );
            }
        }
    }

    #[test]
    fn every_truncation_is_refused() {
        for sample in samples() {
            for len in 0..sample.frame.len() {
                let result =
                    bounds::walk_request(sample.api_key, sample.version, &sample.frame[..len]);
                assert!(
                    result.is_err(),
                    "{} cut at {len}: {result:?}",
                    sample.name()
                );
            }
        }
    }

    /// Named regressions: the frames that motivated the walker.
    #[test]
    fn metadata_v0_claiming_two_billion_topics_is_refused() {
        // header v1: api key 3, version 0, correlation id 1, client id "x"
        let mut frame = vec![0, 3, 0, 0, 0, 0, 0, 1, 0, 1, b'x'];
        frame.extend_from_slice(&0x7fff_ffffi32.to_be_bytes());
        frame.extend_from_slice(&[0; 64]);
        assert!(matches!(
            bounds::check_request(3, 0, &frame),
            Err(BoundsError::CountTooLarge {
                field: "topics",
                offset: 11,
                count: 0x7fff_ffff,
                ..
            })
        ));
    }

    #[test]
    fn produce_v9_claiming_four_billion_topics_is_refused() {
        // header v2: api key 0, version 9, correlation id 1, null client id, no tags;
        // body: null transactional id, acks, timeout, then a compact array count.
        let mut frame = vec![0, 0, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0];
        frame.extend_from_slice(&[0, 0xff, 0xff, 0, 0, 0x75, 0x30]);
        frame.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        frame.extend_from_slice(&[0; 64]);
        assert!(matches!(
            bounds::check_request(0, 9, &frame),
            Err(BoundsError::CountTooLarge {
                field: "topic_data",
                count: 0xffff_fffe,
                ..
            })
        ));
    }

    /// A header for `api_key`/`version` with a null client id.
    fn header(api_key: i16, version: i16) -> Vec<u8> {
        let mut frame = Vec::new();
        frame.extend_from_slice(&api_key.to_be_bytes());
        frame.extend_from_slice(&version.to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 1, 0xff, 0xff]);
        if bounds::request_header_version(api_key, version) == Some(2) {
            frame.push(0);
        }
        frame
    }

    /// When the walker accepts a frame, `kafka-protocol` must be able to try
    /// decoding it without aborting; if it would over-allocate, this aborts the
    /// test process, which is the failure we guard against.
    fn walk_then_decode(
        api_key: i16,
        version: i16,
        frame: &[u8],
        decode: crate::bounds_corpus::DecodeFn,
    ) -> bool {
        match bounds::walk_request(api_key, version, frame) {
            Ok(consumed) => {
                assert!(consumed <= frame.len());
                let _ = decode(frame, version);
                true
            }
            Err(_) => false,
        }
    }

    #[test]
    fn random_bodies_never_panic() {
        let mut rng = Rng::new(0x5eed_b0de);
        let mut accepted = 0;
        for api in covered() {
            for version in api.min..=api.max {
                for _ in 0..300 {
                    let mut frame = header(api.api_key, version);
                    let len = rng.below(96);
                    frame.extend((0..len).map(|_| rng.byte()));
                    accepted +=
                        usize::from(walk_then_decode(api.api_key, version, &frame, api.decode));
                }
            }
        }
        // Empty-bodied versions and short lucky frames get through; most do not.
        assert!(accepted > 0);
    }

    #[test]
    fn mutated_valid_frames_never_panic() {
        let mut rng = Rng::new(42);
        let mut accepted = 0;
        let mut walked = 0;
        for sample in samples() {
            for _ in 0..60 {
                let mut frame = sample.frame.clone();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(frame.len());
                    frame[at] = match rng.below(3) {
                        0 => rng.byte(),
                        1 => 0xff,
                        _ => frame[at] ^ (1 << rng.below(8)),
                    };
                }
                // Keep the header's api key and version so the body is walked.
                frame[..4].copy_from_slice(&sample.frame[..4]);
                if rng.below(4) == 0 {
                    frame.truncate(rng.below(frame.len() + 1));
                }
                accepted += usize::from(walk_then_decode(
                    sample.api_key,
                    sample.version,
                    &frame,
                    sample.decode,
                ));
                walked += 1;
            }
        }
        assert!(
            accepted > 0 && accepted < walked,
            "{accepted} of {walked} accepted"
        );
    }

    #[test]
    fn fully_random_frames_never_panic() {
        let mut rng = Rng::new(7);
        for _ in 0..20_000 {
            let len = rng.below(64);
            let frame: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            let api_key = i16::try_from(rng.below(50)).unwrap_or(0);
            let version = i16::try_from(rng.below(20)).unwrap_or(0);
            let _ = bounds::walk_request(api_key, version, &frame);
        }
    }
}
