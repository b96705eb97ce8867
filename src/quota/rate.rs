//! Kafka's windowed rate (`metrics.stats.Rate` over a `WindowedSum`) and
//! the throttle time of a quota violation (`QuotaUtils.throttleTime`).
//!
//! The rate keeps up to `samples + 1` samples of `window_ms` each (one
//! extra for the sample overlapping the start of the measured span); a
//! sample with no event for `samples × window_ms` is reset. The measured
//! span runs from the oldest sample's start to now, and is taken as at
//! least `samples - 1` whole windows: a client that has just started is
//! measured over about ten seconds (with Kafka's defaults), not over the
//! milliseconds it has been sending.

/// `quota.window.num` samples of `quota.window.size.seconds` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub samples: u32,
    pub window_ms: i64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    start_ms: i64,
    last_event_ms: i64,
    value: f64,
}

impl Sample {
    fn new(now: i64) -> Sample {
        Sample {
            start_ms: now,
            last_event_ms: now,
            value: 0.0,
        }
    }
}

/// A rate in units per second over the samples of a [`Window`].
#[derive(Debug, Clone, Default)]
pub struct Rate {
    samples: Vec<Sample>,
    current: usize,
}

impl Rate {
    /// Adds `value` at `now` (ms); negative to take back what was recorded.
    pub fn record(&mut self, window: Window, value: f64, now: i64) {
        if self.samples.is_empty() {
            self.samples.push(Sample::new(now));
            self.current = 0;
        }
        let complete = self
            .samples
            .get(self.current)
            .is_none_or(|s| now - s.start_ms >= window.window_ms);
        if complete {
            let max = window.samples as usize + 1;
            self.current = (self.current + 1) % max;
            if self.current >= self.samples.len() {
                self.samples.push(Sample::new(now));
                self.current = self.samples.len() - 1;
            } else if let Some(s) = self.samples.get_mut(self.current) {
                *s = Sample::new(now);
            }
        }
        if let Some(s) = self.samples.get_mut(self.current) {
            s.value += value;
            s.last_event_ms = now;
        }
    }

    /// Resets the samples that saw no event within the window.
    fn purge(&mut self, window: Window, now: i64) {
        let expire = i64::from(window.samples) * window.window_ms;
        for s in &mut self.samples {
            if now - s.last_event_ms >= expire {
                *s = Sample::new(now);
            }
        }
    }

    /// The span the rate is measured over, in ms (Kafka's `windowSize`).
    pub fn window_size_ms(&mut self, window: Window, now: i64) -> i64 {
        self.purge(window, now);
        let oldest = self.samples.iter().map(|s| s.start_ms).min().unwrap_or(now);
        let mut elapsed = now - oldest;
        let full = elapsed / window.window_ms.max(1);
        let min_full = i64::from(window.samples) - 1;
        if full < min_full {
            elapsed += (min_full - full) * window.window_ms;
        }
        elapsed.max(1)
    }

    /// The rate at `now`, per second.
    pub fn measure(&mut self, window: Window, now: i64) -> f64 {
        let span = self.window_size_ms(window, now);
        let total: f64 = self.samples.iter().map(|s| s.value).sum();
        total / (span as f64 / 1000.0)
    }

    /// Records `value` and checks the rate against `bound`: the throttle
    /// time in ms (0 within the quota). Over it, the time that brings the
    /// rate back to the bound: `(rate - bound) / bound × span`.
    pub fn record_and_check(&mut self, window: Window, value: f64, bound: f64, now: i64) -> i64 {
        self.record(window, value, now);
        let rate = self.measure(window, now);
        if rate <= bound {
            return 0;
        }
        let span = self.window_size_ms(window, now) as f64;
        let ms = ((rate - bound) / bound * span).round();
        if ms.is_finite() {
            ms.min(i32::MAX as f64) as i64
        } else {
            i64::from(i32::MAX)
        }
    }

    /// When the last event was recorded (ms), for expiring idle sensors.
    pub fn last_event_ms(&self) -> Option<i64> {
        self.samples.iter().map(|s| s.last_event_ms).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KAFKA: Window = Window {
        samples: 11,
        window_ms: 1000,
    };

    #[test]
    fn a_new_rate_is_measured_over_ten_windows() {
        let mut r = Rate::default();
        r.record(KAFKA, 1000.0, 0);
        // 1000 units over the assumed 10 s.
        assert_eq!(r.measure(KAFKA, 0), 100.0);
        assert_eq!(r.window_size_ms(KAFKA, 500), 10_500);
    }

    #[test]
    fn a_steady_rate_is_measured_as_such() {
        let mut r = Rate::default();
        for t in 0..30_000 {
            if t % 100 == 0 {
                r.record(KAFKA, 100.0, t);
            }
        }
        let rate = r.measure(KAFKA, 30_000);
        assert!((rate - 1000.0).abs() < 100.0, "{rate}");
    }

    #[test]
    fn throttle_time_brings_the_rate_back_to_the_bound() {
        let mut r = Rate::default();
        // 20 units against a bound of 1/s over a 10 s span: 2/s, one
        // second's worth over, so (2 - 1) / 1 × 10 s.
        assert_eq!(r.record_and_check(KAFKA, 20.0, 1.0, 0), 10_000);
        // The span stays at ten windows until the burst's sample expires.
        assert_eq!(r.record_and_check(KAFKA, 0.0, 1.0, 10_000), 10_000);
        assert_eq!(r.record_and_check(KAFKA, 0.0, 1.0, 11_000), 0);
    }

    #[test]
    fn taking_back_a_record_restores_the_rate() {
        let mut r = Rate::default();
        r.record(KAFKA, 50.0, 0);
        r.record(KAFKA, 500.0, 10);
        r.record(KAFKA, -500.0, 10);
        assert_eq!(r.measure(KAFKA, 10), 50.0 / 10.01);
    }

    #[test]
    fn idle_samples_expire() {
        let mut r = Rate::default();
        r.record(KAFKA, 1_000_000.0, 0);
        assert_eq!(r.measure(KAFKA, 11_000), 0.0);
        assert!(r.samples.len() <= 12);
        for t in 0..100 {
            r.record(KAFKA, 1.0, 11_000 + t * 1000);
        }
        assert!(r.samples.len() <= 12);
    }
}
