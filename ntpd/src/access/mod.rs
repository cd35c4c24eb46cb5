//! Access control for every received datagram: `restrict` flags, the
//! version and length checks, and `discard` rate limiting, in the order of
//! the reference's `receive()`, cheapest first (RFC 5905 §9.2).

pub mod autokey_budget;
pub mod budget;
pub mod mru;
pub mod restrict;

use std::net::SocketAddr;

use proto::{KissCode, Mode, PacketRef};

pub use mru::{DiscardParams, MonEntry, MruList, MruParams};
pub use restrict::{MatchFlags, RestrictError, RestrictFlags, RestrictList};

/// Counters of the screening stage (the reference's `sys_*` statistics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScreenStats {
    /// Datagrams seen.
    pub received: u64,
    /// Dropped by `ignore`, `noserve`, `notrust`, `noquery`, `flake`.
    pub restricted: u64,
    /// Malformed or of a refused version.
    pub badlength: u64,
    /// Version 4.
    pub newversion: u64,
    /// Versions 1–3.
    pub oldversion: u64,
    /// Over the `discard` rate.
    pub limitrejected: u64,
    /// Kiss-o'-death packets to be sent.
    pub kodsent: u64,
    /// Mode 7 dropped.
    pub mode7: u64,
    /// Mode 6 passed on.
    pub control: u64,
}

/// The outcome of screening one datagram.
#[derive(Debug, Clone, Copy)]
pub enum Screen<'a> {
    /// Drop it, silently.
    Drop,
    /// A mode 6 request allowed by `noquery`.
    Control {
        /// The access flags of the sender.
        flags: RestrictFlags,
    },
    /// Answer with this kiss-o'-death.
    Kod {
        /// RATE, DENY or RSTR.
        code: KissCode,
        /// The parsed packet.
        packet: PacketRef<'a>,
    },
    /// A well-formed NTP packet of modes 1–5 to process.
    Packet {
        /// The parsed packet; mode 0 of version 1 has been read as mode 3.
        packet: PacketRef<'a>,
        /// Its mode.
        mode: Mode,
        /// The sender's access flags (`LIMITED`, `KOD` cleared).
        flags: RestrictFlags,
    },
}

/// The screening stage: the access list, the MRU list and counters.
#[derive(Debug, Clone)]
pub struct Access {
    /// `restrict` entries.
    pub restrict: RestrictList,
    /// The MRU list and rate limiter.
    pub mru: MruList,
    /// Counters.
    pub stats: ScreenStats,
}

impl Access {
    /// A screen with these lists.
    pub fn new(restrict: RestrictList, mru: MruList) -> Self {
        Access {
            restrict,
            mru,
            stats: ScreenStats::default(),
        }
    }

    /// Screen the datagram `bytes` from `src` received at `now` seconds.
    /// `coin` is a uniform random number in [0, 1) (for `flake` and the
    /// full MRU table).
    ///
    /// Beyond the reference (which only sends RATE), a source whose entry
    /// has `kod` gets DENY for `noserve` and RSTR for `notrust` without a
    /// MAC, limited like RATE to one per average headway per source.
    pub fn screen<'a>(
        &mut self,
        bytes: &'a [u8],
        src: SocketAddr,
        now: f64,
        coin: f64,
    ) -> Screen<'a> {
        self.stats.received += 1;
        if proto::mode7::is_mode7(bytes) {
            self.stats.mode7 += 1;
            return Screen::Drop;
        }
        let flags = self.restrict.lookup(src.ip(), src.port());
        if flags.has(RestrictFlags::IGNORE) {
            self.stats.restricted += 1;
            return Screen::Drop;
        }
        if Mode::of_datagram(bytes) == Some(Mode::Control) {
            if flags.has(RestrictFlags::NOQUERY) {
                self.stats.restricted += 1;
                return Screen::Drop;
            }
            self.stats.control += 1;
            return Screen::Control { flags };
        }
        let Ok(packet) = PacketRef::parse(bytes) else {
            self.stats.badlength += 1;
            return Screen::Drop;
        };
        let vn_mode = bytes.first().copied().unwrap_or(0) & 0x3f;
        if flags.has(RestrictFlags::DONTSERVE) {
            self.stats.restricted += 1;
            return self.maybe_kod(KissCode::Deny, packet, src, vn_mode, flags, now, coin);
        }
        if flags.has(RestrictFlags::FLAKE) && coin < 0.1 {
            self.stats.restricted += 1;
            return Screen::Drop;
        }
        let header = packet.header();
        if header.version == proto::header::NTP_VERSION {
            self.stats.newversion += 1;
        } else if !flags.has(RestrictFlags::VERSION) {
            self.stats.oldversion += 1;
        } else {
            self.stats.badlength += 1;
            return Screen::Drop;
        }
        let mode = match header.mode {
            Mode::Reserved if header.version == 1 => Mode::Client,
            Mode::Reserved => {
                self.stats.badlength += 1;
                return Screen::Drop;
            }
            m => m,
        };
        if flags.has(RestrictFlags::DONTTRUST) && packet.mac().is_none() {
            self.stats.restricted += 1;
            return self.maybe_kod(KissCode::Rstr, packet, src, vn_mode, flags, now, coin);
        }
        let limited = self
            .mru
            .observe(src.ip(), src.port(), vn_mode, flags, now, coin);
        if limited.has(RestrictFlags::LIMITED) {
            self.stats.limitrejected += 1;
            if !limited.has(RestrictFlags::KOD) || matches!(mode, Mode::Broadcast | Mode::Server) {
                return Screen::Drop;
            }
            self.stats.kodsent += 1;
            return Screen::Kod {
                code: KissCode::Rate,
                packet,
            };
        }
        Screen::Packet {
            packet,
            mode,
            flags: RestrictFlags(flags.0 & !(RestrictFlags::LIMITED | RestrictFlags::KOD)),
        }
    }

    /// A refusal: a KoD if the entry has `kod`, the packet is a request,
    /// and the MRU list says a KoD is due for this source.
    #[allow(clippy::too_many_arguments)]
    fn maybe_kod<'a>(
        &mut self,
        code: KissCode,
        packet: PacketRef<'a>,
        src: SocketAddr,
        vn_mode: u8,
        flags: RestrictFlags,
        now: f64,
        coin: f64,
    ) -> Screen<'a> {
        if !flags.has(RestrictFlags::KOD)
            || !matches!(packet.header().mode, Mode::Client | Mode::SymmetricActive)
        {
            return Screen::Drop;
        }
        if self.mru.kod_due(src.ip(), src.port(), vn_mode, now, coin) {
            self.stats.kodsent += 1;
            Screen::Kod { code, packet }
        } else {
            Screen::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use RestrictFlags as F;

    fn req(version: u8, mode: u8) -> [u8; 48] {
        let mut r = [0u8; 48];
        r[0] = (version << 3) | mode;
        r
    }

    fn src(s: &str, port: u16) -> SocketAddr {
        SocketAddr::new(s.parse::<IpAddr>().unwrap(), port)
    }

    fn access(default: u32) -> Access {
        let mut r = RestrictList::default();
        r.add_default(true, true, default, 0, None);
        Access::new(
            r,
            MruList::new(DiscardParams::default(), MruParams::default()),
        )
    }

    #[test]
    fn plain_request_passes_with_its_flags() {
        let mut a = access(F::NOQUERY | F::NOMODIFY);
        let r = req(4, 3);
        match a.screen(&r, src("192.0.2.1", 5000), 0.0, 0.5) {
            Screen::Packet { mode, flags, .. } => {
                assert_eq!(mode, Mode::Client);
                assert_eq!(flags.0, F::NOQUERY | F::NOMODIFY);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(a.stats.newversion, 1);
    }

    #[test]
    fn mode7_ignore_noquery_and_garbage_are_dropped() {
        let mut a = access(0);
        let mut m7 = [0u8; 48];
        m7[0] = 0x17;
        assert!(matches!(
            a.screen(&m7, src("192.0.2.1", 1), 0.0, 0.5),
            Screen::Drop
        ));
        assert_eq!(a.stats.mode7, 1);
        assert!(matches!(
            a.screen(&[0x23; 20], src("192.0.2.1", 1), 0.0, 0.5),
            Screen::Drop
        ));
        assert_eq!(a.stats.badlength, 1);
        let mut m6 = [0u8; 12];
        m6[0] = 0x16;
        assert!(matches!(
            a.screen(&m6, src("192.0.2.1", 1), 0.0, 0.5),
            Screen::Control { .. }
        ));
        let mut q = access(F::NOQUERY);
        assert!(matches!(
            q.screen(&m6, src("192.0.2.1", 1), 0.0, 0.5),
            Screen::Drop
        ));
        let mut i = access(F::IGNORE);
        assert!(matches!(
            i.screen(&req(4, 3), src("192.0.2.1", 1), 0.0, 0.5),
            Screen::Drop
        ));
        assert_eq!(i.stats.restricted, 1);
    }

    #[test]
    fn version_flag_refuses_old_versions_and_mode0_v1_is_a_client() {
        let mut a = access(0);
        assert!(matches!(
            a.screen(&req(3, 3), src("192.0.2.1", 1), 0.0, 0.5),
            Screen::Packet { .. }
        ));
        assert!(matches!(
            a.screen(&req(1, 0), src("192.0.2.2", 1), 0.0, 0.5),
            Screen::Packet {
                mode: Mode::Client,
                ..
            }
        ));
        assert!(matches!(
            a.screen(&req(2, 0), src("192.0.2.3", 1), 0.0, 0.5),
            Screen::Drop
        ));
        let mut v = access(F::VERSION);
        assert!(matches!(
            v.screen(&req(3, 3), src("192.0.2.1", 1), 0.0, 0.5),
            Screen::Drop
        ));
        assert!(matches!(
            v.screen(&req(4, 3), src("192.0.2.1", 1), 0.0, 0.5),
            Screen::Packet { .. }
        ));
    }

    #[test]
    fn rate_limit_gives_one_rate_kod_then_silence() {
        let mut a = access(F::LIMITED | F::KOD);
        let s = src("192.0.2.9", 4000);
        let r = req(4, 3);
        assert!(matches!(a.screen(&r, s, 0.0, 0.5), Screen::Packet { .. }));
        assert!(matches!(
            a.screen(&r, s, 0.2, 0.5),
            Screen::Kod {
                code: KissCode::Rate,
                ..
            }
        ));
        for k in 0..10 {
            assert!(matches!(
                a.screen(&r, s, 0.3 + f64::from(k) * 0.1, 0.5),
                Screen::Drop
            ));
        }
        assert_eq!(a.stats.limitrejected, 11);
        assert_eq!(a.stats.kodsent, 1);
        // Without `kod`: limited silently.
        let mut q = access(F::LIMITED);
        q.screen(&r, s, 0.0, 0.5);
        assert!(matches!(q.screen(&r, s, 0.2, 0.5), Screen::Drop));
        assert_eq!(q.stats.kodsent, 0);
        // Server-mode packets never get a KoD.
        let mut a = access(F::LIMITED | F::KOD);
        let r4 = req(4, 4);
        a.screen(&r4, s, 0.0, 0.5);
        assert!(matches!(a.screen(&r4, s, 0.2, 0.5), Screen::Drop));
    }

    #[test]
    fn noserve_and_notrust_give_deny_and_rstr_only_with_kod() {
        let mut a = access(F::DONTSERVE | F::KOD);
        let s = src("192.0.2.9", 4000);
        assert!(matches!(
            a.screen(&req(4, 3), s, 0.0, 0.5),
            Screen::Kod {
                code: KissCode::Deny,
                ..
            }
        ));
        // Then at most one per headway (8 s).
        assert!(matches!(a.screen(&req(4, 3), s, 0.5, 0.5), Screen::Drop));
        assert!(matches!(
            a.screen(&req(4, 3), s, 8.5, 0.5),
            Screen::Kod {
                code: KissCode::Deny,
                ..
            }
        ));
        let mut t = access(F::DONTTRUST | F::KOD);
        assert!(matches!(
            t.screen(&req(4, 3), s, 0.0, 0.5),
            Screen::Kod {
                code: KissCode::Rstr,
                ..
            }
        ));
        let mut t = access(F::DONTTRUST);
        assert!(matches!(t.screen(&req(4, 3), s, 0.0, 0.5), Screen::Drop));
        let mut a = access(F::DONTSERVE);
        assert!(matches!(a.screen(&req(4, 3), s, 0.0, 0.5), Screen::Drop));
    }
}
