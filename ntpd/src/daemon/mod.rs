//! The daemon: settings, sockets, the receive path and the system timer on
//! one thread (RFC 5905 §9 "peer process" and §11 "system process" as
//! driven by the reference's event loop).
//!
//! ```text
//! run(opts): Settings::load → KeyRing → [detach, -w parent waits] → [-N/-P]
//!   → bind one socket per listened local address + wildcard per family
//!   → interface restrict entries → [-u] → pid file
//!   → event_loop: poll(2) over the sockets, a 1 s system timer, signals
//! ```

pub mod assoc_ids;
pub mod clockctl;
pub mod control;
pub mod crypto;
pub mod event_loop;
pub mod mobilize;
pub mod priority;
pub mod privileges;
pub mod process;
pub mod settings;
pub mod sync;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proto::{Mode, PacketRef, ReferenceId};
use rand::rngs::StdRng;
use rand::RngExt;

use crate::access::{Access, MatchFlags, MruList, RestrictFlags, Screen};
use crate::assoc::{onwire::refid_of, AssocConfig, Association, Event, HostMode};
use crate::auth::{AuthOutcome, KeyRing};
use crate::cli::Options;
use crate::net::iface::{self, LocalAddr};
use crate::net::socket::{NtpSocket, Received};
use crate::server::{self, ReplyAuth};
use crate::system::SystemState;
use crate::timing::{self, Monotonic};

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
}

/// A mobilised association and where it sends from.
#[derive(Debug)]
pub struct Running {
    /// The association.
    pub assoc: Association,
    /// Index of the socket its polls leave from.
    pub socket: Option<usize>,
    /// Our reference ID as this source would see it (loop detection).
    pub our_refid: ReferenceId,
    /// `autokey`: the association's Autokey engine (RFC 5906).
    pub autokey: Option<AutokeyPeer>,
    /// `broadcast ADDR autokey`: the broadcaster's key list (brief §4.3).
    pub broadcaster: Option<autokey::broadcast::BroadcastServer>,
    /// The `manycastclient` association whose solicitation mobilised
    /// this one.
    pub manycast_parent: Option<u16>,
}

/// The AUTO values of our broadcasters, for AUTO requests naming them
/// (a broadcast client's volley, brief §2.6).
struct Broadcasters<'a>(&'a [Running]);

impl autokey::server::AutoLookup for Broadcasters<'_> {
    fn auto_values(&self, assoc_id: u32) -> Option<(autokey::AutokeyValues, u32)> {
        self.0
            .iter()
            .filter_map(|r| r.broadcaster.as_ref())
            .find(|b| b.assoc_id() == assoc_id)
            .and_then(|b| b.auto_values())
    }
}

/// The Autokey side of one association: the `autokey` engine and the
/// local address its session keys are bound to (brief §5.2).
#[derive(Debug)]
pub struct AutokeyPeer {
    /// The engine (client state machine).
    pub engine: autokey::association::Association,
    /// Our address towards the remote.
    pub local: IpAddr,
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Index of the socket.
    pub socket: usize,
    /// Destination.
    pub dst: SocketAddr,
    /// The datagram.
    pub bytes: Vec<u8>,
    /// Multicast hops to send with (a manycast solicitation).
    pub ttl: Option<u8>,
}

/// The state the receive path and the timer share.
#[derive(Debug)]
pub struct Core {
    /// Associations.
    pub assocs: Vec<Running>,
    /// System variables as advertised.
    pub sys: SystemState,
    /// Access list, MRU list.
    pub access: Access,
    /// Symmetric keys.
    pub keys: KeyRing,
    /// Mitigation.
    pub sync: SyncEngine,
    /// Counters.
    pub stats: DaemonStats,
    /// The peerstats file set, when enabled.
    pub peerstats: Option<crate::stats::FileGen>,
    /// The outcome of the latest mitigation.
    pub last_mitigation: Option<clock::system::Mitigation>,
    /// The discipline and the clock.
    pub driver: clockctl::ClockDriver<clockctl::DynClock>,
    /// The loopstats file set, when enabled.
    pub loopstats: Option<crate::stats::FileGen>,
    /// Set when the daemon must stop: the exit status.
    pub exit: Option<u8>,
    next_id: assoc_ids::AssocIds,
    set_once: bool,
    mono: Monotonic,
    rng: StdRng,
    wildcard_listens: bool,
    /// `broadcastclient`, `multicastclient` or `enable bclient`.
    bclient: bool,
    /// `manycastserver` groups: solicitations to them are answered.
    manycast_groups: Vec<IpAddr>,
    /// Ephemeral associations need authentication (`enable auth`, `-a`).
    auth_required: bool,
    /// `broadcastdelay`, seconds.
    broadcast_delay: f64,
    /// Local address and wildcard flag of each socket, by index.
    pub socket_addrs: Vec<(SocketAddr, bool)>,
    /// The mode 6 server.
    pub control: crate::mode6::ControlServer,
    /// The answer to the last mode 6 request, to be sent.
    control_replies: Vec<Vec<u8>>,
    /// The system event counter (mode 6 system status word).
    pub sys_events: control::SystemEvents,
    /// Monotonic time at start-up.
    started: f64,
    /// Autokey (`crypto` configured): the local host.
    pub autokey: Option<crypto::AutokeyHost>,
    /// `--var`, `--dvar`, `setvar`: extra system variables for mode 6.
    pub sys_vars: Vec<crate::mode6::ExtraVar>,
}

impl Core {
    /// A core from settings; `mono` is the daemon's monotonic clock and
    /// `clock` the clock to discipline.
    pub fn new(
        s: &Settings,
        keys: KeyRing,
        precision: i8,
        mono: Monotonic,
        clock: clockctl::DynClock,
        flags: clockctl::LoopFlags,
    ) -> Self {
        let (minpoll, maxpoll) =
            s.associations
                .iter()
                .fold((None::<i8>, None::<i8>), |(lo, hi), (a, _)| {
                    let mi = a.options.minpoll.map_or(6, |v| v as i8);
                    let ma = a.options.maxpoll.map_or(10, |v| v as i8);
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
        let driver =
            clockctl::ClockDriver::new(clock, cfg, flags, s.drift_file.clone(), mono.now());
        let min_poll = i8::try_from(s.discard.average_log2).unwrap_or(i8::MAX);
        let phi = clockctl::tinker_phi(&s.tinker);
        let mut sync = SyncEngine::new(&s.tos, precision, min_poll, phi, mono.now());
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
        let mut rng: StdRng = rand::make_rng();
        let next_id = assoc_ids::AssocIds::random(&mut rng);
        Core {
            assocs: Vec::new(),
            sys,
            access: Access::new(s.restrict.clone(), MruList::new(s.discard, mru)),
            keys,
            sync,
            stats: DaemonStats::default(),
            peerstats: None,
            last_mitigation: None,
            driver,
            loopstats: None,
            exit: None,
            next_id,
            set_once: flags.set_once,
            rng,
            wildcard_listens: s.listen.wildcard_listens(),
            bclient: s.broadcast_client || !s.multicast_groups.is_empty() || s.switches.bclient,
            manycast_groups: s.manycast_groups.clone(),
            auth_required: s.switches.auth,
            broadcast_delay: s.broadcast_delay.unwrap_or(clock::constants::BDELAY),
            socket_addrs: Vec::new(),
            control: crate::mode6::ControlServer::default(),
            control_replies: Vec::new(),
            sys_events: control::SystemEvents::default(),
            started: mono.now(),
            mono,
            autokey: None,
            sys_vars: s.sys_vars.clone(),
        }
    }

    /// A core whose clock is simulated (the system clock is never read
    /// for discipline nor adjusted) with the loop off (`disable ntp`), for
    /// tests and fuzzing of the receive path.
    pub fn simulated(s: &Settings, keys: KeyRing, precision: i8) -> Self {
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
            Monotonic::start(),
            clockctl::DynClock(Box::new(sim)),
            flags,
        );
        // Deterministic association IDs (the daemon's start at random).
        core.next_id = assoc_ids::AssocIds::starting_at(1);
        core
    }

    /// Process one received datagram; returns the length of the reply
    /// written to `out`, if one is to be sent.
    ///
    /// `socket` is the index of the receiving socket. Packets on a
    /// wildcard socket are processed only with `interface listen
    /// wildcard`, except broadcasts when this daemon is a broadcast client
    /// (broadcast and multicast datagrams only reach wildcard sockets).
    pub fn handle(
        &mut self,
        socket: usize,
        on_wildcard: bool,
        buf: &[u8],
        r: &Received,
        out: &mut [u8],
    ) -> Option<usize> {
        let broadcast = Mode::of_datagram(buf) == Some(Mode::Broadcast);
        let solicitation = r.dst.is_some_and(|d| self.manycast_groups.contains(&d))
            && Mode::of_datagram(buf) == Some(Mode::Client);
        let wildcard_takes = self.wildcard_listens || (broadcast && self.bclient) || solicitation;
        if on_wildcard && !wildcard_takes {
            self.stats.wildcard_dropped += 1;
            return None;
        }
        if r.truncated {
            self.access.stats.received += 1;
            self.access.stats.badlength += 1;
            return None;
        }
        let rx = r.rx_time.unwrap_or_else(timing::now_ntp);
        let now = self.mono.now();
        let coin: f64 = self.rng.random();
        let peer = r.src.ip();
        match self.access.screen(buf, r.src, now, coin) {
            Screen::Drop => None,
            Screen::Control { flags } => {
                self.handle_control(buf, r.src, flags, rx);
                None
            }
            Screen::Kod { code, packet } => {
                let auth = match self.check(&packet, peer) {
                    AuthOutcome::Ok(id) => ReplyAuth::Key(id),
                    _ => ReplyAuth::None,
                };
                let mode = match packet.header().mode {
                    Mode::SymmetricActive => Mode::SymmetricPassive,
                    _ => Mode::Server,
                };
                server::build_kod(
                    buf,
                    code,
                    mode,
                    auth,
                    &self.keys,
                    peer,
                    self.sys.min_poll,
                    out,
                )
            }
            Screen::Packet {
                packet,
                mode,
                flags,
            } => match mode {
                Mode::Client if r.dst.is_some_and(|d| d.is_multicast()) => {
                    self.manycast_reply(buf, &packet, rx, peer, r.dst, flags, out)
                }
                Mode::Client => {
                    let outcome = self.check(&packet, peer);
                    if matches!(outcome, AuthOutcome::Autokey(_)) && self.autokey.is_some() {
                        let dst = r.dst.or_else(|| {
                            self.socket_addrs
                                .get(socket)
                                .map(|s| s.0.ip())
                                .filter(|ip| !ip.is_unspecified())
                        })?;
                        return self.autokey_reply(buf, &packet, rx, peer, dst, out);
                    }
                    if matches!(outcome, AuthOutcome::Error(_)) {
                        self.stats.badauth += 1;
                    }
                    let auth =
                        ReplyAuth::for_request(outcome, flags.has(RestrictFlags::DONTTRUST))?;
                    if auth == ReplyAuth::CryptoNak {
                        self.stats.crypto_naks += 1;
                    }
                    self.server_reply(buf, rx, auth, peer, out)
                }
                Mode::Server | Mode::SymmetricPassive => {
                    let known = self
                        .assocs
                        .iter()
                        .any(|a| a.assoc.is_remote(peer) && a.assoc.cfg.mode.accepts(mode));
                    if mode == Mode::Server && !known {
                        if let Some(parent) = self
                            .assocs
                            .iter()
                            .position(|a| a.assoc.answers_solicitation(packet.header()))
                        {
                            self.mobilize_manycast(&packet, parent, flags, r.src, socket);
                            return None;
                        }
                    }
                    self.deliver_to_association(&packet, mode, peer, r.dst, rx, now);
                    None
                }
                Mode::SymmetricActive | Mode::Broadcast => {
                    if !self
                        .assocs
                        .iter()
                        .any(|a| a.assoc.is_remote(peer) && a.assoc.cfg.mode.accepts(mode))
                    {
                        self.mobilize_ephemeral(&packet, mode, flags, r.src, r.dst, socket);
                    }
                    self.deliver_to_association(&packet, mode, peer, r.dst, rx, now);
                    None
                }
                _ => {
                    self.stats.unprocessed += 1;
                    None
                }
            },
        }
    }

    /// The server fast path for an Autokey request (RFC 5906 §6, brief
    /// §5.5): the MAC is checked with the server cookie's session key; the
    /// reply carries the response to the request's first field, MAC'd with
    /// the same key ID in the reverse direction, or is a crypto-NAK.
    ///
    /// Size: an Autokey reply may be larger than its request (a CERT or
    /// COOK response to a short request), as the reference's. Only
    /// requests whose session-key MAC verified get fields back, so a
    /// spoofed source cannot draw an amplified reply: a wrong MAC gets the
    /// 52-octet crypto-NAK, never more than the request.
    fn autokey_reply(
        &mut self,
        buf: &[u8],
        packet: &PacketRef<'_>,
        rx: proto::NtpTimestamp,
        peer: IpAddr,
        dst: IpAddr,
        out: &mut [u8],
    ) -> Option<usize> {
        let ak = self.autokey.as_ref()?;
        let now = timing::now_ntp().seconds();
        let reply = match autokey::server::fast_path(
            &ak.host,
            packet,
            peer,
            dst,
            now,
            &Broadcasters(&self.assocs),
            &mut self.rng,
        ) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("Autokey request from {peer} not answered: {e}");
                self.stats.badauth += 1;
                return None;
            }
        };
        match reply {
            autokey::server::ServerReply::CryptoNak(e) => {
                tracing::debug!("Autokey request from {peer}: {e}; crypto-NAK");
                self.stats.badauth += 1;
                let n = server::build_reply(
                    buf,
                    rx,
                    &self.sys,
                    ReplyAuth::CryptoNak,
                    &self.keys,
                    peer,
                    out,
                    timing::now_ntp,
                )?;
                self.stats.crypto_naks += 1;
                self.stats.replies += 1;
                Some(n)
            }
            autokey::server::ServerReply::Reply { fields, key } => {
                let n = server::build_reply(
                    buf,
                    rx,
                    &self.sys,
                    ReplyAuth::None,
                    &self.keys,
                    peer,
                    out,
                    timing::now_ntp,
                )?;
                let header = proto::Header::parse(out.get(..n)?).ok()?;
                let bytes = match autokey::packet::seal(header, fields, &key) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!("Autokey reply to {peer}: {e}");
                        return None;
                    }
                };
                out.get_mut(..bytes.len())?.copy_from_slice(&bytes);
                self.stats.replies += 1;
                Some(bytes.len())
            }
        }
    }

    /// The Autokey engine of a new association, if it is configured with
    /// `autokey` and the host has a `crypto` line (the reference rejects
    /// the association otherwise).
    fn autokey_engine(
        &self,
        id: u16,
        cfg: &AssocConfig,
        local: Option<IpAddr>,
    ) -> Result<Option<AutokeyPeer>, String> {
        if !cfg.autokey {
            return Ok(None);
        }
        let Some(ak) = &self.autokey else {
            return Err(format!(
                "{}: `autokey` needs a `crypto` line (and keysdir); association not mobilised",
                cfg.remote
            ));
        };
        let Some(local) = local.or_else(|| route_source(cfg.remote)) else {
            return Err(format!(
                "{}: no local address to bind Autokey session keys to",
                cfg.remote
            ));
        };
        let group = cfg.ident.clone().or_else(|| ak.ident.clone());
        let (identities, named) = ak
            .client_identities(group.as_deref())
            .map_err(|e| e.to_string())?;
        let kind = match cfg.mode {
            HostMode::Client => autokey::association::AssocKind::Client,
            HostMode::SymmetricActive | HostMode::SymmetricPassive => {
                autokey::association::AssocKind::Symmetric
            }
            HostMode::BroadcastClient => autokey::association::AssocKind::BroadcastClient,
            HostMode::BroadcastServer | HostMode::ManycastClient => return Ok(None),
        };
        let engine = autokey::association::Association::new(
            autokey::association::AssociationConfig {
                assoc_id: u32::from(id),
                local,
                remote: cfg.remote.ip(),
                ident: group,
                identities,
                poll: u8::try_from(cfg.minpoll).unwrap_or(6),
                automax: ak.automax,
                kind,
            },
            timing::now_ntp().seconds(),
        )
        .with_named_identities(named);
        Ok(Some(AutokeyPeer { engine, local }))
    }

    fn check(&self, p: &PacketRef<'_>, peer: IpAddr) -> AuthOutcome {
        self.keys.check(p.authenticated_bytes(), p.mac(), peer)
    }

    /// Add an association sending from socket `socket`.
    pub fn mobilize(&mut self, cfg: AssocConfig, socket: Option<usize>, local: Option<IpAddr>) {
        let assocs = &self.assocs;
        let Some(id) = self
            .next_id
            .allocate(|id| assocs.iter().any(|r| r.assoc.id == id))
        else {
            tracing::error!(
                "{}: every association ID is in use; association not mobilised",
                cfg.remote
            );
            return;
        };
        let precision = 2f64.powi(i32::from(self.sys.precision));
        let our_refid = local.map_or(ReferenceId(0), refid_of);
        let mut broadcaster = None;
        let autokey = if cfg.autokey && cfg.mode == HostMode::BroadcastServer {
            let (Some(ak), Some(local)) =
                (&self.autokey, local.or_else(|| route_source(cfg.remote)))
            else {
                tracing::error!(
                    "{}: `autokey` needs a `crypto` line and a local address; association not mobilised",
                    cfg.remote
                );
                return;
            };
            broadcaster = Some(autokey::broadcast::BroadcastServer::new(
                u32::from(id),
                local,
                cfg.remote.ip(),
                u8::try_from(cfg.minpoll).unwrap_or(6),
                ak.automax,
            ));
            None
        } else {
            match self.autokey_engine(id, &cfg, local) {
                Ok(a) => a,
                Err(why) => {
                    tracing::error!("{why}");
                    return;
                }
            }
        };
        let mut assoc = Association::new(id, cfg, precision, self.mono.now());
        assoc.set_phi(self.sync.params().phi);
        self.assocs.push(Running {
            assoc,
            socket,
            our_refid,
            autokey,
            broadcaster,
            manycast_parent: None,
        });
    }

    /// A symmetric active packet or a broadcast from a source without an
    /// association: mobilise a symmetric passive or broadcast client
    /// association when the rules allow (RFC 5905 §9.2 table, the
    /// reference's `AM_NEWPASS`/`AM_NEWBCL`): it must be authenticated
    /// when `enable auth` (the default) or the sender's entry says
    /// `nopeer` or `notrust`; `noepeer` forbids passive associations; a
    /// broadcast needs `broadcastclient`/`multicastclient`.
    /// For each association mobilised by a manycast solicitation, the id
    /// of its `manycastclient` association.
    fn manycast_found(&self) -> Vec<u16> {
        self.assocs
            .iter()
            .filter_map(|r| r.manycast_parent)
            .collect()
    }

    /// A manycast solicitation (mode 3 to a `manycastserver` group),
    /// answered as the reference does: only when this server is
    /// synchronised, of lower stratum than the solicitor, not its
    /// synchronisation source, and the request authentic (no crypto-NAK
    /// to a group). The reply goes unicast, from an address of ours (the
    /// event loop picks it: never the group's).
    #[allow(clippy::too_many_arguments)]
    fn manycast_reply(
        &mut self,
        buf: &[u8],
        packet: &PacketRef<'_>,
        rx: proto::NtpTimestamp,
        peer: IpAddr,
        dst: Option<IpAddr>,
        flags: RestrictFlags,
        out: &mut [u8],
    ) -> Option<usize> {
        if !dst.is_some_and(|d| self.manycast_groups.contains(&d)) {
            self.access.stats.restricted += 1;
            return None;
        }
        let h = packet.header();
        // Stratum 0 on the wire is "unspecified" (16).
        let theirs = match h.stratum {
            0 => clock::constants::MAXSTRAT,
            s => s,
        };
        // Already synchronised to us: its refid is one of our addresses.
        let to_us = self
            .socket_addrs
            .iter()
            .any(|&(a, wild)| !wild && refid_of(a.ip()) == h.reference_id);
        if self.sys.leap == proto::LeapIndicator::Unsynchronized
            || self.sys.stratum >= theirs
            || to_us
        {
            self.stats.manycast_declined += 1;
            return None;
        }
        let auth = match self.check(packet, peer) {
            AuthOutcome::Ok(id) => ReplyAuth::Key(id),
            AuthOutcome::None if !flags.has(RestrictFlags::DONTTRUST) => ReplyAuth::None,
            _ => {
                self.access.stats.restricted += 1;
                return None;
            }
        };
        self.server_reply(buf, rx, auth, peer, out)
    }

    /// The mode 4 reply to `request` (received at `rx` from `peer`) with
    /// our system variables, built into `out` with the transmit timestamp
    /// read last (RFC 5905 `fast_xmit()`); counted.
    fn server_reply(
        &mut self,
        request: &[u8],
        rx: proto::NtpTimestamp,
        auth: ReplyAuth,
        peer: IpAddr,
        out: &mut [u8],
    ) -> Option<usize> {
        let n = server::build_reply(
            request,
            rx,
            &self.sys,
            auth,
            &self.keys,
            peer,
            out,
            timing::now_ntp,
        )?;
        self.stats.replies += 1;
        Some(n)
    }

    /// A server's answer to our manycast solicitation: mobilise a client
    /// association for it, with the `manycastclient` line's options, if
    /// the answer is authentic (required unless `disable auth`), the
    /// server synchronised and of a usable stratum, and not already one
    /// of ours (RFC 5905 §3; the reference's `AM_MANYCAST`).
    fn mobilize_manycast(
        &mut self,
        packet: &PacketRef<'_>,
        parent: usize,
        flags: RestrictFlags,
        src: SocketAddr,
        socket: usize,
    ) {
        let outcome = self.check(packet, src.ip());
        let required = self.auth_required
            || flags.has(RestrictFlags::NOPEER)
            || flags.has(RestrictFlags::DONTTRUST);
        if !outcome.acceptable(required) {
            self.access.stats.restricted += 1;
            return;
        }
        let h = packet.header();
        if h.leap == proto::LeapIndicator::Unsynchronized
            || h.stratum == 0
            || h.stratum >= clock::constants::MAXSTRAT - 1
        {
            self.stats.manycast_declined += 1;
            return;
        }
        if self.assocs.iter().any(|r| r.assoc.is_remote(src.ip()))
            || self.assocs.iter().filter(|r| r.assoc.cfg.ephemeral).count() >= MAX_EPHEMERAL
        {
            self.stats.manycast_declined += 1;
            return;
        }
        let Some(p) = self.assocs.get(parent) else {
            return;
        };
        let parent_id = p.assoc.id;
        let key = match outcome {
            AuthOutcome::Ok(k) => u16::try_from(k).ok(),
            _ => None,
        };
        let cfg = AssocConfig {
            remote: src,
            mode: HostMode::Client,
            key,
            version: h.version,
            ephemeral: true,
            ttl: None,
            from_pool: false,
            ..p.assoc.cfg.clone()
        };
        let (socket, local) = self.sending_socket(socket, src);
        tracing::info!(
            target: crate::logging::PEER_INFO,
            "manycast: mobilize client association for {src} (solicited by association {parent_id})"
        );
        let before = self.assocs.len();
        self.mobilize(cfg, socket, local);
        if self.assocs.len() > before {
            if let Some(r) = self.assocs.last_mut() {
                r.manycast_parent = Some(parent_id);
            }
        }
    }

    fn mobilize_ephemeral(
        &mut self,
        packet: &PacketRef<'_>,
        mode: Mode,
        flags: RestrictFlags,
        src: SocketAddr,
        dst: Option<IpAddr>,
        socket: usize,
    ) {
        let outcome = self.check(packet, src.ip());
        let required = self.auth_required
            || flags.has(RestrictFlags::NOPEER)
            || flags.has(RestrictFlags::DONTTRUST);
        // An Autokey broadcast mobilises only as the engine would accept it
        // (MAC with cookie 0 towards the group, first field an ASSOC
        // response: brief §4.3 step 1); a symmetric active peer's first
        // packets carry a field and use cookie 0 too (brief §5.2): it
        // mobilises only with a MAC that verifies.
        let dst = dst.or_else(|| {
            self.socket_addrs
                .get(socket)
                .map(|s| s.0.ip())
                .filter(|ip| !ip.is_unspecified())
        });
        let autokey_broadcast = match (outcome, &self.autokey, dst, packet.mac()) {
            (AuthOutcome::Autokey(_), Some(ak), Some(dst), Some(_)) if mode == Mode::Broadcast => {
                autokey::association::mobilising_field(ak.host.digest(), packet, src.ip(), dst)
                    .is_ok()
            }
            (AuthOutcome::Autokey(id), Some(ak), Some(dst), Some(mac))
                if packet.field_count() > 0 =>
            {
                autokey::SessionKey::derive(ak.host.digest(), src.ip(), dst, id, 0)
                    .and_then(|k| k.verify(packet.authenticated_bytes(), mac))
                    .is_ok()
            }
            _ => false,
        };
        if !outcome.acceptable(required) && !autokey_broadcast {
            self.access.stats.restricted += 1;
            return;
        }
        // `ippeerlimit`: most associations per source address.
        let (_, limit) = self.access.restrict.lookup_entry(src.ip(), src.port());
        if limit >= 0
            && self
                .assocs
                .iter()
                .filter(|r| r.assoc.is_remote(src.ip()))
                .count()
                >= usize::from(limit.unsigned_abs())
        {
            tracing::debug!("{src}: ippeerlimit {limit} reached, not mobilised");
            self.access.stats.restricted += 1;
            return;
        }
        if self.assocs.iter().filter(|r| r.assoc.cfg.ephemeral).count() >= MAX_EPHEMERAL {
            tracing::debug!("{src}: too many ephemeral associations, not mobilised");
            self.access.stats.restricted += 1;
            return;
        }
        let host_mode = match mode {
            Mode::SymmetricActive if !flags.has(RestrictFlags::NOEPEER) => {
                HostMode::SymmetricPassive
            }
            Mode::Broadcast if self.bclient => HostMode::BroadcastClient,
            _ => {
                self.access.stats.restricted += 1;
                return;
            }
        };
        let key = match outcome {
            AuthOutcome::Ok(k) => u16::try_from(k).ok(),
            _ => None,
        };
        let h = packet.header();
        let poll = h
            .poll
            .clamp(clock::constants::MINPOLL, clock::constants::MAXPOLL);
        let cfg = AssocConfig {
            key,
            version: h.version,
            minpoll: poll,
            maxpoll: clock::constants::DEFAULT_MAXPOLL.max(poll),
            ephemeral: true,
            broadcast_delay: self.broadcast_delay,
            autokey: autokey_broadcast,
            ..AssocConfig::new(src, host_mode)
        };
        tracing::info!(target: crate::logging::PEER_INFO, "mobilize ephemeral {host_mode} association for {src}");
        let (socket, local) = self.sending_socket(socket, src);
        self.mobilize(cfg, socket, local);
    }

    /// The socket (and its address) a mobilised association sends from:
    /// the one the mobilising packet came to, unless that is a wildcard
    /// socket (a broadcast or multicast): then a listened address towards
    /// `remote`.
    fn sending_socket(&self, socket: usize, remote: SocketAddr) -> (Option<usize>, Option<IpAddr>) {
        let on_wildcard = self.socket_addrs.get(socket).is_none_or(|s| s.1);
        let socket = if on_wildcard {
            choose_socket(&self.socket_addrs, remote, route_source(remote))
        } else {
            Some(socket)
        };
        let local = socket
            .and_then(|i| self.socket_addrs.get(i))
            .map(|s| s.0.ip())
            .filter(|ip| !ip.is_unspecified());
        (socket, local)
    }

    /// A packet for the association of its sender that accepts its mode.
    fn deliver_to_association(
        &mut self,
        packet: &PacketRef<'_>,
        mode: Mode,
        peer: IpAddr,
        dst: Option<IpAddr>,
        rx: proto::NtpTimestamp,
        now: f64,
    ) {
        let mut auth = self.check(packet, peer);
        let precision = 2f64.powi(i32::from(self.sys.precision));
        let freq_uncertainty = self.frequency_uncertainty();
        let Some(r) = self
            .assocs
            .iter_mut()
            .find(|r| r.assoc.is_remote(peer) && r.assoc.cfg.mode.accepts(mode))
        else {
            self.stats.unprocessed += 1;
            return;
        };
        if let (Some(ak), Some(host)) = (r.autokey.as_mut(), self.autokey.as_mut()) {
            auth = autokey_receive(
                ak,
                &mut r.assoc,
                host,
                packet,
                peer,
                dst,
                auth,
                &mut self.rng,
            );
        }
        r.assoc.set_frequency_uncertainty(freq_uncertainty);
        let ev = r
            .assoc
            .receive(packet, auth, rx, now, precision, r.our_refid);
        if let (Some(ak), Event::Sample(_)) = (r.autokey.as_mut(), &ev) {
            // Brief §4.2 row 4 / the engine's doc: the LI of the last
            // packet that passed every test, none before proventic.
            ak.engine.set_peer_synchronised(
                packet.header().leap != proto::LeapIndicator::Unsynchronized,
            );
        }
        let id = r.assoc.id;
        tracing::debug!("association {id} ({}): {ev:?}", r.assoc.remote());
        if let Event::Sample(clock::filter::FilterUpdate::Updated(out)) = ev {
            self.update_system(now);
            self.record_peerstats(id, &out);
        }
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
                    self.mono.now(),
                )
            })
    }

    fn record_peerstats(&mut self, id: u16, out: &clock::filter::FilterOutput) {
        if self.peerstats.is_none() {
            return;
        }
        let status = self.peer_status(id);
        let Some(addr) = self
            .assocs
            .iter()
            .find(|r| r.assoc.id == id)
            .map(|r| r.assoc.remote().ip())
        else {
            return;
        };
        let (secs, nanos) = unix_now();
        let line = crate::stats::peerstats_line(
            secs,
            nanos,
            addr,
            status,
            out.offset,
            out.delay,
            out.dispersion,
            out.jitter,
        );
        if let Some(g) = &mut self.peerstats {
            g.write_logged(secs, &line);
        }
    }

    /// Run mitigation over the associations and refresh the advertised
    /// state (RFC 5905 §11.2, `clock_select()` after a clock filter update).
    fn update_system(&mut self, now: f64) {
        let sources: Vec<_> = self
            .assocs
            .iter()
            .filter_map(|r| r.assoc.source())
            .collect();
        self.sync
            .set_frequency_uncertainty(self.frequency_uncertainty());
        let (m, sys) = self.sync.mitigate(&sources, now, timing::now_ntp());
        let was_synced = self.sync_peer_of(self.last_mitigation.as_ref());
        match (was_synced, Self::sync_peer_of_m(&m)) {
            (None, Some(_)) => self.system_event(control::system_event::CLOCK_SYNC),
            (Some(_), None) => self.system_event(control::system_event::NO_SYS_PEER),
            _ => {}
        }
        self.sys = sys;
        self.discipline(&m, now);
        self.last_mitigation = Some(m);
    }

    /// How uncertain the local clock's frequency is, s/s: the discipline's
    /// estimate while it steers the clock; with `disable ntp` it never
    /// measures anything, so the RFC 5905 tolerance PHI (`tinker
    /// dispersion`) — not the start-up 500 PPM, which would age the root
    /// dispersion 0.5 ms a second.
    fn frequency_uncertainty(&self) -> f64 {
        if self.driver.ntp_enabled() {
            self.driver.discipline().frequency_uncertainty()
        } else {
            self.sync.params().phi
        }
    }

    /// Feed the discipline and let the associations follow what it did.
    fn discipline(&mut self, m: &clock::system::Mitigation, now: f64) {
        use clockctl::Applied;
        let peer = match m {
            clock::system::Mitigation::Synchronized { sys_peer, .. } => self
                .assocs
                .iter()
                .find(|r| usize::from(r.assoc.id) == *sys_peer)
                .and_then(|r| r.assoc.peer.filter().output())
                .map(|o| clockctl::PeerSample {
                    time: o.time,
                    delay: o.delay,
                }),
            _ => None,
        };
        let applied = self.driver.update(m, peer, now);
        match applied {
            Applied::Nothing => return,
            Applied::Stepped(step) => {
                tracing::info!("clock stepped by {step:.6} s");
                self.system_event(control::system_event::CLOCK_STEP);
                for r in &mut self.assocs {
                    r.assoc.peer.on_step();
                }
                self.sync.set_unsynchronized();
                self.sys = self.sync.state(now, timing::now_ntp());
            }
            Applied::Frequency(df) => {
                for r in &mut self.assocs {
                    r.assoc.peer.on_frequency_change(df, now);
                }
            }
            Applied::Panic(offset) => {
                tracing::error!(
                    "time correction of {offset:.0} s exceeds the panic threshold: set the clock manually (or start with -g)"
                );
                self.exit = Some(1);
                return;
            }
        }
        let poll = self.driver.discipline().poll();
        for r in &mut self.assocs {
            r.assoc.peer.update_poll(poll, now);
        }
        let (jitter, distance) = self.sync.errors();
        let leap = sync::leap_to_clock(self.sys.leap);
        self.driver.report(
            !matches!(applied, Applied::Stepped(_)),
            leap,
            jitter,
            distance,
        );
        if let Some(g) = &mut self.loopstats {
            let (secs, nanos) = unix_now();
            let line = self.driver.loopstats_line(secs, nanos);
            g.write_logged(secs, &line);
        }
        if self.set_once && self.driver.discipline().set_once_complete() {
            tracing::info!("-q: the clock is set, exiting");
            self.exit = Some(0);
        }
    }

    /// Count system event `code` (mode 6 status word) and log it under
    /// `logconfig` class `sysevents`.
    fn system_event(&mut self, code: u8) {
        self.sys_events.raise(code);
        tracing::info!(
            target: crate::logging::SYS_EVENT,
            "system event {} ({} events)",
            proto::control::SystemEvent::from_code(code).name(),
            self.sys_events.count
        );
    }

    fn sync_peer_of(&self, m: Option<&clock::system::Mitigation>) -> Option<usize> {
        m.and_then(Self::sync_peer_of_m)
    }

    fn sync_peer_of_m(m: &clock::system::Mitigation) -> Option<usize> {
        match m {
            clock::system::Mitigation::Synchronized { sys_peer, .. } => Some(*sys_peer),
            _ => None,
        }
    }

    /// The system peer's association ID, if synchronised to a source.
    pub fn sys_peer(&self) -> Option<u16> {
        self.sync.sys_peer().and_then(|id| u16::try_from(id).ok())
    }

    /// Once a second: polls that are due, then mitigation (which also ages
    /// the system into orphan mode). Returns the datagrams to send.
    pub fn tick(&mut self) -> Vec<Outgoing> {
        let now = self.mono.now();
        self.autokey_timers();
        let before = self.assocs.len();
        self.assocs.retain(|r| !r.assoc.is_stale());
        if self.assocs.len() != before {
            tracing::info!(
                "demobilized {} unreachable ephemeral association(s)",
                before - self.assocs.len()
            );
        }
        let slewed = self.driver.tick();
        if slewed != 0.0 {
            for r in &mut self.assocs {
                r.assoc.peer.on_slew(slewed);
            }
        }
        let mut out = Vec::new();
        let mut buf = [0u8; 128];
        let found = self.manycast_found();
        let maxclock = self.sync.params().maxclock;
        for r in &mut self.assocs {
            if !r.assoc.poll_due(now) {
                continue;
            }
            if r.assoc.cfg.mode == HostMode::ManycastClient {
                let n = found.iter().filter(|&&parent| parent == r.assoc.id).count();
                if n >= maxclock {
                    // Enough servers: no solicitation until some go
                    // (RFC 5905 §3 manycast; the reference's `maxclock`).
                    r.assoc.skip_poll(now);
                    continue;
                }
            }
            let Some(socket) = r.socket else { continue };
            if let Some(n) = r
                .assoc
                .poll(&self.sys, &self.keys, &mut buf, now, timing::now_ntp)
            {
                let mut bytes = buf[..n].to_vec();
                if let (Some(b), Some(host)) = (r.broadcaster.as_mut(), self.autokey.as_ref()) {
                    let now_s = timing::now_ntp().seconds();
                    let sealed = b
                        .transmit(&host.host, now_s, &mut self.rng)
                        .map_err(|e| e.to_string())
                        .and_then(|tx| {
                            let h = proto::Header::parse(&bytes).map_err(|e| e.to_string())?;
                            let id = tx.key.key_id();
                            autokey::packet::seal(h, tx.fields, &tx.key)
                                .map(|b| (b, id))
                                .map_err(|e| e.to_string())
                        });
                    match sealed {
                        Ok((b, id)) => {
                            bytes = b;
                            r.assoc.autokey_key_id = id;
                        }
                        Err(e) => {
                            tracing::warn!("broadcast {}: Autokey: {e}", r.assoc.remote());
                            continue;
                        }
                    }
                }
                if let (Some(ak), Some(host)) = (r.autokey.as_mut(), self.autokey.as_ref()) {
                    match autokey_seal(ak, &host.host, &bytes, &mut self.rng) {
                        Ok((sealed, key_id)) => {
                            bytes = sealed;
                            r.assoc.autokey_key_id = key_id;
                        }
                        Err(e) => {
                            tracing::warn!("association {}: Autokey: {e}", r.assoc.remote());
                            continue;
                        }
                    }
                }
                out.push(Outgoing {
                    socket,
                    dst: r.assoc.remote(),
                    bytes,
                    ttl: r.assoc.manycast_ttl(),
                });
            } else if r.assoc.cfg.mode != HostMode::BroadcastClient {
                tracing::warn!(
                    "association {}: key {} cannot sign (not trusted or not in the keys file)",
                    r.assoc.remote(),
                    r.assoc
                        .cfg
                        .key
                        .map_or("none".to_string(), |k| k.to_string())
                );
            }
        }
        self.update_system(now);
        out
    }
}

impl Core {
    /// Once a second: the server private value is refreshed when due
    /// (brief §5.3) and, while the system is synchronised, the host's
    /// signatures are refreshed every `2^automax` seconds (the reference's
    /// `crypto_update()`; the first one makes the host's values signed).
    fn autokey_timers(&mut self) {
        let Some(ak) = self.autokey.as_mut() else {
            return;
        };
        let now = timing::now_ntp().seconds();
        ak.host.refresh_secret(now, &mut self.rng);
        if self.sys.leap == proto::LeapIndicator::Unsynchronized {
            return;
        }
        let last = ak.host.last_update();
        if last == 0 || now.wrapping_sub(last) >= 1u32 << ak.automax.min(31) {
            ak.host.update(now);
            tracing::info!(
                "crypto: signatures refreshed, status 0x{:x}",
                ak.host.status().0
            );
        }
    }
}

/// The Autokey part of a received packet for an association with an
/// engine (RFC 5906 §6, brief §5.6): a validated crypto-NAK goes to the
/// engine; a session-key MAC is verified and the fields consumed. Returns
/// the outcome the association judges the packet by: `Autokey` only when
/// the engine verified the MAC.
#[allow(clippy::too_many_arguments)]
fn autokey_receive(
    ak: &mut AutokeyPeer,
    assoc: &mut Association,
    host: &mut crypto::AutokeyHost,
    packet: &PacketRef<'_>,
    peer: IpAddr,
    dst: Option<IpAddr>,
    auth: AuthOutcome,
    rng: &mut StdRng,
) -> AuthOutcome {
    let now = timing::now_ntp().seconds();
    match auth {
        AuthOutcome::CryptoNak => {
            // Brief §11.3 rule 12: exactly 48 + 4 octets, and its origin
            // timestamp is our outstanding transmit timestamp.
            let origin = packet.header().origin_timestamp;
            if packet.as_bytes().len() == 52 && !origin.is_zero() && origin == assoc.wire.xmt {
                if ak.engine.crypto_nak(now) {
                    assoc.proventic = ak.engine.is_proventic();
                }
            } else {
                tracing::debug!("{peer}: crypto-NAK not for our request, ignored");
            }
            auth
        }
        AuthOutcome::Autokey(id) => {
            let dst = dst.unwrap_or(ak.local);
            let broadcast = packet.header().mode == Mode::Broadcast;
            let e = &mut ak.engine;
            let result = if !broadcast {
                e.receive(&mut host.host, packet, peer, dst, now, rng)
            } else if e.server_name().is_none() {
                e.mobilise_broadcast(&mut host.host, packet, peer, dst, now, rng)
            } else if e.is_complete() {
                e.receive_broadcast(&mut host.host, packet, peer, dst, now, rng)
            } else {
                // Volley in progress: broadcasts wait for it (brief §4.3).
                Err(autokey::AutokeyError::Unexpected {
                    code: proto::exten::AutokeyCode::Assoc,
                    dir: "broadcast",
                    reason: "volley not complete",
                })
            };
            assoc.autokey_volley = ak.engine.kind()
                == autokey::association::AssocKind::BroadcastClient
                && !ak.engine.is_complete();
            match result {
                Ok(events) => {
                    for e in &events {
                        host.log_event(peer, &ak.engine, e);
                    }
                    assoc.proventic = ak.engine.is_proventic();
                    auth
                }
                Err(e) => {
                    tracing::debug!("{peer}: Autokey packet refused: {e}");
                    AuthOutcome::Error(id)
                }
            }
        }
        other => other,
    }
}

/// Adds the engine's field and session-key MAC to a 48-octet poll (brief
/// §4.1, §5.2); returns the datagram and the key ID used.
fn autokey_seal(
    ak: &mut AutokeyPeer,
    host: &autokey::host::LocalHost,
    header: &[u8],
    rng: &mut StdRng,
) -> Result<(Vec<u8>, u32), String> {
    let now = timing::now_ntp().seconds();
    let tx = ak.engine.poll(host, now, rng).map_err(|e| e.to_string())?;
    let h = proto::Header::parse(header).map_err(|e| e.to_string())?;
    let key_id = tx.key.key_id();
    let bytes = autokey::packet::seal(h, tx.fields, &tx.key).map_err(|e| e.to_string())?;
    Ok((bytes, key_id))
}

fn unix_now() -> (i64, u32) {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(_) => (0, 0),
    }
}

/// The sockets to bind: wildcard per enabled family and each listened
/// local address, on `port`.
pub fn listen_addresses(
    s: &Settings,
    locals: &[LocalAddr],
    port: u16,
) -> Vec<(SocketAddr, String)> {
    let mut out = Vec::new();
    if s.listen.family_enabled(false) {
        out.push((
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            "wildcard".to_owned(),
        ));
    }
    if s.listen.family_enabled(true) {
        out.push((
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            "wildcard".to_owned(),
        ));
    }
    for a in s.listen.select(locals) {
        let sa = match a.addr {
            IpAddr::V4(v4) => SocketAddr::new(IpAddr::V4(v4), port),
            IpAddr::V6(v6) => SocketAddr::V6(std::net::SocketAddrV6::new(v6, port, 0, a.scope_id)),
        };
        out.push((sa, a.name.clone()));
    }
    out
}

/// Run the daemon until SIGTERM/SIGINT. The caller has checked the
/// command line.
pub fn run(opts: &Options) -> Result<(), DaemonError> {
    let settings = Settings::load(opts)?;
    if let Some(path) = &settings.log_file {
        crate::logging::to_file(path).map_err(|source| DaemonError::Io {
            what: "cannot open the log file (check `logfile` or -l)",
            source,
        })?;
    }
    for line in &settings.not_acted_on {
        tracing::warn!("{line}");
    }
    crate::logging::set_log_mask(crate::logging::log_mask(&settings.log_config));
    let keys = settings.key_ring()?;
    let mut rng: StdRng = rand::make_rng();
    let autokey = crypto::load(&settings.autokey, timing::now_ntp().seconds(), &mut rng)?;
    if let Some(ak) = &autokey {
        // A client parameter file that is present but does not load stops
        // the daemon here, naming the file (brief §9.2).
        for (a, _) in settings
            .associations
            .iter()
            .filter(|(a, _)| a.options.autokey)
        {
            let group = a.options.ident.as_ref().or(ak.ident.as_ref());
            ak.client_identities(group.map(String::as_str))
                .map_err(crypto::CryptoSetupError::Keys)?;
        }
    }
    let port = crate::net::service_port();
    if port != crate::net::NTP_PORT {
        tracing::warn!(
            "{} is set: using UDP port {port} instead of 123 (for tests only)",
            crate::net::TEST_PORT_ENV
        );
    }
    // -u/-i names are resolved now, while /etc is visible (before any
    // chroot).
    let privileges = privileges::PrivilegeDrop::from_options(opts)?;
    // Forks unless -n (-w N > 0 forces the fork, as the reference); the
    // parent waits in `detach` and exits there.
    let mut waiter = process::detach(opts.no_fork, opts.wait_sync)?;
    if waiter.detached() && settings.log_file.is_none() {
        crate::logging::to_syslog();
    }
    // -N / -P: after detaching, before the configuration is acted on;
    // failures are only logged.
    if let Some(req) = priority::PriorityRequest::from_options(opts) {
        priority::raise(req);
    }
    let run = Run {
        settings,
        keys,
        autokey,
        port,
        privileges,
    };
    serve(opts, run, &mut waiter)
}

/// What `run` prepared before detaching, for `serve`.
struct Run {
    settings: Settings,
    keys: KeyRing,
    autokey: Option<crypto::AutokeyHost>,
    port: u16,
    privileges: Option<privileges::PrivilegeDrop>,
}

fn serve(opts: &Options, run: Run, waiter: &mut process::SyncWaiter) -> Result<(), DaemonError> {
    let Run {
        settings,
        keys,
        autokey,
        port,
        privileges,
    } = run;
    let mono = Monotonic::start();
    let precision = timing::measure_precision();
    let locals = iface::local_addresses().map_err(|source| DaemonError::Io {
        what: "cannot list the network interfaces",
        source,
    })?;
    let mut sockets = Vec::new();
    let mut last_err = None;
    for (addr, name) in listen_addresses(&settings, &locals, port) {
        match NtpSocket::bind(addr, &name) {
            Ok(s) => {
                tracing::info!("Listen normally on {} {}", name, s.local_addr());
                sockets.push(s);
            }
            Err(e) => {
                tracing::warn!("cannot bind {addr} ({name}): {e}");
                last_err = Some(e);
            }
        }
    }
    if sockets.iter().all(|s| s.is_wildcard()) {
        if let Some(e) = last_err {
            return Err(DaemonError::NoSocket(e));
        }
    }
    let flags = clockctl::LoopFlags {
        ntp: settings.switches.ntp,
        kernel: settings.switches.kernel,
        panic_gate: opts.panic_gate,
        slew_only: opts.slew,
        set_once: opts.quit,
    };
    let clock = clockctl::DynClock(Box::new(clock::kernel::KernelClock::new()));
    let mut core = Core::new(&settings, keys, precision, mono, clock, flags);
    core.autokey = autokey;
    core.socket_addrs = sockets
        .iter()
        .map(|s| (s.local_addr(), s.is_wildcard()))
        .collect();
    core.peerstats = statistics_file(&settings, config::conf::StatsFile::Peerstats);
    core.loopstats = statistics_file(&settings, config::conf::StatsFile::Loopstats);
    // Our own addresses talking from port 123 are ignored (loop guard).
    for s in sockets.iter().filter(|s| !s.is_wildcard()) {
        let _ = core.access.restrict.add(
            s.local_addr().ip(),
            None,
            MatchFlags::NTPONLY | MatchFlags::INTERFACE,
            RestrictFlags::IGNORE,
            0,
            None,
        );
    }
    let mobilized = mobilize::mobilize(
        &settings.associations,
        port,
        opts.ipv4_only,
        opts.ipv6_only,
        settings.broadcast_delay.unwrap_or(clock::constants::BDELAY),
    );
    for line in &mobilized.not_built {
        tracing::warn!("{line}");
    }
    for cfg in mobilized.configs {
        let route = route_source(cfg.remote);
        let socket = choose_socket(&core.socket_addrs, cfg.remote, route);
        let local = socket
            .and_then(|i| sockets.get(i))
            .map(|s| s.local_addr().ip())
            .filter(|ip| !ip.is_unspecified())
            .or(route);
        if let Some(flags) = settings.restrict_source {
            let _ =
                core.access
                    .restrict
                    .add(cfg.remote.ip(), None, MatchFlags::SOURCE, flags, 0, None);
        }
        if let (Some(ttl), Some(sock)) = (cfg.ttl, socket.and_then(|i| sockets.get(i))) {
            if let Err(e) = sock.set_multicast_ttl(ttl) {
                tracing::warn!("ttl {ttl} on {}: {e}", sock.local_addr());
            }
        }
        tracing::info!(
            target: crate::logging::PEER_INFO,
            "mobilize {} association {}{}",
            cfg.mode,
            cfg.remote,
            local.map(|l| format!(" from {l}")).unwrap_or_default()
        );
        core.mobilize(cfg, socket, local);
    }
    for group in settings
        .multicast_groups
        .iter()
        .chain(&settings.manycast_groups)
    {
        let joined = sockets
            .iter()
            .filter(|s| s.is_wildcard() && s.local_addr().is_ipv4() == group.is_ipv4())
            .any(|s| s.join_multicast(*group).is_ok());
        if joined {
            tracing::info!("joined multicast group {group}");
        } else {
            tracing::warn!("cannot join multicast group {group}");
        }
    }
    // The pid file is written while still root (its directory is
    // usually root's).
    let _pid = settings
        .pid_file
        .as_deref()
        .map(process::PidFile::create)
        .transpose()?;
    // -i (chroot), -u (ids), keeping CAP_SYS_TIME (and
    // CAP_NET_BIND_SERVICE unless -U 0); what cannot be kept is logged.
    if let Some(p) = &privileges {
        p.apply()?;
    }
    event_loop::install_signal_handlers()?;
    // Without -w the waiting parent exits now.
    waiter.notify_ready();
    let mut core = core;
    let stop = {
        let mut ev = event_loop::EventLoop::new(&mut core, &sockets);
        ev.on_tick(|c| {
            if c.sys.leap != proto::LeapIndicator::Unsynchronized {
                // -w: the parent exits 0 now; later calls do nothing.
                waiter.notify_synchronised();
            }
        });
        ev.run()
    };
    core.driver.save_drift();
    match stop {
        event_loop::Stop::Signal => {
            tracing::info!("ntpd exiting on signal");
            Ok(())
        }
        event_loop::Stop::Exit(0) => Ok(()),
        event_loop::Stop::Exit(status) => Err(DaemonError::Exit(status)),
    }
}

/// The statistics file set `kind` as `statsdir`, `statistics` and its
/// `filegen` line configure it; `None` when it writes nothing.
fn statistics_file(
    settings: &Settings,
    kind: config::conf::StatsFile,
) -> Option<crate::stats::FileGen> {
    let dir = settings
        .stats_dir
        .as_ref()
        .filter(|_| settings.switches.stats)?;
    let fg = settings.filegens.iter().find(|f| f.stats == kind);
    let g = crate::stats::FileGen::new(dir, kind, fg, settings.statistics.contains(&kind));
    g.enabled().then_some(g)
}

/// The local address the kernel would send from to reach `remote` (a
/// connected UDP socket sends nothing).
pub fn route_source(remote: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = if remote.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = crate::net::socket::udp_socket(remote.is_ipv6()).ok()?;
    crate::net::socket::bind_to(&s, any).ok()?;
    let r = match remote {
        SocketAddr::V4(a) => nix::sys::socket::connect(
            std::os::fd::AsRawFd::as_raw_fd(&s),
            &nix::sys::socket::SockaddrIn::from(a),
        ),
        SocketAddr::V6(a) => nix::sys::socket::connect(
            std::os::fd::AsRawFd::as_raw_fd(&s),
            &nix::sys::socket::SockaddrIn6::from(a),
        ),
    };
    r.ok()?;
    crate::net::socket::bound_addr(&s).ok().map(|a| a.ip())
}

/// The socket polls to `remote` leave from, so that replies come back to
/// a socket that listens: the one bound to the route's source address
/// `local`; else a listened address of the same family and scope
/// (loopback or not); else any of the family; else the wildcard socket.
pub fn choose_socket(
    sockets: &[(SocketAddr, bool)],
    remote: SocketAddr,
    local: Option<IpAddr>,
) -> Option<usize> {
    let specific = |&(a, wild): &(SocketAddr, bool)| !wild && a.is_ipv4() == remote.is_ipv4();
    sockets
        .iter()
        .position(|s| specific(s) && Some(s.0.ip()) == local)
        .or_else(|| {
            sockets
                .iter()
                .position(|s| specific(s) && s.0.ip().is_loopback() == remote.ip().is_loopback())
        })
        .or_else(|| sockets.iter().position(specific))
        .or_else(|| {
            sockets
                .iter()
                .position(|&(a, wild)| wild && a.is_ipv4() == remote.is_ipv4())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;

    /// A core over a simulated clock (never the kernel's), serving as a
    /// stratum 5 orphan, with keys 1 (MD5) and 2 (SHA1) trusted.
    pub(super) fn core(conf: &str) -> Core {
        let c = config::conf::parse_str(conf, Path::new("t.conf")).unwrap();
        let s = Settings::from_conf(&c.config, &Options::default(), Path::new("t.conf")).unwrap();
        let f = config::keys::parse_str("1 MD5 one\n2 SHA1 two\n", Path::new("k")).unwrap();
        let mut keys = KeyRing::from_file(&f);
        keys.trust(1);
        keys.trust(2);
        let mut core = Core::simulated(&s, keys, -20);
        core.sys.leap = proto::LeapIndicator::NoWarning;
        core.sys.stratum = 5;
        core
    }

    fn received(len: usize, port: u16) -> Received {
        Received {
            len,
            truncated: false,
            src: SocketAddr::from(([192, 0, 2, 1], port)),
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
            if let Some(n) = c.handle(1, false, &pkt, &r, &mut out) {
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
            let n = c.keys.sign(key, &mut req, 48, IpAddr::from([192, 0, 2, 1])).unwrap();
            req.truncate(n);
            if damage {
                req[n - 1] ^= 0x80;
            }
            let mut out = vec![0u8; RECV_BUF];
            let len = c.handle(1, false, &req, &received(n, 123), &mut out).unwrap();
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
        assert_eq!(c.handle(1, false, &READSTAT, &r, &mut out), None);
        let d = c.take_control_replies();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0][1], 0x81, "response to READSTAT");
        assert_eq!(&d[0][2..4], &[0, 7], "sequence echoed");
        // One association: ID 1, configured, one event (mobilize).
        assert_eq!(&d[0][10..12], &[0, 4], "count");
        assert_eq!(&d[0][12..16], &[0, 1, 0x80, 0x11]);
        assert!(c.take_control_replies().is_empty(), "sent once");
        let m7 = [0x17u8, 0, 3, 0, 0, 0, 0, 0];
        assert_eq!(
            c.handle(1, false, &m7, &received(m7.len(), 40000), &mut out),
            None
        );
        assert!(c.take_control_replies().is_empty());
        assert_eq!(c.access.stats.mode7, 1);
    }

    #[test]
    fn noquery_silences_mode6() {
        let mut c = core("restrict default noquery\n");
        let mut out = vec![0u8; RECV_BUF];
        let r = received(READSTAT.len(), 40000);
        assert_eq!(c.handle(1, false, &READSTAT, &r, &mut out), None);
        assert!(c.take_control_replies().is_empty());
        assert_eq!(c.access.stats.restricted, 1);
        // Time is still served.
        let req = [0x23u8; 48];
        assert!(c
            .handle(1, false, &req, &received(48, 40000), &mut out)
            .is_some());
    }

    #[test]
    fn wildcard_sockets_drop_unless_told_to_listen() {
        let mut c = core("");
        let req = [0x23u8; 48];
        let mut out = vec![0u8; RECV_BUF];
        assert_eq!(c.handle(0, true, &req, &received(48, 5000), &mut out), None);
        assert_eq!(c.stats.wildcard_dropped, 1);
        let mut c = core("interface listen wildcard\n");
        assert!(c
            .handle(0, true, &req, &received(48, 5000), &mut out)
            .is_some());
    }
}

#[cfg(test)]
mod manycast_tests;
