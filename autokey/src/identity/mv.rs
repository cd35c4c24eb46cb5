//! MV (Mu-Varadharajan), brief §6.4:
//! r ← [0,p); server k ← [0,q) coprime to q, sends
//! {y = r·E^k, ḡ^k, ĝ^k} mod p; client accepts iff
//! (ḡ^k)^x̂ · (ĝ^k)^x̄ · y ≡ r (mod p).

use keystore::{MvClientKey, MvServerKey, Scheme};
use openssl::bn::{BigNum, BigNumContext, BigNumRef};

use super::{bn_err, der, padded, random_below, Challenge};
use crate::error::{AutokeyError, Result};

/// Draws r in [1, p), sent as `len(p)` octets.
pub fn challenge<R: rand::CryptoRng + ?Sized>(key: &MvClientKey, rng: &mut R) -> Result<Challenge> {
    let mut ctx = BigNumContext::new().map_err(bn_err)?;
    let r = random_below(rng, &key.p, &mut ctx)?;
    let octets = padded(&r, key.p.num_bytes() as usize)?;
    Ok(Challenge {
        scheme: Scheme::Mv,
        r,
        octets,
    })
}

/// The server's response, DER `SEQUENCE { y, ḡ^k, ĝ^k }` (OpenSSL's
/// DSAparams encoding).
pub fn respond<R: rand::CryptoRng + ?Sized>(
    key: &MvServerKey,
    r: &BigNumRef,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let mut ctx = BigNumContext::new().map_err(bn_err)?;
    let one = BigNum::from_u32(1).map_err(bn_err)?;
    let k = loop {
        let k = random_below(rng, &key.q, &mut ctx)?;
        let mut g = BigNum::new().map_err(bn_err)?;
        g.gcd(&k, &key.q, &mut ctx).map_err(bn_err)?;
        if g == one {
            break k;
        }
    };
    let mut ek = BigNum::new().map_err(bn_err)?;
    ek.mod_exp(&key.e, &k, &key.p, &mut ctx).map_err(bn_err)?;
    let mut y = BigNum::new().map_err(bn_err)?;
    y.mod_mul(r, &ek, &key.p, &mut ctx).map_err(bn_err)?;
    let mut gbar_k = BigNum::new().map_err(bn_err)?;
    gbar_k
        .mod_exp(&key.gbar, &k, &key.p, &mut ctx)
        .map_err(bn_err)?;
    let mut ghat_k = BigNum::new().map_err(bn_err)?;
    ghat_k
        .mod_exp(&key.ghat, &k, &key.p, &mut ctx)
        .map_err(bn_err)?;
    Ok(der::encode_integers(&[&y, &gbar_k, &ghat_k]))
}

/// The client's check.
pub fn verify(key: &MvClientKey, r: &BigNumRef, response: &[u8]) -> Result<()> {
    let vals = der::decode_integers(response, 3)?;
    let (y, gbar_k, ghat_k) = (&vals[0], &vals[1], &vals[2]);
    if y >= &key.p || gbar_k >= &key.p || ghat_k >= &key.p {
        // Out of range for our parameters (a value not below p): a proof made with
        // another group's key, not a malformed field.
        return Err(AutokeyError::Identity { scheme: "MV" });
    }
    let mut ctx = BigNumContext::new().map_err(bn_err)?;
    let mut a = BigNum::new().map_err(bn_err)?;
    a.mod_exp(gbar_k, &key.xhat, &key.p, &mut ctx)
        .map_err(bn_err)?;
    let mut b = BigNum::new().map_err(bn_err)?;
    b.mod_exp(ghat_k, &key.xbar, &key.p, &mut ctx)
        .map_err(bn_err)?;
    let mut t = BigNum::new().map_err(bn_err)?;
    t.mod_mul(&a, &b, &key.p, &mut ctx).map_err(bn_err)?;
    let mut u = BigNum::new().map_err(bn_err)?;
    u.mod_mul(&t, y, &key.p, &mut ctx).map_err(bn_err)?;
    let mut rr = BigNum::new().map_err(bn_err)?;
    rr.nnmod(r, &key.p, &mut ctx).map_err(bn_err)?;
    if u == rr {
        Ok(())
    } else {
        Err(AutokeyError::Identity { scheme: "MV" })
    }
}
