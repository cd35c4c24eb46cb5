//! The optional fourth column of a keys file line: the comma-separated list
//! of addresses (each with an optional `/PREFIX`) allowed to use the key.
//!
//! Reference behaviour (4.2.8p18): each element is an IPv4 address in dotted
//! quad form or a numeric IPv6 address, optionally in `[...]` and with a
//! `%scope`; a `/PREFIX` of decimal digits may follow (an empty prefix means
//! 0 bits). A prefix longer than the address is logged and treated as the
//! full address. Anything else rejects the file.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One entry of a key's address list. An empty list means any address may
/// use the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyAccess {
    /// The address (or network, with `prefix_len`) allowed to use the key.
    pub addr: IpAddr,
    /// IPv6 zone (`fe80::1%eth0` gives `eth0`), kept as written.
    pub scope: Option<String>,
    /// Prefix length in bits, at most 32 (IPv4) or 128 (IPv6); `None` means
    /// the whole address must match.
    pub prefix_len: Option<u8>,
}

/// Why one address-list element was rejected (before context is added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AccessError {
    /// The address part is not an IP address.
    Address,
    /// The prefix contains a non-digit (or is absurdly long); the offset is
    /// that of the offending character within the element.
    Prefix { offset: usize },
}

/// Non-fatal remarks on one element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AccessNote {
    /// `/` with no digits: the reference reads it as 0 bits.
    EmptyPrefix,
    /// A prefix longer than the address, clamped.
    ExcessivePrefix { given: u32, max: u8 },
}

/// Largest prefix value the reference keeps reading digits past (it gives
/// up with an error once the value exceeds this and more digits follow).
const PREFIX_DIGITS_LIMIT: u32 = 1000;

impl KeyAccess {
    /// Parse one element of the list.
    pub(crate) fn parse(elem: &[u8]) -> Result<(KeyAccess, Option<AccessNote>), AccessError> {
        let (addr_part, prefix) = match elem.iter().position(|&b| b == b'/') {
            Some(slash) => (&elem[..slash], Some((slash + 1, &elem[slash + 1..]))),
            None => (elem, None),
        };
        let prefix_bits = match prefix {
            None => None,
            Some((start, digits)) => {
                Some(parse_prefix(digits).map_err(|i| AccessError::Prefix { offset: start + i })?)
            }
        };
        let (addr, scope) = parse_addr(addr_part).ok_or(AccessError::Address)?;
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let mut note = None;
        let prefix_len = match prefix_bits {
            None => None,
            Some(bits) => {
                if bits == 0 && prefix.is_some_and(|(_, d)| d.is_empty()) {
                    note = Some(AccessNote::EmptyPrefix);
                }
                if bits > u32::from(max) {
                    note = Some(AccessNote::ExcessivePrefix { given: bits, max });
                    Some(max)
                } else {
                    // bits <= max <= 128 here.
                    Some(u8::try_from(bits).unwrap_or(max))
                }
            }
        };
        Ok((
            KeyAccess {
                addr,
                scope,
                prefix_len,
            },
            note,
        ))
    }

    /// Does `addr` fall inside this entry (same family, first `prefix_len`
    /// bits equal)? The scope is not compared here: the caller owns the
    /// mapping of zone names to interface indexes.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let (mine, theirs, max) = match (self.addr, addr) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (
                u128::from(u32::from(a)) << 96,
                u128::from(u32::from(b)) << 96,
                32u32,
            ),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128u32),
            _ => return false,
        };
        let bits = self.prefix_len.map_or(max, |p| u32::from(p).min(max));
        if bits == 0 {
            return true;
        }
        let mask = u128::MAX << (128 - bits);
        (mine & mask) == (theirs & mask)
    }
}

impl fmt::Display for KeyAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)?;
        if let Some(scope) = &self.scope {
            write!(f, "%{scope}")?;
        }
        if let Some(p) = self.prefix_len {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

/// Decimal digits; Err(index of the offending character).
fn parse_prefix(digits: &[u8]) -> Result<u32, usize> {
    let mut value: u32 = 0;
    for (i, &b) in digits.iter().enumerate() {
        if !b.is_ascii_digit() || value > PREFIX_DIGITS_LIMIT {
            return Err(i);
        }
        value = value * 10 + u32::from(b - b'0');
    }
    Ok(value)
}

/// A zone is an interface name or number.
pub(crate) fn valid_scope(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 64
        && scope
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@' | b':'))
}

fn parse_addr(text: &[u8]) -> Option<(IpAddr, Option<String>)> {
    let text = std::str::from_utf8(text).ok()?;
    if let Ok(v4) = text.parse::<Ipv4Addr>() {
        return Some((IpAddr::V4(v4), None));
    }
    let inner = match text.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']')?,
        None => text,
    };
    let (addr, scope) = match inner.split_once('%') {
        Some((a, s)) => {
            if !valid_scope(s) {
                return None;
            }
            (a, Some(s.to_owned()))
        }
        None => (inner, None),
    };
    let v6 = addr.parse::<Ipv6Addr>().ok()?;
    Some((IpAddr::V6(v6), scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> KeyAccess {
        KeyAccess::parse(s.as_bytes()).expect(s).0
    }

    #[test]
    fn addresses_and_prefixes() {
        assert_eq!(ok("192.0.2.1").addr, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_eq!(ok("192.0.2.0/24").prefix_len, Some(24));
        assert_eq!(ok("2001:db8::/32").prefix_len, Some(32));
        assert_eq!(ok("[2001:db8::1]/64").prefix_len, Some(64));
        let scoped = ok("fe80::1%eth0");
        assert_eq!(scoped.scope.as_deref(), Some("eth0"));
        assert_eq!(scoped.to_string(), "fe80::1%eth0");
    }

    #[test]
    fn excessive_and_empty_prefixes_are_notes() {
        let (a, note) = KeyAccess::parse(b"192.0.2.1/33").unwrap();
        assert_eq!(a.prefix_len, Some(32));
        assert_eq!(
            note,
            Some(AccessNote::ExcessivePrefix { given: 33, max: 32 })
        );
        let (a, note) = KeyAccess::parse(b"192.0.2.1/").unwrap();
        assert_eq!(a.prefix_len, Some(0));
        assert_eq!(note, Some(AccessNote::EmptyPrefix));
    }

    #[test]
    fn rejects() {
        assert_eq!(KeyAccess::parse(b""), Err(AccessError::Address));
        assert_eq!(KeyAccess::parse(b"host.example"), Err(AccessError::Address));
        assert_eq!(KeyAccess::parse(b"[192.0.2.1]"), Err(AccessError::Address));
        assert_eq!(KeyAccess::parse(b"01.2.3.4"), Err(AccessError::Address));
        assert_eq!(
            KeyAccess::parse(b"192.0.2.1/2x"),
            Err(AccessError::Prefix { offset: 11 })
        );
        assert_eq!(
            KeyAccess::parse(b"192.0.2.1/100000"),
            Err(AccessError::Prefix { offset: 15 })
        );
    }

    #[test]
    fn contains_matches_prefix() {
        let net = ok("192.0.2.0/24");
        assert!(net.contains("192.0.2.77".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        assert!(ok("0.0.0.0/0").contains("203.0.113.9".parse().unwrap()));
        assert!(ok("2001:db8::1").contains("2001:db8::1".parse().unwrap()));
        assert!(!ok("2001:db8::1").contains("2001:db8::2".parse().unwrap()));
    }
}
