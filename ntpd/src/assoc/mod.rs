//! Associations (RFC 5905 §9): the daemon's side of one configured
//! source. An association owns the on-wire state ([`onwire::OnWire`]),
//! its key, and the `clock` crate's peer process
//! ([`clock::peer::PeerState`]: reachability, poll schedule, clock
//! filter).
//!
//! Events drive it: [`Association::poll`] when its poll timer fires and
//! [`Association::receive`] for each packet from its remote address. Its
//! [`Authenticator`] seals what `poll` builds (a key's MAC, or the Autokey
//! engine's field and session-key MAC) and judges what `receive` gets;
//! with Autokey, `receive` takes no sample until the engine says the
//! source is proventic.
//!
//! Authentication rules (reference CVE-2015-7871, CVE-2016-1547,
//! CVE-2016-4955): an association with a key accepts only packets whose
//! MAC verified with that key; a crypto-NAK, a bad MAC or a missing MAC is
//! counted and otherwise ignored. None of them changes the on-wire state,
//! resets or demobilises the association: only a packet that passes both
//! authentication and the origin check may.

pub mod authenticator;
pub mod mode_state;
pub mod onwire;
pub mod refclock;

use std::net::{IpAddr, SocketAddr};

use clock::peer::{PeerState, SourceInfo};
use clock::sample::Sample;
use clock::system::Source;
use proto::{Header, KissCode, Mode, NtpTimestamp, PacketRef, ReferenceId};

use crate::auth::AuthOutcome;
use crate::daemon::sync::leap_to_clock;
use crate::system::SystemState;
pub use authenticator::{AuthContext, Authenticator, SealError, Verdict};
use mode_state::ModeState;
pub use mode_state::{BURST_COUNT, BURST_INTERVAL, MANYCAST_TTL_MAX, VOLLEY, VOLLEY_INTERVAL};
use onwire::{OnWire, Reject, Reply};

/// What kind of association (RFC 5905 §9.1 `hmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMode {
    /// `server` / `pool`: we poll in mode 3, the source answers in mode 4.
    Client,
    /// `peer`: we send mode 1 and accept modes 1 and 2.
    SymmetricActive,
    /// Mobilised by an authenticated mode 1 packet: we send mode 2.
    SymmetricPassive,
    /// `broadcast ADDRESS`: we send mode 5 to the address, never receive.
    BroadcastServer,
    /// Mobilised by a broadcast (`broadcastclient`, `multicastclient`):
    /// we only listen to mode 5.
    BroadcastClient,
    /// `manycastclient GROUP`: we solicit with mode 3 to a multicast
    /// group, with an expanding TTL ring; every server that answers gets a
    /// client association of its own, mobilised by the daemon. This one
    /// takes no samples itself.
    ManycastClient,
}

/// The reference's names of the modes (`ntpq` and event lines).
impl std::fmt::Display for HostMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HostMode::Client => "client",
            HostMode::SymmetricActive => "symmetric active",
            HostMode::SymmetricPassive => "symmetric passive",
            HostMode::BroadcastServer => "broadcast server",
            HostMode::BroadcastClient => "broadcast client",
            HostMode::ManycastClient => "manycast client",
        })
    }
}

impl HostMode {
    /// The mode of the packets we send.
    pub fn send_mode(self) -> Option<Mode> {
        match self {
            HostMode::Client => Some(Mode::Client),
            HostMode::SymmetricActive => Some(Mode::SymmetricActive),
            HostMode::SymmetricPassive => Some(Mode::SymmetricPassive),
            HostMode::BroadcastServer => Some(Mode::Broadcast),
            HostMode::BroadcastClient => None,
            HostMode::ManycastClient => Some(Mode::Client),
        }
    }

    /// Whether a packet of mode `m` from the remote belongs to us.
    pub fn accepts(self, m: Mode) -> bool {
        matches!(
            (self, m),
            (HostMode::Client, Mode::Server)
                | (
                    HostMode::SymmetricActive,
                    Mode::SymmetricActive | Mode::SymmetricPassive
                )
                | (HostMode::SymmetricPassive, Mode::SymmetricActive)
                | (HostMode::BroadcastClient, Mode::Broadcast | Mode::Server)
        )
    }
}

/// The configuration of one association.
#[derive(Debug, Clone, PartialEq)]
pub struct AssocConfig {
    /// Remote address and port.
    pub remote: SocketAddr,
    /// Mode.
    pub mode: HostMode,
    /// `key N`.
    pub key: Option<u16>,
    /// `version N` (default 4).
    pub version: u8,
    /// `minpoll` (default 6).
    pub minpoll: i8,
    /// `maxpoll` (default 10).
    pub maxpoll: i8,
    /// `iburst`.
    pub iburst: bool,
    /// `prefer`.
    pub prefer: bool,
    /// `noselect`: measured and shown, never selected.
    pub noselect: bool,
    /// Mobilised by `pool`.
    pub from_pool: bool,
    /// Mobilised by a received packet (symmetric passive, broadcast
    /// client): removed again when it becomes unreachable.
    pub ephemeral: bool,
    /// `ttl N` of a broadcast server (multicast hops).
    pub ttl: Option<u8>,
    /// Broadcast client: round-trip delay assumed (`broadcastdelay`).
    pub broadcast_delay: f64,
    /// `burst`: while the source is reachable, each poll is a burst of
    /// eight requests two seconds apart (RFC 5905 §13, the reference's
    /// `FLAG_BURST`).
    pub burst: bool,
    /// `true`: the source always survives the intersection algorithm
    /// (the reference's `FLAG_TRUE`).
    pub truechimer: bool,
    /// `autokey`: packets are authenticated with Autokey session keys
    /// (RFC 5906); the daemon runs the association's engine.
    pub autokey: bool,
    /// `ident GROUP`: the Autokey group (identity parameters).
    pub ident: Option<String>,
    /// `nts`: packets are authenticated with NTS (RFC 8915); without an
    /// NTS-KE client for the address the association is not mobilised
    /// (never a silent fall-back to unauthenticated time).
    pub nts: bool,
}

impl AssocConfig {
    /// An association with `remote` in `mode` and every option at the
    /// reference's default (version 4, minpoll 6, maxpoll 10, no key,
    /// `broadcastdelay` 4 ms, nothing else set).
    pub fn new(remote: SocketAddr, mode: HostMode) -> AssocConfig {
        AssocConfig {
            remote,
            mode,
            key: None,
            version: 4,
            minpoll: clock::constants::DEFAULT_MINPOLL,
            maxpoll: clock::constants::DEFAULT_MAXPOLL,
            iburst: false,
            prefer: false,
            noselect: false,
            from_pool: false,
            ephemeral: false,
            ttl: None,
            broadcast_delay: clock::constants::BDELAY,
            burst: false,
            truechimer: false,
            autokey: false,
            ident: None,
            nts: false,
        }
    }
}

/// Counters of one association.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssocStats {
    /// Polls sent.
    pub sent: u64,
    /// Packets received from the remote address.
    pub received: u64,
    /// Packets accepted as replies.
    pub processed: u64,
    /// MAC missing, wrong or unexpected.
    pub badauth: u64,
    /// Crypto-NAKs received (ignored).
    pub crypto_naks: u64,
    /// Replays and duplicates.
    pub duplicate: u64,
    /// Origin mismatches.
    pub bogus: u64,
    /// Kiss-o'-death packets.
    pub kods: u64,
    /// Replies from an unsynchronised server.
    pub unsynchronized: u64,
}

/// What a received packet did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// A new sample went into the clock filter.
    Sample(clock::filter::FilterUpdate),
    /// Refused by authentication (counted only).
    AuthRefused(AuthOutcome),
    /// Refused by the on-wire checks.
    Rejected(Reject),
    /// A kiss-o'-death: RATE backs the poll off; DENY and RSTR stop
    /// polling.
    Kiss(KissCode),
    /// A broadcast client's unicast volley measured the round-trip delay
    /// used for its broadcast samples from now on, seconds.
    Calibrated(f64),
    /// An Autokey source not yet proventic: authenticated and on-wire
    /// checked, but not a sample (the reference's TEST8).
    NotProventic,
}

impl std::fmt::Display for Event {
    /// What became of a received packet, for the association's debug log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use clock::filter::FilterUpdate;
        match self {
            Event::Sample(FilterUpdate::Updated(o)) => write!(
                f,
                "sample used: offset {:+.6} s, delay {:.6} s, jitter {:.6} s",
                o.offset, o.delay, o.jitter
            ),
            Event::Sample(FilterUpdate::NotNewer) => {
                f.write_str("sample kept; the filter's best sample is not newer")
            }
            Event::Sample(FilterUpdate::Spike { offset }) => write!(
                f,
                "sample (offset {offset:+.6} s) rejected by the popcorn spike suppressor"
            ),
            Event::AuthRefused(_) => f.write_str("refused: authentication failed"),
            Event::Rejected(onwire::Reject::Duplicate) => {
                f.write_str("refused: duplicate or zero transmit timestamp")
            }
            Event::Rejected(onwire::Reject::Bogus) => {
                f.write_str("refused: origin timestamp is not our last request's")
            }
            Event::Rejected(onwire::Reject::Unsynchronized) => {
                f.write_str("refused: the source is not synchronised")
            }
            Event::Kiss(code) => {
                write!(
                    f,
                    "kiss-o'-death {}",
                    String::from_utf8_lossy(&code.to_bytes())
                )
            }
            Event::Calibrated(delay) => write!(f, "broadcast delay calibrated: {delay:.6} s"),
            Event::NotProventic => f.write_str("authentic, but Autokey is not proventic yet"),
        }
    }
}

/// One packet from an association's remote address.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'p, 'b> {
    /// The packet.
    pub packet: &'p PacketRef<'b>,
    /// The keyring's verdict on its MAC ([`crate::auth::KeyRing::check`]), computed once
    /// by the receive path.
    pub outcome: AuthOutcome,
    /// The address it was sent to, if the socket told.
    pub dst: Option<IpAddr>,
    /// Receive time (T4).
    pub rx: NtpTimestamp,
    /// Monotonic time of reception.
    pub now: f64,
}

/// The first 48 octets of `out`, where a request header is built.
fn header_room(out: &mut [u8]) -> Option<&mut [u8; 48]> {
    out.get_mut(..48)?.try_into().ok()
}

/// One association.
#[derive(Debug)]
pub struct Association {
    /// Identifier (mode 6 association ID later).
    pub id: u16,
    /// Configuration.
    pub cfg: AssocConfig,
    /// On-wire state.
    pub wire: OnWire,
    /// The peer process.
    pub peer: PeerState,
    /// Counters.
    pub stats: AssocStats,
    /// DENY or RSTR received: no more polls.
    pub denied: bool,
    /// Last header received (for status display and peerstats).
    pub last_header: Option<Header>,
    /// Source poll exponent floor from a RATE kiss.
    pub rate_poll: i8,
    /// The last packet from the remote passed authentication with the
    /// association's key (the reference's `FLAG_AUTHENTIC`).
    pub authentic: bool,
    /// Monotonic time of the last packet from the remote.
    pub last_rx: Option<f64>,
    /// Monotonic time the reachability register last became non-zero.
    pub reach_since: Option<f64>,
    /// How its packets are sealed and judged.
    pub auth: Authenticator,
    /// Frequency tolerance PHI, s/s (`tinker dispersion`).
    phi: f64,
    /// How uncertain the discipline's frequency is, s/s: the clock
    /// filter's age weight (set by the daemon before each packet).
    freq_uncertainty: f64,
    event_count: u8,
    last_event: u8,
    /// What its mode keeps beyond this (burst, volley, manycast ring).
    mode: ModeState,
    /// The [`flash`] packet-test bits of the last packet received.
    pub packet_flash: u16,
    /// Monotonic time of an early Autokey transmission the engine asked
    /// for (RFC 5906 §9: the next step of the exchange without waiting
    /// for the poll timer; `autokey::association::Association::take_hurry`).
    crypto_due: Option<f64>,
}

/// The minimum headway between an Autokey reply and our early next
/// packet, s (the reference's `ntp_minpkt`, RFC 5905 §13 `MINPOLL` floor
/// of a burst's spacing).
pub const CRYPTO_HEADWAY: f64 = 2.0;

/// The `flash` bits of a peer (RFC 5905 §8 packet tests and §11.2.1 peer
/// tests, the reference's `TEST1`..`TEST13`), as `ntpq` names them.
pub mod flash {
    /// Duplicate packet (`pkt_dup`).
    pub const DUPLICATE: u16 = 0x0001;
    /// Bogus packet: origin mismatch or unexpected mode (`pkt_bogus`).
    pub const BOGUS: u16 = 0x0002;
    /// Authentication failed (`pkt_auth`).
    pub const AUTH: u16 = 0x0010;
    /// Server unsynchronised or stratum out of range (`pkt_stratum`).
    pub const STRATUM: u16 = 0x0020;
    /// Not proventic yet (`pkt_autokey`).
    pub const AUTOKEY: u16 = 0x0080;
    /// The packet tests (the bits one packet sets).
    pub const PACKET_MASK: u16 = 0x01ff;
    /// Peer unsynchronised or stratum at the ceiling (`peer_stratum`).
    pub const PEER_STRATUM: u16 = 0x0200;
    /// Root distance exceeded (`peer_dist`).
    pub const PEER_DISTANCE: u16 = 0x0400;
    /// Synchronisation loop (`peer_loop`).
    pub const PEER_LOOP: u16 = 0x0800;
    /// Unreachable or `noselect` (`peer_unreach`).
    pub const PEER_UNREACHABLE: u16 = 0x1000;
}

/// Peer event codes (RFC 5905 Appendix B, reference `PEVNT_*`).
pub mod peer_event {
    /// Association mobilised.
    pub const MOBILIZE: u8 = 1;
    /// Became reachable.
    pub const REACH: u8 = 4;
    /// RATE kiss received.
    pub const RATE: u8 = 7;
    /// DENY kiss received.
    pub const DENY: u8 = 8;
    /// RSTR kiss received.
    pub const RSTR: u8 = 9;
}

impl Association {
    /// A new association first polled at monotonic time `now`; `precision`
    /// is the system precision in seconds.
    pub fn new(id: u16, cfg: AssocConfig, precision: f64, now: f64) -> Self {
        let mut peer = PeerState::new(
            usize::from(id),
            cfg.minpoll,
            cfg.maxpoll,
            cfg.iburst,
            precision,
            now,
        );
        peer.set_prefer(cfg.prefer);
        peer.set_truechimer(cfg.truechimer);
        let mode = ModeState::new(cfg.mode, cfg.broadcast_delay, now);
        Association {
            auth: Authenticator::for_key(cfg.key),
            id,
            rate_poll: cfg.minpoll,
            cfg,
            wire: OnWire::default(),
            peer,
            stats: AssocStats::default(),
            denied: false,
            last_header: None,
            authentic: false,
            last_rx: None,
            reach_since: None,
            phi: clock::constants::PHI,
            freq_uncertainty: clock::constants::PHI,
            event_count: 1,
            last_event: peer_event::MOBILIZE,
            mode,
            packet_flash: 0,
            crypto_due: None,
        }
    }

    /// The association with authenticator `auth` (Autokey) instead of the
    /// one its configured key gives.
    pub fn with_authenticator(mut self, auth: Authenticator) -> Self {
        self.auth = auth;
        self
    }

    /// Event counter (saturating at 15) and the last event code.
    pub fn events(&self) -> (u8, u8) {
        (self.event_count, self.last_event)
    }

    /// Set the frequency tolerance PHI (s/s, `tinker dispersion`) used for
    /// this association's sample dispersion and clock filter ageing.
    pub fn set_phi(&mut self, phi: f64) {
        self.phi = phi;
        self.peer.set_phi(phi);
    }

    /// The discipline's frequency uncertainty (s/s,
    /// `Discipline::frequency_uncertainty`): how much older filter stages
    /// weigh against lower delay. The full tolerance only while the
    /// frequency is still being measured; once it is known, the filter
    /// keeps picking the minimum-delay stage (RFC 5905 §10) instead of
    /// always the newest.
    pub fn set_frequency_uncertainty(&mut self, u: f64) {
        self.freq_uncertainty = u;
    }

    /// The frequency tolerance in use, s/s.
    pub fn phi(&self) -> f64 {
        self.phi
    }

    /// An authenticated mode 6 read of this association: the event
    /// counter restarts (the reference's `ctl_putpeer` path clears
    /// `num_events`), the last event stays.
    pub fn clear_event_count(&mut self) {
        self.event_count = 0;
    }

    fn event(&mut self, code: u8) {
        self.event_count = self.event_count.saturating_add(1).min(15);
        self.last_event = code;
        tracing::info!(
            target: crate::logging::PEER_EVENT,
            "{} event {} ({} events)",
            self.cfg.remote.ip(),
            proto::control::PeerEvent::from_code(code).name(),
            self.event_count
        );
    }

    /// Whether a poll is due (for a broadcast client: a volley request,
    /// or the poll timer that ages its reachability).
    pub fn poll_due(&self, now: f64) -> bool {
        if self.denied {
            return false;
        }
        let extra = match &self.mode {
            ModeState::BroadcastClient(v) => v.due(now, self.auth.volley_pending()),
            ModeState::Client(b) => b.due(now),
            ModeState::ManycastClient { .. } | ModeState::Plain => false,
        };
        let early = self.crypto_due.is_some_and(|t| now >= t);
        extra || early || self.peer.poll_due(now)
    }

    /// Manycast client: the hops the solicitation just built must be sent
    /// with.
    pub fn manycast_ttl(&self) -> Option<u8> {
        match self.mode {
            ModeState::ManycastClient { ttl } => Some(ttl),
            _ => None,
        }
    }

    /// Manycast client: whether `h` answers our latest solicitation (its
    /// origin timestamp is our transmit timestamp — the nonce that ties a
    /// server's unicast reply to the multicast request).
    pub fn answers_solicitation(&self, h: &proto::Header) -> bool {
        matches!(self.mode, ModeState::ManycastClient { .. })
            && !self.wire.xmt.is_zero()
            && h.origin_timestamp == self.wire.xmt
    }

    /// Manycast client with enough servers: let the poll pass without a
    /// solicitation; the next one starts the ring again at one hop.
    pub fn skip_poll(&mut self, now: f64) {
        self.peer.on_poll_sent(now);
        if let ModeState::ManycastClient { ttl } = &mut self.mode {
            *ttl = 0;
        }
    }

    /// A broadcast client with `broadcastdelay` configured: no
    /// calibration volley (see [`mode_state::Volley::skip`]).
    pub fn skip_volley(&mut self) {
        if let ModeState::BroadcastClient(v) = &mut self.mode {
            v.skip();
        }
    }

    /// The broadcast delay in use, seconds, and whether a volley
    /// calibrated it.
    pub fn broadcast_delay(&self) -> (f64, bool) {
        match &self.mode {
            ModeState::BroadcastClient(v) => v.delay(),
            _ => (self.cfg.broadcast_delay, false),
        }
    }

    /// An ephemeral association that has heard nothing for eight polls
    /// (its reachability register stayed empty for eight shifts).
    pub fn is_stale(&self) -> bool {
        self.cfg.ephemeral && !self.peer.reach().is_reachable() && self.peer.reach().unreach() >= 8
    }

    /// Build the next poll into `out` and return its length, sealed by
    /// the association's [`Authenticator`]: `Ok(None)` when there is
    /// nothing to send (a broadcast client between volleys), an error when
    /// the packet cannot be sealed (it is not sent).
    pub fn poll(
        &mut self,
        sys: &SystemState,
        ctx: &mut AuthContext<'_>,
        out: &mut [u8],
        now: f64,
        clock: impl FnOnce() -> NtpTimestamp,
    ) -> Result<Option<usize>, SealError> {
        let remote = self.cfg.remote.ip();
        if let ModeState::BroadcastClient(v) = &mut self.mode {
            if !v.due(now, self.auth.volley_pending()) {
                // Nothing to send: the poll timer only ages reachability.
                self.peer.on_poll_sent(now);
                return Ok(None);
            }
            v.sent_one(now);
            let Some(hdr) = header_room(out) else {
                return Ok(None);
            };
            v.wire.build_request(
                sys,
                Mode::Client,
                self.cfg.version,
                self.cfg.minpoll,
                hdr,
                clock,
            );
            self.stats.sent += 1;
            return self.auth.seal(out, 48, remote, ctx).map(Some);
        }
        let Some(mode) = self.cfg.mode.send_mode() else {
            return Ok(None);
        };
        let Some(hdr) = header_room(out) else {
            return Ok(None);
        };
        let poll = self.peer.poll().hpoll().max(self.rate_poll);
        self.wire
            .build_request(sys, mode, self.cfg.version, poll, hdr, clock);
        let further = matches!(&self.mode, ModeState::Client(b) if b.due(now));
        // Any packet carries the next Autokey step, so an early one is
        // no longer wanted once this one goes.
        let early = self.crypto_due.take().is_some_and(|t| now >= t);
        if (further || early) && !self.peer.poll_due(now) {
            // A further request of a burst, or an early Autokey step: the
            // reachability register and the poll timer move only once per
            // poll.
            if let ModeState::Client(b) = &mut self.mode {
                if further {
                    b.sent_one(now);
                }
            }
        } else {
            // RFC 5905 §13 / the reference's `poll_update()`: with
            // `burst`, a poll to a reachable source is the first of
            // eight requests.
            let reachable = self.peer.reach().is_reachable();
            self.peer.on_poll_sent(now);
            if let ModeState::Client(b) = &mut self.mode {
                b.start(self.cfg.burst && reachable, now);
            }
        }
        if let ModeState::ManycastClient { ttl } = &mut self.mode {
            // The expanding ring: 1, 2, 4, ... hops up to the `ttl`
            // option (RFC 5905 leaves the ring to the implementation).
            let cap = self.cfg.ttl.unwrap_or(MANYCAST_TTL_MAX).max(1);
            *ttl = ttl.saturating_mul(2).clamp(1, cap);
        }
        self.stats.sent += 1;
        let sealed = self.auth.seal(out, 48, remote, ctx).map(Some);
        if self
            .auth
            .autokey_engine_mut()
            .is_some_and(|e| e.take_hurry())
        {
            // The packet carried something in place of our next Autokey
            // request (a key-list announcement): that request goes soon.
            self.crypto_due = Some(now + CRYPTO_HEADWAY);
        }
        sealed
    }

    /// Process a packet from the remote address: its authentication is
    /// judged by the association's [`Authenticator`] (the keyring's
    /// `outcome` comes in with it); `rx` is the receive time (T4), `now`
    /// the monotonic time of reception, `precision` the system precision
    /// in seconds.
    pub fn receive(
        &mut self,
        arrival: Arrival<'_, '_>,
        ctx: &mut AuthContext<'_>,
        precision: f64,
        our_refid: ReferenceId,
    ) -> Event {
        let Arrival {
            packet,
            outcome,
            dst,
            rx,
            now,
        } = arrival;
        self.stats.received += 1;
        self.last_rx = Some(now);
        self.packet_flash = 0;
        let outstanding = match &self.mode {
            ModeState::BroadcastClient(v) => v.outstanding(),
            _ => self.wire.xmt,
        };
        let received = authenticator::Received {
            packet,
            outcome,
            peer: self.cfg.remote.ip(),
            dst,
            outstanding,
        };
        let verdict = self.auth.verify(&received, ctx);
        self.authentic = verdict == Verdict::Authentic;
        let unicast = matches!(
            self.cfg.mode,
            HostMode::Client | HostMode::SymmetricActive | HostMode::SymmetricPassive
        );
        if unicast
            && self
                .auth
                .autokey_engine_mut()
                .is_some_and(|e| e.take_hurry())
        {
            self.crypto_due = Some(now + CRYPTO_HEADWAY);
        }
        if let Verdict::Refused(auth) = verdict {
            if auth == AuthOutcome::CryptoNak {
                self.stats.crypto_naks += 1;
            } else {
                self.stats.badauth += 1;
            }
            self.packet_flash = flash::AUTH;
            return Event::AuthRefused(auth);
        }
        let h = *packet.header();
        if !self.cfg.mode.accepts(h.mode) {
            self.stats.bogus += 1;
            self.packet_flash = flash::BOGUS;
            return Event::Rejected(Reject::Bogus);
        }
        if self.cfg.mode == HostMode::BroadcastClient && h.mode == Mode::Server {
            return self.volley_reply(&h, rx);
        }
        let checked = match self.cfg.mode {
            HostMode::Client => self.wire.receive(&h, rx),
            HostMode::BroadcastClient => self.wire.receive_broadcast(&h, rx),
            _ => self.wire.receive_symmetric(&h, rx),
        };
        let reply = match checked {
            Ok(r) => r,
            Err(e) => {
                self.packet_flash = match e {
                    Reject::Duplicate => {
                        self.stats.duplicate += 1;
                        flash::DUPLICATE
                    }
                    Reject::Bogus => {
                        self.stats.bogus += 1;
                        flash::BOGUS
                    }
                    Reject::Unsynchronized => {
                        self.stats.unsynchronized += 1;
                        flash::STRATUM
                    }
                };
                return Event::Rejected(e);
            }
        };
        self.stats.processed += 1;
        self.last_header = Some(h);
        if !self.peer.reach().is_reachable() {
            self.event(peer_event::REACH);
            self.reach_since = Some(now);
        }
        match reply {
            Reply::Kiss(code) => {
                self.stats.kods += 1;
                match code {
                    KissCode::Rate => {
                        self.rate_poll = self.rate_poll.max(h.poll).min(self.cfg.maxpoll);
                        self.event(peer_event::RATE);
                    }
                    KissCode::Deny => {
                        self.denied = true;
                        self.event(peer_event::DENY);
                    }
                    KissCode::Rstr => {
                        self.denied = true;
                        self.event(peer_event::RSTR);
                    }
                    _ => {}
                }
                Event::Kiss(code)
            }
            Reply::Measurement { .. } if !self.auth.is_proventic() => {
                // The reference's TEST8: not proventic yet, no sample.
                self.packet_flash = flash::AUTOKEY;
                Event::NotProventic
            }
            Reply::Measurement { a, b, span } => {
                let peer_precision = 2f64.powi(i32::from(h.precision));
                let sample = if let ModeState::BroadcastClient(v) = &mut self.mode {
                    let delay = v.delay_for_broadcast(b, self.cfg.remote);
                    Sample::broadcast_phi(now + b, now, delay, precision + peer_precision, self.phi)
                } else {
                    Sample::from_intervals_phi(
                        a,
                        b,
                        span,
                        precision + peer_precision,
                        now,
                        self.phi,
                    )
                };
                let info = SourceInfo {
                    stratum: h.stratum,
                    leap: leap_to_clock(h.leap),
                    root_delay: h.root_delay.to_seconds_f64(),
                    root_dispersion: h.root_dispersion.to_seconds_f64(),
                    loops_to_us: h.stratum > 1 && h.reference_id == our_refid,
                };
                self.auth.on_sample(h.leap);
                Event::Sample(
                    self.peer
                        .on_sample(sample, info, now, self.freq_uncertainty),
                )
            }
        }
    }

    /// A broadcast client's volley reply: its offset calibrates the delay
    /// at the next broadcast.
    fn volley_reply(&mut self, h: &Header, rx: NtpTimestamp) -> Event {
        let ModeState::BroadcastClient(v) = &mut self.mode else {
            self.stats.bogus += 1;
            return Event::Rejected(Reject::Bogus);
        };
        match v.wire.receive(h, rx) {
            Ok(Reply::Measurement { a, b, .. }) => {
                self.stats.processed += 1;
                v.measured((a + b) / 2.0);
                Event::Calibrated(a - b)
            }
            Ok(Reply::Kiss(code)) => {
                self.stats.kods += 1;
                Event::Kiss(code)
            }
            Err(e) => {
                match e {
                    Reject::Duplicate => self.stats.duplicate += 1,
                    Reject::Bogus => self.stats.bogus += 1,
                    Reject::Unsynchronized => self.stats.unsynchronized += 1,
                }
                Event::Rejected(e)
            }
        }
    }

    /// The mitigation input, if the filter has output and the association
    /// may be selected.
    pub fn source(&self) -> Option<Source> {
        if self.cfg.noselect {
            return None;
        }
        Some(Source {
            candidate: self.peer.candidate()?,
            refid: refclock::system_refid(self).unwrap_or(onwire::refid_of(self.cfg.remote.ip()).0),
        })
    }

    /// The peer tests of RFC 5905 §11.2.1 (`fit()`, the reference's
    /// `peer_unfit()`), as [`flash`] bits, at monotonic time `now`: an
    /// unsynchronised server or one at the stratum ceiling, a root
    /// distance beyond `maxdist` plus one poll of ageing, a loop through
    /// `our_refid`, no reachability or `noselect`.
    pub fn peer_flash(
        &self,
        now: f64,
        params: &clock::select::SelectionParams,
        our_refid: ReferenceId,
    ) -> u16 {
        let mut f = 0;
        let h = self.last_header;
        let stratum = h.map_or(clock::constants::MAXSTRAT, |h| match h.stratum {
            0 => clock::constants::MAXSTRAT,
            s => s,
        });
        if h.is_none_or(|h| h.leap == proto::LeapIndicator::Unsynchronized)
            || stratum >= clock::constants::MAXSTRAT - 1
        {
            f |= flash::PEER_STRATUM;
        }
        let poll = 2f64.powi(i32::from(self.peer.poll().hpoll()));
        let distance = self
            .peer
            .candidate()
            .map(|c| c.root_distance_phi(now, params.mindist, params.phi));
        if distance.is_none_or(|d| d >= params.maxdist + params.phi * poll) {
            f |= flash::PEER_DISTANCE;
        }
        if stratum > 1 && h.is_some_and(|h| h.reference_id == our_refid) {
            f |= flash::PEER_LOOP;
        }
        if !self.peer.reach().is_reachable() || self.cfg.noselect {
            f |= flash::PEER_UNREACHABLE;
        }
        f
    }

    /// The remote address.
    pub fn remote(&self) -> SocketAddr {
        self.cfg.remote
    }

    /// Where requests go: the remote address, or for NTS the NTP server
    /// NTS-KE named (RFC 8915 §4.1.7, §4.1.8).
    pub fn send_addr(&self) -> SocketAddr {
        self.auth.ntp_destination(self.cfg.remote)
    }

    /// Whether `addr` is this association's configured remote address:
    /// what mobilisation (manycast "already known", `ippeerlimit`) counts.
    pub fn is_remote(&self, addr: IpAddr) -> bool {
        self.cfg.remote.ip() == addr
    }

    /// Whether packets from `addr` may be this association's: its remote
    /// address, or the NTP server NTS-KE named (RFC 8915 §4.1.7), which
    /// answers its requests.
    pub fn receives_from(&self, addr: IpAddr) -> bool {
        self.is_remote(addr) || self.send_addr().ip() == addr
    }

    /// Whether `h` answers this association's latest request: its origin
    /// timestamp is our last transmit timestamp (RFC 5905 §8). The
    /// receive path uses it to pick among associations that share an
    /// address, so that an NTS-KE server naming another association's NTP
    /// server cannot take that association's replies.
    pub fn awaits(&self, h: &proto::Header) -> bool {
        !self.wire.xmt.is_zero() && h.origin_timestamp == self.wire.xmt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::KeyRing;
    use proto::{LeapIndicator, NtpDuration};
    use rand::rngs::StdRng;
    use std::path::Path;

    /// [`Association::poll`] with the keys `keys` and no Autokey host.
    pub(super) fn poll_with(
        a: &mut Association,
        sys: &SystemState,
        keys: &KeyRing,
        out: &mut [u8],
        now: f64,
        clock: impl FnOnce() -> NtpTimestamp,
    ) -> Option<usize> {
        let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(1);
        let mut ctx = AuthContext {
            keys,
            host: None,
            now: 0,
            rng: &mut rng,
            events: Vec::new(),
        };
        a.poll(sys, &mut ctx, out, now, clock).ok().flatten()
    }

    /// [`Association::receive`] of `packet` judged `outcome` by the
    /// keyring, with no Autokey host.
    pub(super) fn receive_with(
        a: &mut Association,
        packet: &PacketRef<'_>,
        outcome: AuthOutcome,
        rx: NtpTimestamp,
        now: f64,
        precision: f64,
        our_refid: ReferenceId,
    ) -> Event {
        let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(1);
        let keys = KeyRing::default();
        let mut ctx = AuthContext {
            keys: &keys,
            host: None,
            now: 0,
            rng: &mut rng,
            events: Vec::new(),
        };
        let arrival = Arrival {
            packet,
            outcome,
            dst: None,
            rx,
            now,
        };
        a.receive(arrival, &mut ctx, precision, our_refid)
    }

    fn cfg(key: Option<u16>) -> AssocConfig {
        AssocConfig {
            key,
            minpoll: 4,
            maxpoll: 6,
            ..AssocConfig::new("192.0.2.1:123".parse().unwrap(), HostMode::Client)
        }
    }

    fn ring() -> KeyRing {
        let f = config::keys::parse_str("3 SHA1 sekret\n", Path::new("k")).unwrap();
        let mut r = KeyRing::from_file(&f);
        r.trust(3);
        r
    }

    /// The server side: answer `req` with offset `theta` using the fast
    /// path of this crate, signed with the request's key if any.
    fn answer(req: &[u8], keys: &KeyRing, theta: f64) -> (Vec<u8>, NtpTimestamp) {
        let p = PacketRef::parse(req).unwrap();
        let t1 = p.header().transmit_timestamp;
        let t2 = t1 + NtpDuration::from_seconds_f64(0.005 + theta);
        let t3 = t2 + NtpDuration::from_seconds_f64(0.0001);
        let t4 = t1 + NtpDuration::from_seconds_f64(0.0101);
        let mut sys = SystemState::unsynchronized(-20);
        sys.leap = LeapIndicator::NoWarning;
        sys.stratum = 2;
        let auth = crate::server::ReplyAuth::for_request(
            keys.check(
                p.authenticated_bytes(),
                p.mac(),
                "192.0.2.9".parse().unwrap(),
            ),
            false,
        )
        .unwrap();
        let mut out = [0u8; 128];
        let n = crate::server::build_reply(
            req,
            t2,
            &sys,
            auth,
            keys,
            "192.0.2.9".parse().unwrap(),
            &mut out,
            || t3,
        )
        .unwrap();
        (out[..n].to_vec(), t4)
    }

    /// The offset the filter reports after two exchanges 64 s apart — a
    /// low-delay one with offset 1 ms, then a higher-delay one with offset
    /// 2 ms — when the discipline's frequency uncertainty is `u`.
    fn offset_after_two_exchanges(u: f64) -> f64 {
        let keys = KeyRing::default();
        let sys = SystemState::unsynchronized(-20);
        let mut a = Association::new(1, cfg(None), 1e-6, 0.0);
        // The RFC 5905 §10 choice of one stage, which this test is about.
        a.peer.set_estimator(clock::filter::Estimator::MinDelay);
        a.set_frequency_uncertainty(u);
        let t0 = NtpTimestamp::from_parts(0xe900_0000, 0);
        for (now, theta, delay) in [(0.0, 0.001, 0.002), (64.0, 0.002, 0.003)] {
            let mut out = [0u8; 128];
            let t1 = t0 + NtpDuration::from_seconds_f64(now);
            let n = poll_with(&mut a, &sys, &keys, &mut out, now, || t1).unwrap();
            let (mut reply, _) = answer(&out[..n], &keys, 0.0);
            // Server receive/transmit for (theta, delay), no server time.
            let t2 = t1 + NtpDuration::from_seconds_f64(delay / 2.0 + theta);
            reply[32..40].copy_from_slice(&t2.to_bytes());
            reply[40..48].copy_from_slice(&t2.to_bytes());
            let t4 = t1 + NtpDuration::from_seconds_f64(delay);
            let p = PacketRef::parse(&reply).unwrap();
            let e = receive_with(
                &mut a,
                &p,
                AuthOutcome::None,
                t4,
                now + delay,
                1e-6,
                ReferenceId(0),
            );
            assert!(matches!(e, Event::Sample(_)), "{e:?}");
        }
        a.source().unwrap().candidate.offset
    }

    #[test]
    fn a_known_frequency_lets_the_filter_prefer_the_older_low_delay_sample() {
        // While the frequency is unknown (full tolerance), age dominates
        // and the newer sample wins; once it is known (wander-sized
        // uncertainty), the lower delay does (RFC 5905 §10).
        let unknown = offset_after_two_exchanges(clock::constants::PHI);
        let known = offset_after_two_exchanges(3e-7);
        assert!((unknown - 0.002).abs() < 2e-4, "{unknown}");
        assert!((known - 0.001).abs() < 2e-4, "{known}");
    }

    #[test]
    fn flash_names_the_failed_packet_and_peer_tests() {
        let keys = ring();
        let params = clock::select::SelectionParams::default();
        let sys = SystemState::unsynchronized(-20);
        // Never heard from: unsynchronised, no distance, unreachable (the
        // reference's 0x1600 on a new association).
        let mut a = Association::new(1, cfg(Some(3)), 1e-6, 0.0);
        assert_eq!(
            a.peer_flash(0.0, &params, ReferenceId(0)),
            flash::PEER_STRATUM | flash::PEER_DISTANCE | flash::PEER_UNREACHABLE
        );
        // A reply without the MAC the association wants: pkt_auth.
        let mut out = [0u8; 128];
        let n = poll_with(&mut a, &sys, &keys, &mut out, 0.0, || {
            NtpTimestamp::from_parts(0xe900_0000, 0)
        })
        .unwrap();
        let (reply, t4) = answer(&out[..48], &KeyRing::default(), 0.0);
        assert!(n > 48);
        let p = PacketRef::parse(&reply).unwrap();
        receive_with(
            &mut a,
            &p,
            AuthOutcome::None,
            t4,
            0.01,
            1e-6,
            ReferenceId(0),
        );
        assert_eq!(a.packet_flash, flash::AUTH);
        // The signed reply passes every packet test; one sample leaves
        // seven empty filter stages, so the distance is still too long
        // (as the reference: a peer is fit after a few samples).
        let (reply, t4) = answer(&out[..n], &keys, 0.0);
        let p = PacketRef::parse(&reply).unwrap();
        let auth = keys.check(
            p.authenticated_bytes(),
            p.mac(),
            "192.0.2.1".parse().unwrap(),
        );
        receive_with(&mut a, &p, auth, t4, 0.02, 1e-6, ReferenceId(0));
        assert_eq!(a.packet_flash, 0);
        assert_eq!(
            a.peer_flash(0.02, &params, ReferenceId(0)),
            flash::PEER_DISTANCE
        );
        // Its refid is our address: a loop.
        let ours = ReferenceId::from_bytes(reply[12..16].try_into().unwrap());
        assert_eq!(
            a.peer_flash(0.02, &params, ours),
            flash::PEER_DISTANCE | flash::PEER_LOOP
        );
        // Replayed: pkt_dup.
        receive_with(&mut a, &p, auth, t4, 0.03, 1e-6, ReferenceId(0));
        assert_eq!(a.packet_flash, flash::DUPLICATE);
    }

    #[test]
    fn client_polls_and_turns_replies_into_samples() {
        let keys = KeyRing::default();
        let mut a = Association::new(1, cfg(None), 1e-6, 0.0);
        let sys = SystemState::unsynchronized(-20);
        assert!(a.poll_due(0.0));
        let mut out = [0u8; 128];
        let n = poll_with(&mut a, &sys, &keys, &mut out, 0.0, || {
            NtpTimestamp::from_parts(0xe900_0000, 0)
        })
        .unwrap();
        assert_eq!(n, 48);
        assert!(!a.poll_due(1.0));
        let (reply, t4) = answer(&out[..n], &keys, 0.125);
        let p = PacketRef::parse(&reply).unwrap();
        let e = receive_with(
            &mut a,
            &p,
            AuthOutcome::None,
            t4,
            0.01,
            1e-6,
            ReferenceId(0),
        );
        assert!(
            matches!(e, Event::Sample(clock::filter::FilterUpdate::Updated(_))),
            "{e:?}"
        );
        let s = a.source().unwrap();
        assert!(
            (s.candidate.offset - 0.125).abs() < 1e-6,
            "{}",
            s.candidate.offset
        );
        assert!((s.candidate.delay - 0.01).abs() < 1e-6);
        assert_eq!(s.candidate.stratum, 2);
        assert_eq!(s.refid, u32::from_be_bytes([192, 0, 2, 1]));
        // Replayed: refused, counted.
        let e = receive_with(
            &mut a,
            &p,
            AuthOutcome::None,
            t4,
            0.02,
            1e-6,
            ReferenceId(0),
        );
        assert_eq!(e, Event::Rejected(Reject::Duplicate));
        assert_eq!(
            (a.stats.sent, a.stats.processed, a.stats.duplicate),
            (1, 1, 1)
        );
    }

    /// `burst`: no burst while unreachable; once reachable each poll is
    /// eight requests two seconds apart, answered ones filling the clock
    /// filter, while the reach register shifts once per poll.
    #[test]
    fn burst_sends_eight_requests_per_poll_once_reachable() {
        let keys = KeyRing::default();
        let mut c = cfg(None);
        c.burst = true;
        let mut a = Association::new(1, c, 1e-6, 0.0);
        let sys = SystemState::unsynchronized(-20);
        let mut out = [0u8; 128];
        let mut xmt = 0xe900_0000u32;
        let mut step = |a: &mut Association, now: f64, answer_it: bool| -> bool {
            if !a.poll_due(now) {
                return false;
            }
            xmt += 1;
            let t = NtpTimestamp::from_parts(xmt, 0);
            let n = poll_with(a, &sys, &keys, &mut out, now, || t).unwrap();
            if answer_it {
                let (reply, t4) = answer(&out[..n], &keys, 0.001);
                let p = PacketRef::parse(&reply).unwrap();
                receive_with(
                    a,
                    &p,
                    AuthOutcome::None,
                    t4,
                    now + 0.01,
                    1e-6,
                    ReferenceId(0),
                );
            }
            true
        };
        // First poll (unreachable): a single request.
        assert!(step(&mut a, 0.0, true));
        let mut sent_at = Vec::new();
        for t in 1..16 {
            if step(&mut a, f64::from(t), true) {
                sent_at.push(t);
            }
        }
        assert!(sent_at.is_empty(), "no burst before reachable: {sent_at:?}");
        // Second poll (reachable, minpoll 4 = 16 s): eight requests.
        let mut t = 16;
        while !step(&mut a, f64::from(t), true) {
            t += 1;
        }
        let first = t;
        let mut sent_at = vec![first];
        for t in first + 1..first + 16 {
            if step(&mut a, f64::from(t), true) {
                sent_at.push(t);
            }
        }
        let expect: Vec<i32> = (0..8).map(|k| first + 2 * k).collect();
        assert_eq!(sent_at, expect);
        assert_eq!(a.stats.sent, 9);
        assert_eq!(a.stats.processed, 9);
        assert_eq!(a.peer.reach().register(), 0b11, "two polls, two shifts");
        assert_eq!(a.peer.filter().valid_stages(), 8, "filter filled");
    }

    #[test]
    fn keyed_association_ignores_naks_and_unauthenticated_replies() {
        let keys = ring();
        let mut a = Association::new(1, cfg(Some(3)), 1e-6, 0.0);
        let sys = SystemState::unsynchronized(-20);
        let mut out = [0u8; 128];
        let n = poll_with(&mut a, &sys, &keys, &mut out, 0.0, || {
            NtpTimestamp::from_parts(0xe900_0000, 0)
        })
        .unwrap();
        assert_eq!(n, 72, "SHA1 MAC appended");
        let (reply, t4) = answer(&out[..n], &keys, 0.0);
        // Forged: the same reply without MAC, and a crypto-NAK version.
        let bare = PacketRef::parse(&reply[..48]).unwrap();
        assert_eq!(
            receive_with(
                &mut a,
                &bare,
                AuthOutcome::None,
                t4,
                0.01,
                1e-6,
                ReferenceId(0)
            ),
            Event::AuthRefused(AuthOutcome::None)
        );
        let mut nak = reply[..48].to_vec();
        nak.extend_from_slice(&[0; 4]);
        let nak = PacketRef::parse(&nak).unwrap();
        assert_eq!(
            receive_with(
                &mut a,
                &nak,
                AuthOutcome::CryptoNak,
                t4,
                0.01,
                1e-6,
                ReferenceId(0)
            ),
            Event::AuthRefused(AuthOutcome::CryptoNak)
        );
        assert!(!a.denied);
        assert_eq!((a.stats.badauth, a.stats.crypto_naks), (1, 1));
        // The genuine reply still matches: the forgeries changed nothing.
        let p = PacketRef::parse(&reply).unwrap();
        let auth = keys.check(
            p.authenticated_bytes(),
            p.mac(),
            "192.0.2.1".parse().unwrap(),
        );
        assert_eq!(auth, AuthOutcome::Ok(3));
        let e = receive_with(&mut a, &p, auth, t4, 0.01, 1e-6, ReferenceId(0));
        assert!(matches!(e, Event::Sample(_)), "{e:?}");
    }

    #[test]
    fn symmetric_peers_measure_each_other() {
        let keys = KeyRing::default();
        // Both peers synchronised (an unsynchronised one sends stratum 0,
        // which gives no sample).
        let mut sys = SystemState::unsynchronized(-20);
        sys.leap = proto::LeapIndicator::NoWarning;
        sys.stratum = 3;
        let mut active = Association::new(
            1,
            AssocConfig {
                mode: HostMode::SymmetricActive,
                ..cfg(None)
            },
            1e-6,
            0.0,
        );
        let mut passive = Association::new(
            2,
            AssocConfig {
                mode: HostMode::SymmetricPassive,
                ephemeral: true,
                ..cfg(None)
            },
            1e-6,
            0.0,
        );
        let mut buf = [0u8; 48];
        let t = |s: u32, ms: f64| {
            NtpTimestamp::from_parts(s, 0) + NtpDuration::from_seconds_f64(ms / 1000.0)
        };
        // The passive side runs 50 ms ahead; 1 ms each way.
        poll_with(&mut active, &sys, &keys, &mut buf, 0.0, || t(1000, 0.0)).unwrap();
        assert_eq!(Header::parse(&buf).unwrap().mode, Mode::SymmetricActive);
        let p = PacketRef::parse(&buf).unwrap();
        let e = receive_with(
            &mut passive,
            &p,
            AuthOutcome::None,
            t(1000, 51.0),
            0.001,
            1e-6,
            ReferenceId(0),
        );
        assert_eq!(
            e,
            Event::Rejected(Reject::Bogus),
            "nothing of ours to match yet"
        );
        poll_with(&mut passive, &sys, &keys, &mut buf, 0.002, || t(1000, 52.0)).unwrap();
        assert_eq!(Header::parse(&buf).unwrap().mode, Mode::SymmetricPassive);
        let p = PacketRef::parse(&buf).unwrap();
        let e = receive_with(
            &mut active,
            &p,
            AuthOutcome::None,
            t(1000, 3.0),
            0.003,
            1e-6,
            ReferenceId(0),
        );
        assert!(matches!(e, Event::Sample(_)), "{e:?}");
        let off = active.source().unwrap().candidate.offset;
        assert!((off - 0.050).abs() < 1e-6, "{off}");
        // A mode 4 packet from the same address is not for a peer.
        assert!(!HostMode::SymmetricActive.accepts(Mode::Server));
        assert!(!HostMode::BroadcastServer.accepts(Mode::Broadcast));
    }

    #[test]
    fn broadcast_client_uses_the_assumed_delay() {
        let mut c = Association::new(
            3,
            AssocConfig {
                mode: HostMode::BroadcastClient,
                ephemeral: true,
                broadcast_delay: 0.010,
                ..cfg(None)
            },
            1e-6,
            0.0,
        );
        // Skip the volley: this test is about the assumed delay.
        if let ModeState::BroadcastClient(v) = &mut c.mode {
            v.skip();
        }
        c.peer.on_poll_sent(0.0);
        assert!(
            !c.poll_due(0.5),
            "a broadcast client sends nothing after its volley"
        );
        assert!(!c.is_stale());
        let mut h = Header::parse(&[0x25u8; 48]).unwrap();
        h.leap = proto::LeapIndicator::NoWarning;
        h.stratum = 3;
        h.precision = -20;
        h.transmit_timestamp = NtpTimestamp::from_parts(500, 0);
        let bytes = h.to_bytes();
        let p = PacketRef::parse(&bytes).unwrap();
        // Received 25 ms "later" by our clock: we are 20 ms ahead after
        // the 5 ms one-way delay.
        let rx = NtpTimestamp::from_parts(500, 0) + NtpDuration::from_seconds_f64(0.025);
        let e = receive_with(&mut c, &p, AuthOutcome::None, rx, 1.0, 1e-6, ReferenceId(0));
        assert!(matches!(e, Event::Sample(_)), "{e:?}");
        let off = c.source().unwrap().candidate.offset;
        assert!((off + 0.020).abs() < 1e-6, "{off}");
    }

    #[test]
    fn rate_kiss_backs_off_and_deny_stops_polling() {
        let keys = KeyRing::default();
        let mut a = Association::new(1, cfg(None), 1e-6, 0.0);
        let sys = SystemState::unsynchronized(-20);
        let mut out = [0u8; 48];
        let n = poll_with(&mut a, &sys, &keys, &mut out, 0.0, || {
            NtpTimestamp::from_parts(7, 0)
        })
        .unwrap();
        let mut kod = [0u8; 48];
        crate::server::build_kod(
            &out[..n],
            KissCode::Rate,
            Mode::Server,
            crate::server::ReplyAuth::None,
            &keys,
            "192.0.2.1".parse().unwrap(),
            6,
            &mut kod,
        )
        .unwrap();
        // The KoD echoes the request's transmit time as origin and transmit;
        // our transmit check sees T3 = our own T1, which is not zero and
        // not the previous T3, so it is processed.
        let p = PacketRef::parse(&kod).unwrap();
        assert_eq!(
            receive_with(
                &mut a,
                &p,
                AuthOutcome::None,
                NtpTimestamp::from_parts(7, 9),
                0.01,
                1e-6,
                ReferenceId(0)
            ),
            Event::Kiss(KissCode::Rate)
        );
        assert_eq!(a.rate_poll, 6);
        let n = poll_with(&mut a, &sys, &keys, &mut out, 100.0, || {
            NtpTimestamp::from_parts(8, 0)
        })
        .unwrap();
        assert_eq!(Header::parse(&out[..n]).unwrap().poll, 6);
        crate::server::build_kod(
            &out[..n],
            KissCode::Deny,
            Mode::Server,
            crate::server::ReplyAuth::None,
            &keys,
            "192.0.2.1".parse().unwrap(),
            6,
            &mut kod,
        )
        .unwrap();
        let p = PacketRef::parse(&kod).unwrap();
        assert_eq!(
            receive_with(
                &mut a,
                &p,
                AuthOutcome::None,
                NtpTimestamp::from_parts(8, 9),
                100.01,
                1e-6,
                ReferenceId(0)
            ),
            Event::Kiss(KissCode::Deny)
        );
        assert!(a.denied && !a.poll_due(1e9));
    }
}

#[cfg(test)]
mod volley_tests {
    use super::tests::{poll_with, receive_with};
    use super::*;
    use crate::auth::KeyRing;
    use proto::{LeapIndicator, NtpDuration};

    #[test]
    fn broadcast_client_volley_calibrates_the_delay() {
        let keys = KeyRing::default();
        let mut sys = SystemState::unsynchronized(-20);
        sys.leap = LeapIndicator::NoWarning;
        let cfg = AssocConfig {
            ephemeral: true,
            ..AssocConfig::new("192.0.2.1:123".parse().unwrap(), HostMode::BroadcastClient)
        };
        let mut c = Association::new(9, cfg, 1e-6, 0.0);
        assert!(c.poll_due(0.0));
        let mut buf = [0u8; 48];
        let t1 = NtpTimestamp::from_parts(1000, 0);
        assert_eq!(
            poll_with(&mut c, &sys, &keys, &mut buf, 0.0, || t1),
            Some(48)
        );
        assert_eq!(Header::parse(&buf).unwrap().mode, Mode::Client);
        // The server is 30 ms ahead; 7 ms each way.
        let d = |s: f64| NtpDuration::from_seconds_f64(s);
        let mut reply = Header::parse(&buf).unwrap();
        reply.mode = Mode::Server;
        reply.stratum = 2;
        reply.leap = LeapIndicator::NoWarning;
        reply.precision = -20;
        reply.origin_timestamp = t1;
        reply.receive_timestamp = t1 + d(0.037);
        reply.transmit_timestamp = t1 + d(0.0371);
        let bytes = reply.to_bytes();
        let p = PacketRef::parse(&bytes).unwrap();
        let e = receive_with(
            &mut c,
            &p,
            AuthOutcome::None,
            t1 + d(0.0141),
            0.1,
            1e-6,
            ReferenceId(0),
        );
        let Event::Calibrated(delay) = e else {
            panic!("{e:?}")
        };
        assert!((delay - 0.014).abs() < 1e-6);
        // The next broadcast: sent at server time T3, received 7 ms later.
        let mut b = reply;
        b.mode = Mode::Broadcast;
        b.transmit_timestamp = t1 + d(5.0);
        let rx = t1 + d(5.0 - 0.030 + 0.007);
        let bytes = b.to_bytes();
        let p = PacketRef::parse(&bytes).unwrap();
        let e = receive_with(&mut c, &p, AuthOutcome::None, rx, 5.0, 1e-6, ReferenceId(0));
        assert!(matches!(e, Event::Sample(_)), "{e:?}");
        let (delay, calibrated) = c.broadcast_delay();
        assert!(calibrated);
        assert!((delay - 0.014).abs() < 1e-5, "{delay}");
        let off = c.source().unwrap().candidate.offset;
        assert!((off - 0.030).abs() < 1e-5, "{off}");
    }
}

#[cfg(test)]
mod stale_tests {
    use super::tests::poll_with;
    use super::*;
    use crate::auth::KeyRing;

    #[test]
    fn silent_ephemeral_associations_go_stale_after_eight_polls() {
        let cfg = AssocConfig {
            minpoll: 4,
            maxpoll: 4,
            ephemeral: true,
            ..AssocConfig::new("192.0.2.1:123".parse().unwrap(), HostMode::SymmetricPassive)
        };
        let mut a = Association::new(1, cfg.clone(), 1e-6, 0.0);
        let sys = SystemState::unsynchronized(-20);
        let mut buf = [0u8; 48];
        for k in 0..8 {
            assert!(!a.is_stale(), "poll {k}");
            poll_with(
                &mut a,
                &sys,
                &KeyRing::default(),
                &mut buf,
                f64::from(k) * 16.0,
                || NtpTimestamp::from_parts(100 + k, 0),
            );
        }
        assert!(a.is_stale());
        // A configured association never goes stale.
        let mut c = Association::new(
            2,
            AssocConfig {
                ephemeral: false,
                ..cfg
            },
            1e-6,
            0.0,
        );
        for k in 0..20 {
            poll_with(
                &mut c,
                &sys,
                &KeyRing::default(),
                &mut buf,
                f64::from(k) * 16.0,
                || NtpTimestamp::from_parts(100 + k, 0),
            );
        }
        assert!(!c.is_stale());
    }
}
