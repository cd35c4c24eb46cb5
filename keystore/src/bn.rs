//! Modular arithmetic helpers over OpenSSL `BigNum` for the identity
//! schemes' algebra.

use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::error::ErrorStack;

pub(crate) type BnResult<T> = std::result::Result<T, ErrorStack>;

/// A big-number context with value-returning operations.
pub(crate) struct Arith {
    ctx: BigNumContext,
}

impl Arith {
    pub(crate) fn new() -> BnResult<Arith> {
        Ok(Arith {
            ctx: BigNumContext::new()?,
        })
    }

    /// `a^e mod m`.
    pub(crate) fn exp(&mut self, a: &BigNumRef, e: &BigNumRef, m: &BigNumRef) -> BnResult<BigNum> {
        let mut r = BigNum::new()?;
        r.mod_exp(a, e, m, &mut self.ctx)?;
        Ok(r)
    }

    /// `a·b mod m`.
    pub(crate) fn mul(&mut self, a: &BigNumRef, b: &BigNumRef, m: &BigNumRef) -> BnResult<BigNum> {
        let mut r = BigNum::new()?;
        r.mod_mul(a, b, m, &mut self.ctx)?;
        Ok(r)
    }

    /// `a + b mod m`.
    pub(crate) fn add(&mut self, a: &BigNumRef, b: &BigNumRef, m: &BigNumRef) -> BnResult<BigNum> {
        let mut r = BigNum::new()?;
        r.mod_add(a, b, m, &mut self.ctx)?;
        Ok(r)
    }

    /// `a − b mod m` (non-negative).
    pub(crate) fn sub(&mut self, a: &BigNumRef, b: &BigNumRef, m: &BigNumRef) -> BnResult<BigNum> {
        let mut r = BigNum::new()?;
        r.mod_sub(a, b, m, &mut self.ctx)?;
        Ok(r)
    }

    /// `a^−1 mod m`; fails when not invertible.
    pub(crate) fn inv(&mut self, a: &BigNumRef, m: &BigNumRef) -> BnResult<BigNum> {
        let mut r = BigNum::new()?;
        r.mod_inverse(a, m, &mut self.ctx)?;
        Ok(r)
    }

    pub(crate) fn gcd(&mut self, a: &BigNumRef, b: &BigNumRef) -> BnResult<BigNum> {
        let mut r = BigNum::new()?;
        r.gcd(a, b, &mut self.ctx)?;
        Ok(r)
    }

    /// Non-negative `a mod m`.
    pub(crate) fn rem(&mut self, a: &BigNumRef, m: &BigNumRef) -> BnResult<BigNum> {
        let mut r = BigNum::new()?;
        r.nnmod(a, m, &mut self.ctx)?;
        Ok(r)
    }

    /// Exact product `a·b`.
    pub(crate) fn product(&mut self, a: &BigNumRef, b: &BigNumRef) -> BnResult<BigNum> {
        let mut r = BigNum::new()?;
        r.checked_mul(a, b, &mut self.ctx)?;
        Ok(r)
    }

    /// Exact quotient `a / b`.
    pub(crate) fn quotient(&mut self, a: &BigNumRef, b: &BigNumRef) -> BnResult<BigNum> {
        let mut r = BigNum::new()?;
        r.checked_div(a, b, &mut self.ctx)?;
        Ok(r)
    }

    pub(crate) fn is_prime(&mut self, a: &BigNumRef) -> BnResult<bool> {
        a.is_prime(0, &mut self.ctx)
    }

    /// Random value in `[0, m)`.
    pub(crate) fn random_below(&mut self, m: &BigNumRef) -> BnResult<BigNum> {
        let mut r = BigNum::new()?;
        m.rand_range(&mut r)?;
        Ok(r)
    }

    /// Random value in `[1, m)` with `gcd(value, m) = 1`.
    pub(crate) fn random_unit(&mut self, m: &BigNumRef) -> BnResult<BigNum> {
        loop {
            let r = self.random_below(m)?;
            if r.num_bits() > 1 && self.gcd(&r, m)? == one()? {
                return Ok(r);
            }
        }
    }
}

/// The constant 1.
pub(crate) fn one() -> BnResult<BigNum> {
    BigNum::from_u32(1)
}

/// True if `a == 1`.
pub(crate) fn is_one(a: &BigNum) -> bool {
    a.num_bits() == 1 && !a.is_negative()
}

/// A copy of `a`.
pub(crate) fn dup(a: &BigNumRef) -> BnResult<BigNum> {
    a.to_owned()
}

/// A copy of `x` (OpenSSL allocates it), e.g. of identity parameters
/// each association gets its own of.
pub(crate) fn dup_param(x: &BigNumRef) -> crate::error::Result<BigNum> {
    dup(x).map_err(|e| crate::error::KeyError::crypto("copying identity parameters", e))
}
