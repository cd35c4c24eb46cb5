//! The NTS extension fields of an NTPv4 packet (RFC 8915 §5.3–§5.6) in
//! the RFC 7822 layout: a 16-bit field type, a 16-bit length counting the
//! whole field, and a body zero-padded to a multiple of four octets.
//!
//! These live here rather than in `proto` because an NTS packet has no
//! legacy MAC: `proto`'s walker follows the reference ntpd's rule that the
//! last 24 octets or fewer are a MAC, which would misread a short NTS
//! field. [`parse_fields`] requires the fields to run exactly to the end of
//! the datagram.

use thiserror::Error;

use crate::aead::TAG_LEN;

/// Field types (§7.5, "NTP Extension Field Types").
pub mod field_type {
    /// Unique Identifier (§5.3).
    pub const UNIQUE_IDENTIFIER: u16 = 0x0104;
    /// NTS Cookie (§5.4).
    pub const COOKIE: u16 = 0x0204;
    /// NTS Cookie Placeholder (§5.5).
    pub const COOKIE_PLACEHOLDER: u16 = 0x0304;
    /// NTS Authenticator and Encrypted Extension Fields (§5.6).
    pub const AUTHENTICATOR: u16 = 0x0404;
}

/// Offset of the first extension field: the NTPv4 header's length.
pub const NTP_HEADER_LEN: usize = 48;
/// Octets of the unique identifiers this crate makes (§5.3: at least 32).
pub const UNIQUE_ID_LEN: usize = 32;
/// Smallest field this crate sends (RFC 7822 §3).
pub const MIN_SENT_FIELD_LEN: usize = 16;
/// Octets a receiver needs in nonce plus additional padding (§5.6's
/// N_REQ for AEAD_AES_SIV_CMAC_256, whose N_MIN is 1, is 16).
pub const MIN_NONCE_ROOM: usize = 16;

/// Why extension fields were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum FieldError {
    /// The packet is shorter than an NTP header.
    #[error("packet of {len} octets is shorter than an NTP header")]
    ShortPacket {
        /// The packet length.
        len: usize,
    },
    /// A field's length is not a multiple of four, below four, or runs past
    /// the end of the packet.
    #[error("extension field at offset {offset} has a bad length {len}")]
    BadLength {
        /// Where the field starts.
        offset: usize,
        /// Its length word.
        len: usize,
    },
    /// Octets after the fields that do not form a field.
    #[error("{left} octets after the extension fields at offset {offset} do not form a field")]
    Trailing {
        /// Where they start.
        offset: usize,
        /// How many.
        left: usize,
    },
    /// An authenticator body whose lengths do not add up.
    #[error("NTS authenticator with nonce length {nonce_len} and ciphertext length {ciphertext_len} does not fit its {body_len}-octet body")]
    AuthenticatorLayout {
        /// The nonce length word.
        nonce_len: usize,
        /// The ciphertext length word.
        ciphertext_len: usize,
        /// Octets of body.
        body_len: usize,
    },
    /// Nonce plus additional padding below [`MIN_NONCE_ROOM`].
    #[error("NTS authenticator nonce of {nonce_len} octets is too short")]
    ShortNonce {
        /// The nonce length word.
        nonce_len: usize,
    },
    /// A ciphertext shorter than the AEAD tag.
    #[error(
        "NTS authenticator ciphertext of {ciphertext_len} octets is shorter than the AEAD tag"
    )]
    ShortCiphertext {
        /// The ciphertext length word.
        ciphertext_len: usize,
    },
}

/// One extension field, borrowed from a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldRef<'a> {
    /// The field type.
    pub field_type: u16,
    /// The body, padding included.
    pub body: &'a [u8],
    /// Offset of the field's first octet in the buffer parsed.
    pub start: usize,
}

fn word(buf: &[u8], at: usize) -> Option<usize> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

/// Splits `buf[start..]` into extension fields that end exactly at the end
/// of `buf`.
pub fn parse_fields(buf: &[u8], start: usize) -> Result<Vec<FieldRef<'_>>, FieldError> {
    fields(buf, start).collect()
}

/// The fields of `buf[start..]` one by one, without collecting them; after
/// the first error it yields nothing more. [`parse_fields`] is this,
/// collected.
pub fn fields(buf: &[u8], start: usize) -> Fields<'_> {
    Fields { buf, at: start }
}

/// The iterator [`fields`] returns.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<FieldRef<'a>, FieldError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (buf, at) = (self.buf, self.at);
        if at >= buf.len() {
            return None;
        }
        // Whatever happens next, this field is the last one looked at.
        self.at = buf.len();
        let left = buf.len() - at;
        let (Some(field_type), Some(len)) = (word(buf, at), word(buf, at + 2)) else {
            return Some(Err(FieldError::Trailing { offset: at, left }));
        };
        if len < 4 || len % 4 != 0 || len > left {
            return Some(Err(FieldError::BadLength { offset: at, len }));
        }
        self.at = at + len;
        Some(Ok(FieldRef {
            field_type: field_type as u16,
            body: &buf[at + 4..at + len],
            start: at,
        }))
    }
}

/// The fields of an NTP packet (after its 48-octet header).
pub fn packet_fields(packet: &[u8]) -> Result<Vec<FieldRef<'_>>, FieldError> {
    if packet.len() < NTP_HEADER_LEN {
        return Err(FieldError::ShortPacket { len: packet.len() });
    }
    parse_fields(packet, NTP_HEADER_LEN)
}

const fn pad4(x: usize) -> usize {
    (x + 3) & !3
}

/// Appends a field of type `field_type` with `body`, zero-padded to a
/// multiple of four and to at least [`MIN_SENT_FIELD_LEN`] octets in all.
///
/// # Panics
///
/// If `body` is longer than 65531 octets; callers pass bodies of a few
/// hundred octets at most.
pub fn push_field(out: &mut Vec<u8>, field_type: u16, body: &[u8]) {
    let len = pad4(4 + body.len()).max(MIN_SENT_FIELD_LEN);
    let len16 = u16::try_from(len).expect("extension field body under 65532 octets");
    out.extend_from_slice(&field_type.to_be_bytes());
    out.extend_from_slice(&len16.to_be_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + len - 4 - body.len(), 0);
}

/// The parts of an NTS Authenticator and Encrypted Extension Fields body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authenticator<'a> {
    /// The nonce, without padding.
    pub nonce: &'a [u8],
    /// The AEAD output (synthetic IV and ciphertext), without padding.
    pub ciphertext: &'a [u8],
}

/// Reads an authenticator field's body (§5.6).
pub fn parse_authenticator(body: &[u8]) -> Result<Authenticator<'_>, FieldError> {
    let (Some(nonce_len), Some(ciphertext_len)) = (word(body, 0), word(body, 2)) else {
        return Err(FieldError::AuthenticatorLayout {
            nonce_len: 0,
            ciphertext_len: 0,
            body_len: body.len(),
        });
    };
    let layout = FieldError::AuthenticatorLayout {
        nonce_len,
        ciphertext_len,
        body_len: body.len(),
    };
    let nonce_end = 4 + pad4(nonce_len);
    let ct_end = nonce_end + pad4(ciphertext_len);
    if ct_end > body.len() {
        return Err(layout);
    }
    let additional = body.len() - ct_end;
    if nonce_len == 0 || pad4(nonce_len) + additional < MIN_NONCE_ROOM {
        return Err(FieldError::ShortNonce { nonce_len });
    }
    if ciphertext_len < TAG_LEN {
        return Err(FieldError::ShortCiphertext { ciphertext_len });
    }
    Ok(Authenticator {
        nonce: &body[4..4 + nonce_len],
        ciphertext: &body[nonce_end..nonce_end + ciphertext_len],
    })
}

/// Appends an authenticator field with `nonce` and `ciphertext`.
pub fn push_authenticator(out: &mut Vec<u8>, nonce: &[u8], ciphertext: &[u8]) {
    let mut body = Vec::with_capacity(4 + pad4(nonce.len()) + pad4(ciphertext.len()));
    body.extend_from_slice(&(nonce.len() as u16).to_be_bytes());
    body.extend_from_slice(&(ciphertext.len() as u16).to_be_bytes());
    body.extend_from_slice(nonce);
    body.resize(4 + pad4(nonce.len()), 0);
    body.extend_from_slice(ciphertext);
    body.resize(4 + pad4(nonce.len()) + pad4(ciphertext.len()), 0);
    push_field(out, field_type::AUTHENTICATOR, &body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_pads_to_four_and_sixteen() {
        let mut out = Vec::new();
        push_field(&mut out, field_type::COOKIE, &[1, 2, 3, 4, 5]);
        assert_eq!(out, [2, 4, 0, 16, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0]);
        let mut out = Vec::new();
        push_field(&mut out, field_type::UNIQUE_IDENTIFIER, &[9; 33]);
        assert_eq!(out.len(), 40);
        assert_eq!(&out[..4], [1, 4, 0, 40]);
    }

    #[test]
    fn parse_round_trip() {
        let mut p = vec![0; 48];
        push_field(&mut p, field_type::UNIQUE_IDENTIFIER, &[7; 32]);
        push_authenticator(&mut p, &[1; 16], &[2; 17]);
        let fields = packet_fields(&p).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].field_type, field_type::UNIQUE_IDENTIFIER);
        assert_eq!(fields[0].body, [7; 32]);
        assert_eq!(fields[1].start, 48 + 36);
        let a = parse_authenticator(fields[1].body).unwrap();
        assert_eq!(a.nonce, [1; 16]);
        assert_eq!(a.ciphertext, [2; 17]);
    }

    #[test]
    fn refuses_bad_framing() {
        assert_eq!(
            packet_fields(&[0; 47]),
            Err(FieldError::ShortPacket { len: 47 })
        );
        let mut p = vec![0; 48];
        p.extend_from_slice(&[1, 4, 0, 6, 0, 0, 0, 0]);
        assert_eq!(
            packet_fields(&p),
            Err(FieldError::BadLength { offset: 48, len: 6 })
        );
        let mut p = vec![0; 48];
        p.extend_from_slice(&[1, 4, 0, 12, 0, 0, 0, 0]);
        assert_eq!(
            packet_fields(&p),
            Err(FieldError::BadLength {
                offset: 48,
                len: 12
            })
        );
        let mut p = vec![0; 48];
        p.extend_from_slice(&[1, 4, 0, 0]);
        assert_eq!(
            packet_fields(&p),
            Err(FieldError::BadLength { offset: 48, len: 0 })
        );
        let mut p = vec![0; 48];
        p.extend_from_slice(&[1, 4]);
        assert_eq!(
            packet_fields(&p),
            Err(FieldError::Trailing {
                offset: 48,
                left: 2
            })
        );
    }

    #[test]
    fn refuses_bad_authenticators() {
        // Lengths past the body.
        let body = [0, 16, 0, 16, 0, 0, 0, 0];
        assert!(matches!(
            parse_authenticator(&body),
            Err(FieldError::AuthenticatorLayout { .. })
        ));
        assert!(matches!(
            parse_authenticator(&[0, 1]),
            Err(FieldError::AuthenticatorLayout { .. })
        ));
        // A 4-octet nonce and no additional padding.
        let mut body = vec![0, 4, 0, 16];
        body.extend_from_slice(&[0; 20]);
        assert_eq!(
            parse_authenticator(&body),
            Err(FieldError::ShortNonce { nonce_len: 4 })
        );
        // The same nonce with 12 octets of additional padding is accepted.
        body.extend_from_slice(&[0; 12]);
        assert_eq!(parse_authenticator(&body).unwrap().nonce.len(), 4);
        // A ciphertext shorter than the tag.
        let mut body = vec![0, 16, 0, 8];
        body.extend_from_slice(&[0; 24]);
        assert_eq!(
            parse_authenticator(&body),
            Err(FieldError::ShortCiphertext { ciphertext_len: 8 })
        );
    }
}
