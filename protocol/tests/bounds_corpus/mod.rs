//! Valid request frames for every API and version the bounds walker covers,
//! encoded by `kafka-protocol` (the encoder of record), shared by the
//! `bounds_*` tests.
//!
//! Each (API, version) yields three frames:
//! - `full`: every field `kafka-protocol` can encode at that version is set,
//!   every array has two elements at every level, no nullable is null, and
//!   every struct (and the header) carries two unknown tagged fields when the
//!   version is flexible;
//! - `nulls`: the same with every nullable string, array and record set null
//!   and a null client id;
//! - `default`: the request's `Default`, i.e. empty arrays and strings.

#![allow(dead_code)] // each test crate uses part of the corpus

mod requests;

use std::collections::BTreeMap;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};

/// Decodes header and body with `kafka-protocol`; returns the bytes consumed.
pub type DecodeFn = fn(frame: &[u8], version: i16) -> Result<usize, String>;

/// One encoded request frame body (header + request, no length prefix).
pub struct Sample {
    pub api_key: i16,
    pub version: i16,
    pub label: &'static str,
    pub frame: Vec<u8>,
    pub decode: DecodeFn,
}

impl Sample {
    pub fn name(&self) -> String {
        format!("api {} v{} {}", self.api_key, self.version, self.label)
    }
}

/// One covered API as `kafka-protocol` knows it.
pub struct Covered {
    pub api_key: i16,
    pub min: i16,
    pub max: i16,
    pub decode: DecodeFn,
}

/// Every covered API, with the versions `kafka-protocol` supports for it.
pub fn covered() -> Vec<Covered> {
    requests::all().into_iter().map(|api| api.covered).collect()
}

/// Every sample of every covered API and version.
pub fn samples() -> Vec<Sample> {
    requests::all()
        .into_iter()
        .flat_map(|api| api.samples)
        .collect()
}

/// The samples of one API, built by `build(version, nulls)`.
pub struct ApiSamples {
    pub covered: Covered,
    pub samples: Vec<Sample>,
}

pub fn api<T>(api_key: i16, build: fn(i16, bool) -> T) -> ApiSamples
where
    T: Encodable + Decodable + Default + Message,
{
    api_upto(api_key, T::VERSIONS.max, build)
}

/// Like [`api`], for the versions up to `max` only: the broker serves
/// fewer than `kafka-protocol` knows (the rest are broker-to-broker or
/// need features Sluice lacks).
pub fn api_upto<T>(api_key: i16, max: i16, build: fn(i16, bool) -> T) -> ApiSamples
where
    T: Encodable + Decodable + Default + Message,
{
    let decode: DecodeFn = decode_frame::<T>;
    let mut samples = Vec::new();
    let max = max.min(T::VERSIONS.max);
    for version in T::VERSIONS.min..=max {
        let variants = [
            (
                "full",
                build(version, false),
                Some("sluice-test-client"),
                true,
            ),
            ("nulls", build(version, true), None, false),
            ("default", T::default(), Some(""), false),
        ];
        for (label, body, client_id, header_tags) in variants {
            let frame = encode_frame(api_key, version, &body, client_id, header_tags);
            samples.push(Sample {
                api_key,
                version,
                label,
                frame,
                decode,
            });
        }
    }
    ApiSamples {
        covered: Covered {
            api_key,
            min: T::VERSIONS.min,
            max,
            decode,
        },
        samples,
    }
}

pub fn header_version(api_key: i16, version: i16) -> i16 {
    ApiKey::try_from(api_key)
        .expect("known api key")
        .request_header_version(version)
}

fn encode_frame<T: Encodable>(
    api_key: i16,
    version: i16,
    body: &T,
    client_id: Option<&str>,
    header_tags: bool,
) -> Vec<u8> {
    let mut header = RequestHeader::default();
    header.request_api_key = api_key;
    header.request_api_version = version;
    header.correlation_id = 0x0102_0304;
    header.client_id = client_id.map(s);
    if header_tags {
        header.unknown_tagged_fields = tags();
    }
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, header_version(api_key, version))
        .expect("header encodes");
    body.encode(&mut buf, version).unwrap_or_else(|e| {
        panic!("api {api_key} v{version} body does not encode: {e:#}");
    });
    buf.to_vec()
}

fn decode_frame<T: Decodable>(frame: &[u8], version: i16) -> Result<usize, String> {
    let mut buf = Bytes::copy_from_slice(frame);
    let header = RequestHeader::decode(&mut buf, header_version_of(frame, version))
        .map_err(|e| format!("header: {e:#}"))?;
    if header.request_api_version != version {
        return Err(format!("header says v{}", header.request_api_version));
    }
    T::decode(&mut buf, version).map_err(|e| format!("body: {e:#}"))?;
    Ok(frame.len() - buf.remaining())
}

/// Header version for the api key in the frame's first two bytes.
fn header_version_of(frame: &[u8], version: i16) -> i16 {
    let key = frame
        .get(..2)
        .map_or(-1, |b| i16::from_be_bytes([b[0], b[1]]));
    ApiKey::try_from(key).map_or(1, |k| k.request_header_version(version))
}

/// Whether `kafka-protocol` can encode `message` at `version`: it refuses a
/// non-default value in a field the version does not have.
pub fn encodes<T: Encodable>(message: &T, version: i16) -> bool {
    message.encode(&mut BytesMut::new(), version).is_ok()
}

/// Builds `$ty::default()` and sets each listed field that the version can
/// carry, leaving the others at their default.
macro_rules! fill {
    ($version:expr, $ty:ty { $($field:ident : $value:expr),* $(,)? }) => {{
        let mut message = <$ty>::default();
        $(
            let mut trial = message.clone();
            trial.$field = $value;
            if $crate::bounds_corpus::encodes(&trial, $version) {
                message = trial;
            }
        )*
        message
    }};
}
pub(crate) use fill;

pub fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

/// Two unknown tagged fields: a short one and one whose tag and size take
/// multi-byte varints.
pub fn tags() -> BTreeMap<i32, Bytes> {
    BTreeMap::from([
        (100, Bytes::from_static(b"tag")),
        (20_000, Bytes::from(vec![0xab; 200])),
    ])
}

/// `Some(value)`, or `None` for the `nulls` variant.
pub fn unless<T>(nulls: bool, value: T) -> Option<T> {
    (!nulls).then_some(value)
}

/// Deterministic xorshift64* for the fuzz-style tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}
