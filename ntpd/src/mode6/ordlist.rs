//! READ_ORDLIST_A (reference extension, authenticated): `ntpq -c ifstats`
//! (the local addresses and their counters) and `ntpq -c reslist` (the
//! `restrict` list). Rows are `name.N=value` items, all of a row together;
//! the reference shuffles the items of a row and adds a random tag to keep
//! clients from depending on the order, which ntpq ignores: here the items
//! come in a fixed order, without the random tag.

use super::format::{address, address_port};
use super::state::{InterfaceStats, RestrictEntry};
use super::writer::Out;

/// What the request data asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderedList {
    /// Empty or `ifstats`.
    Interfaces,
    /// `addr_restrictions`.
    Restrictions,
}

impl OrderedList {
    /// The list named by the request data (compared exactly, as the reference does).
    pub fn named(data: &[u8]) -> Option<Self> {
        match data {
            b"" | b"ifstats" => Some(Self::Interfaces),
            b"addr_restrictions" => Some(Self::Restrictions),
            _ => None,
        }
    }
}

/// Writes the `ifstats` rows.
pub fn put_interfaces(out: &mut Out, list: &[InterfaceStats]) {
    for i in list {
        let n = i.number;
        out.bare(&format!("addr.{n}"), &address_port(i.address));
        let bcast = i.broadcast.map(address_port).unwrap_or_default();
        out.bare(&format!("bcast.{n}"), &bcast);
        out.bare(&format!("en.{n}"), if i.enabled { "1" } else { "0" });
        out.quoted(&format!("name.{n}"), &i.name);
        out.bare(&format!("flags.{n}"), &format!("0x{:x}", i.flags));
        out.bare(&format!("tl.{n}"), &i.ttl.to_string());
        out.bare(&format!("mc.{n}"), &i.multicast_groups.to_string());
        out.bare(&format!("rx.{n}"), &i.received.to_string());
        out.bare(&format!("tx.{n}"), &i.sent.to_string());
        out.bare(&format!("txerr.{n}"), &i.send_errors.to_string());
        out.bare(&format!("pc.{n}"), &i.peers.to_string());
        out.bare(&format!("up.{n}"), &i.uptime.to_string());
    }
}

/// Writes the `reslist` rows (IPv4 entries first, then IPv6, numbered on).
pub fn put_restrictions(out: &mut Out, list: &[RestrictEntry]) {
    for (n, r) in list.iter().enumerate() {
        out.bare(&format!("addr.{n}"), &address(r.address));
        out.bare(&format!("mask.{n}"), &address(r.mask));
        out.bare(&format!("hits.{n}"), &r.hits.to_string());
        out.bare(&format!("flags.{n}"), &r.flags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::control::{concat_fragments, VarList};

    #[test]
    fn rows_read_back_with_ntpq_names() {
        assert_eq!(OrderedList::named(b""), Some(OrderedList::Interfaces));
        assert_eq!(
            OrderedList::named(b"ifstats"),
            Some(OrderedList::Interfaces)
        );
        assert_eq!(
            OrderedList::named(b"addr_restrictions"),
            Some(OrderedList::Restrictions)
        );
        assert_eq!(OrderedList::named(b"ifstats "), None);
        let mut out = Out::new();
        put_interfaces(
            &mut out,
            &[InterfaceStats {
                number: 2,
                address: "10.0.0.2:123".parse().unwrap(),
                broadcast: None,
                enabled: true,
                name: "veth0".into(),
                flags: 0x19,
                ttl: 0,
                multicast_groups: 0,
                received: 40,
                sent: 41,
                send_errors: 0,
                peers: 1,
                uptime: 284,
            }],
        );
        put_restrictions(
            &mut out,
            &[RestrictEntry {
                address: [0, 0, 0, 0].into(),
                mask: [0, 0, 0, 0].into(),
                hits: 12,
                flags: "nomodify nopeer noquery".into(),
            }],
        );
        let data = concat_fragments(&out.finish());
        let vars = VarList::parse(&data).unwrap();
        let text = |n: &str| vars.get(n).and_then(|v| v.text()).map(str::to_string);
        assert_eq!(text("addr.2").as_deref(), Some("10.0.0.2:123"));
        assert_eq!(text("bcast.2").as_deref(), Some(""));
        assert_eq!(text("name.2").as_deref(), Some("veth0"));
        assert_eq!(text("flags.2").as_deref(), Some("0x19"));
        assert_eq!(text("up.2").as_deref(), Some("284"));
        assert_eq!(text("mask.0").as_deref(), Some("0.0.0.0"));
        assert_eq!(text("flags.0").as_deref(), Some("nomodify nopeer noquery"));
    }
}
