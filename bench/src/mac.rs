//! Symmetric-key MACs as NTP puts them on the wire (RFC 5905 §7.3, the
//! reference implementation's `MD5`/`SHA1` keys): the digest of
//! `key || packet`, sent as a 4-octet key ID followed by the whole digest
//! (16 octets for MD5, 20 for SHA-1).

use md5::{Digest, Md5};
use sha1::Sha1;

/// Digest algorithm of a symmetric key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlgo {
    /// MD5 (type `MD5`): 16-octet digest.
    Md5,
    /// SHA-1 (type `SHA1`): 20-octet digest.
    Sha1,
}

impl MacAlgo {
    /// Octets of the digest on the wire.
    pub const fn digest_len(self) -> usize {
        match self {
            MacAlgo::Md5 => 16,
            MacAlgo::Sha1 => 20,
        }
    }

    /// The type name used in `ntp.keys` and chrony key files.
    pub const fn name(self) -> &'static str {
        match self {
            MacAlgo::Md5 => "MD5",
            MacAlgo::Sha1 => "SHA1",
        }
    }
}

/// A symmetric key: ID, algorithm and secret octets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacKey {
    /// The key ID sent in front of the digest (1–65535 for symmetric keys).
    pub id: u32,
    /// The digest algorithm.
    pub algo: MacAlgo,
    /// The secret octets hashed in front of the packet.
    pub secret: Vec<u8>,
}

/// Result of checking a reply's MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacCheck {
    /// Key ID and digest match.
    Valid,
    /// A 4-octet MAC with key ID 0 (RFC 5905 §7.4 crypto-NAK).
    CryptoNak,
    /// No MAC, wrong size, wrong key ID or wrong digest.
    Invalid,
}

impl MacKey {
    /// Octets the MAC adds to a packet (key ID + digest).
    pub const fn mac_len(&self) -> usize {
        4 + self.algo.digest_len()
    }

    /// The full digest of `key || data`.
    pub fn digest(&self, data: &[u8]) -> Vec<u8> {
        match self.algo {
            MacAlgo::Md5 => {
                let mut h = Md5::new();
                h.update(&self.secret);
                h.update(data);
                h.finalize().to_vec()
            }
            MacAlgo::Sha1 => {
                let mut h = Sha1::new();
                h.update(&self.secret);
                h.update(data);
                h.finalize().to_vec()
            }
        }
    }

    /// Appends the MAC over `buf[..len]` at `buf[len..]` and returns the
    /// new length, or `None` when `buf` is too short.
    pub fn append(&self, buf: &mut [u8], len: usize) -> Option<usize> {
        let end = len.checked_add(self.mac_len())?;
        let digest = self.digest(buf.get(..len)?);
        let out = buf.get_mut(len..end)?;
        out[..4].copy_from_slice(&self.id.to_be_bytes());
        out[4..].copy_from_slice(&digest);
        Some(end)
    }

    /// Checks the MAC of a datagram made of a 48-octet header and a MAC
    /// (no extension fields: servers answer plain requests that way).
    pub fn check(&self, datagram: &[u8]) -> MacCheck {
        let Some(trailer) = datagram.get(48..) else {
            return MacCheck::Invalid;
        };
        if trailer == [0, 0, 0, 0] {
            return MacCheck::CryptoNak;
        }
        if trailer.len() != self.mac_len() || trailer[..4] != self.id.to_be_bytes() {
            return MacCheck::Invalid;
        }
        if self.digest(&datagram[..48]) == trailer[4..] {
            MacCheck::Valid
        } else {
            MacCheck::Invalid
        }
    }
}

/// Decodes an even-length string of hex digits.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{s:?} is not an even number of hex digits (write the key as hex, e.g. 0123abcd...)"
        ));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("{s:?}: {e}")))
        .collect()
}

/// Encodes octets as lowercase hex.
pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(parse_hex("00ff10").unwrap(), vec![0, 255, 16]);
        assert_eq!(to_hex(&[0, 255, 16]), "00ff10");
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
