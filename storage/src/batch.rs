//! The framing of Kafka record batches (magic v2) in a `.log` file, as storage needs it.
//!
//! Storage never interprets records. To find batches in a `.log` file and to describe
//! them to the indexes it reads only these fields of the 61-byte header: base offset,
//! batch length (the batch is `12 + batch_length` bytes), magic (must be 2), CRC (a
//! CRC-32C of bytes 21 to the end of the batch), last offset delta and max timestamp.
//! The header itself is parsed by `sluice_protocol::records::parse_header`, the one
//! parser of the layout (documented there); this module adds the checks a log needs
//! on top (a base offset that is not negative, a last offset that leaves room for a
//! next one) and the file machinery: a windowed [`Scanner`], chunked CRCs, and a
//! bounded search for the next intact batch after damage. Apart from the cleaner
//! (`cleaner/`, which must read keys and values), storage uses no other part of
//! `sluice-protocol` (no message types, no records).
//!
//! The CRC is not checked on append (the broker validated the batch). It is checked by
//! recovery (see `recovery/`) through [`Scanner::checksum`], and by every read for a
//! fetch on the bytes it serves (see `segment/verify.rs`) through [`crc_matches`].
//!
//! Everything here is bounds-checked: bytes that come from a file never cause a panic.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use sluice_protocol::records::batch::{
    parse_header, ATTRIBUTES_OFFSET, BATCH_HEADER_LEN, MAGIC_OFFSET, MAGIC_V2,
};
use sluice_protocol::records::RecordsError;

/// Size of a v2 batch header; no batch is shorter.
pub(crate) const HEADER_LEN: usize = BATCH_HEADER_LEN;
/// The CRC covers the batch from the attributes field to its end.
const CRC_COVERS_FROM: u64 = ATTRIBUTES_OFFSET as u64;

/// Positional reads (no cursor), so that a shared reference is enough. Implemented by
/// files and by in-memory segment bytes.
pub(crate) trait ReadAt {
    /// Fills `buf` from `position`, or fails (`UnexpectedEof` past the end).
    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()>;
}

impl ReadAt for File {
    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, position)
    }
}

impl ReadAt for [u8] {
    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()> {
        let source = usize::try_from(position)
            .ok()
            .and_then(|start| self.get(start..start.checked_add(buf.len())?));
        match source {
            Some(source) => {
                buf.copy_from_slice(source);
                Ok(())
            }
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of an in-memory segment",
            )),
        }
    }
}

/// What storage knows about one batch, read from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub(crate) base_offset: i64,
    pub(crate) last_offset: i64,
    pub(crate) max_timestamp: i64,
    /// Whole batch size in bytes, `12 + batch_length`.
    pub(crate) size: u64,
    /// The CRC-32C stored in the header (not verified by parsing).
    pub(crate) crc: u32,
}

/// Why bytes do not frame a valid batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FramingError {
    #[error("only {available} bytes left, a batch header needs {HEADER_LEN}")]
    ShortHeader { available: u64 },
    #[error("batch length {0} is shorter than a v2 batch header")]
    BadLength(i32),
    #[error("magic byte {0}, expected 2")]
    BadMagic(i8),
    #[error("negative base offset {0}")]
    NegativeBaseOffset(i64),
    #[error("bad last offset delta {0}")]
    BadLastOffsetDelta(i32),
    #[error("batch of {size} bytes but only {available} bytes left")]
    Incomplete { size: u64, available: u64 },
}

impl BatchHeader {
    /// Parses the header at the start of `buf` (which may hold more than one batch).
    /// Does not check that the whole batch is present; see [`Self::size`].
    pub(crate) fn parse(buf: &[u8]) -> Result<Self, FramingError> {
        let short = || FramingError::ShortHeader {
            available: buf.len() as u64,
        };
        // Checked here first: the protocol parser reports a visible wrong magic in a
        // short header as such, a log scan calls any short header short.
        if buf.len() < HEADER_LEN {
            return Err(short());
        }
        let header = parse_header(buf).map_err(|e| match e {
            RecordsError::UnsupportedMagic(magic) => FramingError::BadMagic(magic),
            RecordsError::InvalidBatchLength(length) => FramingError::BadLength(length),
            // `parse_header` fails otherwise only on a short header.
            _ => short(),
        })?;
        if header.base_offset < 0 {
            return Err(FramingError::NegativeBaseOffset(header.base_offset));
        }
        // The last offset must leave room for a next offset (last + 1).
        let delta = header.last_offset_delta;
        let last_offset = (delta >= 0)
            .then(|| header.base_offset.checked_add(i64::from(delta)))
            .flatten()
            .filter(|last| *last < i64::MAX)
            .ok_or(FramingError::BadLastOffsetDelta(delta))?;
        Ok(BatchHeader {
            base_offset: header.base_offset,
            last_offset,
            max_timestamp: header.max_timestamp,
            // `parse_header` refused a batch length below the header's.
            size: header.total_len() as u64,
            crc: header.crc,
        })
    }
}

/// One step of a [`Scanner`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scanned {
    /// A batch whose header parsed and whose bytes are all before the scan end.
    Batch { position: u64, header: BatchHeader },
    /// The scan reached its end exactly on a batch boundary.
    End,
    /// The bytes at `position` do not frame a whole batch. The scanner must not be
    /// advanced further.
    Invalid { position: u64, error: FramingError },
}

/// Walks batch headers in a file (or in-memory segment) from `start` up to `end`,
/// reading through a small window with positional reads (no seeking, so a shared
/// reference is enough).
pub(crate) struct Scanner<'f, R: ReadAt + ?Sized> {
    file: &'f R,
    position: u64,
    end: u64,
    window: usize,
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'f, R: ReadAt + ?Sized> Scanner<'f, R> {
    /// `start` must be a batch boundary; `end` is the end of valid bytes (the scan
    /// never reads past it). `window` is how many bytes to read at a time.
    pub(crate) fn new(file: &'f R, start: u64, end: u64, window: usize) -> Self {
        Scanner {
            file,
            position: start,
            end,
            window: window.max(HEADER_LEN),
            buf: Vec::new(),
            buf_start: start,
        }
    }

    /// Reads the next batch header. I/O errors are returned as such; bad framing is
    /// [`Scanned::Invalid`].
    pub(crate) fn next_batch(&mut self) -> io::Result<Scanned> {
        let position = self.position;
        let available = self.end.saturating_sub(position);
        if available == 0 {
            return Ok(Scanned::End);
        }
        let invalid = |error| Ok(Scanned::Invalid { position, error });
        if available < HEADER_LEN as u64 {
            return invalid(FramingError::ShortHeader { available });
        }
        let header = match self.header_bytes(position)? {
            Some(bytes) => BatchHeader::parse(bytes),
            None => return invalid(FramingError::ShortHeader { available }),
        };
        let header = match header {
            Ok(header) => header,
            Err(error) => return invalid(error),
        };
        if header.size > available {
            return invalid(FramingError::Incomplete {
                size: header.size,
                available,
            });
        }
        self.position = position + header.size;
        Ok(Scanned::Batch { position, header })
    }

    /// Computes the CRC-32C of the batch just returned by [`Self::next_batch`] at
    /// `position` (bytes 21 to its end), reading through the same window, so that a
    /// scan with checksums reads every byte once. Compare with `header.crc`.
    pub(crate) fn checksum(&mut self, position: u64, header: &BatchHeader) -> io::Result<u32> {
        let end = position.saturating_add(header.size).min(self.end);
        let mut at = position.saturating_add(CRC_COVERS_FROM);
        let mut crc = 0u32;
        while at < end {
            let wanted = usize::try_from(end - at).unwrap_or(usize::MAX);
            let offset = match self.window_offset(at, 1) {
                Some(offset) => offset,
                None => {
                    self.refill(at)?;
                    0
                }
            };
            let window = self.buf.get(offset..).unwrap_or_default();
            let chunk = window.get(..wanted).unwrap_or(window);
            if chunk.is_empty() {
                // Cannot happen (refill reads at least one byte before `end`), but a
                // scan must never spin.
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "empty read"));
            }
            crc = crc32c::crc32c_append(crc, chunk);
            at += chunk.len() as u64;
        }
        Ok(crc)
    }

    /// The `HEADER_LEN` bytes at `position`, refilling the window when they are not in it.
    fn header_bytes(&mut self, position: u64) -> io::Result<Option<&[u8]>> {
        let offset = match self.window_offset(position, HEADER_LEN) {
            Some(offset) => offset,
            None => {
                self.refill(position)?;
                0
            }
        };
        Ok(self.buf.get(offset..offset.saturating_add(HEADER_LEN)))
    }

    /// Where `position` is in the window, if the window holds `len` bytes from there.
    fn window_offset(&self, position: u64, len: usize) -> Option<usize> {
        position
            .checked_sub(self.buf_start)
            .and_then(|off| usize::try_from(off).ok())
            .filter(|off| off.saturating_add(len) <= self.buf.len())
    }

    /// Reads the window starting at `position` (up to `window` bytes, never past `end`).
    fn refill(&mut self, position: u64) -> io::Result<()> {
        let len = usize::try_from(self.end.saturating_sub(position))
            .unwrap_or(usize::MAX)
            .min(self.window);
        self.buf.resize(len, 0);
        self.file.read_exact_at(&mut self.buf, position)?;
        self.buf_start = position;
        Ok(())
    }
}

/// Whether the CRC-32C of `batch` (a whole batch, `header` parsed from it) matches the
/// stored one.
pub(crate) fn crc_matches(batch: &[u8], header: &BatchHeader) -> bool {
    batch
        .get(CRC_COVERS_FROM as usize..)
        .is_some_and(|covered| crc32c::crc32c(covered) == header.crc)
}

/// How many bytes a search or a chunked CRC reads at a time.
const SEARCH_CHUNK: usize = 1 << 20;

/// How many bytes of candidate batches one [`search_batch`] may CRC in all. Real
/// damage offers few candidates (a header must frame, pass `accept`, and fit); bytes
/// crafted to put a plausible header at every position would otherwise cost a CRC of
/// up to a segment per position. Past it the search gives up, as if nothing matched.
const MAX_CANDIDATE_CRC_BYTES: u64 = 256 << 20;

/// The CRC-32C of the batch of `size` bytes at `position` (bytes 21 to its end),
/// computed over reads of at most `chunk` bytes, so that checking a batch never needs
/// a buffer of its size. Compare with the header's `crc`.
pub(crate) fn checksum_at<R: ReadAt + ?Sized>(
    reader: &R,
    position: u64,
    size: u64,
    chunk: usize,
) -> io::Result<u32> {
    let end = position.saturating_add(size);
    let mut at = position.saturating_add(CRC_COVERS_FROM);
    let remaining = |at: u64| usize::try_from(end.saturating_sub(at)).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; remaining(at).min(chunk.max(1))];
    let mut crc = 0u32;
    while at < end {
        let n = remaining(at).min(buf.len());
        let Some(part) = buf.get_mut(..n).filter(|part| !part.is_empty()) else {
            break;
        };
        reader.read_exact_at(part, at)?;
        crc = crc32c::crc32c_append(crc, part);
        at += n as u64;
    }
    Ok(crc)
}

/// The first position in `[from, limit)` where a batch starts whose header frames, whose
/// whole bytes lie before `end`, that `accept` takes, and whose CRC-32C matches: how
/// reads and recovery find the next intact batch after a damaged header. Reads the
/// stretch once, [`SEARCH_CHUNK`] bytes at a time (plus the header bytes of the
/// candidates at the end of each chunk), and checks the CRC only of candidates that
/// pass the cheap header checks: from the chunk when the candidate lies in it, else
/// with [`checksum_at`]. Memory stays bounded by the chunk, whatever the stretch or
/// the candidates claim; work by the stretch and [`MAX_CANDIDATE_CRC_BYTES`].
pub(crate) fn search_batch<R: ReadAt + ?Sized>(
    reader: &R,
    from: u64,
    limit: u64,
    end: u64,
    accept: impl Fn(&BatchHeader) -> bool,
) -> io::Result<Option<(u64, BatchHeader)>> {
    let limit = limit.min(end);
    let mut budget = MAX_CANDIDATE_CRC_BYTES;
    let mut buf = Vec::new();
    let mut start = from;
    while start < limit {
        // Candidates start in [start, stop); the buffer also holds their headers.
        let stop = limit.min(start.saturating_add(SEARCH_CHUNK as u64));
        let read_end = end.min(stop.saturating_add(HEADER_LEN as u64 - 1));
        buf.resize(usize::try_from(read_end - start).unwrap_or(0), 0);
        reader.read_exact_at(&mut buf, start)?;
        for skip in 0..usize::try_from(stop - start).unwrap_or(0) {
            let Some(bytes) = buf.get(skip..) else {
                break;
            };
            if bytes.get(MAGIC_OFFSET).map(|b| *b as i8) != Some(MAGIC_V2) {
                continue;
            }
            let Ok(header) = BatchHeader::parse(bytes) else {
                continue;
            };
            let at = start + skip as u64;
            let fits = at.checked_add(header.size).is_some_and(|e| e <= end);
            if !fits || !accept(&header) {
                continue;
            }
            let Some(left) = budget.checked_sub(header.size) else {
                return Ok(None);
            };
            budget = left;
            let whole = usize::try_from(header.size)
                .ok()
                .and_then(|size| bytes.get(..size));
            let matches = match whole {
                Some(whole) => crc_matches(whole, &header),
                None => checksum_at(reader, at, header.size, SEARCH_CHUNK)? == header.crc,
            };
            if matches {
                return Ok(Some((at, header)));
            }
        }
        start = stop;
    }
    Ok(None)
}

/// Length of the longest prefix of `buf` made of whole batches (by framing only).
#[cfg(test)]
pub(crate) fn whole_batches_len(buf: &[u8]) -> usize {
    let mut len = 0usize;
    while let Some(rest) = buf.get(len..) {
        let Ok(header) = BatchHeader::parse(rest) else {
            break;
        };
        match usize::try_from(header.size) {
            Ok(size) if size <= rest.len() => len += size,
            _ => break,
        }
    }
    len
}

#[cfg(test)]
pub(crate) mod test_batch {
    //! Builds valid v2 batches for tests (fake records, correct CRC-32C).

    /// A batch of `count` fake records starting at `base_offset`, with `payload` bytes
    /// of record data and the given max timestamp.
    pub(crate) fn batch(
        base_offset: i64,
        count: i32,
        max_timestamp: i64,
        payload: usize,
    ) -> Vec<u8> {
        let mut b = Vec::with_capacity(super::HEADER_LEN + payload);
        b.extend_from_slice(&base_offset.to_be_bytes());
        let batch_length = i32::try_from(super::HEADER_LEN - 12 + payload).unwrap();
        b.extend_from_slice(&batch_length.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
        b.push(2); // magic
        b.extend_from_slice(&0u32.to_be_bytes()); // crc
        b.extend_from_slice(&0i16.to_be_bytes()); // attributes
        b.extend_from_slice(&(count - 1).to_be_bytes()); // last offset delta
        b.extend_from_slice(&max_timestamp.to_be_bytes()); // base timestamp
        b.extend_from_slice(&max_timestamp.to_be_bytes()); // max timestamp
        b.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
        b.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
        b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
        b.extend_from_slice(&count.to_be_bytes()); // record count
        b.extend((0..payload).map(|i| (i % 251) as u8));
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    /// Appends one single-record batch at `log`'s end.
    pub(crate) fn append_one(log: &mut crate::log::Log) {
        let b = batch(log.log_end_offset(), 1, 0, 10);
        let h = super::BatchHeader::parse(&b).unwrap();
        let meta = crate::log::BatchMeta {
            base_offset: h.base_offset,
            last_offset: h.last_offset,
            max_timestamp: h.max_timestamp,
        };
        log.append(&b, meta).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::test_batch::batch;
    use super::*;
    use std::io::Write;

    #[test]
    fn parses_header_fields() {
        let b = batch(42, 5, 1_000, 10);
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(
            h,
            BatchHeader {
                base_offset: 42,
                last_offset: 46,
                max_timestamp: 1_000,
                size: 71,
                crc: crc32c::crc32c(&b[21..]),
            }
        );
    }

    #[test]
    fn rejects_bad_framing_without_panicking() {
        let good = batch(0, 1, 0, 0);
        for len in 0..HEADER_LEN {
            assert!(BatchHeader::parse(&good[..len]).is_err());
        }
        let mut bad = good.clone();
        bad[16] = 1;
        assert_eq!(BatchHeader::parse(&bad), Err(FramingError::BadMagic(1)));
        // Short is short, even where the magic byte is there to see.
        assert_eq!(
            BatchHeader::parse(&bad[..20]),
            Err(FramingError::ShortHeader { available: 20 })
        );
        let mut bad = good.clone();
        bad[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert_eq!(BatchHeader::parse(&bad), Err(FramingError::BadLength(-5)));
        let mut bad = good.clone();
        bad[8..12].copy_from_slice(&10i32.to_be_bytes());
        assert_eq!(BatchHeader::parse(&bad), Err(FramingError::BadLength(10)));
        let mut bad = good.clone();
        bad[23..27].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            BatchHeader::parse(&bad),
            Err(FramingError::BadLastOffsetDelta(-1))
        );
        let mut bad = good;
        bad[0..8].copy_from_slice(&i64::MAX.to_be_bytes());
        bad[23..27].copy_from_slice(&1i32.to_be_bytes());
        assert_eq!(
            BatchHeader::parse(&bad),
            Err(FramingError::BadLastOffsetDelta(1))
        );
    }

    #[test]
    fn whole_batches_len_stops_at_partial_batch() {
        let mut buf = batch(0, 1, 0, 5);
        buf.extend(batch(1, 1, 0, 7));
        let two = buf.len();
        buf.extend(&batch(2, 1, 0, 9)[..30]);
        assert_eq!(whole_batches_len(&buf), two);
        assert_eq!(whole_batches_len(&buf[..two - 1]), 66);
        assert_eq!(whole_batches_len(&[]), 0);
    }

    #[test]
    fn scanner_walks_batches_and_reports_torn_tail() {
        let mut file = tempfile::tempfile().unwrap();
        let mut sizes = Vec::new();
        for i in 0..20 {
            let b = batch(i, 1, i, (i as usize) * 37);
            sizes.push(b.len() as u64);
            file.write_all(&b).unwrap();
        }
        file.write_all(&batch(20, 1, 0, 100)[..80]).unwrap();
        let end = file.metadata().unwrap().len();
        // A tiny window forces many refills, including headers that straddle windows.
        let mut scanner = Scanner::new(&file, 0, end, 100);
        let mut position = 0;
        for (i, size) in sizes.iter().enumerate() {
            match scanner.next_batch().unwrap() {
                Scanned::Batch {
                    position: p,
                    header,
                } => {
                    assert_eq!(p, position);
                    assert_eq!(header.base_offset, i as i64);
                    assert_eq!(header.size, *size);
                }
                other => panic!("unexpected {other:?}"),
            }
            position += size;
        }
        assert_eq!(
            scanner.next_batch().unwrap(),
            Scanned::Invalid {
                position,
                error: FramingError::Incomplete {
                    size: 161,
                    available: 80
                }
            }
        );
        let mut scanner = Scanner::new(&file, 0, position, 4096);
        for _ in 0..20 {
            assert!(matches!(
                scanner.next_batch().unwrap(),
                Scanned::Batch { .. }
            ));
        }
        assert_eq!(scanner.next_batch().unwrap(), Scanned::End);
    }

    #[test]
    fn checksum_matches_the_stored_crc_across_window_refills() {
        let mut file = tempfile::tempfile().unwrap();
        for i in 0..10 {
            file.write_all(&batch(i, 1, i, (i as usize) * 97)).unwrap();
        }
        let mut bad = batch(10, 1, 0, 300);
        bad[200] ^= 1;
        file.write_all(&bad).unwrap();
        let end = file.metadata().unwrap().len();
        for window in [64, 100, 4096] {
            let mut scanner = Scanner::new(&file, 0, end, window);
            let mut results = Vec::new();
            while let Scanned::Batch { position, header } = scanner.next_batch().unwrap() {
                results.push(scanner.checksum(position, &header).unwrap() == header.crc);
            }
            let mut expected = vec![true; 10];
            expected.push(false);
            assert_eq!(results, expected, "window {window}");
        }
        // The same over in-memory bytes.
        let bytes = batch(0, 3, 5, 1_000);
        let mut scanner = Scanner::new(&bytes[..], 0, bytes.len() as u64, 128);
        let Scanned::Batch { position, header } = scanner.next_batch().unwrap() else {
            panic!("no batch");
        };
        assert_eq!(scanner.checksum(position, &header).unwrap(), header.crc);
    }

    #[test]
    fn search_finds_a_batch_starting_at_the_last_position_of_the_range() {
        // The range names where a batch may start, not where its header must end:
        // a search of one position (how a read tries the batch a damaged one's length
        // frames) finds it.
        let mut bytes = batch(0, 1, 0, 100);
        let at = bytes.len() as u64;
        bytes.extend(batch(1, 2, 0, 3 << 20));
        let end = bytes.len() as u64;
        let found = search_batch(&bytes[..], at, at + 1, end, |_| true).unwrap();
        assert_eq!(found.map(|(p, h)| (p, h.base_offset)), Some((at, 1)));
        // From inside the first batch, across chunk boundaries and a candidate larger
        // than a chunk (its CRC is computed in chunks).
        let found = search_batch(&bytes[..], 1, end, end, |h| h.base_offset > 0).unwrap();
        assert_eq!(found.map(|(p, _)| p), Some(at));
        let mut damaged = bytes.clone();
        damaged[at as usize + 2_000_000] ^= 1;
        assert_eq!(
            search_batch(&damaged[..], 1, end, end, |_| true).unwrap(),
            None
        );
    }

    #[test]
    fn checksum_at_matches_the_stored_crc_in_any_chunk_size() {
        let b = batch(5, 3, 0, 10_000);
        let header = BatchHeader::parse(&b).unwrap();
        for chunk in [1, 7, 4096, 1 << 20] {
            assert_eq!(
                checksum_at(&b[..], 0, header.size, chunk).unwrap(),
                header.crc
            );
        }
    }
}
