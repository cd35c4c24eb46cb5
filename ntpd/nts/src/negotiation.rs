//! What an NTS-KE client asks and what the server answers (RFC 8915 §4.1).
//!
//! The client offers NTPv4 (protocol id 0) and AEAD_AES_SIV_CMAC_256
//! (algorithm 15). The server answers with the protocol and algorithm it
//! picked, up to eight cookies, optionally the NTP server and port to use,
//! and End of Message; or with an Error record.

use thiserror::Error;

use crate::keys::{AEAD_AES_SIV_CMAC_256, PROTOCOL_NTPV4};
use crate::record::{self, ErrorCode, Record, RecordError};

/// Cookies a server sends in one NTS-KE response (§4.1.6 suggests eight).
pub const COOKIES_PER_RESPONSE: usize = 8;
/// Largest cookie a client accepts (a cookie is echoed in every request;
/// a huge one could not fit a datagram).
pub const MAX_COOKIE_LEN: usize = 1024;

/// The client's request: NTPv4 and AES-SIV-CMAC-256, End of Message.
pub fn client_request() -> Vec<u8> {
    record::encode_message(&[
        Record::NextProtocol(vec![PROTOCOL_NTPV4]),
        Record::AeadAlgorithm(vec![AEAD_AES_SIV_CMAC_256]),
        Record::EndOfMessage,
    ])
    .unwrap_or_else(|_| unreachable!("a three-record request always encodes"))
}

/// What a server's response gives the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeResponse {
    /// The cookies, in the order sent.
    pub cookies: Vec<Vec<u8>>,
    /// The NTP server to use, if not the NTS-KE server's own address.
    pub server: Option<String>,
    /// The NTP port to use, if not 123.
    pub port: Option<u16>,
}

/// Why a server's response was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KeResponseError {
    /// The octets are not a well-formed message.
    #[error("malformed NTS-KE response: {0}")]
    Record(#[from] RecordError),
    /// The server sent an Error record.
    #[error("NTS-KE server refused the request: {0}")]
    ServerError(ErrorCode),
    /// No Next Protocol record, or not exactly NTPv4.
    #[error("NTS-KE server did not select NTPv4 as next protocol")]
    NoNtpv4,
    /// No AEAD record, or not AES-SIV-CMAC-256.
    #[error("NTS-KE server did not select AEAD_AES_SIV_CMAC_256")]
    NoAead,
    /// A record that may appear once appeared twice.
    #[error("NTS-KE response repeats record type {record_type}")]
    Repeated {
        /// The record type.
        record_type: u16,
    },
    /// No usable cookie.
    #[error("NTS-KE response carries no cookie")]
    NoCookies,
    /// A cookie too large to echo in a request.
    #[error("NTS-KE cookie of {len} octets is longer than the {max} accepted")]
    CookieTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Reads a server's response to [`client_request`].
pub fn parse_response(message: &[u8]) -> Result<KeResponse, KeResponseError> {
    let records = record::decode_message(message)?;
    let mut protocol = None;
    let mut aead = None;
    let mut response = KeResponse {
        cookies: Vec::new(),
        server: None,
        port: None,
    };
    for r in records {
        let repeated = Err(KeResponseError::Repeated {
            record_type: r.record_type(),
        });
        match r {
            Record::Error(code) => return Err(KeResponseError::ServerError(code)),
            Record::NextProtocol(ids) => {
                if protocol.replace(ids).is_some() {
                    return repeated;
                }
            }
            Record::AeadAlgorithm(ids) => {
                if aead.replace(ids).is_some() {
                    return repeated;
                }
            }
            Record::NewCookie(c) if c.len() > MAX_COOKIE_LEN => {
                return Err(KeResponseError::CookieTooLong {
                    len: c.len(),
                    max: MAX_COOKIE_LEN,
                });
            }
            Record::NewCookie(c) => response.cookies.push(c),
            Record::Server(s) => {
                if response.server.replace(s).is_some() {
                    return repeated;
                }
            }
            Record::Port(p) => {
                if response.port.replace(p).is_some() {
                    return repeated;
                }
            }
            Record::Warning(_) | Record::Unknown { .. } | Record::EndOfMessage => {}
        }
    }
    if protocol.as_deref() != Some(&[PROTOCOL_NTPV4][..]) {
        return Err(KeResponseError::NoNtpv4);
    }
    if aead.as_deref() != Some(&[AEAD_AES_SIV_CMAC_256][..]) {
        return Err(KeResponseError::NoAead);
    }
    if response.cookies.is_empty() {
        return Err(KeResponseError::NoCookies);
    }
    Ok(response)
}

/// Why a server refuses a client's request; each maps to the Error record
/// it answers with ([`KeRequestError::error_code`]).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KeRequestError {
    /// The octets are not a well-formed message.
    #[error("malformed NTS-KE request: {0}")]
    Record(RecordError),
    /// A critical record of an unknown type.
    #[error("NTS-KE request has unknown critical record type {record_type}")]
    UnrecognizedCritical {
        /// The record type.
        record_type: u16,
    },
    /// No Next Protocol record, or NTPv4 not in it.
    #[error("NTS-KE request does not offer NTPv4")]
    NoNtpv4,
    /// No AEAD record, or AES-SIV-CMAC-256 not in it.
    #[error("NTS-KE request does not offer AEAD_AES_SIV_CMAC_256")]
    NoAead,
    /// A record the client must not send (Error, cookies) or sent twice.
    #[error(
        "NTS-KE request carries record type {record_type}, which a client must not send there"
    )]
    Unexpected {
        /// The record type.
        record_type: u16,
    },
}

impl KeRequestError {
    /// The Error record code to answer with (§4.1.3).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::UnrecognizedCritical { .. } => ErrorCode::UnrecognizedCriticalRecord,
            _ => ErrorCode::BadRequest,
        }
    }
}

impl From<RecordError> for KeRequestError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::UnrecognizedCritical { record_type } => {
                Self::UnrecognizedCritical { record_type }
            }
            other => Self::Record(other),
        }
    }
}

/// Checks a client's request. On success the server uses NTPv4 and
/// AEAD_AES_SIV_CMAC_256, the only pair this crate implements.
pub fn parse_request(message: &[u8]) -> Result<(), KeRequestError> {
    let records = record::decode_message(message)?;
    let mut protocol = None;
    let mut aead = None;
    for r in records {
        let unexpected = Err(KeRequestError::Unexpected {
            record_type: r.record_type(),
        });
        match r {
            Record::NextProtocol(ids) => {
                if protocol.replace(ids).is_some() {
                    return unexpected;
                }
            }
            Record::AeadAlgorithm(ids) => {
                if aead.replace(ids).is_some() {
                    return unexpected;
                }
            }
            Record::Error(_) | Record::NewCookie(_) => return unexpected,
            // A client may suggest a server or port; this server ignores it.
            Record::Server(_)
            | Record::Port(_)
            | Record::Warning(_)
            | Record::Unknown { .. }
            | Record::EndOfMessage => {}
        }
    }
    if !protocol.is_some_and(|p| p.contains(&PROTOCOL_NTPV4)) {
        return Err(KeRequestError::NoNtpv4);
    }
    if !aead.is_some_and(|a| a.contains(&AEAD_AES_SIV_CMAC_256)) {
        return Err(KeRequestError::NoAead);
    }
    Ok(())
}

/// The server's answer carrying `cookies`, and the NTP server and port
/// when configured.
pub fn server_response(
    cookies: Vec<Vec<u8>>,
    server: Option<String>,
    port: Option<u16>,
) -> Result<Vec<u8>, RecordError> {
    let mut records = vec![
        Record::NextProtocol(vec![PROTOCOL_NTPV4]),
        Record::AeadAlgorithm(vec![AEAD_AES_SIV_CMAC_256]),
    ];
    records.extend(cookies.into_iter().map(Record::NewCookie));
    records.extend(server.map(Record::Server));
    records.extend(port.map(Record::Port));
    records.push(Record::EndOfMessage);
    record::encode_message(&records)
}

/// The server's refusal: an Error record and End of Message (§4.1.3).
pub fn error_response(code: ErrorCode) -> Vec<u8> {
    record::encode_message(&[Record::Error(code), Record::EndOfMessage])
        .unwrap_or_else(|_| unreachable!("a two-record message always encodes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip() {
        assert_eq!(parse_request(&client_request()), Ok(()));
    }

    #[test]
    fn response_round_trip() {
        let bytes = server_response(
            vec![vec![1; 100], vec![2; 100]],
            Some("10.0.0.1".into()),
            Some(1123),
        )
        .unwrap();
        let r = parse_response(&bytes).unwrap();
        assert_eq!(r.cookies, [vec![1; 100], vec![2; 100]]);
        assert_eq!(r.server.as_deref(), Some("10.0.0.1"));
        assert_eq!(r.port, Some(1123));
    }

    fn msg(records: &[Record]) -> Vec<u8> {
        record::encode_message(records).unwrap()
    }

    #[test]
    fn client_refuses_bad_responses() {
        use Record::*;
        let cases: [(Vec<Record>, KeResponseError); 6] = [
            (
                vec![Error(ErrorCode::BadRequest), EndOfMessage],
                KeResponseError::ServerError(ErrorCode::BadRequest),
            ),
            (
                vec![AeadAlgorithm(vec![15]), NewCookie(vec![1]), EndOfMessage],
                KeResponseError::NoNtpv4,
            ),
            (
                vec![
                    NextProtocol(vec![0]),
                    AeadAlgorithm(vec![30]),
                    NewCookie(vec![1]),
                    EndOfMessage,
                ],
                KeResponseError::NoAead,
            ),
            (
                vec![NextProtocol(vec![0]), AeadAlgorithm(vec![15]), EndOfMessage],
                KeResponseError::NoCookies,
            ),
            (
                vec![NextProtocol(vec![0]), NextProtocol(vec![0]), EndOfMessage],
                KeResponseError::Repeated { record_type: 1 },
            ),
            (
                vec![
                    NextProtocol(vec![0]),
                    AeadAlgorithm(vec![15]),
                    NewCookie(vec![0; 1025]),
                    EndOfMessage,
                ],
                KeResponseError::CookieTooLong {
                    len: 1025,
                    max: MAX_COOKIE_LEN,
                },
            ),
        ];
        for (records, want) in cases {
            assert_eq!(parse_response(&msg(&records)), Err(want));
        }
        assert!(matches!(
            parse_response(&[0, 1]),
            Err(KeResponseError::Record(_))
        ));
    }

    #[test]
    fn server_refuses_bad_requests_with_the_right_code() {
        use Record::*;
        let no_ntp = msg(&[NextProtocol(vec![7]), AeadAlgorithm(vec![15]), EndOfMessage]);
        assert_eq!(parse_request(&no_ntp), Err(KeRequestError::NoNtpv4));
        let no_aead = msg(&[
            NextProtocol(vec![0]),
            AeadAlgorithm(vec![1, 2]),
            EndOfMessage,
        ]);
        assert_eq!(parse_request(&no_aead), Err(KeRequestError::NoAead));
        let missing = msg(&[NextProtocol(vec![0]), EndOfMessage]);
        assert_eq!(parse_request(&missing), Err(KeRequestError::NoAead));
        let cookie = msg(&[NextProtocol(vec![0]), NewCookie(vec![1]), EndOfMessage]);
        assert_eq!(
            parse_request(&cookie),
            Err(KeRequestError::Unexpected { record_type: 5 })
        );
        let critical = [0x80, 0x42, 0, 0, 0x80, 0, 0, 0];
        let e = parse_request(&critical).unwrap_err();
        assert_eq!(
            e,
            KeRequestError::UnrecognizedCritical { record_type: 0x42 }
        );
        assert_eq!(e.error_code(), ErrorCode::UnrecognizedCriticalRecord);
        assert_eq!(KeRequestError::NoAead.error_code(), ErrorCode::BadRequest);
    }

    #[test]
    fn error_response_parses_as_a_refusal() {
        assert_eq!(
            parse_response(&error_response(ErrorCode::InternalServerError)),
            Err(KeResponseError::ServerError(ErrorCode::InternalServerError))
        );
    }
}
