//! The MRU monitor list and `discard` rate limiting (reference
//! `ntpd/ntp_monitor.c` semantics; ntp.conf(5) `discard`, `mru`).
//!
//! Every packet that passes the access list is recorded per source
//! address (the port is not part of the key, so rotating ports does not
//! escape the limit). For sources whose `restrict` entry says `limited`
//! a leaky bucket decides:
//!
//! * the headway counter leaks one unit per second since the last packet;
//! * a packet is within limits when it arrived at least `discard minimum`
//!   seconds (1 s grace) after the previous one and the counter plus the
//!   increment `2^average` stays below `8 · 2^average`; the counter then
//!   grows by the increment (minus a 2 s grace);
//! * otherwise the packet is over the limit (`LIMITED` stays set) and, if
//!   the counter was still below the limit, it is pushed above it, which
//!   keeps `KOD` set for this packet only: the kiss-o'-death is thereby
//!   itself limited to one per average headway.
//!
//! The table is bounded: at most `maxdepth` entries. When it is full and
//! the least recently seen entry is younger than `maxage`, a new source
//! replaces it only with probability `oldest_age / monitor`; otherwise the
//! packet is passed untracked (with `LIMITED`/`KOD` cleared). So a flood
//! from spoofed addresses cannot grow memory, and cannot pin a victim's
//! entry over the limit either: entries of spoofed sources age out.

use std::collections::HashMap;
use std::net::IpAddr;

use super::restrict::RestrictFlags;

/// `discard` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscardParams {
    /// `average`: log2 of the average headway, seconds (default 3).
    pub average_log2: u8,
    /// `minimum`: minimum headway, seconds (default 2).
    pub minimum: u32,
    /// `monitor`: age scale for replacing entries when full, seconds
    /// (default 3000).
    pub monitor: u32,
}

impl Default for DiscardParams {
    fn default() -> Self {
        DiscardParams {
            average_log2: 3,
            minimum: 2,
            monitor: 3000,
        }
    }
}

/// `mru` table bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MruParams {
    /// Entries always kept before any is recycled (default 600).
    pub mindepth: usize,
    /// Hard upper bound of entries (default 16384, about 1 MB).
    pub maxdepth: usize,
    /// Entries older than this are recycled first, seconds (default 64).
    pub maxage: u32,
}

impl Default for MruParams {
    fn default() -> Self {
        MruParams {
            mindepth: 600,
            maxdepth: 16384,
            maxage: 64,
        }
    }
}

/// One monitored source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonEntry {
    /// Source address.
    pub addr: IpAddr,
    /// Source port of the latest packet.
    pub port: u16,
    /// First and latest arrival, seconds.
    pub first: f64,
    /// Latest arrival, seconds.
    pub last: f64,
    /// Packets seen.
    pub count: u64,
    /// Leaky-bucket headway counter, seconds.
    pub leak: i64,
    /// Restriction flags returned for the latest packet.
    pub flags: RestrictFlags,
    /// Version and mode of the latest packet (first octet & 0x3f).
    pub vn_mode: u8,
    /// When the latest DENY/RSTR kiss-o'-death went to this source.
    pub last_kod: f64,
    prev: usize,
    next: usize,
}

const NIL: usize = usize::MAX;

/// The MRU list: a hash index over a slab of entries chained most recent
/// first. No allocation once the slab has grown to its working size.
#[derive(Debug, Clone)]
pub struct MruList {
    discard: DiscardParams,
    params: MruParams,
    index: HashMap<IpAddr, usize>,
    slab: Vec<MonEntry>,
    head: usize,
    tail: usize,
    /// Packets over the limit (the reference's `sys_limitrejected`).
    pub limited: u64,
    /// New sources not tracked because the table was full.
    pub untracked: u64,
    /// `enable monitor` (the default); off, the list is kept only as
    /// deep as rate limiting needs.
    monitoring: bool,
}

impl MruList {
    /// An empty list.
    pub fn new(discard: DiscardParams, params: MruParams) -> Self {
        MruList {
            discard,
            params: MruParams {
                maxdepth: params.maxdepth.max(1),
                ..params
            },
            index: HashMap::new(),
            slab: Vec::new(),
            head: NIL,
            tail: NIL,
            limited: 0,
            untracked: 0,
            monitoring: true,
        }
    }

    /// The list with `enable monitor` set to `on`.
    pub fn monitoring(self, on: bool) -> Self {
        MruList {
            monitoring: on,
            ..self
        }
    }

    /// Whether `enable monitor` is in force.
    pub fn is_monitoring(&self) -> bool {
        self.monitoring
    }

    /// The `mru` bounds in force.
    pub fn params(&self) -> MruParams {
        self.params
    }

    /// Number of sources tracked.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    /// The entry of `addr`.
    pub fn get(&self, addr: IpAddr) -> Option<&MonEntry> {
        self.index.get(&addr).and_then(|&i| self.slab.get(i))
    }

    /// Entries, most recent first.
    pub fn iter(&self) -> impl Iterator<Item = &MonEntry> + '_ {
        let mut at = self.head;
        std::iter::from_fn(move || {
            let e = self.slab.get(at)?;
            at = e.next;
            Some(e)
        })
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.slab[i].prev, self.slab[i].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.slab[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slab[next].prev = prev;
        }
    }

    fn push_front(&mut self, i: usize) {
        self.slab[i].prev = NIL;
        self.slab[i].next = self.head;
        if self.head != NIL {
            self.slab[self.head].prev = i;
        } else {
            self.tail = i;
        }
        self.head = i;
    }

    /// Record a packet from `addr`:`port` at `now` seconds whose access
    /// flags are `flags`, and return the flags with `LIMITED` and `KOD`
    /// kept only if this packet is over the rate limit (the reference's
    /// `ntp_monitor()`). `coin` is a uniform random number in [0, 1), used
    /// only when the table is full.
    pub fn observe(
        &mut self,
        addr: IpAddr,
        port: u16,
        vn_mode: u8,
        flags: RestrictFlags,
        now: f64,
        coin: f64,
    ) -> RestrictFlags {
        const CLEARED: u32 = !(RestrictFlags::LIMITED | RestrictFlags::KOD);
        if let Some(&i) = self.index.get(&addr) {
            self.unlink(i);
            self.push_front(i);
            let head = 1i64 << self.discard.average_log2.min(30);
            let limit = 8 * head;
            let minimum = i64::from(self.discard.minimum);
            let e = &mut self.slab[i];
            let interval = (now - e.last).round() as i64;
            e.last = now;
            e.port = port;
            e.count += 1;
            e.vn_mode = vn_mode;
            e.leak = (e.leak - interval).max(0);
            let leak = e.leak + head;
            let mut out = flags;
            if interval + 1 >= minimum && leak < limit {
                e.leak = leak - 2;
                out.0 &= CLEARED;
            } else if e.leak < limit {
                e.leak = limit + head;
            } else {
                out.0 &= !RestrictFlags::KOD;
            }
            if out.has(RestrictFlags::LIMITED) {
                self.limited += 1;
            }
            e.flags = out;
            return out;
        }
        let fresh = MonEntry {
            addr,
            port,
            first: now,
            last: now,
            count: 1,
            leak: 0,
            flags: RestrictFlags(flags.0 & CLEARED),
            vn_mode,
            last_kod: f64::NEG_INFINITY,
            prev: NIL,
            next: NIL,
        };
        let slot = if self.slab.len() < self.params.mindepth.min(self.params.maxdepth) {
            None
        } else {
            let oldest_age = self.slab.get(self.tail).map(|e| now - e.last);
            match oldest_age {
                Some(age) if age > f64::from(self.params.maxage) => Some(self.tail),
                _ if self.slab.len() < self.params.maxdepth => None,
                Some(age) if coin > age / f64::from(self.discard.monitor.max(1)) => {
                    self.untracked += 1;
                    return fresh.flags;
                }
                Some(_) => Some(self.tail),
                None => None,
            }
        };
        let i = match slot {
            Some(i) => {
                self.unlink(i);
                let old = self.slab[i].addr;
                self.index.remove(&old);
                self.slab[i] = fresh;
                i
            }
            None => {
                self.slab.push(fresh);
                self.slab.len() - 1
            }
        };
        self.index.insert(addr, i);
        self.push_front(i);
        fresh.flags
    }
}

impl MruList {
    /// Record a refused packet from `addr` and say whether a DENY/RSTR
    /// kiss-o'-death is due: the first one, then one per average headway
    /// (`2^discard average` seconds). Untracked sources (table full) get
    /// none.
    pub fn kod_due(&mut self, addr: IpAddr, port: u16, vn_mode: u8, now: f64, coin: f64) -> bool {
        self.observe(addr, port, vn_mode, RestrictFlags(0), now, coin);
        let headway = f64::from(1u32 << self.discard.average_log2.min(30));
        match self.index.get(&addr).and_then(|&i| self.slab.get_mut(i)) {
            Some(e) if now - e.last_kod >= headway => {
                e.last_kod = now;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LK: RestrictFlags = RestrictFlags(RestrictFlags::LIMITED | RestrictFlags::KOD);

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn polite_client_is_never_limited() {
        let mut m = MruList::new(DiscardParams::default(), MruParams::default());
        for k in 0..100 {
            let f = m.observe(ip(1), 123, 0x23, LK, f64::from(k) * 16.0, 0.5);
            assert_eq!(f.0, 0, "packet {k}");
        }
        // Every 8 s (= the average headway) is fine too.
        let mut m = MruList::new(DiscardParams::default(), MruParams::default());
        for k in 0..100 {
            assert_eq!(
                m.observe(ip(1), 123, 0x23, LK, f64::from(k) * 8.0, 0.5).0,
                0
            );
        }
        assert_eq!(m.limited, 0);
    }

    #[test]
    fn faster_than_minimum_is_limited_and_kod_is_rate_limited() {
        let mut m = MruList::new(DiscardParams::default(), MruParams::default());
        assert_eq!(m.observe(ip(1), 1, 0x23, LK, 0.0, 0.5).0, 0);
        // 0.2 s later (rounds to 0 s): below `minimum` 2 s with its 1 s
        // grace: over the limit, KoD.
        let f = m.observe(ip(1), 1, 0x23, LK, 0.2, 0.5);
        assert_eq!(f, LK);
        // The next ones within the penalty: limited, but no more KoD.
        let f = m.observe(ip(1), 1, 0x23, LK, 0.4, 0.5);
        assert_eq!(f.0, RestrictFlags::LIMITED);
        assert_eq!(m.limited, 2);
        // After the bucket leaked (limit + head = 72 s), it is served again.
        assert_eq!(m.observe(ip(1), 1, 0x23, LK, 80.0, 0.5).0, 0);
        assert_eq!(m.get(ip(1)).unwrap().count, 4);
    }

    #[test]
    fn a_burst_at_two_seconds_hits_the_average_limit() {
        // Packets every 2 s pass the minimum but not the 8 s average: the
        // counter grows by 8 − 2 − 2 = 4 per packet and trips after 15.
        let mut m = MruList::new(DiscardParams::default(), MruParams::default());
        let mut served = 0;
        for k in 0..40 {
            if m.observe(ip(1), 1, 0x23, LK, f64::from(k) * 2.0, 0.5).0 == 0 {
                served += 1;
            }
        }
        assert!((14..=17).contains(&served), "served {served}");
    }

    #[test]
    fn sources_without_limited_are_tracked_but_never_limited() {
        let mut m = MruList::new(DiscardParams::default(), MruParams::default());
        let noq = RestrictFlags(RestrictFlags::NOQUERY);
        for k in 0..50 {
            assert_eq!(
                m.observe(ip(1), 1, 0x23, noq, f64::from(k) * 0.01, 0.5),
                noq
            );
        }
        assert_eq!(m.get(ip(1)).unwrap().count, 50);
    }

    #[test]
    fn table_is_bounded_and_a_flood_cannot_pin_a_victim() {
        let params = MruParams {
            mindepth: 4,
            maxdepth: 64,
            maxage: 64,
        };
        let mut m = MruList::new(DiscardParams::default(), params);
        // The victim is rate limited by spoofed packets…
        m.observe(ip(0), 1, 0x23, LK, 0.0, 0.5);
        assert_eq!(m.observe(ip(0), 1, 0x23, LK, 0.1, 0.5), LK);
        // …then a flood of 100 000 other spoofed sources within 10 s.
        for k in 1..100_000u32 {
            let now = 0.2 + f64::from(k) * 1e-4;
            let coin = f64::from(k % 97) / 97.0;
            m.observe(ip(k), 1, 0x23, LK, now, coin);
            assert!(m.len() <= 64);
        }
        assert_eq!(m.len(), 64);
        assert!(m.untracked > 0);
        // After maxage the victim's stale entries are recycled; a fresh
        // request from the victim is served.
        let f = m.observe(ip(0), 1, 0x23, LK, 200.0, 0.5);
        assert_eq!(f.0, 0);
        assert_eq!(m.iter().next().unwrap().addr, ip(0));
    }

    #[test]
    fn refusal_kods_are_spaced_by_the_average_headway() {
        let mut m = MruList::new(DiscardParams::default(), MruParams::default());
        assert!(m.kod_due(ip(1), 1, 0x23, 0.0, 0.5));
        assert!(!m.kod_due(ip(1), 1, 0x23, 0.5, 0.5));
        assert!(!m.kod_due(ip(1), 1, 0x23, 7.9, 0.5));
        assert!(m.kod_due(ip(1), 1, 0x23, 8.0, 0.5));
        assert!(m.kod_due(ip(2), 1, 0x23, 8.0, 0.5), "per source");
    }
}
