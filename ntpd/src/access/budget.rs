//! Token buckets for the budgets that keep unauthenticated traffic from
//! exhausting, amplifying or flooding (RFC 5905 §9.2's rate limiting
//! generalised; RFC 5906 §14 names the amplification and CPU exposure of
//! Autokey; RFC 9327 §6 asks mode 6 servers to limit responses).
//!
//! Two shapes, both on the core's monotonic seconds (never the wall
//! clock, so a clock step cannot refill them):
//!
//! - [`TokenBucket`]: one budget, e.g. the whole daemon's.
//! - [`SourceBuckets`]: one bucket per source address in a bounded table,
//!   so that a flood of spoofed sources cannot grow memory; when the table
//!   is full the buckets that have refilled (which hold nothing worth
//!   remembering) are dropped first, then the one idle longest.
//!
//! A request is admitted when its bucket holds at least one token, and
//! then charged its real cost, which may leave a debt: a large answer
//! waits out its size before the next (the mode 6 limiter's rule).

use std::collections::HashMap;
use std::net::IpAddr;

/// The size and refill rate of a bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketParams {
    /// Most tokens a bucket holds (the burst).
    pub burst: f64,
    /// Tokens earned back per second.
    pub rate: f64,
}

impl BucketParams {
    /// `burst` tokens, `rate` per second.
    pub const fn new(burst: f64, rate: f64) -> Self {
        BucketParams { burst, rate }
    }
}

/// One token bucket; starts full.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    params: BucketParams,
    tokens: f64,
    last: f64,
}

impl TokenBucket {
    /// A full bucket at monotonic time `now`.
    pub fn new(params: BucketParams, now: f64) -> Self {
        TokenBucket {
            params,
            tokens: params.burst,
            last: now,
        }
    }

    /// The bucket's size and rate.
    pub fn params(&self) -> BucketParams {
        self.params
    }

    /// Tokens held after refilling to `now` (negative while in debt).
    pub fn tokens(&mut self, now: f64) -> f64 {
        self.refill(now);
        self.tokens
    }

    fn refill(&mut self, now: f64) {
        // A monotonic clock never goes back; if a caller's does, nothing
        // is earned for the interval.
        let dt = (now - self.last).max(0.0);
        self.tokens = (self.tokens + dt * self.params.rate).min(self.params.burst);
        self.last = self.last.max(now);
    }

    /// Whether the bucket holds at least one token at `now`.
    pub fn admit(&mut self, now: f64) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    /// Charge `cost` tokens (a debt is allowed).
    pub fn charge(&mut self, cost: f64) {
        self.tokens -= cost;
    }

    /// Whether the bucket is full at `now` (nothing spent recently).
    pub fn is_full(&mut self, now: f64) -> bool {
        self.refill(now);
        self.tokens >= self.params.burst
    }

    /// Seconds since the bucket was last looked at.
    fn idle(&self, now: f64) -> f64 {
        now - self.last
    }
}

/// Per-source token buckets in a table of bounded size.
#[derive(Debug, Clone)]
pub struct SourceBuckets {
    params: BucketParams,
    max_sources: usize,
    buckets: HashMap<IpAddr, TokenBucket>,
}

impl SourceBuckets {
    /// An empty table of at most `max_sources` buckets (at least one).
    pub fn new(params: BucketParams, max_sources: usize) -> Self {
        SourceBuckets {
            params,
            max_sources: max_sources.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Sources tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Whether `source` holds at least one token at `now`; a new source
    /// starts with a full bucket.
    pub fn admit(&mut self, source: IpAddr, now: f64) -> bool {
        if !self.buckets.contains_key(&source) && self.buckets.len() >= self.max_sources {
            self.make_room(now);
        }
        let params = self.params;
        self.buckets
            .entry(source)
            .or_insert_with(|| TokenBucket::new(params, now))
            .admit(now)
    }

    /// Charge `source` `cost` tokens (nothing if it is not tracked).
    pub fn charge(&mut self, source: IpAddr, cost: f64) {
        if let Some(b) = self.buckets.get_mut(&source) {
            b.charge(cost);
        }
    }

    /// Frees at least one slot: every full bucket goes (a new bucket
    /// would be the same); if none is, the idler half of the table, so
    /// that under a flood of new sources the work stays O(log n) a source.
    fn make_room(&mut self, now: f64) {
        self.buckets.retain(|_, b| !b.is_full(now));
        if self.buckets.len() < self.max_sources {
            return;
        }
        let mut idle: Vec<f64> = self.buckets.values().map(|b| b.idle(now)).collect();
        let mid = idle.len() / 2;
        let (_, cut, _) = idle.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
        let cut = *cut;
        self.buckets.retain(|_, b| b.idle(now) < cut);
        if self.buckets.len() >= self.max_sources {
            // Every bucket equally idle: drop them all.
            self.buckets.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_its_rate() {
        let mut b = TokenBucket::new(BucketParams::new(3.0, 2.0), 100.0);
        for _ in 0..3 {
            assert!(b.admit(100.0));
            b.charge(1.0);
        }
        assert!(!b.admit(100.0));
        assert!(!b.admit(100.4));
        assert!(b.admit(100.5));
        b.charge(4.0); // a debt: waited out at the rate
        assert!(!b.admit(101.5));
        assert!(b.admit(102.5));
        // Time going back earns nothing and does not move the bucket back.
        b.charge(1.0);
        assert!(!b.admit(50.0));
    }

    #[test]
    fn a_bucket_never_holds_more_than_its_burst() {
        let mut b = TokenBucket::new(BucketParams::new(2.0, 1.0), 0.0);
        assert_eq!(b.tokens(1e6), 2.0);
        assert!(b.is_full(1e6));
    }

    #[test]
    fn sources_are_independent_and_the_table_is_bounded() {
        let mut t = SourceBuckets::new(BucketParams::new(1.0, 0.1), 16);
        let a: IpAddr = [10, 0, 0, 1].into();
        assert!(t.admit(a, 0.0));
        t.charge(a, 1.0);
        assert!(!t.admit(a, 0.0));
        assert!(t.admit([10, 0, 0, 2].into(), 0.0));
        for i in 0..10_000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            if t.admit(ip, 1.0) {
                t.charge(ip, 1.0);
            }
            assert!(t.len() <= 16);
        }
    }

    #[test]
    fn a_full_table_drops_refilled_buckets_before_spent_ones() {
        let mut t = SourceBuckets::new(BucketParams::new(1.0, 1.0), 2);
        let spent: IpAddr = [10, 0, 0, 1].into();
        let idle: IpAddr = [10, 0, 0, 2].into();
        assert!(t.admit(idle, 0.0));
        assert!(t.admit(spent, 0.5));
        t.charge(spent, 5.0);
        // At 1.0 the idle source is full again, the spent one in debt:
        // the newcomer takes the idle source's slot, the debt stays.
        assert!(t.admit([10, 0, 0, 3].into(), 1.0));
        assert!(!t.admit(spent, 1.0));
    }
}
