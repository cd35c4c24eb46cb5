//! Identity schemes IFF, GQ and MV as designed (RFC 5906 §6, brief §6):
//! challenge generation (right-aligned, zero-padded), the server's
//! response and the client's verification, with OpenSSL `BIGNUM`
//! arithmetic over `keystore`'s parameter types.
//!
//! `H(x) = MD5(BN_bn2bin(x))`, compared numerically (brief §6.1).

pub mod der;
pub mod gq;
pub mod iff;
pub mod mv;

use keystore::{GqKey, GqParams, IffKey, IffParams, MvClientKey, MvServerKey, Scheme};
use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::hash::{hash, MessageDigest};

use crate::error::{AutokeyError, Result};

pub(crate) fn bn_err(e: openssl::error::ErrorStack) -> AutokeyError {
    AutokeyError::crypto("bignum", e)
}

/// `H(x)`: MD5 of the minimal big-endian octets, as an integer.
pub(crate) fn h(x: &BigNumRef) -> Result<BigNum> {
    let d = hash(MessageDigest::md5(), &x.to_vec()).map_err(|e| AutokeyError::crypto("md5", e))?;
    BigNum::from_slice(&d).map_err(bn_err)
}

/// A uniformly-enough random number in `[1, modulus)` from `rng` (64 extra
/// bits reduce the modulo bias below 2^-64).
pub(crate) fn random_below<R: rand::CryptoRng + ?Sized>(
    rng: &mut R,
    modulus: &BigNumRef,
    ctx: &mut BigNumContext,
) -> Result<BigNum> {
    let len = modulus.num_bytes() as usize + 8;
    loop {
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        let x = BigNum::from_slice(&bytes).map_err(bn_err)?;
        let mut r = BigNum::new().map_err(bn_err)?;
        r.nnmod(&x, modulus, ctx).map_err(bn_err)?;
        if r.num_bits() > 0 {
            return Ok(r);
        }
    }
}

/// `x` as exactly `len` octets, right-aligned and zero-padded (brief §6.1).
pub(crate) fn padded(x: &BigNumRef, len: usize) -> Result<Vec<u8>> {
    x.to_vec_padded(len as i32).map_err(bn_err)
}

/// An outstanding challenge; single use (brief §11.3 rule 10).
#[derive(Debug)]
pub struct Challenge {
    /// The scheme the challenge is for (IFF, GQ or MV).
    pub scheme: Scheme,
    /// The challenge r.
    pub r: BigNum,
    /// The request value: r right-aligned in `len(modulus)` octets.
    pub octets: Vec<u8>,
}

/// What a client holds to verify a server's identity.
#[derive(Debug)]
pub enum ClientIdentity {
    /// `ntpkey_iffpar_<group>`: p, q, g, v.
    Iff {
        /// The client parameters p, q, g, v (brief §6.2).
        params: IffParams,
        /// Filestamp of the parameter file, NTP seconds (brief §6.1).
        filestamp: u32,
    },
    /// `ntpkey_gqpar_<group>`: n, b; v from the trusted certificate.
    Gq {
        /// The client parameters n, b (brief §6.3).
        params: GqParams,
        /// The public key v = (u^−1)^b mod n, from the trusted certificate's subjectKeyIdentifier.
        v: BigNum,
        /// Filestamp of the parameter file, NTP seconds (brief §6.1).
        filestamp: u32,
    },
    /// `ntpkey_mvpar_<group>`: p, x̄, x̂.
    Mv {
        /// The client key x̄ⱼ, x̂ⱼ and the modulus p (brief §6.4).
        key: MvClientKey,
        /// Filestamp of the key file, NTP seconds (brief §6.1).
        filestamp: u32,
    },
}

impl ClientIdentity {
    /// GQ parameters with the public key v taken from the trusted
    /// certificate's subjectKeyIdentifier (brief §6.3); `XEVNT_ID` if it
    /// has none.
    pub fn gq(params: GqParams, trusted: &keystore::Certificate, filestamp: u32) -> Result<Self> {
        let ski = trusted
            .subject_key_id
            .as_deref()
            .filter(|v| !v.is_empty())
            .ok_or(AutokeyError::MissingGroupKey { scheme: "GQ" })?;
        let v = BigNum::from_slice(ski).map_err(bn_err)?;
        Ok(ClientIdentity::Gq {
            params,
            v,
            filestamp,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        match self {
            ClientIdentity::Iff { .. } => Scheme::Iff,
            ClientIdentity::Gq { .. } => Scheme::Gq,
            ClientIdentity::Mv { .. } => Scheme::Mv,
        }
    }

    /// The local parameter file's filestamp (sent in the request's fs).
    pub fn filestamp(&self) -> u32 {
        match self {
            ClientIdentity::Iff { filestamp, .. }
            | ClientIdentity::Gq { filestamp, .. }
            | ClientIdentity::Mv { filestamp, .. } => *filestamp,
        }
    }

    /// Draws a challenge.
    pub fn challenge<R: rand::CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<Challenge> {
        match self {
            ClientIdentity::Iff { params, .. } => iff::challenge(params, rng),
            ClientIdentity::Gq { params, .. } => gq::challenge(params, rng),
            ClientIdentity::Mv { key, .. } => mv::challenge(key, rng),
        }
    }

    /// Rebuilds the challenge a request carried (replaying a capture, or a
    /// restart of the engine).
    pub fn challenge_from_octets(&self, octets: &[u8]) -> Result<Challenge> {
        Ok(Challenge {
            scheme: self.scheme(),
            r: BigNum::from_slice(octets).map_err(bn_err)?,
            octets: octets.to_vec(),
        })
    }

    /// Checks a response: the filestamp rule (IFF, MV: equal; GQ: ≥),
    /// then the proof. The challenge is consumed.
    pub fn verify(&self, challenge: Challenge, response_fs: u32, response: &[u8]) -> Result<()> {
        if challenge.scheme != self.scheme() {
            return Err(AutokeyError::Scheme {
                reason: "response scheme differs from the challenge",
            });
        }
        let local = self.filestamp();
        let ok = match self {
            ClientIdentity::Gq { .. } => response_fs >= local,
            _ => response_fs == local,
        };
        if !ok {
            return Err(AutokeyError::Filestamp {
                scheme: scheme_name(self.scheme()),
                got: response_fs,
                local,
            });
        }
        match self {
            ClientIdentity::Iff { params, .. } => iff::verify(params, &challenge.r, response),
            ClientIdentity::Gq { params, v, .. } => gq::verify(params, v, &challenge.r, response),
            ClientIdentity::Mv { key, .. } => mv::verify(key, &challenge.r, response),
        }
    }
}

/// What a server holds to prove its identity.
#[derive(Debug)]
pub enum ServerIdentity {
    /// IFF (code 7), from `ntpkey_iffkey_<group>` (brief §6.2).
    Iff {
        /// The server key: p, q, g, v and the group key b.
        key: IffKey,
        /// Filestamp of the key file, NTP seconds; sent in identity responses (brief §6.1).
        filestamp: u32,
    },
    /// GQ (code 8), from `ntpkey_gqkey_<group>` (brief §6.3).
    Gq {
        /// The server key: n, b, u and v.
        key: GqKey,
        /// Filestamp of the key file, NTP seconds; sent in identity responses (brief §6.1).
        filestamp: u32,
    },
    /// MV (code 9), from `ntpkey_mvkey_<group>` (brief §6.4).
    Mv {
        /// The server key: p, q, E, ḡ, ĝ.
        key: MvServerKey,
        /// Filestamp of the key file, NTP seconds; sent in identity responses (brief §6.1).
        filestamp: u32,
    },
}

impl ServerIdentity {
    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        match self {
            ServerIdentity::Iff { .. } => Scheme::Iff,
            ServerIdentity::Gq { .. } => Scheme::Gq,
            ServerIdentity::Mv { .. } => Scheme::Mv,
        }
    }

    /// The key file's filestamp (sent in the response's fs).
    pub fn filestamp(&self) -> u32 {
        match self {
            ServerIdentity::Iff { filestamp, .. }
            | ServerIdentity::Gq { filestamp, .. }
            | ServerIdentity::Mv { filestamp, .. } => *filestamp,
        }
    }

    /// Bits of the key's modulus (IFF and MV: p, GQ: n), as the
    /// reference's cryptostats `… mod N` line names it.
    pub fn modulus_bits(&self) -> i32 {
        match self {
            ServerIdentity::Iff { key, .. } => key.params.p.num_bits(),
            ServerIdentity::Gq { key, .. } => key.n.num_bits(),
            ServerIdentity::Mv { key, .. } => key.p.num_bits(),
        }
    }

    /// The response value (DER) to a challenge.
    pub fn respond<R: rand::CryptoRng + ?Sized>(
        &self,
        challenge: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        if challenge.is_empty() || challenge.len() > der::MAX_INTEGER_OCTETS {
            return Err(AutokeyError::ValueLength {
                code: crate::message::scheme_code(self.scheme()),
                got: challenge.len(),
                min: 1,
                max: der::MAX_INTEGER_OCTETS,
            });
        }
        let r = BigNum::from_slice(challenge).map_err(bn_err)?;
        match self {
            ServerIdentity::Iff { key, .. } => iff::respond(key, &r, challenge.len(), rng),
            ServerIdentity::Gq { key, .. } => gq::respond(key, &r, rng),
            ServerIdentity::Mv { key, .. } => mv::respond(key, &r, rng),
        }
    }
}

/// Upper-case scheme name.
pub fn scheme_name(s: Scheme) -> &'static str {
    match s {
        Scheme::Iff => "IFF",
        Scheme::Gq => "GQ",
        Scheme::Mv => "MV",
    }
}
