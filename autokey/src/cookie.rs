//! Cookie encryption and decryption (brief §2.5, §11.3 rule 8):
//! RSA-OAEP (SHA-1, MGF1-SHA-1, empty label) of the 4-octet big-endian
//! cookie under the requester's RSA host key.

use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa};

use crate::error::{AutokeyError, Result};

/// Encrypts `cookie` to the public key in a COOK request value
/// (PKCS#1 `RSAPublicKey` DER). A value that does not parse as an RSA
/// public key is `XEVNT_PUB`.
pub fn encrypt_cookie(public_key_der: &[u8], cookie: u32) -> Result<Vec<u8>> {
    let rsa =
        Rsa::public_key_from_der_pkcs1(public_key_der).map_err(|e| AutokeyError::PublicKey {
            reason: format!("COOK request value is not an RSAPublicKey: {e}"),
        })?;
    let mut out = vec![0u8; rsa.size() as usize];
    let n = rsa
        .public_encrypt(&cookie.to_be_bytes(), &mut out, Padding::PKCS1_OAEP)
        .map_err(|e| AutokeyError::PublicKey {
            reason: format!("cannot encrypt to this key: {e}"),
        })?;
    out.truncate(n);
    Ok(out)
}

/// Decrypts a COOK response value with the host key: the ciphertext must
/// be exactly the modulus size and the plaintext exactly 4 octets.
pub fn decrypt_cookie(host_key: &PKey<Private>, ciphertext: &[u8]) -> Result<u32> {
    let rsa = host_key
        .rsa()
        .map_err(|e| AutokeyError::crypto("host key", e))?;
    let size = rsa.size() as usize;
    if ciphertext.len() != size {
        return Err(AutokeyError::Cookie {
            reason: format!(
                "ciphertext of {} octets, host key modulus is {size}",
                ciphertext.len()
            ),
        });
    }
    let mut out = vec![0u8; size];
    let n = rsa
        .private_decrypt(ciphertext, &mut out, Padding::PKCS1_OAEP)
        .map_err(|_| AutokeyError::Cookie {
            reason: "OAEP decryption failed".into(),
        })?;
    match out.get(..n) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(AutokeyError::Cookie {
            reason: format!("plaintext of {n} octets, expected 4"),
        }),
    }
}
