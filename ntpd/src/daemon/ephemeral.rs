//! Ephemeral association slots under attack (RFC 5905 §9.1 mobilisation,
//! RFC 5906 §14): a symmetric active or Autokey broadcast packet whose
//! MAC verifies under cookie 0 mobilises an association, and cookie 0's
//! session key is made of public values, so anyone can fill
//! [`MAX_EPHEMERAL`] slots from as many addresses, with poll 17 keeping
//! them for days. So an ephemeral association is *unproven* until it is
//! authenticated — mobilised by a trusted symmetric key, or proventic
//! through Autokey — and unproven ones:
//!
//! - are evicted first, oldest first, when the slots are full and another
//!   packet asks for one (a genuine peer with a trusted key always gets
//!   in);
//! - when they wait for Autokey, are demobilised [`UNPROVEN_LIFETIME`]
//!   seconds after mobilisation unless proventic by then;
//! - are at most [`MAX_UNPROVEN_PER_PREFIX`] per /24 (IPv4) or /64 (IPv6)
//!   source network.
//!
//! Associations mobilised without authentication under `disable auth`
//! are not time-limited (the operator asked for them), but they are
//! unproven and so evicted first.

use std::net::IpAddr;

use super::{Core, MAX_EPHEMERAL};

/// Seconds an ephemeral association waiting for Autokey has to become
/// proventic: a volley is about eight exchanges (brief §5.2), 512 s at
/// poll 6, so a peer polling at 2^6 s or faster completes in time.
pub const UNPROVEN_LIFETIME: f64 = 900.0;

/// Most unproven ephemeral associations from one /24 or /64.
pub const MAX_UNPROVEN_PER_PREFIX: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Slot {
    id: u16,
    mobilised: f64,
    /// Mobilised by a trusted symmetric key.
    trusted: bool,
}

/// When and how each ephemeral association was mobilised.
#[derive(Debug, Clone, Default)]
pub struct EphemeralLedger {
    slots: Vec<Slot>,
    /// Unproven associations evicted to make room.
    pub evicted: u64,
    /// Unproven associations demobilised for not proving themselves in time.
    pub expired: u64,
    /// Mobilisations refused by the per-network cap.
    pub refused_prefix: u64,
}

/// The /24 or /64 of an address.
fn prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::from(std::net::Ipv4Addr::from(u32::from(a) & 0xffff_ff00)),
        IpAddr::V6(a) => IpAddr::from(std::net::Ipv6Addr::from(
            u128::from(a) & !((1u128 << 64) - 1),
        )),
    }
}

impl Core {
    fn slot_of(&self, id: u16) -> Option<Slot> {
        self.hardening
            .ephemeral
            .slots
            .iter()
            .find(|s| s.id == id)
            .copied()
    }

    /// Whether ephemeral association `i` is unproven (evictable); its
    /// mobilisation time.
    fn unproven(&self, i: usize) -> Option<f64> {
        let r = self.assocs.get(i)?;
        if !r.assoc.cfg.ephemeral {
            return None;
        }
        let slot = self.slot_of(r.assoc.id);
        let trusted = slot.is_some_and(|s| s.trusted);
        let proven = trusted || (r.assoc.cfg.autokey && r.assoc.auth.is_proventic());
        (!proven).then(|| slot.map_or(self.started, |s| s.mobilised))
    }

    /// Room for one more ephemeral association from `src`, mobilised by a
    /// trusted key or not: the per-network cap for unproven ones, then a
    /// free slot, else the oldest unproven association is evicted. `false`
    /// when there is no room.
    pub(super) fn make_ephemeral_room(&mut self, src: IpAddr, trusted: bool) -> bool {
        let net = prefix(src);
        if !trusted {
            let same_net = (0..self.assocs.len())
                .filter(|&i| {
                    self.unproven(i).is_some() && prefix(self.assocs[i].assoc.remote().ip()) == net
                })
                .count();
            if same_net >= MAX_UNPROVEN_PER_PREFIX {
                self.hardening.ephemeral.refused_prefix += 1;
                crate::limited!(
                    DEBUG,
                    "{src}: {same_net} unauthenticated ephemeral associations from its network already; not mobilised"
                );
                return false;
            }
        }
        let ephemeral = self.assocs.iter().filter(|r| r.assoc.cfg.ephemeral).count();
        if ephemeral < MAX_EPHEMERAL {
            return true;
        }
        let oldest = (0..self.assocs.len())
            .filter_map(|i| self.unproven(i).map(|t| (i, t)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i);
        let Some(i) = oldest else {
            return false;
        };
        let gone = self.assocs.remove(i);
        self.hardening.ephemeral.evicted += 1;
        crate::limited!(
            INFO,
            "ephemeral association {} for {} evicted (not authenticated) to make room for {src}",
            gone.assoc.id,
            gone.assoc.remote()
        );
        true
    }

    /// Records ephemeral association `id`, just mobilised (by a trusted
    /// key or not).
    pub(super) fn note_ephemeral(&mut self, id: u16, trusted: bool) {
        let mobilised = self.env.monotonic();
        let ledger = &mut self.hardening.ephemeral;
        ledger.slots.retain(|s| s.id != id);
        ledger.slots.push(Slot {
            id,
            mobilised,
            trusted,
        });
    }

    /// Once a second: ephemeral associations still waiting for Autokey
    /// [`UNPROVEN_LIFETIME`] after mobilisation go; the ledger forgets
    /// associations that are gone.
    pub(super) fn expire_unproven(&mut self) {
        let now = self.env.monotonic();
        let expired: Vec<u16> = (0..self.assocs.len())
            .filter(|&i| self.assocs[i].assoc.cfg.autokey)
            .filter(|&i| {
                self.unproven(i)
                    .is_some_and(|t| now - t >= UNPROVEN_LIFETIME)
            })
            .map(|i| self.assocs[i].assoc.id)
            .collect();
        if !expired.is_empty() {
            self.assocs.retain(|r| !expired.contains(&r.assoc.id));
            self.hardening.ephemeral.expired += expired.len() as u64;
            crate::limited!(
                INFO,
                "demobilized {} ephemeral association(s) not authenticated within {UNPROVEN_LIFETIME} s",
                expired.len()
            );
        }
        let assocs = &self.assocs;
        self.hardening
            .ephemeral
            .slots
            .retain(|s| assocs.iter().any(|r| r.assoc.id == s.id));
    }
}

#[cfg(test)]
mod tests {
    use super::prefix;
    use std::net::IpAddr;

    #[test]
    fn networks_are_slash_24_and_slash_64() {
        let p = |s: &str| prefix(s.parse::<IpAddr>().unwrap()).to_string();
        assert_eq!(p("192.0.2.77"), "192.0.2.0");
        assert_eq!(p("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
    }
}
