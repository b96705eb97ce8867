//! The little language the request schemas are written in.
//!
//! A schema lists a message's fields in wire order. Each field says in which
//! versions of the API it is on the wire and what type it has; whether a string,
//! bytes or array uses the classic encoding (`i16`/`i32` length) or the compact
//! one (unsigned varint length + 1, 0 = null) follows from the version alone: an
//! API is flexible from one version on, and then every struct also ends with a
//! tagged-fields section. The walker in `walk.rs` applies those rules, so a
//! schema only has to say what differs between versions.
//!
//! Nullability mirrors the `kafka-protocol` crate, which the broker decodes
//! with: a field is nullable when its Rust type is an `Option`, in every version.

/// The versions of an API in which a field is on the wire, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Versions {
    pub(crate) min: i16,
    pub(crate) max: i16,
}

impl Versions {
    pub(crate) const fn contains(self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }
}

/// Present in every version the API's schema covers.
pub(crate) const ALL: Versions = Versions {
    min: 0,
    max: i16::MAX,
};

/// Present from `min` on.
pub(crate) const fn since(min: i16) -> Versions {
    Versions { min, max: i16::MAX }
}

/// Present up to and including `max`.
pub(crate) const fn until(max: i16) -> Versions {
    Versions { min: 0, max }
}

/// Present in `min..=max`.
pub(crate) const fn between(min: i16, max: i16) -> Versions {
    Versions { min, max }
}

/// The type of a field. The names follow Kafka's message specs.
#[derive(Debug)]
pub(crate) enum Ty {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    #[allow(dead_code)] // no covered request has one yet
    Float64,
    Uuid,
    /// STRING / COMPACT_STRING; null is an error.
    String,
    /// Like [`Ty::String`], null allowed.
    NullableString,
    /// BYTES / COMPACT_BYTES; null is an error.
    Bytes,
    /// Like [`Ty::Bytes`], null allowed.
    #[allow(dead_code)] // no covered request has one yet
    NullableBytes,
    /// A record set: nullable bytes whose content `records/` parses later.
    Records,
    /// ARRAY / COMPACT_ARRAY of the element type; null is an error.
    Array(&'static Ty),
    /// Like [`Ty::Array`], null allowed.
    NullableArray(&'static Ty),
    /// A struct: its fields in wire order, tagged ones anywhere in the list.
    Struct(&'static [Field]),
    /// A nullable struct: an `int8` marker, then the struct when the marker
    /// is 1 (what `kafka-protocol` decodes; anything else is null).
    NullableStruct(&'static [Field]),
}

/// One field of a struct.
#[derive(Debug)]
pub(crate) struct Field {
    /// The field's name in Kafka's spec (snake case), used in errors.
    pub(crate) name: &'static str,
    pub(crate) versions: Versions,
    pub(crate) ty: Ty,
    /// `Some(tag)` for a known tagged field: it is not walked in line but
    /// found in the struct's tagged-fields section.
    pub(crate) tag: Option<u32>,
}

/// A field that is on the wire in `versions`.
pub(crate) const fn field(name: &'static str, versions: Versions, ty: Ty) -> Field {
    Field {
        name,
        versions,
        ty,
        tag: None,
    }
}

/// A known tagged field (flexible versions only).
pub(crate) const fn tagged(tag: u32, name: &'static str, versions: Versions, ty: Ty) -> Field {
    Field {
        name,
        versions,
        ty,
        tag: Some(tag),
    }
}

/// The request schema of one API.
#[derive(Debug)]
pub(crate) struct Api {
    pub(crate) key: i16,
    /// The API's name in Kafka's vocabulary, e.g. `"Produce"`.
    pub(crate) name: &'static str,
    /// The versions this schema covers, both ends included.
    pub(crate) versions: Versions,
    /// The first flexible version, `None` if the API has none.
    pub(crate) flexible_from: Option<i16>,
    /// The request body's top-level fields.
    pub(crate) body: &'static [Field],
}

impl Api {
    pub(crate) fn is_flexible(&self, version: i16) -> bool {
        self.flexible_from.is_some_and(|first| version >= first)
    }

    /// Request header version: 2 (with tagged fields) for flexible versions, else 1.
    pub(crate) fn header_version(&self, version: i16) -> i16 {
        if self.is_flexible(version) {
            2
        } else {
            1
        }
    }
}
