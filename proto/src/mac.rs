//! The MAC trailer (RFC 5905 §7.3 "Key Identifier" and "Message Digest";
//! brief §1.1, §1.2, §5.7).
//!
//! ```text
//! key ID (32 bits, big endian) | digest (0, or 16 octets MD5/AES-CMAC, or 20 octets SHA-1)
//! ```
//!
//! The MAC covers the datagram octets `[0, authlen)`, i.e. the header and
//! every extension field, up to (not including) the key ID: see
//! `Packet::mac_covered_len`. This module does no cryptography.
//!
//! Sizes accepted, as the reference's receive loop tells them (§1.2 step 3,
//! §11.3 rule 1): any multiple of 4 from 4 to 24 octets. A MAC whose key ID
//! is an Autokey session key (> 65535) must be at least 20 octets.
//! The 4-octet forms are the crypto-NAK (key ID 0) and a bare key ID.

use crate::error::{BuildError, ParseError};

/// Smallest MAC: a key ID alone (`MIN_MAC_LEN`).
pub const MIN_MAC_LEN: usize = 4;
/// Largest MAC: key ID + 20-octet digest (`MAX_MAC_LEN`).
pub const MAX_MAC_LEN: usize = 24;
/// Longest digest the reference puts on the wire.
pub const MAX_DIGEST_LEN: usize = 20;
/// Smallest MAC allowed with an Autokey key ID (`MAX_MD5_LEN`).
pub const MIN_AUTOKEY_MAC_LEN: usize = 20;
/// Largest symmetric key ID (`NTP_MAXKEY`); larger IDs are Autokey session keys.
pub const NTP_MAXKEY: u32 = 65535;

/// True for Autokey session key IDs (> 65535), brief §5.8.
pub const fn is_autokey_key_id(key_id: u32) -> bool {
    key_id > NTP_MAXKEY
}

/// What a MAC trailer is, by size and key ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacKind {
    /// 4 octets, key ID 0: "I could not authenticate you".
    CryptoNak,
    /// 4 octets, non-zero key ID, no digest.
    BareKeyId,
    /// Key ID + 16-octet digest (MD5, AES-128-CMAC).
    Digest16,
    /// Key ID + 20-octet digest (SHA-1, RIPEMD-160, or a longer digest
    /// truncated to 20 octets by the reference).
    Digest20,
    /// Key ID + 4, 8 or 12 octets: framed as a MAC by the reference but
    /// no digest algorithm produces it, so it can never verify.
    ShortDigest,
}

/// A MAC trailer, kept as its wire octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mac {
    bytes: [u8; MAX_MAC_LEN],
    len: u8,
}

impl Mac {
    /// Parses a complete trailer (exactly the octets after the last
    /// extension field).
    pub fn parse(buf: &[u8]) -> Result<Mac, ParseError> {
        let len = buf.len();
        if !(MIN_MAC_LEN..=MAX_MAC_LEN).contains(&len) || len % 4 != 0 {
            return Err(ParseError::MacLength { len });
        }
        let mut bytes = [0u8; MAX_MAC_LEN];
        bytes[..len].copy_from_slice(buf);
        let mac = Mac {
            bytes,
            len: len as u8,
        };
        if is_autokey_key_id(mac.key_id()) && len < MIN_AUTOKEY_MAC_LEN {
            return Err(ParseError::AutokeyDigestTooShort {
                key_id: mac.key_id(),
                len,
            });
        }
        Ok(mac)
    }

    /// A MAC from a key ID and digest (0, 4, 8, 12, 16 or 20 octets; at
    /// least 16 for an Autokey key ID).
    pub fn new(key_id: u32, digest: &[u8]) -> Result<Mac, BuildError> {
        let dlen = digest.len();
        if dlen > MAX_DIGEST_LEN || dlen % 4 != 0 {
            return Err(BuildError::DigestLength { len: dlen });
        }
        if is_autokey_key_id(key_id) && dlen + 4 < MIN_AUTOKEY_MAC_LEN {
            return Err(BuildError::DigestLength { len: dlen });
        }
        let mut bytes = [0u8; MAX_MAC_LEN];
        bytes[..4].copy_from_slice(&key_id.to_be_bytes());
        bytes[4..4 + dlen].copy_from_slice(digest);
        Ok(Mac {
            bytes,
            len: (4 + dlen) as u8,
        })
    }

    /// The crypto-NAK: key ID 0 and no digest.
    pub const fn crypto_nak() -> Mac {
        Mac {
            bytes: [0; MAX_MAC_LEN],
            len: 4,
        }
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        u32::from_be_bytes([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]])
    }

    /// The digest octets (possibly empty).
    pub fn digest(&self) -> &[u8] {
        self.bytes.get(4..usize::from(self.len)).unwrap_or(&[])
    }

    /// The wire octets (key ID and digest).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Octets on the wire (4..=24).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Never empty: at least the key ID. Provided for clippy's sake.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// What sort of trailer this is.
    pub fn kind(&self) -> MacKind {
        match (self.len, self.key_id()) {
            (4, 0) => MacKind::CryptoNak,
            (4, _) => MacKind::BareKeyId,
            (20, _) => MacKind::Digest16,
            (24, _) => MacKind::Digest20,
            _ => MacKind::ShortDigest,
        }
    }

    /// True for the 4-octet all-zero crypto-NAK.
    pub fn is_crypto_nak(&self) -> bool {
        self.kind() == MacKind::CryptoNak
    }
}

impl std::fmt::Debug for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mac {{ key_id: {:#010x}, digest: ", self.key_id())?;
        for b in self.digest() {
            write!(f, "{b:02x}")?;
        }
        write!(f, " }}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes_accepted() {
        for len in 0..=32usize {
            let mut b = vec![0u8; len];
            if len >= 4 {
                b[3] = 7; // symmetric key ID 7
            }
            let ok = (4..=24).contains(&len) && len % 4 == 0;
            assert_eq!(Mac::parse(&b).is_ok(), ok, "len {len}");
            if !ok {
                assert_eq!(Mac::parse(&b), Err(ParseError::MacLength { len }));
            }
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(Mac::parse(&[0; 4]).unwrap().kind(), MacKind::CryptoNak);
        assert!(Mac::parse(&[0; 4]).unwrap().is_crypto_nak());
        assert_eq!(
            Mac::parse(&[0, 0, 0, 1]).unwrap().kind(),
            MacKind::BareKeyId
        );
        let md5 = Mac::new(1, &[0xaa; 16]).unwrap();
        assert_eq!(md5.kind(), MacKind::Digest16);
        assert_eq!(md5.len(), 20);
        assert_eq!(Mac::new(2, &[0xbb; 20]).unwrap().kind(), MacKind::Digest20);
        assert_eq!(
            Mac::new(2, &[0xbb; 8]).unwrap().kind(),
            MacKind::ShortDigest
        );
        assert_eq!(Mac::crypto_nak().as_bytes(), &[0, 0, 0, 0]);
        assert!(Mac::new(1, &[0; 24]).is_err());
        assert!(Mac::new(1, &[0; 15]).is_err());
    }

    #[test]
    fn autokey_mac_needs_a_digest() {
        // Brief §1.2 step 3: Autokey key ID with fewer than 20 octets.
        let b = [0x7a, 0x38, 0x76, 0x91];
        assert_eq!(
            Mac::parse(&b),
            Err(ParseError::AutokeyDigestTooShort {
                key_id: 0x7a38_7691,
                len: 4
            })
        );
        assert!(Mac::new(0x7a38_7691, &[0; 12]).is_err());
        let ok = Mac::new(0x7a38_7691, &[1; 16]).unwrap();
        assert_eq!(ok.key_id(), 0x7a38_7691);
        assert_eq!(ok.digest(), &[1; 16]);
    }

    proptest! {
        #[test]
        fn round_trip(key_id: u32, digest in proptest::collection::vec(any::<u8>(), 0..=5usize)
                      .prop_map(|v| v.repeat(4))) {
            match Mac::new(key_id, &digest) {
                Ok(m) => {
                    prop_assert_eq!(m.key_id(), key_id);
                    prop_assert_eq!(m.digest(), &digest[..]);
                    prop_assert_eq!(Mac::parse(m.as_bytes()), Ok(m));
                }
                Err(_) => prop_assert!(is_autokey_key_id(key_id) && digest.len() < 16),
            }
        }
    }
}
