//! `log.cleaner.io.max.bytes.per.second`: the cleaner sleeps when its reads and
//! writes run ahead of the rate (Kafka's `Throttler`). It runs on a blocking thread of
//! its own, so sleeping there holds up nothing else.

use std::time::{Duration, Instant};

/// How often (in bytes) the rate is checked.
const CHECK_EVERY_BYTES: u64 = 64 << 10;

#[derive(Debug)]
pub(crate) struct Throttle {
    bytes_per_second: f64,
    start: Instant,
    bytes: u64,
    unchecked: u64,
}

impl Throttle {
    pub(crate) fn new(bytes_per_second: f64) -> Throttle {
        Throttle {
            bytes_per_second,
            start: Instant::now(),
            bytes: 0,
            unchecked: 0,
        }
    }

    /// Counts `bytes` of I/O, sleeping as long as the rate calls for.
    pub(crate) fn account(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.unchecked = self.unchecked.saturating_add(bytes);
        if self.unchecked < CHECK_EVERY_BYTES
            || !self.bytes_per_second.is_finite()
            || self.bytes_per_second <= 0.0
            || self.bytes_per_second >= f64::MAX
        {
            return;
        }
        self.unchecked = 0;
        let due = Duration::from_secs_f64(self.bytes as f64 / self.bytes_per_second);
        let elapsed = self.start.elapsed();
        if let Some(ahead) = due.checked_sub(elapsed) {
            std::thread::sleep(ahead.min(Duration::from_secs(10)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_when_ahead_of_the_rate() {
        // 1 MiB at 8 MiB/s: at least ~125 ms (generous bound below).
        let mut t = Throttle::new(8.0 * 1024.0 * 1024.0);
        let start = Instant::now();
        for _ in 0..16 {
            t.account(64 << 10);
        }
        assert!(start.elapsed() >= Duration::from_millis(100));
        let mut free = Throttle::new(f64::MAX);
        let start = Instant::now();
        for _ in 0..1000 {
            free.account(1 << 20);
        }
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
