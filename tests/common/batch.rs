//! Builds small, valid v2 record batches by hand for raw-protocol tests.
#![allow(dead_code)]

use bytes::BufMut;

fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return;
        }
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

/// One uncompressed batch holding one record with `key` and `value`.
pub fn one_record_batch(key: &[u8], value: &[u8]) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    batch_with(now, now, &[(0, key, value)])
}

/// An uncompressed batch with first timestamp `base_ts`, the header's max
/// timestamp set to `header_max_ts` (whatever the records say), and records
/// of (timestamp delta, key, value).
pub fn batch_with(base_ts: i64, header_max_ts: i64, recs: &[(i64, &[u8], &[u8])]) -> Vec<u8> {
    let mut records = Vec::new();
    for (i, (ts_delta, key, value)) in recs.iter().enumerate() {
        let mut record = Vec::new();
        record.push(0); // attributes
        varint(&mut record, *ts_delta);
        varint(&mut record, i as i64); // offset delta
        varint(&mut record, key.len() as i64);
        record.extend_from_slice(key);
        varint(&mut record, value.len() as i64);
        record.extend_from_slice(value);
        varint(&mut record, 0); // headers
        varint(&mut records, record.len() as i64);
        records.extend_from_slice(&record);
    }

    // Everything the CRC covers: attributes .. end.
    let mut tail = Vec::new();
    tail.put_i16(0); // attributes
    tail.put_i32(recs.len() as i32 - 1); // last offset delta
    tail.put_i64(base_ts); // base timestamp
    tail.put_i64(header_max_ts); // max timestamp
    tail.put_i64(-1); // producer id
    tail.put_i16(-1); // producer epoch
    tail.put_i32(-1); // base sequence
    tail.put_i32(recs.len() as i32); // records
    tail.extend_from_slice(&records);

    let mut batch = Vec::new();
    batch.put_i64(0); // base offset
    batch.put_i32((4 + 1 + 4 + tail.len()) as i32); // batch length
    batch.put_i32(-1); // partition leader epoch
    batch.put_i8(2); // magic
    batch.put_u32(crc32c::crc32c(&tail));
    batch.extend_from_slice(&tail);
    batch
}
