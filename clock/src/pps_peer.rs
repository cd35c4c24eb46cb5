//! The mitigation rules that follow the cluster algorithm in the
//! reference implementation's `clock_select()` (ntpd 4.2.8
//! `ntp_proto.c`; RFC 5905 §11.2.3 leaves the choice of the system peer
//! to the implementation): the `prefer` peer and the PPS peer.
//!
//! - A PPS driver (type 22, the reference's `FLAG_PPS` peers) tells where
//!   each second begins but not which second it is. It must survive the
//!   intersection algorithm, but it is left out of the cluster
//!   population and of the combine algorithm: only the first one in
//!   merit order is kept, as the PPS candidate ([`split_pps`]).
//! - A `prefer` peer among the survivors is the system peer, and its own
//!   offset and jitter (not the combined ones) discipline the clock.
//! - The PPS candidate then takes over as the system peer, its offset and
//!   jitter disciplining the clock, when the system offset is below
//!   [`PPS_LIMIT`] and a `prefer` peer survived, or when there is no
//!   other system peer and `tos minsane 0` asks for none
//!   ([`pps_takes_over`]). `ntpq -p` then shows the PPS clock with the
//!   tally `o` and the prefer peer with `*`.

use crate::select::Candidate;

/// The largest system offset, seconds, at which the PPS candidate may be
/// the system peer: within it the other sources name the second
/// unambiguously (the reference's 0.4 s).
pub const PPS_LIMIT: f64 = 0.4;

/// Split the truechimers (indices into `candidates`, in merit order) into
/// the PPS candidate — the first one whose `Candidate::id` is in
/// `pps_ids` — and the cluster population, which holds no PPS driver.
pub fn split_pps(
    candidates: &[Candidate],
    truechimers: &[usize],
    pps_ids: &[usize],
) -> (Option<usize>, Vec<usize>) {
    let is_pps = |i: &usize| pps_ids.contains(&candidates[*i].id);
    let pps = truechimers.iter().copied().find(is_pps);
    let population = truechimers.iter().copied().filter(|i| !is_pps(i)).collect();
    (pps, population)
}

/// The `prefer` peer among the cluster survivors (the reference's
/// `sys_prefer`; with several, the last one in merit order, as there).
pub fn prefer_survivor(candidates: &[Candidate], survivors: &[usize]) -> Option<usize> {
    survivors
        .iter()
        .copied()
        .rev()
        .find(|&i| candidates[i].prefer)
}

/// What the PPS rule looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PpsRule {
    /// The system offset the other rules arrived at (the prefer peer's,
    /// the combined one, or the previous one when there is no system
    /// peer), seconds.
    pub system_offset: f64,
    /// A `prefer` peer survived clustering.
    pub prefer_survived: bool,
    /// The other rules chose a system peer.
    pub has_system_peer: bool,
    /// `tos minsane`.
    pub minsane: usize,
}

/// Whether a surviving PPS candidate becomes the system peer (the
/// reference's rule for its PPS driver in `clock_select()`).
pub fn pps_takes_over(rule: PpsRule) -> bool {
    rule.system_offset.abs() < PPS_LIMIT
        && (rule.prefer_survived || (!rule.has_system_peer && rule.minsane == 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::tests::cand;

    fn rule(offset: f64, prefer: bool, peer: bool, minsane: usize) -> PpsRule {
        PpsRule {
            system_offset: offset,
            prefer_survived: prefer,
            has_system_peer: peer,
            minsane,
        }
    }

    #[test]
    fn the_pps_driver_is_kept_out_of_the_cluster_population() {
        let c: Vec<_> = [10, 11, 12, 13].map(|id| cand(id, 0.0, 1e-3)).to_vec();
        let (pps, population) = split_pps(&c, &[2, 0, 3, 1], &[13, 11]);
        assert_eq!(pps, Some(3), "the first PPS driver in merit order");
        assert_eq!(population, vec![2, 0]);
        assert_eq!(split_pps(&c, &[1, 0], &[]), (None, vec![1, 0]));
    }

    #[test]
    fn the_last_prefer_survivor_is_the_prefer_peer() {
        let mut c: Vec<_> = (0..3).map(|id| cand(id, 0.0, 1e-3)).collect();
        assert_eq!(prefer_survivor(&c, &[0, 1, 2]), None);
        c[0].prefer = true;
        c[2].prefer = true;
        assert_eq!(prefer_survivor(&c, &[0, 1, 2]), Some(2));
        assert_eq!(prefer_survivor(&c, &[0, 1]), Some(0));
    }

    #[test]
    fn pps_needs_a_prefer_peer_within_0_4_s() {
        assert!(pps_takes_over(rule(0.001, true, true, 1)));
        assert!(pps_takes_over(rule(-0.399, true, true, 1)));
        assert!(!pps_takes_over(rule(0.4, true, true, 1)));
        assert!(!pps_takes_over(rule(0.001, false, true, 1)));
        assert!(!pps_takes_over(rule(0.001, false, true, 0)));
        assert!(!pps_takes_over(rule(0.001, false, false, 1)));
        // `tos minsane 0` and no other system peer: the PPS clock alone.
        assert!(pps_takes_over(rule(0.0, false, false, 0)));
        assert!(!pps_takes_over(rule(0.5, false, false, 0)));
    }
}
