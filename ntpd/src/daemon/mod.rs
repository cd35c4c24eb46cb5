//! The daemon (RFC 5905 §9 "peer process" and §11 "system process" as
//! driven by the reference's event loop), one concern a module:
//!
//! - [`Core`] (here): the state the receive path and the timer share. It is
//!   sans-IO: time and routes come from an [`Environment`], randomness from
//!   the generator it was given, and everything it wants done leaves as an
//!   [`Action`].
//! - `receive`: [`Core::handle`] — screening, the server fast path, Autokey
//!   server replies, manycast answers, delivery to an association.
//! - `mobilization`: configured, ephemeral and manycast associations, and
//!   which socket each sends from.
//! - `system_process`: [`Core::tick`] — polls, mitigation, the discipline,
//!   system events, Autokey timers, statistics lines.
//! - [`control`]: mode 6 over the core. [`event_loop`]: the tokio driver.
//!   [`simnet`]: cores in memory. `serve`: [`run`], start-up to shutdown.
//! - [`metrics`]: the optional Prometheus endpoint (snapshot, rendering,
//!   HTTP listener).

pub mod action;
pub mod assoc_ids;
pub mod clockctl;
pub mod control;
mod control_counters;
pub mod crypto;
pub mod cryptostats;
pub mod environment;
pub mod ephemeral;
pub mod event_loop;
pub mod hardening;
mod keys_watch;
mod leap;
pub mod manycast_autokey;
pub mod metrics;
pub mod metrics_http;
pub mod metrics_render;
mod mobilization;
pub mod mobilize;
pub mod network;
pub mod notify;
pub mod nts_ke_client;
pub mod nts_ke_destination;
pub mod nts_ke_io;
pub mod nts_ke_server;
pub mod nts_ke_worker;
pub mod nts_keyfile;
pub mod nts_peer;
pub mod nts_serve;
pub mod nts_service;
pub mod nts_settings;
pub mod nts_state;
mod nts_vars;
pub mod outputs;
pub mod policy;
pub mod priority;
pub mod privileges;
pub mod process;
pub mod randfile;
mod receive;
pub mod refclock;
pub mod refclock_pps;
pub mod refclock_serial;
pub mod refclock_shm;
pub mod refclock_stats;
pub mod rollover;
pub mod seccomp;
mod serve;
pub mod settings;
pub mod simnet;
pub mod sync;
mod system_process;
mod xleave;

use std::io;
use std::net::IpAddr;

use proto::{PacketRef, ReferenceId};
use rand::rngs::StdRng;

use crate::access::{Access, MruList};
use crate::assoc::Association;
use crate::auth::{AuthOutcome, KeyRing};
use crate::system::SystemState;

pub use action::{Action, Actions, Outgoing};
pub use environment::{
    route_source, Environment, SimClock, SimEnvironment, SystemEnvironment, SIM_EPOCH_NTP_SECONDS,
};
pub use mobilization::choose_socket;
pub use serve::{listen_addresses, run};
use settings::Settings;
use sync::SyncEngine;

/// Receive buffer: one more than the largest datagram the protocol
/// processes, so an oversized one is recognised and dropped.
pub const RECV_BUF: usize = proto::MAX_DATAGRAM_LEN + 1;

/// Most ephemeral (symmetric passive, broadcast client) associations at
/// once, so that packets from many sources cannot grow memory without
/// bound.
pub const MAX_EPHEMERAL: usize = 64;

/// Why the daemon could not start or stopped on an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Configuration.
    #[error("{0}")]
    Settings(#[from] settings::SettingsError),
    /// Keys file.
    #[error("{0}")]
    Keys(#[from] config::keys::KeysError),
    /// Process step.
    #[error("{0}")]
    Process(#[from] process::ProcessError),
    /// Autokey key files (`crypto`, `keysdir`).
    #[error("{0}")]
    Crypto(#[from] crypto::CryptoSetupError),
    /// `crypto randfile`.
    #[error("{0}")]
    Randfile(#[from] randfile::RandfileError),
    /// The metrics endpoint (`metrics_listen`, `--metrics`).
    #[error("{0}")]
    Metrics(#[from] metrics_http::MetricsError),
    /// No socket could be bound.
    #[error("cannot listen on any address: {0}; expected a free UDP port (is another ntpd or chronyd running?)")]
    NoSocket(io::Error),
    /// The daemon stopped itself (panic threshold) with this status.
    #[error("stopped (exit status {0})")]
    Exit(u8),
    /// Runtime or signal set-up.
    #[error("{what}: {source}")]
    Io {
        /// Which step.
        what: &'static str,
        /// Why.
        source: io::Error,
    },
}

/// Counters of the daemon beyond screening.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaemonStats {
    /// Replies sent by the server fast path.
    pub replies: u64,
    /// Crypto-NAKs sent.
    pub crypto_naks: u64,
    /// Requests whose MAC failed.
    pub badauth: u64,
    /// Packets that arrived on a wildcard socket that does not listen.
    pub wildcard_dropped: u64,
    /// Packets no association or server path takes (replies without an
    /// association, mode 0 and 7 after screening).
    pub unprocessed: u64,
    /// Send failures.
    pub send_errors: u64,
    /// Manycast solicitations or answers declined (not synchronised,
    /// stratum, loop, duplicate).
    pub manycast_declined: u64,
    /// The event loop woke for a readable socket (`io_wakeups`).
    pub input_wakeups: u64,
    /// Of those, the wakeups that took at least one datagram
    /// (`io_goodwakeups`).
    pub useful_input_wakeups: u64,
    /// Datagrams of the receive batch being handled that wait behind the
    /// current one (`used_rbuf`).
    pub receive_waiting: u64,
}

/// A mobilised association and where it sends from.
#[derive(Debug)]
pub struct Running {
    /// The association, with its authentication.
    pub assoc: Association,
    /// Index of the socket its polls leave from.
    pub socket: Option<usize>,
    /// Our reference ID as this source would see it (loop detection).
    pub our_refid: ReferenceId,
    /// The `manycastclient` association whose solicitation mobilised
    /// this one.
    pub manycast_parent: Option<u16>,
    /// `xleave`: the latest poll's transmit latency, seconds (`xleave`).
    pub xleave: f64,
}

/// The state the receive path and the timer share.
#[derive(Debug)]
pub struct Core {
    /// Associations.
    pub assocs: Vec<Running>,
    /// System variables as advertised.
    pub sys: SystemState,
    /// Who may do what: access list, keys, authentication rules.
    pub policy: policy::Policy,
    /// Mitigation.
    pub sync: SyncEngine,
    /// Counters.
    pub stats: DaemonStats,
    /// The outcome of the latest mitigation.
    pub last_mitigation: Option<clock::system::Mitigation>,
    /// The discipline and the clock.
    pub driver: clockctl::ClockDriver<clockctl::DynClock>,
    /// What leaves the core: the action queue, the statistics wanted.
    pub out: outputs::Outputs,
    /// The leap table: the `leapfile`'s, or a server's LEAP values.
    pub leap_table: Option<crate::leapfile::LeapTable>,
    /// System ticks so far (the drift file is checked hourly).
    ticks: u64,
    next_id: assoc_ids::AssocIds,
    set_once: bool,
    env: Box<dyn Environment>,
    rng: StdRng,
    /// The sockets and which datagrams they take.
    pub net: network::Network,
    /// The mode 6 server.
    pub control: crate::mode6::ControlServer,
    /// The system event counter (mode 6 system status word).
    pub sys_events: control::SystemEvents,
    /// Monotonic time at start-up.
    started: f64,
    /// Autokey (`crypto` configured): the local host.
    pub autokey: Option<crypto::AutokeyHost>,
    /// `--var`, `--dvar`, `setvar`: extra system variables for mode 6.
    pub sys_vars: Vec<crate::mode6::ExtraVar>,
    /// Budgets and the ephemeral ledger against unauthenticated floods.
    pub hardening: hardening::Hardening,
    /// Reference clock associations: identity and samples not yet polled.
    pub refclocks: Vec<refclock::ClockState>,
    /// NTS (RFC 8915): the server side (`nts enable`) and the `server X
    /// nts` associations, see `nts_state`.
    pub nts: nts_state::NtsState,
}

impl Core {
    /// A core from settings: `env` gives it time and routes, `rng` its
    /// randomness (association IDs, keys, rate-limit coins), and `clock`
    /// is the clock to discipline.
    pub fn new(
        s: &Settings,
        keys: KeyRing,
        precision: i8,
        env: Box<dyn Environment>,
        mut rng: StdRng,
        clock: clockctl::DynClock,
        flags: clockctl::LoopFlags,
    ) -> Self {
        let start = env.monotonic();
        // The discipline's poll bounds: the associations', reference
        // clocks included (the reference clamps the system poll to the
        // system peer's minpoll and maxpoll).
        let (minpoll, maxpoll) = s
            .associations
            .iter()
            .map(|(a, _)| {
                (
                    a.options.minpoll.map_or(6, |v| v as i8),
                    a.options.maxpoll.map_or(10, |v| v as i8),
                )
            })
            .chain(s.refclocks.poll_bounds())
            .fold((None::<i8>, None::<i8>), |(lo, hi), (mi, ma)| {
                (
                    Some(lo.map_or(mi, |l| l.min(mi))),
                    Some(hi.map_or(ma, |h| h.max(ma))),
                )
            });
        let cfg = clockctl::discipline_config(
            &s.tinker,
            flags,
            2f64.powi(i32::from(precision)),
            minpoll.unwrap_or(6),
            maxpoll.unwrap_or(10),
        );
        let driver = clockctl::ClockDriver::new(clock, cfg, flags, s.drift_file.clone(), start);
        let min_poll = i8::try_from(s.discard.average_log2).unwrap_or(i8::MAX);
        let phi = clockctl::tinker_phi(&s.tinker);
        let mut sync = SyncEngine::new(&s.tos, precision, min_poll, phi, start);
        sync.set_disciplined(driver.ntp_enabled());
        let mut sys = SystemState::unsynchronized(precision);
        sys.min_poll = min_poll;
        let mru = if s.switches.monitor {
            s.mru
        } else {
            // `disable monitor`: keep no history; rate limiting needs it,
            // so `limited` sources are judged on an empty list.
            crate::access::MruParams {
                mindepth: 0,
                maxdepth: 1,
                maxage: 0,
            }
        };
        let next_id = assoc_ids::AssocIds::random(&mut rng);
        Core {
            assocs: Vec::new(),
            sys,
            policy: policy::Policy {
                access: Access::new(
                    s.restrict.clone(),
                    MruList::new(s.discard, mru).monitoring(s.switches.monitor),
                ),
                keys,
                auth_required: s.switches.auth,
                broadcast_delay: s.broadcast_delay,
            },
            out: outputs::Outputs::default(),
            sync,
            stats: DaemonStats::default(),
            last_mitigation: None,
            driver,
            ticks: 0,
            next_id,
            set_once: flags.set_once,
            rng,
            net: network::Network {
                socket_addrs: Vec::new(),
                wildcard_listens: s.listen.wildcard_listens(),
                bclient: s.broadcast_client || !s.multicast_groups.is_empty() || s.switches.bclient,
                manycast_groups: s.manycast_groups.clone(),
            },
            control: crate::mode6::ControlServer::default(),
            sys_events: control::SystemEvents::default(),
            started: start,
            env,
            autokey: None,
            leap_table: None,
            sys_vars: s.sys_vars.clone(),
            hardening: hardening::Hardening::new(start),
            refclocks: Vec::new(),
            nts: Default::default(),
        }
    }

    /// A core whose disciplined clock is simulated (the system clock is
    /// never adjusted) with the loop off (`disable ntp`), on this machine's
    /// clocks and routes, for tests and fuzzing of the receive path.
    pub fn simulated(s: &Settings, keys: KeyRing, precision: i8) -> Self {
        Core::simulated_in(s, keys, precision, Box::new(SystemEnvironment::start()), 1)
    }

    /// As [`Core::simulated`], in the world `env` with randomness from
    /// `seed`: nothing of the machine is read, so several such cores on
    /// one [`SimClock`] make a whole network in memory.
    pub fn simulated_in(
        s: &Settings,
        keys: KeyRing,
        precision: i8,
        env: Box<dyn Environment>,
        seed: u64,
    ) -> Self {
        let sim = clock::sim::clock::SimClock::new(
            clock::sim::clock::Oscillator {
                freq_error: 0.0,
                wander: 0.0,
            },
            0.0,
            0.0,
        );
        let flags = clockctl::LoopFlags {
            ntp: false,
            ..Default::default()
        };
        let mut core = Core::new(
            s,
            keys,
            precision,
            env,
            rand::SeedableRng::seed_from_u64(seed),
            clockctl::DynClock(Box::new(sim)),
            flags,
        );
        // Deterministic association IDs (the daemon's start at random).
        core.next_id = assoc_ids::AssocIds::starting_at(1);
        core
    }

    fn check(&self, p: &PacketRef<'_>, peer: IpAddr) -> AuthOutcome {
        self.policy.check(p, peer)
    }

    /// The peer status word of association `id` (see
    /// [`control::peer_status_word`]); 0 if there is none.
    pub fn peer_status(&self, id: u16) -> u16 {
        self.assocs
            .iter()
            .find(|r| r.assoc.id == id)
            .map_or(0, |r| {
                control::peer_status_word(
                    r,
                    self.last_mitigation.as_ref(),
                    self.sync.params(),
                    self.env.monotonic(),
                )
            })
    }

    /// The system peer's association ID, if synchronised to a source.
    pub fn sys_peer(&self) -> Option<u16> {
        self.sync.sys_peer().and_then(|id| u16::try_from(id).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assoc::{AssocConfig, HostMode};
    use crate::cli::Options;
    use crate::net::socket::Received;
    use proptest::prelude::*;
    use std::path::Path;

    /// A core over a simulated clock (never the kernel's), serving as a
    /// stratum 5 orphan, with keys 1 (MD5) and 2 (SHA1) trusted.
    pub(super) fn core(conf: &str) -> Core {
        core_at(conf, &SimClock::new())
    }

    /// [`core`] on the simulated clock `clock`.
    pub(super) fn core_at(conf: &str, clock: &SimClock) -> Core {
        let c = config::conf::parse_str(conf, Path::new("t.conf")).unwrap();
        let s = Settings::from_conf(&c.config, &Options::default(), Path::new("t.conf")).unwrap();
        let f = config::keys::parse_str("1 MD5 one\n2 SHA1 two\n", Path::new("k")).unwrap();
        let mut keys = KeyRing::from_file(&f);
        keys.trust(1);
        keys.trust(2);
        let env = SimEnvironment::new(clock.clone(), None);
        let mut core = Core::simulated_in(&s, keys, -20, Box::new(env), 7);
        core.sys.leap = proto::LeapIndicator::NoWarning;
        core.sys.stratum = 5;
        core
    }

    fn received(len: usize, port: u16) -> Received {
        Received {
            len,
            truncated: false,
            src: std::net::SocketAddr::from(([192, 0, 2, 1], port)),
            dst: None,
            rx_time: Some(proto::NtpTimestamp::from_parts(0xe900_0000, 0)),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any datagram: no panic, and no reply larger than the request.
        #[test]
        fn receive_path_never_panics_nor_amplifies(
            mode in 0u8..8,
            version in 0u8..8,
            body in proptest::collection::vec(any::<u8>(), 0..160),
            port in 1u16..,
        ) {
            let mut c = core("restrict default kod limited\n");
            let mut pkt = body;
            if let Some(b) = pkt.first_mut() {
                *b = (*b & 0xc0) | (version << 3) | mode;
            }
            let mut out = vec![0u8; RECV_BUF];
            let r = received(pkt.len(), port);
            if let Some(n) = c.handle_one(1, false, &pkt, &r, &mut out) {
                prop_assert!(n <= pkt.len(), "reply {n} > request {}", pkt.len());
            }
        }

        /// Signed requests get a reply exactly as long as the request (or
        /// a 52-octet crypto-NAK when the digest is damaged).
        #[test]
        fn authenticated_replies_match_the_request_size(
            key in 1u32..=2,
            damage in any::<bool>(),
            xmt in any::<u64>(),
        ) {
            let mut c = core("");
            let mut req = vec![0u8; 72];
            req[0] = 0x23;
            req[40..48].copy_from_slice(&xmt.to_be_bytes());
            let n = c.policy.keys.sign(key, &mut req, 48, IpAddr::from([192, 0, 2, 1])).unwrap();
            req.truncate(n);
            if damage {
                req[n - 1] ^= 0x80;
            }
            let mut out = vec![0u8; RECV_BUF];
            let len = c.handle_one(1, false, &req, &received(n, 123), &mut out).unwrap();
            prop_assert_eq!(len, if damage { 52 } else { n });
        }
    }

    const READSTAT: [u8; 12] = [0x16, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0];

    #[test]
    fn mode6_is_answered_from_the_core_and_mode7_is_dropped() {
        let mut c = core("");
        c.mobilize(
            AssocConfig {
                minpoll: 4,
                maxpoll: 4,
                ..AssocConfig::new("192.0.2.9:123".parse().unwrap(), HostMode::Client)
            },
            Some(1),
            None,
        );
        let mut out = vec![0u8; RECV_BUF];
        let r = received(READSTAT.len(), 40000);
        assert_eq!(c.handle_one(1, false, &READSTAT, &r, &mut out), None);
        let d = c.out.actions.take_replies();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0][1], 0x81, "response to READSTAT");
        assert_eq!(&d[0][2..4], &[0, 7], "sequence echoed");
        // One association: ID 1, configured, one event (mobilize).
        assert_eq!(&d[0][10..12], &[0, 4], "count");
        assert_eq!(&d[0][12..16], &[0, 1, 0x80, 0x11]);
        assert!(c.out.actions.take_replies().is_empty(), "sent once");
        let m7 = [0x17u8, 0, 3, 0, 0, 0, 0, 0];
        assert_eq!(
            c.handle_one(1, false, &m7, &received(m7.len(), 40000), &mut out),
            None
        );
        assert!(c.out.actions.take_replies().is_empty());
        assert_eq!(c.policy.access.stats.mode7, 1);
    }

    #[test]
    fn noquery_silences_mode6() {
        let mut c = core("restrict default noquery\n");
        let mut out = vec![0u8; RECV_BUF];
        let r = received(READSTAT.len(), 40000);
        assert_eq!(c.handle_one(1, false, &READSTAT, &r, &mut out), None);
        assert!(c.out.actions.take_replies().is_empty());
        assert_eq!(c.policy.access.stats.restricted, 1);
        // Time is still served.
        let req = [0x23u8; 48];
        assert!(c
            .handle_one(1, false, &req, &received(48, 40000), &mut out)
            .is_some());
    }

    #[test]
    fn wildcard_sockets_drop_unless_told_to_listen() {
        let mut c = core("");
        let req = [0x23u8; 48];
        let mut out = vec![0u8; RECV_BUF];
        assert_eq!(
            c.handle_one(0, true, &req, &received(48, 5000), &mut out),
            None
        );
        assert_eq!(c.stats.wildcard_dropped, 1);
        let mut c = core("interface listen wildcard\n");
        assert!(c
            .handle_one(0, true, &req, &received(48, 5000), &mut out)
            .is_some());
    }
}

#[cfg(test)]
mod manycast_tests;
#[cfg(test)]
mod shared_address_tests;
