//! Simulated network paths: one-way delays with jitter distributions,
//! asymmetry, loss and route changes.

use rand::Rng;

use crate::sim::random::{exponential, normal, uniform};

/// Distribution of the per-packet extra delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JitterDist {
    /// |N(0, σ)|: half-normal with scale `jitter`.
    #[default]
    Normal,
    /// Exponential with mean `jitter` (as clknetsim's `(exponential)`).
    Exponential,
    /// Uniform in [0, 2·jitter).
    Uniform,
}

impl std::str::FromStr for JitterDist {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "normal" | "gauss" => Ok(JitterDist::Normal),
            "exp" | "exponential" => Ok(JitterDist::Exponential),
            "uniform" => Ok(JitterDist::Uniform),
            other => Err(format!(
                "unknown jitter distribution {other:?}; use normal, exp or uniform"
            )),
        }
    }
}

/// Which direction of a path carries the jitter (queueing delay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JitterDirection {
    /// Both directions queue independently.
    #[default]
    Both,
    /// Only client→server packets queue (upstream congestion).
    Outbound,
    /// Only server→client packets queue (downstream congestion).
    Inbound,
}

impl std::str::FromStr for JitterDirection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "both" => Ok(JitterDirection::Both),
            "out" | "outbound" => Ok(JitterDirection::Outbound),
            "in" | "inbound" => Ok(JitterDirection::Inbound),
            other => Err(format!(
                "unknown jitter direction {other:?}; use both, out or in"
            )),
        }
    }
}

/// A route change: from `at` (true time, seconds) on, both directions gain
/// `extra_delay` seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteChange {
    /// True time of the change.
    pub at: f64,
    /// Added one-way delay, seconds (may be negative).
    pub extra_delay: f64,
}

/// A bidirectional path between the client and one server.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Minimum one-way delay, seconds.
    pub base_delay: f64,
    /// Jitter scale, seconds.
    pub jitter: f64,
    /// Jitter distribution.
    pub dist: JitterDist,
    /// Asymmetry: the client→server direction is this much slower than the
    /// server→client direction, seconds (split evenly around the base).
    pub asymmetry: f64,
    /// Probability of losing a packet in each direction.
    pub loss: f64,
    /// Route changes, in time order.
    pub route_changes: Vec<RouteChange>,
    /// Which direction the jitter applies to (asymmetric congestion).
    pub jitter_on: JitterDirection,
}

impl Default for Path {
    fn default() -> Self {
        Path {
            base_delay: 0.0005,
            jitter: 0.0,
            dist: JitterDist::Normal,
            asymmetry: 0.0,
            loss: 0.0,
            route_changes: Vec::new(),
            jitter_on: JitterDirection::Both,
        }
    }
}

impl Path {
    fn extra(&self, at: f64) -> f64 {
        self.route_changes
            .iter()
            .filter(|r| r.at <= at)
            .map(|r| r.extra_delay)
            .sum()
    }

    fn jitter_sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        if self.jitter <= 0.0 {
            return 0.0;
        }
        match self.dist {
            JitterDist::Normal => (normal(rng) * self.jitter).abs(),
            JitterDist::Exponential => exponential(rng, self.jitter),
            JitterDist::Uniform => uniform(rng) * 2.0 * self.jitter,
        }
    }

    /// One-way delay of a packet sent at true time `at`, or `None` if lost.
    /// `outbound` is the client→server direction.
    pub fn delay<R: Rng + ?Sized>(&self, at: f64, outbound: bool, rng: &mut R) -> Option<f64> {
        if self.loss > 0.0 && uniform(rng) < self.loss {
            return None;
        }
        let half = self.asymmetry / 2.0;
        let base = if outbound {
            self.base_delay + half
        } else {
            self.base_delay - half
        };
        let queued = match (self.jitter_on, outbound) {
            (JitterDirection::Both, _)
            | (JitterDirection::Outbound, true)
            | (JitterDirection::Inbound, false) => self.jitter_sample(rng),
            _ => 0.0,
        };
        Some((base + self.extra(at)).max(0.0) + queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn delays_respect_base_asymmetry_routes_and_loss() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let p = Path {
            base_delay: 0.010,
            jitter: 0.0,
            asymmetry: 0.002,
            route_changes: vec![RouteChange {
                at: 100.0,
                extra_delay: 0.005,
            }],
            ..Path::default()
        };
        let close = |d: Option<f64>, want: f64| (d.unwrap() - want).abs() < 1e-15;
        assert!(close(p.delay(0.0, true, &mut rng), 0.011));
        assert!(close(p.delay(0.0, false, &mut rng), 0.009));
        assert!(close(p.delay(100.0, false, &mut rng), 0.014));
        let lossy = Path {
            loss: 0.5,
            ..Path::default()
        };
        let lost = (0..10_000)
            .filter(|_| lossy.delay(0.0, true, &mut rng).is_none())
            .count();
        assert!((4_500..5_500).contains(&lost), "{lost}");
    }

    #[test]
    fn exponential_jitter_has_the_right_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let p = Path {
            base_delay: 0.001,
            jitter: 0.001,
            dist: "exp".parse().unwrap(),
            ..Path::default()
        };
        let n = 20_000;
        let mean: f64 = (0..n)
            .map(|_| p.delay(0.0, true, &mut rng).unwrap())
            .sum::<f64>()
            / n as f64;
        assert!((mean - 0.002).abs() < 0.00005, "{mean}");
        assert!("bogus".parse::<JitterDist>().is_err());
        // Congestion on the way out only: inbound delays are the base.
        let q = Path {
            jitter_on: "out".parse().unwrap(),
            ..p
        };
        assert_eq!(q.delay(0.0, false, &mut rng), Some(0.001));
        let out: f64 = (0..n)
            .map(|_| q.delay(0.0, true, &mut rng).unwrap())
            .sum::<f64>()
            / n as f64;
        assert!((out - 0.002).abs() < 0.00005, "{out}");
        assert!("sideways".parse::<JitterDirection>().is_err());
    }
}
