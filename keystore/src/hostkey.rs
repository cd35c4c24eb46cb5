//! RSA host keys and RSA/DSA sign keys (brief §8.2, §9.2).

use std::path::Path;

use openssl::pkey::{Id, PKey, Private};

use crate::error::{KeyError, Result};

/// The host key: RSA, decrypts cookies and signs unless a sign key exists.
#[derive(Debug, Clone)]
pub struct HostKey {
    pub pkey: PKey<Private>,
}

impl HostKey {
    /// Accepts only RSA keys, as the reference `ntpd` does.
    pub fn from_pkey(path: &Path, pkey: PKey<Private>) -> Result<HostKey> {
        if pkey.id() != Id::RSA {
            return Err(KeyError::WrongKeyType {
                path: path.to_path_buf(),
                expected: "RSA host",
                found: format!("{:?}", pkey.id()),
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

/// Sign key algorithm (`ntp-keygen -S`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignKeyType {
    Rsa,
    Dsa,
}

/// A separate sign key (`ntpkey_sign_<host>`).
#[derive(Debug, Clone)]
pub struct SignKey {
    pub pkey: PKey<Private>,
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
                    found: format!("{other:?}"),
                })
            }
        };
        Ok(SignKey { pkey, kind })
    }
}
