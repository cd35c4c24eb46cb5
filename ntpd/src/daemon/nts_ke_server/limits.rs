//! How many NTS-KE sessions (RFC 8915 §4) run at once: at most
//! [`MAX_CONCURRENT_SESSIONS`] in all and [`MAX_SESSIONS_PER_SOURCE`] per
//! source, so that one address cannot hold every slot for the session
//! timeout. A source is an IPv4 address, or an IPv6 /64 (the smallest
//! prefix a site is usually given, so one host cannot dodge the limit by
//! changing its interface identifier). An IPv4 client reaching a dual-stack
//! listener as `::ffff:a.b.c.d` counts as the IPv4 address.
//!
//! A connection over either limit is refused at accept, before any TLS.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

/// Most NTS-KE sessions served at once.
pub const MAX_CONCURRENT_SESSIONS: usize = 64;
/// Most NTS-KE sessions served at once to one source.
pub const MAX_SESSIONS_PER_SOURCE: usize = 4;

/// Where a connection comes from, as far as the limits care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// The upper 64 bits of an IPv6 address.
    V6Prefix(u64),
}

impl Source {
    /// The source `ip` counts under.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Self::V4(a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Prefix((u128::from(a) >> 64) as u64),
            },
        }
    }
}

/// Why a connection gets no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotRefusal {
    /// [`MAX_CONCURRENT_SESSIONS`] are running.
    AllBusy,
    /// The source has [`MAX_SESSIONS_PER_SOURCE`] running.
    SourceBusy,
}

#[derive(Debug, Default)]
struct Active {
    total: usize,
    by_source: HashMap<Source, usize>,
}

/// The sessions running now.
#[derive(Debug)]
pub struct SessionSlots {
    total: usize,
    per_source: usize,
    active: Mutex<Active>,
}

/// One running session's slot, given back when dropped (when the session
/// ends, however it ends).
#[derive(Debug)]
pub struct SessionSlot {
    slots: Arc<SessionSlots>,
    source: Source,
}

impl Default for SessionSlots {
    fn default() -> Self {
        Self::new(MAX_CONCURRENT_SESSIONS, MAX_SESSIONS_PER_SOURCE)
    }
}

impl SessionSlots {
    /// At most `total` sessions, `per_source` from one source.
    pub fn new(total: usize, per_source: usize) -> Self {
        Self {
            total,
            per_source,
            active: Mutex::default(),
        }
    }

    /// A slot for a session with `ip`, if both limits allow one.
    pub fn take(self: &Arc<Self>, ip: IpAddr) -> Result<SessionSlot, SlotRefusal> {
        let source = Source::of(ip);
        let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if a.total >= self.total {
            return Err(SlotRefusal::AllBusy);
        }
        let n = a.by_source.entry(source).or_default();
        if *n >= self.per_source {
            return Err(SlotRefusal::SourceBusy);
        }
        *n += 1;
        a.total += 1;
        Ok(SessionSlot {
            slots: Arc::clone(self),
            source,
        })
    }

    /// Sessions running now.
    pub fn running(&self) -> usize {
        self.active.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut a = self.slots.active.lock().unwrap_or_else(|p| p.into_inner());
        a.total -= 1;
        if let Some(n) = a.by_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                a.by_source.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            Source::of(ip("2001:db8:1:2::1")),
            Source::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            Source::of(ip("2001:db8:1:2::1")),
            Source::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            Source::of(ip("::ffff:192.0.2.1")),
            Source::V4(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_ne!(Source::of(ip("192.0.2.1")), Source::of(ip("192.0.2.2")));
    }

    #[test]
    fn limits_per_source_and_in_all_and_slots_come_back() {
        let slots = Arc::new(SessionSlots::new(5, 2));
        let a1 = slots.take(ip("192.0.2.1")).unwrap();
        let _a2 = slots.take(ip("::ffff:192.0.2.1")).unwrap();
        assert_eq!(
            slots.take(ip("192.0.2.1")).unwrap_err(),
            SlotRefusal::SourceBusy
        );
        let _b1 = slots.take(ip("2001:db8::1")).unwrap();
        let _b2 = slots.take(ip("2001:db8::2")).unwrap();
        assert_eq!(
            slots.take(ip("2001:db8::3")).unwrap_err(),
            SlotRefusal::SourceBusy
        );
        let _c = slots.take(ip("192.0.2.3")).unwrap();
        assert_eq!(slots.running(), 5);
        assert_eq!(
            slots.take(ip("192.0.2.4")).unwrap_err(),
            SlotRefusal::AllBusy
        );
        drop(a1);
        assert_eq!(slots.running(), 4);
        let _a3 = slots.take(ip("192.0.2.1")).unwrap();
        assert_eq!(
            slots.take(ip("192.0.2.1")).unwrap_err(),
            SlotRefusal::AllBusy
        );
    }
}
