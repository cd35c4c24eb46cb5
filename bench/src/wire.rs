//! The few NTP packets the benchmark builds and reads (RFC 5905 §7.3):
//! a client request carrying a sequence number in its transmit timestamp,
//! the floor server's fixed reply, and the summary of a reply the load
//! generator needs.

use proto::{Header, LeapIndicator, Mode, NtpShort, NtpTimestamp, ReferenceId};
use std::net::Ipv4Addr;

/// Octets in an NTP header without MAC.
pub const HEADER_LEN: usize = 48;

/// Octet offset of the origin timestamp.
const ORIGIN_AT: usize = 24;
/// Octet offset of the transmit timestamp.
const TRANSMIT_AT: usize = 40;

/// The 48 octets of an NTPv4 mode 3 request whose transmit timestamp is
/// `stamp` (the load generator's run tag and sequence number).
pub fn request(stamp: u64) -> [u8; HEADER_LEN] {
    let h = Header {
        leap: LeapIndicator::from_bits(0),
        version: 4,
        mode: Mode::from_bits(3),
        stratum: 0,
        poll: 6,
        precision: -20,
        root_delay: NtpShort::from_bytes([0; 4]),
        root_dispersion: NtpShort::from_bytes([0; 4]),
        reference_id: ReferenceId(0),
        reference_timestamp: NtpTimestamp::ZERO,
        origin_timestamp: NtpTimestamp::ZERO,
        receive_timestamp: NtpTimestamp::ZERO,
        transmit_timestamp: NtpTimestamp::from_bits(stamp),
    };
    h.to_bytes()
}

/// Overwrites the transmit timestamp of a request built by [`request`].
pub fn set_transmit(pkt: &mut [u8; HEADER_LEN], stamp: u64) {
    pkt[TRANSMIT_AT..TRANSMIT_AT + 8].copy_from_slice(&stamp.to_be_bytes());
}

/// The floor server's reply to a request: a fixed stratum 2 mode 4
/// header (same version as the request), origin = the request's transmit
/// timestamp, receive = transmit = `now`. `None` unless `req` is at least
/// 48 octets of mode 3.
pub fn floor_reply(req: &[u8], now: NtpTimestamp) -> Option<[u8; HEADER_LEN]> {
    let first = *req.first()?;
    if req.len() < HEADER_LEN || first & 7 != 3 {
        return None;
    }
    let version = (first >> 3) & 7;
    let h = Header {
        leap: LeapIndicator::from_bits(0),
        version,
        mode: Mode::from_bits(4),
        stratum: 2,
        poll: 6,
        precision: -20,
        root_delay: NtpShort::from_bytes([0, 0, 0, 0x10]),
        root_dispersion: NtpShort::from_bytes([0, 0, 0, 0x20]),
        reference_id: ReferenceId::from_ipv4(Ipv4Addr::LOCALHOST),
        reference_timestamp: now,
        origin_timestamp: NtpTimestamp::ZERO,
        receive_timestamp: now,
        transmit_timestamp: now,
    };
    let mut out = h.to_bytes();
    out[ORIGIN_AT..ORIGIN_AT + 8].copy_from_slice(&req[TRANSMIT_AT..TRANSMIT_AT + 8]);
    Some(out)
}

/// What the load generator reads from a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplySummary {
    /// Leap indicator (2 bits, 0–3; 3 = unsynchronised).
    pub leap: u8,
    /// Version number (3 bits, 0–7).
    pub version: u8,
    /// Mode (3 bits; 4 for a server reply).
    pub mode: u8,
    /// Stratum (0 = kiss-o'-death, 16 = unsynchronised).
    pub stratum: u8,
    /// The origin timestamp: our transmit timestamp echoed back.
    pub origin: u64,
    /// The reference ID (kiss code when `stratum` is 0).
    pub refid: [u8; 4],
}

impl ReplySummary {
    /// Reads the header fields; `None` for datagrams shorter than 48
    /// octets or with a version outside 1..=4.
    pub fn parse(buf: &[u8]) -> Option<ReplySummary> {
        let h = Header::parse(buf).ok()?;
        Some(ReplySummary {
            leap: h.leap.to_bits(),
            version: h.version,
            mode: h.mode.to_bits(),
            stratum: h.stratum,
            origin: h.origin_timestamp.to_bits(),
            refid: h.reference_id.to_bytes(),
        })
    }

    /// A Kiss-o'-Death (RFC 5905 §7.4): stratum 0.
    pub fn is_kod(&self) -> bool {
        self.stratum == 0
    }

    /// The server says it is not synchronised (leap 3 or stratum 16+).
    pub fn is_unsynchronised(&self) -> bool {
        self.leap == 3 || self.stratum >= 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_reply_echoes_transmit_as_origin() {
        let req = request(0x1234_5678_9abc_def0);
        let now = NtpTimestamp::from_parts(3_000_000_000, 7);
        let rep = floor_reply(&req, now).expect("mode 3 is answered");
        let s = ReplySummary::parse(&rep).expect("parses");
        assert_eq!((s.mode, s.version, s.stratum, s.leap), (4, 4, 2, 0));
        assert_eq!(s.origin, 0x1234_5678_9abc_def0);
        assert!(!s.is_kod() && !s.is_unsynchronised());
    }

    #[test]
    fn floor_ignores_other_modes_and_short_packets() {
        let mut req = request(1);
        assert!(floor_reply(&req[..47], NtpTimestamp::ZERO).is_none());
        req[0] = (req[0] & !7) | 4;
        assert!(floor_reply(&req, NtpTimestamp::ZERO).is_none());
        assert!(floor_reply(&[], NtpTimestamp::ZERO).is_none());
    }

    #[test]
    fn set_transmit_changes_only_the_stamp() {
        let mut a = request(1);
        set_transmit(&mut a, 99);
        assert_eq!(a, request(99));
    }
}
