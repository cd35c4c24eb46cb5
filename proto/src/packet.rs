//! Whole NTP datagrams of modes 0–5: header, extension fields, MAC
//! (RFC 5905 §7.3, RFC 7822, brief §1.1–§1.2).
//!
//! * [`PacketRef`] borrows the datagram (no allocation);
//! * [`Packet`] owns its parts; [`Packet::serialize`] is the exact inverse
//!   of [`Packet::parse`]: every datagram `parse` accepts serialises back to
//!   the same octets.
//!
//! Modes 6 and 7 are refused with [`ParseError::ControlMode`] and
//! [`ParseError::PrivateMode`]: `proto::control` and `proto::mode7` handle
//! them. Check the mode first with [`crate::header::Mode::of_datagram`].
//!
//! **Datagram size.** The reference receives into a buffer of
//! 48 + 2048 + 24 = [`MAX_DATAGRAM_LEN`] (2120) octets and silently
//! truncates anything longer. A truncated datagram would be framed from
//! octets the sender did not intend as its end, so instead of truncating,
//! `parse` rejects longer input with [`ParseError::TooLong`]. A receiver
//! should read into a buffer of at least 2121 octets so it can tell.

use crate::error::{BuildError, ParseError};
use crate::exten::{
    walk_fields, ExtensionField, FieldChain, FieldIter, MAC_THRESHOLD, NTP_MAXEXTEN,
};
use crate::header::{Header, Mode, HEADER_LEN};
use crate::mac::{Mac, MAX_MAC_LEN};

/// Largest datagram the reference processes: header + `NTP_MAXEXTEN` +
/// largest MAC.
pub const MAX_DATAGRAM_LEN: usize = HEADER_LEN + NTP_MAXEXTEN + MAX_MAC_LEN;

/// The reference's sender omits an extension field that would push the
/// header plus fields beyond this many octets (brief §1.1).
pub const MAX_AUTHLEN: usize = MAX_DATAGRAM_LEN - MAX_MAC_LEN;

fn check_mode_and_size(buf: &[u8]) -> Result<(), ParseError> {
    if buf.len() > MAX_DATAGRAM_LEN {
        return Err(ParseError::TooLong {
            len: buf.len(),
            max: MAX_DATAGRAM_LEN,
        });
    }
    match Mode::of_datagram(buf) {
        Some(Mode::Control) => Err(ParseError::ControlMode),
        Some(Mode::Private) => Err(ParseError::PrivateMode),
        _ => Ok(()),
    }
}

/// A parsed datagram borrowing its octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketRef<'a> {
    header: Header,
    bytes: &'a [u8],
    chain: FieldChain<'a>,
    mac: Option<Mac>,
}

impl<'a> PacketRef<'a> {
    /// Parses a mode 0–5 datagram: the header (version 1–4), the extension
    /// field chain and the MAC, framed by the reference rule (brief §1.2).
    pub fn parse(buf: &'a [u8]) -> Result<Self, ParseError> {
        check_mode_and_size(buf)?;
        let header = Header::parse(buf)?;
        let chain = walk_fields(buf, HEADER_LEN)?;
        let trailer = chain.trailer();
        let mac = if trailer.is_empty() {
            None
        } else {
            Some(Mac::parse(trailer)?)
        };
        Ok(PacketRef {
            header,
            bytes: buf,
            chain,
            mac,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The extension fields, in order, borrowed.
    pub fn fields(&self) -> FieldIter<'a> {
        self.chain.fields()
    }

    /// The validated field chain.
    pub fn chain(&self) -> FieldChain<'a> {
        self.chain
    }

    /// Number of extension fields.
    pub fn field_count(&self) -> usize {
        self.chain.len()
    }

    /// The MAC trailer, if any.
    pub fn mac(&self) -> Option<&Mac> {
        self.mac.as_ref()
    }

    /// Octets the MAC covers: `[0, mac_covered_len())`, the header and all
    /// extension fields (the reference's `authlen`). Equal to the datagram
    /// length when there is no MAC.
    pub fn mac_covered_len(&self) -> usize {
        self.chain.end()
    }

    /// The octets the MAC covers (the digest input after the key).
    pub fn authenticated_bytes(&self) -> &'a [u8] {
        self.bytes.get(..self.chain.end()).unwrap_or(&[])
    }

    /// The whole datagram.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// An owned copy.
    pub fn to_owned(&self) -> Packet {
        Packet {
            header: self.header,
            fields: self.fields().map(|f| f.to_owned()).collect(),
            mac: self.mac,
        }
    }
}

/// An owned mode 0–5 datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The 48-octet NTP header (RFC 5905 §7.3).
    pub header: Header,
    /// Extension fields in wire order.
    pub fields: Vec<ExtensionField>,
    /// The MAC trailer; `None` for an unauthenticated packet.
    pub mac: Option<Mac>,
}

impl Packet {
    /// A packet with no extension fields and no MAC.
    pub fn new(header: Header) -> Self {
        Packet {
            header,
            fields: Vec::new(),
            mac: None,
        }
    }

    /// Parses a datagram (see [`PacketRef::parse`]) into owned parts.
    pub fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        PacketRef::parse(buf).map(|p| p.to_owned())
    }

    /// Octets the MAC covers: the header plus all extension fields.
    pub fn mac_covered_len(&self) -> usize {
        HEADER_LEN + self.fields.iter().map(ExtensionField::len).sum::<usize>()
    }

    /// Total serialised length.
    pub fn serialized_len(&self) -> usize {
        self.mac_covered_len() + self.mac.as_ref().map_or(0, Mac::len)
    }

    /// Serialises into a new vector.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.serialized_len());
        out.extend_from_slice(&self.header.to_bytes());
        for f in &self.fields {
            out.extend_from_slice(f.as_bytes());
        }
        if let Some(m) = &self.mac {
            out.extend_from_slice(m.as_bytes());
        }
        out
    }

    /// Serialises into `out`, returning the number of octets written.
    pub fn serialize_into(&self, out: &mut [u8]) -> Result<usize, BuildError> {
        let needed = self.serialized_len();
        let available = out.len();
        let dst = out
            .get_mut(..needed)
            .ok_or(BuildError::BufferTooSmall { needed, available })?;
        let (head, mut rest) = dst.split_at_mut(HEADER_LEN);
        if let Ok(h) = <&mut [u8; HEADER_LEN]>::try_from(head) {
            self.header.write(h);
        }
        let parts = self
            .fields
            .iter()
            .map(ExtensionField::as_bytes)
            .chain(self.mac.as_ref().map(Mac::as_bytes));
        for part in parts {
            let (d, r) = rest.split_at_mut(part.len());
            d.copy_from_slice(part);
            rest = r;
        }
        Ok(needed)
    }

    /// True when [`Packet::parse`] of [`Packet::serialize`] gives this
    /// packet back: version 1–4, mode 0–5, at most 2120 octets, and every
    /// extension field starts where more than 24 octets remain (otherwise
    /// the reference rule takes it for a MAC, brief §1.2). The reference
    /// sender guarantees the last condition by always appending a MAC of
    /// at least 20 octets after extension fields.
    pub fn is_unambiguous(&self) -> bool {
        let total = self.serialized_len();
        if total > MAX_DATAGRAM_LEN
            || !(1..=4).contains(&self.header.version)
            || matches!(self.header.mode, Mode::Control | Mode::Private)
        {
            return false;
        }
        let mut offset = HEADER_LEN;
        for f in &self.fields {
            if total - offset <= MAC_THRESHOLD {
                return false;
            }
            offset += f.len();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exten::{AutokeyCode, AutokeyHeader, AutokeyValue};
    use crate::mac::MacKind;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Packet 1 of the brief's §13.2 capture (ASSOC request, 96 octets).
    fn assoc_request() -> Vec<u8> {
        hex("e3 00 03 e9 00 00 00 00 00 00 00 00 49 4e 49 54
             00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
             00 00 00 00 00 00 00 00 ee b3 bf 73 50 08 4b ad
             02 01 00 1c 00 00 38 12 00 00 00 00 00 08 00 01
             00 00 00 03 63 6c 69 00 00 00 00 00 0e c8 55 56
             f4 87 b3 b6 4e 1c a6 d8 b4 0e b0 6b 53 38 e4 f0")
    }

    #[test]
    fn parses_captured_assoc_request() {
        let raw = assoc_request();
        let p = PacketRef::parse(&raw).unwrap();
        assert_eq!(p.header().mode, Mode::Client);
        assert_eq!(p.field_count(), 1);
        assert_eq!(p.mac_covered_len(), 0x4c);
        let mac = p.mac().unwrap();
        assert_eq!(mac.key_id(), 0x0ec8_5556);
        assert_eq!(mac.kind(), MacKind::Digest16);
        let f = p.fields().next().unwrap();
        assert_eq!(f.offset(), 48);
        let ak = f.autokey().unwrap();
        assert_eq!(ak.header().code, AutokeyCode::Assoc);
        assert_eq!(ak.value().unwrap().unwrap().value, b"cli");
        let owned = p.to_owned();
        assert_eq!(owned.serialize(), raw);
        assert_eq!(Packet::parse(&raw).unwrap(), owned);
        assert!(owned.is_unambiguous());
        let mut buf = [0u8; 200];
        assert_eq!(owned.serialize_into(&mut buf), Ok(96));
        assert_eq!(&buf[..96], &raw[..]);
        assert_eq!(
            owned.serialize_into(&mut buf[..95]),
            Err(BuildError::BufferTooSmall {
                needed: 96,
                available: 95
            })
        );
    }

    #[test]
    fn crypto_nak_and_plain_packets() {
        let mut raw = assoc_request();
        raw.truncate(48);
        let p = Packet::parse(&raw).unwrap();
        assert!(p.mac.is_none());
        assert_eq!(p.mac_covered_len(), 48);
        raw.extend_from_slice(&[0; 4]);
        let p = Packet::parse(&raw).unwrap();
        assert!(p.mac.unwrap().is_crypto_nak());
        assert_eq!(p.serialize(), raw);
    }

    #[test]
    fn rejections() {
        let raw = assoc_request();
        let mut control = raw.clone();
        control[0] = 0x16;
        assert_eq!(Packet::parse(&control), Err(ParseError::ControlMode));
        control[0] = 0x17;
        assert_eq!(Packet::parse(&control), Err(ParseError::PrivateMode));
        assert!(matches!(
            Packet::parse(&raw[..40]),
            Err(ParseError::TooShort { .. })
        ));
        assert!(matches!(
            Packet::parse(&[]),
            Err(ParseError::TooShort { .. })
        ));
        let mut long = raw.clone();
        long.resize(MAX_DATAGRAM_LEN + 1, 0);
        assert_eq!(
            Packet::parse(&long),
            Err(ParseError::TooLong {
                len: 2121,
                max: 2120
            })
        );
        // Autokey key ID with a 4-octet MAC.
        let mut short = raw[..48].to_vec();
        short.extend_from_slice(&[0x0e, 0xc8, 0x55, 0x56]);
        assert!(matches!(
            Packet::parse(&short),
            Err(ParseError::AutokeyDigestTooShort { .. })
        ));
        // Unaligned trailer.
        assert!(matches!(
            Packet::parse(&raw[..95]),
            Err(ParseError::BadTrailerLength { .. })
        ));
    }

    #[test]
    fn ambiguity_detection() {
        let h = Header::parse(&assoc_request()).unwrap();
        let mut p = Packet::new(h);
        p.fields.push(
            ExtensionField::new_autokey(AutokeyHeader::request(AutokeyCode::Leap, 1), None)
                .unwrap(),
        );
        assert!(!p.is_unambiguous()); // 8-octet field, no MAC: read back as a MAC
        p.mac = Some(Mac::new(0x1234_5678, &[9; 16]).unwrap());
        assert!(p.is_unambiguous());
        assert_eq!(Packet::parse(&p.serialize()).unwrap(), p);
    }

    fn arb_packet() -> impl Strategy<Value = Packet> {
        let header = crate::header::tests::arb_header();
        let generic = (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..20)).prop_map(
            |(ty, mut body)| {
                body.truncate(body.len() / 4 * 4);
                ExtensionField::new(ty, &body).unwrap()
            },
        );
        let autokey = (
            any::<bool>(),
            1u8..=9,
            any::<u32>(),
            proptest::option::of((
                any::<u32>(),
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 1..80),
                proptest::collection::vec(any::<u8>(), 0..70),
            )),
        )
            .prop_map(|(resp, code, assoc, value)| {
                let h = AutokeyHeader {
                    response: resp,
                    ..AutokeyHeader::request(AutokeyCode::from_u8(code), assoc)
                };
                match value {
                    None => ExtensionField::new_autokey(h, None).unwrap(),
                    Some((ts, fs, v, s)) => ExtensionField::new_autokey(
                        h,
                        Some(&AutokeyValue {
                            timestamp: ts,
                            filestamp: fs,
                            value: &v,
                            signature: &s,
                        }),
                    )
                    .unwrap(),
                }
            });
        let field = prop_oneof![generic, autokey];
        let mac = prop_oneof![
            Just(None),
            Just(Some(Mac::crypto_nak())),
            (1u32..=65535).prop_map(|k| Some(Mac::new(k, &[]).unwrap())),
            (any::<u32>(), proptest::array::uniform16(any::<u8>()))
                .prop_map(|(k, d)| Some(Mac::new(k, &d).unwrap())),
            (any::<u32>(), proptest::array::uniform20(any::<u8>()))
                .prop_map(|(k, d)| Some(Mac::new(k, &d).unwrap())),
        ];
        (header, proptest::collection::vec(field, 0..4), mac).prop_map(|(header, fields, mac)| {
            Packet {
                header,
                fields,
                mac,
            }
        })
    }

    proptest! {
        #[test]
        fn serialize_then_parse_is_identity(p in arb_packet()) {
            let bytes = p.serialize();
            prop_assert_eq!(bytes.len(), p.serialized_len());
            if p.is_unambiguous() {
                prop_assert_eq!(Packet::parse(&bytes), Ok(p.clone()));
            }
            let mut buf = vec![0u8; MAX_DATAGRAM_LEN + 100];
            let n = p.serialize_into(&mut buf).unwrap();
            prop_assert_eq!(&buf[..n], &bytes[..]);
        }

        #[test]
        fn parse_then_serialize_is_identity(p in arb_packet(), noise in proptest::collection::vec(any::<u8>(), 0..8)) {
            // Any accepted datagram, including ones built ambiguously, and
            // random trailing octets: what parses serialises back exactly.
            let mut bytes = p.serialize();
            bytes.extend_from_slice(&noise);
            if let Ok(parsed) = Packet::parse(&bytes) {
                prop_assert_eq!(parsed.serialize(), bytes.clone());
                let r = PacketRef::parse(&bytes).unwrap();
                prop_assert_eq!(r.authenticated_bytes().len() + parsed.mac.map_or(0, |m| m.len()), bytes.len());
                prop_assert!(parsed.is_unambiguous());
            }
        }

        #[test]
        fn random_bytes_never_panic(mut raw in proptest::collection::vec(any::<u8>(), 0..300), vn in 1u8..=4) {
            if let Some(b) = raw.first_mut() {
                *b = (*b & !0x38) | (vn << 3);
            }
            if let Ok(p) = Packet::parse(&raw) {
                prop_assert_eq!(p.serialize(), raw);
            }
        }
    }
}
