//! NTS Key Establishment records (RFC 8915 §4).
//!
//! A record is a 16-bit word whose top bit is the critical bit and whose
//! other 15 bits are the record type, a 16-bit body length and the body.
//! A message is a sequence of records ending with End of Message. Decoding
//! takes untrusted octets: every length is checked against what is left,
//! the whole message is bounded by [`MAX_MESSAGE_LEN`] and
//! [`MAX_RECORDS`], and nothing panics.

use thiserror::Error;

/// Largest NTS-KE message accepted or produced, in octets. A reply with
/// eight cookies of a few hundred octets each fits many times over.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;
/// Largest number of records in one message.
pub const MAX_RECORDS: usize = 64;
/// The critical bit of the first word (§4).
pub const CRITICAL_BIT: u16 = 0x8000;
/// Octets of a record's type and length words.
pub const RECORD_HEADER_LEN: usize = 4;

/// Record type numbers (§7.6, "Network Time Security Key Establishment
/// Record Types").
pub mod record_type {
    /// End of Message (§4.1.1).
    pub const END_OF_MESSAGE: u16 = 0;
    /// NTS Next Protocol Negotiation (§4.1.2).
    pub const NEXT_PROTOCOL: u16 = 1;
    /// Error (§4.1.3).
    pub const ERROR: u16 = 2;
    /// Warning (§4.1.4).
    pub const WARNING: u16 = 3;
    /// AEAD Algorithm Negotiation (§4.1.5).
    pub const AEAD_ALGORITHM: u16 = 4;
    /// New Cookie for NTPv4 (§4.1.6).
    pub const NEW_COOKIE: u16 = 5;
    /// NTPv4 Server Negotiation (§4.1.7).
    pub const SERVER: u16 = 6;
    /// NTPv4 Port Negotiation (§4.1.8).
    pub const PORT: u16 = 7;
}

/// Error codes of the Error record (§4.1.3, §7.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// 0: the peer sent a critical record of a type it does not know.
    UnrecognizedCriticalRecord,
    /// 1: the request was malformed.
    BadRequest,
    /// 2: the server could not answer (§7.7, RFC 8915 errata-free text).
    InternalServerError,
    /// Any other code, kept as sent.
    Other(u16),
}

impl ErrorCode {
    /// The code on the wire.
    pub fn code(self) -> u16 {
        match self {
            Self::UnrecognizedCriticalRecord => 0,
            Self::BadRequest => 1,
            Self::InternalServerError => 2,
            Self::Other(c) => c,
        }
    }

    /// The code from the wire.
    pub fn from_code(code: u16) -> Self {
        match code {
            0 => Self::UnrecognizedCriticalRecord,
            1 => Self::BadRequest,
            2 => Self::InternalServerError,
            c => Self::Other(c),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnrecognizedCriticalRecord => f.write_str("unrecognized critical record (0)"),
            Self::BadRequest => f.write_str("bad request (1)"),
            Self::InternalServerError => f.write_str("internal server error (2)"),
            Self::Other(c) => write!(f, "error code {c}"),
        }
    }
}

/// One NTS-KE record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// End of Message: the last record of every message.
    EndOfMessage,
    /// NTS Next Protocol Negotiation: protocol ids (0 = NTPv4).
    NextProtocol(Vec<u16>),
    /// Error: the sender refuses the exchange.
    Error(ErrorCode),
    /// Warning: a condition the receiver may act on.
    Warning(u16),
    /// AEAD Algorithm Negotiation: IANA AEAD ids (15 =
    /// AEAD_AES_SIV_CMAC_256).
    AeadAlgorithm(Vec<u16>),
    /// New Cookie for NTPv4: one opaque cookie.
    NewCookie(Vec<u8>),
    /// NTPv4 Server Negotiation: a host name or address in ASCII.
    Server(String),
    /// NTPv4 Port Negotiation: the UDP port of the NTP server.
    Port(u16),
    /// A record of a type this crate does not know, with the critical bit
    /// clear (a critical one is refused while decoding).
    Unknown {
        /// The record type (15 bits).
        record_type: u16,
        /// The body, verbatim.
        body: Vec<u8>,
    },
}

impl Record {
    /// The record type number.
    pub fn record_type(&self) -> u16 {
        use record_type::*;
        match self {
            Self::EndOfMessage => END_OF_MESSAGE,
            Self::NextProtocol(_) => NEXT_PROTOCOL,
            Self::Error(_) => ERROR,
            Self::Warning(_) => WARNING,
            Self::AeadAlgorithm(_) => AEAD_ALGORITHM,
            Self::NewCookie(_) => NEW_COOKIE,
            Self::Server(_) => SERVER,
            Self::Port(_) => PORT,
            Self::Unknown { record_type, .. } => *record_type,
        }
    }

    /// Whether this crate sets the critical bit when sending the record:
    /// §4.1 makes End of Message, Next Protocol, Error and Warning
    /// critical; the AEAD record is sent critical as chrony and ntpsec do;
    /// cookies, server and port are not.
    pub fn sent_critical(&self) -> bool {
        matches!(
            self,
            Self::EndOfMessage
                | Self::NextProtocol(_)
                | Self::Error(_)
                | Self::Warning(_)
                | Self::AeadAlgorithm(_)
        )
    }

    fn body(&self) -> Vec<u8> {
        fn list(ids: &[u16]) -> Vec<u8> {
            ids.iter().flat_map(|id| id.to_be_bytes()).collect()
        }
        match self {
            Self::EndOfMessage => Vec::new(),
            Self::NextProtocol(ids) | Self::AeadAlgorithm(ids) => list(ids),
            Self::Error(code) => code.code().to_be_bytes().to_vec(),
            Self::Warning(code) => code.to_be_bytes().to_vec(),
            Self::NewCookie(cookie) => cookie.clone(),
            Self::Server(name) => name.as_bytes().to_vec(),
            Self::Port(port) => port.to_be_bytes().to_vec(),
            Self::Unknown { body, .. } => body.clone(),
        }
    }
}

/// Why a message could not be decoded or encoded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RecordError {
    /// The octets end inside a record or before End of Message.
    #[error("NTS-KE message ends after {have} octets, before its End of Message record")]
    Truncated {
        /// Octets received.
        have: usize,
    },
    /// The message is longer than [`MAX_MESSAGE_LEN`].
    #[error("NTS-KE message of at least {len} octets is longer than the {max} allowed")]
    TooLong {
        /// Octets seen so far.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_RECORDS`] records.
    #[error("NTS-KE message has more than {max} records")]
    TooManyRecords {
        /// The limit.
        max: usize,
    },
    /// A record's body has a length its type does not allow.
    #[error("NTS-KE record type {record_type} has a body of {len} octets, which its type does not allow")]
    BodyLength {
        /// The record type.
        record_type: u16,
        /// The body length received.
        len: usize,
    },
    /// A critical record of an unknown type (§4: the receiver must refuse).
    #[error("NTS-KE record type {record_type} is marked critical and is not known")]
    UnrecognizedCritical {
        /// The record type.
        record_type: u16,
    },
    /// Octets follow End of Message.
    #[error("{extra} octets follow the NTS-KE End of Message record")]
    DataAfterEnd {
        /// Octets after the end.
        extra: usize,
    },
    /// A Server Negotiation body that is not printable ASCII.
    #[error("NTS-KE server negotiation record is not printable ASCII")]
    ServerNotAscii,
    /// A message to encode does not end with End of Message, or has it
    /// earlier.
    #[error("an NTS-KE message must end with exactly one End of Message record")]
    MisplacedEnd,
    /// A record body over 65535 octets.
    #[error("NTS-KE record body of {len} octets does not fit the 16-bit length")]
    BodyTooLong {
        /// The body length.
        len: usize,
    },
}

fn word(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// How long the message at the start of `buf` is, once it is all there.
///
/// Returns `Ok(Some(len))` when an End of Message record ends within
/// `buf`, `Ok(None)` when more octets are needed, and an error when the
/// octets so far already break the limits. A stream reader calls this
/// after each read.
pub fn message_len(buf: &[u8]) -> Result<Option<usize>, RecordError> {
    let mut at = 0;
    let mut records = 0;
    loop {
        if at >= MAX_MESSAGE_LEN {
            return Err(RecordError::TooLong {
                len: at,
                max: MAX_MESSAGE_LEN,
            });
        }
        let (Some(first), Some(len)) = (word(buf, at), word(buf, at + 2)) else {
            return Ok(None);
        };
        records += 1;
        if records > MAX_RECORDS {
            return Err(RecordError::TooManyRecords { max: MAX_RECORDS });
        }
        let end = at + RECORD_HEADER_LEN + usize::from(len);
        if end > MAX_MESSAGE_LEN {
            return Err(RecordError::TooLong {
                len: end,
                max: MAX_MESSAGE_LEN,
            });
        }
        if end > buf.len() {
            return Ok(None);
        }
        if first & !CRITICAL_BIT == record_type::END_OF_MESSAGE {
            return Ok(Some(end));
        }
        at = end;
    }
}

fn id_list(record_type: u16, body: &[u8]) -> Result<Vec<u16>, RecordError> {
    if body.len() % 2 != 0 {
        return Err(RecordError::BodyLength {
            record_type,
            len: body.len(),
        });
    }
    Ok(body
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect())
}

fn one_word(record_type: u16, body: &[u8]) -> Result<u16, RecordError> {
    match body {
        [a, b] => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(RecordError::BodyLength {
            record_type,
            len: body.len(),
        }),
    }
}

fn decode_record(first: u16, body: &[u8]) -> Result<Record, RecordError> {
    use record_type::*;
    let critical = first & CRITICAL_BIT != 0;
    let rtype = first & !CRITICAL_BIT;
    Ok(match rtype {
        END_OF_MESSAGE if body.is_empty() => Record::EndOfMessage,
        END_OF_MESSAGE => {
            return Err(RecordError::BodyLength {
                record_type: rtype,
                len: body.len(),
            });
        }
        NEXT_PROTOCOL => Record::NextProtocol(id_list(rtype, body)?),
        ERROR => Record::Error(ErrorCode::from_code(one_word(rtype, body)?)),
        WARNING => Record::Warning(one_word(rtype, body)?),
        AEAD_ALGORITHM => Record::AeadAlgorithm(id_list(rtype, body)?),
        NEW_COOKIE if body.is_empty() => {
            return Err(RecordError::BodyLength {
                record_type: rtype,
                len: 0,
            });
        }
        NEW_COOKIE => Record::NewCookie(body.to_vec()),
        SERVER => {
            if body.is_empty() || !body.iter().all(|b| b.is_ascii_graphic()) {
                return Err(RecordError::ServerNotAscii);
            }
            Record::Server(body.iter().map(|&b| char::from(b)).collect())
        }
        PORT => Record::Port(one_word(rtype, body)?),
        _ if critical => return Err(RecordError::UnrecognizedCritical { record_type: rtype }),
        _ => Record::Unknown {
            record_type: rtype,
            body: body.to_vec(),
        },
    })
}

/// Decodes one whole message: records up to and including End of
/// Message, which must be the last octets of `buf`.
pub fn decode_message(buf: &[u8]) -> Result<Vec<Record>, RecordError> {
    let Some(len) = message_len(buf)? else {
        return Err(RecordError::Truncated { have: buf.len() });
    };
    if len != buf.len() {
        return Err(RecordError::DataAfterEnd {
            extra: buf.len() - len,
        });
    }
    let mut records = Vec::new();
    let mut at = 0;
    while at < len {
        // message_len has checked that every header and body is inside buf.
        let (Some(first), Some(blen)) = (word(buf, at), word(buf, at + 2)) else {
            return Err(RecordError::Truncated { have: buf.len() });
        };
        let start = at + RECORD_HEADER_LEN;
        let end = start + usize::from(blen);
        let body = buf
            .get(start..end)
            .ok_or(RecordError::Truncated { have: buf.len() })?;
        records.push(decode_record(first, body)?);
        at = end;
    }
    Ok(records)
}

/// Encodes a message; `records` must end with [`Record::EndOfMessage`]
/// and hold it only there.
pub fn encode_message(records: &[Record]) -> Result<Vec<u8>, RecordError> {
    let ends = records
        .iter()
        .filter(|r| **r == Record::EndOfMessage)
        .count();
    if ends != 1 || records.last() != Some(&Record::EndOfMessage) {
        return Err(RecordError::MisplacedEnd);
    }
    if records.len() > MAX_RECORDS {
        return Err(RecordError::TooManyRecords { max: MAX_RECORDS });
    }
    let mut out = Vec::new();
    for record in records {
        let body = record.body();
        let blen =
            u16::try_from(body.len()).map_err(|_| RecordError::BodyTooLong { len: body.len() })?;
        let mut first = record.record_type() & !CRITICAL_BIT;
        if record.sent_critical() {
            first |= CRITICAL_BIT;
        }
        out.extend_from_slice(&first.to_be_bytes());
        out.extend_from_slice(&blen.to_be_bytes());
        out.extend_from_slice(&body);
        if out.len() > MAX_MESSAGE_LEN {
            return Err(RecordError::TooLong {
                len: out.len(),
                max: MAX_MESSAGE_LEN,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Record> {
        vec![
            Record::NextProtocol(vec![0]),
            Record::AeadAlgorithm(vec![15]),
            Record::NewCookie(vec![1, 2, 3, 4]),
            Record::Server("ntp.example".into()),
            Record::Port(123),
            Record::Warning(7),
            Record::Unknown {
                record_type: 0x1234,
                body: vec![9],
            },
            Record::EndOfMessage,
        ]
    }

    #[test]
    fn round_trip() {
        let bytes = encode_message(&sample()).unwrap();
        assert_eq!(decode_message(&bytes).unwrap(), sample());
        assert_eq!(message_len(&bytes).unwrap(), Some(bytes.len()));
    }

    #[test]
    fn wire_layout_of_a_client_request() {
        let bytes = encode_message(&[
            Record::NextProtocol(vec![0]),
            Record::AeadAlgorithm(vec![15]),
            Record::EndOfMessage,
        ])
        .unwrap();
        assert_eq!(
            bytes,
            [0x80, 1, 0, 2, 0, 0, 0x80, 4, 0, 2, 0, 15, 0x80, 0, 0, 0]
        );
    }

    #[test]
    fn every_prefix_is_incomplete_and_never_panics() {
        let bytes = encode_message(&sample()).unwrap();
        for cut in 0..bytes.len() {
            assert_eq!(message_len(&bytes[..cut]).unwrap(), None, "cut at {cut}");
            assert_eq!(
                decode_message(&bytes[..cut]),
                Err(RecordError::Truncated { have: cut })
            );
        }
    }

    #[test]
    fn refuses_data_after_end() {
        let mut bytes = encode_message(&[Record::EndOfMessage]).unwrap();
        bytes.push(0);
        assert_eq!(
            decode_message(&bytes),
            Err(RecordError::DataAfterEnd { extra: 1 })
        );
    }

    #[test]
    fn refuses_unknown_critical_record() {
        let bytes = [0x80, 0x55, 0, 0, 0x80, 0, 0, 0];
        assert_eq!(
            decode_message(&bytes),
            Err(RecordError::UnrecognizedCritical { record_type: 0x55 })
        );
    }

    #[test]
    fn refuses_bad_body_lengths() {
        // Next protocol with an odd body, port with three octets, an End of
        // Message with a body, an empty cookie.
        for (bytes, rtype, len) in [
            (vec![0x80, 1, 0, 1, 0, 0x80, 0, 0, 0], 1, 1),
            (vec![0, 7, 0, 3, 0, 1, 2, 0x80, 0, 0, 0], 7, 3),
            (vec![0x80, 0, 0, 1, 0], 0, 1),
            (vec![0, 5, 0, 0, 0x80, 0, 0, 0], 5, 0),
        ] {
            assert_eq!(
                decode_message(&bytes),
                Err(RecordError::BodyLength {
                    record_type: rtype,
                    len
                }),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn refuses_non_ascii_server() {
        let bytes = [0, 6, 0, 2, b'a', 0xff, 0x80, 0, 0, 0];
        assert_eq!(decode_message(&bytes), Err(RecordError::ServerNotAscii));
    }

    #[test]
    fn bounds_total_size_and_record_count() {
        // A record claiming 65535 octets is refused before they arrive.
        assert!(matches!(
            message_len(&[0, 5, 0xff, 0xff]),
            Err(RecordError::TooLong { .. })
        ));
        let many: Vec<u8> = (0..MAX_RECORDS + 1).flat_map(|_| [0, 0x40, 0, 0]).collect();
        assert_eq!(
            message_len(&many),
            Err(RecordError::TooManyRecords { max: MAX_RECORDS })
        );
    }

    #[test]
    fn encode_requires_a_single_final_end() {
        assert_eq!(encode_message(&[]), Err(RecordError::MisplacedEnd));
        assert_eq!(
            encode_message(&[Record::EndOfMessage, Record::Port(1), Record::EndOfMessage]),
            Err(RecordError::MisplacedEnd)
        );
    }

    #[test]
    fn error_codes_round_trip() {
        for code in 0..5 {
            assert_eq!(ErrorCode::from_code(code).code(), code);
        }
    }
}
