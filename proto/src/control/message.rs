//! A whole mode 6 datagram: header, data, padding and optional MAC
//! (RFC 9327 §2, authentication as the reference ntpd/ntpq do it).
//!
//! Layout: the 12-octet header, `count` data octets, then either
//! * padding to a 4-octet boundary (unauthenticated), or
//! * padding to an 8-octet boundary followed by a 4-octet key id and a 16-
//!   (MD5, AES-CMAC) or 20-octet (SHA1) digest.
//!
//! The reference ntpd decides that a request carries a MAC when the octets
//! after the data, rounded up to 8, leave 4 to 24 octets and the datagram
//! length is a multiple of 4; the MAC then starts at that 8-octet boundary.
//! This codec applies the same rule for the two MAC sizes the reference can
//! produce (20 and 24 octets). Any other trailing octets are kept verbatim as
//! padding so that serialising gives back the received datagram exactly.

use super::error::ControlError;
use super::header::{ControlHeader, HEADER_LEN, MAX_DATA_LEN};
use super::status::ErrorCode;

/// Length of the key id in front of the digest.
pub const KEY_ID_LEN: usize = 4;
/// Digest length of MD5 and AES-CMAC MACs.
pub const DIGEST_LEN_MD5: usize = 16;
/// Digest length of SHA1 MACs.
pub const DIGEST_LEN_SHA1: usize = 20;

/// The authenticator of a mode 6 message: key id and digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ControlMac {
    /// The 32-bit key ID of the symmetric key (ntp.keys(5)) that made the
    /// digest; the server accepts only its `controlkey`.
    pub key_id: u32,
    digest: Vec<u8>,
}

impl ControlMac {
    /// A MAC with a 16- or 20-octet digest.
    pub fn new(key_id: u32, digest: &[u8]) -> Result<Self, ControlError> {
        if digest.len() != DIGEST_LEN_MD5 && digest.len() != DIGEST_LEN_SHA1 {
            return Err(ControlError::BadDigestLength { len: digest.len() });
        }
        Ok(Self {
            key_id,
            digest: digest.to_vec(),
        })
    }

    /// The digest (16 or 20 octets).
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// Key id plus digest length on the wire (20 or 24).
    pub fn wire_len(&self) -> usize {
        KEY_ID_LEN + self.digest.len()
    }
}

/// One mode 6 datagram.
///
/// Built by [`ControlMessage::parse`] (keeps every received octet) or by
/// [`ControlMessage::new`] / [`ControlMessage::with_mac`] (zero padding as
/// the reference writes it). For every message built either way,
/// `parse(&m.serialize()) == Ok(m)`, and for every datagram `b` that parses,
/// `parse(b)?.serialize() == b`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ControlMessage {
    /// The 12-octet header (RFC 9327 §2).
    pub header: ControlHeader,
    data: Vec<u8>,
    padding: Vec<u8>,
    mac: Option<ControlMac>,
}

/// Rounds `n` up to a multiple of `to` (a power of two).
fn round_up(n: usize, to: usize) -> usize {
    (n + to - 1) & !(to - 1)
}

impl ControlMessage {
    /// A message carrying `data` (at most [`MAX_DATA_LEN`] octets), zero
    /// padded to a 4-octet boundary, without MAC.
    pub fn new(header: ControlHeader, data: &[u8]) -> Result<Self, ControlError> {
        if data.len() > MAX_DATA_LEN {
            return Err(ControlError::DataTooLong {
                len: data.len(),
                max: MAX_DATA_LEN,
            });
        }
        let pad = round_up(HEADER_LEN + data.len(), 4) - HEADER_LEN - data.len();
        Ok(Self {
            header,
            data: data.to_vec(),
            padding: vec![0; pad],
            mac: None,
        })
    }

    /// The error response (E bit) the reference ntpd sends for `request`:
    /// the error code in the status word's high octet, no data.
    pub fn error_response(request: &ControlHeader, leap: u8, code: ErrorCode) -> Self {
        let header = ControlHeader {
            error: true,
            ..ControlHeader::response_to(request, leap, code.to_status())
        };
        Self {
            header,
            data: Vec::new(),
            padding: Vec::new(),
            mac: None,
        }
    }

    /// The same message authenticated: zero padding to an 8-octet boundary,
    /// then `mac`. The digest is computed over
    /// [`ControlMessage::authenticated_bytes`], which are the same before
    /// and after this call.
    pub fn with_mac(mut self, mac: ControlMac) -> Self {
        let end = HEADER_LEN + self.data.len();
        self.padding = vec![0; round_up(end, 8) - end];
        self.mac = Some(mac);
        self
    }

    /// The same message without MAC, zero padded to a 4-octet boundary.
    pub fn without_mac(mut self) -> Self {
        let end = HEADER_LEN + self.data.len();
        self.padding = vec![0; round_up(end, 4) - end];
        self.mac = None;
        self
    }

    /// Decodes a datagram. Checks the length, the mode and the count field;
    /// trailing octets are split into padding and MAC as described in the
    /// module documentation. The count is not limited to [`MAX_DATA_LEN`]
    /// here (the reference ntpd does not limit it either).
    pub fn parse(bytes: &[u8]) -> Result<Self, ControlError> {
        let (header, count) = ControlHeader::parse(bytes)?;
        let count = usize::from(count);
        let rest = bytes.get(HEADER_LEN..).unwrap_or_default();
        if count > rest.len() {
            return Err(ControlError::CountBeyondDatagram {
                count,
                available: rest.len(),
            });
        }
        let (data, trailer) = rest.split_at(count);
        let mac_start = round_up(HEADER_LEN + count, 8) - HEADER_LEN - count;
        let mac_len = trailer.len().checked_sub(mac_start);
        let (padding, mac) = match mac_len {
            Some(n)
                if bytes.len() % 4 == 0
                    && (n == KEY_ID_LEN + DIGEST_LEN_MD5 || n == KEY_ID_LEN + DIGEST_LEN_SHA1) =>
            {
                let (pad, mac) = trailer.split_at(mac_start);
                let (key, digest) = mac.split_at(KEY_ID_LEN);
                let key_id = u32::from_be_bytes([key[0], key[1], key[2], key[3]]);
                (
                    pad,
                    Some(ControlMac {
                        key_id,
                        digest: digest.to_vec(),
                    }),
                )
            }
            _ => (trailer, None),
        };
        Ok(Self {
            header,
            data: data.to_vec(),
            padding: padding.to_vec(),
            mac,
        })
    }

    /// The datagram octets.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.wire_len());
        self.serialize_into(&mut out);
        out
    }

    /// Appends the datagram octets to `out`.
    pub fn serialize_into(&self, out: &mut Vec<u8>) {
        let count = u16::try_from(self.data.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&self.header.to_bytes(count));
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.padding);
        if let Some(mac) = &self.mac {
            out.extend_from_slice(&mac.key_id.to_be_bytes());
            out.extend_from_slice(&mac.digest);
        }
    }

    /// Length of the datagram.
    pub fn wire_len(&self) -> usize {
        HEADER_LEN
            + self.data.len()
            + self.padding.len()
            + self.mac.as_ref().map_or(0, ControlMac::wire_len)
    }

    /// The data field (`count` octets).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The count field.
    pub fn count(&self) -> usize {
        self.data.len()
    }

    /// Octets between the data and the MAC (or the end), as received.
    pub fn padding(&self) -> &[u8] {
        &self.padding
    }

    /// The authenticator, if the message carries one.
    pub fn mac(&self) -> Option<&ControlMac> {
        self.mac.as_ref()
    }

    /// The octets a MAC covers: header, data and padding up to the key id
    /// (what the reference passes to `authencrypt`/`authdecrypt`). For a
    /// message with a MAC, the received padding; without one, zero padding
    /// to the 8-octet boundary that [`ControlMessage::with_mac`] would add.
    pub fn authenticated_bytes(&self) -> Vec<u8> {
        let count = u16::try_from(self.data.len()).unwrap_or(u16::MAX);
        let mut out = Vec::with_capacity(self.wire_len() + 8);
        out.extend_from_slice(&self.header.to_bytes(count));
        out.extend_from_slice(&self.data);
        if self.mac.is_some() {
            out.extend_from_slice(&self.padding);
        } else {
            out.resize(round_up(out.len(), 8), 0);
        }
        out
    }

    /// Whether the datagram length is a multiple of 4 octets, which the
    /// reference ntpd requires of requests (else it answers "bad format")
    /// and ntpq of responses (else it ignores them).
    pub fn is_aligned(&self) -> bool {
        self.wire_len() % 4 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::header::Opcode;

    #[test]
    fn request_with_data_is_padded_to_four() {
        let h = ControlHeader::request(2, Opcode::ReadVariables, 7, 0);
        let m = ControlMessage::new(h, b"peer").unwrap();
        assert_eq!(m.wire_len(), 16);
        let m = ControlMessage::new(h, b"stratum").unwrap();
        assert_eq!(m.serialize().len(), 20);
        assert_eq!(m.padding(), &[0]);
        assert_eq!(ControlMessage::parse(&m.serialize()).unwrap(), m);
    }

    #[test]
    fn mac_starts_on_eight_octet_boundary() {
        let h = ControlHeader::request(2, Opcode::WriteVariables, 3, 0);
        let mac = ControlMac::new(0x0102_0304, &[0xaa; 16]).unwrap();
        let plain = ControlMessage::new(h, b"leap=1").unwrap();
        let m = plain.clone().with_mac(mac.clone());
        assert_eq!(plain.authenticated_bytes(), m.authenticated_bytes());
        let bytes = m.serialize();
        // 12 + 6 = 18, padded to 24, then 4 + 16.
        assert_eq!(bytes.len(), 44);
        assert_eq!(&bytes[24..28], &[1, 2, 3, 4]);
        assert_eq!(m.authenticated_bytes(), bytes[..24].to_vec());
        let back = ControlMessage::parse(&bytes).unwrap();
        assert_eq!(back.mac(), Some(&mac));
        assert_eq!(back, m);
        // SHA1 digest, no data: MAC right after the 12-octet header padded to 16.
        let sha = ControlMac::new(9, &[0x55; 20]).unwrap();
        let m = ControlMessage::new(h, b"").unwrap().with_mac(sha);
        assert_eq!(m.wire_len(), 16 + 24);
        assert_eq!(ControlMessage::parse(&m.serialize()).unwrap(), m);
        assert_eq!(m.clone().without_mac().wire_len(), 12);
    }

    #[test]
    fn error_response_layout() {
        let req = ControlHeader::request(2, Opcode::ReadVariables, 5, 77);
        let m = ControlMessage::error_response(&req, 0, ErrorCode::UnknownAssociation);
        assert_eq!(
            m.serialize(),
            [0x16, 0xc2, 0, 5, 0x04, 0x00, 0, 77, 0, 0, 0, 0]
        );
        assert_eq!(ControlMessage::parse(&m.serialize()).unwrap(), m);
    }

    #[test]
    fn odd_trailers_are_kept_verbatim() {
        let mut b = ControlMessage::new(ControlHeader::request(2, Opcode::ReadStatus, 1, 0), b"")
            .unwrap()
            .serialize();
        b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7]);
        let m = ControlMessage::parse(&b).unwrap();
        assert!(m.mac().is_none());
        assert_eq!(m.padding().len(), 7);
        assert!(!m.is_aligned());
        assert_eq!(m.serialize(), b);
    }

    #[test]
    fn rejects_bad_lengths() {
        let h = ControlHeader::request(2, Opcode::ReadVariables, 1, 0);
        let mut b = h.to_bytes(5).to_vec();
        b.extend_from_slice(b"abcd");
        assert_eq!(
            ControlMessage::parse(&b),
            Err(ControlError::CountBeyondDatagram {
                count: 5,
                available: 4
            })
        );
        assert_eq!(
            ControlMessage::new(h, &[0; 469]),
            Err(ControlError::DataTooLong {
                len: 469,
                max: MAX_DATA_LEN
            })
        );
        assert_eq!(
            ControlMac::new(1, &[0; 32]),
            Err(ControlError::BadDigestLength { len: 32 })
        );
    }
}
