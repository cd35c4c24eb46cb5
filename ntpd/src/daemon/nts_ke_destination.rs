//! Where an NTS association sends its NTP requests (RFC 8915 §4.1.7,
//! §4.1.8): to the NTP server and port the NTS-KE server named in its
//! Server and Port Negotiation records, or else to the association's own
//! address and port.
//!
//! A named server is an IPv4 or IPv6 literal, used as it is, or a DNS
//! name, resolved as the daemon resolves `server` names (the system
//! resolver, `getaddrinfo`). Resolution runs on the NTS-KE worker thread,
//! never on the event loop, and is bounded by the resolver's own timeout
//! and retries (`timeout` and `attempts` in `resolv.conf`); a name that is
//! not a host name of at most 253 octets is refused without asking. Only
//! an address of the NTS-KE server's family is taken, since the
//! association's socket is of that family.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use thiserror::Error;

/// The longest DNS name (RFC 1035 §2.3.4, without the final dot).
const MAX_NAME_LEN: usize = 253;

/// Why the named NTP server cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DestinationError {
    /// Not an address and not a host name.
    #[error(
        "NTS-KE server named NTP server \"{name}\", which is neither an address nor a host name"
    )]
    BadName {
        /// The name sent, with anything but printable ASCII escaped.
        name: String,
    },
    /// The name did not resolve.
    #[error("NTP server {name} named by the NTS-KE server does not resolve: {reason}")]
    Resolve {
        /// The name.
        name: String,
        /// The resolver's reason.
        reason: String,
    },
    /// No address of the association's family.
    #[error("NTP server {name} named by the NTS-KE server has no {family} address")]
    Family {
        /// The name or address.
        name: String,
        /// "IPv4" or "IPv6".
        family: &'static str,
    },
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// Whether `name` is a host name: labels of letters, digits and hyphens
/// (RFC 1123 §2.1), at most 253 octets.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The address of the NTP server named `server` (§4.1.7), of the family
/// of `ke_ip` (the NTS-KE server's address); `None` when none was named.
pub fn resolve(server: Option<&str>, ke_ip: IpAddr) -> Result<Option<IpAddr>, DestinationError> {
    let Some(name) = server else {
        return Ok(None);
    };
    let same_family = |ip: &IpAddr| ip.is_ipv4() == ke_ip.is_ipv4();
    let literal = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return if same_family(&ip) {
            Ok(Some(ip))
        } else {
            Err(DestinationError::Family {
                name: name.to_owned(),
                family: family(ke_ip),
            })
        };
    }
    if !is_host_name(name) {
        return Err(DestinationError::BadName {
            name: name.escape_default().to_string(),
        });
    }
    let addrs = (name, 0)
        .to_socket_addrs()
        .map_err(|e| DestinationError::Resolve {
            name: name.to_owned(),
            reason: e.to_string(),
        })?;
    addrs
        .map(|a| a.ip())
        .find(same_family)
        .map(Some)
        .ok_or_else(|| DestinationError::Family {
            name: name.to_owned(),
            family: family(ke_ip),
        })
}

/// The NTP destination: `default` (the association's address and port)
/// with the named server's address and the named port put in.
pub fn choose(default: SocketAddr, ip: Option<IpAddr>, port: Option<u16>) -> SocketAddr {
    SocketAddr::new(ip.unwrap_or(default.ip()), port.unwrap_or(default.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn literals_are_used_as_they_are() {
        assert_eq!(resolve(None, V4), Ok(None));
        assert_eq!(
            resolve(Some("198.51.100.7"), V4),
            Ok(Some("198.51.100.7".parse().unwrap()))
        );
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            resolve(Some("[2001:db8::5]"), v6),
            Ok(Some("2001:db8::5".parse().unwrap()))
        );
        assert_eq!(
            resolve(Some("2001:db8::5"), V4),
            Err(DestinationError::Family {
                name: "2001:db8::5".into(),
                family: "IPv4"
            })
        );
    }

    #[test]
    fn names_resolve_and_junk_is_refused_without_asking() {
        assert_eq!(
            resolve(Some("localhost"), IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
                .unwrap()
                .map(|ip| ip.is_loopback()),
            Some(true)
        );
        for bad in ["", "a b", "-x.example", "x..example", "ntp\u{1}.example"] {
            assert!(
                matches!(
                    resolve(Some(bad), V4),
                    Err(DestinationError::BadName { .. })
                ),
                "{bad:?}"
            );
        }
        let long = format!("{}.example", "a".repeat(250));
        assert!(matches!(
            resolve(Some(&long), V4),
            Err(DestinationError::BadName { .. })
        ));
    }

    #[test]
    fn the_named_server_and_port_replace_the_defaults() {
        let default: SocketAddr = "192.0.2.1:123".parse().unwrap();
        let other: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(choose(default, None, None), default);
        assert_eq!(
            choose(default, None, Some(1123)),
            "192.0.2.1:1123".parse().unwrap()
        );
        assert_eq!(
            choose(default, Some(other), None),
            "192.0.2.9:123".parse().unwrap()
        );
        assert_eq!(
            choose(default, Some(other), Some(9)),
            "192.0.2.9:9".parse().unwrap()
        );
    }
}
