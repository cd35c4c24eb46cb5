//! The symmetric key the load generator signs its requests with and
//! checks replies by (RFC 5905 §7.3: a 4-octet key ID followed by the
//! digest of `key || packet`, 16 octets for MD5, 20 for SHA-1). The digests
//! are the daemon's own, from the `ntp-mac` crate.

use config::keys::KeyType;

/// Digest algorithm of a symmetric key: the two the benchmark compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlgo {
    /// MD5 (type `MD5`): 16-octet digest.
    Md5,
    /// SHA-1 (type `SHA1`): 20-octet digest.
    Sha1,
}

impl MacAlgo {
    /// The keys file type of this algorithm.
    pub const fn key_type(self) -> KeyType {
        match self {
            MacAlgo::Md5 => KeyType::Md5,
            MacAlgo::Sha1 => KeyType::Sha1,
        }
    }

    /// Octets of the digest on the wire.
    pub fn digest_len(self) -> usize {
        self.key_type().digest_len()
    }

    /// The type name used in `ntp.keys` and chrony key files.
    pub fn name(self) -> &'static str {
        self.key_type().name()
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
    pub fn mac_len(&self) -> usize {
        4 + self.algo.digest_len()
    }

    /// The digest of `key || data`.
    pub fn digest(&self, data: &[u8]) -> Result<ntp_mac::Digest20, ntp_mac::MacError> {
        ntp_mac::compute(self.algo.key_type(), &self.secret, data)
    }

    /// Appends the MAC over `buf[..len]` at `buf[len..]` and returns the
    /// new length, or `None` when `buf` is too short.
    pub fn append(&self, buf: &mut [u8], len: usize) -> Option<usize> {
        ntp_mac::append(self.algo.key_type(), &self.secret, self.id, buf, len)
    }

    /// Checks the MAC of a datagram made of a 48-octet header and a MAC
    /// (no extension fields: servers answer plain requests that way). The
    /// digest is compared in constant time.
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
        if ntp_mac::verify(
            self.algo.key_type(),
            &self.secret,
            &datagram[..48],
            &trailer[4..],
        ) {
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
