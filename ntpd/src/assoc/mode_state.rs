//! What one kind of association keeps beyond the state every association
//! has: a client's `burst` (RFC 5905 §13), a broadcast client's
//! calibration volley and broadcast delay (RFC 5905 §8, the reference's
//! volley), a manycast client's expanding ring of hops.

use clock::sample::BroadcastDelay;
use proto::NtpTimestamp;

use super::onwire::OnWire;
use super::HostMode;

/// Requests in one `burst` (the reference's `NTP_BURST`, RFC 5905 §13).
pub const BURST_COUNT: u8 = 8;

/// Seconds between the requests of a burst (`BURST_INTERVAL`).
pub const BURST_INTERVAL: f64 = 2.0;

/// Client-mode exchanges a broadcast client makes with its server to
/// measure the path delay (RFC 5905 §8, the reference's volley).
pub const VOLLEY: u8 = 3;

/// Seconds between the volley's requests.
pub const VOLLEY_INTERVAL: f64 = 2.0;

/// Most hops of a manycast solicitation when `manycastclient` has no
/// `ttl` option.
pub const MANYCAST_TTL_MAX: u8 = 127;

/// The per-mode state of an association.
#[derive(Debug)]
pub enum ModeState {
    /// `server`: the current `burst`.
    Client(Burst),
    /// Mobilised by a broadcast: the volley and the delay in use.
    BroadcastClient(Box<Volley>),
    /// `manycastclient`: hops of the last solicitation (0 before the
    /// first), the expanding ring's position.
    ManycastClient {
        /// Hops.
        ttl: u8,
    },
    /// Symmetric peers and broadcasters: nothing more.
    Plain,
}

/// A client's `burst`: requests still to send and when the next is due.
#[derive(Debug, Clone, Copy)]
pub struct Burst {
    left: u8,
    next: f64,
}

/// A broadcast client's volley: client-mode exchanges with the
/// broadcaster whose offset calibrates the broadcast delay.
#[derive(Debug)]
pub struct Volley {
    /// Requests still to send.
    left: u8,
    /// When the next is due (monotonic seconds).
    next: f64,
    /// The volley's own on-wire state (its origin timestamps).
    pub wire: OnWire,
    /// Unicast offset of the volley, waiting for the next broadcast.
    offset: Option<f64>,
    /// The delay in use.
    delay: BroadcastDelay,
    /// Whether volley offsets calibrate the delay (not with a configured
    /// `broadcastdelay`).
    calibrates: bool,
}

impl ModeState {
    /// The state a new association of `mode` starts with at monotonic
    /// time `now`; `broadcast_delay` is `broadcastdelay` in seconds.
    pub fn new(mode: HostMode, broadcast_delay: f64, now: f64) -> Self {
        match mode {
            HostMode::Client => ModeState::Client(Burst { left: 0, next: now }),
            HostMode::BroadcastClient => ModeState::BroadcastClient(Box::new(Volley {
                left: VOLLEY,
                next: now,
                wire: OnWire::default(),
                offset: None,
                delay: BroadcastDelay::new(broadcast_delay),
                calibrates: true,
            })),
            HostMode::ManycastClient => ModeState::ManycastClient { ttl: 0 },
            HostMode::SymmetricActive | HostMode::SymmetricPassive | HostMode::BroadcastServer => {
                ModeState::Plain
            }
        }
    }
}

impl Burst {
    /// Whether a further request of the burst is due.
    pub fn due(&self, now: f64) -> bool {
        self.left > 0 && now >= self.next
    }

    /// A further request of the burst was sent.
    pub fn sent_one(&mut self, now: f64) {
        self.left = self.left.saturating_sub(1);
        self.next = now + BURST_INTERVAL;
    }

    /// A poll was sent: with `burst` to a reachable source, the first of
    /// eight requests (the reference's `poll_update()`); else none more.
    pub fn start(&mut self, burst: bool, now: f64) {
        if burst {
            self.left = BURST_COUNT - 1;
            self.next = now + BURST_INTERVAL;
        } else {
            self.left = 0;
        }
    }
}

impl Volley {
    /// Whether a volley request is due: requests are left (or the
    /// Autokey dance still needs the exchanges, `more`) and their time
    /// has come.
    pub fn due(&self, now: f64, more: bool) -> bool {
        (self.left > 0 || more) && now >= self.next
    }

    /// No volley: a positive `broadcastdelay` is configured, which the
    /// reference 4.2.8 takes as "use this delay, do not calibrate" (its
    /// `receive()` mobilises such a client straight in broadcast-client
    /// mode). The delay stays as configured; client-mode exchanges the
    /// Autokey dance still needs (RFC 5906 §9) run, but calibrate nothing.
    pub fn skip(&mut self) {
        self.left = 0;
        self.calibrates = false;
    }

    /// A volley request is being sent.
    pub fn sent_one(&mut self, now: f64) {
        self.left = self.left.saturating_sub(1);
        self.next = now + VOLLEY_INTERVAL;
    }

    /// The transmit timestamp of the volley's outstanding request.
    pub fn outstanding(&self) -> NtpTimestamp {
        self.wire.xmt
    }

    /// A volley reply measured unicast offset `offset`: it calibrates the
    /// delay at the next broadcast.
    pub fn measured(&mut self, offset: f64) {
        if self.calibrates {
            self.offset = Some(offset);
        }
    }

    /// A broadcast with offset `b` (server to us): the delay calibrated by
    /// the waiting volley offset, if any (logged for `remote`); the delay
    /// to use for this broadcast.
    pub fn delay_for_broadcast(&mut self, b: f64, remote: std::net::SocketAddr) -> f64 {
        if let Some(unicast) = self.offset.take() {
            self.delay.calibrate(unicast, b, 0.0);
            tracing::info!(
                "{remote}: broadcast delay calibrated to {:.6} s",
                self.delay.delay()
            );
        }
        self.delay.delay()
    }

    /// The delay in use, seconds, and whether a volley calibrated it.
    pub fn delay(&self) -> (f64, bool) {
        (self.delay.delay(), self.delay.is_calibrated())
    }
}
