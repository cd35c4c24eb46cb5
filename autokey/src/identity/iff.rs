//! IFF (Schnorr), brief §6.2:
//! r ← [0,q); server k random, y = (k + b·r) mod q, x = g^k mod p, sends
//! {y, H(x)}; client accepts iff H(g^y · v^r mod p) = H(x).

use keystore::{IffKey, IffParams, Scheme};
use openssl::bn::{BigNum, BigNumContext, BigNumRef};

use super::{bn_err, der, h, padded, random_below, Challenge};
use crate::error::{AutokeyError, Result};

/// Draws r in [1, q), sent as `len(q)` octets.
pub fn challenge<R: rand::CryptoRng + ?Sized>(p: &IffParams, rng: &mut R) -> Result<Challenge> {
    let mut ctx = BigNumContext::new().map_err(bn_err)?;
    let r = random_below(rng, &p.q, &mut ctx)?;
    let octets = padded(&r, p.q.num_bytes() as usize)?;
    Ok(Challenge {
        scheme: Scheme::Iff,
        r,
        octets,
    })
}

/// The server's response DER `SEQUENCE { y, H(g^k) }`; k has
/// `8·len(r)` bits as in the reference.
pub fn respond<R: rand::CryptoRng + ?Sized>(
    key: &IffKey,
    r: &BigNumRef,
    r_len: usize,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let p = &key.params;
    let mut ctx = BigNumContext::new().map_err(bn_err)?;
    let mut kb = vec![0u8; r_len.max(p.q.num_bytes() as usize)];
    rng.fill_bytes(&mut kb);
    let k = BigNum::from_slice(&kb).map_err(bn_err)?;
    let mut br = BigNum::new().map_err(bn_err)?;
    br.mod_mul(&key.b, r, &p.q, &mut ctx).map_err(bn_err)?;
    let mut y = BigNum::new().map_err(bn_err)?;
    y.mod_add(&k, &br, &p.q, &mut ctx).map_err(bn_err)?;
    let mut x = BigNum::new().map_err(bn_err)?;
    x.mod_exp(&p.g, &k, &p.p, &mut ctx).map_err(bn_err)?;
    Ok(der::encode_integers(&[&y, &h(&x)?]))
}

/// The client's check.
pub fn verify(p: &IffParams, r: &BigNumRef, response: &[u8]) -> Result<()> {
    let v = der::decode_integers(response, 2)?;
    let (y, hx) = (&v[0], &v[1]);
    if y >= &p.q {
        // Out of range for our parameters (y not below q): a proof made with
        // another group's key, not a malformed field.
        return Err(AutokeyError::Identity { scheme: "IFF" });
    }
    let mut ctx = BigNumContext::new().map_err(bn_err)?;
    let mut gy = BigNum::new().map_err(bn_err)?;
    gy.mod_exp(&p.g, y, &p.p, &mut ctx).map_err(bn_err)?;
    let mut vr = BigNum::new().map_err(bn_err)?;
    vr.mod_exp(&p.v, r, &p.p, &mut ctx).map_err(bn_err)?;
    let mut t = BigNum::new().map_err(bn_err)?;
    t.mod_mul(&gy, &vr, &p.p, &mut ctx).map_err(bn_err)?;
    if &h(&t)? == hx {
        Ok(())
    } else {
        Err(AutokeyError::Identity { scheme: "IFF" })
    }
}
