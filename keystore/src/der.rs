//! A minimal DER reader, enough to walk certificate extensions.
//!
//! OpenSSL decodes the certificate; this reader only looks at the
//! extension list so that the extended-key-usage OIDs can be compared
//! exactly (the reference accepts only a single trustRoot or private OID,
//! brief §7.1). Malformed input yields `None`, never a panic.

/// One tag-length-value element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Identifier octet (single-octet tags only; class, constructed bit and number).
    pub tag: u8,
    /// Content octets, after the length octets.
    pub content: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and the rest.
pub fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-octet tags do not occur in certificates
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, r) = (rest.get(..n)?, rest.get(n..)?);
        rest = r;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let content = rest.get(..len)?;
    Some((Tlv { tag, content }, rest.get(len..)?))
}

/// All elements of a constructed value, in order.
pub fn children(mut content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (t, rest) = read(content)?;
        out.push(t);
        content = rest;
    }
    Some(out)
}

/// DER tags used here.
pub const SEQUENCE: u8 = 0x30;
/// Object identifier tag (universal 6).
pub const OID: u8 = 0x06;
/// BOOLEAN tag (universal 1), e.g. the `critical` flag of an extension.
pub const BOOLEAN: u8 = 0x01;
/// OCTET STRING tag (universal 4), e.g. the `extnValue` of an extension.
pub const OCTET_STRING: u8 = 0x04;
/// `[3] EXPLICIT` wrapper of a TBSCertificate's extensions.
pub const EXTENSIONS: u8 = 0xa3;

/// One X.509 extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension<'a> {
    /// Encoded OID content octets.
    pub oid: &'a [u8],
    /// Whether the extension is marked critical (DEFAULT FALSE when absent).
    pub critical: bool,
    /// Content of the extnValue OCTET STRING (itself DER).
    pub value: &'a [u8],
}

/// Extracts the extensions of a DER certificate.
pub fn certificate_extensions(cert_der: &[u8]) -> Option<Vec<Extension<'_>>> {
    let (cert, _) = read(cert_der)?;
    let tbs = *children(cert.content)?.first()?;
    if tbs.tag != SEQUENCE {
        return None;
    }
    let mut out = Vec::new();
    for field in children(tbs.content)? {
        if field.tag != EXTENSIONS {
            continue;
        }
        let (list, _) = read(field.content)?;
        for ext in children(list.content)? {
            let parts = children(ext.content)?;
            let oid = parts.first().filter(|t| t.tag == OID)?.content;
            let (critical, value) = match parts.as_slice() {
                [_, b, v] if b.tag == BOOLEAN && v.tag == OCTET_STRING => {
                    (b.content.first().is_some_and(|&x| x != 0), v.content)
                }
                [_, v] if v.tag == OCTET_STRING => (false, v.content),
                _ => return None,
            };
            out.push(Extension {
                oid,
                critical,
                value,
            });
        }
    }
    Some(out)
}

/// Encodes a length in DER.
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Encodes one element.
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    encode_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// DER tag of INTEGER.
pub const INTEGER: u8 = 0x02;

/// Encodes non-negative big-endian magnitudes as a SEQUENCE of INTEGERs
/// (the identity responses, brief §6.2–§6.4).
pub fn encode_unsigned_sequence(values: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for v in values {
        let skip = v.iter().take_while(|&&b| b == 0).count();
        let mag = &v[skip..];
        let mut content = Vec::with_capacity(mag.len() + 1);
        if mag.first().is_none_or(|&b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(mag);
        body.extend(encode(INTEGER, &content));
    }
    encode(SEQUENCE, &body)
}

/// Decodes a SEQUENCE of exactly `count` non-negative INTEGERs into their
/// big-endian magnitudes. Trailing bytes after the SEQUENCE are rejected.
pub fn decode_unsigned_sequence(der: &[u8], count: usize) -> Option<Vec<Vec<u8>>> {
    let (seq, rest) = read(der)?;
    if seq.tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    let items = children(seq.content)?;
    if items.len() != count {
        return None;
    }
    items
        .iter()
        .map(|t| {
            if t.tag != INTEGER || t.content.first().is_none_or(|&b| b & 0x80 != 0) {
                return None;
            }
            let skip = t.content.iter().take_while(|&&b| b == 0).count();
            Some(t.content[skip..].to_vec())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_sequences_roundtrip() {
        let a = [0x80u8, 1];
        let b = [0u8, 0, 5];
        let z: [u8; 0] = [];
        let der = encode_unsigned_sequence(&[&a, &b, &z]);
        assert_eq!(
            der,
            [0x30, 0x0b, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x05, 0x02, 0x01, 0x00]
        );
        let back = decode_unsigned_sequence(&der, 3).unwrap();
        assert_eq!(back, vec![vec![0x80, 1], vec![5], vec![]]);
        assert!(decode_unsigned_sequence(&der, 2).is_none());
        // negative INTEGER
        assert!(decode_unsigned_sequence(&[0x30, 0x03, 0x02, 0x01, 0xff], 1).is_none());
        // trailing garbage
        assert!(decode_unsigned_sequence(&[0x30, 0x03, 0x02, 0x01, 0x01, 0x00], 1).is_none());
    }

    #[test]
    fn roundtrip_long_lengths() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let body = vec![7u8; len];
            let enc = encode(OCTET_STRING, &body);
            let (t, rest) = read(&enc).unwrap();
            assert_eq!(t.tag, OCTET_STRING);
            assert_eq!(t.content.len(), len);
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn truncated_input_is_rejected() {
        let enc = encode(SEQUENCE, &[1, 2, 3]);
        for cut in 0..enc.len() {
            assert!(read(&enc[..cut]).is_none());
        }
        assert!(read(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(certificate_extensions(&[0x30, 0x02, 0x30, 0x00]).is_some());
        assert!(certificate_extensions(&[0x30, 0x02, 0x02, 0x00]).is_none());
    }
}
