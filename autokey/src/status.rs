//! The Autokey status word (`crypto_flags`, peer `crypto`), brief §3.

use openssl::hash::MessageDigest;
use openssl::nid::Nid;

use crate::error::{AutokeyError, Result};

/// Crypto enabled.
pub const ENAB: u32 = 0x0001;
/// Leap values available.
pub const TAI: u32 = 0x0002;
/// Private-certificate scheme.
pub const PRIV: u32 = 0x0010;
/// Host has IFF keys.
pub const IFF: u32 = 0x0020;
/// Host has GQ keys.
pub const GQ: u32 = 0x0040;
/// Host has MV keys.
pub const MV: u32 = 0x0080;
/// Identity scheme bits.
pub const IDENT_MASK: u32 = 0x00f0;
/// Trusted certificate trail complete.
pub const CERT: u32 = 0x0100;
/// Identity verified.
pub const VRFY: u32 = 0x0200;
/// Proventic.
pub const PROV: u32 = 0x0400;
/// Cookie received.
pub const COOK: u32 = 0x0800;
/// Autokey values received.
pub const AUTO: u32 = 0x1000;
/// Own certificate signed by the peer.
pub const SIGN: u32 = 0x2000;
/// Leap values received.
pub const LEAP: u32 = 0x4000;
/// All client bits.
pub const ALL: u32 = 0x7f00;

/// A status word: NID of the host certificate's signature in bits 31–16,
/// flag bits below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StatusWord(pub u32);

impl StatusWord {
    /// Builds a host status word from the signature NID and flags.
    pub fn new(nid: Nid, flags: u32) -> Self {
        StatusWord(((nid.as_raw() as u32) << 16) | (flags & 0xffff))
    }

    /// The signature NID (bits 31–16).
    pub fn nid(self) -> u32 {
        self.0 >> 16
    }

    /// The flag bits (bits 15–0).
    pub fn flags(self) -> u32 {
        self.0 & 0xffff
    }

    /// True if all bits of `mask` are lit.
    pub fn has(self, mask: u32) -> bool {
        self.0 & mask == mask
    }

    /// The verification digest bound to the signature NID (brief §2.3 step
    /// 5, §7.5); `XEVNT_MD` if there is none.
    pub fn digest(self) -> Result<MessageDigest> {
        digest_for_nid(self.nid())
    }
}

/// The digest of an RSA signature algorithm NID (md5WithRSAEncryption →
/// MD5, sha1WithRSAEncryption → SHA-1, ...). DSA NIDs are refused like the
/// reference with OpenSSL 3 (brief §7.5).
pub fn digest_for_nid(nid: u32) -> Result<MessageDigest> {
    let n = Nid::from_raw(nid as i32);
    let algs = n
        .signature_algorithms()
        .ok_or(AutokeyError::Digest { nid })?;
    if algs.pkey != Nid::RSAENCRYPTION {
        return Err(AutokeyError::Digest { nid });
    }
    MessageDigest::from_nid(algs.digest).ok_or(AutokeyError::Digest { nid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_status_words_decode() {
        // brief §3: 0x00080003 (NID 8 md5WithRSAEncryption, TAI, ENAB).
        let s = StatusWord(0x0008_0003);
        assert_eq!(s.nid(), 8);
        assert!(s.has(ENAB | TAI));
        assert_eq!(s.digest().unwrap().type_(), MessageDigest::md5().type_());
        assert_eq!(
            StatusWord::new(Nid::MD5WITHRSAENCRYPTION, ENAB).0,
            0x0008_0001
        );
        assert_eq!(
            digest_for_nid(668).unwrap().type_(),
            MessageDigest::sha256().type_()
        );
        assert_eq!(
            digest_for_nid(113).err(),
            Some(AutokeyError::Digest { nid: 113 })
        );
        assert!(digest_for_nid(0).is_err());
    }
}
