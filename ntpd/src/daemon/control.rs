//! The daemon's side of mode 6 (RFC 9327): [`ControlView`], the
//! [`ControlState`] the sans-IO [`crate::mode6::ControlServer`] reads,
//! built over the daemon's [`Core`] for one request; and
//! [`Core::handle_control`], which passes a screened mode 6 datagram to
//! the server and queues the answer for the socket it came to.
//!
//! Mode 6 only reads here: the only writes are clearing event counters
//! after an authenticated read, as the reference does. Runtime
//! configuration keeps the server's default refusal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use clock::select::SelectionParams;
use clock::system::Mitigation;
use proto::control::{AssociationEntry, PeerStatus, SystemStatus};
use proto::{NtpDuration, NtpTimestamp};

use super::clockctl::{ClockDriver, DynClock};
use super::sync::SyncEngine;
use super::{Core, DaemonStats, Running};
use crate::access::{Access, RestrictFlags};
use crate::assoc::HostMode;
use crate::mode6::{
    AutokeyValues, CertInfo, ControlState, ExtraVar, KernelVars, MruEntry, NtsPeerVars, PeerCrypto,
    PeerVars, RequestContext, Response, Restrictions, SystemCounter, SystemCrypto, SystemVars,
};
use crate::system::SystemState;

/// Clock source code of an NTP system peer in the system status word
/// (RFC 9327 §2.3.1, the reference's `CTL_SST_TS_NTP`).
const CLOCK_SOURCE_NTP: u16 = 6;

/// System event codes (RFC 9327 §2.3.1) the daemon raises.
pub mod system_event {
    /// The daemon started.
    pub const RESTART: u8 = 6;
    /// The clock became synchronised.
    pub const CLOCK_SYNC: u8 = 5;
    /// The clock was stepped.
    pub const CLOCK_STEP: u8 = 12;
    /// No system peer any more.
    pub const NO_SYS_PEER: u8 = 8;
}

/// The system event counter and the last system event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemEvents {
    /// Events since the last authenticated read, saturating at 15.
    pub count: u8,
    /// The last event code.
    pub last: u8,
}

impl Default for SystemEvents {
    fn default() -> Self {
        SystemEvents {
            count: 1,
            last: system_event::RESTART,
        }
    }
}

impl SystemEvents {
    /// Record event `code`.
    pub fn raise(&mut self, code: u8) {
        self.count = self.count.saturating_add(1).min(15);
        self.last = code;
    }
}

/// The host mode number of `ntpq` (`hmode`, RFC 5905 §9.1; broadcast
/// client is the reference's `MODE_BCLIENT`, 6).
pub fn host_mode_number(m: HostMode) -> u8 {
    match m {
        HostMode::SymmetricActive => 1,
        HostMode::SymmetricPassive => 2,
        HostMode::Client | HostMode::ManycastClient => 3,
        HostMode::BroadcastServer => 5,
        HostMode::BroadcastClient => 6,
    }
}

/// The selection code of association `r` in the peer status word
/// (RFC 9327 §2.4.1): 7 PPS peer (and 6 for the prefer peer beside it),
/// 6 system peer, 4 candidate (cluster survivor), 3
/// outlier (a fit truechimer the cluster algorithm discarded), 1
/// falseticker, 0 rejected (no sample yet, `noselect`, or unfit).
pub fn selection_code(
    r: &Running,
    mitigation: Option<&Mitigation>,
    params: &SelectionParams,
    now: f64,
) -> u8 {
    let uid = usize::from(r.assoc.id);
    let Some(src) = r.assoc.source() else {
        return 0;
    };
    if src.candidate.unfit_reason(now, params).is_some() {
        return 0;
    }
    match mitigation {
        Some(Mitigation::Synchronized {
            sys_peer,
            pps_peer,
            prefer_peer,
            survivors,
            falsetickers,
            ..
        }) => {
            if *sys_peer == uid {
                if *pps_peer {
                    7
                } else {
                    6
                }
            } else if *pps_peer && *prefer_peer == Some(uid) {
                // The reference keeps the prefer peer's `*` beside `o`.
                6
            } else if survivors.contains(&uid) {
                4
            } else if falsetickers.contains(&uid) {
                1
            } else {
                3
            }
        }
        _ => 0,
    }
}

/// The peer status word of `r` (RFC 9327 §2.4.1, the reference's
/// `ctlpeerstatus()`): configured, authentication enabled, authentic,
/// reachable, broadcast server; the selection code; the event counter and
/// last event.
pub fn peer_status_word(
    r: &Running,
    mitigation: Option<&Mitigation>,
    params: &SelectionParams,
    now: f64,
) -> u16 {
    let a = &r.assoc;
    let mut st: u16 = if a.cfg.ephemeral { 0 } else { 0x80 };
    // AUTHENABLE: a non-zero key ID in use (an Autokey association has
    // one from its first poll on, brief §10.3), or NTS.
    if a.auth.enabled() {
        st |= 0x40;
        if a.authentic {
            st |= 0x20;
        }
    }
    if a.peer.reach().is_reachable() {
        st |= 0x10;
    }
    // BCAST: a send-only association (the reference's MDF_TXONLY_MASK):
    // a broadcaster or the manycast solicitor.
    if matches!(
        a.cfg.mode,
        HostMode::BroadcastServer | HostMode::ManycastClient
    ) {
        st |= 0x08;
    }
    let sel = u16::from(selection_code(r, mitigation, params, now));
    let (count, last) = a.events();
    ((st | sel) << 8) | (u16::from(count.min(15)) << 4) | u16::from(last & 0xf)
}

/// `uname`: (`processor`, `system`) as the reference shows them
/// (`x86_64`, `Linux/6.1.0`).
fn uname() -> (String, String) {
    match nix::sys::utsname::uname() {
        Ok(u) => (
            u.machine().to_string_lossy().into_owned(),
            format!(
                "{}/{}",
                u.sysname().to_string_lossy(),
                u.release().to_string_lossy()
            ),
        ),
        Err(_) => (String::new(), String::new()),
    }
}

/// The kernel status bits by name, as `ntpq -c kerninfo` shows them.
fn kernel_status_flags(status: i32) -> String {
    const NAMES: [(i32, &str); 16] = [
        (0x0001, "pll"),
        (0x0002, "ppsfreq"),
        (0x0004, "ppstime"),
        (0x0008, "fll"),
        (0x0010, "ins"),
        (0x0020, "del"),
        (0x0040, "unsync"),
        (0x0080, "freqhold"),
        (0x0100, "ppssignal"),
        (0x0200, "ppsjitter"),
        (0x0400, "ppswander"),
        (0x0800, "ppserror"),
        (0x1000, "clockerr"),
        (0x2000, "nano"),
        (0x4000, "mode=fll"),
        (0x8000, "src=B"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| status & bit != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A [`ControlView`] of the core `$core` at monotonic `$now` and wall
/// time `$now_ntp`, with the extra system variables `$sys_vars` (the
/// core's `setvar`s unless given). A macro, not a method, so that the borrows stay split
/// by field: mode 6 borrows the core's control state and generator beside
/// the view.
macro_rules! control_view {
    ($core:ident, $now:expr, $now_ntp:expr) => {
        control_view!($core, $now, $now_ntp, &$core.sys_vars)
    };
    ($core:ident, $now:expr, $now_ntp:expr, $sys_vars:expr) => {
        $crate::daemon::control::ControlView {
            assocs: &mut $core.assocs,
            sys: &$core.sys,
            sync: &$core.sync,
            driver: &$core.driver,
            access: &$core.policy.access,
            stats: &$core.stats,
            keys: &$core.policy.keys,
            mitigation: $core.last_mitigation.as_ref(),
            refclocks: &$core.refclocks,
            socket_addrs: &$core.net.socket_addrs,
            events: &mut $core.sys_events,
            now: $now,
            started: $core.started,
            now_ntp: $now_ntp,
            autokey: $core.autokey.as_ref(),
            sys_vars: $sys_vars,
            leap_table: $core.leap_table,
            broadcast_delay: $core.policy.broadcast_delay,
        }
    };
}
pub(crate) use control_view;

/// A view of the daemon for one mode 6 request.
pub struct ControlView<'a> {
    /// Associations (mutable only for clearing event counters).
    pub assocs: &'a mut Vec<Running>,
    /// Advertised system variables.
    pub sys: &'a SystemState,
    /// Mitigation.
    pub sync: &'a SyncEngine,
    /// The discipline and the clock.
    pub driver: &'a ClockDriver<DynClock>,
    /// Screening counters and the MRU list.
    pub access: &'a Access,
    /// Daemon counters.
    pub stats: &'a DaemonStats,
    /// The symmetric keys (`authinfo`).
    pub keys: &'a crate::auth::KeyRing,
    /// The latest mitigation outcome.
    pub mitigation: Option<&'a Mitigation>,
    /// The reference clocks (for READCLOCK).
    pub refclocks: &'a [super::refclock::ClockState],
    /// Local address and wildcard flag of each socket.
    pub socket_addrs: &'a [(SocketAddr, bool)],
    /// The system event counter.
    pub events: &'a mut SystemEvents,
    /// Monotonic time now, seconds.
    pub now: f64,
    /// Monotonic time the daemon started, seconds (for `uptime` and the
    /// `sysstats` counters' age).
    pub started: f64,
    /// Real time now (for the MRU list's timestamps).
    pub now_ntp: NtpTimestamp,
    /// The Autokey host, when `crypto` is configured.
    pub autokey: Option<&'a super::crypto::AutokeyHost>,
    /// `--var`, `--dvar`, `setvar` variables.
    pub sys_vars: &'a [ExtraVar],
    /// The leap table (`tai`, `leapsec`, `expire`).
    pub leap_table: Option<crate::leapfile::LeapTable>,
    /// `broadcastdelay`, seconds, when configured (`bcastdelay`).
    pub broadcast_delay: Option<f64>,
}

impl ControlView<'_> {
    fn running(&self, id: u16) -> Option<&Running> {
        self.assocs.iter().find(|r| r.assoc.id == id)
    }

    fn status_word(&self, r: &Running) -> u16 {
        peer_status_word(r, self.mitigation, self.sync.params(), self.now)
    }

    /// A monotonic time as real time.
    fn ntp_time(&self, mono: f64) -> NtpTimestamp {
        self.now_ntp - NtpDuration::from_seconds_f64((self.now - mono).max(0.0))
    }

    fn since(&self, t: Option<f64>) -> u64 {
        t.map_or(0, |t| (self.now - t).max(0.0) as u64)
    }
}

impl ControlState for ControlView<'_> {
    fn clock(&self, id: u16) -> Option<crate::mode6::ClockVars> {
        let sys_peer = self.sync.sys_peer().and_then(|p| u16::try_from(p).ok());
        super::refclock_stats::clock_vars(self.refclocks, id, sys_peer)
    }

    fn system_crypto(&self) -> Option<SystemCrypto> {
        let ak = self.autokey?;
        let h = &ak.host;
        let status = h.status();
        let signature = openssl::nid::Nid::from_raw(status.nid() as i32)
            .long_name()
            .unwrap_or("")
            .to_owned();
        let digest = match h.digest() {
            autokey::SessionDigest::Md5 => "md5",
            autokey::SessionDigest::Sha1 => "sha1",
        };
        let certificates = h
            .cert_cache()
            .entries()
            .iter()
            .map(|c| CertInfo {
                subject: c.subject.clone(),
                issuer: c.issuer.clone(),
                flags: u32::from(c.flags),
                not_after: c.not_after,
            })
            .collect();
        Some(SystemCrypto {
            flags: status.0,
            host: Some(h.name().to_owned()),
            ident: ak.ident.clone(),
            digest: digest.to_owned(),
            signature,
            update: (h.last_update() != 0).then(|| ntp_to_unix(h.last_update())),
            certificates,
        })
    }

    fn extra_system_vars(&self) -> Vec<ExtraVar> {
        self.sys_vars.to_vec()
    }

    fn peer_crypto(&self, id: u16) -> Option<PeerCrypto> {
        let r = self.running(id)?;
        let e = r.assoc.auth.autokey_engine()?;
        Some(PeerCrypto {
            flags: e.flags(),
            host: e.server_name().map(str::to_owned),
            signature: e.signature_name().map(str::to_owned),
            ident: e.ident().map(str::to_owned),
            autokey: e.peer_auto_values().map(|(v, ts)| AutokeyValues {
                sequence: v.seq,
                key: v.key,
                timestamp: ntp_to_unix(ts),
            }),
        })
    }

    fn system(&self) -> SystemVars {
        let sys_peer = self
            .sync
            .sys_peer()
            .and_then(|id| u16::try_from(id).ok())
            .and_then(|id| self.running(id));
        let leap = self.sys.leap.to_bits();
        let source = if sys_peer.is_some() {
            CLOCK_SOURCE_NTP
        } else {
            0
        };
        let word = (u16::from(leap) << 14)
            | (source << 8)
            | (u16::from(self.events.count.min(15)) << 4)
            | u16::from(self.events.last & 0xf);
        let disc = self.driver.discipline();
        let (processor, system) = uname();
        SystemVars {
            status: SystemStatus::from_word(word),
            leap,
            stratum: self.sys.stratum,
            precision: self.sys.precision,
            root_delay: self.sys.root_delay,
            root_dispersion: self.sys.root_dispersion,
            refid: self.sys.refid.to_bytes(),
            reftime: self.sys.reftime,
            sys_peer: sys_peer.map(|r| r.assoc.id),
            sys_peer_address: sys_peer.map(|r| r.assoc.remote()),
            sys_peer_mode: sys_peer.map_or(0, |r| host_mode_number(r.assoc.cfg.mode)),
            poll: u8::try_from(disc.poll()).unwrap_or(0),
            min_poll: u8::try_from(self.sys.min_poll).unwrap_or(0),
            offset: self.driver.last_offset,
            frequency: disc.frequency(),
            sys_jitter: self.sync.errors().0,
            clock_jitter: disc.jitter(),
            clock_wander: disc.wander(),
            version: crate::cli::version_line(),
            processor,
            system,
            tai: self.leap_table.map_or(0, |t| t.tai_offset),
            leap_table_stamp: self.leap_table.map(|t| t.last_leap_unix()),
            leap_table_expire: self.leap_table.map(|t| t.expires_unix()),
            leap_smear: None,
            fuzz: 0.0,
            wander_threshold: 0.0,
            broadcast_delay: crate::mode6::reported_broadcast_delay(self.broadcast_delay),
            auth_delay: 0.0,
        }
    }

    fn associations(&self) -> Vec<AssociationEntry> {
        self.assocs
            .iter()
            .map(|r| AssociationEntry {
                association_id: r.assoc.id,
                status: PeerStatus::from_word(self.status_word(r)),
            })
            .collect()
    }

    fn peer(&self, id: u16) -> Option<PeerVars> {
        let r = self.running(id)?;
        let a = &r.assoc;
        let h = a.last_header;
        let out = a.peer.filter().output();
        let stages = a.peer.filter().stages();
        let destination = r.socket.and_then(|i| self.socket_addrs.get(i)).map(|s| s.0);
        let unspecified = |v6: bool| -> IpAddr {
            if v6 {
                Ipv6Addr::UNSPECIFIED.into()
            } else {
                Ipv4Addr::UNSPECIFIED.into()
            }
        };
        let destination =
            destination.or(Some(SocketAddr::new(unspecified(a.remote().is_ipv6()), 0)));
        Some(PeerVars {
            status: PeerStatus::from_word(self.status_word(r)),
            preemptible: a.cfg.from_pool || a.cfg.ephemeral,
            authentic: a.authentic,
            source: a.remote(),
            hostname: None,
            destination,
            leap: h.map_or(3, |h| h.leap.to_bits()),
            host_mode: host_mode_number(a.cfg.mode),
            peer_mode: h.map_or(0, |h| h.mode.to_bits()),
            // Stratum 0 ("unspecified") is shown as 16, as the reference does.
            stratum: h.map_or(16, |h| {
                if h.stratum == 0 && !super::refclock::is_clock_address(a.remote().ip()) {
                    16
                } else {
                    h.stratum.min(16)
                }
            }),
            // As the reference: maxpoll until a packet says otherwise,
            // then the peer's poll but never below our minpoll.
            peer_poll: u8::try_from(h.map_or(a.cfg.maxpoll, |h| h.poll.max(a.cfg.minpoll)))
                .unwrap_or(0),
            host_poll: u8::try_from(a.peer.poll().hpoll()).unwrap_or(0),
            precision: h.map_or(0, |h| h.precision),
            root_delay: h.map_or(0.0, |h| h.root_delay.to_seconds_f64()),
            root_dispersion: h.map_or(0.0, |h| h.root_dispersion.to_seconds_f64()),
            refid: h.map_or(*b"INIT", |h| h.reference_id.to_bytes()),
            refclock: super::refclock::is_clock_address(a.remote().ip()),
            reftime: h.map_or(NtpTimestamp::ZERO, |h| h.reference_timestamp),
            org: a.wire.org,
            rec: a.wire.rec,
            xleave: r.xleave,
            bias: 0.0,
            rate_in: 0.0,
            rate_out: 0.0,
            reach: a.peer.reach().register(),
            unreach: a.peer.reach().unreach(),
            timer: (a.peer.poll().next_poll() - self.now).max(0.0).ceil() as u64,
            delay: out.map_or(0.0, |o| o.delay),
            offset: out.map_or(0.0, |o| o.offset),
            jitter: out.map_or(0.0, |o| o.jitter),
            dispersion: out.map_or(clock::constants::MAXDISP, |o| o.dispersion),
            key_id: a.auth.key_id(),
            filter_delay: stages.map(|s| s.1),
            filter_offset: stages.map(|s| s.0),
            filter_dispersion: stages.map(|s| s.2),
            flash: a.packet_flash | a.peer_flash(self.now, self.sync.params(), r.our_refid),
            ttl: a.cfg.ttl.map(i64::from),
            headway: 0,
            received: a.stats.received,
            sent: a.stats.sent,
            time_received: self.since(a.last_rx),
            time_reachable: if a.peer.reach().is_reachable() {
                self.since(a.reach_since)
            } else {
                0
            },
            bad_auth: a.stats.badauth,
            bogus_origin: a.stats.bogus,
            old_packets: a.stats.duplicate,
            selection_dispersion: 0,
            selection_broken: 0,
            candidate: selection_code(r, self.mitigation, self.sync.params(), self.now),
            nts: super::metrics::nts::association_metrics(&a.auth).map(|m| NtsPeerVars {
                cookies: m.cookies,
                key_exchanges: m.key_exchanges,
                authentic: m.authentic,
                refused: m.refused,
            }),
        })
    }

    fn counter(&self, c: SystemCounter) -> Option<u64> {
        use SystemCounter as C;
        let s = &self.access.stats;
        let uptime = (self.now - self.started).max(0.0) as u64;
        let assoc_sum = |f: fn(&crate::assoc::AssocStats) -> u64| -> u64 {
            self.assocs.iter().map(|r| f(&r.assoc.stats)).sum()
        };
        Some(match c {
            C::Uptime | C::StatsReset | C::IoStatsReset => uptime,
            C::Received | C::IoReceived => s.received,
            C::ThisVersion => s.newversion,
            C::OldVersion => s.oldversion,
            C::BadFormat => s.badlength,
            C::BadAuth => self.stats.badauth + assoc_sum(|a| a.badauth),
            C::Declined => 0,
            C::Restricted => s.restricted,
            C::Limited => s.limitrejected,
            C::KodSent => s.kodsent,
            C::Processed => self.stats.replies + assoc_sum(|a| a.processed),
            C::Lamport | C::TsRounding => 0,
            C::MruDepth => self.access.mru.len() as u64,
            C::IoSent => self.stats.replies + assoc_sum(|a| a.sent),
            C::IoSendFailed => self.stats.send_errors,
            C::IoDropped => s.mode7,
            _ => return self.auth_io_mru_counter(c),
        })
    }

    fn kernel(&self) -> Option<KernelVars> {
        let st = clock::clock::Clock::state(self.driver.clock()).ok()?;
        Some(KernelVars {
            offset_ms: st.offset * 1e3,
            frequency_ppm: st.frequency * 1e6,
            max_error_ms: st.max_error * 1e3,
            est_error_ms: st.est_error * 1e3,
            status_flags: kernel_status_flags(st.status),
            time_constant: st.time_constant,
            // Linux: a 1 µs tick precision and a 500 PPM tolerance.
            precision_ms: 0.001,
            tolerance_ppm: 500.0,
            pps: None,
        })
    }

    fn mru_entries(&self) -> Vec<MruEntry> {
        let mut v: Vec<MruEntry> = self
            .access
            .mru
            .iter()
            .map(|e| MruEntry {
                address: SocketAddr::new(e.addr, e.port),
                local: None,
                first: self.ntp_time(e.first),
                last: self.ntp_time(e.last),
                count: e.count,
                mode_version: e.vn_mode,
                restrict: e.flags.0,
            })
            .collect();
        v.reverse();
        v
    }

    fn events_read(&mut self, association: Option<u16>) {
        match association {
            None => self.events.count = 0,
            Some(id) => {
                if let Some(r) = self.assocs.iter_mut().find(|r| r.assoc.id == id) {
                    r.assoc.clear_event_count();
                }
            }
        }
    }
}

/// The mode 6 restrictions of a source's `restrict` flags.
pub fn restrictions(flags: RestrictFlags) -> Restrictions {
    Restrictions {
        noquery: flags.has(RestrictFlags::NOQUERY),
        nomodify: flags.has(RestrictFlags::NOMODIFY),
        notrap: flags.has(RestrictFlags::NOTRAP),
        nomrulist: flags.has(RestrictFlags::NOMRULIST),
    }
}

impl Core {
    /// A mode 6 request from `source` that screening let through, with the
    /// sender's `restrict` flags, received at `rx`: the answer's datagrams
    /// are queued as [`super::Action::Reply`] (sent back from the
    /// socket the request came to).
    pub fn handle_control(
        &mut self,
        datagram: &[u8],
        source: SocketAddr,
        flags: RestrictFlags,
        rx: NtpTimestamp,
    ) {
        let ctx = RequestContext {
            source,
            now: rx,
            restrict: restrictions(flags),
        };
        let now = self.env.monotonic();
        // `setvar`s, then the NTS state (RFC 8915) as variables.
        let sys_vars: Vec<ExtraVar> = self
            .sys_vars
            .iter()
            .cloned()
            .chain(self.nts_system_vars())
            .collect();
        let mut view = control_view!(self, now, rx, &sys_vars);
        match self
            .control
            .handle(datagram, &ctx, &mut view, &self.policy.keys, &mut self.rng)
        {
            Response::Send(datagrams) => {
                for d in datagrams {
                    self.out.actions.push(super::Action::Reply(d));
                }
            }
            Response::Drop(why) => {
                tracing::debug!("mode 6 from {source} not answered: {why}");
            }
        }
    }
}

/// NTP seconds (era 0) as Unix seconds.
fn ntp_to_unix(ntp: u32) -> i64 {
    i64::from(ntp) - 2_208_988_800
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn kernel_status_bits_are_named() {
        assert_eq!(kernel_status_flags(0x2041), "pll unsync nano");
        assert_eq!(kernel_status_flags(0), "");
    }

    #[test]
    fn system_events_count_and_saturate() {
        let mut e = SystemEvents::default();
        assert_eq!((e.count, e.last), (1, system_event::RESTART));
        for _ in 0..20 {
            e.raise(system_event::CLOCK_SYNC);
        }
        assert_eq!((e.count, e.last), (15, system_event::CLOCK_SYNC));
    }

    /// The data of a READVAR for association 0 naming `names`,
    /// reassembled from the response's datagrams.
    pub(in crate::daemon) fn read_system_vars(core: &mut Core, names: &str) -> String {
        let n = names.len() as u16;
        let mut req = vec![0x16, 0x02, 0, 9, 0, 0, 0, 0, 0, 0];
        req.extend_from_slice(&n.to_be_bytes());
        req.extend_from_slice(names.as_bytes());
        while req.len() % 4 != 0 {
            req.push(0);
        }
        core.handle_control(
            &req,
            "127.0.0.1:40000".parse().unwrap(),
            RestrictFlags(0),
            NtpTimestamp::from_bits(0xe000_0000_0000_0000),
        );
        let mut text = Vec::new();
        for d in core.out.actions.take_replies() {
            assert_eq!(d[1] & 0x1f, 2, "READVAR response");
            let count = usize::from(u16::from_be_bytes([d[10], d[11]]));
            text.extend_from_slice(&d[12..12 + count]);
        }
        String::from_utf8(text).unwrap()
    }

    /// `--var`/`--dvar`/`setvar` are served like the reference's
    /// `set_sys_var` variables: `--dvar` (and `setvar ... default`) ones
    /// in the default `rv` list, all of them by name.
    #[test]
    fn command_line_variables_are_served_in_mode_6() {
        let opts = crate::cli::Options {
            vars: vec!["site=lab".into()],
            dvars: vec!["owner=\"ops\"".into(), "dup=1".into()],
            ..Default::default()
        };
        let p = std::path::Path::new("t.conf");
        let c = config::conf::parse_str("setvar dup = 2 default\n", p).unwrap();
        let s = super::super::settings::Settings::from_conf(&c.config, &opts, p).unwrap();
        let mut core = Core::simulated(&s, crate::auth::KeyRing::default(), -20);
        let all = read_system_vars(&mut core, "");
        assert!(all.contains("owner=\"ops\""), "{all}");
        assert!(
            all.contains("dup=2"),
            "the file's setvar replaces --dvar: {all}"
        );
        assert!(!all.contains("dup=1") && !all.contains("site=lab"), "{all}");
        assert_eq!(read_system_vars(&mut core, "site"), "site=lab\r\n");
        let both = read_system_vars(&mut core, "site,owner");
        assert!(
            both.contains("site=lab") && both.contains("owner=\"ops\""),
            "{both}"
        );
    }

    #[test]
    fn host_modes_have_the_reference_numbers() {
        assert_eq!(host_mode_number(HostMode::Client), 3);
        assert_eq!(host_mode_number(HostMode::SymmetricPassive), 2);
        assert_eq!(host_mode_number(HostMode::BroadcastClient), 6);
    }
}
