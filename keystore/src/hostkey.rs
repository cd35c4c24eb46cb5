//! RSA host keys and RSA/DSA sign keys (brief §8.2, §9.2).

use std::path::Path;

use openssl::pkey::{Id, PKey, Private};

use crate::error::{KeyError, Result};

/// The host key: RSA, decrypts cookies and signs unless a sign key exists.
#[derive(Debug, Clone)]
pub struct HostKey {
    /// The RSA private key (`ntpkey_host_<host>`, brief §8.2).
    pub pkey: PKey<Private>,
}

impl HostKey {
    /// Accepts only RSA keys, as the reference `ntpd` does.
    pub fn from_pkey(path: &Path, pkey: PKey<Private>) -> Result<HostKey> {
        if pkey.id() != Id::RSA {
            return Err(KeyError::WrongKeyType {
                path: path.to_path_buf(),
                expected: "RSA host",
                found: key_type_name(pkey.id()),
            });
        }
        let rsa = pkey
            .rsa()
            .map_err(|e| KeyError::corrupt(path, format!("bad RSA key: {e}")))?;
        if !rsa.check_key().unwrap_or(false) {
            return Err(KeyError::corrupt(
                path,
                "RSA key fails its consistency check",
            ));
        }
        Ok(HostKey { pkey })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }

    /// The public key as DER `RSAPublicKey` (PKCS#1), the COOKIE request value.
    pub fn public_der(&self) -> Result<Vec<u8>> {
        self.pkey
            .rsa()
            .and_then(|r| r.public_key_to_der_pkcs1())
            .map_err(|e| KeyError::crypto("encoding host public key", e))
    }
}

/// The algorithm of a key as OpenSSL names it (for messages).
fn key_type_name(id: Id) -> String {
    match id {
        Id::RSA => "RSA".into(),
        Id::DSA => "DSA".into(),
        Id::EC => "EC".into(),
        Id::ED25519 => "Ed25519".into(),
        Id::ED448 => "Ed448".into(),
        Id::DH => "DH".into(),
        other => openssl::nid::Nid::from_raw(other.as_raw())
            .short_name()
            .map(str::to_string)
            .unwrap_or_else(|_| format!("unknown (NID {})", other.as_raw())),
    }
}

/// Sign key algorithm (`ntp-keygen -S`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignKeyType {
    /// RSA, the default (brief §7.5).
    Rsa,
    /// DSA; its dsaWithSHA1 certificates do not work with the OpenSSL 3
    /// reference (brief §7.5).
    Dsa,
}

impl std::fmt::Display for SignKeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignKeyType::Rsa => "RSA",
            SignKeyType::Dsa => "DSA",
        })
    }
}

/// A separate sign key (`ntpkey_sign_<host>`).
#[derive(Debug, Clone)]
pub struct SignKey {
    /// The RSA or DSA private key.
    pub pkey: PKey<Private>,
    /// Its algorithm, matching `pkey`.
    pub kind: SignKeyType,
}

impl SignKey {
    /// Accepts RSA or DSA keys.
    pub fn from_pkey(path: &Path, pkey: PKey<Private>) -> Result<SignKey> {
        let kind = match pkey.id() {
            Id::RSA => SignKeyType::Rsa,
            Id::DSA => SignKeyType::Dsa,
            other => {
                return Err(KeyError::WrongKeyType {
                    path: path.to_path_buf(),
                    expected: "RSA or DSA sign",
                    found: key_type_name(other),
                })
            }
        };
        Ok(SignKey { pkey, kind })
    }
}
