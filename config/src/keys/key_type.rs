//! Digest names allowed in the `type` column of the symmetric keys file
//! (ntp.keys(5)).
//!
//! The reference ntpd 4.2.8p18 upper-cases the name and looks it up among the
//! OpenSSL object short names; `AES128CMAC` names AES-128-CMAC; a name that is
//! none of these but starts with `M`/`m` is taken as MD5 (the historical
//! `ntp-keygen` alias `M`).

use std::fmt;

/// Message digest (or CMAC) used to compute the MAC of a symmetric key
/// (RFC 5905 §7.3, RFC 8573 for AES-CMAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    /// MD5 (RFC 1321), written `MD5`: 16-octet digest, the NTPv4 default.
    Md5,
    /// SHA-1, written `SHA1`: 20-octet digest.
    Sha1,
    /// SHA-224, written `SHA224`: 28-octet digest.
    Sha224,
    /// SHA-256, written `SHA256`: 32-octet digest.
    Sha256,
    /// SHA-384, written `SHA384`: 48-octet digest.
    Sha384,
    /// SHA-512, written `SHA512`: 64-octet digest.
    Sha512,
    /// SHA-512/224, written `SHA512-224`: 28-octet digest.
    Sha512_224,
    /// SHA-512/256, written `SHA512-256`: 32-octet digest.
    Sha512_256,
    /// SHA3-224, written `SHA3-224`: 28-octet digest.
    Sha3_224,
    /// SHA3-256, written `SHA3-256`: 32-octet digest.
    Sha3_256,
    /// SHA3-384, written `SHA3-384`: 48-octet digest.
    Sha3_384,
    /// SHA3-512, written `SHA3-512`: 64-octet digest.
    Sha3_512,
    /// RIPEMD-160, written `RIPEMD160`: 20-octet digest.
    Ripemd160,
    /// SM3 (GB/T 32905), written `SM3`: 32-octet digest.
    Sm3,
    /// AES-128-CMAC (RFC 8573), written `AES128CMAC`.
    Aes128Cmac,
}

/// How a `type` column was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeMatch {
    /// The canonical name, in any letter case.
    Exact(KeyType),
    /// Not a digest name but starting with `M`/`m`: the reference takes it as MD5.
    MAlias,
}

impl KeyType {
    /// Every type, canonical names in the order shown to the operator.
    pub const ALL: [KeyType; 15] = [
        KeyType::Md5,
        KeyType::Sha1,
        KeyType::Sha256,
        KeyType::Aes128Cmac,
        KeyType::Sha224,
        KeyType::Sha384,
        KeyType::Sha512,
        KeyType::Sha512_224,
        KeyType::Sha512_256,
        KeyType::Sha3_224,
        KeyType::Sha3_256,
        KeyType::Sha3_384,
        KeyType::Sha3_512,
        KeyType::Ripemd160,
        KeyType::Sm3,
    ];

    /// The canonical (OpenSSL short) name as written in the keys file.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Md5 => "MD5",
            KeyType::Sha1 => "SHA1",
            KeyType::Sha224 => "SHA224",
            KeyType::Sha256 => "SHA256",
            KeyType::Sha384 => "SHA384",
            KeyType::Sha512 => "SHA512",
            KeyType::Sha512_224 => "SHA512-224",
            KeyType::Sha512_256 => "SHA512-256",
            KeyType::Sha3_224 => "SHA3-224",
            KeyType::Sha3_256 => "SHA3-256",
            KeyType::Sha3_384 => "SHA3-384",
            KeyType::Sha3_512 => "SHA3-512",
            KeyType::Ripemd160 => "RIPEMD160",
            KeyType::Sm3 => "SM3",
            KeyType::Aes128Cmac => "AES128CMAC",
        }
    }

    /// Octets of the full digest (16 for AES-CMAC).
    pub fn digest_len(self) -> usize {
        match self {
            KeyType::Md5 | KeyType::Aes128Cmac => 16,
            KeyType::Sha1 | KeyType::Ripemd160 => 20,
            KeyType::Sha224 | KeyType::Sha512_224 | KeyType::Sha3_224 => 28,
            KeyType::Sha256 | KeyType::Sha512_256 | KeyType::Sha3_256 | KeyType::Sm3 => 32,
            KeyType::Sha384 | KeyType::Sha3_384 => 48,
            KeyType::Sha512 | KeyType::Sha3_512 => 64,
        }
    }

    /// The types this ntpd computes MACs for: MD5, SHA1, SHA256 and
    /// AES128CMAC. The others are valid for the reference (any OpenSSL
    /// digest) and parse, but keys of those types cannot authenticate here.
    pub fn is_implemented(self) -> bool {
        matches!(
            self,
            KeyType::Md5 | KeyType::Sha1 | KeyType::Sha256 | KeyType::Aes128Cmac
        )
    }

    /// Recognise a `type` column like the reference: letter case is ignored.
    /// Returns `None` for a name the reference does not accept.
    pub fn from_keys_file(text: &str) -> Option<TypeMatch> {
        if let Some(t) = KeyType::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(text))
        {
            return Some(TypeMatch::Exact(t));
        }
        // Other OpenSSL digest short names starting with M (MD4, MD2, MDC2,
        // MD5-SHA1) are real digest objects for the reference, so they are
        // not the MD5 alias; they are not usable digests in 4.2.8p18 builds.
        const OTHER_M_DIGESTS: [&str; 4] = ["MD4", "MD2", "MDC2", "MD5-SHA1"];
        let first_is_m = text
            .as_bytes()
            .first()
            .is_some_and(|b| b.eq_ignore_ascii_case(&b'm'));
        if first_is_m && !OTHER_M_DIGESTS.iter().any(|n| n.eq_ignore_ascii_case(text)) {
            return Some(TypeMatch::MAlias);
        }
        None
    }

    /// The list of valid names, for error messages.
    pub fn valid_names() -> String {
        let names: Vec<&str> = KeyType::ALL.iter().map(|t| t.name()).collect();
        names.join(", ")
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(
            KeyType::from_keys_file("md5"),
            Some(TypeMatch::Exact(KeyType::Md5))
        );
        assert_eq!(
            KeyType::from_keys_file("Sha1"),
            Some(TypeMatch::Exact(KeyType::Sha1))
        );
        assert_eq!(
            KeyType::from_keys_file("aes128cmac"),
            Some(TypeMatch::Exact(KeyType::Aes128Cmac))
        );
        assert_eq!(
            KeyType::from_keys_file("sha3-256"),
            Some(TypeMatch::Exact(KeyType::Sha3_256))
        );
    }

    #[test]
    fn m_alias_and_unknown_names() {
        assert_eq!(KeyType::from_keys_file("M"), Some(TypeMatch::MAlias));
        assert_eq!(KeyType::from_keys_file("mumble"), Some(TypeMatch::MAlias));
        assert_eq!(KeyType::from_keys_file("MD4"), None);
        assert_eq!(KeyType::from_keys_file("SHA"), None);
        assert_eq!(KeyType::from_keys_file("RMD160"), None);
        assert_eq!(KeyType::from_keys_file("DES"), None);
    }

    #[test]
    fn every_name_round_trips() {
        for t in KeyType::ALL {
            assert_eq!(KeyType::from_keys_file(t.name()), Some(TypeMatch::Exact(t)));
        }
        assert!(KeyType::valid_names().starts_with("MD5, SHA1, SHA256, AES128CMAC"));
    }
}
