//! The walker: reads a frame along a schema without building anything.
//!
//! Every length and count is checked against the bytes left *before* the
//! walker moves on, so a walk costs time proportional to the frame's length
//! whatever the prefixes claim, and allocates nothing.

use super::error::BoundsError;
use super::schema::{Api, Field, Ty};

/// What a length or count prefix measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixKind {
    /// Element count of an array.
    Array,
    /// Byte length of a string.
    String,
    /// Byte length of a bytes or records field.
    Bytes,
    /// Number of entries in a tagged-fields section.
    TaggedFieldCount,
    /// Byte size of one tagged field's value.
    TaggedFieldSize,
}

/// Where a length or count prefix sits in a frame body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthPrefix {
    /// Byte position of the prefix in the frame body.
    pub offset: usize,
    /// Bytes the prefix itself takes (2 or 4 classic, 1–5 as a varint).
    pub width: usize,
    pub kind: PrefixKind,
    /// Unsigned varint (compact encoding) rather than a big-endian integer.
    pub compact: bool,
}

/// Sees every length prefix the walker reads; only tests and tools listen.
pub(crate) trait Observer {
    fn prefix(&mut self, prefix: LengthPrefix);
}

/// The observer of the hot path: ignores everything, compiles to nothing.
pub(crate) struct Ignore;

impl Observer for Ignore {
    #[inline]
    fn prefix(&mut self, _: LengthPrefix) {}
}

impl Observer for Vec<LengthPrefix> {
    fn prefix(&mut self, prefix: LengthPrefix) {
        self.push(prefix);
    }
}

/// Width of a classic (non-compact) length prefix.
#[derive(Clone, Copy)]
enum Classic {
    I16,
    I32,
}

/// Walks a request header and then `api`'s body at `version`; returns the
/// number of bytes the request takes (what follows is trailing bytes).
pub(crate) fn walk_request<O: Observer>(
    api: &Api,
    version: i16,
    frame_body: &[u8],
    observer: &mut O,
) -> Result<usize, BoundsError> {
    // The header's client_id is a classic string even in header v2, so the
    // walker starts non-flexible and turns flexible for the tagged fields.
    let mut w = Walker {
        buf: frame_body,
        pos: 0,
        version,
        flexible: false,
        observer,
    };
    let found_key = i16::from_be_bytes(w.fixed("request_api_key")?);
    let found_version = i16::from_be_bytes(w.fixed("request_api_version")?);
    if found_key != api.key || found_version != version {
        return Err(BoundsError::HeaderMismatch {
            api_key: api.key,
            version,
            found_key,
            found_version,
        });
    }
    w.skip(4, "correlation_id")?;
    w.string("client_id", true)?;
    w.flexible = api.is_flexible(version);
    if w.flexible {
        w.tagged_fields(&[])?;
    }
    w.fields(api.body)?;
    Ok(w.pos)
}

struct Walker<'a, 'o, O> {
    /// The frame body, cut at the end of the value being walked.
    buf: &'a [u8],
    /// Next byte to read; never beyond `buf.len()`.
    pos: usize,
    version: i16,
    flexible: bool,
    observer: &'o mut O,
}

impl<O: Observer> Walker<'_, '_, O> {
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&[u8], BoundsError> {
        let start = self.pos;
        let bytes =
            self.buf
                .get(start..)
                .and_then(|rest| rest.get(..n))
                .ok_or(BoundsError::Truncated {
                    field,
                    offset: start,
                    needed: n,
                    remaining: self.buf.len().saturating_sub(start),
                })?;
        self.pos = start + n;
        Ok(bytes)
    }

    fn skip(&mut self, n: usize, field: &'static str) -> Result<(), BoundsError> {
        self.take(n, field).map(|_| ())
    }

    fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], BoundsError> {
        let offset = self.pos;
        let remaining = self.remaining();
        self.take(N, field)?
            .try_into()
            .map_err(|_| BoundsError::Truncated {
                field,
                offset,
                needed: N,
                remaining,
            })
    }

    /// An unsigned varint of at most 5 bytes whose value fits in a `u32`.
    fn uvarint(&mut self, field: &'static str) -> Result<u32, BoundsError> {
        let offset = self.pos;
        let mut value = 0u32;
        for shift in [0u32, 7, 14, 21, 28] {
            let [byte] = self.fixed::<1>(field)?;
            if shift == 28 && byte > 0x0f {
                break;
            }
            value |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BoundsError::VarintOverlong { field, offset })
    }

    /// Reads a length or count prefix; `None` is null.
    fn prefix(
        &mut self,
        field: &'static str,
        kind: PrefixKind,
        classic: Classic,
        nullable: bool,
    ) -> Result<Option<u64>, BoundsError> {
        let offset = self.pos;
        let length = if self.flexible {
            self.uvarint(field)?.checked_sub(1).map(u64::from)
        } else {
            let n = match classic {
                Classic::I16 => i32::from(i16::from_be_bytes(self.fixed(field)?)),
                Classic::I32 => i32::from_be_bytes(self.fixed(field)?),
            };
            match u64::try_from(n) {
                Ok(n) => Some(n),
                Err(_) if n == -1 => None,
                Err(_) => {
                    return Err(BoundsError::NegativeLength {
                        field,
                        offset,
                        length: n,
                    })
                }
            }
        };
        self.observer.prefix(LengthPrefix {
            offset,
            width: self.pos - offset,
            kind,
            compact: self.flexible,
        });
        if length.is_none() && !nullable {
            return Err(BoundsError::UnexpectedNull { field, offset });
        }
        Ok(length)
    }

    /// Skips `length` bytes announced by the prefix at `offset`.
    fn skip_announced(
        &mut self,
        field: &'static str,
        offset: usize,
        length: u64,
    ) -> Result<(), BoundsError> {
        let remaining = self.remaining();
        match usize::try_from(length) {
            Ok(n) if n <= remaining => self.skip(n, field),
            _ => Err(BoundsError::LengthTooLarge {
                field,
                offset,
                length,
                remaining,
            }),
        }
    }

    fn string(&mut self, field: &'static str, nullable: bool) -> Result<(), BoundsError> {
        let offset = self.pos;
        match self.prefix(field, PrefixKind::String, Classic::I16, nullable)? {
            Some(length) => self.skip_announced(field, offset, length),
            None => Ok(()),
        }
    }

    fn bytes(&mut self, field: &'static str, nullable: bool) -> Result<(), BoundsError> {
        let offset = self.pos;
        match self.prefix(field, PrefixKind::Bytes, Classic::I32, nullable)? {
            Some(length) => self.skip_announced(field, offset, length),
            None => Ok(()),
        }
    }

    /// Fails unless `count` items of at least `min_bytes` each fit in what is left.
    fn check_count(
        &self,
        field: &'static str,
        offset: usize,
        count: u64,
        min_bytes: u64,
    ) -> Result<(), BoundsError> {
        let remaining = self.remaining();
        let needed = count.saturating_mul(min_bytes);
        if needed > u64::try_from(remaining).unwrap_or(u64::MAX) {
            return Err(BoundsError::CountTooLarge {
                field,
                offset,
                count,
                min_bytes: needed,
                remaining,
            });
        }
        Ok(())
    }

    fn array(
        &mut self,
        field: &'static str,
        element: &'static Ty,
        nullable: bool,
    ) -> Result<(), BoundsError> {
        let offset = self.pos;
        let Some(count) = self.prefix(field, PrefixKind::Array, Classic::I32, nullable)? else {
            return Ok(());
        };
        // Every element takes at least one byte, so the count can never
        // outnumber the bytes left; this is what bounds the decoder's
        // `Vec::with_capacity(count)`.
        self.check_count(field, offset, count, self.min_size(element).max(1))?;
        for _ in 0..count {
            self.value(element, field)?;
        }
        Ok(())
    }

    /// The fewest bytes a value of `ty` takes at the walker's version.
    fn min_size(&self, ty: &Ty) -> u64 {
        let prefix = |classic: u64| if self.flexible { 1 } else { classic };
        match ty {
            Ty::Bool | Ty::Int8 => 1,
            Ty::Int16 => 2,
            Ty::Int32 => 4,
            Ty::Int64 | Ty::Float64 => 8,
            Ty::Uuid => 16,
            Ty::String | Ty::NullableString => prefix(2),
            Ty::Bytes | Ty::NullableBytes | Ty::Records | Ty::Array(_) | Ty::NullableArray(_) => {
                prefix(4)
            }
            Ty::NullableStruct(_) => 1,
            Ty::Struct(fields) => {
                let inline: u64 = fields
                    .iter()
                    .filter(|f| f.tag.is_none() && f.versions.contains(self.version))
                    .map(|f| self.min_size(&f.ty))
                    .sum();
                inline + u64::from(self.flexible)
            }
        }
    }

    fn value(&mut self, ty: &'static Ty, field: &'static str) -> Result<(), BoundsError> {
        match ty {
            Ty::Bool | Ty::Int8 => self.skip(1, field),
            Ty::Int16 => self.skip(2, field),
            Ty::Int32 => self.skip(4, field),
            Ty::Int64 | Ty::Float64 => self.skip(8, field),
            Ty::Uuid => self.skip(16, field),
            Ty::String => self.string(field, false),
            Ty::NullableString => self.string(field, true),
            Ty::Bytes => self.bytes(field, false),
            Ty::NullableBytes | Ty::Records => self.bytes(field, true),
            Ty::Array(element) => self.array(field, element, false),
            Ty::NullableArray(element) => self.array(field, element, true),
            Ty::Struct(fields) => self.fields(fields),
            Ty::NullableStruct(fields) => {
                let present = self.buf.get(self.pos).copied();
                self.skip(1, field)?;
                if present == Some(1) {
                    self.fields(fields)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// A struct: its in-line fields, then (flexible) its tagged fields.
    fn fields(&mut self, fields: &'static [Field]) -> Result<(), BoundsError> {
        for f in fields {
            if f.tag.is_none() && f.versions.contains(self.version) {
                self.value(&f.ty, f.name)?;
            }
        }
        if self.flexible {
            self.tagged_fields(fields)?;
        }
        Ok(())
    }

    /// A tagged-fields section: count, then (tag, size, value) per field.
    ///
    /// The decoder reads a known tag's value by its type and ignores the
    /// declared size, so a known value is walked inside exactly that size:
    /// value and size must agree, and then both readings see the same bytes.
    fn tagged_fields(&mut self, fields: &'static [Field]) -> Result<(), BoundsError> {
        const FIELD: &str = "tagged fields";
        let offset = self.pos;
        let count = self.uvarint(FIELD)?;
        self.observer.prefix(LengthPrefix {
            offset,
            width: self.pos - offset,
            kind: PrefixKind::TaggedFieldCount,
            compact: true,
        });
        // A tag and a size take a byte each at least.
        self.check_count(FIELD, offset, u64::from(count), 2)?;
        for _ in 0..count {
            let tag = self.uvarint("tag")?;
            let known = fields
                .iter()
                .find(|f| f.tag == Some(tag) && f.versions.contains(self.version));
            let name = known.map_or("unknown tagged field", |f| f.name);
            let size_at = self.pos;
            let size = self.uvarint(name)?;
            self.observer.prefix(LengthPrefix {
                offset: size_at,
                width: self.pos - size_at,
                kind: PrefixKind::TaggedFieldSize,
                compact: true,
            });
            let start = self.pos;
            self.skip_announced(name, size_at, u64::from(size))?;
            let Some(known) = known else { continue };
            let mut inner = Walker {
                buf: self.buf.get(..self.pos).unwrap_or_default(),
                pos: start,
                version: self.version,
                flexible: self.flexible,
                observer: &mut *self.observer,
            };
            inner.value(&known.ty, known.name)?;
            if inner.pos != self.pos {
                return Err(BoundsError::TaggedFieldSize {
                    field: known.name,
                    tag,
                    offset: size_at,
                    declared: self.pos - start,
                    actual: inner.pos - start,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::APIS;

    /// The shortest encoding of `ty`: zeros, empty strings and arrays, no tags.
    fn minimal(ty: &Ty, version: i16, flexible: bool, out: &mut Vec<u8>) {
        let prefix = |classic: usize| if flexible { vec![1] } else { vec![0; classic] };
        match ty {
            Ty::Bool | Ty::Int8 => out.push(0),
            Ty::Int16 => out.extend([0; 2]),
            Ty::Int32 => out.extend([0; 4]),
            Ty::Int64 | Ty::Float64 => out.extend([0; 8]),
            Ty::Uuid => out.extend([0; 16]),
            Ty::String | Ty::NullableString => out.extend(prefix(2)),
            Ty::Bytes | Ty::NullableBytes | Ty::Records | Ty::Array(_) | Ty::NullableArray(_) => {
                out.extend(prefix(4))
            }
            Ty::NullableStruct(_) => out.push(0),
            Ty::Struct(fields) => {
                for f in fields.iter() {
                    if f.tag.is_none() && f.versions.contains(version) {
                        minimal(&f.ty, version, flexible, out);
                    }
                }
                if flexible {
                    out.push(0);
                }
            }
        }
    }

    /// Every array type reachable from `fields` at `version`.
    fn arrays(fields: &'static [Field], version: i16, found: &mut Vec<&'static Ty>) {
        for f in fields.iter().filter(|f| f.versions.contains(version)) {
            let mut ty = &f.ty;
            while let Ty::Array(element) | Ty::NullableArray(element) = ty {
                found.push(element);
                ty = element;
            }
            if let Ty::Struct(inner) | Ty::NullableStruct(inner) = ty {
                arrays(inner, version, found);
            }
        }
    }

    /// The count check assumes each element takes at least `min_size` bytes:
    /// an array of minimal elements that fills the frame exactly must pass.
    #[test]
    fn min_size_never_exceeds_the_shortest_element() {
        for api in APIS {
            for version in api.versions.min..=api.versions.max {
                let flexible = api.is_flexible(version);
                let mut elements = Vec::new();
                arrays(api.body, version, &mut elements);
                for element in elements {
                    let mut one = Vec::new();
                    minimal(element, version, flexible, &mut one);
                    let mut frame = if flexible { vec![4] } else { vec![0, 0, 0, 3] };
                    for _ in 0..3 {
                        frame.extend_from_slice(&one);
                    }
                    let mut w = Walker {
                        buf: &frame,
                        pos: 0,
                        version,
                        flexible,
                        observer: &mut Ignore,
                    };
                    assert_eq!(
                        w.min_size(element),
                        one.len() as u64,
                        "{} v{version}",
                        api.name
                    );
                    assert_eq!(
                        w.array("test", element, false),
                        Ok(()),
                        "{} v{version}",
                        api.name
                    );
                    assert_eq!(w.pos, frame.len(), "{} v{version}", api.name);
                }
            }
        }
    }
}
