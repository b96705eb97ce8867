//! Why a request frame was refused before decoding.

/// A request frame that must not be handed to the decoder.
///
/// Offsets are byte positions in the frame body (the bytes after the 4-byte
/// length prefix, starting at the request header).
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum BoundsError {
    /// No schema for this API key and version, so its bounds cannot be checked.
    #[error("no request schema for api key {api_key} version {version}")]
    UnknownApi { api_key: i16, version: i16 },

    /// The header names another API or version than the one being checked.
    #[error(
        "request header says api key {found_key} version {found_version}, \
         expected api key {api_key} version {version}"
    )]
    HeaderMismatch {
        api_key: i16,
        version: i16,
        found_key: i16,
        found_version: i16,
    },

    /// The frame ends inside a field.
    #[error(
        "truncated at byte {offset} reading `{field}`: needs {needed} bytes, {remaining} left"
    )]
    Truncated {
        field: &'static str,
        offset: usize,
        needed: usize,
        remaining: usize,
    },

    /// An array claims more elements than the rest of the frame can hold.
    #[error(
        "`{field}` at byte {offset} claims {count} elements, which need at least \
         {min_bytes} bytes, but only {remaining} are left"
    )]
    CountTooLarge {
        field: &'static str,
        offset: usize,
        count: u64,
        min_bytes: u64,
        remaining: usize,
    },

    /// A string, bytes or tagged field claims more bytes than are left.
    #[error("`{field}` at byte {offset} claims {length} bytes, but only {remaining} are left")]
    LengthTooLarge {
        field: &'static str,
        offset: usize,
        length: u64,
        remaining: usize,
    },

    /// A classic length or count below -1.
    #[error("`{field}` at byte {offset} has a negative length {length}")]
    NegativeLength {
        field: &'static str,
        offset: usize,
        length: i32,
    },

    /// Null (length -1, or compact length 0) for a field that is not nullable.
    #[error("`{field}` at byte {offset} is null but not nullable")]
    UnexpectedNull { field: &'static str, offset: usize },

    /// An unsigned varint longer than 5 bytes or above `u32::MAX`.
    #[error("`{field}` at byte {offset} has an overlong unsigned varint")]
    VarintOverlong { field: &'static str, offset: usize },

    /// A known tagged field whose value does not fill exactly its declared size.
    #[error(
        "tagged field `{field}` (tag {tag}) at byte {offset} declares {declared} bytes \
         but its value takes {actual}"
    )]
    TaggedFieldSize {
        field: &'static str,
        tag: u32,
        offset: usize,
        declared: usize,
        actual: usize,
    },
}
