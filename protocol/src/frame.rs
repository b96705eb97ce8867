//! Length-prefixed Kafka frames.
//!
//! Every Kafka request and response travels as a frame:
//!
//! ```text
//! length: i32 (big-endian, number of bytes that follow) | body: [u8; length]
//! ```
//!
//! [`check`] answers "is a whole frame here?" for a read buffer. It judges the
//! length prefix as soon as its 4 bytes have arrived, so an oversized or
//! nonsensical length is rejected before the caller reserves memory for a body
//! that may never come. A frame error means the stream cannot be trusted any
//! more; the connection is closed rather than answered.

/// Size of the length prefix in front of every frame body.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// The smallest request body that can carry a request header: api key (i16),
/// api version (i16) and correlation id (i32).
pub const MIN_REQUEST_BODY_LEN: usize = 8;

/// Why a frame length prefix was refused.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The length prefix is negative.
    #[error("frame length {0} is negative")]
    Negative(i32),
    /// The length prefix is larger than the configured maximum frame size.
    #[error("frame length {size} exceeds the maximum frame size of {max} bytes")]
    TooLarge { size: usize, max: usize },
    /// The length prefix is too small to hold a request header.
    #[error("frame length is smaller than a request header ({MIN_REQUEST_BODY_LEN} bytes)")]
    TooSmall,
}

/// Checks whether `buf` starts with a whole request frame.
///
/// Returns:
/// - `Ok(None)` while fewer than 4 bytes, or fewer than `4 + length` bytes,
///   have arrived: read more and call again.
/// - `Ok(Some(body_len))` when `buf[4..4 + body_len]` is the whole body.
///   Bytes after it belong to the next frame.
/// - `Err(_)` as soon as the 4 length bytes are here and the length is
///   negative, below [`MIN_REQUEST_BODY_LEN`] or above `max_frame_size`; the
///   body is never waited for.
pub fn check(buf: &[u8], max_frame_size: usize) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.first_chunk::<LENGTH_PREFIX_LEN>() else {
        return Ok(None);
    };
    let declared = i32::from_be_bytes(*prefix);
    let body_len = usize::try_from(declared).map_err(|_| FrameError::Negative(declared))?;
    if body_len < MIN_REQUEST_BODY_LEN {
        return Err(FrameError::TooSmall);
    }
    if body_len > max_frame_size {
        return Err(FrameError::TooLarge {
            size: body_len,
            max: max_frame_size,
        });
    }
    let available = buf.len().saturating_sub(LENGTH_PREFIX_LEN);
    if available < body_len {
        return Ok(None);
    }
    Ok(Some(body_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = i32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn empty_and_short_prefix_need_more() {
        assert_eq!(check(&[], 100), Ok(None));
        assert_eq!(check(&[0, 0, 0], 100), Ok(None));
    }

    #[test]
    fn whole_frame_is_reported_with_its_body_length() {
        let f = frame(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(check(&f, 100), Ok(Some(9)));
    }

    #[test]
    fn partial_body_needs_more() {
        let f = frame(&[0; 20]);
        for cut in 0..f.len() {
            assert_eq!(check(&f[..cut], 100), Ok(None), "cut at {cut}");
        }
        assert_eq!(check(&f, 100), Ok(Some(20)));
    }

    #[test]
    fn bytes_of_the_next_frame_are_left_alone() {
        let mut f = frame(&[7; 8]);
        f.extend_from_slice(&frame(&[9; 12]));
        assert_eq!(check(&f, 100), Ok(Some(8)));
        assert_eq!(check(&f[12..], 100), Ok(Some(12)));
    }

    #[test]
    fn negative_length_is_refused() {
        assert_eq!(
            check(&(-1i32).to_be_bytes(), 100),
            Err(FrameError::Negative(-1))
        );
        assert_eq!(
            check(&i32::MIN.to_be_bytes(), 100),
            Err(FrameError::Negative(i32::MIN))
        );
    }

    #[test]
    fn too_large_is_refused_from_the_prefix_alone() {
        // Only the 4 prefix bytes: the body never has to arrive.
        assert_eq!(
            check(&101i32.to_be_bytes(), 100),
            Err(FrameError::TooLarge {
                size: 101,
                max: 100
            })
        );
        assert_eq!(
            check(&i32::MAX.to_be_bytes(), 1 << 20),
            Err(FrameError::TooLarge {
                size: i32::MAX as usize,
                max: 1 << 20
            })
        );
    }

    #[test]
    fn exactly_max_is_accepted() {
        assert_eq!(check(&100i32.to_be_bytes(), 100), Ok(None));
        assert_eq!(check(&frame(&[0; 100]), 100), Ok(Some(100)));
    }

    #[test]
    fn shorter_than_a_request_header_is_refused() {
        for len in 0..8i32 {
            assert_eq!(check(&len.to_be_bytes(), 100), Err(FrameError::TooSmall));
        }
        assert_eq!(check(&8i32.to_be_bytes(), 100), Ok(None));
    }

    #[test]
    fn errors_explain_themselves() {
        let msg = FrameError::TooLarge { size: 10, max: 5 }.to_string();
        assert!(msg.contains("10") && msg.contains('5'), "{msg}");
    }
}
