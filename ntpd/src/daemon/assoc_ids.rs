//! Association IDs (RFC 5905 §9.1 `associd`, RFC 9327 §2 association
//! identifiers), allocated as the reference does (ntp_peer.c): the first
//! is a random non-zero 16-bit value, and each new association takes the
//! next one, wrapping from 65535 to 1 (0 names the system in mode 6). An
//! ID still in use after a wrap is skipped.

use rand::{Rng, RngExt};

/// The next association ID to hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssocIds {
    next: u16,
}

impl AssocIds {
    /// Start at a random non-zero ID (the daemon).
    pub fn random<R: Rng + ?Sized>(rng: &mut R) -> AssocIds {
        loop {
            let first: u16 = rng.random();
            if first != 0 {
                return AssocIds { next: first };
            }
        }
    }

    /// Start at `first` (0 counts as 1): deterministic, for simulations.
    pub fn starting_at(first: u16) -> AssocIds {
        AssocIds { next: first.max(1) }
    }

    /// The ID the next [`AssocIds::allocate`] returns if it is free.
    pub fn peek(&self) -> u16 {
        self.next
    }

    /// Take the next ID for which `in_use` is false; `None` only when all
    /// 65535 are in use.
    pub fn allocate(&mut self, in_use: impl Fn(u16) -> bool) -> Option<u16> {
        for _ in 0..u16::MAX {
            let id = self.next;
            self.next = id.wrapping_add(1).max(1);
            if !in_use(id) {
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn ids_increase_from_the_start_and_wrap_past_zero() {
        let mut ids = AssocIds::starting_at(65534);
        let got: Vec<u16> = (0..4).map(|_| ids.allocate(|_| false).unwrap()).collect();
        assert_eq!(got, vec![65534, 65535, 1, 2]);
        assert_eq!(AssocIds::starting_at(0).peek(), 1);
    }

    #[test]
    fn ids_in_use_are_skipped_and_exhaustion_is_reported() {
        let mut ids = AssocIds::starting_at(10);
        assert_eq!(ids.allocate(|id| id == 10 || id == 11), Some(12));
        assert_eq!(ids.allocate(|_| true), None);
    }

    #[test]
    fn random_starts_are_non_zero_and_differ() {
        let mut rng = StdRng::seed_from_u64(7);
        let starts: Vec<u16> = (0..64).map(|_| AssocIds::random(&mut rng).peek()).collect();
        assert!(starts.iter().all(|&s| s != 0));
        let mut distinct = starts.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 60, "{starts:?}");
        // A seeded generator gives the same start each time.
        assert_eq!(
            AssocIds::random(&mut StdRng::seed_from_u64(1)),
            AssocIds::random(&mut StdRng::seed_from_u64(1))
        );
    }
}
