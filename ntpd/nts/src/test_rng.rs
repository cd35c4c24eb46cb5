//! A seeded generator for the unit tests.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A deterministic generator seeded with `seed`.
pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}
