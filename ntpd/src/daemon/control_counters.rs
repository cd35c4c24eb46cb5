//! The counters of `ntpq -c authinfo`, `iostats` and `monstats` (RFC 9327
//! system variables; the reference's `ntp_control.c` names) as this
//! daemon has them. Where the reference counts something this daemon
//! does not have, the value says so (0, or what stands in its place); what
//! each one means here is written at its arm below.

use std::mem::size_of;
use std::net::IpAddr;

use super::control::ControlView;
use crate::access::mru::MonEntry;
use crate::access::RestrictFlags;
use crate::mode6::SystemCounter;
use crate::net::batch::BATCH;

/// `mru_enabled` bit: `enable monitor` (the reference's `MON_ON`).
const MON_ON: u64 = 0x1;

/// `mru_enabled` bit: a `restrict … limited` entry needs the list for rate
/// limiting (the reference's `MON_RES`).
const MON_RES: u64 = 0x2;

/// Memory one MRU entry takes here, octets: the entry and its slot in the
/// address index (the hash table's spare capacity is not counted).
const MRU_ENTRY_SIZE: usize = size_of::<MonEntry>() + size_of::<(IpAddr, usize)>();

/// `entries` MRU entries in kilobytes, rounded to the nearest as the
/// reference rounds `mru_mem`.
fn kilobytes(entries: usize) -> u64 {
    ((entries * MRU_ENTRY_SIZE) as f64 / 1024.0).round() as u64
}

impl ControlView<'_> {
    /// The `authinfo`, `iostats` and `monstats` counters; `None` for the
    /// others.
    pub(super) fn auth_io_mru_counter(&self, c: SystemCounter) -> Option<u64> {
        use SystemCounter as C;
        let uptime = (self.now - self.started).max(0.0) as u64;
        let auth = self.keys.counts();
        let mru = &self.access.mru;
        Some(match c {
            // The counters are never reset: their age is the daemon's.
            C::AuthReset => uptime,
            // Keys read from the keys file (Autokey session keys live in
            // each association's Autokey engine and are not among them).
            C::AuthKeys => self.keys.len() as u64,
            // The reference preallocates key slots; keys here are held in
            // a map that grows as needed, so no slot is ever free.
            C::AuthFreeKeys => 0,
            C::AuthKeyLookups => auth.lookups,
            C::AuthKeyNotFound => auth.not_found,
            // No one-key cache here: every lookup searches the key table.
            C::AuthKeyUncached => auth.lookups,
            // Symmetric keys have no lifetime here: none expires.
            C::AuthKeyExpired => 0,
            C::AuthEncrypts => auth.encryptions,
            C::AuthDecrypts => auth.decryptions,
            // One batch of receive buffers, allocated at start and
            // reused by every `recvmmsg` (net::batch).
            C::TotalRecvBuffers => BATCH as u64,
            // Those neither holding this request nor a datagram of its
            // batch that waits behind it.
            C::FreeRecvBuffers => (BATCH as u64).saturating_sub(self.stats.receive_waiting + 1),
            // Datagrams of this request's batch waiting to be handled.
            C::UsedRecvBuffers => self.stats.receive_waiting,
            // The buffers never run low: none is ever added.
            C::RecvBufferLowWater => 0,
            // Packets arriving on a wildcard socket that does not listen
            // (the reference's packets on an `ignore_packets` interface).
            C::IoIgnored => self.stats.wildcard_dropped,
            // Wakeups of the event loop for a readable socket, and those
            // that took at least one datagram.
            C::IoWakeups => self.stats.input_wakeups,
            C::IoGoodWakeups => self.stats.useful_input_wakeups,
            C::MruEnabled => {
                let limited = [false, true].iter().any(|&v6| {
                    self.access
                        .restrict
                        .entries(v6)
                        .iter()
                        .any(|e| e.flags.has(RestrictFlags::LIMITED))
                });
                (if mru.is_monitoring() { MON_ON } else { 0 }) | (if limited { MON_RES } else { 0 })
            }
            // Entries are recycled, never removed: the deepest the list
            // has been is its depth now.
            C::MruDeepest => mru.len() as u64,
            C::MruMinDepth => mru.params().mindepth as u64,
            C::MruMaxAge => u64::from(mru.params().maxage),
            C::MruMaxDepth => mru.params().maxdepth as u64,
            C::MruMem => kilobytes(mru.len()),
            C::MruMaxMem => kilobytes(mru.params().maxdepth),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::Core;

    /// The text of a READVAR of association 0 for `names`, as a fresh
    /// simulated daemon of `conf` answers it.
    fn read(conf: &str, names: &str) -> String {
        let p = std::path::Path::new("t.conf");
        let c = config::conf::parse_str(conf, p).unwrap();
        let opts = crate::cli::Options::default();
        let s = crate::daemon::settings::Settings::from_conf(&c.config, &opts, p).unwrap();
        let mut core = Core::simulated(&s, crate::auth::KeyRing::default(), -20);
        crate::daemon::control::tests::read_system_vars(&mut core, names)
    }

    #[test]
    fn iostats_and_monstats_are_the_daemons_own() {
        let io = read(
            "",
            "total_rbuf,free_rbuf,used_rbuf,rbuf_lowater,io_ignored,io_wakeups",
        );
        for want in [
            format!("total_rbuf={BATCH}"),
            format!("free_rbuf={}", BATCH - 1),
            "used_rbuf=0".into(),
            "rbuf_lowater=0".into(),
            "io_ignored=0".into(),
            "io_wakeups=0".into(),
        ] {
            assert!(io.contains(&want), "{want} in {io}");
        }
        let mon = read(
            "restrict default limited kod\nmru maxdepth 100 mindepth 10 maxage 30\n",
            "mru_enabled,mru_deepest,mru_mindepth,mru_maxage,mru_maxdepth,mru_maxmem",
        );
        for want in [
            "mru_enabled=0x3".to_string(),
            "mru_deepest=0".into(),
            "mru_mindepth=10".into(),
            "mru_maxage=30".into(),
            "mru_maxdepth=100".into(),
            format!("mru_maxmem={}", kilobytes(100)),
        ] {
            assert!(mon.contains(&want), "{want} in {mon}");
        }
        let off = read("disable monitor\n", "mru_enabled");
        assert!(off.contains("mru_enabled=0x0"), "{off}");
    }

    #[test]
    fn mru_memory_is_rounded_to_kilobytes() {
        assert_eq!(kilobytes(0), 0);
        let per_kb = 1024 / MRU_ENTRY_SIZE;
        assert_eq!(kilobytes(per_kb * 10), 10);
        assert!(kilobytes(16384) >= 16384 * MRU_ENTRY_SIZE as u64 / 1024);
    }
}
