//! The one error type of `sluice-storage`. Mapping to Kafka error codes is the broker's
//! business (`src/error.rs`).

/// Everything that can go wrong in a partition log.
#[derive(thiserror::Error, Debug)]
pub enum StorageError {
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// An append whose base offset is not the log end offset.
    #[error("batch base offset {got} does not follow the log end offset {expected}")]
    NonMonotonicOffset { expected: i64, got: i64 },

    /// A read or offset change outside `[log_start_offset, log_end_offset]`.
    #[error("offset {offset} is outside the log range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },

    /// The batch handed to `append` is not a whole v2 batch or disagrees with its
    /// `BatchMeta`. Nothing was written.
    #[error("invalid batch: {0}")]
    InvalidBatch(String),

    /// Files on disk (or data already accepted) are not what this crate wrote.
    #[error("corrupt log: {0}")]
    Corrupt(String),

    /// A batch read from disk failed its CRC-32C, does not frame, or does not carry
    /// the offsets its place in the log calls for: it is refused, never served.
    /// Its offsets are `[offset, resume_offset)`; reads from `resume_offset` on
    /// (the next intact batch) still work. Kafka answers such a batch with
    /// CORRUPT_MESSAGE.
    #[error("corrupt batch at offsets [{offset}, {resume_offset}): {reason}")]
    CorruptBatch {
        offset: i64,
        resume_offset: i64,
        reason: String,
    },

    /// An earlier fsync failed (or a failed write could not be cut back), so the log
    /// refuses further writes: a write that might be lost must never be acknowledged.
    /// Reopen the log (restart) to recover.
    #[error("log is poisoned by an earlier fsync failure (or a failed write that could not be undone); refusing writes until restart")]
    Poisoned,
}
