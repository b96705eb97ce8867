//! Records inside a v2 batch (uncompressed, or once decompressed).
//!
//! Each record (all varints zigzag-encoded):
//!
//! ```text
//! length           varint   bytes after this field
//! attributes       i8       unused
//! timestamp_delta  varlong  from the batch's base_timestamp
//! offset_delta     varint   from the batch's base_offset
//! key_length       varint   -1 = null key
//! key              [u8]
//! value_length     varint   -1 = null value
//! value            [u8]
//! headers_count    varint
//! headers          headers_count × (key_length varint, key [u8], value_length varint (-1 = null), value [u8])
//! ```
//!
//! Ours rather than kafka-protocol's `RecordBatchDecoder`, because that one
//! trusts the input where a broker cannot: before reading a record it
//! reserves room for `records_count` records, and before reading a header
//! room for `headers_count` headers, as the wire states them (a 61-byte batch
//! claiming 2^31 - 1 records asks for hundreds of gigabytes up front); it
//! adds timestamp and offset deltas unchecked (an overflow panics in a debug
//! build); it refuses header keys that are not UTF-8 and keeps one of
//! repeated header keys, both of which Kafka allows; and it reads varints
//! leniently (see `varint.rs`). This parser borrows from the batch, grows its
//! header list only by headers actually present, and returns an error for
//! every malformed input.

use std::iter::FusedIterator;

use nom::bytes::complete::take;
use nom::number::complete::be_i8;

use super::batch::{parse_header, Compression, BATCH_HEADER_LEN};
use super::varint::{fail, flatten, nullable_bytes, varint, varlong, WireError, WireResult};
use super::RecordsError;

/// One record, borrowing its key, value and headers from the batch bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub offset_delta: i32,
    pub timestamp_delta: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Header keys are never null; header values may be.
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

/// Iterates the records of an uncompressed batch.
///
/// `batch` must start at a batch header; bytes after the end given by the
/// batch length field are ignored. The CRC is not checked here.
/// Compressed batches give [`RecordsError::Compressed`] (read those with
/// [`batch_records`](super::batch_records), which decompresses), unknown
/// codecs [`RecordsError::UnknownCompression`].
///
/// The iterator yields exactly `records_count` records, then checks that they
/// filled the batch exactly. After the first `Err` it yields nothing more.
pub fn records(batch: &[u8]) -> Result<RecordIter<'_>, RecordsError> {
    let header = parse_header(batch)?;
    match header.compression() {
        Compression::None => {}
        Compression::Unknown(id) => return Err(RecordsError::UnknownCompression(id)),
        codec => return Err(RecordsError::Compressed(codec)),
    }
    if header.records_count < 0 {
        return Err(RecordsError::InvalidRecordCount {
            records_count: header.records_count,
            last_offset_delta: header.last_offset_delta,
        });
    }
    let area = batch
        .get(BATCH_HEADER_LEN..header.total_len())
        .ok_or(RecordsError::Truncated {
            needed: header.total_len(),
            available: batch.len(),
        })?;
    Ok(RecordIter::over(area, header.records_count))
}

/// Iterator returned by [`records`].
#[derive(Debug, Clone)]
pub struct RecordIter<'a> {
    rest: &'a [u8],
    declared: i32,
    index: i32,
    done: bool,
}

impl<'a> RecordIter<'a> {
    /// Iterates `declared` records in `area`, the record bytes of a batch
    /// (uncompressed, or decompressed by `compression::batch_records`).
    pub(crate) fn over(area: &'a [u8], declared: i32) -> Self {
        RecordIter {
            rest: area,
            declared,
            index: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<Record<'a>, RecordsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.index >= self.declared {
            self.done = true;
            if self.rest.is_empty() {
                return None;
            }
            return Some(Err(RecordsError::Corrupt(format!(
                "{} bytes left after the batch's {} records",
                self.rest.len(),
                self.declared
            ))));
        }
        if self.rest.is_empty() {
            self.done = true;
            return Some(Err(RecordsError::Corrupt(format!(
                "batch declares {} records but holds {}",
                self.declared, self.index
            ))));
        }
        match record(self.rest) {
            Ok((rest, rec)) => {
                self.rest = rest;
                self.index = self.index.saturating_add(1);
                Some(Ok(rec))
            }
            Err(err) => {
                self.done = true;
                Some(Err(RecordsError::Corrupt(format!(
                    "record {}: {}",
                    self.index,
                    flatten(err).describe()
                ))))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        // Up to the remaining declared records, plus one trailing error.
        let left = usize::try_from(self.declared.saturating_sub(self.index)).unwrap_or(0);
        (0, Some(left.saturating_add(1)))
    }
}

impl FusedIterator for RecordIter<'_> {}

/// Parses one length-prefixed record. Every field must lie inside the
/// record's declared length, and the fields must use all of it.
fn record(input: &[u8]) -> WireResult<'_, Record<'_>> {
    let (rest, length) = varint(input)?;
    let Ok(length) = usize::try_from(length) else {
        return fail(WireError::Invalid("negative record length"));
    };
    let (rest, body) = take(length)(rest).map_err(|_: nom::Err<WireError>| {
        nom::Err::Failure(WireError::Invalid("record length runs past the batch"))
    })?;

    let (body, _attributes) = be_i8(body)?;
    let (body, timestamp_delta) = varlong(body)?;
    let (body, offset_delta) = varint(body)?;
    let (body, key) = nullable_bytes(body)?;
    let (body, value) = nullable_bytes(body)?;
    let (mut body, headers_count) = varint(body)?;
    if headers_count < 0 {
        return fail(WireError::Invalid("negative header count"));
    }
    // No capacity from the untrusted count: each header takes at least two
    // bytes, so the loop ends as soon as the record's bytes run out.
    let mut headers = Vec::new();
    for _ in 0..headers_count {
        let (after_key, header_key) = nullable_bytes(body)?;
        let Some(header_key) = header_key else {
            return fail(WireError::Invalid("null header key"));
        };
        let (after_value, header_value) = nullable_bytes(after_key)?;
        headers.push((header_key, header_value));
        body = after_value;
    }
    if !body.is_empty() {
        return fail(WireError::Invalid("record length exceeds its fields"));
    }
    Ok((
        rest,
        Record {
            offset_delta,
            timestamp_delta,
            key,
            value,
            headers,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::builder::BatchBuilder;
    use crate::records::varint::put_varint;

    #[test]
    fn keys_values_headers_and_nulls() {
        let batch = BatchBuilder::new()
            .record(1000, Some(b"k1"), Some(b"v1"), &[(b"h", Some(b"x"))])
            .record(1005, None, Some(b""), &[(b"a", None), (b"", Some(b"z"))])
            .record(999, Some(b""), None, &[])
            .build();
        let got: Vec<Record<'_>> = records(&batch).unwrap().map(Result::unwrap).collect();
        assert_eq!(
            got,
            vec![
                Record {
                    offset_delta: 0,
                    timestamp_delta: 0,
                    key: Some(b"k1"),
                    value: Some(b"v1"),
                    headers: vec![(b"h".as_slice(), Some(b"x".as_slice()))],
                },
                Record {
                    offset_delta: 1,
                    timestamp_delta: 5,
                    key: None,
                    value: Some(b""),
                    headers: vec![
                        (b"a".as_slice(), None),
                        (b"".as_slice(), Some(b"z".as_slice()))
                    ],
                },
                Record {
                    offset_delta: 2,
                    timestamp_delta: -1,
                    key: Some(b""),
                    value: None,
                    headers: vec![],
                },
            ]
        );
    }

    #[test]
    fn compressed_batches_are_not_iterated() {
        let batch = BatchBuilder::new()
            .attributes(3)
            .record(1, None, Some(b"v"), &[])
            .build();
        assert_eq!(
            records(&batch).err(),
            Some(RecordsError::Compressed(Compression::Lz4))
        );
        let batch = BatchBuilder::new()
            .attributes(6)
            .record(1, None, Some(b"v"), &[])
            .build();
        assert_eq!(
            records(&batch).err(),
            Some(RecordsError::UnknownCompression(6))
        );
    }

    /// Builds a one-record batch around hand-made record bytes.
    fn with_record_area(area: &[u8], count: i32) -> Vec<u8> {
        let mut batch = BatchBuilder::new().build();
        batch.extend_from_slice(area);
        let len = i32::try_from(batch.len() - 12).unwrap();
        batch[8..12].copy_from_slice(&len.to_be_bytes());
        batch[57..61].copy_from_slice(&count.to_be_bytes());
        batch
    }

    fn first_error(batch: &[u8]) -> String {
        match records(batch) {
            Err(e) => e.to_string(),
            Ok(iter) => iter
                .filter_map(Result::err)
                .next()
                .map(|e| e.to_string())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn record_body_fields() {
        // length 7: attrs, ts delta 0, offset delta 0, key -1, value len 1 'x', 0 headers
        let area = [14, 0, 0, 0, 1, 2, b'x', 0];
        let batch = with_record_area(&area, 1);
        let rec: Vec<_> = records(&batch).unwrap().collect();
        assert_eq!(rec.len(), 1);
        assert_eq!(rec[0].as_ref().unwrap().value, Some(b"x".as_slice()));
    }

    #[test]
    fn malformed_records_are_reported_not_panicked() {
        let cases: &[(&[u8], i32, &str)] = &[
            (
                &[14, 0, 0, 0, 1, 2, b'x', 0],
                2,
                "declares 2 records but holds 1",
            ),
            (&[14, 0, 0, 0, 1, 2, b'x', 0, 0], 1, "1 bytes left after"),
            (&[16, 0, 0, 0, 1, 2, b'x', 0], 1, "runs past the batch"),
            (&[1, 0, 0, 0, 1, 2, b'x', 0], 1, "negative record length"),
            (&[16, 0, 0, 0, 1, 2, b'x', 0, 0], 1, "exceeds its fields"),
            (&[12, 0, 0, 0, 1, 2, b'x', 0], 1, "truncated"),
            (&[14, 0, 0, 0, 3, 2, b'x', 0], 1, "negative length"),
            (&[14, 0, 0, 0, 1, 2, b'x', 1], 1, "negative header count"),
            (&[16, 0, 0, 0, 1, 2, b'x', 2, 1, 1], 1, "null header key"),
            (&[18, 0, 0, 0, 1, 2, b'x', 2, 2, b'h', 4, 0], 1, "truncated"),
            (
                &[
                    14, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                ],
                1,
                "truncated",
            ),
        ];
        for (area, count, want) in cases {
            let got = first_error(&with_record_area(area, *count));
            assert!(
                got.contains(want),
                "area {area:?}: got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn overlong_varint_in_a_record() {
        let mut area = vec![22, 0];
        area.extend_from_slice(&[0xff; 11]); // timestamp delta longer than 10 bytes
        area.extend_from_slice(&[0, 1, 1, 0]);
        while area.len() < 12 {
            area.push(0);
        }
        let got = first_error(&with_record_area(&area, 1));
        assert!(got.contains("varint too long"), "{got}");
    }

    #[test]
    fn huge_header_count_with_no_bytes_does_not_allocate() {
        let mut area = Vec::new();
        let mut body = vec![0, 0, 0, 1, 1];
        put_varint(&mut body, i32::MAX);
        put_varint(&mut area, i32::try_from(body.len()).unwrap());
        area.extend_from_slice(&body);
        let got = first_error(&with_record_area(&area, 1));
        assert!(got.contains("truncated"), "{got}");
    }

    #[test]
    fn negative_count_is_refused() {
        let batch = with_record_area(&[], -1);
        assert!(matches!(
            records(&batch).err(),
            Some(RecordsError::InvalidRecordCount {
                records_count: -1,
                ..
            })
        ));
    }

    #[test]
    fn iterator_is_fused_after_an_error() {
        let batch = with_record_area(&[16, 0, 0, 0, 1, 2, b'x', 0], 3);
        let mut iter = records(&batch).unwrap();
        assert!(matches!(iter.next(), Some(Err(_))));
        assert!(iter.next().is_none());
        assert!(iter.next().is_none());
    }

    #[test]
    fn bytes_after_the_batch_are_ignored() {
        let mut batch = BatchBuilder::new().record(5, None, Some(b"v"), &[]).build();
        batch.extend_from_slice(&[1, 2, 3]);
        assert_eq!(records(&batch).unwrap().count(), 1);
        assert!(matches!(
            records(&batch[..batch.len() - 5]).err(),
            Some(RecordsError::Truncated { .. })
        ));
    }
}
