//! The protocol events an association records for the `cryptostats` file
//! (reference ntp.conf(5) "Monitoring Support"; RFC 5906 §10): one record
//! per accepted Autokey response or refused field, whose
//! [`Display`](std::fmt::Display) is the message part of the reference's
//! cryptostats line (the daemon adds `MJD SECONDS ADDRESS`).

use std::fmt;

use keystore::Scheme;

use crate::error::AutokeyError;
use crate::message::LeapValues;

/// A certificate as the cryptostats `cert` and `sign` lines name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRecord {
    /// Subject host name.
    pub subject: String,
    /// Issuer host name.
    pub issuer: String,
    /// The certificate cache flags after it was installed (`CERT_*`, brief §7.2).
    pub flags: u8,
    /// The signature algorithm's long name (`md5WithRSAEncryption`).
    pub signature: String,
    /// Its OpenSSL NID (8 for md5WithRSAEncryption).
    pub nid: i32,
    /// The response's filestamp, NTP seconds.
    pub filestamp: u32,
}

/// One cryptostats event of an association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoRecord {
    /// ASSOC response: the server's name and signature (RFC 5906 §10.1).
    Assoc {
        /// Our association ID.
        assoc_id: u32,
        /// The association ID in the field.
        field_assoc: u32,
        /// The server's host name.
        server: String,
        /// The signature algorithm its status word names (`md5WithRSAEncryption`).
        signature: String,
    },
    /// CERT response: a certificate of the trail accepted (§10.2).
    Cert(CertRecord),
    /// IFF/GQ/MV response verified (§10.3–10.5).
    Identity {
        /// The scheme that verified.
        scheme: Scheme,
        /// The server's host name.
        server: String,
        /// The response's filestamp (the group key's), NTP seconds.
        filestamp: u32,
    },
    /// COOKIE response: the cookie installed (§10.6).
    Cookie {
        /// The cookie.
        cookie: u32,
        /// The response's timestamp, NTP seconds.
        timestamp: u32,
        /// The response's filestamp, NTP seconds.
        filestamp: u32,
    },
    /// SIGN response: our certificate signed by the server (§10.8).
    Sign(CertRecord),
    /// LEAP response: the leap values (§10.9).
    Leap {
        /// TAI offset, leap epoch and expiry.
        values: LeapValues,
        /// The response's filestamp, NTP seconds.
        filestamp: u32,
    },
    /// A field refused (the reference's `crypto_recv` error line).
    Error {
        /// The field's type word (flags, version, code, length).
        type_word: u32,
        /// The field's association ID.
        assoc_id: u32,
        /// The reference's event code (`0x100 | XEVNT_*`).
        code: u16,
    },
}

/// The reference's crypto event names (ntpq/ntpd `crypto_codes`), by
/// `XEVNT_*` number.
const EVENT_NAMES: [&str; 16] = [
    "success",
    "bad_field_format_or_length",
    "bad_timestamp",
    "bad_filestamp",
    "bad_or_missing_public_key",
    "unsupported_digest_type",
    "unsupported_identity_type",
    "bad_signature_length",
    "signature_not_verified",
    "certificate_not_verified",
    "host_certificate_expired",
    "bad_or_missing_cookie",
    "bad_or_missing_leapseconds",
    "bad_or_missing_certificate",
    "bad_or_missing_group key",
    "protocol_error",
];

/// The reference's crypto event code (`0x100 | XEVNT_*`) of an error.
pub fn event_code(e: &AutokeyError) -> u16 {
    use AutokeyError as E;
    let n = match e {
        E::Field(_)
        | E::ValueLength { .. }
        | E::MissingValue { .. }
        | E::UnexpectedValue { .. } => 1,
        E::ZeroTimestamp { .. } | E::Timestamp { .. } => 2,
        E::Filestamp { .. } => 3,
        E::PublicKey { .. } => 4,
        E::Digest { .. } => 5,
        E::Scheme { .. } => 6,
        E::SignatureLength { .. } => 7,
        E::BadSignature { .. } | E::Unsigned { .. } => 8,
        E::CertificateVerify { .. } => 9,
        E::CertificatePeriod { .. } => 10,
        E::Cookie { .. } => 11,
        E::Certificate { .. } => 13,
        E::Identity { .. }
        | E::IdentityFormat { .. }
        | E::MissingGroupKey { .. }
        | E::NoChallenge { .. } => 14,
        _ => 15,
    };
    0x100 | n
}

/// `iff`, `gq`, `mv`.
fn scheme_word(s: Scheme) -> &'static str {
    match s {
        Scheme::Iff => "iff",
        Scheme::Gq => "gq",
        Scheme::Mv => "mv",
    }
}

impl fmt::Display for CertRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} 0x{:x} {} ({}) fs {}",
            self.subject, self.issuer, self.flags, self.signature, self.nid, self.filestamp
        )
    }
}

impl fmt::Display for CryptoRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoRecord::Assoc {
                assoc_id,
                field_assoc,
                server,
                signature,
            } => write!(
                f,
                "assoc {assoc_id} {field_assoc} host {server} {signature}"
            ),
            CryptoRecord::Cert(c) => write!(f, "cert {c}"),
            CryptoRecord::Identity {
                scheme,
                server,
                filestamp,
            } => write!(f, "{} {server} fs {filestamp}", scheme_word(*scheme)),
            CryptoRecord::Cookie {
                cookie,
                timestamp,
                filestamp,
            } => write!(f, "cook {cookie:x} ts {timestamp} fs {filestamp}"),
            CryptoRecord::Sign(c) => write!(f, "sign {c}"),
            CryptoRecord::Leap { values, filestamp } => write!(
                f,
                "leap TAI offset {} at {} expire {} fs {filestamp}",
                values.tai_offset, values.era_start, values.expiry
            ),
            CryptoRecord::Error {
                type_word,
                assoc_id,
                code,
            } => {
                let name = EVENT_NAMES
                    .get(usize::from(code & 0xff))
                    .copied()
                    .unwrap_or("protocol_error");
                write!(f, "{type_word:08x} {assoc_id} {code:02x} {name}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's lines (tests/data/autokey-ref/runs/iff/bob and
    /// iff-keygen-files/bob cryptostats) from the same values.
    #[test]
    fn lines_read_as_the_reference_writes_them() {
        let assoc = CryptoRecord::Assoc {
            assoc_id: 32249,
            field_assoc: 32249,
            server: "alice".into(),
            signature: "md5WithRSAEncryption".into(),
        };
        assert_eq!(
            assoc.to_string(),
            "assoc 32249 32249 host alice md5WithRSAEncryption"
        );
        let cert = |subject: &str, flags| CertRecord {
            subject: subject.into(),
            issuer: "alice".into(),
            flags,
            signature: "md5WithRSAEncryption".into(),
            nid: 8,
            filestamp: 4004757732,
        };
        assert_eq!(
            CryptoRecord::Cert(cert("alice", 5)).to_string(),
            "cert alice alice 0x5 md5WithRSAEncryption (8) fs 4004757732"
        );
        let mut signed = cert("bob", 4);
        signed.filestamp = 4004757740;
        assert_eq!(
            CryptoRecord::Sign(signed).to_string(),
            "sign bob alice 0x4 md5WithRSAEncryption (8) fs 4004757740"
        );
        let id = CryptoRecord::Identity {
            scheme: Scheme::Iff,
            server: "alice".into(),
            filestamp: 4004757732,
        };
        assert_eq!(id.to_string(), "iff alice fs 4004757732");
        let cook = CryptoRecord::Cookie {
            cookie: 0x24788d,
            timestamp: 4004758373,
            filestamp: 4004758323,
        };
        assert_eq!(cook.to_string(), "cook 24788d ts 4004758373 fs 4004758323");
        let leap = CryptoRecord::Leap {
            values: LeapValues::default(),
            filestamp: 4004757732,
        };
        assert_eq!(
            leap.to_string(),
            "leap TAI offset 0 at 0 expire 0 fs 4004757732"
        );
        let err = CryptoRecord::Error {
            type_word: 0x8207_0084,
            assoc_id: 18178,
            code: 0x10e,
        };
        assert_eq!(
            err.to_string(),
            "82070084 18178 10e bad_or_missing_group key"
        );
    }
}
