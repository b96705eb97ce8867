//! The record batch codecs: the bytes after a compressed batch's 61-byte
//! header, in exactly the formats Kafka's clients and broker write and read.
//!
//! | codec  | written here                                  | read here |
//! |--------|-----------------------------------------------|-----------|
//! | gzip   | one gzip member (RFC 1952), level 1-9 (6 by default) | one or more members back to back, as `GZIPInputStream` reads them |
//! | snappy | snappy-java's stream, as the Java client and broker write it: the 16-byte header `82 'SNAPPY' 00`, version 1, compatible version 1, then blocks of at most 32 KiB input, each a big-endian `i32` length and one raw snappy block | that stream (a repeated header between blocks, from concatenated streams, is skipped as snappy-java does), and raw unframed snappy, which librdkafka writes (its snappy producer has no framing) and which snappy-java falls back to when the header is missing |
//! | lz4    | one LZ4 frame: independent 64 KiB blocks, no block or content checksum, no content size (what Kafka's `Lz4BlockOutputStream` writes) | one LZ4 frame, any block size or mode, checksums verified when present, its end mark required and nothing after it |
//! | zstd   | one zstd frame, level 3 by default            | zstd frames |
//!
//! Every decompression is bounded: `limit` caps the output, which is read
//! in chunks and refused as soon as it would pass the limit
//! ([`CodecError::TooLarge`]), so a small batch that inflates to gigabytes
//! (a decompression bomb) costs at most `limit` bytes of memory, never an
//! out-of-memory abort. Snappy states its decompressed length up front; it
//! is checked against the limit before anything is allocated.
//!
//! Levels follow Kafka's `compression.<codec>.level` ranges: gzip 1-9 (or -1
//! for the default), lz4 1-17, zstd -131072..=22. `lz4_flex` has a single
//! (fast) compressor, so an lz4 level is checked but writes the same bytes
//! at every level; readers cannot tell levels apart in any codec.

use std::borrow::Cow;
use std::io::{Read, Write};

use super::batch::{
    parse_header, BatchHeader, Compression, ATTRIBUTES_OFFSET, BATCH_HEADER_LEN,
    BATCH_LENGTH_OFFSET, CRC_OFFSET, LOG_OVERHEAD,
};
use super::record::RecordIter;
use super::RecordsError;

/// Why a codec could not compress or decompress.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The compressed bytes are damaged or not in the codec's format.
    /// Kafka: `CORRUPT_MESSAGE`.
    #[error("{codec:?} data is corrupt: {reason}")]
    Corrupt { codec: Compression, reason: String },
    /// Decompressing would give more than `limit` bytes (a decompression
    /// bomb, or a batch far larger than the broker accepts).
    /// Kafka: `CORRUPT_MESSAGE`.
    #[error("{codec:?} data decompresses to more than {limit} bytes")]
    TooLarge { codec: Compression, limit: usize },
    /// The level is outside Kafka's range for the codec.
    #[error("compression level {level} is out of range for {codec:?}")]
    InvalidLevel { codec: Compression, level: i32 },
    /// The codec id names no codec (5, 6 or 7).
    #[error("compression codec {0} is unknown")]
    UnknownCodec(u8),
}

/// gzip levels Kafka accepts (`compression.gzip.level`); -1 is the default.
pub const GZIP_LEVELS: std::ops::RangeInclusive<i32> = 1..=9;
/// The gzip level `-1` stands for (zlib's default, as `Deflater` uses it).
pub const GZIP_DEFAULT_LEVEL: i32 = 6;
/// lz4 levels Kafka accepts (`compression.lz4.level`).
pub const LZ4_LEVELS: std::ops::RangeInclusive<i32> = 1..=17;
/// Kafka's default lz4 level.
pub const LZ4_DEFAULT_LEVEL: i32 = 9;
/// zstd levels Kafka accepts (`compression.zstd.level`): zstd's own range.
pub const ZSTD_LEVELS: std::ops::RangeInclusive<i32> = -131_072..=22;
/// Kafka's (and zstd's) default zstd level.
pub const ZSTD_DEFAULT_LEVEL: i32 = 3;

/// The header snappy-java writes before its blocks: magic, version 1,
/// compatible version 1.
const SNAPPY_JAVA_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const SNAPPY_JAVA_HEADER_LEN: usize = 16;
/// snappy-java's default block size, which Kafka's writer uses.
const SNAPPY_JAVA_BLOCK: usize = 32 * 1024;

/// Offset of the records count in the batch header.
const RECORDS_COUNT_OFFSET: usize = 57;

/// How much is read from a streaming decoder at a time.
const CHUNK: usize = 64 * 1024;

/// Decompresses `input` (the records area of a batch compressed with
/// `codec`), refusing output longer than `limit` bytes.
/// [`Compression::None`] gives the input back (within the same limit).
pub fn decompress(codec: Compression, input: &[u8], limit: usize) -> Result<Vec<u8>, CodecError> {
    match codec {
        Compression::None => {
            if input.len() > limit {
                return Err(CodecError::TooLarge { codec, limit });
            }
            Ok(input.to_vec())
        }
        Compression::Gzip => read_bounded(codec, flate2::read::MultiGzDecoder::new(input), limit),
        Compression::Snappy => snappy_decompress(input, limit),
        Compression::Lz4 => {
            lz4_frame_end(input).map_err(|reason| corrupt(codec, reason))?;
            read_bounded(codec, lz4_flex::frame::FrameDecoder::new(input), limit)
        }
        Compression::Zstd => {
            let decoder =
                zstd::stream::read::Decoder::with_buffer(input).map_err(|e| corrupt(codec, e))?;
            read_bounded(codec, decoder, limit)
        }
        Compression::Unknown(id) => Err(CodecError::UnknownCodec(id)),
    }
}

/// Compresses `input` with `codec` at `level` (`None`: Kafka's default for
/// the codec; snappy has no levels and ignores it).
/// [`Compression::None`] gives the input back.
pub fn compress(
    codec: Compression,
    input: &[u8],
    level: Option<i32>,
) -> Result<Vec<u8>, CodecError> {
    check_level(codec, level)?;
    match codec {
        Compression::None => Ok(input.to_vec()),
        Compression::Gzip => {
            let level = match level {
                None | Some(-1) => GZIP_DEFAULT_LEVEL,
                Some(level) => level,
            };
            let level = u32::try_from(level).unwrap_or(6);
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(input.len() / 2 + 64),
                flate2::Compression::new(level),
            );
            encoder.write_all(input).map_err(|e| corrupt(codec, e))?;
            encoder.finish().map_err(|e| corrupt(codec, e))
        }
        Compression::Snappy => snappy_java_compress(input),
        Compression::Lz4 => {
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent)
                .block_checksums(false)
                .content_checksum(false);
            let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(
                info,
                Vec::with_capacity(input.len() / 2 + 64),
            );
            encoder.write_all(input).map_err(|e| corrupt(codec, e))?;
            encoder.finish().map_err(|e| corrupt(codec, e))
        }
        Compression::Zstd => zstd::bulk::compress(input, level.unwrap_or(ZSTD_DEFAULT_LEVEL))
            .map_err(|e| corrupt(codec, e)),
        Compression::Unknown(id) => Err(CodecError::UnknownCodec(id)),
    }
}

/// Refuses a level outside Kafka's range for `codec` (`None` is always fine;
/// snappy and no compression have no levels and accept any).
pub fn check_level(codec: Compression, level: Option<i32>) -> Result<(), CodecError> {
    let Some(level) = level else {
        return Ok(());
    };
    let ok = match codec {
        Compression::Gzip => level == -1 || GZIP_LEVELS.contains(&level),
        Compression::Lz4 => LZ4_LEVELS.contains(&level),
        Compression::Zstd => ZSTD_LEVELS.contains(&level),
        Compression::None | Compression::Snappy => true,
        Compression::Unknown(id) => return Err(CodecError::UnknownCodec(id)),
    };
    if ok {
        Ok(())
    } else {
        Err(CodecError::InvalidLevel { codec, level })
    }
}

fn corrupt(codec: Compression, reason: impl std::fmt::Display) -> CodecError {
    CodecError::Corrupt {
        codec,
        reason: reason.to_string(),
    }
}

/// Reads `decoder` to its end in chunks, stopping with
/// [`CodecError::TooLarge`] as soon as the output passes `limit`.
fn read_bounded(
    codec: Compression,
    decoder: impl Read,
    limit: usize,
) -> Result<Vec<u8>, CodecError> {
    let mut bounded = decoder.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1));
    let mut out = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match bounded.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(corrupt(codec, e)),
        };
        if out.len().saturating_add(n) > limit {
            return Err(CodecError::TooLarge { codec, limit });
        }
        out.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    Ok(out)
}

/// Walks the one LZ4 frame `input` must be (its header and block sizes
/// only) and checks that it ends with its end mark, as Kafka's reader
/// requires ("stream ended prematurely"), and that nothing follows it:
/// `lz4_flex` takes input that stops at a block boundary as a complete
/// frame and stops reading after the first frame, so a batch cut short or
/// carrying bytes past its frame would otherwise pass. (Kafka's and
/// librdkafka's producers write one frame per batch.)
fn lz4_frame_end(input: &[u8]) -> Result<(), &'static str> {
    let mut rest = input;
    if take(4, &mut rest)? != 0x184D_2204 {
        return Err("not an LZ4 frame (bad magic)");
    }
    let flg = take(1, &mut rest)?;
    take(1, &mut rest)?; // BD
    let block_checksum = flg & 0x10 != 0;
    let content_checksum = flg & 0x04 != 0;
    if flg & 0x08 != 0 {
        take(8, &mut rest)?; // content size
    }
    if flg & 0x01 != 0 {
        take(4, &mut rest)?; // dictionary id
    }
    take(1, &mut rest)?; // header checksum
    loop {
        let size = take(4, &mut rest)? & 0x7FFF_FFFF;
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).map_err(|_| LZ4_PREMATURE)?;
        take(size, &mut rest)?;
        if block_checksum {
            take(4, &mut rest)?;
        }
    }
    if content_checksum {
        take(4, &mut rest)?;
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err("bytes after the LZ4 frame")
    }
}

const LZ4_PREMATURE: &str = "LZ4 frame ended prematurely";

/// Takes `n` bytes off the front of `rest`; the first four (or fewer) as a
/// little-endian number.
fn take(n: usize, rest: &mut &[u8]) -> Result<u32, &'static str> {
    let (head, tail) = rest.split_at_checked(n).ok_or(LZ4_PREMATURE)?;
    *rest = tail;
    let mut word = [0u8; 4];
    for (w, b) in word.iter_mut().zip(head) {
        *w = *b;
    }
    Ok(u32::from_le_bytes(word))
}

/// snappy-java's framed stream when it starts with its header, else one
/// raw snappy block (librdkafka's producer writes those).
fn snappy_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, CodecError> {
    if input.len() >= SNAPPY_JAVA_HEADER_LEN && input.starts_with(&SNAPPY_JAVA_MAGIC) {
        snappy_java_decompress(input, limit)
    } else {
        let mut out = Vec::new();
        snappy_raw_into(input, limit, &mut out)?;
        Ok(out)
    }
}

/// Decompresses one raw snappy block onto `out`, checking its stated length
/// against what `limit` leaves before allocating.
fn snappy_raw_into(block: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let codec = Compression::Snappy;
    let len = snap::raw::decompress_len(block).map_err(|e| corrupt(codec, e))?;
    if out.len().saturating_add(len) > limit {
        return Err(CodecError::TooLarge { codec, limit });
    }
    let start = out.len();
    out.resize(start.saturating_add(len), 0);
    let target = out.get_mut(start..).unwrap_or_default();
    let written = snap::raw::Decoder::new()
        .decompress(block, target)
        .map_err(|e| corrupt(codec, e))?;
    if written != len {
        return Err(corrupt(codec, "block shorter than its stated length"));
    }
    Ok(())
}

fn snappy_java_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, CodecError> {
    let codec = Compression::Snappy;
    let compatible = input
        .get(12..16)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(i32::from_be_bytes)
        .unwrap_or(0);
    if compatible < 1 {
        return Err(corrupt(
            codec,
            format!("snappy-java compatible version {compatible}"),
        ));
    }
    let mut out = Vec::new();
    let mut rest = input.get(SNAPPY_JAVA_HEADER_LEN..).unwrap_or_default();
    while !rest.is_empty() {
        // Concatenated snappy-java streams repeat the header between blocks.
        if rest.len() >= SNAPPY_JAVA_HEADER_LEN && rest.starts_with(&SNAPPY_JAVA_MAGIC) {
            rest = rest.get(SNAPPY_JAVA_HEADER_LEN..).unwrap_or_default();
            continue;
        }
        let (len, after) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt(codec, "truncated snappy-java block length"))?;
        let len = usize::try_from(i32::from_be_bytes(*len))
            .map_err(|_| corrupt(codec, "negative snappy-java block length"))?;
        let block = after
            .get(..len)
            .ok_or_else(|| corrupt(codec, "snappy-java block runs past the data"))?;
        snappy_raw_into(block, limit, &mut out)?;
        rest = after.get(len..).unwrap_or_default();
    }
    Ok(out)
}

fn snappy_java_compress(input: &[u8]) -> Result<Vec<u8>, CodecError> {
    let codec = Compression::Snappy;
    let mut out = Vec::with_capacity(SNAPPY_JAVA_HEADER_LEN + input.len() / 2 + 64);
    out.extend_from_slice(&SNAPPY_JAVA_MAGIC);
    out.extend_from_slice(&1i32.to_be_bytes()); // version
    out.extend_from_slice(&1i32.to_be_bytes()); // compatible version
    let mut encoder = snap::raw::Encoder::new();
    for block in input.chunks(SNAPPY_JAVA_BLOCK) {
        let compressed = encoder.compress_vec(block).map_err(|e| corrupt(codec, e))?;
        let len = i32::try_from(compressed.len()).map_err(|e| corrupt(codec, e))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&compressed);
    }
    Ok(out)
}

/// The records of a batch, compressed or not: the record bytes (borrowed
/// from the batch when it is uncompressed, decompressed once otherwise) and
/// the header that says how many records they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecords<'a> {
    pub header: BatchHeader,
    area: Cow<'a, [u8]>,
}

impl<'a> BatchRecords<'a> {
    /// The records, parsed as [`records`](super::records) parses an
    /// uncompressed batch's (exactly `records_count`, filling the area).
    pub fn iter(&self) -> RecordIter<'_> {
        RecordIter::over(&self.area, self.header.records_count)
    }

    /// The uncompressed record bytes (what follows the header of the same
    /// batch written without compression).
    pub fn area(&self) -> &[u8] {
        &self.area
    }

    /// The uncompressed record bytes, owned or borrowed from the batch.
    pub fn into_area(self) -> Cow<'a, [u8]> {
        self.area
    }

    /// Whether the records were decompressed (the batch was compressed).
    pub fn was_decompressed(&self) -> bool {
        matches!(self.area, Cow::Owned(_))
    }
}

/// The records of `batch` (which starts with a v2 header; bytes past its
/// length are ignored, the CRC is not checked), decompressing them if the
/// batch is compressed, to at most `limit` bytes.
///
/// An uncompressed batch is not copied. A codec failure is
/// [`RecordsError::Codec`]; a negative record count
/// [`RecordsError::InvalidRecordCount`].
pub fn batch_records(batch: &[u8], limit: usize) -> Result<BatchRecords<'_>, RecordsError> {
    let header = parse_header(batch)?;
    if header.records_count < 0 {
        return Err(RecordsError::InvalidRecordCount {
            records_count: header.records_count,
            last_offset_delta: header.last_offset_delta,
        });
    }
    let raw = batch
        .get(BATCH_HEADER_LEN..header.total_len())
        .ok_or(RecordsError::Truncated {
            needed: header.total_len(),
            available: batch.len(),
        })?;
    let area = match header.compression() {
        Compression::None => Cow::Borrowed(raw),
        codec => Cow::Owned(decompress(codec, raw, limit)?),
    };
    Ok(BatchRecords { header, area })
}

/// A copy of `batch` (exactly one v2 batch) whose records are `area` (the
/// uncompressed record bytes, e.g. [`BatchRecords::area`]) written with
/// `codec` at `level`: every header field is kept but the codec bits, the
/// batch length and the CRC, which is recomputed. This is how the broker
/// changes a batch's codec (`compression.type`) without touching offsets,
/// timestamps, producer id, epoch or sequence.
pub fn with_codec(
    batch: &[u8],
    area: &[u8],
    codec: Compression,
    level: Option<i32>,
) -> Result<Vec<u8>, RecordsError> {
    let header = parse_header(batch)?;
    with_records(batch, area, header.records_count, codec, level)
}

/// [`with_codec`] for a different set of records: `area` holds
/// `records_count` records (e.g. some of the batch's, copied as they were,
/// so their offset and timestamp deltas still count from the batch's base
/// offset and base timestamp), and the header's records count says so. Every
/// other header field is kept, the last offset delta included (as Kafka's
/// log cleaner keeps a batch's last offset when it drops records).
pub fn with_records(
    batch: &[u8],
    area: &[u8],
    records_count: i32,
    codec: Compression,
    level: Option<i32>,
) -> Result<Vec<u8>, RecordsError> {
    if let Compression::Unknown(id) = codec {
        return Err(RecordsError::Codec(CodecError::UnknownCodec(id)));
    }
    let header = parse_header(batch)?;
    let head = batch
        .get(..BATCH_HEADER_LEN)
        .ok_or(RecordsError::Truncated {
            needed: BATCH_HEADER_LEN,
            available: batch.len(),
        })?;
    let body = compress(codec, area, level)?;
    let mut out = Vec::with_capacity(BATCH_HEADER_LEN.saturating_add(body.len()));
    out.extend_from_slice(head);
    out.extend_from_slice(&body);
    put(&mut out, RECORDS_COUNT_OFFSET, &records_count.to_be_bytes())?;
    let attributes = (header.attributes & !0x07) | i16::from(codec.id());
    finish_header(&mut out, attributes)?;
    Ok(out)
}

/// Writes `attributes`, the batch length and the CRC into a batch whose
/// bytes are all in `out`.
pub(crate) fn finish_header(out: &mut [u8], attributes: i16) -> Result<(), RecordsError> {
    let length = i32::try_from(out.len().saturating_sub(LOG_OVERHEAD))
        .map_err(|_| RecordsError::Corrupt("batch longer than a batch length can say".into()))?;
    put(out, ATTRIBUTES_OFFSET, &attributes.to_be_bytes())?;
    put(out, BATCH_LENGTH_OFFSET, &length.to_be_bytes())?;
    let crc = crc32c::crc32c(out.get(ATTRIBUTES_OFFSET..).unwrap_or_default());
    put(out, CRC_OFFSET, &crc.to_be_bytes())
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) -> Result<(), RecordsError> {
    let available = out.len();
    let end = at.saturating_add(bytes.len());
    out.get_mut(at..end)
        .ok_or(RecordsError::Truncated {
            needed: end,
            available,
        })?
        .copy_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODECS: [Compression; 4] = [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    fn sample(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i % 251) as u8 ^ (i / 997) as u8)
            .collect()
    }

    #[test]
    fn every_codec_round_trips() {
        for codec in CODECS {
            for len in [0, 1, 100, SNAPPY_JAVA_BLOCK, SNAPPY_JAVA_BLOCK + 1, 300_000] {
                let input = sample(len);
                let packed = compress(codec, &input, None).unwrap();
                assert_eq!(
                    decompress(codec, &packed, input.len()).unwrap(),
                    input,
                    "{codec:?} {len}"
                );
            }
        }
        let input = sample(10);
        assert_eq!(compress(Compression::None, &input, None).unwrap(), input);
        assert_eq!(decompress(Compression::None, &input, 10).unwrap(), input);
    }

    #[test]
    fn levels_within_kafkas_ranges() {
        let input = sample(5000);
        for (codec, level) in [
            (Compression::Gzip, 1),
            (Compression::Gzip, 9),
            (Compression::Gzip, -1),
            (Compression::Lz4, 1),
            (Compression::Lz4, 17),
            (Compression::Zstd, -5),
            (Compression::Zstd, 22),
        ] {
            let packed = compress(codec, &input, Some(level)).unwrap();
            assert_eq!(decompress(codec, &packed, input.len()).unwrap(), input);
        }
        for (codec, level) in [
            (Compression::Gzip, 0),
            (Compression::Gzip, 10),
            (Compression::Lz4, 0),
            (Compression::Lz4, 18),
            (Compression::Zstd, 23),
            (Compression::Zstd, -131_073),
        ] {
            assert_eq!(
                compress(codec, &input, Some(level)),
                Err(CodecError::InvalidLevel { codec, level })
            );
        }
        assert!(compress(Compression::Snappy, &input, Some(1234)).is_ok());
    }

    #[test]
    fn the_formats_kafka_writes() {
        let input = sample(70_000);
        // gzip: the RFC 1952 magic.
        assert!(compress(Compression::Gzip, &input, None)
            .unwrap()
            .starts_with(&[0x1f, 0x8b]));
        // snappy: snappy-java's header, then 32 KiB blocks (3 for 70 000 bytes).
        let snappy = compress(Compression::Snappy, &input, None).unwrap();
        assert_eq!(
            &snappy[..16],
            b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01"
        );
        let mut rest = &snappy[16..];
        let mut blocks = 0;
        while !rest.is_empty() {
            let len = i32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            rest = &rest[4 + len..];
            blocks += 1;
        }
        assert_eq!(blocks, 3);
        // lz4: the frame magic, then FLG version 01 + block independence,
        // BD 64 KiB.
        let lz4 = compress(Compression::Lz4, &input, None).unwrap();
        assert_eq!(&lz4[..4], &0x184D_2204u32.to_le_bytes());
        assert_eq!(lz4[4], 0b0110_0000);
        assert_eq!(lz4[5], 0b0100_0000);
        // zstd: the frame magic.
        let zstd = compress(Compression::Zstd, &input, None).unwrap();
        assert_eq!(&zstd[..4], &0xFD2F_B528u32.to_le_bytes());
    }

    #[test]
    fn lz4_frames_with_checksums_sizes_and_linked_blocks() {
        use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
        let input = sample(200_000);
        let info = FrameInfo::new()
            .block_size(BlockSize::Max64KB)
            .block_mode(BlockMode::Linked)
            .block_checksums(true)
            .content_checksum(true)
            .content_size(Some(input.len() as u64));
        let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
        encoder.write_all(&input).unwrap();
        let framed = encoder.finish().unwrap();
        assert_eq!(
            decompress(Compression::Lz4, &framed, input.len()).unwrap(),
            input
        );
        // One frame per batch: bytes after it are refused, not ignored.
        let one = compress(Compression::Lz4, b"first ", None).unwrap();
        let two = compress(Compression::Lz4, b"second", None).unwrap();
        assert!(matches!(
            decompress(Compression::Lz4, &[one.clone(), two].concat(), 100),
            Err(CodecError::Corrupt { .. })
        ));
        // Cut anywhere, even at a block boundary or in the end mark.
        for cut in [1, 5, 7, framed.len() - 4, framed.len() - 1] {
            assert!(
                matches!(
                    decompress(Compression::Lz4, &framed[..cut], input.len()),
                    Err(CodecError::Corrupt { .. })
                ),
                "cut at {cut}"
            );
        }
        assert!(matches!(
            decompress(Compression::Lz4, &one[..one.len() - 4], 100),
            Err(CodecError::Corrupt { .. })
        ));
    }

    #[test]
    fn raw_snappy_as_librdkafka_writes_it() {
        let input = sample(50_000);
        let raw = snap::raw::Encoder::new().compress_vec(&input).unwrap();
        assert_eq!(
            decompress(Compression::Snappy, &raw, input.len()).unwrap(),
            input
        );
    }

    #[test]
    fn snappy_java_by_hand_and_concatenated() {
        // Two snappy-java streams back to back, built by hand: header, one
        // block; header, two blocks.
        let (a, b, c) = (b"first block".to_vec(), sample(1000), b"third".to_vec());
        let mut framed = Vec::new();
        for (i, part) in [&a, &b, &c].into_iter().enumerate() {
            if i < 2 {
                framed.extend_from_slice(b"\x82SNAPPY\x00");
                framed.extend_from_slice(&1i32.to_be_bytes());
                framed.extend_from_slice(&1i32.to_be_bytes());
            }
            let block = snap::raw::Encoder::new().compress_vec(part).unwrap();
            framed.extend_from_slice(&(block.len() as i32).to_be_bytes());
            framed.extend_from_slice(&block);
        }
        let want = [a, b, c].concat();
        assert_eq!(
            decompress(Compression::Snappy, &framed, want.len()).unwrap(),
            want
        );
        // A header with no blocks is an empty stream.
        assert_eq!(
            decompress(Compression::Snappy, &framed[..16], 0).unwrap(),
            b""
        );
    }

    #[test]
    fn damaged_data_is_corrupt_not_a_panic() {
        let input = sample(20_000);
        for codec in CODECS {
            let packed = compress(codec, &input, None).unwrap();
            // Truncations, a flipped byte in the middle, and garbage.
            let mut cases = vec![
                packed[..packed.len() / 2].to_vec(),
                packed[..packed.len() - 1].to_vec(),
                packed[..packed.len() - 5].to_vec(),
                b"not compressed at all, just text".to_vec(),
            ];
            if codec == Compression::Gzip {
                // gzip's CRC-32 trailer catches any flipped byte.
                let mut flipped = packed.clone();
                let mid = flipped.len() / 2;
                flipped[mid] ^= 0x55;
                cases.push(flipped);
            }
            for case in cases {
                let got = decompress(codec, &case, input.len());
                assert!(
                    matches!(got, Err(CodecError::Corrupt { .. })),
                    "{codec:?}: {:?}",
                    got.map(|v| v.len())
                );
            }
        }
        // snappy-java specifics.
        let bad_len = [
            &b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01"[..],
            &[0x7f, 0, 0, 0, 1],
        ]
        .concat();
        assert!(matches!(
            decompress(Compression::Snappy, &bad_len, 100),
            Err(CodecError::Corrupt { .. })
        ));
        let negative = [
            &b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01"[..],
            &[0xff, 0, 0, 0],
        ]
        .concat();
        assert!(matches!(
            decompress(Compression::Snappy, &negative, 100),
            Err(CodecError::Corrupt { .. })
        ));
        let short_len = [
            &b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01"[..],
            &[0, 0],
        ]
        .concat();
        assert!(matches!(
            decompress(Compression::Snappy, &short_len, 100),
            Err(CodecError::Corrupt { .. })
        ));
        assert_eq!(
            decompress(Compression::Unknown(6), b"", 10),
            Err(CodecError::UnknownCodec(6))
        );
    }

    #[test]
    fn with_records_keeps_the_header_but_the_count() {
        use crate::records::builder::BatchBuilder;
        let batch = BatchBuilder::new()
            .base_offset(100)
            .producer(3, 1, 7)
            .compression(Compression::Zstd)
            .record(1_000, Some(b"a"), Some(b"1"), &[])
            .record(1_005, Some(b"b"), Some(b"2"), &[])
            .record(1_009, Some(b"c"), Some(b"3"), &[])
            .build();
        let decoded = batch_records(&batch, 1 << 20).unwrap();
        // Keep the first and the third record's bytes, as they are.
        let mut kept = Vec::new();
        let mut rest = decoded.area();
        for i in 0..3 {
            let len = usize::from(rest[0] / 2) + 1;
            if i != 1 {
                kept.extend_from_slice(&rest[..len]);
            }
            rest = &rest[len..];
        }
        let out = with_records(&batch, &kept, 2, Compression::Gzip, None).unwrap();
        let h = parse_header(&out).unwrap();
        let before = parse_header(&batch).unwrap();
        assert_eq!(h.records_count, 2);
        assert_eq!(h.compression(), Compression::Gzip);
        assert_eq!(
            (
                h.base_offset,
                h.last_offset_delta,
                h.base_timestamp,
                h.max_timestamp
            ),
            (
                before.base_offset,
                before.last_offset_delta,
                before.base_timestamp,
                before.max_timestamp
            )
        );
        assert_eq!(crate::records::compute_crc(&out).unwrap(), h.crc);
        let again = batch_records(&out, 1 << 20).unwrap();
        let got: Vec<_> = again
            .iter()
            .map(|r| r.unwrap())
            .map(|r| (r.offset_delta, r.timestamp_delta, r.key))
            .collect();
        assert_eq!(got, [(0, 0, Some(&b"a"[..])), (2, 9, Some(&b"c"[..]))]);
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        // 64 MiB of zeros compresses to a few KiB in every codec.
        let zeros = vec![0u8; 64 << 20];
        for codec in CODECS {
            let bomb = compress(codec, &zeros, None).unwrap();
            assert!(bomb.len() < 4 << 20, "{codec:?}: {}", bomb.len());
            assert_eq!(
                decompress(codec, &bomb, 1 << 20),
                Err(CodecError::TooLarge {
                    codec,
                    limit: 1 << 20
                })
            );
            // Exactly at the limit is fine.
            let small = compress(codec, &zeros[..1000], None).unwrap();
            assert_eq!(decompress(codec, &small, 1000).unwrap().len(), 1000);
            assert!(matches!(
                decompress(codec, &small, 999),
                Err(CodecError::TooLarge { .. })
            ));
        }
        // A raw snappy block claiming 4 GiB is refused before allocating.
        let mut claim = Vec::new();
        let mut n: u64 = 4 << 30;
        while n >= 0x80 {
            claim.push((n as u8) | 0x80);
            n >>= 7;
        }
        claim.push(n as u8);
        assert!(matches!(
            decompress(Compression::Snappy, &claim, 1 << 20),
            Err(CodecError::TooLarge { .. } | CodecError::Corrupt { .. })
        ));
        assert!(matches!(
            decompress(Compression::None, &zeros[..11], 10),
            Err(CodecError::TooLarge { .. })
        ));
    }
}
