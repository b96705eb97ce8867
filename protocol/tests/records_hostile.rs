//! Hostile input: random and mangled bytes must give errors, never panics,
//! and whatever is accepted must be self-consistent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sluice_protocol::records::batch::{BATCH_HEADER_LEN, CRC_OFFSET};
use sluice_protocol::records::builder::BatchBuilder;
use sluice_protocol::records::{
    compute_crc, parse_header, records, set_base_offset, set_log_append_time,
    set_partition_leader_epoch, split_batches, validate_batch,
};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn bytes_below(&mut self, max_len: usize) -> Vec<u8> {
        let len = self.below(max_len);
        self.bytes(len)
    }
}

/// Runs every entry point on `input` and checks what was accepted.
fn exercise(input: &[u8]) -> bool {
    let _ = parse_header(input);
    let _ = compute_crc(input);
    let _ = validate_batch(input);
    if let Ok(iter) = records(input) {
        for item in iter.take(10_000) {
            let _ = item;
        }
    }
    for rewrite in 0..3 {
        let mut copy = input.to_vec();
        let result = match rewrite {
            0 => set_base_offset(&mut copy, 7),
            1 => set_partition_leader_epoch(&mut copy, 7),
            _ => set_log_append_time(&mut copy, 7),
        };
        if result.is_err() {
            assert_eq!(copy, input, "a refused rewrite changed bytes");
        }
    }
    match split_batches(input) {
        Ok(batches) => {
            let mut next = 0;
            for batch in &batches {
                assert_eq!(batch.range.start, next);
                assert_eq!(&input[batch.range.clone()], batch.bytes);
                assert_eq!(validate_batch(batch.bytes).as_ref(), Ok(&batch.header));
                next = batch.range.end;
            }
            assert_eq!(next, input.len());
            true
        }
        Err(_) => false,
    }
}

fn fix_crc(batch: &mut [u8]) {
    if let Ok(crc) = compute_crc(batch) {
        batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

fn random_batch(rng: &mut Rng) -> Vec<u8> {
    let mut builder = BatchBuilder::new();
    for i in 0..1 + rng.below(4) {
        let key = rng.bytes_below(6);
        let value = rng.bytes_below(20);
        builder = builder.record(
            1_000 + i as i64 * rng.below(50) as i64,
            (rng.below(3) > 0).then_some(key.as_slice()),
            (rng.below(4) > 0).then_some(value.as_slice()),
            if rng.below(2) == 0 {
                &[]
            } else {
                &[(b"h", Some(b"x")), (b"", None)]
            },
        );
    }
    builder.build()
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0x5eed_0001);
    for _ in 0..20_000 {
        let len = rng.below(160);
        let mut input = rng.bytes(len);
        // Often make it look like a v2 batch so parsing gets further.
        if input.len() > 22 && rng.below(2) == 0 {
            input[16] = 2;
            let claimed = (input.len() as i32 - 12).max(0) + rng.below(5) as i32 - 2;
            input[8..12].copy_from_slice(&claimed.to_be_bytes());
            // Codec bits live in the low byte of the attributes.
            input[22] &= 0xf8 | (rng.below(8) as u8);
        }
        exercise(&input);
    }
}

#[test]
fn mangled_valid_batches() {
    let mut rng = Rng(0x5eed_0002);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let mut input = random_batch(&mut rng);
        if rng.below(3) == 0 {
            input.extend_from_slice(&random_batch(&mut rng));
        }
        match rng.below(4) {
            0 => {
                let cut = rng.below(input.len() + 1);
                input.truncate(cut);
            }
            1 => {
                let extra = rng.bytes_below(8);
                let extra = [&[0xa5][..], &extra].concat();
                input.extend_from_slice(&extra);
            }
            _ => {
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(input.len());
                    let value = rng.next() as u8;
                    input[at] = value;
                }
            }
        }
        exercise(&input);
        // With the CRC made right again, the record parser sees the damage.
        fix_crc(&mut input);
        if exercise(&input) {
            accepted += 1;
        }
    }
    // Sanity: the generator does not only produce garbage.
    assert!(accepted > 1_000, "only {accepted} accepted");
}

#[test]
fn random_record_areas_behind_a_valid_header() {
    let mut rng = Rng(0x5eed_0003);
    for _ in 0..20_000 {
        let mut batch = BatchBuilder::new().build();
        let area = rng.bytes_below(80);
        batch.extend_from_slice(&area);
        let batch_length = (batch.len() - 12) as i32;
        batch[8..12].copy_from_slice(&batch_length.to_be_bytes());
        let count = rng.below(6) as i32 - 1;
        batch[23..27].copy_from_slice(&(count - 1).to_be_bytes());
        batch[57..61].copy_from_slice(&count.to_be_bytes());
        fix_crc(&mut batch);
        assert!(batch.len() >= BATCH_HEADER_LEN);
        exercise(&batch);
    }
}

#[test]
fn every_prefix_of_a_multi_batch_input() {
    let mut rng = Rng(0x5eed_0004);
    let mut input = random_batch(&mut rng);
    input.extend_from_slice(&random_batch(&mut rng));
    input.extend_from_slice(&random_batch(&mut rng));
    for cut in 0..=input.len() {
        exercise(&input[..cut]);
    }
    assert_eq!(split_batches(&input).unwrap().len(), 3);
}
