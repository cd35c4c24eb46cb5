//! The cluster algorithm (RFC 5905 §11.2.2 and Appendix A.5.5.1, second
//! half of `clock_select()`): prune the truechimers whose offsets are the
//! outliers until the survivors are as tight as their own jitter allows.

use crate::select::Candidate;

/// Result of clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Survivors, indices into the candidate slice, in merit order.
    pub survivors: Vec<usize>,
    /// Selection jitter of the survivors around the first one, seconds.
    pub selection_jitter: f64,
}

/// Selection jitter of survivor `i` against the others: the RMS of the
/// offset differences (RFC 5905 §11.2.2 φ_S).
fn selection_jitter(candidates: &[Candidate], set: &[usize], i: usize) -> f64 {
    if set.len() < 2 {
        return 0.0;
    }
    let theta = candidates[i].offset;
    let sum: f64 = set
        .iter()
        .map(|&j| (candidates[j].offset - theta).powi(2))
        .sum();
    (sum / (set.len() - 1) as f64).sqrt()
}

/// Cluster the truechimers (`truechimers`, indices into `candidates` in
/// merit order).  Repeatedly remove the survivor with the largest
/// selection jitter while more than `minclock` remain and that jitter
/// exceeds the smallest peer jitter among them.
pub fn cluster(candidates: &[Candidate], truechimers: &[usize], minclock: usize) -> Cluster {
    let mut survivors: Vec<usize> = truechimers.to_vec();
    loop {
        if survivors.len() <= minclock.max(1) {
            break;
        }
        let mut worst = 0;
        let mut worst_jitter = f64::NEG_INFINITY;
        let mut min_peer_jitter = f64::INFINITY;
        for (k, &i) in survivors.iter().enumerate() {
            let phi = selection_jitter(candidates, &survivors, i);
            if phi > worst_jitter {
                worst_jitter = phi;
                worst = k;
            }
            min_peer_jitter = min_peer_jitter.min(candidates[i].jitter);
        }
        if worst_jitter <= min_peer_jitter {
            break;
        }
        survivors.remove(worst);
    }
    let selection_jitter = survivors
        .first()
        .map(|&i| selection_jitter(candidates, &survivors, i))
        .unwrap_or(0.0);
    Cluster {
        survivors,
        selection_jitter,
    }
}

/// Choose the system peer among the survivors: a `prefer` peer if any,
/// else keep the previous system peer while it survives (avoiding
/// needless clock hopping), else the first survivor by merit.
pub fn choose_system_peer(
    candidates: &[Candidate],
    survivors: &[usize],
    previous: Option<usize>,
) -> Option<usize> {
    if let Some(&p) = survivors.iter().find(|&&i| candidates[i].prefer) {
        return Some(p);
    }
    if let Some(prev) = previous {
        if let Some(&p) = survivors.iter().find(|&&i| candidates[i].id == prev) {
            return Some(p);
        }
    }
    survivors.first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::tests::cand;

    #[test]
    fn outlier_is_pruned_until_tight() {
        let c = vec![
            cand(0, 0.0000, 0.0005),
            cand(1, 0.0002, 0.0005),
            cand(2, -0.0001, 0.0005),
            cand(3, 0.0030, 0.0005),
            cand(4, 0.0001, 0.0005),
        ];
        let r = cluster(&c, &[0, 1, 2, 3, 4], 3);
        assert!(!r.survivors.contains(&3));
        assert_eq!(r.survivors.len(), 4, "{:?}", r.survivors);
        assert!(r.selection_jitter < 0.0005);
    }

    #[test]
    fn stops_at_minclock() {
        let offsets = [-0.05, 0.0, 0.001, 0.002, 0.04];
        let c: Vec<_> = (0..5).map(|i| cand(i, offsets[i], 1e-6)).collect();
        let r = cluster(&c, &[0, 1, 2, 3, 4], 3);
        assert_eq!(r.survivors.len(), 3);
        // The outliers go first: 0 then 4, the tight three remain.
        let mut s = r.survivors.clone();
        s.sort();
        assert_eq!(s, vec![1, 2, 3]);
    }

    #[test]
    fn system_peer_prefers_prefer_then_previous() {
        let mut c: Vec<_> = (0..3).map(|i| cand(i, 0.0, 1e-3)).collect();
        assert_eq!(choose_system_peer(&c, &[0, 1, 2], None), Some(0));
        assert_eq!(choose_system_peer(&c, &[0, 1, 2], Some(2)), Some(2));
        c[1].prefer = true;
        assert_eq!(choose_system_peer(&c, &[0, 1, 2], Some(2)), Some(1));
        assert_eq!(choose_system_peer(&c, &[], Some(2)), None);
    }
}
