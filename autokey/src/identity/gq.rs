//! GQ (Guillou-Quisquater), intended maths (brief §6.3):
//! r ← [0,n); server k ← [0,n), y = k·u^r mod n, x = k^b mod n, sends
//! {y, H(x)}; client accepts iff H(v^r · y^b mod n) = H(x), v from the
//! trusted certificate's subjectKeyIdentifier.

use keystore::{GqKey, GqParams, Scheme};
use openssl::bn::{BigNum, BigNumContext, BigNumRef};

use super::{bn_err, der, h, padded, random_below, Challenge};
use crate::error::{AutokeyError, Result};

/// Draws r in [1, n), sent as `len(n)` octets.
pub fn challenge<R: rand::CryptoRng + ?Sized>(p: &GqParams, rng: &mut R) -> Result<Challenge> {
    let mut ctx = BigNumContext::new().map_err(bn_err)?;
    let r = random_below(rng, &p.n, &mut ctx)?;
    let octets = padded(&r, p.n.num_bytes() as usize)?;
    Ok(Challenge {
        scheme: Scheme::Gq,
        r,
        octets,
    })
}

/// The server's response DER `SEQUENCE { y, H(k^b) }`.
pub fn respond<R: rand::CryptoRng + ?Sized>(
    key: &GqKey,
    r: &BigNumRef,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let mut ctx = BigNumContext::new().map_err(bn_err)?;
    let k = random_below(rng, &key.n, &mut ctx)?;
    let mut ur = BigNum::new().map_err(bn_err)?;
    ur.mod_exp(&key.u, r, &key.n, &mut ctx).map_err(bn_err)?;
    let mut y = BigNum::new().map_err(bn_err)?;
    y.mod_mul(&k, &ur, &key.n, &mut ctx).map_err(bn_err)?;
    let mut x = BigNum::new().map_err(bn_err)?;
    x.mod_exp(&k, &key.b, &key.n, &mut ctx).map_err(bn_err)?;
    Ok(der::encode_integers(&[&y, &h(&x)?]))
}

/// The client's check with the certificate's public key `v`.
pub fn verify(p: &GqParams, v: &BigNumRef, r: &BigNumRef, response: &[u8]) -> Result<()> {
    let vals = der::decode_integers(response, 2)?;
    let (y, hx) = (&vals[0], &vals[1]);
    if y >= &p.n {
        // Out of range for our parameters (y not below n): a proof made with
        // another group's key, not a malformed field.
        return Err(AutokeyError::Identity { scheme: "GQ" });
    }
    let mut ctx = BigNumContext::new().map_err(bn_err)?;
    let mut vr = BigNum::new().map_err(bn_err)?;
    vr.mod_exp(v, r, &p.n, &mut ctx).map_err(bn_err)?;
    let mut yb = BigNum::new().map_err(bn_err)?;
    yb.mod_exp(y, &p.b, &p.n, &mut ctx).map_err(bn_err)?;
    let mut t = BigNum::new().map_err(bn_err)?;
    t.mod_mul(&vr, &yb, &p.n, &mut ctx).map_err(bn_err)?;
    if &h(&t)? == hx {
        Ok(())
    } else {
        Err(AutokeyError::Identity { scheme: "GQ" })
    }
}
