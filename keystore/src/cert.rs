//! X.509 host certificates as `ntp-keygen` writes and `ntpd` reads them
//! (brief §7.1–§7.2, RFC 5906 §4 "certificate trail").

use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time, Asn1TimeRef, Asn1Type};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, PKeyRef, Private, Public};
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509Extension, X509Name, X509NameBuilder, X509NameRef, X509};

use crate::der;
use crate::error::{KeyError, Result};
use crate::header;
use crate::pem;

/// DER content octets of OID 1.3.6.1.5.5.7.48.1.11 (`trustRoot`).
pub const OID_TRUST_ROOT: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x0b];
/// DER content octets of OID 1.3.6.1.4 (`private`, the PC scheme).
pub const OID_PRIVATE: &[u8] = &[0x2b, 0x06, 0x01, 0x04];
/// DER content octets of 2.5.29.37 (extendedKeyUsage).
const OID_EKU: &[u8] = &[0x55, 0x1d, 0x25];
/// DER content octets of 2.5.29.14 (subjectKeyIdentifier).
const OID_SKI: &[u8] = &[0x55, 0x1d, 0x0e];
/// DER content octets of 2.5.29.19 (basicConstraints).
const OID_BASIC: &[u8] = &[0x55, 0x1d, 0x13];

/// The extended-key-usage role of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertRole {
    /// No extended-key-usage extension: an ordinary host certificate.
    Plain,
    /// Exactly the `trustRoot` OID (`ntp-keygen -T`): a trusted host.
    TrustRoot,
    /// Exactly the `private` OID (`ntp-keygen -P`): private-certificate scheme.
    Private,
    /// Anything else; the reference grants neither TRUST nor PRIV.
    Other,
}

/// The signature schemes (`ntp-keygen -c`) that work with OpenSSL 3.
/// Each name is the OpenSSL short name of the RSA signature algorithm and
/// appears in the certificate file name (`ntpkey_RSA-MD5cert_<host>`).
pub const SCHEMES: &[&str] = &[
    "RSA-MD5",
    "RSA-SHA1",
    "RSA-SHA224",
    "RSA-SHA256",
    "RSA-SHA384",
    "RSA-SHA512",
    "RSA-RIPEMD160",
];

/// The scheme name for a `-c` argument: one of [`SCHEMES`], or its digest
/// alone (`SHA256` → `RSA-SHA256`), which the reference also accepts.
/// Case-sensitive, as the reference.
pub fn normalise_scheme(arg: &str) -> Option<&'static str> {
    SCHEMES
        .iter()
        .copied()
        .find(|s| *s == arg || s.strip_prefix("RSA-") == Some(arg))
}

/// Digest of a `-c` scheme name (see [`normalise_scheme`]).
pub fn scheme_digest(scheme: &str) -> Option<MessageDigest> {
    MessageDigest::from_name(normalise_scheme(scheme)?.strip_prefix("RSA-")?)
}

/// A host certificate loaded from a key file.
pub struct Certificate {
    /// The decoded certificate.
    pub x509: X509,
    /// DER encoding, as sent in CERT responses.
    pub der: Vec<u8>,
    /// Text after the first `CN=` of the one-line subject, e.g. `alice@grp`.
    pub subject: String,
    /// Same for the issuer.
    pub issuer: String,
    /// Serial number (`ntp-keygen`: NTP seconds at generation).
    pub serial: u64,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// X.509 version field (2 = v3).
    pub version: i32,
    /// Signature algorithm, e.g. `md5WithRSAEncryption`.
    pub signature_nid: Nid,
    /// The digest of the signature algorithm (the Autokey signing digest).
    pub digest: Option<MessageDigest>,
    /// The `-c` scheme name of the signature (`RSA-MD5`, ...).
    pub scheme: String,
    /// trustRoot / private role.
    pub role: CertRole,
    /// basicConstraints CA flag.
    pub is_ca: bool,
    /// subjectKeyIdentifier octets (the GQ public key v when GQ is in use).
    pub subject_key_id: Option<Vec<u8>>,
    /// Filestamp from the first line of the file.
    pub filestamp: u32,
    /// The file it was read from.
    pub path: PathBuf,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("serial", &self.serial)
            .field("scheme", &self.scheme)
            .field("role", &self.role)
            .field("filestamp", &self.filestamp)
            .finish_non_exhaustive()
    }
}

/// The name string the reference uses: everything after the first `CN=` in
/// OpenSSL's `/X=v/CN=v` one-line form.
fn cn_string(name: &X509NameRef) -> Option<String> {
    let mut oneline = String::new();
    for e in name.entries() {
        let sn = e.object().nid().short_name().unwrap_or("UNDEF");
        let v = e.data().to_string().ok()?;
        oneline.push('/');
        oneline.push_str(sn);
        oneline.push('=');
        oneline.push_str(&v);
    }
    let at = oneline.find("CN=")?;
    Some(oneline[at + 3..].to_string())
}

fn unix_time(t: &Asn1TimeRef) -> Option<i64> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

impl Certificate {
    /// Parses a certificate file: header line with the filestamp, then a PEM
    /// `CERTIFICATE` block.
    pub fn from_file_text(path: &Path, text: &str) -> Result<Certificate> {
        let filestamp = header::parse_filestamp(path, text)?;
        let block = pem::blocks(text)
            .into_iter()
            .find(|b| b.label == "CERTIFICATE")
            .ok_or_else(|| KeyError::corrupt(path, "no PEM CERTIFICATE block"))?;
        let x509 = X509::from_pem(block.text.as_bytes())
            .map_err(|e| KeyError::corrupt(path, format!("bad certificate: {e}")))?;
        Certificate::from_x509(path, x509, filestamp)
    }

    /// Extracts the fields of a decoded certificate.
    pub fn from_x509(path: &Path, x509: X509, filestamp: u32) -> Result<Certificate> {
        let bad = |what: &str| KeyError::BadCertificate {
            path: path.to_path_buf(),
            what: what.to_string(),
        };
        let der = x509
            .to_der()
            .map_err(|e| KeyError::corrupt(path, format!("cannot encode certificate: {e}")))?;
        let subject =
            cn_string(x509.subject_name()).ok_or_else(|| bad("certificate subject has no CN"))?;
        let issuer =
            cn_string(x509.issuer_name()).ok_or_else(|| bad("certificate issuer has no CN"))?;
        let serial = x509
            .serial_number()
            .to_bn()
            .ok()
            .and_then(|bn| {
                let v = bn.to_vec();
                (v.len() <= 8).then(|| v.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
            })
            .ok_or_else(|| bad("certificate serial number is not a 64-bit value"))?;
        let not_before = unix_time(x509.not_before()).ok_or_else(|| bad("bad notBefore time"))?;
        let not_after = unix_time(x509.not_after()).ok_or_else(|| bad("bad notAfter time"))?;
        let signature_nid = x509.signature_algorithm().object().nid();
        let digest = signature_nid
            .signature_algorithms()
            .and_then(|a| MessageDigest::from_nid(a.digest));
        let scheme = signature_nid.short_name().unwrap_or("UNDEF").to_string();
        let exts = der::certificate_extensions(&der).ok_or_else(|| bad("malformed extensions"))?;
        let mut role = CertRole::Plain;
        let mut is_ca = false;
        let mut subject_key_id = None;
        for ext in &exts {
            if ext.oid == OID_EKU {
                role = eku_role(ext.value);
            } else if ext.oid == OID_SKI {
                let (t, _) =
                    der::read(ext.value).ok_or_else(|| bad("malformed subjectKeyIdentifier"))?;
                subject_key_id = Some(t.content.to_vec());
            } else if ext.oid == OID_BASIC {
                // SEQUENCE { BOOLEAN cA DEFAULT FALSE, ... }
                is_ca = der::read(ext.value)
                    .and_then(|(seq, _)| der::read(seq.content))
                    .is_some_and(|(b, _)| {
                        b.tag == der::BOOLEAN && b.content.first().is_some_and(|&x| x != 0)
                    });
            }
        }
        Ok(Certificate {
            version: x509.version(),
            x509,
            der,
            subject,
            issuer,
            serial,
            not_before,
            not_after,
            signature_nid,
            digest,
            scheme,
            role,
            is_ca,
            subject_key_id,
            filestamp,
            path: path.to_path_buf(),
        })
    }

    /// The certificate's public key.
    pub fn public_key(&self) -> Result<PKey<Public>> {
        self.x509
            .public_key()
            .map_err(|e| KeyError::corrupt(&self.path, format!("bad public key: {e}")))
    }

    /// Subject equals issuer and the signature verifies with its own key
    /// (the reference requires this of `ntpkey_cert_<host>`).
    pub fn is_self_signed(&self) -> bool {
        self.subject == self.issuer
            && self
                .public_key()
                .ok()
                .and_then(|k| self.x509.verify(&k).ok())
                .unwrap_or(false)
    }

    /// Checks that `key` (the sign key) is the key this certificate carries.
    pub fn check_key(&self, key: &PKeyRef<Private>, key_path: &Path) -> Result<()> {
        let pubkey = self.public_key()?;
        if pubkey.public_eq(key) {
            Ok(())
        } else {
            Err(KeyError::KeyCertMismatch {
                cert: self.path.clone(),
                key: key_path.to_path_buf(),
            })
        }
    }

    /// Structural checks the reference makes on a certificate it loads
    /// (brief §7.2 steps 1–3): a CN in subject and issuer (checked when
    /// parsing), notBefore ≤ notAfter, and a self-signed certificate's
    /// signature verifying with its own key.
    pub fn check_structure(&self) -> Result<()> {
        let bad = |what: &str| KeyError::BadCertificate {
            path: self.path.clone(),
            what: format!("{what}; regenerate it with ntp-keygen"),
        };
        if self.not_before > self.not_after {
            return Err(bad("certificate notBefore is after notAfter"));
        }
        if self.subject == self.issuer && !self.is_self_signed() {
            return Err(bad(
                "self-signed certificate whose signature does not verify",
            ));
        }
        Ok(())
    }

    /// True when `unix` lies within notBefore..=notAfter.
    pub fn is_valid_at(&self, unix: i64) -> bool {
        (self.not_before..=self.not_after).contains(&unix)
    }

    /// The group name: the text after `@` in the subject, if any.
    pub fn group(&self) -> Option<&str> {
        self.subject.split_once('@').map(|(_, g)| g)
    }
}

fn eku_role(value: &[u8]) -> CertRole {
    let oids = der::read(value)
        .filter(|(seq, _)| seq.tag == der::SEQUENCE)
        .and_then(|(seq, _)| der::children(seq.content));
    match oids.as_deref() {
        Some([one]) if one.tag == der::OID && one.content == OID_TRUST_ROOT => CertRole::TrustRoot,
        Some([one]) if one.tag == der::OID && one.content == OID_PRIVATE => CertRole::Private,
        _ => CertRole::Other,
    }
}

/// What to put into a new certificate (`ntp-keygen`, brief §7.1).
pub struct CertificateSpec<'a> {
    /// Subject CN (`host` or `host@group`).
    pub subject: &'a str,
    /// Issuer CN (the subject, for a self-signed certificate).
    pub issuer: &'a str,
    /// Serial number and notBefore, NTP seconds / Unix seconds.
    pub serial: u32,
    /// notBefore of the certificate, Unix seconds; notAfter is this plus `lifetime_days`.
    pub not_before_unix: i64,
    /// Lifetime in days (`-l`).
    pub lifetime_days: u32,
    /// trustRoot (`-T`), private (`-P`) or neither.
    pub role: CertRole,
    /// GQ public key v for the subjectKeyIdentifier.
    pub gq_public: Option<&'a [u8]>,
    /// Signing digest (from the `-c` scheme).
    pub digest: MessageDigest,
}

fn cn_name(cn: &str) -> std::result::Result<X509Name, openssl::error::ErrorStack> {
    let mut b = X509NameBuilder::new()?;
    b.append_entry_by_nid_with_type(Nid::COMMONNAME, cn, Asn1Type::UTF8STRING)?;
    Ok(b.build())
}

fn raw_extension(
    oid: &str,
    critical: bool,
    value: &[u8],
) -> std::result::Result<X509Extension, openssl::error::ErrorStack> {
    let obj = Asn1Object::from_str(oid)?;
    let os = Asn1OctetString::new_from_bytes(value)?;
    X509Extension::new_from_der(&obj, critical, &os)
}

/// Builds and signs a certificate for `subject_key` with `sign_key`.
pub fn build_certificate(
    spec: &CertificateSpec<'_>,
    subject_key: &PKeyRef<Private>,
    sign_key: &PKeyRef<Private>,
) -> std::result::Result<X509, openssl::error::ErrorStack> {
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial_bn = BigNum::from_u32(spec.serial)?;
    let serial = Asn1Integer::from_bn(&serial_bn)?;
    b.set_serial_number(&serial)?;
    let issuer = cn_name(spec.issuer)?;
    b.set_issuer_name(&issuer)?;
    let subject = cn_name(spec.subject)?;
    b.set_subject_name(&subject)?;
    let start = Asn1Time::from_unix(spec.not_before_unix as _)?;
    b.set_not_before(&start)?;
    let end = spec.not_before_unix + i64::from(spec.lifetime_days) * 86_400;
    let end = Asn1Time::from_unix(end as _)?;
    b.set_not_after(&end)?;
    b.set_pubkey(subject_key)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .digital_signature()
            .key_cert_sign()
            .build()?,
    )?;
    if let Some(v) = spec.gq_public {
        b.append_extension(raw_extension(
            "2.5.29.14",
            false,
            &der::encode(der::OCTET_STRING, v),
        )?)?;
    }
    let eku_oid = match spec.role {
        CertRole::TrustRoot => Some(OID_TRUST_ROOT),
        CertRole::Private => Some(OID_PRIVATE),
        CertRole::Plain | CertRole::Other => None,
    };
    if let Some(oid) = eku_oid {
        let value = der::encode(der::SEQUENCE, &der::encode(der::OID, oid));
        b.append_extension(raw_extension("2.5.29.37", false, &value)?)?;
    }
    b.sign(sign_key, spec.digest)?;
    Ok(b.build())
}
