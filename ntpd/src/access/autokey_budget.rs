//! Budgets for the Autokey server fast path (RFC 5906 §14 "Security
//! Considerations": the protocol answers unauthenticated requests with
//! larger, signed responses; brief §5.5).
//!
//! Anyone can MAC a request with cookie 0 (its session key is made of
//! public values, RFC 5906 §6.2), so a spoofed source draws a CERT
//! response of ×5.7 its request, and SIGN, COOK and the identity
//! exchanges (IFF, GQ, MV) cost a private-key operation each. Two limits
//! apply, and ordinary mode 3/4 service, which never passes here, stays
//! whole:
//!
//! - per source: a bucket of requests with a field (which may draw a
//!   response larger than the request), and a smaller one of requests
//!   costing a private-key operation;
//! - for the whole daemon: a bucket of response octets beyond the request
//!   size (the amplification a reflector could get out of us), and one of
//!   private-key operations (the CPU).
//!
//! A request over a budget gets no answer; its client retries at its next
//! poll, as after a lost datagram.

use std::net::IpAddr;

use proto::exten::{AutokeyCode, AutokeyHeader};
use proto::PacketRef;

use super::budget::{BucketParams, SourceBuckets, TokenBucket};

/// What answering a request costs (RFC 5906 §10 message table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutokeyWork {
    /// No extension field: the reply is as long as the request.
    NoField,
    /// ASSOC, CERT, AUTO, LEAP and unknown codes: a precomputed
    /// (already signed) value, possibly longer than the request.
    Precomputed,
    /// SIGN, COOK, IFF, GQ, MV: a private-key operation and a signature.
    PrivateKey,
}

impl AutokeyWork {
    /// The work the request's first field asks for (the only one the
    /// server answers, brief §5.5).
    pub fn of_request(packet: &PacketRef<'_>) -> Self {
        let Some(first) = packet.fields().next() else {
            return AutokeyWork::NoField;
        };
        let code = first
            .as_bytes()
            .get(..8)
            .and_then(|h| <[u8; 8]>::try_from(h).ok())
            .map(|h| AutokeyHeader::from_bytes(h).code);
        match code {
            Some(
                AutokeyCode::Sign
                | AutokeyCode::Cook
                | AutokeyCode::Iff
                | AutokeyCode::Gq
                | AutokeyCode::Mv,
            ) => AutokeyWork::PrivateKey,
            _ => AutokeyWork::Precomputed,
        }
    }
}

/// The budgets' sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutokeyBudgetConfig {
    /// Requests with a field per source. A client's whole volley (ASSOC,
    /// CERT, identity, COOK, LEAP, SIGN; brief §5.2) fits in the burst;
    /// afterwards one in 4 s, more than any poll interval needs.
    pub per_source: BucketParams,
    /// Private-key requests per source: a volley has at most three.
    pub per_source_private_key: BucketParams,
    /// Response octets beyond the request size, for the whole daemon.
    pub global_excess_octets: BucketParams,
    /// Private-key operations per second for the whole daemon: at 2048
    /// bits about 2 ms each, 32/s is a few per cent of one core.
    pub global_private_key: BucketParams,
    /// Most sources tracked by each per-source table.
    pub max_sources: usize,
}

impl Default for AutokeyBudgetConfig {
    fn default() -> Self {
        AutokeyBudgetConfig {
            per_source: BucketParams::new(8.0, 0.25),
            per_source_private_key: BucketParams::new(4.0, 1.0 / 16.0),
            global_excess_octets: BucketParams::new(65_536.0, 32_768.0),
            global_private_key: BucketParams::new(64.0, 32.0),
            max_sources: 4096,
        }
    }
}

/// Why a request was not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetRefusal {
    /// The source is over its rate of requests with a field.
    SourceRate,
    /// The source is over its rate of private-key requests.
    SourcePrivateKey,
    /// The daemon is over its octets-beyond-request budget.
    GlobalOctets,
    /// The daemon is over its private-key budget.
    GlobalPrivateKey,
}

impl std::fmt::Display for BudgetRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BudgetRefusal::SourceRate => "the source is over its Autokey request rate",
            BudgetRefusal::SourcePrivateKey => {
                "the source is over its rate of SIGN, COOK and identity requests"
            }
            BudgetRefusal::GlobalOctets => {
                "the server is over its budget of Autokey response octets"
            }
            BudgetRefusal::GlobalPrivateKey => {
                "the server is over its budget of private-key operations"
            }
        })
    }
}

/// Counters, for the operator (mode 6 could show them later).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutokeyBudgetStats {
    /// Requests answered that went through the budget.
    pub admitted: u64,
    /// Requests refused by a per-source budget.
    pub refused_source: u64,
    /// Requests refused by a global budget.
    pub refused_global: u64,
    /// Response octets beyond the request size, in total.
    pub excess_octets: u64,
    /// Private-key responses given.
    pub private_key_ops: u64,
}

/// The Autokey server budgets.
#[derive(Debug, Clone)]
pub struct AutokeyBudget {
    per_source: SourceBuckets,
    per_source_private_key: SourceBuckets,
    global_octets: TokenBucket,
    global_private_key: TokenBucket,
    /// What was admitted and refused.
    pub stats: AutokeyBudgetStats,
}

impl AutokeyBudget {
    /// Full budgets at monotonic time `now`.
    pub fn new(config: AutokeyBudgetConfig, now: f64) -> Self {
        AutokeyBudget {
            per_source: SourceBuckets::new(config.per_source, config.max_sources),
            per_source_private_key: SourceBuckets::new(
                config.per_source_private_key,
                config.max_sources,
            ),
            global_octets: TokenBucket::new(config.global_excess_octets, now),
            global_private_key: TokenBucket::new(config.global_private_key, now),
            stats: AutokeyBudgetStats::default(),
        }
    }

    /// Whether a request of `work` from `source` may be answered at `now`.
    /// Global budgets are looked at before per-source ones are touched, so
    /// a refusal for the daemon's sake costs no source its tokens.
    pub fn admit(
        &mut self,
        source: IpAddr,
        work: AutokeyWork,
        now: f64,
    ) -> Result<(), BudgetRefusal> {
        let refused = match work {
            AutokeyWork::NoField => None,
            AutokeyWork::Precomputed | AutokeyWork::PrivateKey
                if !self.global_octets.admit(now) =>
            {
                Some(BudgetRefusal::GlobalOctets)
            }
            AutokeyWork::PrivateKey if !self.global_private_key.admit(now) => {
                Some(BudgetRefusal::GlobalPrivateKey)
            }
            _ if !self.per_source.admit(source, now) => Some(BudgetRefusal::SourceRate),
            AutokeyWork::PrivateKey if !self.per_source_private_key.admit(source, now) => {
                Some(BudgetRefusal::SourcePrivateKey)
            }
            _ => None,
        };
        match refused {
            Some(r @ (BudgetRefusal::GlobalOctets | BudgetRefusal::GlobalPrivateKey)) => {
                self.stats.refused_global += 1;
                Err(r)
            }
            Some(r) => {
                self.stats.refused_source += 1;
                Err(r)
            }
            None => Ok(()),
        }
    }

    /// Charges an admitted request: `request` octets in, `reply` octets
    /// out; `worked` says whether the engine answered the field (a
    /// crypto-NAK does no private-key work and is not longer than the
    /// request).
    pub fn charge(
        &mut self,
        source: IpAddr,
        work: AutokeyWork,
        request: usize,
        reply: usize,
        worked: bool,
    ) {
        if work == AutokeyWork::NoField {
            return;
        }
        self.stats.admitted += 1;
        self.per_source.charge(source, 1.0);
        let excess = reply.saturating_sub(request);
        self.global_octets.charge(excess as f64);
        self.stats.excess_octets += excess as u64;
        if work == AutokeyWork::PrivateKey && worked {
            self.per_source_private_key.charge(source, 1.0);
            self.global_private_key.charge(1.0);
            self.stats.private_key_ops += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> AutokeyBudget {
        AutokeyBudget::new(AutokeyBudgetConfig::default(), 0.0)
    }

    #[test]
    fn requests_without_fields_are_never_budgeted() {
        let mut b = budget();
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..10_000 {
            assert!(b.admit(ip, AutokeyWork::NoField, 0.0).is_ok());
            b.charge(ip, AutokeyWork::NoField, 68, 68, true);
        }
    }

    #[test]
    fn one_source_gets_its_burst_then_its_rate() {
        let mut b = budget();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let mut answered = 0;
        for i in 0..1000 {
            let now = f64::from(i) / 100.0; // 100 requests/s for 10 s
            if b.admit(ip, AutokeyWork::Precomputed, now).is_ok() {
                b.charge(ip, AutokeyWork::Precomputed, 100, 568, true);
                answered += 1;
            }
        }
        // 8 in the burst, then one per 4 s.
        assert!((8..=11).contains(&answered), "{answered}");
        assert_eq!(b.stats.refused_source, 1000 - answered);
    }

    #[test]
    fn many_sources_meet_the_global_octet_budget() {
        let mut b = budget();
        let mut excess = 0u64;
        for i in 0..30_000u32 {
            let now = f64::from(i) / 3000.0; // 3 k/s from 3 k sources, 10 s
            let ip = IpAddr::from((0x0a00_0000 + i % 3000).to_be_bytes());
            if b.admit(ip, AutokeyWork::Precomputed, now).is_ok() {
                b.charge(ip, AutokeyWork::Precomputed, 100, 568, true);
                excess += 468;
            }
        }
        // Burst plus 10 s at the rate, give or take one response.
        assert!(excess <= 65_536 + 10 * 32_768 + 468, "{excess}");
        assert!(b.stats.refused_global > 0);
    }

    #[test]
    fn private_key_work_has_its_own_budget() {
        let mut b = budget();
        let mut ops = 0;
        for i in 0..20_000u32 {
            let now = f64::from(i) / 2000.0; // 2 k SIGN/s for 10 s
            let ip = IpAddr::from((0x0a00_0000 + i % 5000).to_be_bytes());
            if b.admit(ip, AutokeyWork::PrivateKey, now).is_ok() {
                b.charge(ip, AutokeyWork::PrivateKey, 400, 420, true);
                ops += 1;
            }
        }
        assert!(ops <= 64 + 10 * 32 + 1, "{ops}");
        assert_eq!(b.stats.private_key_ops, ops);
    }
}
