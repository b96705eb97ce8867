//! Request header peeking.
//!
//! Every request header version (0, 1 and 2) begins with the same 8 bytes:
//!
//! ```text
//! request_api_key: i16 | request_api_version: i16 | correlation_id: i32   (big-endian)
//! ```
//!
//! The rest of the header (client id, tagged fields) depends on the api key and
//! version. [`peek_request_header`] reads only the common prefix, so the broker
//! can answer a request it cannot decode (unknown api key, unsupported version)
//! with the right correlation id.

/// The first 8 bytes of every request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestHeaderPrefix {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

/// Reads the common request header prefix from a frame body (the bytes after
/// the 4-byte length). Returns `None` if the body is shorter than 8 bytes.
/// Any values are accepted; deciding whether the api key and version are
/// supported is the caller's job.
pub fn peek_request_header(body: &[u8]) -> Option<RequestHeaderPrefix> {
    let (api_key, rest) = body.split_first_chunk::<2>()?;
    let (api_version, rest) = rest.split_first_chunk::<2>()?;
    let correlation_id = rest.first_chunk::<4>()?;
    Some(RequestHeaderPrefix {
        api_key: i16::from_be_bytes(*api_key),
        api_version: i16::from_be_bytes(*api_version),
        correlation_id: i32::from_be_bytes(*correlation_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_prefix_and_ignores_the_rest() {
        // ApiVersions (18) v3, correlation id 0x01020304, then a client id.
        let body = [0, 18, 0, 3, 1, 2, 3, 4, 0, 3, b'c', b'l', b'i'];
        assert_eq!(
            peek_request_header(&body),
            Some(RequestHeaderPrefix {
                api_key: 18,
                api_version: 3,
                correlation_id: 0x0102_0304,
            })
        );
    }

    #[test]
    fn exactly_eight_bytes_is_enough() {
        let body = [0xff, 0xff, 0x80, 0x00, 0xff, 0xff, 0xff, 0xfe];
        assert_eq!(
            peek_request_header(&body),
            Some(RequestHeaderPrefix {
                api_key: -1,
                api_version: i16::MIN,
                correlation_id: -2,
            })
        );
    }

    #[test]
    fn short_bodies_give_none() {
        let body = [0u8; 8];
        for len in 0..8 {
            assert_eq!(peek_request_header(&body[..len]), None, "len {len}");
        }
    }
}
