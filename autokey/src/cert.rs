//! Certificates on the wire (brief §7): parsing and the must-reject rules
//! of §11.3 rule 11, the client's trail to a trusted certificate (§7.3)
//! and the server side of SIGN (§7.4).

use std::path::Path;

use keystore::cert::CertRole;
use keystore::Certificate;
use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::BigNum;
use openssl::x509::{X509Builder, X509Extension, X509};

use crate::error::{AutokeyError, Result};
use crate::status::digest_for_nid;
use crate::value::{PeerKey, Signer};

/// Unix → NTP seconds offset.
pub const JAN_1970: i64 = 2_208_988_800;
/// Validity of certificates issued by SIGN (`YEAR`).
pub const YEAR: i64 = 31_536_000;

fn crt(reason: impl Into<String>) -> AutokeyError {
    AutokeyError::Certificate {
        reason: reason.into(),
    }
}

/// Parses a DER certificate received in a CERT or SIGN response whose
/// value carried filestamp `fs` (NTP seconds) and applies rule 11: DER,
/// CN present, sane validity, notBefore ≤ notAfter, not retroactive
/// (notBefore ≥ filestamp), self-signed ones verify, and a non-self-signed
/// one is not issued by `own_name` (trail loop).
pub fn parse_certificate(der: &[u8], fs: u32, own_name: &str) -> Result<Certificate> {
    let x509 = X509::from_der(der).map_err(|e| crt(format!("DER does not parse: {e}")))?;
    // Re-encoding must give the same octets: no trailing garbage.
    if x509.to_der().ok().as_deref() != Some(der) {
        return Err(crt(
            "trailing or non-canonical octets after the certificate",
        ));
    }
    let cert =
        Certificate::from_x509(Path::new("<network>"), x509, fs).map_err(|e| crt(e.to_string()))?;
    if cert.not_before > cert.not_after {
        return Err(crt("notBefore is after notAfter"));
    }
    if cert.not_before + JAN_1970 < i64::from(fs) {
        return Err(crt("certificate is older than its filestamp (retroactive)"));
    }
    if cert.subject == cert.issuer {
        if !cert.is_self_signed() {
            return Err(AutokeyError::CertificateVerify {
                subject: cert.subject.clone(),
                issuer: cert.issuer.clone(),
            });
        }
    } else if cert.issuer == own_name {
        return Err(crt(format!(
            "certificate trail loop: {} issued by us",
            cert.subject
        )));
    }
    Ok(cert)
}

/// The verifier for signatures made with a certificate's key: its public
/// key and the digest of its signature algorithm.
pub fn peer_key(cert: &Certificate) -> Result<PeerKey> {
    let key = cert.public_key().map_err(|e| AutokeyError::PublicKey {
        reason: e.to_string(),
    })?;
    let digest = digest_for_nid(cert.signature_nid.as_raw() as u32)?;
    Ok(PeerKey::new(key, digest))
}

/// Where a trail stands after a certificate was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailStep {
    /// Ask for the issuer next.
    Continue,
    /// A self-signed certificate that is not trusted: the trail cannot
    /// complete (the reference keeps asking forever).
    Untrusted,
    /// Reached a trusted self-signed certificate.
    Complete,
}

/// The client's certificate trail (brief §7.3).
#[derive(Debug)]
pub struct Trail {
    own_name: String,
    issuer: String,
    last: Option<Certificate>,
    server_key: Option<PeerKey>,
    trusted: Option<Certificate>,
    certs: Vec<(String, String, u8)>,
}

impl Trail {
    /// Starts at the server's host name (from ASSOC).
    pub fn new(server_name: &str, own_name: &str) -> Self {
        Trail {
            own_name: own_name.to_string(),
            issuer: server_name.to_string(),
            last: None,
            server_key: None,
            trusted: None,
            certs: Vec::new(),
        }
    }

    /// The subject to request next.
    pub fn next_subject(&self) -> &str {
        &self.issuer
    }

    /// The server's key (from the first certificate received).
    pub fn server_key(&self) -> Option<&PeerKey> {
        self.server_key.as_ref()
    }

    /// The certificate accepted last.
    pub fn last_accepted(&self) -> Option<&Certificate> {
        self.trusted.as_ref().or(self.last.as_ref())
    }

    /// The trusted certificate at the end of the trail.
    pub fn trusted(&self) -> Option<&Certificate> {
        self.trusted.as_ref()
    }

    /// (subject, issuer, flags) of every certificate accepted, for
    /// `ntpq rv 0 cert` (flags: TRUST 0x1, SIGN 0x2, VALID 0x4).
    pub fn certificates(&self) -> &[(String, String, u8)] {
        &self.certs
    }

    /// Accepts the certificate of a CERT response (value filestamp `fs`).
    pub fn accept(&mut self, der: &[u8], fs: u32) -> Result<TrailStep> {
        let cert = parse_certificate(der, fs, &self.own_name)?;
        let key = peer_key(&cert)?;
        if let Some(prev) = &self.last {
            let ok = prev
                .x509
                .verify(key.key())
                .map_err(|e| AutokeyError::crypto("certificate verify", e))?;
            if !ok {
                return Err(AutokeyError::CertificateVerify {
                    subject: prev.subject.clone(),
                    issuer: cert.subject.clone(),
                });
            }
            if prev.not_before < cert.not_before || prev.not_before > cert.not_after {
                return Err(AutokeyError::CertificatePeriod {
                    subject: prev.subject.clone(),
                });
            }
            if let Some(e) = self.certs.last_mut() {
                e.2 |= 0x2;
            }
        }
        if self.server_key.is_none() {
            self.server_key = Some(key);
        }
        let self_signed = cert.subject == cert.issuer;
        let trusted = cert.role == CertRole::TrustRoot;
        self.issuer = cert.issuer.clone();
        self.certs.push((
            cert.subject.clone(),
            cert.issuer.clone(),
            0x4 | u8::from(self_signed && trusted),
        ));
        if self_signed {
            if trusted {
                self.trusted = Some(cert);
                return Ok(TrailStep::Complete);
            }
            self.last = Some(cert);
            return Ok(TrailStep::Untrusted);
        }
        self.last = Some(cert);
        Ok(TrailStep::Continue)
    }
}

fn oid_text(content: &[u8]) -> Option<String> {
    let (&first, rest) = content.split_first()?;
    let mut parts = vec![u64::from(first / 40), u64::from(first % 40)];
    let mut acc: u64 = 0;
    for &b in rest {
        acc = acc.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            parts.push(acc);
            acc = 0;
        }
    }
    Some(
        parts
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// Issues a certificate for a SIGN request (brief §7.4): version, subject,
/// public key and all extensions copied from the request; serial =
/// notBefore = now; one year of validity; issuer = our subject; signed
/// with our sign key and digest. `signer_cert` must be valid at `now`
/// (else `XEVNT_PER`).
pub fn issue_certificate(
    request_der: &[u8],
    signer: &Signer,
    signer_cert: &Certificate,
    now_ntp: u32,
) -> Result<Vec<u8>> {
    let now_unix = i64::from(now_ntp) - JAN_1970;
    if now_unix < signer_cert.not_before || now_unix > signer_cert.not_after {
        return Err(AutokeyError::CertificatePeriod {
            subject: signer_cert.subject.clone(),
        });
    }
    let req = X509::from_der(request_der).map_err(|e| crt(format!("SIGN request: {e}")))?;
    let pubkey = req.public_key().map_err(|e| AutokeyError::PublicKey {
        reason: e.to_string(),
    })?;
    let c = |e| AutokeyError::crypto("issuing certificate", e);
    let mut b = X509Builder::new().map_err(c)?;
    b.set_version(req.version()).map_err(c)?;
    let serial_bn = BigNum::from_u32(now_ntp).map_err(c)?;
    let serial = Asn1Integer::from_bn(&serial_bn).map_err(c)?;
    b.set_serial_number(&serial).map_err(c)?;
    b.set_subject_name(req.subject_name()).map_err(c)?;
    b.set_issuer_name(signer_cert.x509.subject_name())
        .map_err(c)?;
    let not_before = Asn1Time::from_unix(now_unix as _).map_err(c)?;
    b.set_not_before(&not_before).map_err(c)?;
    let not_after = Asn1Time::from_unix((now_unix + YEAR) as _).map_err(c)?;
    b.set_not_after(&not_after).map_err(c)?;
    b.set_pubkey(&pubkey).map_err(c)?;
    for ext in keystore::der::certificate_extensions(request_der).unwrap_or_default() {
        let oid = oid_text(ext.oid).ok_or_else(|| crt("bad extension OID"))?;
        let obj = Asn1Object::from_str(&oid).map_err(c)?;
        let os = Asn1OctetString::new_from_bytes(ext.value).map_err(c)?;
        let e = X509Extension::new_from_der(&obj, ext.critical, &os).map_err(c)?;
        b.append_extension(e).map_err(c)?;
    }
    b.sign(signer.key(), signer.digest()).map_err(c)?;
    b.build().to_der().map_err(c)
}

/// Checks a SIGN response (brief §2.8, §11.3 rule 11): the issued
/// certificate parses, carries our subject and public key, is issued by
/// the server and verifies with the server's key.
pub fn check_signed_certificate(
    der: &[u8],
    fs: u32,
    own: &Certificate,
    server_name: &str,
    server_key: &PeerKey,
) -> Result<Certificate> {
    let x509 = X509::from_der(der).map_err(|e| crt(format!("DER does not parse: {e}")))?;
    let cert =
        Certificate::from_x509(Path::new("<network>"), x509, fs).map_err(|e| crt(e.to_string()))?;
    if cert.subject != own.subject {
        return Err(crt(format!(
            "SIGN response is for {}, not {}",
            cert.subject, own.subject
        )));
    }
    if cert.issuer != server_name {
        return Err(crt(format!(
            "SIGN response issued by {}, not {server_name}",
            cert.issuer
        )));
    }
    let ours = own.public_key().map_err(|e| crt(e.to_string()))?;
    let theirs = cert.public_key().map_err(|e| crt(e.to_string()))?;
    if !ours.public_eq(&theirs) {
        return Err(crt("SIGN response carries another public key"));
    }
    if !cert.x509.verify(server_key.key()).unwrap_or(false) {
        return Err(AutokeyError::CertificateVerify {
            subject: cert.subject.clone(),
            issuer: cert.issuer.clone(),
        });
    }
    if cert.not_before > cert.not_after {
        return Err(crt("notBefore is after notAfter"));
    }
    Ok(cert)
}
