//! Assembling an authenticated datagram: header, Autokey fields, and the
//! session-key MAC over `[0, authlen)` (brief §1.1, §5.1).

use proto::exten::ExtensionField;
use proto::{Header, Packet};

use crate::error::{AutokeyError, Result};
use crate::session::SessionKey;

/// Serialises `header ‖ fields ‖ MAC(key)`.
pub fn seal(header: Header, fields: Vec<ExtensionField>, key: &SessionKey) -> Result<Vec<u8>> {
    let mut p = Packet {
        header,
        fields,
        mac: None,
    };
    let unsealed = p.serialize();
    p.mac = Some(key.mac(&unsealed)?);
    Ok(p.serialize())
}

/// Appends `fields` and the session-key MAC to a datagram whose first
/// `len` octets (the header, as the daemon built it in place) are already
/// in `buf`: the header is neither parsed nor serialised again, and the
/// MAC covers `buf[..len]` and the fields (brief §5.1). Returns the new
/// length; `buf` is left as it was when the whole does not fit.
pub fn seal_after(
    buf: &mut [u8],
    len: usize,
    fields: &[ExtensionField],
    key: &SessionKey,
) -> Result<usize> {
    let covered = len + fields.iter().map(ExtensionField::len).sum::<usize>();
    // The MAC is at most the key ID and a 20-octet digest.
    let needed = covered + proto::mac::MAX_MAC_LEN;
    if needed > buf.len() {
        return Err(AutokeyError::DatagramTooLong {
            needed,
            available: buf.len(),
        });
    }
    let mut at = len;
    for f in fields {
        let bytes = f.as_bytes();
        buf[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    }
    let mac = key.mac(&buf[..covered])?;
    let end = covered + mac.len();
    buf[covered..end].copy_from_slice(mac.as_bytes());
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionDigest;
    use std::net::{IpAddr, Ipv4Addr};

    fn key() -> SessionKey {
        let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let b = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        SessionKey::derive(SessionDigest::Md5, a, b, 0x1234_5678, 0).unwrap()
    }

    #[test]
    fn sealing_after_an_in_place_header_gives_the_octets_of_seal() {
        let header = Header::parse(&[0x23; 48]).unwrap();
        let field = ExtensionField::new(0x0102, &[1; 12]).unwrap();
        let expect = seal(header, vec![field.clone()], &key()).unwrap();
        let mut buf = [0u8; 200];
        buf[..48].copy_from_slice(&header.to_bytes());
        let n = seal_after(&mut buf, 48, &[field], &key()).unwrap();
        assert_eq!(&buf[..n], &expect[..]);
    }

    #[test]
    fn a_buffer_too_small_is_refused_and_left_alone() {
        let header = Header::parse(&[0x23; 48]).unwrap();
        let mut buf = [0u8; 60];
        buf[..48].copy_from_slice(&header.to_bytes());
        let before = buf;
        let field = ExtensionField::new(0x0102, &[0; 12]).unwrap();
        let e = seal_after(&mut buf, 48, &[field], &key()).unwrap_err();
        assert!(matches!(
            e,
            AutokeyError::DatagramTooLong { available: 60, .. }
        ));
        assert_eq!(buf, before);
    }
}
