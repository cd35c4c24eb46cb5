//! Which local addresses get a socket (reference ntp.conf(5) `interface`/
//! `nic`, ntpd(8) `-I`, `-L`, `-4`, `-6`).
//!
//! Rules are checked last-configured first; the first that matches an
//! address decides (`listen`, `ignore`: no socket, `drop`: no socket).
//! `-I NAME|ADDRESS` adds `ignore all` and then `listen NAME` ahead of the
//! configuration's own rules. `-L` ignores virtual interfaces (names with
//! a `:` alias). `-4`/`-6` drop the other family entirely. Without a
//! matching rule an address is listened on. The wildcard sockets are
//! always opened; packets arriving on them are processed only with
//! `interface listen wildcard`.

use std::net::{IpAddr, Ipv4Addr};

use config::conf::{NicAction, NicMatch, NicRule};
use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;

/// One address of a local interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAddr {
    /// Interface name (`lo`, `eth0`, `eth0:1`).
    pub name: String,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length of its network.
    pub prefix: u8,
    /// IPv4 broadcast address, if the interface has one.
    pub broadcast: Option<Ipv4Addr>,
    /// IPv6 scope (interface index) for link-local addresses, else 0.
    pub scope_id: u32,
    /// Loopback interface.
    pub loopback: bool,
    /// Interface supports multicast.
    pub multicast: bool,
}

fn prefix_len(mask: IpAddr) -> u8 {
    match mask {
        IpAddr::V4(m) => u32::from(m).count_ones() as u8,
        IpAddr::V6(m) => u128::from(m).count_ones() as u8,
    }
}

/// The addresses of the interfaces that are up.
pub fn local_addresses() -> std::io::Result<Vec<LocalAddr>> {
    let mut out = Vec::new();
    for ifa in getifaddrs().map_err(std::io::Error::from)? {
        if !ifa.flags.contains(InterfaceFlags::IFF_UP) {
            continue;
        }
        let Some(address) = ifa.address else { continue };
        let (addr, scope_id) = if let Some(v4) = address.as_sockaddr_in() {
            (IpAddr::V4(v4.ip()), 0)
        } else if let Some(v6) = address.as_sockaddr_in6() {
            (IpAddr::V6(v6.ip()), v6.scope_id())
        } else {
            continue;
        };
        let prefix = ifa
            .netmask
            .and_then(|m| {
                m.as_sockaddr_in()
                    .map(|v| IpAddr::V4(v.ip()))
                    .or_else(|| m.as_sockaddr_in6().map(|v| IpAddr::V6(v.ip())))
            })
            .map_or(if addr.is_ipv4() { 32 } else { 128 }, prefix_len);
        let broadcast = ifa
            .broadcast
            .filter(|_| ifa.flags.contains(InterfaceFlags::IFF_BROADCAST))
            .and_then(|b| b.as_sockaddr_in().map(|v| v.ip()));
        out.push(LocalAddr {
            name: ifa.interface_name.clone(),
            addr,
            prefix,
            broadcast,
            scope_id,
            loopback: ifa.flags.contains(InterfaceFlags::IFF_LOOPBACK),
            multicast: ifa.flags.contains(InterfaceFlags::IFF_MULTICAST),
        });
    }
    Ok(out)
}

/// How to choose listening addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenPolicy {
    /// Rules in the order they apply: the configuration's `interface`
    /// lines after the `-I` ones.
    pub rules: Vec<NicRule>,
    /// `-L`: ignore virtual (alias) interfaces.
    pub no_virtual: bool,
    /// `-4`: IPv4 only.
    pub ipv4_only: bool,
    /// `-6`: IPv6 only.
    pub ipv6_only: bool,
}

impl ListenPolicy {
    /// Add `-I` arguments: `ignore all`, then `listen X` for each (an
    /// address, `ADDRESS/PREFIX`, or an interface name).
    pub fn add_command_line_interfaces(&mut self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        self.rules.push(NicRule {
            action: NicAction::Ignore,
            matches: NicMatch::All,
        });
        for n in names {
            self.rules.push(NicRule {
                action: NicAction::Listen,
                matches: parse_match(n),
            });
        }
    }

    /// Whether the IPv4 (`false`) or IPv6 (`true`) family is in use.
    pub fn family_enabled(&self, v6: bool) -> bool {
        if v6 {
            !self.ipv4_only
        } else {
            !self.ipv6_only
        }
    }

    /// The action for a local address (rules last-first; default listen).
    pub fn action(&self, a: &LocalAddr) -> NicAction {
        if !self.family_enabled(a.addr.is_ipv6()) {
            return NicAction::Drop;
        }
        if self.no_virtual && a.name.contains(':') {
            return NicAction::Ignore;
        }
        self.rules
            .iter()
            .rev()
            .find(|r| rule_matches(&r.matches, Some(a)))
            .map_or(NicAction::Listen, |r| r.action)
    }

    /// Whether packets arriving on the wildcard sockets are processed.
    pub fn wildcard_listens(&self) -> bool {
        self.rules
            .iter()
            .rev()
            .find(|r| rule_matches(&r.matches, None))
            .is_some_and(|r| r.action == NicAction::Listen && r.matches == NicMatch::Wildcard)
    }

    /// The addresses to bind, from `all`.
    pub fn select<'a>(&self, all: &'a [LocalAddr]) -> Vec<&'a LocalAddr> {
        all.iter()
            .filter(|a| self.action(a) == NicAction::Listen)
            .collect()
    }
}

fn parse_match(s: &str) -> NicMatch {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, p.parse::<u8>().ok()),
        None => (s, None),
    };
    match addr.parse::<IpAddr>() {
        Ok(address) => NicMatch::Address { address, prefix },
        Err(_) => NicMatch::Name(s.to_owned()),
    }
}

/// Does a rule match `a` (`None`: the wildcard address)?
fn rule_matches(m: &NicMatch, a: Option<&LocalAddr>) -> bool {
    let Some(a) = a else {
        return matches!(m, NicMatch::All | NicMatch::Wildcard);
    };
    match m {
        NicMatch::All => true,
        NicMatch::Wildcard => false,
        NicMatch::Ipv4 => a.addr.is_ipv4(),
        NicMatch::Ipv6 => a.addr.is_ipv6(),
        NicMatch::Name(n) => *n == a.name,
        NicMatch::Address { address, prefix } => in_prefix(a.addr, *address, *prefix),
    }
}

fn in_prefix(a: IpAddr, net: IpAddr, prefix: Option<u8>) -> bool {
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let p = u32::from(prefix.unwrap_or(32).min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let p = u32::from(prefix.unwrap_or(128).min(128));
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn la(name: &str, addr: &str) -> LocalAddr {
        LocalAddr {
            name: name.into(),
            addr: addr.parse().unwrap(),
            prefix: 24,
            broadcast: None,
            scope_id: 0,
            loopback: name == "lo",
            multicast: true,
        }
    }

    fn all() -> Vec<LocalAddr> {
        vec![
            la("lo", "127.0.0.1"),
            la("lo", "::1"),
            la("eth0", "192.0.2.5"),
            la("eth0:1", "192.0.2.6"),
            la("eth0", "2001:db8::5"),
        ]
    }

    fn names(p: &ListenPolicy) -> Vec<String> {
        let all = all();
        p.select(&all).iter().map(|a| a.addr.to_string()).collect()
    }

    #[test]
    fn default_listens_everywhere_and_families_can_be_dropped() {
        let p = ListenPolicy::default();
        assert_eq!(names(&p).len(), 5);
        let p4 = ListenPolicy {
            ipv4_only: true,
            ..ListenPolicy::default()
        };
        assert_eq!(names(&p4), ["127.0.0.1", "192.0.2.5", "192.0.2.6"]);
        let p6 = ListenPolicy {
            ipv6_only: true,
            ..ListenPolicy::default()
        };
        assert_eq!(names(&p6), ["::1", "2001:db8::5"]);
        let l = ListenPolicy {
            no_virtual: true,
            ..ListenPolicy::default()
        };
        assert!(!names(&l).contains(&"192.0.2.6".to_string()));
    }

    #[test]
    fn command_line_interface_listens_only_there() {
        let mut p = ListenPolicy::default();
        p.add_command_line_interfaces(&["lo".into()]);
        assert_eq!(names(&p), ["127.0.0.1", "::1"]);
        let mut p = ListenPolicy::default();
        p.add_command_line_interfaces(&["192.0.2.0/24".into()]);
        assert_eq!(names(&p), ["192.0.2.5", "192.0.2.6"]);
    }

    #[test]
    fn later_config_rules_win() {
        let mut p = ListenPolicy::default();
        p.rules.push(NicRule {
            action: NicAction::Ignore,
            matches: NicMatch::Ipv6,
        });
        p.rules.push(NicRule {
            action: NicAction::Listen,
            matches: NicMatch::Address {
                address: "::1".parse().unwrap(),
                prefix: None,
            },
        });
        assert_eq!(names(&p), ["127.0.0.1", "::1", "192.0.2.5", "192.0.2.6"]);
        assert!(!p.wildcard_listens());
        p.rules.push(NicRule {
            action: NicAction::Listen,
            matches: NicMatch::Wildcard,
        });
        assert!(p.wildcard_listens());
    }

    #[test]
    fn this_host_has_a_loopback_address() {
        let all = local_addresses().unwrap();
        assert!(all
            .iter()
            .any(|a| a.loopback && a.addr == IpAddr::from([127, 0, 0, 1])));
    }
}
