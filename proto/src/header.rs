//! The 48-octet NTPv4 packet header (RFC 5905 §7.3, Figure 8).
//!
//! ```text
//!  0: LI(2) VN(3) Mode(3) | Stratum | Poll | Precision
//!  4: Root Delay (NTP short)
//!  8: Root Dispersion (NTP short)
//! 12: Reference ID
//! 16: Reference Timestamp (64)
//! 24: Origin Timestamp (64)
//! 32: Receive Timestamp (64)
//! 40: Transmit Timestamp (64)
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use md5::{Digest, Md5};

use crate::error::ParseError;
use crate::time::{NtpShort, NtpTimestamp};

/// Leap indicator (RFC 5905 §7.3, Figure 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeapIndicator {
    /// 0: no warning.
    NoWarning,
    /// 1: last minute of the day has 61 seconds.
    AddSecond,
    /// 2: last minute of the day has 59 seconds.
    DeleteSecond,
    /// 3: unknown (clock unsynchronised).
    Unsynchronized,
}

impl LeapIndicator {
    /// From the 2-bit value (higher bits ignored).
    pub const fn from_bits(v: u8) -> Self {
        match v & 3 {
            0 => LeapIndicator::NoWarning,
            1 => LeapIndicator::AddSecond,
            2 => LeapIndicator::DeleteSecond,
            _ => LeapIndicator::Unsynchronized,
        }
    }

    /// The 2-bit value.
    pub const fn to_bits(self) -> u8 {
        self as u8
    }
}

/// Association mode (RFC 5905 §7.3, Figure 10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 0: reserved.
    Reserved,
    /// 1: symmetric active.
    SymmetricActive,
    /// 2: symmetric passive.
    SymmetricPassive,
    /// 3: client.
    Client,
    /// 4: server.
    Server,
    /// 5: broadcast.
    Broadcast,
    /// 6: NTP control message (RFC 9327).
    Control,
    /// 7: reserved for private use (ntpdc).
    Private,
}

impl Mode {
    /// From the 3-bit value (higher bits ignored).
    pub const fn from_bits(v: u8) -> Self {
        match v & 7 {
            0 => Mode::Reserved,
            1 => Mode::SymmetricActive,
            2 => Mode::SymmetricPassive,
            3 => Mode::Client,
            4 => Mode::Server,
            5 => Mode::Broadcast,
            6 => Mode::Control,
            _ => Mode::Private,
        }
    }

    /// The 3-bit value.
    pub const fn to_bits(self) -> u8 {
        self as u8
    }

    /// The mode of a datagram, from the low 3 bits of its first octet
    /// (`None` for an empty datagram). Use this to dispatch to
    /// `Packet::parse`, `proto::control` or `proto::mode7`.
    pub fn of_datagram(buf: &[u8]) -> Option<Mode> {
        buf.first().map(|b| Mode::from_bits(*b))
    }
}

/// Kiss-o'-Death codes (RFC 5905 §7.4), carried in the reference ID of a
/// stratum-0 packet, plus the reference's own codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KissCode {
    /// "ACST": the association belongs to a unicast server.
    Acst,
    /// "AUTH": server authentication failed.
    Auth,
    /// "AUTO": Autokey sequence failed.
    Auto,
    /// "BCST": the association belongs to a broadcast server.
    Bcst,
    /// "CRYP": cryptographic authentication or identification failed.
    Cryp,
    /// "DENY": access denied by remote server.
    Deny,
    /// "DROP": lost peer in symmetric mode.
    Drop,
    /// "RSTR": access denied due to local policy.
    Rstr,
    /// "INIT": the association has not yet synchronised.
    Init,
    /// "MCST": the association belongs to a dynamically discovered server.
    Mcst,
    /// "NKEY": no key found.
    Nkey,
    /// "RATE": rate exceeded; reduce the polling rate.
    Rate,
    /// "RMOT": alteration of association from a remote host running ntpdc.
    Rmot,
    /// "STEP": a step change in system time has occurred.
    Step,
    /// Any other four octets.
    Other([u8; 4]),
}

impl KissCode {
    const TABLE: [(KissCode, [u8; 4]); 14] = [
        (KissCode::Acst, *b"ACST"),
        (KissCode::Auth, *b"AUTH"),
        (KissCode::Auto, *b"AUTO"),
        (KissCode::Bcst, *b"BCST"),
        (KissCode::Cryp, *b"CRYP"),
        (KissCode::Deny, *b"DENY"),
        (KissCode::Drop, *b"DROP"),
        (KissCode::Rstr, *b"RSTR"),
        (KissCode::Init, *b"INIT"),
        (KissCode::Mcst, *b"MCST"),
        (KissCode::Nkey, *b"NKEY"),
        (KissCode::Rate, *b"RATE"),
        (KissCode::Rmot, *b"RMOT"),
        (KissCode::Step, *b"STEP"),
    ];

    /// From the four reference-ID octets.
    pub fn from_bytes(b: [u8; 4]) -> Self {
        KissCode::TABLE
            .iter()
            .find(|(_, code)| *code == b)
            .map_or(KissCode::Other(b), |(k, _)| *k)
    }

    /// The four octets on the wire.
    pub fn to_bytes(self) -> [u8; 4] {
        match self {
            KissCode::Other(b) => b,
            known => KissCode::TABLE
                .iter()
                .find(|(k, _)| *k == known)
                .map_or([0; 4], |(_, b)| *b),
        }
    }
}

/// The 32-bit reference identifier (RFC 5905 §7.3). Its meaning depends on
/// the stratum: an ASCII code at stratum 0 (kiss code) and 1 (reference
/// clock), otherwise the IPv4 address of the upstream server or the first
/// four octets of the MD5 hash of its IPv6 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ReferenceId(pub u32);

impl ReferenceId {
    /// From four network-order octets.
    pub const fn from_bytes(b: [u8; 4]) -> Self {
        ReferenceId(u32::from_be_bytes(b))
    }

    /// The four network-order octets.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }

    /// An IPv4 upstream server address.
    pub fn from_ipv4(a: Ipv4Addr) -> Self {
        ReferenceId::from_bytes(a.octets())
    }

    /// The four octets read as an IPv4 address.
    pub fn to_ipv4(self) -> Ipv4Addr {
        Ipv4Addr::from(self.to_bytes())
    }

    /// The refid of an IPv6 upstream server: the first four octets of the
    /// MD5 digest of its 16-octet address (RFC 5905 §7.3).
    pub fn from_ipv6(a: Ipv6Addr) -> Self {
        let digest = Md5::digest(a.octets());
        let mut b = [0u8; 4];
        b.copy_from_slice(&digest[..4]);
        ReferenceId::from_bytes(b)
    }

    /// An ASCII code such as "GPS" or "LOCL": up to four octets, padded
    /// with zeros. `None` if longer than four octets or not printable ASCII.
    pub fn from_ascii(s: &str) -> Option<Self> {
        let bytes = s.as_bytes();
        if bytes.len() > 4 || !bytes.iter().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let mut b = [0u8; 4];
        b[..bytes.len()].copy_from_slice(bytes);
        Some(ReferenceId::from_bytes(b))
    }

    /// The ASCII view: printable octets up to the first zero, `None` if any
    /// octet before that is not printable ASCII (then it is an address).
    pub fn to_ascii(self) -> Option<String> {
        let b = self.to_bytes();
        let end = b.iter().position(|&c| c == 0).unwrap_or(4);
        let text = &b[..end];
        if text.iter().all(|c| c.is_ascii_graphic()) && b[end..].iter().all(|&c| c == 0) {
            Some(text.iter().map(|&c| char::from(c)).collect())
        } else {
            None
        }
    }

    /// The kiss code view (meaningful when the stratum is 0).
    pub fn kiss_code(self) -> KissCode {
        KissCode::from_bytes(self.to_bytes())
    }

    /// The refid carrying a kiss code.
    pub fn from_kiss_code(k: KissCode) -> Self {
        ReferenceId::from_bytes(k.to_bytes())
    }
}

/// The NTPv4 header (RFC 5905 §7.3). Holds every bit of the 48 octets, so
/// [`Header::to_bytes`] is the exact inverse of [`Header::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Leap indicator (LI, 2 bits): leap second warning or alarm.
    pub leap: LeapIndicator,
    /// Version number, 1..=4 once parsed.
    pub version: u8,
    /// Association mode (3 bits, RFC 5905 §3); `Packet::parse` refuses 6
    /// (mode 6 control) and 7 (private).
    pub mode: Mode,
    /// 0 = unspecified / kiss-o'-death, 1 = primary, 2..=15 secondary,
    /// 16 = unsynchronised, 17..=255 reserved (kept as received).
    pub stratum: u8,
    /// Poll interval, log2 seconds.
    pub poll: i8,
    /// Clock precision, log2 seconds.
    pub precision: i8,
    /// Total round-trip delay to the reference clock (short format,
    /// seconds).
    pub root_delay: NtpShort,
    /// Total dispersion to the reference clock (short format, seconds).
    pub root_dispersion: NtpShort,
    /// Reference ID: kiss code at stratum 0, clock source name at stratum
    /// 1, otherwise the IPv4 address or MD5 hash of the upstream server.
    pub reference_id: ReferenceId,
    /// When the system clock was last set or corrected.
    pub reference_timestamp: NtpTimestamp,
    /// T1: the client's transmit time echoed by the server (RFC 5905 §8).
    pub origin_timestamp: NtpTimestamp,
    /// T2: when the request arrived at the server.
    pub receive_timestamp: NtpTimestamp,
    /// T3 (or T1 in a request): when this packet left its sender.
    pub transmit_timestamp: NtpTimestamp,
}

/// Octets in the NTP header (`LEN_PKT_NOMAC`).
pub const HEADER_LEN: usize = 48;

/// Lowest accepted version (`NTP_OLDVERSION`).
pub const MIN_VERSION: u8 = 1;
/// Current version (`NTP_VERSION`).
pub const NTP_VERSION: u8 = 4;

fn array<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = buf.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

impl Header {
    /// Octets on the wire.
    pub const LEN: usize = HEADER_LEN;

    /// Parses the first 48 octets of `buf` (further octets are ignored).
    /// Rejects fewer than 48 octets and versions outside 1..=4; every other
    /// bit pattern is representable.
    pub fn parse(buf: &[u8]) -> Result<Header, ParseError> {
        if buf.len() < HEADER_LEN {
            return Err(ParseError::TooShort {
                what: "NTP header",
                len: buf.len(),
                needed: HEADER_LEN,
            });
        }
        let b0 = buf[0];
        let version = (b0 >> 3) & 7;
        if !(MIN_VERSION..=NTP_VERSION).contains(&version) {
            return Err(ParseError::BadVersion { version });
        }
        Ok(Header {
            leap: LeapIndicator::from_bits(b0 >> 6),
            version,
            mode: Mode::from_bits(b0),
            stratum: buf[1],
            poll: buf[2] as i8,
            precision: buf[3] as i8,
            root_delay: NtpShort::from_bytes(array(buf, 4)),
            root_dispersion: NtpShort::from_bytes(array(buf, 8)),
            reference_id: ReferenceId::from_bytes(array(buf, 12)),
            reference_timestamp: NtpTimestamp::from_bytes(array(buf, 16)),
            origin_timestamp: NtpTimestamp::from_bytes(array(buf, 24)),
            receive_timestamp: NtpTimestamp::from_bytes(array(buf, 32)),
            transmit_timestamp: NtpTimestamp::from_bytes(array(buf, 40)),
        })
    }

    /// The 48 octets on the wire. The version is written modulo 8.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        self.write(&mut b);
        b
    }

    /// Writes the 48 octets into `out`.
    pub fn write(&self, out: &mut [u8; HEADER_LEN]) {
        out[0] = (self.leap.to_bits() << 6) | ((self.version & 7) << 3) | self.mode.to_bits();
        out[1] = self.stratum;
        out[2] = self.poll as u8;
        out[3] = self.precision as u8;
        out[4..8].copy_from_slice(&self.root_delay.to_bytes());
        out[8..12].copy_from_slice(&self.root_dispersion.to_bytes());
        out[12..16].copy_from_slice(&self.reference_id.to_bytes());
        out[16..24].copy_from_slice(&self.reference_timestamp.to_bytes());
        out[24..32].copy_from_slice(&self.origin_timestamp.to_bytes());
        out[32..40].copy_from_slice(&self.receive_timestamp.to_bytes());
        out[40..48].copy_from_slice(&self.transmit_timestamp.to_bytes());
    }

    /// The kiss code, if this is a Kiss-o'-Death packet (stratum 0,
    /// RFC 5905 §7.4).
    pub fn kiss_code(&self) -> Option<KissCode> {
        (self.stratum == 0).then(|| self.reference_id.kiss_code())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Header of packet 1 of the brief's §13.2 capture (ASSOC request).
    const ASSOC_REQ_HEADER: [u8; 48] = [
        0xe3, 0x00, 0x03, 0xe9, 0, 0, 0, 0, 0, 0, 0, 0, 0x49, 0x4e, 0x49, 0x54, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xee, 0xb3, 0xbf, 0x73, 0x50, 0x08,
        0x4b, 0xad,
    ];

    #[test]
    fn parses_captured_client_header() {
        let h = Header::parse(&ASSOC_REQ_HEADER).unwrap();
        assert_eq!(h.leap, LeapIndicator::Unsynchronized);
        assert_eq!(h.version, 4);
        assert_eq!(h.mode, Mode::Client);
        assert_eq!(h.stratum, 0);
        assert_eq!(h.poll, 3);
        assert_eq!(h.precision, -23);
        assert_eq!(h.kiss_code(), Some(KissCode::Init));
        assert_eq!(h.reference_id.to_ascii().as_deref(), Some("INIT"));
        assert_eq!(h.transmit_timestamp.seconds(), 0xeeb3_bf73);
        assert_eq!(h.transmit_timestamp.fraction(), 0x5008_4bad);
        assert_eq!(h.to_bytes(), ASSOC_REQ_HEADER);
    }

    #[test]
    fn version_limits() {
        let mut b = ASSOC_REQ_HEADER;
        for v in 0u8..8 {
            b[0] = (b[0] & !0x38) | (v << 3);
            let r = Header::parse(&b);
            if (1..=4).contains(&v) {
                assert_eq!(r.unwrap().version, v);
            } else {
                assert_eq!(r, Err(ParseError::BadVersion { version: v }));
            }
        }
        assert_eq!(
            Header::parse(&b[..47]),
            Err(ParseError::TooShort {
                what: "NTP header",
                len: 47,
                needed: 48
            })
        );
    }

    #[test]
    fn reference_id_views() {
        let r = ReferenceId::from_ascii("GPS").unwrap();
        assert_eq!(r.to_bytes(), *b"GPS\0");
        assert_eq!(r.to_ascii().as_deref(), Some("GPS"));
        assert_eq!(ReferenceId::from_ascii("LOCL").unwrap().0, 0x4c4f_434c);
        assert_eq!(ReferenceId::from_ascii("TOOLONG"), None);
        let ip = ReferenceId::from_ipv4(Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(ip.0, 0x7f00_0001);
        assert_eq!(ip.to_ascii(), None);
        assert_eq!(ip.to_ipv4(), Ipv4Addr::LOCALHOST);
        // MD5(::1) = cf 40 4d c8 ... (first four octets).
        assert_eq!(
            ReferenceId::from_ipv6(Ipv6Addr::LOCALHOST).to_bytes(),
            [0xcf, 0x40, 0x4d, 0xc8]
        );
    }

    #[test]
    fn kiss_codes() {
        for (code, text) in [
            (KissCode::Rate, "RATE"),
            (KissCode::Deny, "DENY"),
            (KissCode::Rstr, "RSTR"),
            (KissCode::Cryp, "CRYP"),
            (KissCode::Init, "INIT"),
            (KissCode::Step, "STEP"),
            (KissCode::Auth, "AUTH"),
            (KissCode::Auto, "AUTO"),
            (KissCode::Bcst, "BCST"),
            (KissCode::Drop, "DROP"),
            (KissCode::Nkey, "NKEY"),
            (KissCode::Rmot, "RMOT"),
        ] {
            let r = ReferenceId::from_ascii(text).unwrap();
            assert_eq!(r.kiss_code(), code);
            assert_eq!(ReferenceId::from_kiss_code(code), r);
        }
        assert_eq!(KissCode::from_bytes(*b"XYZW"), KissCode::Other(*b"XYZW"));
        assert_eq!(KissCode::Other(*b"XYZW").to_bytes(), *b"XYZW");
    }

    #[test]
    fn mode_of_datagram() {
        assert_eq!(Mode::of_datagram(&[0x16]), Some(Mode::Control));
        assert_eq!(Mode::of_datagram(&[0x17]), Some(Mode::Private));
        assert_eq!(Mode::of_datagram(&[]), None);
    }

    pub(crate) fn arb_header() -> impl Strategy<Value = Header> {
        (
            (
                0u8..4,
                1u8..=4,
                0u8..6,
                any::<u8>(),
                any::<i8>(),
                any::<i8>(),
            ),
            (any::<u32>(), any::<u32>(), any::<u32>()),
            (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
        )
            .prop_map(
                |(
                    (li, vn, mode, stratum, poll, precision),
                    (rd, rdisp, refid),
                    (t1, t2, t3, t4),
                )| Header {
                    leap: LeapIndicator::from_bits(li),
                    version: vn,
                    mode: Mode::from_bits(mode),
                    stratum,
                    poll,
                    precision,
                    root_delay: NtpShort::from_bits(rd),
                    root_dispersion: NtpShort::from_bits(rdisp),
                    reference_id: ReferenceId(refid),
                    reference_timestamp: NtpTimestamp::from_bits(t1),
                    origin_timestamp: NtpTimestamp::from_bits(t2),
                    receive_timestamp: NtpTimestamp::from_bits(t3),
                    transmit_timestamp: NtpTimestamp::from_bits(t4),
                },
            )
    }

    proptest! {
        #[test]
        fn serialize_then_parse_is_identity(h in arb_header()) {
            prop_assert_eq!(Header::parse(&h.to_bytes()), Ok(h));
        }

        #[test]
        fn parse_then_serialize_is_identity(mut b in proptest::array::uniform32(any::<u8>()),
                                            rest in proptest::array::uniform16(any::<u8>()),
                                            vn in 1u8..=4) {
            b[0] = (b[0] & !0x38) | (vn << 3);
            let mut full = [0u8; 48];
            full[..32].copy_from_slice(&b);
            full[32..].copy_from_slice(&rest);
            let h = Header::parse(&full).unwrap();
            prop_assert_eq!(h.to_bytes(), full);
        }
    }
}
