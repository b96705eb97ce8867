//! Zigzag varints as used inside v2 records, and the small nom toolkit the
//! record parser is built from.
//!
//! A varint is little-endian base-128: 7 payload bits per byte, high bit set
//! on every byte but the last. Signed values are zigzag-mapped first
//! (0, -1, 1, -2, ... → 0, 1, 2, 3, ...). An `i32` takes at most 5 bytes and an
//! `i64` at most 10; longer encodings, and encodings whose last byte carries
//! bits beyond the type's width, are refused rather than silently truncated.
//!
//! Ours rather than kafka-protocol's `VarInt` / `VarLong`: those cannot be
//! called from outside that crate (their `Encoder` / `Decoder` traits are
//! crate-private in 0.18), and their readers are lenient where a broker must
//! not be: after five bytes (ten for a varlong) with the continuation bit set
//! they stop without an error, reading the rest of an over-long varint as the
//! next field, where Kafka refuses it; and they drop bits beyond the type's
//! width.

use nom::bytes::complete::take;
use nom::error::{ErrorKind, ParseError};
use nom::number::complete::u8 as byte;
use nom::IResult;

/// What went wrong while parsing record bytes; turned into a
/// [`RecordsError`](super::RecordsError) with context by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireError {
    /// The input ended inside a field.
    Truncated,
    /// A varint is longer than its type allows or overflows it.
    VarintTooLong,
    /// A field has a value no valid record has.
    Invalid(&'static str),
}

impl WireError {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            WireError::Truncated => "truncated",
            WireError::VarintTooLong => "varint too long",
            WireError::Invalid(what) => what,
        }
    }
}

impl<'a> ParseError<&'a [u8]> for WireError {
    fn from_error_kind(_input: &'a [u8], _kind: ErrorKind) -> Self {
        // The only parsers used are `complete` ones that fail when input runs out.
        WireError::Truncated
    }

    fn append(_input: &'a [u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(crate) type WireResult<'a, T> = IResult<&'a [u8], T, WireError>;

/// Fails the parse with `err`, without letting combinators try alternatives.
pub(crate) fn fail<T>(err: WireError) -> Result<T, nom::Err<WireError>> {
    Err(nom::Err::Failure(err))
}

/// Unwraps nom's error wrapper.
pub(crate) fn flatten(err: nom::Err<WireError>) -> WireError {
    match err {
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        nom::Err::Incomplete(_) => WireError::Truncated,
    }
}

/// Reads an unsigned base-128 varint of at most `max_bytes` bytes (at most 10).
fn unsigned(input: &[u8], max_bytes: u32) -> WireResult<'_, u64> {
    let mut value: u64 = 0;
    let mut rest = input;
    for index in 0..max_bytes.min(10) {
        let (after, b) = byte(rest)?;
        rest = after;
        let payload = u64::from(b & 0x7f);
        let shift = 7 * index;
        let shifted = payload << shift;
        if shifted >> shift != payload {
            return fail(WireError::VarintTooLong);
        }
        value |= shifted;
        if b & 0x80 == 0 {
            return Ok((rest, value));
        }
    }
    fail(WireError::VarintTooLong)
}

/// Reads a zigzag `i32` varint (at most 5 bytes).
pub(crate) fn varint(input: &[u8]) -> WireResult<'_, i32> {
    let (rest, raw) = unsigned(input, 5)?;
    let Ok(raw) = u32::try_from(raw) else {
        return fail(WireError::VarintTooLong);
    };
    let value = (raw >> 1) as i32 ^ -((raw & 1) as i32);
    Ok((rest, value))
}

/// Reads a zigzag `i64` varlong (at most 10 bytes).
pub(crate) fn varlong(input: &[u8]) -> WireResult<'_, i64> {
    let (rest, raw) = unsigned(input, 10)?;
    let value = (raw >> 1) as i64 ^ -((raw & 1) as i64);
    Ok((rest, value))
}

/// Reads a varint length followed by that many bytes; length -1 is null.
/// The length is checked against the remaining input by `take`, so nothing is
/// allocated or trusted beyond what is actually there.
pub(crate) fn nullable_bytes(input: &[u8]) -> WireResult<'_, Option<&[u8]>> {
    let (rest, len) = varint(input)?;
    match len {
        -1 => Ok((rest, None)),
        len if len < -1 => fail(WireError::Invalid("negative length")),
        len => {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            let (rest, bytes) = take(len)(rest)?;
            Ok((rest, Some(bytes)))
        }
    }
}

/// Appends `value` as a zigzag varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_unsigned(out, ((value << 1) ^ (value >> 31)) as u32 as u64);
}

/// Appends `value` as a zigzag varlong.
pub(crate) fn put_varlong(out: &mut Vec<u8>, value: i64) {
    put_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn put_unsigned(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc32(v: i32) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    fn enc64(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varlong(&mut out, v);
        out
    }

    fn read32(bytes: &[u8]) -> Result<(usize, i32), WireError> {
        varint(bytes)
            .map(|(rest, v)| (rest.len(), v))
            .map_err(flatten)
    }

    fn read64(bytes: &[u8]) -> Result<(usize, i64), WireError> {
        varlong(bytes)
            .map(|(rest, v)| (rest.len(), v))
            .map_err(flatten)
    }

    #[test]
    fn known_encodings() {
        // Zigzag: 0→0, -1→1, 1→2, -2→3, 63→126, -64→127, 64→128.
        assert_eq!(enc32(0), [0x00]);
        assert_eq!(enc32(-1), [0x01]);
        assert_eq!(enc32(1), [0x02]);
        assert_eq!(enc32(-2), [0x03]);
        assert_eq!(enc32(63), [0x7e]);
        assert_eq!(enc32(-64), [0x7f]);
        assert_eq!(enc32(64), [0x80, 0x01]);
        assert_eq!(enc32(300), [0xd8, 0x04]);
        assert_eq!(enc32(i32::MAX), [0xfe, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(enc32(i32::MIN), [0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(enc64(i64::MIN).len(), 10);
        assert_eq!(enc64(i64::MIN)[9], 0x01);
    }

    #[test]
    fn round_trips() {
        for v in [0, 1, -1, 2, -2, 127, -128, 1 << 20, i32::MAX, i32::MIN] {
            assert_eq!(read32(&enc32(v)), Ok((0, v)), "{v}");
        }
        for v in [
            0,
            1,
            -1,
            i64::from(i32::MAX) + 1,
            i64::MAX,
            i64::MIN,
            -1 << 40,
        ] {
            assert_eq!(read64(&enc64(v)), Ok((0, v)), "{v}");
        }
    }

    #[test]
    fn leaves_the_rest() {
        let mut bytes = enc32(-300);
        bytes.extend_from_slice(&[9, 9]);
        assert_eq!(read32(&bytes), Ok((2, -300)));
    }

    #[test]
    fn truncated_is_reported() {
        assert_eq!(read32(&[]), Err(WireError::Truncated));
        assert_eq!(read32(&[0x80]), Err(WireError::Truncated));
        assert_eq!(read32(&[0xff, 0xff, 0xff, 0xff]), Err(WireError::Truncated));
        assert_eq!(read64(&[0xff; 9]), Err(WireError::Truncated));
    }

    #[test]
    fn overlong_is_refused() {
        // Six bytes for an i32.
        assert_eq!(
            read32(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            Err(WireError::VarintTooLong)
        );
        // Five bytes, but the fifth carries bits above 32.
        assert_eq!(
            read32(&[0xff, 0xff, 0xff, 0xff, 0x1f]),
            Err(WireError::VarintTooLong)
        );
        // Eleven bytes for an i64.
        let mut eleven = vec![0x80; 10];
        eleven.push(0x00);
        assert_eq!(read64(&eleven), Err(WireError::VarintTooLong));
        // Ten bytes, but the tenth carries bits above 64.
        let mut ten = vec![0xff; 9];
        ten.push(0x02);
        assert_eq!(read64(&ten), Err(WireError::VarintTooLong));
    }

    #[test]
    fn padded_but_short_enough_encodings_are_accepted() {
        // Kafka's readers accept non-minimal encodings within the byte limit.
        assert_eq!(read32(&[0x82, 0x80, 0x00]), Ok((0, 1)));
    }

    #[test]
    fn nullable_bytes_cases() {
        let read = |bytes: &[u8]| {
            nullable_bytes(bytes)
                .map(|(rest, v)| (rest.len(), v.map(<[u8]>::to_vec)))
                .map_err(flatten)
        };
        assert_eq!(read(&[0x01]), Ok((0, None)));
        assert_eq!(read(&[0x00, 7]), Ok((1, Some(vec![]))));
        assert_eq!(read(&[0x04, b'h', b'i', 0]), Ok((1, Some(b"hi".to_vec()))));
        assert_eq!(read(&[0x04, b'h']), Err(WireError::Truncated));
        assert_eq!(read(&[0x03]), Err(WireError::Invalid("negative length")));
        // A huge length with little input behind it is refused without allocating.
        assert_eq!(read(&enc32(i32::MAX)), Err(WireError::Truncated));
    }
}
