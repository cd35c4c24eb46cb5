//! Symmetric-key MACs of NTP packets (RFC 5905 §7.3 and Appendix A.2 for
//! the legacy digest MAC, RFC 8573 for AES-128-CMAC), shared by the daemon,
//! `ntpq` (mode 6 requests, RFC 9327 §4) and the benchmark's load generator.
//!
//! The reference computes `digest(key ‖ packet[..authlen])` for the
//! message digests and truncates anything longer than 20 octets to 20;
//! AES-128-CMAC takes the packet alone, keyed with the secret padded with
//! zeros (or cut) to 16 octets. Verification compares in constant time.
//!
//! Bytes in, digest out: no I/O, no key files (the key's type is the keys
//! file's [`KeyType`]), no framing beyond [`append`], which writes the
//! trailer (key ID, digest) after a packet.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use cmac::digest::KeyInit;
use cmac::{Cmac, Mac as _};
use config::keys::KeyType;
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Longest digest carried in an NTP MAC, octets.
pub const MAX_DIGEST: usize = 20;

/// A computed digest: up to [`MAX_DIGEST`] octets.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest20 {
    bytes: [u8; MAX_DIGEST],
    len: u8,
}

impl Digest20 {
    fn from_slice(d: &[u8]) -> Self {
        let len = d.len().min(MAX_DIGEST);
        let mut bytes = [0u8; MAX_DIGEST];
        bytes[..len].copy_from_slice(&d[..len]);
        Digest20 {
            bytes,
            len: len as u8,
        }
    }

    /// The digest octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Digest20 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Why a digest could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MacError {
    /// The key's type is valid for the reference but not built here.
    #[error(
        "keys of type {0} cannot compute MACs in this build (use MD5, SHA1, SHA256 or AES128CMAC)"
    )]
    Unsupported(&'static str),
}

/// The digest of `data` with `secret` for a key of type `kind`, as carried
/// after the key ID in the MAC trailer.
pub fn compute(kind: KeyType, secret: &[u8], data: &[u8]) -> Result<Digest20, MacError> {
    Ok(match kind {
        KeyType::Md5 => {
            let mut h = Md5::new();
            h.update(secret);
            h.update(data);
            Digest20::from_slice(&h.finalize())
        }
        KeyType::Sha1 => {
            let mut h = Sha1::new();
            h.update(secret);
            h.update(data);
            Digest20::from_slice(&h.finalize())
        }
        KeyType::Sha256 => {
            let mut h = Sha256::new();
            h.update(secret);
            h.update(data);
            Digest20::from_slice(&h.finalize())
        }
        KeyType::Aes128Cmac => {
            let mut key = [0u8; 16];
            let n = secret.len().min(16);
            key[..n].copy_from_slice(&secret[..n]);
            let mut m = <Cmac<aes::Aes128> as KeyInit>::new(&key.into());
            m.update(data);
            Digest20::from_slice(&m.finalize().into_bytes())
        }
        other => return Err(MacError::Unsupported(other.name())),
    })
}

/// Append the MAC trailer of `buf[..len]` — the key ID `key_id` (big
/// endian) and the digest — to `buf` and return the new length. `None`
/// when `buf` has no room or the key type is not built here.
pub fn append(
    kind: KeyType,
    secret: &[u8],
    key_id: u32,
    buf: &mut [u8],
    len: usize,
) -> Option<usize> {
    let digest = compute(kind, secret, buf.get(..len)?).ok()?;
    let d = digest.as_bytes();
    let end = len.checked_add(4 + d.len())?;
    let out = buf.get_mut(len..end)?;
    out[..4].copy_from_slice(&key_id.to_be_bytes());
    out[4..].copy_from_slice(d);
    Some(end)
}

/// Whether `digest` (the octets after the key ID) is the MAC of `data`.
/// The comparison takes the same time wherever the first difference is.
pub fn verify(kind: KeyType, secret: &[u8], data: &[u8], digest: &[u8]) -> bool {
    match compute(kind, secret, data) {
        Ok(d) => d.as_bytes().len() == digest.len() && bool::from(d.as_bytes().ct_eq(digest)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Vectors: the digest of key ‖ data computed with Python's hashlib
    // (an independent implementation); CMAC from RFC 4493 §4.
    #[test]
    fn md5_sha1_sha256_digest_key_then_data() {
        let key = b"ntpkey";
        let data = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(
            compute(KeyType::Md5, key, data).unwrap().as_bytes(),
            hex("67d0a39379d44d4adcd80e93874e2f12").as_slice()
        );
        assert_eq!(
            compute(KeyType::Sha1, key, data).unwrap().as_bytes(),
            hex("8d310176e367fcc4a7048b3e86b5d517d5aa8646").as_slice()
        );
        // SHA256 is truncated to 20 octets, as the reference does.
        assert_eq!(
            compute(KeyType::Sha256, key, data).unwrap().as_bytes(),
            hex("88107db42b6e0eba7b029b77f270e74adb3a9e8b").as_slice()
        );
    }

    #[test]
    fn aes_cmac_rfc4493_vectors() {
        let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
        assert_eq!(
            compute(KeyType::Aes128Cmac, &key, b"").unwrap().as_bytes(),
            hex("bb1d6929e95937287fa37d129b756746").as_slice()
        );
        let m = hex("6bc1bee22e409f96e93d7e117393172a");
        assert_eq!(
            compute(KeyType::Aes128Cmac, &key, &m).unwrap().as_bytes(),
            hex("070a16b46b4d4144f79bdd9dd04a287c").as_slice()
        );
    }

    #[test]
    fn verify_accepts_right_and_refuses_wrong() {
        let d = compute(KeyType::Sha1, b"k", b"packet").unwrap();
        assert!(verify(KeyType::Sha1, b"k", b"packet", d.as_bytes()));
        assert!(!verify(KeyType::Sha1, b"K", b"packet", d.as_bytes()));
        assert!(!verify(KeyType::Sha1, b"k", b"packeT", d.as_bytes()));
        assert!(!verify(KeyType::Md5, b"k", b"packet", d.as_bytes()));
        assert!(!verify(KeyType::Sha1, b"k", b"packet", &d.as_bytes()[..16]));
    }

    #[test]
    fn append_writes_key_id_then_digest() {
        let mut buf = [0u8; 72];
        buf[..48].copy_from_slice(&[0x23; 48]);
        let end = append(KeyType::Md5, b"k", 7, &mut buf, 48).unwrap();
        assert_eq!(end, 68);
        assert_eq!(buf[48..52], 7u32.to_be_bytes());
        let d = compute(KeyType::Md5, b"k", &[0x23; 48]).unwrap();
        assert_eq!(&buf[52..68], d.as_bytes());
        assert_eq!(append(KeyType::Sha1, b"k", 7, &mut buf[..71], 48), None);
        assert_eq!(append(KeyType::Sm3, b"k", 7, &mut buf, 48), None);
    }

    #[test]
    fn unsupported_types_are_refused() {
        assert_eq!(
            compute(KeyType::Sm3, b"k", b"x"),
            Err(MacError::Unsupported("SM3"))
        );
        assert!(!verify(KeyType::Sm3, b"k", b"x", &[0; 20]));
    }
}
