//! Recognition of mode 7 ("private", ntpdc) packets, so the daemon can drop
//! them. Mode 7 is the reference's own monitoring protocol (`ntp_request.h`);
//! this daemon never answers it. Only the 8-octet header is decoded:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|M| VN  | Mode|A|  Sequence   | Implementation|   Req Code    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Err  | Number of data items  |  MBZ  |   Size of data item   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use thiserror::Error;

/// NTP mode number of private (mode 7) packets.
pub const MODE_PRIVATE: u8 = 7;
/// Length of the mode 7 header in octets.
pub const MODE7_HEADER_LEN: usize = 8;

/// Why a datagram is not a decodable mode 7 header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Mode7Error {
    /// Fewer octets than the 8-octet mode 7 header.
    #[error("mode 7 packet of {len} octets is shorter than the 8-octet header")]
    TooShort {
        /// Datagram length in octets.
        len: usize,
    },
    /// The mode field of the first octet is not 7.
    #[error("mode field is {mode}, not 7")]
    WrongMode {
        /// The 3-bit mode field as received.
        mode: u8,
    },
}

/// Whether a datagram is a mode 7 packet: the low three bits of its first
/// octet are 7. True for any length, so that even a truncated mode 7 packet
/// is recognised and dropped.
pub fn is_mode7(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| b & 0x07 == MODE_PRIVATE)
}

/// The fixed header of a mode 7 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mode7Header {
    /// R: response.
    pub response: bool,
    /// M: more packets follow.
    pub more: bool,
    /// Version number (3 bits; ntpdc sends 2).
    pub version: u8,
    /// A: the request is authenticated.
    pub authenticated: bool,
    /// Sequence number within a multi-packet response (7 bits).
    pub sequence: u8,
    /// Implementation number (0 universal, 2 and 3 xntpd).
    pub implementation: u8,
    /// Request code.
    pub request_code: u8,
    /// Error code of a response (4 bits).
    pub error: u8,
    /// Number of data items (12 bits).
    pub item_count: u16,
    /// Must-be-zero bits (4 bits).
    pub mbz: u8,
    /// Size of one data item (12 bits).
    pub item_size: u16,
}

impl Mode7Header {
    /// Decodes the first eight octets.
    pub fn parse(datagram: &[u8]) -> Result<Self, Mode7Error> {
        let Some(h) = datagram.first_chunk::<MODE7_HEADER_LEN>() else {
            return Err(Mode7Error::TooShort {
                len: datagram.len(),
            });
        };
        let mode = h[0] & 0x07;
        if mode != MODE_PRIVATE {
            return Err(Mode7Error::WrongMode { mode });
        }
        let err_items = u16::from_be_bytes([h[4], h[5]]);
        let mbz_size = u16::from_be_bytes([h[6], h[7]]);
        Ok(Self {
            response: h[0] & 0x80 != 0,
            more: h[0] & 0x40 != 0,
            version: (h[0] >> 3) & 0x07,
            authenticated: h[1] & 0x80 != 0,
            sequence: h[1] & 0x7f,
            implementation: h[2],
            request_code: h[3],
            error: (err_items >> 12) as u8,
            item_count: err_items & 0x0fff,
            mbz: (mbz_size >> 12) as u8,
            item_size: mbz_size & 0x0fff,
        })
    }

    /// The eight header octets (fields masked to their widths).
    pub fn to_bytes(&self) -> [u8; MODE7_HEADER_LEN] {
        let err_items = (u16::from(self.error & 0x0f) << 12) | (self.item_count & 0x0fff);
        let mbz_size = (u16::from(self.mbz & 0x0f) << 12) | (self.item_size & 0x0fff);
        let [e0, e1] = err_items.to_be_bytes();
        let [m0, m1] = mbz_size.to_be_bytes();
        [
            (if self.response { 0x80 } else { 0 })
                | (if self.more { 0x40 } else { 0 })
                | ((self.version & 0x07) << 3)
                | MODE_PRIVATE,
            (if self.authenticated { 0x80 } else { 0 }) | (self.sequence & 0x7f),
            self.implementation,
            self.request_code,
            e0,
            e1,
            m0,
            m1,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_ntpdc_request() {
        // An ntpdc "peers" request (version 2, implementation 3 XNTPD,
        // request code 0 REQ_PEER_LIST), no data.
        let mut pkt = vec![0x17, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00];
        pkt.resize(48, 0);
        assert!(is_mode7(&pkt));
        let h = Mode7Header::parse(&pkt).unwrap();
        assert!(!h.response && !h.more && !h.authenticated);
        assert_eq!(
            (h.version, h.sequence, h.implementation, h.request_code),
            (2, 0, 3, 0)
        );
        assert_eq!(h.to_bytes(), pkt[..8]);
    }

    #[test]
    fn fields_and_lengths() {
        let bytes = [0xd7, 0x85, 0x02, 0x2a, 0x30, 0x05, 0x00, 0x48];
        let h = Mode7Header::parse(&bytes).unwrap();
        assert!(h.response && h.more && h.authenticated);
        assert_eq!(
            (h.sequence, h.error, h.item_count, h.item_size),
            (5, 3, 5, 0x48)
        );
        assert_eq!(h.to_bytes(), bytes);
        assert!(is_mode7(&[0x27]));
        assert!(!is_mode7(&[]));
        assert!(!is_mode7(&[0x16; 12])); // mode 6
        assert!(!is_mode7(&[0x23; 48])); // mode 3 client
        assert_eq!(
            Mode7Header::parse(&[0x17; 7]),
            Err(Mode7Error::TooShort { len: 7 })
        );
        assert_eq!(
            Mode7Header::parse(&[0x16; 8]),
            Err(Mode7Error::WrongMode { mode: 6 })
        );
    }

    #[test]
    fn every_header_round_trips() {
        for b0 in 0..=255u8 {
            for b1 in [0u8, 0x7f, 0x80, 0xff] {
                let bytes = [b0 | 0x07, b1, 1, 2, b0, b1, b1, b0];
                assert_eq!(Mode7Header::parse(&bytes).unwrap().to_bytes(), bytes);
            }
        }
    }
}
