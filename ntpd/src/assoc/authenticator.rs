//! How one association authenticates its packets: none, a symmetric key
//! (RFC 5905 §7.3, `key N`), or Autokey (RFC 5906) as a client, symmetric
//! peer or broadcast client, or as a broadcaster. The association owns its
//! [`Authenticator`]: it seals every packet it sends and judges every
//! packet it receives, so no authentication state (proventic, the key ID
//! in use, the broadcast client's volley) lives anywhere else.
//!
//! The symmetric-key MAC of a received packet is checked once, by the
//! receive path ([`crate::auth::KeyRing::check`]); its outcome comes in
//! here. An Autokey MAC needs the association's session keys, so the
//! Autokey engine checks it — once — while it consumes the fields.

use std::net::IpAddr;

use autokey::association::{AssocEvent, AssocKind};
use autokey::broadcast::BroadcastServer;
use autokey::host::LocalHost;
use proto::{Mode, NtpTimestamp, PacketRef};
use rand::rngs::StdRng;

use crate::auth::{AuthOutcome, KeyRing};

/// The Autokey side of a client, symmetric or broadcast client association:
/// the engine (crate `autokey`) and the local address its session keys are
/// bound to (brief §5.2).
#[derive(Debug)]
pub struct AutokeyPeer {
    /// The engine (the association's state machine).
    pub engine: autokey::association::Association,
    /// Our address towards the remote.
    pub local: IpAddr,
}

/// An association's authentication.
#[derive(Debug)]
pub enum Authenticator {
    /// No MAC: packets with one are refused, as the reference does.
    None,
    /// `key N`: every packet sent carries a MAC with key N; only packets
    /// whose MAC verified with key N are accepted (CVE-2015-7974).
    SymmetricKey(u16),
    /// `autokey` on a client, symmetric or broadcast client association.
    Autokey(Box<AutokeyPeer>),
    /// `server ADDRESS nts`: Network Time Security (RFC 8915).
    Nts(Box<crate::daemon::nts_peer::NtsPeer>),
    /// `broadcast ADDRESS autokey`: the broadcaster's key list (brief §4.3).
    Broadcaster {
        /// The broadcaster's state.
        server: Box<BroadcastServer>,
        /// The key ID of the last broadcast sent.
        last_key_id: u32,
    },
}

/// What sealing and verifying need from the daemon: the symmetric keys,
/// the Autokey host (with a `crypto` line), the wall clock in NTP seconds,
/// the random generator, and where the engine's events go for the daemon
/// to log.
#[derive(Debug)]
pub struct AuthContext<'a> {
    /// Symmetric keys (`keys`, `trustedkey`).
    pub keys: &'a KeyRing,
    /// The Autokey host, if `crypto` is configured.
    pub host: Option<&'a mut LocalHost>,
    /// Wall-clock NTP seconds.
    pub now: u32,
    /// The daemon's random generator.
    pub rng: &'a mut StdRng,
    /// Autokey events of the packet just received, for the log.
    pub events: Vec<AssocEvent>,
}

/// Why a packet could not be sealed (and so is not sent).
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The association's key is not usable for sending.
    #[error("key {0} cannot sign its polls (the key is not in the keys file or not listed in trustedkey)")]
    Key(u16),
    /// The Autokey engine could not build its part.
    #[error("Autokey: {0}")]
    Autokey(#[from] autokey::AutokeyError),
    /// An Autokey association without the host's keys (no `crypto` line).
    #[error("Autokey: no crypto host")]
    NoCryptoHost,
    /// An NTS association without usable cookies (NTS-KE pending or failed).
    #[error("{0}")]
    Nts(#[from] crate::daemon::nts_peer::NtsSealError),
}

/// How a received packet fared with the association's authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No authentication configured and none present.
    Open,
    /// Its MAC verified with the association's key or session key.
    Authentic,
    /// Refused; the outcome says how (crypto-NAK, wrong key, bad MAC …).
    Refused(AuthOutcome),
}

/// A received packet as the authenticator judges it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'p, 'b> {
    /// The packet.
    pub packet: &'p PacketRef<'b>,
    /// The keyring's verdict on its MAC ([`KeyRing::check`]).
    pub outcome: AuthOutcome,
    /// Its sender.
    pub peer: IpAddr,
    /// The address it was sent to, if the socket told.
    pub dst: Option<IpAddr>,
    /// The transmit timestamp of our outstanding request (a crypto-NAK
    /// must echo it).
    pub outstanding: NtpTimestamp,
}

impl Authenticator {
    /// The authenticator of an association with key `key` (or none).
    pub fn for_key(key: Option<u16>) -> Self {
        key.map_or(Authenticator::None, Authenticator::SymmetricKey)
    }

    /// An Autokey association's engine.
    pub fn autokey(engine: autokey::association::Association, local: IpAddr) -> Self {
        Authenticator::Autokey(Box::new(AutokeyPeer { engine, local }))
    }

    /// A broadcaster's authenticator.
    pub fn broadcaster(server: BroadcastServer) -> Self {
        Authenticator::Broadcaster {
            server: Box::new(server),
            last_key_id: 0,
        }
    }

    /// Whether received packets may feed the clock filter: always, except
    /// an Autokey association until its engine says the source is
    /// proventic (RFC 5906 §4; the reference's TEST8).
    pub fn is_proventic(&self) -> bool {
        match self {
            Authenticator::Autokey(a) => a.engine.is_proventic(),
            _ => true,
        }
    }

    /// The key ID of the packets we send (mode 6 `keyid`; 0 without one):
    /// the configured key, or the session key ID last used (an Autokey
    /// association has one from its first poll on, brief §10.3).
    pub fn key_id(&self) -> u32 {
        match self {
            Authenticator::None | Authenticator::Nts(_) => 0,
            Authenticator::SymmetricKey(k) => u32::from(*k),
            Authenticator::Autokey(a) => a.engine.last_key_id().unwrap_or(0),
            Authenticator::Broadcaster { last_key_id, .. } => *last_key_id,
        }
    }

    /// Whether packets are authenticated at all (mode 6 AUTHENABLE): a key
    /// ID in use, or NTS.
    pub fn enabled(&self) -> bool {
        self.key_id() != 0 || matches!(self, Authenticator::Nts(_))
    }

    /// An Autokey broadcast client whose client-mode volley goes on until
    /// the engine's dance is complete (brief §4.3 step 2).
    pub fn volley_pending(&self) -> bool {
        match self {
            Authenticator::Autokey(a) => {
                a.engine.kind() == AssocKind::BroadcastClient && !a.engine.is_complete()
            }
            _ => false,
        }
    }

    /// The Autokey engine, if any.
    pub fn autokey_engine(&self) -> Option<&autokey::association::Association> {
        match self {
            Authenticator::Autokey(a) => Some(&a.engine),
            _ => None,
        }
    }

    /// The Autokey engine, if any, to take its records.
    pub fn autokey_engine_mut(&mut self) -> Option<&mut autokey::association::Association> {
        match self {
            Authenticator::Autokey(a) => Some(&mut a.engine),
            _ => None,
        }
    }

    /// Where the association's NTP requests go: `default` (its address),
    /// or for NTS the server and port NTS-KE named (RFC 8915 §4.1.7).
    pub fn ntp_destination(&self, default: std::net::SocketAddr) -> std::net::SocketAddr {
        match self {
            Authenticator::Nts(p) => p.ntp_destination(default),
            _ => default,
        }
    }

    /// The Autokey broadcaster, if any.
    pub fn autokey_broadcaster(&self) -> Option<&BroadcastServer> {
        match self {
            Authenticator::Broadcaster { server, .. } => Some(server),
            _ => None,
        }
    }

    /// A packet that passed every test was taken as a sample: its LI is
    /// the peer's synchronisation the engine reports (brief §4.2 row 4;
    /// none before proventic).
    pub fn on_sample(&mut self, leap: proto::LeapIndicator) {
        if let Authenticator::Autokey(a) = self {
            a.engine
                .set_peer_synchronised(leap != proto::LeapIndicator::Unsynchronized);
        }
    }

    /// Seals the packet whose 48-octet header is in `out[..len]` towards
    /// `remote`: nothing, the key's MAC, or the engine's field and the
    /// session-key MAC, written in place after the header. Returns the
    /// datagram's length.
    pub fn seal(
        &mut self,
        out: &mut [u8],
        len: usize,
        remote: IpAddr,
        ctx: &mut AuthContext<'_>,
    ) -> Result<usize, SealError> {
        match self {
            Authenticator::None => Ok(len),
            Authenticator::Nts(p) => Ok(p.seal(out, len, ctx.rng)?),
            Authenticator::SymmetricKey(k) => ctx
                .keys
                .sign(u32::from(*k), out, len, remote)
                .ok_or(SealError::Key(*k)),
            Authenticator::Autokey(a) => {
                let host = ctx.host.as_deref().ok_or(SealError::NoCryptoHost)?;
                let tx = a.engine.poll(host, ctx.now, ctx.rng)?;
                Ok(autokey::packet::seal_after(out, len, &tx.fields, &tx.key)?)
            }
            Authenticator::Broadcaster {
                server,
                last_key_id,
            } => {
                let host = ctx.host.as_deref().ok_or(SealError::NoCryptoHost)?;
                let tx = server.transmit(host, ctx.now, ctx.rng)?;
                let n = autokey::packet::seal_after(out, len, &tx.fields, &tx.key)?;
                *last_key_id = tx.key.key_id();
                Ok(n)
            }
        }
    }

    /// Judges a received packet (RFC 5905 §8 TEST5 and the reference's
    /// rules after CVE-2015-7871, CVE-2016-1547, CVE-2016-4955): an
    /// association with a key accepts only packets whose MAC verified with
    /// that key; an Autokey association hands a validated crypto-NAK to its
    /// engine (brief §11.3 rule 12) and lets the engine verify the session
    /// key and consume the fields (brief §5.6).
    pub fn verify(&mut self, r: &Received<'_, '_>, ctx: &mut AuthContext<'_>) -> Verdict {
        match (self, r.outcome) {
            (Authenticator::None, AuthOutcome::None) => Verdict::Open,
            (Authenticator::Nts(p), AuthOutcome::None) => {
                if p.verify(r.packet.as_bytes(), r.peer) {
                    Verdict::Authentic
                } else {
                    Verdict::Refused(AuthOutcome::Error(0))
                }
            }
            (Authenticator::SymmetricKey(k), AuthOutcome::Ok(id)) if id == u32::from(*k) => {
                Verdict::Authentic
            }
            (Authenticator::Autokey(a), AuthOutcome::CryptoNak) => {
                // Exactly 48 + 4 octets, echoing our outstanding request.
                let origin = r.packet.header().origin_timestamp;
                if r.packet.as_bytes().len() == 52 && !origin.is_zero() && origin == r.outstanding {
                    a.engine.crypto_nak(ctx.now);
                } else {
                    crate::limited!(DEBUG, "{}: crypto-NAK not for our request, ignored", r.peer);
                }
                Verdict::Refused(AuthOutcome::CryptoNak)
            }
            (Authenticator::Autokey(a), AuthOutcome::Autokey(id)) => {
                let Some(host) = ctx.host.as_deref_mut() else {
                    return Verdict::Refused(AuthOutcome::Error(id));
                };
                match a.receive(host, r, ctx.now, ctx.rng) {
                    Ok(events) => {
                        ctx.events = events;
                        Verdict::Authentic
                    }
                    Err(e) => {
                        crate::limited!(DEBUG, "{}: Autokey packet refused: {e}", r.peer);
                        Verdict::Refused(AuthOutcome::Error(id))
                    }
                }
            }
            (_, outcome) => Verdict::Refused(outcome),
        }
    }
}

impl AutokeyPeer {
    /// The engine's part of a packet with an Autokey MAC: a server reply or
    /// symmetric packet; a broadcast that mobilises the engine, or one
    /// after the volley (brief §4.3).
    fn receive(
        &mut self,
        host: &mut LocalHost,
        r: &Received<'_, '_>,
        now: u32,
        rng: &mut StdRng,
    ) -> Result<Vec<AssocEvent>, autokey::AutokeyError> {
        let dst = r.dst.unwrap_or(self.local);
        let e = &mut self.engine;
        if r.packet.header().mode != Mode::Broadcast {
            e.receive(host, r.packet, r.peer, dst, now, rng)
        } else if e.server_name().is_none() {
            e.mobilise_broadcast(host, r.packet, r.peer, dst, now, rng)
        } else if e.is_complete() {
            e.receive_broadcast(host, r.packet, r.peer, dst, now, rng)
        } else {
            // Volley in progress: broadcasts wait for it (brief §4.3).
            Err(autokey::AutokeyError::Unexpected {
                code: proto::exten::AutokeyCode::Assoc,
                dir: "broadcast",
                reason: "volley not complete",
            })
        }
    }
}
