//! Selection of truechimers: fitness checks and the intersection
//! algorithm (RFC 5905 §11.2.1 and Appendix A.5.5.1 `clock_select()`).

use crate::constants::{MAXCLOCK, MAXDIST, MAXSTRAT, MINCLOCK, MINDIST, MINSANE, PHI};

/// Leap indicator of RFC 5905 §7.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeapIndicator {
    /// No warning.
    #[default]
    NoWarning,
    /// Last minute of the day has 61 seconds.
    Insert,
    /// Last minute of the day has 59 seconds.
    Delete,
    /// Clock unsynchronised.
    Unsynchronized,
}

impl LeapIndicator {
    /// From the two-bit wire value.
    pub fn from_bits(bits: u8) -> Self {
        match bits & 3 {
            0 => LeapIndicator::NoWarning,
            1 => LeapIndicator::Insert,
            2 => LeapIndicator::Delete,
            _ => LeapIndicator::Unsynchronized,
        }
    }

    /// The two-bit wire value.
    pub fn bits(self) -> u8 {
        match self {
            LeapIndicator::NoWarning => 0,
            LeapIndicator::Insert => 1,
            LeapIndicator::Delete => 2,
            LeapIndicator::Unsynchronized => 3,
        }
    }
}

/// The `tos` parameters that govern mitigation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectionParams {
    /// `tos minsane`: survivors needed to synchronise.
    pub minsane: usize,
    /// `tos minclock`: survivors the cluster algorithm stops at.
    pub minclock: usize,
    /// `tos maxclock`: most candidates considered.
    pub maxclock: usize,
    /// `tos mindist`: floor of the correctness interval half-width, seconds.
    pub mindist: f64,
    /// `tos maxdist`: root distance above which a source is unfit, seconds.
    pub maxdist: f64,
    /// `tinker dispersion`: the frequency tolerance PHI, s/s (default 15 PPM,
    /// RFC 5905 §7.2): the rate at which root distance grows with the age
    /// of a source's last update.
    pub phi: f64,
}

impl Default for SelectionParams {
    fn default() -> Self {
        SelectionParams {
            minsane: MINSANE,
            minclock: MINCLOCK,
            maxclock: MAXCLOCK,
            mindist: MINDIST,
            maxdist: MAXDIST,
            phi: PHI,
        }
    }
}

/// What the selection algorithms need to know about one association.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Caller's identifier of the association.
    pub id: usize,
    /// Peer offset θ, seconds.
    pub offset: f64,
    /// Peer delay δ, seconds.
    pub delay: f64,
    /// Peer dispersion ε, seconds (as of `time`).
    pub dispersion: f64,
    /// Peer jitter ψ, seconds.
    pub jitter: f64,
    /// Local time of the peer's last filter update.
    pub time: f64,
    /// The source's root delay, seconds.
    pub root_delay: f64,
    /// The source's root dispersion, seconds.
    pub root_dispersion: f64,
    /// The source's stratum.
    pub stratum: u8,
    /// The source's leap indicator.
    pub leap: LeapIndicator,
    /// Whether the reachability register is non-zero.
    pub reachable: bool,
    /// Whether the source's reference ID names us (a timing loop).
    pub loops_to_us: bool,
    /// `prefer` keyword on the association.
    pub prefer: bool,
    /// `true` keyword on the association: it always survives the
    /// intersection algorithm (the reference's `FLAG_TRUE`), though it
    /// must still be fit.
    pub truechimer: bool,
}

impl Candidate {
    /// Root synchronisation distance λ at local time `now`
    /// (RFC 5905 A.5.5.2 `root_dist()`):
    /// (δ + root delay)/2 + ε + root dispersion + PHI·(now − t) + ψ,
    /// floored at `mindist`.
    pub fn root_distance(&self, now: f64, mindist: f64) -> f64 {
        self.root_distance_phi(now, mindist, PHI)
    }

    /// [`Candidate::root_distance`] with the frequency tolerance `phi`
    /// (s/s) of `tinker dispersion` instead of the default PHI.
    pub fn root_distance_phi(&self, now: f64, mindist: f64, phi: f64) -> f64 {
        let lambda = (self.delay + self.root_delay) / 2.0
            + self.root_dispersion
            + self.dispersion
            + phi * (now - self.time).max(0.0)
            + self.jitter;
        lambda.max(mindist)
    }

    /// Why the candidate is unfit (RFC 5905 A.5.5.2 `fit()`), or `None`.
    pub fn unfit_reason(&self, now: f64, params: &SelectionParams) -> Option<Unfit> {
        if self.leap == LeapIndicator::Unsynchronized || self.stratum >= MAXSTRAT {
            return Some(Unfit::Unsynchronized);
        }
        if self.root_distance_phi(now, params.mindist, params.phi) > params.maxdist {
            return Some(Unfit::Distance);
        }
        if self.loops_to_us {
            return Some(Unfit::Loop);
        }
        if !self.reachable {
            return Some(Unfit::Unreachable);
        }
        None
    }
}

/// Reasons a candidate is excluded before intersection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfit {
    /// Stratum 16 or leap alarm.
    Unsynchronized,
    /// Root distance above `tos maxdist`.
    Distance,
    /// Timing loop: the source synchronises to us.
    Loop,
    /// Reachability register is zero.
    Unreachable,
}

/// Result of the intersection algorithm.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Lower end of the intersection interval, seconds.
    pub low: f64,
    /// Upper end of the intersection interval, seconds.
    pub high: f64,
    /// Truechimers: indices into the candidate slice, ordered by merit
    /// (stratum first, then root distance), at most `maxclock`.
    pub truechimers: Vec<usize>,
    /// Falsetickers: indices of fit candidates outside the intersection.
    pub falsetickers: Vec<usize>,
    /// Indices of unfit candidates with the reason.
    pub unfit: Vec<(usize, Unfit)>,
}

/// Why no selection is possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// No candidate passed the fitness checks.
    #[error("no fit candidates")]
    NoCandidates,
    /// The candidates do not have a majority clique.
    #[error("no majority of candidates agree (no intersection)")]
    NoMajority,
    /// Fewer survivors than `tos minsane`.
    #[error("only {found} survivors, tos minsane requires {required}")]
    TooFewSurvivors {
        /// Survivors found.
        found: usize,
        /// `tos minsane`.
        required: usize,
    },
}

/// Run fitness checks and the intersection algorithm over `candidates`
/// at local time `now`.
///
/// Each candidate's correctness interval is [θ − λ, θ + λ].  The algorithm
/// looks for the smallest number `f` of falsetickers, `f < n/2`, such that
/// an interval exists that is contained in at least `n − f` correctness
/// intervals and holds at most `f` midpoints outside it.  Candidates whose
/// intervals do not overlap that intersection are falsetickers.
pub fn select(
    candidates: &[Candidate],
    now: f64,
    params: &SelectionParams,
) -> Result<Selection, SelectError> {
    let mut unfit = Vec::new();
    let mut fit: Vec<(usize, f64)> = Vec::new(); // (index, λ)
    for (i, c) in candidates.iter().enumerate() {
        match c.unfit_reason(now, params) {
            Some(reason) => unfit.push((i, reason)),
            None => fit.push((i, c.root_distance_phi(now, params.mindist, params.phi))),
        }
    }
    if fit.is_empty() {
        return Err(SelectError::NoCandidates);
    }

    // Endpoints: (value, type) with type −1 lower edge, 0 midpoint, +1 upper edge.
    let mut edges: Vec<(f64, i32)> = Vec::with_capacity(fit.len() * 3);
    for &(i, lambda) in &fit {
        let theta = candidates[i].offset;
        edges.push((theta - lambda, -1));
        edges.push((theta, 0));
        edges.push((theta + lambda, 1));
    }
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));

    let n = fit.len() as i32;
    let mut found = None;
    let mut allow = 0;
    while 2 * allow < n {
        let needed = n - allow;
        let mut depth = 0;
        let mut midpoints = 0;
        let mut low = f64::INFINITY;
        for &(v, t) in &edges {
            depth -= t;
            if depth >= needed {
                low = v;
                break;
            }
            if t == 0 {
                midpoints += 1;
            }
        }
        depth = 0;
        let mut high = f64::NEG_INFINITY;
        for &(v, t) in edges.iter().rev() {
            depth += t;
            if depth >= needed {
                high = v;
                break;
            }
            if t == 0 {
                midpoints += 1;
            }
        }
        if midpoints <= allow && low <= high {
            found = Some((low, high));
            break;
        }
        allow += 1;
    }
    // Without a majority clique only `true` sources survive (the
    // reference keeps FLAG_TRUE peers whatever the intersection).
    let (low, high) = match found {
        Some(v) => v,
        None if fit.iter().any(|&(i, _)| candidates[i].truechimer) => {
            (f64::INFINITY, f64::NEG_INFINITY)
        }
        None => return Err(SelectError::NoMajority),
    };

    let mut truechimers = Vec::new();
    let mut falsetickers = Vec::new();
    for &(i, lambda) in &fit {
        let theta = candidates[i].offset;
        let outside = low > high || theta + lambda < low || theta - lambda > high;
        if outside && !candidates[i].truechimer {
            falsetickers.push(i);
        } else {
            truechimers.push((i, lambda));
        }
    }
    if truechimers.len() < params.minsane {
        return Err(SelectError::TooFewSurvivors {
            found: truechimers.len(),
            required: params.minsane,
        });
    }
    // Order by merit: stratum × maxdist + λ (RFC 5905 A.5.5.1).
    truechimers.sort_by(|a, b| {
        let ma = candidates[a.0].stratum as f64 * params.maxdist + a.1;
        let mb = candidates[b.0].stratum as f64 * params.maxdist + b.1;
        ma.total_cmp(&mb)
    });
    truechimers.truncate(params.maxclock.max(1));
    Ok(Selection {
        low,
        high,
        truechimers: truechimers.into_iter().map(|(i, _)| i).collect(),
        falsetickers,
        unfit,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn cand(id: usize, offset: f64, jitter: f64) -> Candidate {
        Candidate {
            id,
            offset,
            delay: 0.010,
            dispersion: 0.005,
            jitter,
            time: 0.0,
            root_delay: 0.010,
            root_dispersion: 0.010,
            stratum: 2,
            leap: LeapIndicator::NoWarning,
            reachable: true,
            loops_to_us: false,
            prefer: false,
            truechimer: false,
        }
    }

    #[test]
    fn a_true_source_is_never_a_falseticker() {
        let mut c = vec![
            cand(0, 0.001, 0.001),
            cand(1, -0.002, 0.001),
            cand(2, 0.003, 0.001),
            cand(3, 0.500, 0.001),
        ];
        c[3].truechimer = true;
        let s = select(&c, 0.0, &SelectionParams::default()).unwrap();
        assert!(s.falsetickers.is_empty());
        assert!(s.truechimers.contains(&3));
        // Two sources that disagree: no majority, unless one is `true`,
        // which then survives alone.
        let mut d = vec![cand(0, 0.0, 0.001), cand(1, 0.5, 0.001)];
        let params = SelectionParams {
            minsane: 1,
            ..SelectionParams::default()
        };
        assert_eq!(select(&d, 0.0, &params), Err(SelectError::NoMajority));
        d[1].truechimer = true;
        let s = select(&d, 0.0, &params).unwrap();
        assert_eq!(
            (s.truechimers.clone(), s.falsetickers.clone()),
            (vec![1], vec![0])
        );
    }

    #[test]
    fn one_falseticker_of_four_is_rejected() {
        // λ = 10 ms + 5 ms + 10 ms + 1 ms = 26 ms for each.
        let c = vec![
            cand(0, 0.001, 0.001),
            cand(1, -0.002, 0.001),
            cand(2, 0.003, 0.001),
            cand(3, 0.500, 0.001), // 500 ms off: a falseticker
        ];
        let s = select(&c, 0.0, &SelectionParams::default()).unwrap();
        assert_eq!(s.falsetickers, vec![3]);
        let mut t = s.truechimers.clone();
        t.sort();
        assert_eq!(t, vec![0, 1, 2]);
        // The intersection is where all three truechimer intervals overlap.
        assert!((s.low - (0.003 - 0.026)).abs() < 1e-9, "low {}", s.low);
        assert!((s.high - (-0.002 + 0.026)).abs() < 1e-9, "high {}", s.high);
    }

    #[test]
    fn two_against_two_has_no_majority() {
        let c = vec![
            cand(0, 0.0, 0.001),
            cand(1, 0.001, 0.001),
            cand(2, 1.0, 0.001),
            cand(3, 1.001, 0.001),
        ];
        assert_eq!(
            select(&c, 0.0, &SelectionParams::default()),
            Err(SelectError::NoMajority)
        );
    }

    #[test]
    fn unfit_candidates_are_excluded_with_reason() {
        let mut c = vec![
            cand(0, 0.0, 0.001),
            cand(1, 0.0, 0.001),
            cand(2, 0.0, 0.001),
        ];
        c[0].stratum = 16;
        c[1].root_dispersion = 2.0;
        c[2].reachable = false;
        let r = select(&c, 0.0, &SelectionParams::default());
        assert_eq!(r, Err(SelectError::NoCandidates));
        let mut d = cand(3, 0.0, 0.001);
        d.loops_to_us = true;
        assert_eq!(
            d.unfit_reason(0.0, &SelectionParams::default()),
            Some(Unfit::Loop)
        );
        assert_eq!(
            c[1].unfit_reason(0.0, &SelectionParams::default()),
            Some(Unfit::Distance)
        );
    }

    #[test]
    fn minsane_and_maxclock_are_honoured() {
        let c = vec![cand(0, 0.0, 0.001), cand(1, 0.001, 0.001)];
        let params = SelectionParams {
            minsane: 3,
            ..SelectionParams::default()
        };
        assert_eq!(
            select(&c, 0.0, &params),
            Err(SelectError::TooFewSurvivors {
                found: 2,
                required: 3
            })
        );
        let mut many: Vec<Candidate> = (0..6).map(|i| cand(i, i as f64 * 1e-4, 0.001)).collect();
        many[4].stratum = 1; // best merit
        let params = SelectionParams {
            maxclock: 3,
            ..SelectionParams::default()
        };
        let s = select(&many, 0.0, &params).unwrap();
        assert_eq!(s.truechimers.len(), 3);
        assert_eq!(s.truechimers[0], 4);
    }

    #[test]
    fn root_distance_ages_with_time() {
        let c = cand(0, 0.0, 0.001);
        let a = c.root_distance(0.0, 0.0);
        let b = c.root_distance(1000.0, 0.0);
        assert!((a - 0.026).abs() < 1e-12);
        assert!((b - a - PHI * 1000.0).abs() < 1e-12);
    }

    #[test]
    fn tinker_dispersion_changes_how_fast_a_silent_source_becomes_unfit() {
        // λ = 26 ms at its update; 2000 s later, at the default 15 PPM,
        // 26 + 30 = 56 ms: still fit.  At `tinker dispersion 1000` (PPM)
        // it is 26 ms + 2 s, above maxdist 1.5 s: unfit.
        let c = cand(0, 0.0, 0.001);
        let d = c.root_distance_phi(2000.0, 0.0, 1000e-6);
        assert!((d - 2.026).abs() < 1e-12, "{d}");
        assert!((c.root_distance(2000.0, 0.0) - 0.056).abs() < 1e-12);
        let default = SelectionParams::default();
        assert_eq!(default.phi, PHI);
        assert_eq!(c.unfit_reason(2000.0, &default), None);
        let fast = SelectionParams {
            phi: 1000e-6,
            ..default
        };
        assert_eq!(c.unfit_reason(2000.0, &fast), Some(Unfit::Distance));
        assert_eq!(
            select(&[c], 2000.0, &fast).unwrap_err(),
            SelectError::NoCandidates
        );
    }
}
