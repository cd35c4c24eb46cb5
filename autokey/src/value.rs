//! Signed value structures (brief §1.4): the owned form of proto's
//! [`AutokeyValue`], signing and verification over exactly
//! `timestamp ‖ filestamp ‖ vallen ‖ value` (field octets `[8, 20+vallen)`),
//! with the digest bound to the signer's certificate (brief §7.5).

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::sign::{Signer as OsslSigner, Verifier as OsslVerifier};
use proto::exten::{AutokeyCode, AutokeyValue};

use crate::error::{AutokeyError, Result};

/// An owned value structure.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SignedValue {
    /// NTP seconds when signed (0 = sender unsynchronised).
    pub timestamp: u32,
    /// Filestamp (or the status word in ASSOC).
    pub filestamp: u32,
    /// The value octets, unpadded.
    pub value: Vec<u8>,
    /// The signature octets, unpadded (empty = unsigned).
    pub signature: Vec<u8>,
}

impl std::fmt::Debug for SignedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedValue")
            .field("timestamp", &self.timestamp)
            .field("filestamp", &self.filestamp)
            .field("vallen", &self.value.len())
            .field("siglen", &self.signature.len())
            .finish()
    }
}

impl SignedValue {
    /// An unsigned value.
    pub fn unsigned(timestamp: u32, filestamp: u32, value: Vec<u8>) -> Self {
        SignedValue {
            timestamp,
            filestamp,
            value,
            signature: Vec::new(),
        }
    }

    /// Copies a parsed value.
    pub fn from_ref(v: &AutokeyValue<'_>) -> Self {
        SignedValue {
            timestamp: v.timestamp,
            filestamp: v.filestamp,
            value: v.value.to_vec(),
            signature: v.signature.to_vec(),
        }
    }

    /// Borrowed view for encoding.
    pub fn as_ref(&self) -> AutokeyValue<'_> {
        AutokeyValue {
            timestamp: self.timestamp,
            filestamp: self.filestamp,
            value: &self.value,
            signature: &self.signature,
        }
    }

    /// The octets covered by the signature.
    pub fn signed_bytes(&self) -> Vec<u8> {
        self.as_ref().signed_bytes()
    }

    /// Signs `ts ‖ fs ‖ vallen ‖ value` with `signer`. With `ts == 0` (host
    /// never synchronised) the value goes out unsigned, as the reference
    /// does (brief §2.2).
    pub fn signed(timestamp: u32, filestamp: u32, value: Vec<u8>, signer: &Signer) -> Result<Self> {
        let mut v = SignedValue::unsigned(timestamp, filestamp, value);
        if timestamp != 0 {
            v.signature = signer.sign(&v.signed_bytes())?;
        }
        Ok(v)
    }
}

/// The local sign key and the digest of the local certificate's signature
/// algorithm.
#[derive(Clone)]
pub struct Signer {
    key: PKey<Private>,
    digest: MessageDigest,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({} bits)", self.key.bits())
    }
}

impl Signer {
    /// A signer from the sign key and the certificate's digest.
    pub fn new(key: PKey<Private>, digest: MessageDigest) -> Self {
        Signer { key, digest }
    }

    /// Signature size in octets (modulus size for RSA).
    pub fn size(&self) -> usize {
        self.key.size()
    }

    /// The digest.
    pub fn digest(&self) -> MessageDigest {
        self.digest
    }

    /// The private key.
    pub fn key(&self) -> &PKey<Private> {
        &self.key
    }

    /// An `EVP_Sign`-style signature (PKCS#1 v1.5 for RSA).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut s = OsslSigner::new(self.digest, &self.key)
            .map_err(|e| AutokeyError::crypto("signer", e))?;
        s.update(data)
            .map_err(|e| AutokeyError::crypto("signer", e))?;
        s.sign_to_vec()
            .map_err(|e| AutokeyError::crypto("signer", e))
    }

    /// The verifier for our own signatures (PC scheme, tests).
    pub fn verifier(&self) -> Result<PeerKey> {
        let der = self
            .key
            .public_key_to_der()
            .map_err(|e| AutokeyError::crypto("public key", e))?;
        let key =
            PKey::public_key_from_der(&der).map_err(|e| AutokeyError::crypto("public key", e))?;
        Ok(PeerKey::new(key, self.digest))
    }
}

/// A peer's public key with the digest bound to its certificate; verifies
/// the peer's signed values.
#[derive(Clone)]
pub struct PeerKey {
    key: PKey<Public>,
    digest: MessageDigest,
}

impl std::fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerKey({} bits)", self.key.bits())
    }
}

impl PeerKey {
    /// From a public key and the digest of its certificate.
    pub fn new(key: PKey<Public>, digest: MessageDigest) -> Self {
        PeerKey { key, digest }
    }

    /// The public key.
    pub fn key(&self) -> &PKey<Public> {
        &self.key
    }

    /// The digest.
    pub fn digest(&self) -> MessageDigest {
        self.digest
    }

    /// Verifies a signed value of message `code` (brief §1.4, §11.3 rule
    /// 4–5): signed, `siglen` equal to the key size, `ts != 0`, `ts >= fs`,
    /// and the signature over the exact byte range.
    pub fn verify(&self, code: AutokeyCode, v: &SignedValue) -> Result<()> {
        check_timestamps(code, v)?;
        self.verify_signature(code, v)
    }

    /// The signature check alone.
    pub fn verify_signature(&self, code: AutokeyCode, v: &SignedValue) -> Result<()> {
        if v.signature.is_empty() {
            return Err(AutokeyError::Unsigned { code });
        }
        let expected = self.key.size();
        if v.signature.len() != expected {
            return Err(AutokeyError::SignatureLength {
                expected,
                got: v.signature.len(),
            });
        }
        let mut ver = OsslVerifier::new(self.digest, &self.key)
            .map_err(|e| AutokeyError::crypto("verifier", e))?;
        ver.update(&v.signed_bytes())
            .map_err(|e| AutokeyError::crypto("verifier", e))?;
        match ver.verify(&v.signature) {
            Ok(true) => Ok(()),
            _ => Err(AutokeyError::BadSignature { code }),
        }
    }
}

/// The always-applied timestamp checks (brief §5.6, §11.3 rule 5):
/// `ts != 0` and `ts >= fs`.
pub fn check_timestamps(code: AutokeyCode, v: &SignedValue) -> Result<()> {
    if v.timestamp == 0 {
        return Err(AutokeyError::ZeroTimestamp { code });
    }
    if v.timestamp < v.filestamp {
        return Err(AutokeyError::Timestamp {
            code,
            ts: v.timestamp,
            fs: v.filestamp,
            ref_ts: 0,
            ref_fs: 0,
        });
    }
    Ok(())
}

/// The monotonic checks against a stored value (brief §5.6): when the
/// stored values are non-zero, `ts >= stored ts`, `ts >= stored fs` and
/// `fs >= stored fs`.
pub fn check_monotonic(
    code: AutokeyCode,
    v: &SignedValue,
    stored: Option<(u32, u32)>,
) -> Result<()> {
    check_timestamps(code, v)?;
    if let Some((rts, rfs)) = stored {
        if rts != 0 && (v.timestamp < rts || v.timestamp < rfs || v.filestamp < rfs) {
            return Err(AutokeyError::Timestamp {
                code,
                ts: v.timestamp,
                fs: v.filestamp,
                ref_ts: rts,
                ref_fs: rfs,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(ts: u32, fs: u32) -> SignedValue {
        SignedValue::unsigned(ts, fs, vec![0; 8])
    }

    #[test]
    fn timestamp_rules() {
        let code = AutokeyCode::Auto;
        assert!(matches!(
            check_timestamps(code, &v(0, 0)),
            Err(AutokeyError::ZeroTimestamp { .. })
        ));
        assert!(matches!(
            check_timestamps(code, &v(5, 6)),
            Err(AutokeyError::Timestamp { .. })
        ));
        check_timestamps(code, &v(6, 6)).unwrap();
        // Monotonic against the stored (ts, fs) of the last AUTO values: a
        // replayed older value is refused, a newer one accepted.
        let stored = Some((100, 50));
        assert!(matches!(
            check_monotonic(code, &v(99, 50), stored),
            Err(AutokeyError::Timestamp { .. })
        ));
        assert!(matches!(
            check_monotonic(code, &v(120, 49), stored),
            Err(AutokeyError::Timestamp { .. })
        ));
        check_monotonic(code, &v(100, 50), stored).unwrap();
        check_monotonic(code, &v(200, 60), stored).unwrap();
        // Nothing stored yet: only the basic rules.
        check_monotonic(code, &v(1, 1), None).unwrap();
        check_monotonic(code, &v(1, 1), Some((0, 0))).unwrap();
    }
}
