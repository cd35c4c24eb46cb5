//! The huff-n'-puff filter (`tinker huffpuff`): a correction of the
//! system offset for asymmetric congestion, as the reference ntpd applies
//! it in its loop filter (Mills, *Computer Network Time Synchronization*,
//! "huff-n'-puff filter"; ntpd's `tinker huffpuff` documentation).
//!
//! When one direction of a path is congested, the extra delay lands on one
//! side of the exchange only, so the offset is wrong by up to half the
//! excess over the path's minimum delay (RFC 5905 §8: θ has an error of at
//! most δ/2).  The filter remembers the minimum round-trip delay seen over
//! a window of `span` seconds (in buckets of [`HUFFPUFF_BUCKET`] seconds)
//! and moves each offset towards zero by half the current excess
//! `(δ − δmin)/2`: a synchronised clock shows offsets near zero, so the
//! sign of the offset says which direction was congested.

/// Length of one bucket of the minimum-delay window, seconds (the
/// reference implementation's 900 s, which is also the smallest span).
pub const HUFFPUFF_BUCKET: f64 = 900.0;

/// State of the huff-n'-puff filter.
#[derive(Debug, Clone, PartialEq)]
pub struct HuffPuff {
    /// Minimum delay seen in each bucket, seconds (∞ when empty).
    buckets: Vec<f64>,
    /// Index of the bucket being filled.
    current: usize,
    /// Local time at which the current bucket started.
    bucket_start: f64,
}

impl HuffPuff {
    /// A filter remembering the minimum delay over `span` seconds (at
    /// least [`HUFFPUFF_BUCKET`]; rounded down to whole buckets), started
    /// at local time `now`.
    pub fn new(span: f64, now: f64) -> Self {
        let span = if span.is_finite() { span } else { 0.0 };
        let n = (span.max(HUFFPUFF_BUCKET) / HUFFPUFF_BUCKET).floor() as usize;
        HuffPuff {
            buckets: vec![f64::INFINITY; n.max(1)],
            current: 0,
            bucket_start: now,
        }
    }

    /// Number of buckets in the window.
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// The window's minimum delay, seconds (`None` before any sample).
    pub fn min_delay(&self) -> Option<f64> {
        let m = self.buckets.iter().copied().fold(f64::INFINITY, f64::min);
        m.is_finite().then_some(m)
    }

    /// Move on to the bucket covering `now`, emptying the buckets that
    /// fell out of the window.
    fn rotate(&mut self, now: f64) {
        let n = self.buckets.len();
        let mut k = 0;
        while now - self.bucket_start >= HUFFPUFF_BUCKET {
            self.bucket_start += HUFFPUFF_BUCKET;
            if k < n {
                self.current = (self.current + 1) % n;
                self.buckets[self.current] = f64::INFINITY;
                k += 1;
            } else {
                // Every bucket is already empty: jump to the present.
                let behind = ((now - self.bucket_start) / HUFFPUFF_BUCKET).floor();
                self.bucket_start += behind.max(0.0) * HUFFPUFF_BUCKET;
            }
        }
    }

    /// Record the system peer's round-trip `delay` (seconds) at local
    /// time `now` and return `offset` corrected for the congestion the
    /// delay shows: `offset ∓ (delay − δmin)/2`, towards zero.
    pub fn correct(&mut self, offset: f64, delay: f64, now: f64) -> f64 {
        if !delay.is_finite() || !offset.is_finite() || delay < 0.0 {
            return offset;
        }
        self.rotate(now);
        if let Some(b) = self.buckets.get_mut(self.current) {
            if delay < *b {
                *b = delay;
            }
        }
        let excess = match self.min_delay() {
            Some(m) => (delay - m).max(0.0) / 2.0,
            None => 0.0,
        };
        if offset > 0.0 {
            offset - excess
        } else {
            offset + excess
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_is_whole_buckets_with_a_900_s_floor() {
        assert_eq!(HuffPuff::new(7200.0, 0.0).buckets(), 8);
        assert_eq!(HuffPuff::new(100.0, 0.0).buckets(), 1);
        assert_eq!(HuffPuff::new(2000.0, 0.0).buckets(), 2);
        assert_eq!(HuffPuff::new(f64::NAN, 0.0).buckets(), 1);
        assert_eq!(HuffPuff::new(7200.0, 0.0).min_delay(), None);
    }

    #[test]
    fn offsets_move_towards_zero_by_half_the_excess_delay() {
        let mut h = HuffPuff::new(7200.0, 0.0);
        // The first sample defines the minimum: no correction.
        assert_eq!(h.correct(0.001, 0.010, 0.0), 0.001);
        // 6 ms more delay: 3 ms correction towards zero, either sign.
        assert!((h.correct(0.004, 0.016, 64.0) - 0.001).abs() < 1e-15);
        assert!((h.correct(-0.0035, 0.016, 128.0) + 0.0005).abs() < 1e-15);
        // A new minimum resets the reference: no correction.
        assert_eq!(h.correct(0.002, 0.008, 192.0), 0.002);
        assert_eq!(h.min_delay(), Some(0.008));
        // Bad input passes through unchanged.
        assert_eq!(h.correct(0.002, f64::NAN, 200.0), 0.002);
    }

    #[test]
    fn the_minimum_expires_after_the_span() {
        let mut h = HuffPuff::new(1800.0, 0.0); // two buckets
        h.correct(0.0, 0.005, 10.0);
        h.correct(0.0, 0.020, 1000.0); // second bucket
        assert_eq!(h.min_delay(), Some(0.005));
        // At 1800 s the first bucket is recycled: 20 ms is the minimum.
        assert_eq!(h.correct(0.012, 0.020, 1800.0), 0.012);
        assert_eq!(h.min_delay(), Some(0.020));
        // A long gap empties the whole window.
        assert_eq!(h.correct(0.012, 0.030, 100_000.0), 0.012);
        assert_eq!(h.min_delay(), Some(0.030));
        // Within the same bucket the minimum holds.
        assert!((h.correct(0.012, 0.040, 100_100.0) - 0.007).abs() < 1e-15);
    }
}
