//! Typed Autokey errors and the reference's event codes (brief §2.11,
//! §11.3).
//!
//! Every must-reject rule of brief §11.3 has its own [`AutokeyError`]
//! variant. [`AutokeyError::event`] maps each one to the `XEVNT_*` code the
//! reference would report (cryptostats, mode-6 traps), and
//! [`AutokeyError::restarts`] tells the engines whether the error is a
//! protocol error (restart the association, brief §2.10) or just drops the
//! packet.

use proto::exten::AutokeyCode;
use thiserror::Error;

/// The reference's Autokey event codes (`0x100 | n`), brief §2.11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Xevnt {
    /// 0x100 success.
    Ok = 0x100,
    /// 0x101 bad field format or length.
    Len = 0x101,
    /// 0x102 bad timestamp.
    Tsp = 0x102,
    /// 0x103 bad filestamp.
    Fsp = 0x103,
    /// 0x104 bad or missing public key.
    Pub = 0x104,
    /// 0x105 unsupported digest type.
    Md = 0x105,
    /// 0x106 unsupported identity type.
    Key = 0x106,
    /// 0x107 bad signature length.
    Sgl = 0x107,
    /// 0x108 signature not verified.
    Sig = 0x108,
    /// 0x109 certificate not verified.
    Vfy = 0x109,
    /// 0x10a host certificate expired.
    Per = 0x10a,
    /// 0x10b bad or missing cookie.
    Cky = 0x10b,
    /// 0x10c bad or missing leapseconds.
    Dat = 0x10c,
    /// 0x10d bad or missing certificate.
    Crt = 0x10d,
    /// 0x10e bad or missing group key.
    Id = 0x10e,
    /// 0x10f protocol error.
    Err = 0x10f,
}

impl Xevnt {
    /// The numeric code (`0x100 | n`).
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The reference's text (as in cryptostats).
    pub const fn text(self) -> &'static str {
        match self {
            Xevnt::Ok => "success",
            Xevnt::Len => "bad_field_format_or_length",
            Xevnt::Tsp => "bad_timestamp",
            Xevnt::Fsp => "bad_filestamp",
            Xevnt::Pub => "bad_or_missing_public_key",
            Xevnt::Md => "unsupported_digest_type",
            Xevnt::Key => "unsupported_identity_type",
            Xevnt::Sgl => "bad_signature_length",
            Xevnt::Sig => "signature_not_verified",
            Xevnt::Vfy => "certificate_not_verified",
            Xevnt::Per => "host_certificate_expired",
            Xevnt::Cky => "bad_or_missing_cookie",
            Xevnt::Dat => "bad_or_missing_leapseconds",
            Xevnt::Crt => "bad_or_missing_certificate",
            Xevnt::Id => "bad_or_missing_group key",
            Xevnt::Err => "protocol_error",
        }
    }
}

/// Why an Autokey field, value, key or proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AutokeyError {
    /// Framing, header or value-structure checks of `proto` failed
    /// (brief §11.3 rules 1–3).
    #[error("malformed Autokey field: {0}")]
    Field(#[from] proto::ParseError),
    /// A field whose version is not 2 (rule 2): protocol error.
    #[error("Autokey field version {version}, expected 2")]
    Version {
        /// The version field of the header.
        version: u8,
    },
    /// A response with the E bit set (brief §2.10).
    #[error("{} error response from the peer", code_name(*.code))]
    ErrorResponse {
        /// The message code of the error response.
        code: AutokeyCode,
    },
    /// A code outside 1..=9 (brief §2.2, NULL row).
    #[error("unknown Autokey message code {code}")]
    UnknownCode {
        /// The code as received (0 or 10..=255).
        code: u8,
    },
    /// A message that needs a value structure came without one (rule 4).
    #[error("{} {dir} of {len} octets has no value structure (needs at least 24)", code_name(*.code))]
    MissingValue {
        /// The message code.
        code: AutokeyCode,
        /// "request" or "response".
        dir: &'static str,
        /// Length of the field, octets.
        len: usize,
    },
    /// An 8-octet message (AUTO/LEAP request) came with a value.
    #[error("{} request must be 8 octets, got {len}", code_name(*.code))]
    UnexpectedValue {
        /// AUTO or LEAP.
        code: AutokeyCode,
        /// Length of the field, octets.
        len: usize,
    },
    /// Wrong association ID in a response (rule 4, brief §2.1).
    #[error("association ID {got} in {} response, expected {expected}", code_name(*.code))]
    AssociationId {
        /// The message code of the response.
        code: AutokeyCode,
        /// The association ID we sent.
        expected: u32,
        /// The association ID in the response.
        got: u32,
    },
    /// `vallen` outside what this message allows (rules 6–9).
    #[error("{} value of {got} octets, allowed {min}..={max}", code_name(*.code))]
    ValueLength {
        /// The message code.
        code: AutokeyCode,
        /// `vallen` as received, octets.
        got: usize,
        /// Smallest length allowed, octets.
        min: usize,
        /// Largest length allowed, octets.
        max: usize,
    },
    /// A host name that is not printable ASCII / UTF-8 or lacks the group
    /// (rule 6).
    #[error("bad host name in ASSOC: {reason}")]
    HostName {
        /// What is wrong with the name.
        reason: &'static str,
    },
    /// A signed message without signature (rule 4).
    #[error("{} response is not signed", code_name(*.code))]
    Unsigned {
        /// The message code.
        code: AutokeyCode,
    },
    /// Signature length differs from the verifying key's size (rule 4).
    #[error("signature of {got} octets, the key signs {expected}")]
    SignatureLength {
        /// Signature size of the verifying key, octets.
        expected: usize,
        /// `siglen` as received, octets.
        got: usize,
    },
    /// The signature does not verify.
    #[error("{} signature does not verify", code_name(*.code))]
    BadSignature {
        /// The message code.
        code: AutokeyCode,
    },
    /// `ts == 0` (sender unsynchronised), rule 5.
    #[error("{} value has timestamp 0 (sender not synchronised)", code_name(*.code))]
    ZeroTimestamp {
        /// The message code.
        code: AutokeyCode,
    },
    /// `ts < fs`, or not monotonic against the stored values (rule 5).
    #[error("{} timestamp {ts} / filestamp {fs} not monotonic (reference ts {ref_ts}, fs {ref_fs})", code_name(*.code))]
    Timestamp {
        /// The message code.
        code: AutokeyCode,
        /// Timestamp of the received value, NTP seconds.
        ts: u32,
        /// Filestamp of the received value, NTP seconds.
        fs: u32,
        /// Timestamp of the value stored before, NTP seconds.
        ref_ts: u32,
        /// Filestamp of the value stored before, NTP seconds.
        ref_fs: u32,
    },
    /// Filestamp relation of an identity response fails (brief §6.1).
    #[error(
        "{scheme} response filestamp {got} does not match the filestamp {local} of our {scheme} parameters: they are another group's or another generation's key; install the server's current group key"
    )]
    Filestamp {
        /// IFF, GQ or MV.
        scheme: &'static str,
        /// Filestamp in the response, NTP seconds.
        got: u32,
        /// Filestamp of our parameter file, NTP seconds.
        local: u32,
    },
    /// The signature NID has no usable digest (brief §7.5).
    #[error("signature algorithm NID {nid} maps to no usable digest")]
    Digest {
        /// The signature NID, bits 31..16 of the peer status word (brief §3).
        nid: u32,
    },
    /// A public key that does not parse or is not RSA.
    #[error("bad or missing public key: {reason}")]
    PublicKey {
        /// Why the key was refused.
        reason: String,
    },
    /// Cookie ciphertext or plaintext of the wrong size (rule 8).
    #[error("bad cookie: {reason}")]
    Cookie {
        /// What is wrong with the cookie.
        reason: String,
    },
    /// Certificate rejected (rule 11).
    #[error("certificate rejected: {reason}")]
    Certificate {
        /// Why the certificate was refused.
        reason: String,
    },
    /// A certificate in the trail does not verify with its issuer's key.
    #[error("certificate {subject} does not verify with the key of {issuer}")]
    CertificateVerify {
        /// Subject CN of the certificate.
        subject: String,
        /// Issuer CN whose key does not verify it.
        issuer: String,
    },
    /// A certificate is outside its validity period (or its issuer's).
    #[error("certificate {subject} outside its validity period")]
    CertificatePeriod {
        /// Subject CN of the certificate.
        subject: String,
    },
    /// Malformed DER in an identity response (rule 10).
    #[error("malformed identity response: {reason}")]
    IdentityFormat {
        /// What is malformed.
        reason: &'static str,
    },
    /// The identity proof does not verify (brief §6).
    #[error("{scheme} identity not verified: the server's proof does not match our {scheme} parameters (another group's key, or parameters from before the server's keys were regenerated); install the server's current group key")]
    Identity {
        /// IFF, GQ or MV.
        scheme: &'static str,
    },
    /// Identity keys missing (e.g. no GQ public key in the certificate).
    #[error("{scheme}: bad or missing group key")]
    MissingGroupKey {
        /// IFF, GQ or MV.
        scheme: &'static str,
    },
    /// A response arrived but no challenge is outstanding (rule 10).
    #[error("{scheme} response without an outstanding challenge")]
    NoChallenge {
        /// IFF, GQ or MV.
        scheme: &'static str,
    },
    /// Identity scheme not available / inconsistent (brief §2.3 step 3–4).
    #[error("identity scheme mismatch: {reason}")]
    Scheme {
        /// What does not match.
        reason: &'static str,
    },
    /// Key ID in the wrong space for this association (rule 13).
    #[error("key ID {key_id:#010x} not allowed for this association")]
    KeySpace {
        /// The key ID of the packet's MAC.
        key_id: u32,
    },
    /// A session-key MAC that does not verify.
    #[error("MAC with key ID {key_id:#010x} does not verify")]
    BadMac {
        /// The key ID of the packet's MAC.
        key_id: u32,
    },
    /// The packet is not authenticated as required (rule 13, CVE-2015-1798).
    #[error("packet has no Autokey MAC")]
    NoMac,
    /// Source and destination of a session key differ in family.
    #[error("session key addresses of different families")]
    AddressFamily,
    /// Key-ID chain check failed (brief §5.6 step 4).
    #[error("key ID {key_id:#010x} does not hash to the last accepted key or the AUTO anchor")]
    KeyChain {
        /// The key ID of the packet's MAC.
        key_id: u32,
    },
    /// A message that makes no sense in the current state.
    #[error("unexpected {} {dir}: {reason}", code_name(*.code))]
    Unexpected {
        /// The message code.
        code: AutokeyCode,
        /// "request" or "response".
        dir: &'static str,
        /// Why it is out of place.
        reason: &'static str,
    },
    /// The local host cannot sign (not synchronised) or lacks keys.
    #[error("cannot build {}: {reason}", code_name(*.code))]
    NotReady {
        /// The message code that could not be built.
        code: AutokeyCode,
        /// What is missing.
        reason: &'static str,
    },
    /// The fields and MAC do not fit the datagram buffer.
    #[error("datagram of {needed} octets does not fit its {available}-octet buffer")]
    DatagramTooLong {
        /// Octets the datagram needs.
        needed: usize,
        /// Octets the buffer has.
        available: usize,
    },
    /// A crypto library failure.
    #[error("crypto library failure in {context}: {detail}")]
    Crypto {
        /// The operation that failed, e.g. "building extension field".
        context: &'static str,
        /// The OpenSSL error text.
        detail: String,
    },
}

impl AutokeyError {
    /// Wraps an OpenSSL error.
    pub fn crypto(context: &'static str, e: openssl::error::ErrorStack) -> Self {
        AutokeyError::Crypto {
            context,
            detail: e.to_string(),
        }
    }

    /// The reference event code for this error (brief §2.11).
    pub fn event(&self) -> Xevnt {
        use AutokeyError as E;
        match self {
            E::Field(_) | E::MissingValue { .. } | E::UnexpectedValue { .. } => Xevnt::Len,
            E::ValueLength { .. } | E::HostName { .. } | E::IdentityFormat { .. } => Xevnt::Len,
            E::Version { .. } | E::ErrorResponse { .. } | E::UnknownCode { .. } => Xevnt::Err,
            E::AssociationId { .. } | E::Unexpected { .. } => Xevnt::Err,
            E::Unsigned { .. } | E::SignatureLength { .. } => Xevnt::Sgl,
            E::BadSignature { .. } => Xevnt::Sig,
            E::ZeroTimestamp { .. } | E::Timestamp { .. } => Xevnt::Tsp,
            E::Filestamp { .. } => Xevnt::Fsp,
            E::Digest { .. } => Xevnt::Md,
            E::PublicKey { .. } => Xevnt::Pub,
            E::Cookie { .. } => Xevnt::Cky,
            E::Certificate { .. } => Xevnt::Crt,
            E::CertificateVerify { .. } => Xevnt::Vfy,
            E::CertificatePeriod { .. } => Xevnt::Per,
            E::Identity { .. } | E::NoChallenge { .. } | E::MissingGroupKey { .. } => Xevnt::Id,
            E::Scheme { .. } => Xevnt::Key,
            E::KeySpace { .. } | E::BadMac { .. } | E::NoMac | E::AddressFamily => Xevnt::Err,
            E::KeyChain { .. } => Xevnt::Err,
            E::NotReady { .. } => Xevnt::Tsp,
            E::Crypto { .. } | E::DatagramTooLong { .. } => Xevnt::Err,
        }
    }

    /// True for protocol errors that restart the association (brief §2.10,
    /// §4.5): error responses, unknown codes, bad versions, wrong
    /// association IDs. Every other error just drops the packet.
    pub fn restarts(&self) -> bool {
        matches!(
            self,
            AutokeyError::Version { .. }
                | AutokeyError::ErrorResponse { .. }
                | AutokeyError::UnknownCode { .. }
                | AutokeyError::AssociationId { .. }
        )
    }
}

/// The message name an operator reads in the reference's documentation
/// (`ASSOC`, `CERT`, `COOK`, ...; brief §2.2).
pub fn code_name(code: AutokeyCode) -> String {
    match code {
        AutokeyCode::Null => "NULL".into(),
        AutokeyCode::Assoc => "ASSOC".into(),
        AutokeyCode::Cert => "CERT".into(),
        AutokeyCode::Cook => "COOK".into(),
        AutokeyCode::Auto => "AUTO".into(),
        AutokeyCode::Leap => "LEAP".into(),
        AutokeyCode::Sign => "SIGN".into(),
        AutokeyCode::Iff => "IFF".into(),
        AutokeyCode::Gq => "GQ".into(),
        AutokeyCode::Mv => "MV".into(),
        AutokeyCode::Unknown(n) => format!("code {n}"),
    }
}

/// Result alias.
pub type Result<T, E = AutokeyError> = std::result::Result<T, E>;
