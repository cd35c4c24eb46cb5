//! AEAD_AES_SIV_CMAC_256 (RFC 5297 §6, IANA AEAD id 15), the one AEAD
//! algorithm RFC 8915 requires (§5.1), through RustCrypto's `aes-siv`.
//!
//! The nonce-based AEAD interface of RFC 5297 §3 is S2V over the
//! associated data and then the nonce, which is how [`seal`] and [`open`]
//! call the cipher; the output is the 16-octet synthetic IV followed by
//! the ciphertext, as NTS carries it.

use aes_siv::siv::Siv;
use aes_siv::KeyInit;
use thiserror::Error;

/// Octets of an AEAD_AES_SIV_CMAC_256 key.
pub const KEY_LEN: usize = 32;
/// Octets the synthetic IV adds to a plaintext.
pub const TAG_LEN: usize = 16;
/// Octets of the nonces this crate makes (RFC 8915 §5.6 asks for at least
/// 16).
pub const NONCE_LEN: usize = 16;

/// A 256-bit AEAD_AES_SIV_CMAC_256 key. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct AeadKey([u8; KEY_LEN]);

impl AeadKey {
    /// Wraps key octets.
    pub fn new(octets: [u8; KEY_LEN]) -> Self {
        Self(octets)
    }

    /// A fresh random key.
    pub fn random(rng: &mut impl rand::Rng) -> Self {
        let mut k = [0; KEY_LEN];
        rng.fill_bytes(&mut k);
        Self(k)
    }

    /// The key octets.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AeadKey(..)")
    }
}

/// Why a ciphertext was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum AeadError {
    /// The synthetic IV does not match: wrong key, altered ciphertext,
    /// nonce or associated data.
    #[error("AES-SIV authentication failed")]
    Authentication,
    /// Shorter than the 16-octet synthetic IV.
    #[error("AES-SIV ciphertext of {len} octets is shorter than its 16-octet tag")]
    TooShort {
        /// The length received.
        len: usize,
    },
}

/// AES-SIV with AES-128 (RFC 5297 §2.6, 256-bit key: CMAC half, CTR half)
/// on the encrypt-only AES: SIV never runs AES backwards, so the inverse key
/// schedule `aes::Aes128` also computes would be wasted on every operation.
type Aes128Siv = Siv<aes::Aes128Enc, cmac::Cmac<aes::Aes128Enc>>;

fn cipher(key: &AeadKey) -> Aes128Siv {
    Aes128Siv::new(&key.0.into())
}

/// Encrypts `plaintext` under `key` with `nonce` and associated data `ad`;
/// returns the synthetic IV followed by the ciphertext.
pub fn seal(key: &AeadKey, nonce: &[u8], ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    cipher(key)
        .encrypt([ad, nonce], plaintext)
        // Only more than 126 headers or a plaintext near 2^64 octets fail.
        .unwrap_or_else(|_| unreachable!("two AES-SIV headers always fit"))
}

/// [`seal`] without allocating: encrypts `buf` in place and returns the
/// synthetic IV, which goes before the ciphertext on the wire. The server
/// seals every reply and cookie this way.
pub fn seal_in_place(key: &AeadKey, nonce: &[u8], ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
    cipher(key)
        .encrypt_in_place_detached([ad, nonce], buf)
        .unwrap_or_else(|_| unreachable!("two AES-SIV headers always fit"))
        .into()
}

/// [`open`] without allocating: checks `tag` (the synthetic IV) and
/// decrypts `buf` in place. On an error `buf` holds no plaintext.
pub fn open_in_place(
    key: &AeadKey,
    nonce: &[u8],
    ad: &[u8],
    tag: &[u8; TAG_LEN],
    buf: &mut [u8],
) -> Result<(), AeadError> {
    cipher(key)
        .decrypt_in_place_detached([ad, nonce], buf, tag.into())
        .map_err(|_| AeadError::Authentication)
}

/// Checks and decrypts what [`seal`] made.
pub fn open(
    key: &AeadKey,
    nonce: &[u8],
    ad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, AeadError> {
    if ciphertext.len() < TAG_LEN {
        return Err(AeadError::TooShort {
            len: ciphertext.len(),
        });
    }
    cipher(key)
        .decrypt([ad, nonce], ciphertext)
        .map_err(|_| AeadError::Authentication)
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

    /// RFC 5297 appendix A.2 (nonce-based AEAD): S2V over AD1, AD2 and
    /// then the nonce, the same header order [`seal`] uses.
    #[test]
    fn in_place_matches_allocating() {
        let key = AeadKey::new([5; KEY_LEN]);
        let sealed = seal(&key, &[1; 16], b"ad", b"some plaintext");
        let mut buf = *b"some plaintext";
        let tag = seal_in_place(&key, &[1; 16], b"ad", &mut buf);
        assert_eq!(sealed[..TAG_LEN], tag);
        assert_eq!(sealed[TAG_LEN..], buf);
        open_in_place(&key, &[1; 16], b"ad", &tag, &mut buf).unwrap();
        assert_eq!(&buf, b"some plaintext");
        let mut bad = sealed[TAG_LEN..].to_vec();
        assert_eq!(
            open_in_place(&key, &[2; 16], b"ad", &tag, &mut bad),
            Err(AeadError::Authentication)
        );
        // An empty plaintext: the tag alone authenticates the headers.
        let tag = seal_in_place(&key, &[1; 16], b"ad", &mut []);
        assert_eq!(open_in_place(&key, &[1; 16], b"ad", &tag, &mut []), Ok(()));
        assert!(open_in_place(&key, &[1; 16], b"da", &tag, &mut []).is_err());
    }

    #[test]
    fn rfc5297_a2_vector() {
        let key = hex("7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f");
        let ad1 =
            hex("00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100");
        let ad2 = hex("102030405060708090a0");
        let nonce = hex("09f911029d74e35bd84156c5635688c0");
        let pt = hex("7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074207573696e67205349562d414553");
        let mut c = Aes128Siv::new_from_slice(&key).unwrap();
        let out = c.encrypt([&ad1[..], &ad2[..], &nonce[..]], &pt).unwrap();
        assert_eq!(
            out,
            hex("7bdb6e3b432667eb06f4d14bff2fbd0fcb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3f748ba8af829ea64ad544a272e9c485b62a3fd5c0d")
        );
    }

    #[test]
    fn seal_open_round_trip_and_refusals() {
        let key = AeadKey::new([7; KEY_LEN]);
        let sealed = seal(&key, b"nonce-0123456789", b"header", b"secret");
        assert_eq!(sealed.len(), 6 + TAG_LEN);
        assert_eq!(
            open(&key, b"nonce-0123456789", b"header", &sealed).unwrap(),
            b"secret"
        );
        assert_eq!(
            open(&key, b"nonce-0123456789", b"headeR", &sealed),
            Err(AeadError::Authentication)
        );
        assert_eq!(
            open(&key, b"nonce-0123456780", b"header", &sealed),
            Err(AeadError::Authentication)
        );
        assert_eq!(
            open(
                &AeadKey::new([8; KEY_LEN]),
                b"nonce-0123456789",
                b"header",
                &sealed
            ),
            Err(AeadError::Authentication)
        );
        assert_eq!(
            open(&key, b"n", b"h", &sealed[..15]),
            Err(AeadError::TooShort { len: 15 })
        );
    }

    #[test]
    fn empty_plaintext_is_a_bare_tag() {
        let key = AeadKey::new([1; KEY_LEN]);
        let sealed = seal(&key, &[0; NONCE_LEN], b"packet", b"");
        assert_eq!(sealed.len(), TAG_LEN);
        assert_eq!(
            open(&key, &[0; NONCE_LEN], b"packet", &sealed).unwrap(),
            b""
        );
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(
            format!("{:?}", AeadKey::new([0xaa; KEY_LEN])),
            "AeadKey(..)"
        );
    }
}
