//! Strict DER for identity responses (brief §11.3 rule 10): a SEQUENCE of
//! exactly N non-negative INTEGERs, nothing after it.

use openssl::bn::BigNum;

use crate::error::{AutokeyError, Result};

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
/// Largest integer accepted (octets): 8192-bit moduli.
pub const MAX_INTEGER_OCTETS: usize = 1025;

fn fmt(reason: &'static str) -> AutokeyError {
    AutokeyError::IdentityFormat { reason }
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let b = (len as u32).to_be_bytes();
        let skip = b.iter().take_while(|&&x| x == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&b[skip..]);
    }
}

/// DER `SEQUENCE { INTEGER ... }` of non-negative integers.
pub fn encode_integers(values: &[&BigNum]) -> Vec<u8> {
    let mut body = Vec::new();
    for v in values {
        let mut octets = v.to_vec();
        if octets.is_empty() {
            octets.push(0);
        }
        if octets[0] & 0x80 != 0 {
            octets.insert(0, 0);
        }
        body.push(INTEGER);
        push_len(&mut body, octets.len());
        body.extend_from_slice(&octets);
    }
    let mut out = vec![SEQUENCE];
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

fn read_tlv(input: &[u8], tag: u8) -> Result<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first().ok_or(fmt("truncated DER"))?;
    if t != tag {
        return Err(fmt("unexpected DER tag"));
    }
    let (&first, mut rest) = rest.split_first().ok_or(fmt("truncated DER length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 {
            return Err(fmt("unsupported DER length"));
        }
        let b = rest.get(..n).ok_or(fmt("truncated DER length"))?;
        rest = rest.get(n..).unwrap_or(&[]);
        let len = b.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x));
        if len < 0x80 || b.first() == Some(&0) {
            return Err(fmt("non-minimal DER length"));
        }
        len
    };
    let content = rest.get(..len).ok_or(fmt("DER length exceeds the value"))?;
    Ok((content, rest.get(len..).unwrap_or(&[])))
}

/// Parses exactly `n` non-negative INTEGERs in one SEQUENCE, rejecting
/// trailing octets, negative, empty and oversized integers.
pub fn decode_integers(input: &[u8], n: usize) -> Result<Vec<BigNum>> {
    let (mut body, rest) = read_tlv(input, SEQUENCE)?;
    if !rest.is_empty() {
        return Err(fmt("trailing octets after the DER sequence"));
    }
    let mut out = Vec::with_capacity(n);
    while !body.is_empty() {
        let (content, r) = read_tlv(body, INTEGER)?;
        body = r;
        match content.first() {
            None => return Err(fmt("empty INTEGER")),
            Some(b) if b & 0x80 != 0 => return Err(fmt("negative INTEGER")),
            _ => {}
        }
        if content.len() > MAX_INTEGER_OCTETS {
            return Err(fmt("oversized INTEGER"));
        }
        if out.len() == n {
            return Err(fmt("too many INTEGERs"));
        }
        out.push(BigNum::from_slice(content).map_err(|e| AutokeyError::crypto("bignum", e))?);
    }
    if out.len() != n {
        return Err(fmt("too few INTEGERs"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let a = BigNum::from_u32(0x80).unwrap();
        let b = BigNum::from_slice(&[0x12; 200]).unwrap();
        let z = BigNum::new().unwrap();
        let der = encode_integers(&[&a, &b, &z]);
        let back = decode_integers(&der, 3).unwrap();
        assert_eq!(back[0], a);
        assert_eq!(back[1], b);
        assert_eq!(back[2], z);
        assert!(decode_integers(&der, 2).is_err());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(decode_integers(&trailing, 3).is_err());
        assert!(decode_integers(&der[..der.len() - 1], 3).is_err());
        // negative INTEGER
        assert!(decode_integers(&[0x30, 0x03, 0x02, 0x01, 0xff], 1).is_err());
        // non-minimal long length
        assert!(decode_integers(&[0x30, 0x81, 0x03, 0x02, 0x01, 0x01], 1).is_err());
        assert!(decode_integers(&[], 1).is_err());
    }
}
