//! Per-source rate limiting of mode 6 (the reference has none beyond
//! `restrict ... limited`; RFC 9327 §6 asks servers to limit responses).
//!
//! A token bucket per source address: each response datagram costs one
//! token; a request is served only when its source holds at least one.
//! The table is bounded; when it is full the entry idle longest is
//! replaced, so a flood of spoofed sources cannot grow memory.

use std::collections::HashMap;
use std::net::IpAddr;

use proto::NtpTimestamp;

/// Rate limiter settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Datagrams a source may receive in a burst.
    pub burst: f64,
    /// Datagrams per second a source earns back.
    pub rate: f64,
    /// Most sources tracked at once.
    pub max_sources: usize,
}

impl Default for RateLimit {
    /// 32 datagrams in a burst (enough for `ntpq -p` against a daemon with
    /// a dozen associations), then 16 per second, 1024 sources.
    fn default() -> Self {
        RateLimit {
            burst: 32.0,
            rate: 16.0,
            max_sources: 1024,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: NtpTimestamp,
}

/// The per-source token buckets.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: HashMap<IpAddr, Bucket>,
}

/// Seconds from `earlier` to `later` (negative values, i.e. a clock step
/// back, count as 0).
fn elapsed(later: NtpTimestamp, earlier: NtpTimestamp) -> f64 {
    let diff = later.to_bits().wrapping_sub(earlier.to_bits()) as i64;
    (diff as f64 / 4_294_967_296.0).max(0.0)
}

impl RateLimiter {
    /// A limiter with no sources tracked yet; each new source starts with
    /// a full bucket of `limit.burst` datagrams.
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            buckets: HashMap::new(),
        }
    }

    /// The settings.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Sources tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Whether `source` may be answered now; refills its bucket.
    pub fn admit(&mut self, source: IpAddr, now: NtpTimestamp) -> bool {
        let limit = self.limit;
        if !self.buckets.contains_key(&source) && self.buckets.len() >= limit.max_sources {
            let oldest = self
                .buckets
                .iter()
                .max_by(|a, b| elapsed(now, a.1.last).total_cmp(&elapsed(now, b.1.last)))
                .map(|(ip, _)| *ip);
            if let Some(ip) = oldest {
                self.buckets.remove(&ip);
            }
        }
        let b = self.buckets.entry(source).or_insert(Bucket {
            tokens: limit.burst,
            last: now,
        });
        b.tokens = (b.tokens + elapsed(now, b.last) * limit.rate).min(limit.burst);
        b.last = now;
        b.tokens >= 1.0
    }

    /// Charges `datagrams` sent to `source` (may leave a debt that later
    /// requests wait out).
    pub fn charge(&mut self, source: IpAddr, datagrams: usize) {
        if let Some(b) = self.buckets.get_mut(&source) {
            b.tokens -= datagrams as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> NtpTimestamp {
        NtpTimestamp::from_bits((secs * 4_294_967_296.0) as u64 + (3_900_000_000u64 << 32))
    }

    #[test]
    fn burst_then_rate() {
        let mut r = RateLimiter::new(RateLimit {
            burst: 4.0,
            rate: 2.0,
            max_sources: 8,
        });
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..4 {
            assert!(r.admit(ip, at(0.0)));
            r.charge(ip, 1);
        }
        assert!(!r.admit(ip, at(0.0)));
        assert!(!r.admit(ip, at(0.4)));
        assert!(r.admit(ip, at(0.5)));
        r.charge(ip, 3); // a three-fragment answer leaves a debt
        assert!(!r.admit(ip, at(1.0)));
        assert!(!r.admit(ip, at(1.5)));
        assert!(r.admit(ip, at(2.0)));
        // Another source is independent.
        assert!(r.admit([10, 0, 0, 2].into(), at(1.5)));
    }

    #[test]
    fn table_is_bounded() {
        let mut r = RateLimiter::new(RateLimit {
            burst: 1.0,
            rate: 1.0,
            max_sources: 3,
        });
        for i in 0..100u8 {
            r.admit([10, 0, 1, i].into(), at(f64::from(i)));
            assert!(r.len() <= 3);
        }
        assert!(r.buckets.contains_key(&IpAddr::from([10, 0, 1, 99])));
        assert!(!r.buckets.contains_key(&IpAddr::from([10, 0, 1, 0])));
    }
}
