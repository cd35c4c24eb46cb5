//! The identity exchanges' algebra (RFC 5906 §6, brief §6.2–§6.4), without
//! I/O: the caller supplies the challenge r and the server's random k.
//! Responses are DER SEQUENCEs of INTEGERs, as on the wire.
//!
//! `H(x)` is MD5 of the minimal big-endian octets of x, read as an unsigned
//! integer (always MD5, whatever `crypto digest` says).

use openssl::bn::{BigNum, BigNumRef};
use openssl::hash::{hash, MessageDigest};

use super::gq::{GqKey, GqParams};
use super::iff::{IffKey, IffParams};
use super::mv::{MvClientKey, MvServerKey};
use crate::bn::Arith;
use crate::der;
use crate::error::{KeyError, Result};

fn c(e: openssl::error::ErrorStack) -> KeyError {
    KeyError::crypto("identity algebra", e)
}

/// `H(x)`.
pub fn digest_integer(x: &BigNumRef) -> Result<BigNum> {
    let d = hash(MessageDigest::md5(), &x.to_vec()).map_err(c)?;
    BigNum::from_slice(&d).map_err(c)
}

fn decode(der: &[u8], n: usize) -> Option<Vec<BigNum>> {
    der::decode_unsigned_sequence(der, n)?
        .iter()
        .map(|v| BigNum::from_slice(v).ok())
        .collect()
}

/// IFF and GQ response: `SEQUENCE { INTEGER y, INTEGER H(x) }`.
#[derive(Debug)]
pub struct SchnorrResponse {
    /// IFF: y = (k + b·r) mod q; GQ: y = k·u^r mod n (brief §6.2, §6.3).
    pub y: BigNum,
    /// H(x), the digest of the commitment x, as an unsigned integer.
    pub hx: BigNum,
}

impl SchnorrResponse {
    /// The DER encoding, the value of an IFF or GQ response (codes 7, 8).
    pub fn to_der(&self) -> Vec<u8> {
        der::encode_unsigned_sequence(&[&self.y.to_vec(), &self.hx.to_vec()])
    }

    /// `None` for anything but a SEQUENCE of two non-negative INTEGERs.
    pub fn from_der(der: &[u8]) -> Option<SchnorrResponse> {
        let mut v = decode(der, 2)?;
        let hx = v.pop()?;
        let y = v.pop()?;
        Some(SchnorrResponse { y, hx })
    }
}

/// MV response: `SEQUENCE { INTEGER r·E^k, INTEGER ḡ^k, INTEGER ĝ^k }`.
#[derive(Debug)]
pub struct MvResponse {
    /// y = r·E^k mod p (brief §6.4).
    pub y: BigNum,
    /// ḡ^k mod p.
    pub gbar_k: BigNum,
    /// ĝ^k mod p.
    pub ghat_k: BigNum,
}

impl MvResponse {
    /// The DER encoding (OpenSSL "DSAparams" layout), the value of an MV response (code 9).
    pub fn to_der(&self) -> Vec<u8> {
        der::encode_unsigned_sequence(&[
            &self.y.to_vec(),
            &self.gbar_k.to_vec(),
            &self.ghat_k.to_vec(),
        ])
    }

    /// `None` for anything but a SEQUENCE of three non-negative INTEGERs.
    pub fn from_der(der: &[u8]) -> Option<MvResponse> {
        let mut v = decode(der, 3)?;
        let ghat_k = v.pop()?;
        let gbar_k = v.pop()?;
        let y = v.pop()?;
        Some(MvResponse { y, gbar_k, ghat_k })
    }
}

impl IffKey {
    /// Server: y = (k + b·r) mod q, x = g^k mod p; returns (y, H(x)).
    pub fn respond(&self, r: &BigNumRef, k: &BigNumRef) -> Result<SchnorrResponse> {
        let p = &self.params;
        let mut a = Arith::new().map_err(c)?;
        let br = a.mul(&self.b, r, &p.q).map_err(c)?;
        let y = a.add(k, &br, &p.q).map_err(c)?;
        let x = a.exp(&p.g, k, &p.p).map_err(c)?;
        Ok(SchnorrResponse {
            y,
            hx: digest_integer(&x)?,
        })
    }
}

impl IffParams {
    /// Client: accept iff H(g^y · v^r mod p) = H(x). Oversized values
    /// (y ≥ q, H(x) over 128 bits) are rejected (brief §11.3).
    pub fn verify(&self, r: &BigNumRef, resp: &SchnorrResponse) -> Result<bool> {
        if resp.y >= self.q || resp.hx.num_bits() > 128 {
            return Ok(false);
        }
        let mut a = Arith::new().map_err(c)?;
        let gy = a.exp(&self.g, &resp.y, &self.p).map_err(c)?;
        let vr = a.exp(&self.v, r, &self.p).map_err(c)?;
        let x = a.mul(&gy, &vr, &self.p).map_err(c)?;
        Ok(digest_integer(&x)? == resp.hx)
    }
}

impl GqKey {
    /// Server: y = k·u^r mod n, x = k^b mod n; returns (y, H(x)).
    pub fn respond(&self, r: &BigNumRef, k: &BigNumRef) -> Result<SchnorrResponse> {
        let mut a = Arith::new().map_err(c)?;
        let ur = a.exp(&self.u, r, &self.n).map_err(c)?;
        let y = a.mul(k, &ur, &self.n).map_err(c)?;
        let x = a.exp(k, &self.b, &self.n).map_err(c)?;
        Ok(SchnorrResponse {
            y,
            hx: digest_integer(&x)?,
        })
    }
}

impl GqParams {
    /// Client: accept iff H(v^r · y^b mod n) = H(x), with v the trusted
    /// certificate's subjectKeyIdentifier.
    pub fn verify(&self, v: &BigNumRef, r: &BigNumRef, resp: &SchnorrResponse) -> Result<bool> {
        if resp.y >= self.n || resp.hx.num_bits() > 128 {
            return Ok(false);
        }
        let mut a = Arith::new().map_err(c)?;
        let vr = a.exp(v, r, &self.n).map_err(c)?;
        let yb = a.exp(&resp.y, &self.b, &self.n).map_err(c)?;
        let x = a.mul(&vr, &yb, &self.n).map_err(c)?;
        Ok(digest_integer(&x)? == resp.hx)
    }
}

impl MvServerKey {
    /// Server: (r·E^k, ḡ^k, ĝ^k) mod p; k should be coprime to q.
    pub fn respond(&self, r: &BigNumRef, k: &BigNumRef) -> Result<MvResponse> {
        let mut a = Arith::new().map_err(c)?;
        let ek = a.exp(&self.e, k, &self.p).map_err(c)?;
        Ok(MvResponse {
            y: a.mul(r, &ek, &self.p).map_err(c)?,
            gbar_k: a.exp(&self.gbar, k, &self.p).map_err(c)?,
            ghat_k: a.exp(&self.ghat, k, &self.p).map_err(c)?,
        })
    }
}

impl MvClientKey {
    /// Client: accept iff (ḡ^k)^x̂ · (ĝ^k)^x̄ · y ≡ r (mod p). Values
    /// not below p are rejected.
    pub fn verify(&self, r: &BigNumRef, resp: &MvResponse) -> Result<bool> {
        if [&resp.y, &resp.gbar_k, &resp.ghat_k]
            .iter()
            .any(|x| **x >= self.p)
        {
            return Ok(false);
        }
        let mut a = Arith::new().map_err(c)?;
        let t1 = a.exp(&resp.gbar_k, &self.xhat, &self.p).map_err(c)?;
        let t2 = a.exp(&resp.ghat_k, &self.xbar, &self.p).map_err(c)?;
        let t = a.mul(&t1, &t2, &self.p).map_err(c)?;
        let lhs = a.mul(&t, &resp.y, &self.p).map_err(c)?;
        Ok(lhs == a.rem(r, &self.p).map_err(c)?)
    }
}
