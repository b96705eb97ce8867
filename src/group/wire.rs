//! The primitive encodings of Kafka's internal-topic records: big-endian
//! integers, `int16`-length strings and `int32`-length bytes (-1 = null),
//! and for flexible versions unsigned-varint lengths plus one with tagged
//! fields. The reader takes untrusted bytes: every length is checked
//! against what is left before anything is allocated.
//!
//! Why ours and not kafka-protocol's: its primitive encoders (`types::*`
//! with the `Encoder`/`Decoder` traits) are crate-private in 0.18, and it
//! has no schemas for the `__consumer_offsets` / `__transaction_state`
//! records (it does have the consumer protocol's, which
//! [`super::subscription`] uses).

use bytes::Bytes;

pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn new(version: i16) -> Writer {
        Writer(version.to_be_bytes().to_vec())
    }
    pub(crate) fn i8(&mut self, v: i8) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn i16(&mut self, v: i16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    /// Strings longer than `i16::MAX` bytes are cut (Kafka refuses to build
    /// them; group ids, topics and metadata are bounded well below that).
    pub(crate) fn string(&mut self, s: &str) {
        let mut end = s.len().min(i16::MAX as usize);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let bytes = s.as_bytes().get(..end).unwrap_or_default();
        self.0
            .extend_from_slice(&(bytes.len() as i16).to_be_bytes());
        self.0.extend_from_slice(bytes);
    }
    pub(crate) fn nullable_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.0.extend_from_slice(&(-1i16).to_be_bytes()),
        }
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.i32(i32::try_from(b.len()).unwrap_or(i32::MAX));
        self.0.extend_from_slice(b);
    }
}

/// Reads classic (`flexible = false`) or compact (`true`) encodings from
/// untrusted bytes; every length is checked against what is left.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    flexible: bool,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(rest: &'a [u8], flexible: bool) -> Self {
        Reader { rest, flexible }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        if n > self.rest.len() {
            return Err(FormatError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        self.take(N)?.try_into().map_err(|_| FormatError::Truncated)
    }

    pub(crate) fn i8(&mut self) -> Result<i8, FormatError> {
        Ok(i8::from_be_bytes(self.array()?))
    }
    pub(crate) fn i16(&mut self) -> Result<i16, FormatError> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    pub(crate) fn i32(&mut self) -> Result<i32, FormatError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, FormatError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn uvarint(&mut self) -> Result<u32, FormatError> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let [b] = self.array::<1>()?;
            value |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(FormatError::Invalid("varint"))
    }

    /// The length of the next string/bytes/array; `None` = null.
    fn length(&mut self, wide: bool) -> Result<Option<usize>, FormatError> {
        let len: i64 = if self.flexible {
            i64::from(self.uvarint()?) - 1
        } else if wide {
            i64::from(self.i32()?)
        } else {
            i64::from(self.i16()?)
        };
        match len {
            -1 => Ok(None),
            n if n < -1 => Err(FormatError::Invalid("negative length")),
            n => usize::try_from(n)
                .map(Some)
                .map_err(|_| FormatError::Invalid("length")),
        }
    }

    pub(crate) fn nullable_string(&mut self) -> Result<Option<String>, FormatError> {
        match self.length(false)? {
            None => Ok(None),
            Some(n) => String::from_utf8(self.take(n)?.to_vec())
                .map(Some)
                .map_err(|_| FormatError::Invalid("utf-8 string")),
        }
    }

    pub(crate) fn string(&mut self) -> Result<String, FormatError> {
        self.nullable_string()?
            .ok_or(FormatError::Invalid("null string"))
    }

    pub(crate) fn bytes(&mut self) -> Result<Bytes, FormatError> {
        match self.length(true)? {
            None => Ok(Bytes::new()),
            Some(n) => Ok(Bytes::copy_from_slice(self.take(n)?)),
        }
    }

    pub(crate) fn array_len(&mut self) -> Result<usize, FormatError> {
        let n = self.length(true)?.unwrap_or(0);
        // Each element takes at least one byte: a count above what is left
        // is a lie, refused before anything is allocated for it.
        if n > self.rest.len() {
            return Err(FormatError::Truncated);
        }
        Ok(n)
    }

    pub(crate) fn tagged_fields(&mut self) -> Result<(), FormatError> {
        if !self.flexible {
            return Ok(());
        }
        let count = self.uvarint()?;
        for _ in 0..count {
            self.uvarint()?;
            let size = self.uvarint()? as usize;
            self.take(size)?;
        }
        Ok(())
    }
}

/// A `__consumer_offsets` record that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("record ends early")]
    Truncated,
    #[error("unknown value schema version {0}")]
    UnknownVersion(i16),
    #[error("invalid {0}")]
    Invalid(&'static str),
}
