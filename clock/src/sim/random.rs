//! Random variates for the simulator, drawn from a caller's seeded RNG.

use rand::{Rng, RngExt};

/// Standard normal variate (Box–Muller).
pub fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Exponential variate with the given mean.
pub fn exponential<R: Rng + ?Sized>(rng: &mut R, mean: f64) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    -mean * u.ln()
}

/// Uniform variate in [0, 1).
pub fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn moments_are_right() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let n = 100_000;
        let (mut s, mut s2, mut e) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let x = normal(&mut rng);
            s += x;
            s2 += x * x;
            e += exponential(&mut rng, 2.0);
        }
        let nf = n as f64;
        assert!((s / nf).abs() < 0.02);
        assert!((s2 / nf - 1.0).abs() < 0.02);
        assert!((e / nf - 2.0).abs() < 0.03);
        let u = uniform(&mut rng);
        assert!((0.0..1.0).contains(&u));
    }
}
