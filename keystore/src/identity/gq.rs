//! GQ (Guillou-Quisquater) identity scheme, RFC 5906 §6.3, brief §6.3.
//!
//! Modulus n, group key b, server private key u, public key
//! v = (u^−1)^b mod n (also carried in the certificate's
//! subjectKeyIdentifier). The values live in an RSA key structure:
//!
//! | layout | e | d | p | q |
//! |---|---|---|---|---|
//! | stock 4.2.8 server (`ntpkey_GQkey_`) | b | 1 | u | v |
//! | stock 4.2.8 client (`ntpkey_gqpar_`) | b | 1 | 1 | 1 |
//! | interop server (what 4.2.8 `ntpd` reads) | u | b | u | v |
//! | interop client | b | b | 1 | 1 |
//!
//! 4.2.8's `ntpd` takes (n, e, d) as (n, u, b); the interop layout puts the
//! values there so that the reference computes the intended maths. This
//! reader accepts both layouts.

use std::path::Path;

use openssl::bn::BigNum;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;

use super::{rsa_parts, rsa_pkcs8_pem, Protection, RsaParts, Scheme};
use crate::bn::{self, Arith};
use crate::error::{KeyError, Result};

/// Which RSA slot layout a GQ file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GqLayout {
    /// As written by the reference 4.2.8 `ntp-keygen` (d = 1).
    Stock,
    /// u in the e slot, b in the d slot (works with 4.2.8 `ntpd`).
    Interop,
}

/// Client-side GQ parameters (`ntpkey_gqpar_<group>`); v comes from the
/// trusted certificate.
#[derive(Debug)]
pub struct GqParams {
    /// RSA modulus n (brief §6.3; 512 bits by default, `-b`).
    pub n: BigNum,
    /// Group key b.
    pub b: BigNum,
    /// Which RSA fields hold u and b in the file.
    pub layout: GqLayout,
}

impl GqParams {
    /// A copy, e.g. for each association that verifies with them.
    pub fn try_clone(&self) -> Result<Self> {
        Ok(GqParams {
            n: bn::dup_param(&self.n)?,
            b: bn::dup_param(&self.b)?,
            layout: self.layout,
        })
    }
}

/// Server-side GQ key (`ntpkey_GQkey_<group>` / `ntpkey_gqkey_<group>`).
#[derive(Debug)]
pub struct GqKey {
    /// RSA modulus n.
    pub n: BigNum,
    /// Group key b, random mod n.
    pub b: BigNum,
    /// Private key u.
    pub u: BigNum,
    /// Public key v = (u^−1)^b mod n.
    pub v: BigNum,
    /// Which RSA fields hold u and b in the file.
    pub layout: GqLayout,
}

fn c(path: &Path) -> impl Fn(openssl::error::ErrorStack) -> KeyError + '_ {
    move |e| KeyError::crypto(format!("{}", path.display()), e)
}

fn algebra(path: &Path, what: &'static str) -> KeyError {
    KeyError::Algebra {
        path: path.to_path_buf(),
        scheme: Scheme::Gq,
        what,
    }
}

impl GqKey {
    /// Generates GQ keys with a `bits`-bit modulus (`ntp-keygen -G -b`).
    pub fn generate(bits: u32) -> Result<GqKey> {
        let path = Path::new("GQ generation");
        let rsa = Rsa::generate(bits).map_err(c(path))?;
        let n = bn::dup(rsa.n()).map_err(c(path))?;
        let mut a = Arith::new().map_err(c(path))?;
        let b = a.random_unit(&n).map_err(c(path))?;
        let u = a.random_unit(&n).map_err(c(path))?;
        let uinv = a.inv(&u, &n).map_err(c(path))?;
        let v = a.exp(&uinv, &b, &n).map_err(c(path))?;
        Ok(GqKey {
            n,
            b,
            u,
            v,
            layout: GqLayout::Interop,
        })
    }

    /// Reads a server key in either layout and checks v·u^b ≡ 1 (mod n).
    pub fn from_pkey(path: &Path, pkey: &PKey<Private>) -> Result<GqKey> {
        let r = rsa_parts(path, pkey)?;
        if bn::is_one(&r.p) {
            return Err(KeyError::corrupt(
                path,
                "this is a GQ client parameter file (private key removed), not the server's GQ key",
            ));
        }
        let (b, u, layout) = if bn::is_one(&r.d) {
            (r.e, r.p, GqLayout::Stock)
        } else {
            if r.e != r.p {
                return Err(algebra(
                    path,
                    "interop layout needs u in both the e and p slots",
                ));
            }
            (r.d, r.p, GqLayout::Interop)
        };
        let key = GqKey {
            n: r.n,
            b,
            u,
            v: r.q,
            layout,
        };
        if !key.verify().map_err(c(path))? {
            return Err(algebra(path, "v * u^b != 1 mod n"));
        }
        Ok(key)
    }

    /// Checks v·u^b ≡ 1 (mod n).
    pub fn verify(&self) -> std::result::Result<bool, openssl::error::ErrorStack> {
        let mut a = Arith::new()?;
        let ub = a.exp(&self.u, &self.b, &self.n)?;
        Ok(bn::is_one(&a.mul(&ub, &self.v, &self.n)?))
    }

    /// v as the big-endian octets put into the certificate's
    /// subjectKeyIdentifier.
    pub fn public_octets(&self) -> Vec<u8> {
        self.v.to_vec()
    }

    /// The client parameters of this key.
    pub fn params(&self) -> Result<GqParams> {
        let e = c(Path::new("GQ"));
        Ok(GqParams {
            n: bn::dup(&self.n).map_err(&e)?,
            b: bn::dup(&self.b).map_err(&e)?,
            layout: GqLayout::Interop,
        })
    }

    /// Server file, interop layout, PKCS#8 (encrypted when `prot` is given).
    pub fn to_pem(&self, prot: Option<Protection<'_>>) -> Result<String> {
        let e = c(Path::new("GQ"));
        rsa_pkcs8_pem(
            &RsaParts {
                n: bn::dup(&self.n).map_err(&e)?,
                e: bn::dup(&self.u).map_err(&e)?,
                d: bn::dup(&self.b).map_err(&e)?,
                p: bn::dup(&self.u).map_err(&e)?,
                q: bn::dup(&self.v).map_err(&e)?,
            },
            prot,
        )
    }

    /// Client parameter file (`-e`), interop layout, PKCS#8; unencrypted as
    /// 4.2.8 writes it, or encrypted (the old guide's form).
    pub fn params_pem(&self, prot: Option<Protection<'_>>) -> Result<String> {
        let e = c(Path::new("GQ"));
        rsa_pkcs8_pem(
            &RsaParts {
                n: bn::dup(&self.n).map_err(&e)?,
                e: bn::dup(&self.b).map_err(&e)?,
                d: bn::dup(&self.b).map_err(&e)?,
                p: bn::one().map_err(&e)?,
                q: bn::one().map_err(&e)?,
            },
            prot,
        )
    }
}

impl GqParams {
    /// Reads client parameters in either layout; a server key file (the old
    /// guide's `ntpkey_GQpar_`/`ntpkey_gq_` copy of the group key) is
    /// accepted too.
    pub fn from_pkey(path: &Path, pkey: &PKey<Private>) -> Result<GqParams> {
        let r = rsa_parts(path, pkey)?;
        if !bn::is_one(&r.p) {
            return GqKey::from_pkey(path, pkey)?.params();
        }
        let (b, layout) = if bn::is_one(&r.d) {
            (r.e, GqLayout::Stock)
        } else {
            (r.d, GqLayout::Interop)
        };
        if b.num_bits() < 2 || b >= r.n {
            return Err(algebra(path, "group key b out of range"));
        }
        Ok(GqParams { n: r.n, b, layout })
    }

    /// Checks that a certificate's public key v belongs to these
    /// parameters: 0 < v < n and gcd(v, n) = 1.
    pub fn accepts_public(&self, v: &[u8]) -> bool {
        let Ok(v) = BigNum::from_slice(v) else {
            return false;
        };
        let Ok(mut a) = Arith::new() else {
            return false;
        };
        v.num_bits() > 1 && v < self.n && a.gcd(&v, &self.n).is_ok_and(|g| bn::is_one(&g))
    }
}
