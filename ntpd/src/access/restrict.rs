//! The `restrict` access-control list (reference ntp.conf(5) "Access
//! Control Support", `ntpd/ntp_restrict.c` semantics).
//!
//! Each family has its own list, always ending in the default entry
//! (address 0, mask 0). Entries are kept sorted by descending address,
//! then descending mask, then descending match flags; a source gets the
//! flags of the first entry whose `address == source & mask` (and, for
//! `ntpport` entries, whose source port is 123). A more specific entry
//! therefore wins over the network that contains it. A second `restrict`
//! line for the same address, mask and match flags adds its flags to the
//! existing entry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Access flags. The values are the reference's `RES_*` bits (its mode 6
/// `reslist` shows them), except `NOEPEER` and `SRVRSPFUZ`, which are
/// numbered here in the free bits above the 4.2.8 set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct RestrictFlags(pub u32);

impl RestrictFlags {
    /// `ignore`: drop every packet silently.
    pub const IGNORE: u32 = 0x0001;
    /// `noserve`: no time service (modes 1–5); mode 6 still allowed.
    pub const DONTSERVE: u32 = 0x0002;
    /// `notrust`: only authenticated packets are served.
    pub const DONTTRUST: u32 = 0x0004;
    /// `version`: refuse versions other than 4.
    pub const VERSION: u32 = 0x0008;
    /// `nopeer`: never mobilise an association, unless authenticated.
    pub const NOPEER: u32 = 0x0010;
    /// `limited`: apply the `discard` rate limits.
    pub const LIMITED: u32 = 0x0020;
    /// `noquery`: drop modes 6 and 7.
    pub const NOQUERY: u32 = 0x0040;
    /// `nomodify`: mode 6 writes refused.
    pub const NOMODIFY: u32 = 0x0080;
    /// `notrap`: no mode 6 traps.
    pub const NOTRAP: u32 = 0x0100;
    /// `lowpriotrap`.
    pub const LPTRAP: u32 = 0x0200;
    /// `kod`: answer access violations with a kiss-o'-death.
    pub const KOD: u32 = 0x0400;
    /// `mssntp`: MS-SNTP signing (not built: such clients get no MAC).
    pub const MSSNTP: u32 = 0x0800;
    /// `flake`: drop 10 % of the packets (testing).
    pub const FLAKE: u32 = 0x1000;
    /// `nomrulist`: mode 6 `mrulist` refused.
    pub const NOMRULIST: u32 = 0x2000;
    /// `noepeer`: no ephemeral symmetric passive association, even
    /// authenticated.
    pub const NOEPEER: u32 = 0x4000;
    /// `serverresponse fuzz`: fuzz the low-order bits of server replies.
    pub const SRVRSPFUZ: u32 = 0x8000;

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u32) -> bool {
        self.0 & bits == bits
    }

    /// The bit of one configuration keyword (`epeer` has none: it only
    /// cancels `noepeer`, see [`RestrictList::add`]).
    pub fn of(flag: config::conf::RestrictFlag) -> u32 {
        use config::conf::RestrictFlag as F;
        match flag {
            F::Epeer => 0,
            F::Flake => Self::FLAKE,
            F::Ignore => Self::IGNORE,
            F::Kod => Self::KOD,
            F::Limited => Self::LIMITED,
            F::LowPriorityTrap => Self::LPTRAP,
            F::Mssntp => Self::MSSNTP,
            F::NoEpeer => Self::NOEPEER,
            F::NoModify => Self::NOMODIFY,
            F::NoMruList => Self::NOMRULIST,
            F::NoPeer => Self::NOPEER,
            F::NoQuery => Self::NOQUERY,
            F::NoServe => Self::DONTSERVE,
            F::NoTrap => Self::NOTRAP,
            F::NoTrust => Self::DONTTRUST,
            F::NtpPort => 0,
            F::Version => Self::VERSION,
            F::ServerResponseFuzz => Self::SRVRSPFUZ,
        }
    }
}

/// Match flags of an entry (`RESM_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct MatchFlags(pub u16);

impl MatchFlags {
    /// Entry for one of our own interface addresses.
    pub const INTERFACE: u16 = 0x1000;
    /// `ntpport`: matches only source port 123.
    pub const NTPONLY: u16 = 0x2000;
    /// Made from `restrict source` for an association's address.
    pub const SOURCE: u16 = 0x4000;
}

/// One entry. Addresses are kept masked, as 128-bit integers (IPv4 in the
/// low 32 bits) so both families share the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestrictEntry {
    /// The masked address.
    pub addr: u128,
    /// The mask.
    pub mask: u128,
    /// Match flags.
    pub mflags: MatchFlags,
    /// Access flags.
    pub flags: RestrictFlags,
    /// `ippeerlimit` (−1: no limit).
    pub ippeerlimit: i8,
    /// Packets that matched this entry.
    pub hits: u64,
}

impl RestrictEntry {
    fn key(&self) -> (u128, u128, MatchFlags) {
        (self.addr, self.mask, self.mflags)
    }
}

/// The two lists.
#[derive(Debug, Clone)]
pub struct RestrictList {
    v4: Vec<RestrictEntry>,
    v6: Vec<RestrictEntry>,
}

fn default_entry() -> RestrictEntry {
    RestrictEntry {
        addr: 0,
        mask: 0,
        mflags: MatchFlags(0),
        flags: RestrictFlags(0),
        ippeerlimit: -1,
        hits: 0,
    }
}

impl Default for RestrictList {
    fn default() -> Self {
        RestrictList {
            v4: vec![default_entry()],
            v6: vec![default_entry()],
        }
    }
}

fn bits(a: IpAddr) -> (bool, u128) {
    match a {
        IpAddr::V4(v4) => (false, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (true, u128::from(v6)),
    }
}

/// The host mask of a family: all ones.
pub fn host_mask(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(u128::MAX))
    } else {
        IpAddr::V4(Ipv4Addr::from(u32::MAX))
    }
}

impl RestrictList {
    fn list_mut(&mut self, v6: bool) -> &mut Vec<RestrictEntry> {
        if v6 {
            &mut self.v6
        } else {
            &mut self.v4
        }
    }

    /// The entries of one family in match order.
    pub fn entries(&self, v6: bool) -> &[RestrictEntry] {
        if v6 {
            &self.v6
        } else {
            &self.v4
        }
    }

    /// Add flags for `addr`/`mask` (a new entry, or OR-ed into an existing
    /// one with the same address, mask and match flags). `clear` bits are
    /// removed from the entry afterwards (`epeer` clears `noepeer`).
    /// `mask` must be of the same family as `addr`; `None` is the host mask.
    pub fn add(
        &mut self,
        addr: IpAddr,
        mask: Option<IpAddr>,
        mflags: u16,
        flags: u32,
        clear: u32,
        ippeerlimit: Option<i8>,
    ) -> Result<(), RestrictError> {
        let (v6, a) = bits(addr);
        let (mv6, m) = bits(mask.unwrap_or_else(|| host_mask(v6)));
        if v6 != mv6 {
            return Err(RestrictError::MaskFamily {
                addr,
                mask: mask.unwrap_or(addr),
            });
        }
        let entry = RestrictEntry {
            addr: a & m,
            mask: m,
            mflags: MatchFlags(mflags),
            flags: RestrictFlags(flags),
            ippeerlimit: ippeerlimit.unwrap_or(-1),
            hits: 0,
        };
        let list = self.list_mut(v6);
        if let Some(e) = list.iter_mut().find(|e| e.key() == entry.key()) {
            e.flags.0 = (e.flags.0 | flags) & !clear;
            if let Some(l) = ippeerlimit {
                e.ippeerlimit = l;
            }
            return Ok(());
        }
        let mut entry = entry;
        entry.flags.0 &= !clear;
        // Descending (address, mask, match flags): insert before the first
        // entry that sorts below the new one.
        let at = list
            .iter()
            .position(|e| e.key() < entry.key())
            .unwrap_or(list.len());
        list.insert(at, entry);
        Ok(())
    }

    /// Add flags to the default entry of one or both families.
    pub fn add_default(&mut self, v4: bool, v6: bool, flags: u32, clear: u32, limit: Option<i8>) {
        for (on, fam) in [(v4, false), (v6, true)] {
            if on {
                let unspecified = if fam {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                };
                // The default entry always exists, so this cannot fail.
                let _ = self.add(unspecified, Some(unspecified), 0, flags, clear, limit);
            }
        }
    }

    /// Remove the entry for `addr`/`mask` (`delrestrict`). The default
    /// entries and interface entries stay. Returns whether one went.
    pub fn remove(&mut self, addr: IpAddr, mask: Option<IpAddr>, mflags: u16) -> bool {
        let (v6, a) = bits(addr);
        let (_, m) = bits(mask.unwrap_or_else(|| host_mask(v6)));
        let key = (a & m, m, MatchFlags(mflags));
        let list = self.list_mut(v6);
        let before = list.len();
        list.retain(|e| e.key() != key || e.mask == 0 || e.mflags.0 & MatchFlags::INTERFACE != 0);
        list.len() != before
    }

    /// The flags for a packet from `src`:`port` (the reference's
    /// `restrictions()`); counts the hit on the matching entry. IPv4-mapped
    /// IPv6 sources are matched as IPv4.
    pub fn lookup(&mut self, src: IpAddr, port: u16) -> RestrictFlags {
        let Some((v6, i)) = self.find(src, port) else {
            return RestrictFlags(0);
        };
        let e = &mut self.list_mut(v6)[i];
        e.hits += 1;
        e.flags
    }

    /// The flags and the `ippeerlimit` (−1: none) that apply to
    /// `src`:`port`, without counting a hit.
    pub fn lookup_entry(&self, src: IpAddr, port: u16) -> (RestrictFlags, i8) {
        self.find(src, port)
            .map_or((RestrictFlags(0), -1), |(v6, i)| {
                let e = &self.entries(v6)[i];
                (e.flags, e.ippeerlimit)
            })
    }

    fn find(&self, src: IpAddr, port: u16) -> Option<(bool, usize)> {
        let src = match src {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(src, IpAddr::V4),
            v4 => v4,
        };
        let (v6, a) = bits(src);
        self.entries(v6)
            .iter()
            .position(|e| {
                e.addr == a & e.mask
                    && (e.mflags.0 & MatchFlags::NTPONLY == 0 || port == crate::net::NTP_PORT)
            })
            .map(|i| (v6, i))
    }
}

/// A `restrict` line that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestrictError {
    /// The mask is of another family than the address.
    #[error(
        "restrict {addr} mask {mask}: the mask must be of the same address family as the address"
    )]
    MaskFamily {
        /// The address.
        addr: IpAddr,
        /// The mask.
        mask: IpAddr,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use RestrictFlags as F;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn flags(l: &mut RestrictList, s: &str) -> u32 {
        l.lookup(ip(s), 40000).0
    }

    #[test]
    fn default_applies_when_nothing_more_specific_matches() {
        let mut l = RestrictList::default();
        assert_eq!(flags(&mut l, "192.0.2.1"), 0);
        l.add_default(true, false, F::KOD | F::LIMITED | F::NOQUERY, 0, None);
        assert_eq!(flags(&mut l, "192.0.2.1"), F::KOD | F::LIMITED | F::NOQUERY);
        assert_eq!(
            flags(&mut l, "2001:db8::1"),
            0,
            "-4 default leaves IPv6 alone"
        );
        l.add_default(false, true, F::IGNORE, 0, None);
        assert_eq!(flags(&mut l, "2001:db8::1"), F::IGNORE);
    }

    #[test]
    fn most_specific_entry_wins_whatever_the_order_of_lines() {
        let mut l = RestrictList::default();
        l.add_default(true, true, F::IGNORE, 0, None);
        l.add(ip("10.1.2.3"), None, 0, F::NOQUERY, 0, None).unwrap();
        l.add(
            ip("10.0.0.0"),
            Some(ip("255.0.0.0")),
            0,
            F::DONTSERVE,
            0,
            None,
        )
        .unwrap();
        l.add(ip("10.1.0.0"), Some(ip("255.255.0.0")), 0, F::KOD, 0, None)
            .unwrap();
        assert_eq!(flags(&mut l, "10.1.2.3"), F::NOQUERY);
        assert_eq!(flags(&mut l, "10.1.9.9"), F::KOD);
        assert_eq!(flags(&mut l, "10.200.0.1"), F::DONTSERVE);
        assert_eq!(flags(&mut l, "11.0.0.1"), F::IGNORE);
        // Same address, narrower mask first.
        l.add(
            ip("10.0.0.0"),
            Some(ip("255.255.255.0")),
            0,
            F::VERSION,
            0,
            None,
        )
        .unwrap();
        assert_eq!(flags(&mut l, "10.0.0.7"), F::VERSION);
        assert_eq!(flags(&mut l, "10.0.1.7"), F::DONTSERVE);
    }

    #[test]
    fn ipv6_prefixes_and_mapped_ipv4() {
        let mut l = RestrictList::default();
        l.add(
            ip("2001:db8::"),
            Some(ip("ffff:ffff::")),
            0,
            F::NOPEER,
            0,
            None,
        )
        .unwrap();
        l.add(
            ip("192.0.2.0"),
            Some(ip("255.255.255.0")),
            0,
            F::NOTRAP,
            0,
            None,
        )
        .unwrap();
        assert_eq!(flags(&mut l, "2001:db8:1::5"), F::NOPEER);
        assert_eq!(flags(&mut l, "2001:db9::5"), 0);
        assert_eq!(flags(&mut l, "::ffff:192.0.2.44"), F::NOTRAP);
        assert!(l
            .add(ip("2001:db8::"), Some(ip("255.0.0.0")), 0, 0, 0, None)
            .is_err());
    }

    #[test]
    fn repeated_lines_merge_and_epeer_clears_noepeer() {
        let mut l = RestrictList::default();
        l.add(ip("192.0.2.1"), None, 0, F::NOQUERY | F::NOEPEER, 0, None)
            .unwrap();
        l.add(ip("192.0.2.1"), None, 0, F::KOD, 0, Some(3)).unwrap();
        assert_eq!(flags(&mut l, "192.0.2.1"), F::NOQUERY | F::NOEPEER | F::KOD);
        l.add(ip("192.0.2.1"), None, 0, 0, F::NOEPEER, None)
            .unwrap();
        assert_eq!(flags(&mut l, "192.0.2.1"), F::NOQUERY | F::KOD);
        assert_eq!(l.entries(false).len(), 2);
        assert_eq!(l.entries(false)[0].ippeerlimit, 3);
        assert_eq!(l.lookup_entry(ip("192.0.2.1"), 1).1, 3);
        assert_eq!(l.lookup_entry(ip("192.0.2.2"), 1).1, -1);
        assert_eq!(l.entries(false)[0].hits, 2);
    }

    #[test]
    fn ntpport_entries_match_only_port_123() {
        let mut l = RestrictList::default();
        l.add(
            ip("127.0.0.1"),
            None,
            MatchFlags::NTPONLY | MatchFlags::INTERFACE,
            F::IGNORE,
            0,
            None,
        )
        .unwrap();
        assert_eq!(l.lookup(ip("127.0.0.1"), 123).0, F::IGNORE);
        assert_eq!(l.lookup(ip("127.0.0.1"), 50000).0, 0);
        // Interface entries survive delrestrict; ordinary ones go.
        assert!(!l.remove(
            ip("127.0.0.1"),
            None,
            MatchFlags::NTPONLY | MatchFlags::INTERFACE
        ));
        l.add(ip("127.0.0.1"), None, 0, F::KOD, 0, None).unwrap();
        assert!(l.remove(ip("127.0.0.1"), None, 0));
        assert!(
            !l.remove(ip("0.0.0.0"), Some(ip("0.0.0.0")), 0),
            "default stays"
        );
    }
}
