//! The combine algorithm (RFC 5905 §11.2.3 and Appendix A.5.5.4
//! `clock_combine()`): a weighted average of the survivors' offsets, the
//! weight of each being the reciprocal of its root distance.

use crate::constants::PHI;
use crate::select::Candidate;

/// Combined system offset and jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Combined {
    /// System offset Θ, seconds.
    pub offset: f64,
    /// System jitter ϑ, seconds: the system peer's jitter combined with
    /// the weighted selection jitter of the survivors.
    pub jitter: f64,
}

/// Combine `survivors` (indices into `candidates`), with `sys_peer` the
/// index of the system peer, at local time `now`.
pub fn combine(
    candidates: &[Candidate],
    survivors: &[usize],
    sys_peer: usize,
    now: f64,
    mindist: f64,
) -> Combined {
    combine_phi(candidates, survivors, sys_peer, now, mindist, PHI)
}

/// [`combine`] with the frequency tolerance `phi` (s/s, `tinker
/// dispersion`) used to age the root distances that weight the survivors.
pub fn combine_phi(
    candidates: &[Candidate],
    survivors: &[usize],
    sys_peer: usize,
    now: f64,
    mindist: f64,
    phi: f64,
) -> Combined {
    let mut wsum = 0.0;
    let mut osum = 0.0;
    let mut jsum = 0.0;
    let peer_offset = candidates[sys_peer].offset;
    for &i in survivors {
        let c = &candidates[i];
        let w = 1.0 / c.root_distance_phi(now, mindist, phi).max(1e-9);
        wsum += w;
        osum += w * c.offset;
        jsum += w * (c.offset - peer_offset).powi(2);
    }
    if wsum == 0.0 {
        return Combined {
            offset: peer_offset,
            jitter: candidates[sys_peer].jitter,
        };
    }
    let selection = (jsum / wsum).sqrt();
    Combined {
        offset: osum / wsum,
        jitter: (candidates[sys_peer].jitter.powi(2) + selection.powi(2)).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::tests::cand;

    #[test]
    fn weighted_by_inverse_distance() {
        let mut c = vec![cand(0, 0.001, 0.001), cand(1, 0.004, 0.001)];
        // Make the second source's distance three times the first.
        let d0 = c[0].root_distance(0.0, 0.0);
        c[1].root_dispersion += 2.0 * d0;
        let r = combine(&c, &[0, 1], 0, 0.0, 0.0);
        // Weights 3:1 → (3·1 + 1·4)/4 ms = 1.75 ms.
        assert!((r.offset - 0.00175).abs() < 1e-12, "{}", r.offset);
        // Selection jitter: sqrt((0.25·(3 ms)²)) = 1.5 ms, peer jitter 1 ms.
        let expect = (0.001f64.powi(2) + 0.0015f64.powi(2)).sqrt();
        assert!((r.jitter - expect).abs() < 1e-12);
    }

    #[test]
    fn single_survivor_is_its_own_offset() {
        let c = vec![cand(0, -0.0042, 0.0003)];
        let r = combine(&c, &[0], 0, 10.0, 0.001);
        assert_eq!(r.offset, -0.0042);
        assert_eq!(r.jitter, 0.0003);
    }
}
