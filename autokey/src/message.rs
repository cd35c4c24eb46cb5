//! Typed Autokey messages (brief §2): every request and response code,
//! parsed from and built into `proto` extension fields, with the
//! per-message length rules of brief §11.3 (rules 4, 6, 7, 9, 10).
//!
//! Signatures are *not* checked here (that needs the peer's key, see
//! [`crate::value::PeerKey`]); the receive engines do it.

use keystore::Scheme;
use proto::exten::{AutokeyCode, AutokeyField, AutokeyHeader, ExtensionField};
use proto::ParseError;

use crate::error::{AutokeyError, Result};
use crate::value::SignedValue;

/// Largest host name in ASSOC (`MAXHOSTNAME`), brief §2.3.
pub const MAX_HOSTNAME: usize = 512;
/// Largest host name when the host has a group (brief §2.3).
pub const MAX_GROUP_HOSTNAME: usize = 256;

/// The Autokey message code of an identity scheme.
pub fn scheme_code(scheme: Scheme) -> AutokeyCode {
    match scheme {
        Scheme::Iff => AutokeyCode::Iff,
        Scheme::Gq => AutokeyCode::Gq,
        Scheme::Mv => AutokeyCode::Mv,
    }
}

/// The identity scheme of a message code.
pub fn code_scheme(code: AutokeyCode) -> Option<Scheme> {
    match code {
        AutokeyCode::Iff => Some(Scheme::Iff),
        AutokeyCode::Gq => Some(Scheme::Gq),
        AutokeyCode::Mv => Some(Scheme::Mv),
        _ => None,
    }
}

/// Autokey values of a key list (brief §2.6, §5.4): the key ID one hash
/// beyond the first key used, and the index of the last list entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AutokeyValues {
    /// The key ID one hash beyond the first key used: the anchor of the key-ID chain (brief §5.6).
    pub key: u32,
    /// Index of the last entry of the key list (the list holds seq + 1 keys).
    pub seq: i32,
}

impl AutokeyValues {
    /// The 8 value octets.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut v = self.key.to_be_bytes().to_vec();
        v.extend_from_slice(&self.seq.to_be_bytes());
        v
    }

    /// Decodes exactly 8 octets (rule 9: the reference forgets to check).
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let w: [u8; 8] = b.try_into().map_err(|_| AutokeyError::ValueLength {
            code: AutokeyCode::Auto,
            got: b.len(),
            min: 8,
            max: 8,
        })?;
        Ok(AutokeyValues {
            key: u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
            seq: i32::from_be_bytes([w[4], w[5], w[6], w[7]]),
        })
    }
}

/// Leap values (brief §2.7): TAI offset, leap era start, expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LeapValues {
    /// TAI − UTC, seconds; all three values are 0 when the sender has no leap table (brief §2.7).
    pub tai_offset: u32,
    /// Start of the current leap era, NTP seconds.
    pub era_start: u32,
    /// Expiry, NTP seconds: the next leap + 7 days if one is scheduled, else era start + 25 days.
    pub expiry: u32,
}

/// `TAI offset 37 s, era start 3692217600, expiry 3960057600` (NTP
/// seconds), or `TAI offset 0 s (no leap table)` when nothing is known.
impl std::fmt::Display for LeapValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TAI offset {} s", self.tai_offset)?;
        if self.expiry == 0 && self.era_start == 0 {
            return f.write_str(" (no leap table)");
        }
        write!(
            f,
            ", era start {}, expiry {} (NTP seconds)",
            self.era_start, self.expiry
        )
    }
}

impl LeapValues {
    /// The 12 value octets.
    pub fn to_bytes(self) -> Vec<u8> {
        [self.tai_offset, self.era_start, self.expiry]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect()
    }

    /// Decodes exactly 12 octets (rule 9).
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        if b.len() != 12 {
            return Err(AutokeyError::ValueLength {
                code: AutokeyCode::Leap,
                got: b.len(),
                min: 12,
                max: 12,
            });
        }
        let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Ok(LeapValues {
            tai_offset: w(0),
            era_start: w(4),
            expiry: w(8),
        })
    }
}

/// A request (R bit clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Own host name; `value.filestamp` is the sender's status word.
    Assoc {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The sender's host name, `host` or `host@group` (its certificate subject).
        host: String,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// The subject name wanted.
    Cert {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The certificate subject asked for.
        subject: String,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// The requester's RSA host public key (PKCS#1 DER).
    Cook {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// 8 octets, no value.
    Auto {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
    },
    /// 8 octets, no value.
    Leap {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
    },
    /// The requester's self-signed certificate (DER).
    Sign {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// An identity challenge.
    Identity {
        /// IFF, GQ or MV (codes 7, 8, 9).
        scheme: Scheme,
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// NULL or an unknown code: answered with an error response.
    Unknown {
        /// The message code as received (0 or above 9).
        code: u8,
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
    },
}

/// A response (R bit set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The responder's host name; `value.filestamp` is its status word.
    Assoc {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The responder's host name, `host` or `host@group`.
        host: String,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// A certificate (DER).
    Cert {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// RSA-OAEP ciphertext of the cookie.
    Cook {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// Autokey values.
    Auto {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The key ID and sequence number decoded from the value.
        values: AutokeyValues,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// Leap values.
    Leap {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The TAI offset, era start and expiry decoded from the value.
        leap: LeapValues,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// A certificate issued by the responder (DER).
    Sign {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// An identity response (DER).
    Identity {
        /// IFF, GQ or MV (codes 7, 8, 9).
        scheme: Scheme,
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
        /// The value structure: timestamp, filestamp, value and signature (brief §1.4).
        value: SignedValue,
    },
    /// 8-octet CERT response: nothing to send yet (brief §2.4).
    EmptyCert {
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
    },
    /// 8-octet error response (R and E set), brief §2.10.
    Error {
        /// The message code of the failed request.
        code: AutokeyCode,
        /// The association ID of the header (brief §2.1).
        assoc_id: u32,
    },
}

/// One Autokey extension field, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request (R bit clear, brief §1.3).
    Request(Request),
    /// A response (R bit set, brief §1.3).
    Response(Response),
}

fn host_name(code: AutokeyCode, b: &[u8]) -> Result<String> {
    if b.is_empty() || b.len() > MAX_HOSTNAME {
        return Err(AutokeyError::ValueLength {
            code,
            got: b.len(),
            min: 1,
            max: MAX_HOSTNAME,
        });
    }
    let s = std::str::from_utf8(b).map_err(|_| AutokeyError::HostName {
        reason: "not UTF-8",
    })?;
    if s.chars().any(|c| c.is_control()) {
        return Err(AutokeyError::HostName {
            reason: "control character",
        });
    }
    Ok(s.to_string())
}

fn require_value(f: &AutokeyField<'_>, dir: &'static str) -> Result<SignedValue> {
    match f.value()? {
        Some(v) => Ok(SignedValue::from_ref(&v)),
        None => Err(AutokeyError::MissingValue {
            code: f.header().code,
            dir,
            len: f.as_bytes().len(),
        }),
    }
}

impl Message {
    /// Parses one whole extension field (exactly `L` octets), brief §1.3,
    /// §1.4, §2 and §11.3 rules 2–4, 6, 7, 9.
    pub fn parse(field: &[u8]) -> Result<Message> {
        let f = AutokeyField::parse(field).map_err(|e| match e {
            ParseError::AutokeyVersion { version } => AutokeyError::Version { version },
            other => AutokeyError::Field(other),
        })?;
        let h = f.header();
        let id = h.association_id;
        if !h.response {
            let req = match h.code {
                AutokeyCode::Assoc => {
                    let value = require_value(&f, "request")?;
                    Request::Assoc {
                        assoc_id: id,
                        host: host_name(h.code, &value.value)?,
                        value,
                    }
                }
                AutokeyCode::Cert => {
                    let value = require_value(&f, "request")?;
                    Request::Cert {
                        assoc_id: id,
                        subject: host_name(h.code, &value.value)?,
                        value,
                    }
                }
                AutokeyCode::Cook => Request::Cook {
                    assoc_id: id,
                    value: require_value(&f, "request")?,
                },
                AutokeyCode::Auto => Request::Auto { assoc_id: id },
                AutokeyCode::Leap => Request::Leap { assoc_id: id },
                AutokeyCode::Sign => Request::Sign {
                    assoc_id: id,
                    value: require_value(&f, "request")?,
                },
                c @ (AutokeyCode::Iff | AutokeyCode::Gq | AutokeyCode::Mv) => Request::Identity {
                    scheme: code_scheme(c).unwrap_or(Scheme::Iff),
                    assoc_id: id,
                    value: require_value(&f, "request")?,
                },
                c @ (AutokeyCode::Null | AutokeyCode::Unknown(_)) => Request::Unknown {
                    code: c.to_u8(),
                    assoc_id: id,
                },
            };
            return Ok(Message::Request(req));
        }
        if h.error {
            return Ok(Message::Response(Response::Error {
                code: h.code,
                assoc_id: id,
            }));
        }
        let resp = match h.code {
            AutokeyCode::Assoc => {
                let value = require_value(&f, "response")?;
                Response::Assoc {
                    assoc_id: id,
                    host: host_name(h.code, &value.value)?,
                    value,
                }
            }
            AutokeyCode::Cert if !f.has_value() => Response::EmptyCert { assoc_id: id },
            AutokeyCode::Cert => Response::Cert {
                assoc_id: id,
                value: require_value(&f, "response")?,
            },
            AutokeyCode::Cook => Response::Cook {
                assoc_id: id,
                value: require_value(&f, "response")?,
            },
            AutokeyCode::Auto => {
                let value = require_value(&f, "response")?;
                Response::Auto {
                    assoc_id: id,
                    values: AutokeyValues::from_bytes(&value.value)?,
                    value,
                }
            }
            AutokeyCode::Leap => {
                let value = require_value(&f, "response")?;
                Response::Leap {
                    assoc_id: id,
                    leap: LeapValues::from_bytes(&value.value)?,
                    value,
                }
            }
            AutokeyCode::Sign => Response::Sign {
                assoc_id: id,
                value: require_value(&f, "response")?,
            },
            c @ (AutokeyCode::Iff | AutokeyCode::Gq | AutokeyCode::Mv) => Response::Identity {
                scheme: code_scheme(c).unwrap_or(Scheme::Iff),
                assoc_id: id,
                value: require_value(&f, "response")?,
            },
            AutokeyCode::Null | AutokeyCode::Unknown(_) => {
                return Err(AutokeyError::UnknownCode {
                    code: h.code.to_u8(),
                })
            }
        };
        Ok(Message::Response(resp))
    }

    /// The message code.
    pub fn code(&self) -> AutokeyCode {
        match self {
            Message::Request(r) => r.code(),
            Message::Response(r) => r.code(),
        }
    }

    /// The association ID in the header.
    pub fn assoc_id(&self) -> u32 {
        match self {
            Message::Request(r) => r.assoc_id(),
            Message::Response(r) => r.assoc_id(),
        }
    }

    /// Builds the extension field.
    pub fn to_field(&self) -> Result<ExtensionField> {
        let (header, value) = match self {
            Message::Request(r) => (AutokeyHeader::request(r.code(), r.assoc_id()), r.value()),
            Message::Response(Response::Error { code, assoc_id }) => {
                (AutokeyHeader::error_response(*code, *assoc_id), None)
            }
            Message::Response(r) => (AutokeyHeader::response(r.code(), r.assoc_id()), r.value()),
        };
        let v = value.map(SignedValue::as_ref);
        ExtensionField::new_autokey(header, v.as_ref()).map_err(|e| AutokeyError::Crypto {
            context: "building extension field",
            detail: e.to_string(),
        })
    }
}

impl Request {
    /// The message code.
    pub fn code(&self) -> AutokeyCode {
        match self {
            Request::Assoc { .. } => AutokeyCode::Assoc,
            Request::Cert { .. } => AutokeyCode::Cert,
            Request::Cook { .. } => AutokeyCode::Cook,
            Request::Auto { .. } => AutokeyCode::Auto,
            Request::Leap { .. } => AutokeyCode::Leap,
            Request::Sign { .. } => AutokeyCode::Sign,
            Request::Identity { scheme, .. } => scheme_code(*scheme),
            Request::Unknown { code, .. } => AutokeyCode::from_u8(*code),
        }
    }

    /// Association ID.
    pub fn assoc_id(&self) -> u32 {
        match self {
            Request::Assoc { assoc_id, .. }
            | Request::Cert { assoc_id, .. }
            | Request::Cook { assoc_id, .. }
            | Request::Auto { assoc_id }
            | Request::Leap { assoc_id }
            | Request::Sign { assoc_id, .. }
            | Request::Identity { assoc_id, .. }
            | Request::Unknown { assoc_id, .. } => *assoc_id,
        }
    }

    /// The value structure, if the message has one.
    pub fn value(&self) -> Option<&SignedValue> {
        match self {
            Request::Assoc { value, .. }
            | Request::Cert { value, .. }
            | Request::Cook { value, .. }
            | Request::Sign { value, .. }
            | Request::Identity { value, .. } => Some(value),
            Request::Auto { .. } | Request::Leap { .. } | Request::Unknown { .. } => None,
        }
    }
}

impl Response {
    /// The message code.
    pub fn code(&self) -> AutokeyCode {
        match self {
            Response::Assoc { .. } => AutokeyCode::Assoc,
            Response::Cert { .. } | Response::EmptyCert { .. } => AutokeyCode::Cert,
            Response::Cook { .. } => AutokeyCode::Cook,
            Response::Auto { .. } => AutokeyCode::Auto,
            Response::Leap { .. } => AutokeyCode::Leap,
            Response::Sign { .. } => AutokeyCode::Sign,
            Response::Identity { scheme, .. } => scheme_code(*scheme),
            Response::Error { code, .. } => *code,
        }
    }

    /// Association ID.
    pub fn assoc_id(&self) -> u32 {
        match self {
            Response::Assoc { assoc_id, .. }
            | Response::Cert { assoc_id, .. }
            | Response::Cook { assoc_id, .. }
            | Response::Auto { assoc_id, .. }
            | Response::Leap { assoc_id, .. }
            | Response::Sign { assoc_id, .. }
            | Response::Identity { assoc_id, .. }
            | Response::EmptyCert { assoc_id }
            | Response::Error { assoc_id, .. } => *assoc_id,
        }
    }

    /// The value structure, if the message has one.
    pub fn value(&self) -> Option<&SignedValue> {
        match self {
            Response::Assoc { value, .. }
            | Response::Cert { value, .. }
            | Response::Cook { value, .. }
            | Response::Auto { value, .. }
            | Response::Leap { value, .. }
            | Response::Sign { value, .. }
            | Response::Identity { value, .. } => Some(value),
            Response::EmptyCert { .. } | Response::Error { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn brief_assoc_request_round_trips() {
        // brief §13.2
        let raw = hex(
            "02 01 00 1c 00 00 38 12 00 00 00 00 00 08 00 01 00 00 00 03 63 6c 69 00 00 00 00 00",
        );
        let m = Message::parse(&raw).unwrap();
        match &m {
            Message::Request(Request::Assoc {
                assoc_id,
                host,
                value,
            }) => {
                assert_eq!(*assoc_id, 0x3812);
                assert_eq!(host, "cli");
                assert_eq!(value.filestamp, 0x0008_0001);
                assert_eq!(value.timestamp, 0);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m.to_field().unwrap().as_bytes(), &raw[..]);
    }

    #[test]
    fn eight_octet_messages() {
        let leap = hex("02 05 00 08 00 00 26 0d");
        assert_eq!(
            Message::parse(&leap).unwrap(),
            Message::Request(Request::Leap { assoc_id: 9741 })
        );
        let err = hex("c2 03 00 08 00 00 26 0d");
        let m = Message::parse(&err).unwrap();
        assert_eq!(
            m,
            Message::Response(Response::Error {
                code: AutokeyCode::Cook,
                assoc_id: 9741
            })
        );
        assert_eq!(m.to_field().unwrap().as_bytes(), &err[..]);
        let empty = hex("82 02 00 08 00 00 26 0d");
        assert_eq!(
            Message::parse(&empty).unwrap(),
            Message::Response(Response::EmptyCert { assoc_id: 9741 })
        );
        // An 8-octet COOK response is not acceptable (rule 4).
        let bad = hex("82 03 00 08 00 00 26 0d");
        assert!(matches!(
            Message::parse(&bad),
            Err(AutokeyError::MissingValue { .. })
        ));
        // Unknown response codes are protocol errors; requests are answered.
        assert_eq!(
            Message::parse(&hex("82 0a 00 08 00 00 00 01")),
            Err(AutokeyError::UnknownCode { code: 10 })
        );
        assert_eq!(
            Message::parse(&hex("02 00 00 08 00 00 00 01")).unwrap(),
            Message::Request(Request::Unknown {
                code: 0,
                assoc_id: 1
            })
        );
    }

    #[test]
    fn must_reject_rules() {
        // version 3
        assert_eq!(
            Message::parse(&hex("03 05 00 08 00 00 00 01")),
            Err(AutokeyError::Version { version: 3 })
        );
        // AUTO response with vallen 4 (rule 9)
        let auto = hex(
            "82 04 00 1c 00 00 00 01 00 00 00 05 00 00 00 01 00 00 00 04 00 00 00 01 00 00 00 00",
        );
        assert!(matches!(
            Message::parse(&auto),
            Err(AutokeyError::ValueLength { got: 4, .. })
        ));
        // LEAP response vallen 8
        let leap = hex("82 05 00 20 00 00 00 01 00 00 00 05 00 00 00 01 00 00 00 08 00 00 00 01 00 00 00 00 00 00 00 00");
        assert!(matches!(
            Message::parse(&leap),
            Err(AutokeyError::ValueLength { got: 8, .. })
        ));
        // vallen overruns the field (rule 3)
        let over = hex("82 01 00 18 00 00 00 01 00 00 00 05 00 00 00 01 00 00 00 09 00 00 00 00");
        assert!(matches!(Message::parse(&over), Err(AutokeyError::Field(_))));
        // empty host name
        let zero = hex("02 01 00 18 00 00 00 01 00 00 00 00 00 08 00 01 00 00 00 00 00 00 00 00");
        assert!(Message::parse(&zero).is_err());
        // truncated field
        assert!(Message::parse(&hex("02 01 00 1c 00 00")).is_err());
    }

    #[test]
    fn typed_values_round_trip() {
        let a = AutokeyValues {
            key: 0xc570f3dc,
            seq: 99,
        };
        assert_eq!(AutokeyValues::from_bytes(&a.to_bytes()).unwrap(), a);
        let l = LeapValues {
            tai_offset: 37,
            era_start: 1,
            expiry: 2,
        };
        assert_eq!(LeapValues::from_bytes(&l.to_bytes()).unwrap(), l);
    }
}
