//! The 12-octet mode 6 control header (RFC 9327 §2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |LI | VN  |Mode |R|E|M| Opcode  |         Sequence Number       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            Status             |        Association ID         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            Offset             |             Count             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::error::ControlError;

/// Length of the control header in octets (RFC 9327 §2).
pub const HEADER_LEN: usize = 12;
/// Most data octets the reference ntpd puts in one fragment, and the most a
/// reference ntpq puts in a request (`CTL_MAX_DATA_LEN`).
pub const MAX_DATA_LEN: usize = 468;
/// NTP mode number of control messages.
pub const MODE_CONTROL: u8 = 6;

const RESPONSE_BIT: u8 = 0x80;
const ERROR_BIT: u8 = 0x40;
const MORE_BIT: u8 = 0x20;
const OPCODE_MASK: u8 = 0x1f;

/// Mode 6 opcodes (RFC 9327 §2, and the reference's additions 8–12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Opcode {
    /// 1: read the system or a peer status word (and the association list).
    ReadStatus,
    /// 2: read system or peer variables.
    ReadVariables,
    /// 3: write system or peer variables.
    WriteVariables,
    /// 4: read reference clock variables.
    ReadClock,
    /// 5: write reference clock variables.
    WriteClock,
    /// 6: set a trap address.
    SetTrap,
    /// 7: asynchronous message (trap).
    AsyncMessage,
    /// 8: runtime configuration (reference extension).
    Configure,
    /// 9: save the configuration to a file (reference extension).
    SaveConfig,
    /// 10: read the MRU list (reference extension, needs a nonce).
    ReadMru,
    /// 11: read an ordered list, authenticated (reference extension).
    ReadOrderedListA,
    /// 12: request a nonce for READ_MRU (reference extension).
    RequestNonce,
    /// 31: unset a trap address.
    UnsetTrap,
    /// Any other 5-bit code (0 and 13–30). Holding a code listed above, or
    /// one above 31, is not a valid value: it does not survive a round trip.
    Unknown(u8),
}

impl Opcode {
    /// Decodes the low five bits of `code`.
    pub fn from_code(code: u8) -> Self {
        match code & OPCODE_MASK {
            1 => Self::ReadStatus,
            2 => Self::ReadVariables,
            3 => Self::WriteVariables,
            4 => Self::ReadClock,
            5 => Self::WriteClock,
            6 => Self::SetTrap,
            7 => Self::AsyncMessage,
            8 => Self::Configure,
            9 => Self::SaveConfig,
            10 => Self::ReadMru,
            11 => Self::ReadOrderedListA,
            12 => Self::RequestNonce,
            31 => Self::UnsetTrap,
            other => Self::Unknown(other),
        }
    }

    /// The 5-bit code on the wire.
    pub fn code(self) -> u8 {
        match self {
            Self::ReadStatus => 1,
            Self::ReadVariables => 2,
            Self::WriteVariables => 3,
            Self::ReadClock => 4,
            Self::WriteClock => 5,
            Self::SetTrap => 6,
            Self::AsyncMessage => 7,
            Self::Configure => 8,
            Self::SaveConfig => 9,
            Self::ReadMru => 10,
            Self::ReadOrderedListA => 11,
            Self::RequestNonce => 12,
            Self::UnsetTrap => 31,
            Self::Unknown(c) => c & OPCODE_MASK,
        }
    }

    /// The reference's name (`READSTAT`, `READVAR`, ...), `None` if unknown.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::ReadStatus => "READSTAT",
            Self::ReadVariables => "READVAR",
            Self::WriteVariables => "WRITEVAR",
            Self::ReadClock => "READCLOCK",
            Self::WriteClock => "WRITECLOCK",
            Self::SetTrap => "SETTRAP",
            Self::AsyncMessage => "ASYNCMSG",
            Self::Configure => "CONFIGURE",
            Self::SaveConfig => "SAVECONFIG",
            Self::ReadMru => "READ_MRU",
            Self::ReadOrderedListA => "READ_ORDLIST_A",
            Self::RequestNonce => "REQ_NONCE",
            Self::UnsetTrap => "UNSETTRAP",
            Self::Unknown(_) => return None,
        })
    }
}

impl std::fmt::Display for Opcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.code()),
            None => write!(f, "unknown opcode {}", self.code()),
        }
    }
}

/// The fixed header of a mode 6 message, without the count field (the count
/// is the length of the data a [`super::ControlMessage`] carries).
///
/// Fields are kept exactly as received: `leap` and `version` are not checked
/// (the reference answers with its own leap indicator and echoes the
/// request's version; ntpq sends version 2). Values outside their bit width
/// (`leap` > 3, `version` > 7) are masked when serialising.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlHeader {
    /// Leap indicator (2 bits); 0 in requests, `sys_leap` in reference responses.
    pub leap: u8,
    /// Version number (3 bits).
    pub version: u8,
    /// R: set in responses.
    pub response: bool,
    /// E: set in error responses; the error code is in the status word's high octet.
    pub error: bool,
    /// M: set in every fragment of a response but the last.
    pub more: bool,
    /// The command (5 bits).
    pub opcode: Opcode,
    /// Chosen by the requester, echoed in every response fragment.
    pub sequence: u16,
    /// System, peer or clock status word, or error code (see `status`).
    pub status: u16,
    /// 0 for the system, else the association (peer) id.
    pub association_id: u16,
    /// Octet offset of this fragment's data in the whole response.
    pub offset: u16,
}

impl ControlHeader {
    /// A request header as the reference ntpq builds one: LI 0, R/E/M clear,
    /// status and offset 0.
    pub fn request(version: u8, opcode: Opcode, sequence: u16, association_id: u16) -> Self {
        Self {
            leap: 0,
            version,
            response: false,
            error: false,
            more: false,
            opcode,
            sequence,
            status: 0,
            association_id,
            offset: 0,
        }
    }

    /// The header of a response to `request` as the reference ntpd builds
    /// it: the server's leap indicator, the request's version, opcode,
    /// sequence and association id echoed, R set, E/M clear, offset 0.
    pub fn response_to(request: &ControlHeader, leap: u8, status: u16) -> Self {
        Self {
            leap,
            response: true,
            error: false,
            more: false,
            status,
            offset: 0,
            ..*request
        }
    }

    /// Decodes the first 12 octets of `bytes` and returns the header and the
    /// count field. Only checks the length and the mode, so that a server can
    /// still answer a malformed request with an error response.
    pub fn parse(bytes: &[u8]) -> Result<(Self, u16), ControlError> {
        let Some(h) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(ControlError::TooShort { len: bytes.len() });
        };
        let mode = h[0] & 0x07;
        if mode != MODE_CONTROL {
            return Err(ControlError::WrongMode { mode });
        }
        let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let header = Self {
            leap: h[0] >> 6,
            version: (h[0] >> 3) & 0x07,
            response: h[1] & RESPONSE_BIT != 0,
            error: h[1] & ERROR_BIT != 0,
            more: h[1] & MORE_BIT != 0,
            opcode: Opcode::from_code(h[1]),
            sequence: word(2),
            status: word(4),
            association_id: word(6),
            offset: word(8),
        };
        Ok((header, word(10)))
    }

    /// The 12 header octets with the given count field.
    pub fn to_bytes(&self, count: u16) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = ((self.leap & 0x03) << 6) | ((self.version & 0x07) << 3) | MODE_CONTROL;
        out[1] = (if self.response { RESPONSE_BIT } else { 0 })
            | (if self.error { ERROR_BIT } else { 0 })
            | (if self.more { MORE_BIT } else { 0 })
            | self.opcode.code();
        out[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        out[4..6].copy_from_slice(&self.status.to_be_bytes());
        out[6..8].copy_from_slice(&self.association_id.to_be_bytes());
        out[8..10].copy_from_slice(&self.offset.to_be_bytes());
        out[10..12].copy_from_slice(&count.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_opcode_code_round_trips() {
        for code in 0..32u8 {
            assert_eq!(Opcode::from_code(code).code(), code);
        }
        assert_eq!(Opcode::from_code(1), Opcode::ReadStatus);
        assert_eq!(Opcode::from_code(12), Opcode::RequestNonce);
        assert_eq!(Opcode::from_code(31), Opcode::UnsetTrap);
        assert_eq!(Opcode::from_code(13), Opcode::Unknown(13));
        assert_eq!(Opcode::ReadMru.name(), Some("READ_MRU"));
        assert_eq!(Opcode::Unknown(0).to_string(), "unknown opcode 0");
    }

    #[test]
    fn parses_ntpq_readstat_request_from_fixture() {
        // bob/ntpq-mode6.pcap frame 1: ntpq -n -p, version 2, READSTAT, seq 1.
        let bytes = [0x16, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        let (h, count) = ControlHeader::parse(&bytes).unwrap();
        assert_eq!(h, ControlHeader::request(2, Opcode::ReadStatus, 1, 0));
        assert_eq!(count, 0);
        assert_eq!(h.to_bytes(0), bytes);
    }

    #[test]
    fn response_header_echoes_request() {
        let req = ControlHeader::request(2, Opcode::ReadVariables, 9, 32249);
        let resp = ControlHeader::response_to(&req, 3, 0xf61a);
        // leap 3, version 2, mode 6 = 0xd6; R + opcode 2 = 0x82.
        assert_eq!(
            resp.to_bytes(0),
            [0xd6, 0x82, 0, 9, 0xf6, 0x1a, 0x7d, 0xf9, 0, 0, 0, 0]
        );
    }

    #[test]
    fn rejects_short_and_wrong_mode() {
        assert_eq!(
            ControlHeader::parse(&[0x16; 11]),
            Err(ControlError::TooShort { len: 11 })
        );
        assert_eq!(
            ControlHeader::parse(&[0x23; 12]),
            Err(ControlError::WrongMode { mode: 3 })
        );
    }
}
