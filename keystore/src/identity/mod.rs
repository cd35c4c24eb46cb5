//! Identity schemes IFF, GQ and MV (RFC 5906 §6, brief §6): parameter and
//! key files, their algebra, and how the reference lays them out in OpenSSL
//! DSA and RSA key structures.

pub mod gq;
pub mod iff;
pub mod mv;
pub mod proof;

use std::fmt;
use std::path::Path;

use openssl::bn::BigNum;
use openssl::dsa::Dsa;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::{Rsa, RsaPrivateKeyBuilder};
use openssl::symm::Cipher;

use crate::bn;
use crate::error::{KeyError, Result};

/// An Autokey identity scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Schnorr (Identify Friend or Foe), extension field code 7.
    Iff,
    /// Guillou-Quisquater, code 8.
    Gq,
    /// Mu-Varadharajan, code 9.
    Mv,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Iff => "IFF",
            Scheme::Gq => "GQ",
            Scheme::Mv => "MV",
        })
    }
}

/// How a private-key file is encrypted when written.
#[derive(Clone, Copy)]
pub struct Protection<'a> {
    /// PEM cipher (`ntp-keygen -C`, default des-ede3-cbc).
    pub cipher: Cipher,
    /// The password.
    pub password: &'a str,
}

impl fmt::Debug for Protection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protection(..)")
    }
}

/// The five DSA fields as the reference abuses them.
pub(crate) struct DsaParts {
    pub p: BigNum,
    pub q: BigNum,
    pub g: BigNum,
    pub private: BigNum,
    pub public: BigNum,
}

/// The RSA fields the identity schemes use.
pub(crate) struct RsaParts {
    pub n: BigNum,
    pub e: BigNum,
    pub d: BigNum,
    pub p: BigNum,
    pub q: BigNum,
}

fn key_name(pkey: &PKey<Private>) -> String {
    match pkey.id() {
        Id::RSA => "RSA".into(),
        Id::DSA => "DSA".into(),
        Id::EC => "EC".into(),
        other => format!("type {}", other.as_raw()),
    }
}

pub(crate) fn dsa_parts(path: &Path, pkey: &PKey<Private>) -> Result<DsaParts> {
    let dsa = pkey.dsa().map_err(|_| KeyError::WrongKeyType {
        path: path.to_path_buf(),
        expected: "DSA-structured",
        found: key_name(pkey),
    })?;
    let c = |e| KeyError::crypto(format!("{}", path.display()), e);
    Ok(DsaParts {
        p: bn::dup(dsa.p()).map_err(c)?,
        q: bn::dup(dsa.q()).map_err(c)?,
        g: bn::dup(dsa.g()).map_err(c)?,
        private: bn::dup(dsa.priv_key()).map_err(c)?,
        public: bn::dup(dsa.pub_key()).map_err(c)?,
    })
}

pub(crate) fn rsa_parts(path: &Path, pkey: &PKey<Private>) -> Result<RsaParts> {
    let rsa = pkey.rsa().map_err(|_| KeyError::WrongKeyType {
        path: path.to_path_buf(),
        expected: "RSA-structured",
        found: key_name(pkey),
    })?;
    let c = |e| KeyError::crypto(format!("{}", path.display()), e);
    let missing = || KeyError::corrupt(path, "RSA key without prime factors");
    Ok(RsaParts {
        n: bn::dup(rsa.n()).map_err(c)?,
        e: bn::dup(rsa.e()).map_err(c)?,
        d: bn::dup(rsa.d()).map_err(c)?,
        p: bn::dup(rsa.p().ok_or_else(missing)?).map_err(c)?,
        q: bn::dup(rsa.q().ok_or_else(missing)?).map_err(c)?,
    })
}

/// Traditional `DSA PRIVATE KEY` PEM (keeps the public value), optionally
/// with a legacy `Proc-Type: 4,ENCRYPTED` header.
pub(crate) fn dsa_traditional_pem(
    parts: &DsaParts,
    prot: Option<Protection<'_>>,
) -> Result<String> {
    let c = |e| KeyError::crypto("encoding DSA-structured key", e);
    let dsa = Dsa::from_private_components(
        bn::dup(&parts.p).map_err(c)?,
        bn::dup(&parts.q).map_err(c)?,
        bn::dup(&parts.g).map_err(c)?,
        bn::dup(&parts.private).map_err(c)?,
        bn::dup(&parts.public).map_err(c)?,
    )
    .map_err(c)?;
    let pem = match prot {
        Some(p) => dsa.private_key_to_pem_passphrase(p.cipher, p.password.as_bytes()),
        None => dsa.private_key_to_pem(),
    }
    .map_err(c)?;
    String::from_utf8(pem).map_err(|_| KeyError::corrupt("DSA PEM", "non-UTF-8 output"))
}

/// RSA-structured key with arbitrary field contents, as PKCS#8 PEM
/// (encrypted when `prot` is given); the CRT fields are set to 1 as the
/// reference does.
pub(crate) fn rsa_pkcs8_pem(parts: &RsaParts, prot: Option<Protection<'_>>) -> Result<String> {
    let c = |e| KeyError::crypto("encoding RSA-structured key", e);
    let one = || bn::one().map_err(c);
    let rsa: Rsa<Private> = RsaPrivateKeyBuilder::new(
        bn::dup(&parts.n).map_err(c)?,
        bn::dup(&parts.e).map_err(c)?,
        bn::dup(&parts.d).map_err(c)?,
    )
    .map_err(c)?
    .set_factors(bn::dup(&parts.p).map_err(c)?, bn::dup(&parts.q).map_err(c)?)
    .map_err(c)?
    .set_crt_params(one()?, one()?, one()?)
    .map_err(c)?
    .build();
    let pkey = PKey::from_rsa(rsa).map_err(c)?;
    pkcs8_pem(&pkey, prot)
}

/// PKCS#8 PEM of any key, encrypted (PBES2, OpenSSL defaults) when `prot`
/// is given.
pub(crate) fn pkcs8_pem(pkey: &PKey<Private>, prot: Option<Protection<'_>>) -> Result<String> {
    let c = |e| KeyError::crypto("encoding PKCS#8 key", e);
    let pem = match prot {
        Some(p) => pkey.private_key_to_pem_pkcs8_passphrase(p.cipher, p.password.as_bytes()),
        None => pkey.private_key_to_pem_pkcs8(),
    }
    .map_err(c)?;
    String::from_utf8(pem).map_err(|_| KeyError::corrupt("PKCS#8 PEM", "non-UTF-8 output"))
}
