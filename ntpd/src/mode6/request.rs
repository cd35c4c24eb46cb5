//! Screening a mode 6 request and reading the variable names it carries,
//! with the reference's rules (`process_control`, `ctl_getitem`).

use proto::control::{ControlHeader, HEADER_LEN, MODE_CONTROL};

/// Longest value the reference accepts in a request item (its buffer is
/// 128 octets with the terminating NUL); a longer one ends the parsing of
/// the request, as if it had no more items.
const MAX_ITEM_VALUE: usize = 127;

/// Shortest MAC trailer the reference recognises (a bare key ID).
const MIN_MAC_LEN: usize = 4;
/// Longest MAC trailer (key ID and a 20-octet digest).
const MAX_MAC_LEN: usize = 24;

/// Why a datagram gets no answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Shorter than the 12-octet header.
    TooShort,
    /// Not mode 6.
    NotControl,
    /// A response, an error or a fragment (R, E or M bit, or an offset).
    NotARequest,
    /// Version outside 1..=4.
    BadVersion,
}

/// A request that passed screening.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub header: ControlHeader,
    /// The `count` data octets.
    pub data: &'a [u8],
    /// The MAC trailer, when the datagram carries one: the octets it
    /// covers (header, data, padding to 8), key ID and digest.
    pub mac: Option<RequestMac<'a>>,
}

/// The MAC of a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestMac<'a> {
    pub covered: &'a [u8],
    pub key_id: u32,
    pub digest: &'a [u8],
}

/// Outcome of [`screen`].
#[derive(Debug, Clone)]
pub enum Screened<'a> {
    /// Silently dropped.
    Ignore(Ignored),
    /// The header is usable but the length is wrong: answer "bad format".
    BadFormat(ControlHeader),
    /// A request to process.
    Request(Request<'a>),
}

/// Screens a received datagram as the reference does before dispatching.
pub fn screen(bytes: &[u8]) -> Screened<'_> {
    let header = match ControlHeader::parse(bytes) {
        Ok((h, _)) => h,
        Err(proto::control::ControlError::WrongMode { .. }) => {
            return Screened::Ignore(Ignored::NotControl)
        }
        Err(_) => return Screened::Ignore(Ignored::TooShort),
    };
    if header.response || header.more || header.error || header.offset != 0 {
        return Screened::Ignore(Ignored::NotARequest);
    }
    if !(1..=4).contains(&header.version) {
        return Screened::Ignore(Ignored::BadVersion);
    }
    debug_assert_eq!(bytes.first().map(|b| b & 7), Some(MODE_CONTROL));
    let count = bytes
        .get(10..12)
        .map_or(0, |c| usize::from(u16::from_be_bytes([c[0], c[1]])));
    let len = bytes.len();
    let available = len - HEADER_LEN;
    if count > available || len % 4 != 0 {
        return Screened::BadFormat(header);
    }
    let data = &bytes[HEADER_LEN..HEADER_LEN + count];
    let proper = (HEADER_LEN + count + 7) & !7;
    let mac = len
        .checked_sub(proper)
        .filter(|n| (MIN_MAC_LEN..=MAX_MAC_LEN).contains(n))
        .and_then(|_| {
            let key = bytes.get(proper..proper + 4)?;
            Some(RequestMac {
                covered: &bytes[..proper],
                key_id: u32::from_be_bytes([key[0], key[1], key[2], key[3]]),
                digest: &bytes[proper + 4..],
            })
        });
    Screened::Request(Request { header, data, mac })
}

/// One item of a request's variable list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item<'a> {
    /// The name: everything up to the first `=` or `,` (not trimmed at the end).
    pub name: &'a [u8],
    /// The value after `=`, trimmed of white space; `None` without `=`.
    pub value: Option<&'a [u8]>,
}

/// Reads the items of a request's data (`name[=value],...`).
#[derive(Debug, Clone)]
pub struct Items<'a> {
    data: &'a [u8],
    pos: usize,
    /// Set when an over-long value ended the parsing.
    pub overlong: bool,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let Some((first, rest)) = s.split_first() {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    while let Some((last, rest)) = s.split_last() {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

impl<'a> Items<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Items {
            data,
            pos: 0,
            overlong: false,
        }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        let rest = self.data.get(self.pos..)?;
        let skip = rest
            .iter()
            .position(|&b| b != b',' && !is_space(b))
            .unwrap_or(rest.len());
        let rest = &rest[skip..];
        if rest.is_empty() {
            self.pos = self.data.len();
            return None;
        }
        let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
        let item = &rest[..end];
        let (name, value) = match item.iter().position(|&b| b == b'=') {
            Some(eq) => (&item[..eq], Some(trim(&item[eq + 1..]))),
            None => (item, None),
        };
        if value.is_some_and(|v| v.len() > MAX_ITEM_VALUE) {
            self.overlong = true;
            self.pos = self.data.len();
            return None;
        }
        // Past the item and the comma that ended it.
        self.pos += skip + end + usize::from(end < rest.len());
        Some(Item { name, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::control::Opcode;

    fn names(data: &[u8]) -> Vec<(String, Option<String>)> {
        Items::new(data)
            .map(|i| {
                (
                    String::from_utf8_lossy(i.name).into_owned(),
                    i.value.map(|v| String::from_utf8_lossy(v).into_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn items_like_ctl_getitem() {
        assert_eq!(
            names(b" stratum,offset , x = 5 ,,"),
            vec![
                ("stratum".into(), None),
                ("offset ".into(), None),
                ("x ".into(), Some("5".into())),
            ]
        );
        assert!(names(b"").is_empty());
        assert!(names(b" ,\r\n").is_empty());
        let mut long = b"a=".to_vec();
        long.extend_from_slice(&[b'v'; 128]);
        long.extend_from_slice(b",b");
        let mut it = Items::new(&long);
        assert_eq!(it.next(), None);
        assert!(it.overlong);
    }

    #[test]
    fn screening() {
        // bob/ntpq-mode6.pcap frame 8: READVAR assoc 0 "cert".
        let req = b"\x16\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04cert";
        match screen(req) {
            Screened::Request(r) => {
                assert_eq!(r.header.opcode, Opcode::ReadVariables);
                assert_eq!(r.data, b"cert");
                assert!(r.mac.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            screen(&req[..11]),
            Screened::Ignore(Ignored::TooShort)
        ));
        let mut resp = req.to_vec();
        resp[1] |= 0x80;
        assert!(matches!(
            screen(&resp),
            Screened::Ignore(Ignored::NotARequest)
        ));
        let mut v5 = req.to_vec();
        v5[0] = 0x2e;
        assert!(matches!(screen(&v5), Screened::Ignore(Ignored::BadVersion)));
        let mut mode3 = req.to_vec();
        mode3[0] = 0x13;
        assert!(matches!(
            screen(&mode3),
            Screened::Ignore(Ignored::NotControl)
        ));
        let mut long_count = req.to_vec();
        long_count[11] = 8;
        assert!(matches!(screen(&long_count), Screened::BadFormat(_)));
        assert!(matches!(screen(&req[..14]), Screened::BadFormat(_)));
        // 16 octets padded to 16, then key ID and a 16-octet digest.
        let mut authed = req.to_vec();
        authed.extend_from_slice(&7u32.to_be_bytes());
        authed.extend_from_slice(&[0xaa; 16]);
        match screen(&authed) {
            Screened::Request(r) => {
                let mac = r.mac.unwrap();
                assert_eq!(mac.key_id, 7);
                assert_eq!(mac.covered, &req[..]);
                assert_eq!(mac.digest, &[0xaa; 16]);
            }
            other => panic!("{other:?}"),
        }
    }
}
