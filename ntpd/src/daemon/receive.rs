//! The receive path (RFC 5905 §9 "peer process", the reference's
//! `receive()`): screening, the server fast path (mode 3 → 4 written in
//! place), Autokey server replies, manycast answers, and delivery to the
//! association of the sender.

use std::net::IpAddr;

use proto::{Mode, PacketRef};
use rand::rngs::StdRng;
use rand::RngExt;

use super::{crypto, Action, AutokeyPeer, Core, Running};
use crate::access::{RestrictFlags, Screen};
use crate::assoc::{onwire::refid_of, Association, Event};
use crate::auth::AuthOutcome;
use crate::net::socket::Received;
use crate::server::{self, ReplyAuth};

impl Core {
    /// Process one received datagram. A reply to it is written into `out`
    /// and queued as [`Action::ReplyInPlace`]; a mode 6 answer is queued
    /// as [`Action::Reply`] datagrams.
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
    ) {
        if let Some(len) = self.receive(socket, on_wildcard, buf, r, out) {
            self.actions.push(Action::ReplyInPlace { len });
        }
    }

    /// [`Core::handle`] for a driver that answers one datagram at a time
    /// (tests, fuzzing, simulations): the length of the reply written to
    /// `out`, if any; every other action stays queued.
    pub fn handle_one(
        &mut self,
        socket: usize,
        on_wildcard: bool,
        buf: &[u8],
        r: &Received,
        out: &mut [u8],
    ) -> Option<usize> {
        self.handle(socket, on_wildcard, buf, r, out);
        self.actions.take_reply_in_place()
    }

    /// [`Core::handle`]'s dispatch; the length of a reply in `out`.
    pub(super) fn receive(
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
        let rx = r.rx_time.unwrap_or_else(|| self.env.wall());
        let now = self.env.monotonic();
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
                        return self.budgeted_autokey_reply(buf, &packet, rx, peer, dst, out);
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
    pub(super) fn autokey_reply(
        &mut self,
        buf: &[u8],
        packet: &PacketRef<'_>,
        rx: proto::NtpTimestamp,
        peer: IpAddr,
        dst: IpAddr,
        out: &mut [u8],
    ) -> Option<usize> {
        let ak = self.autokey.as_ref()?;
        let now = self.env.wall().seconds();
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
                crate::limited!(DEBUG, "Autokey request from {peer} not answered: {e}");
                self.stats.badauth += 1;
                return None;
            }
        };
        match reply {
            autokey::server::ServerReply::CryptoNak(e) => {
                crate::limited!(DEBUG, "Autokey request from {peer}: {e}; crypto-NAK");
                self.stats.badauth += 1;
                let n = server::build_reply(
                    buf,
                    rx,
                    &self.sys,
                    ReplyAuth::CryptoNak,
                    &self.keys,
                    peer,
                    out,
                    || self.env.wall(),
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
                    || self.env.wall(),
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

    /// A manycast solicitation (mode 3 to a `manycastserver` group),
    /// answered as the reference does: only when this server is
    /// synchronised, of lower stratum than the solicitor, not its
    /// synchronisation source, and the request authentic (no crypto-NAK
    /// to a group). The reply goes unicast, from an address of ours (the
    /// event loop picks it: never the group's).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn manycast_reply(
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
    pub(super) fn server_reply(
        &mut self,
        request: &[u8],
        rx: proto::NtpTimestamp,
        auth: ReplyAuth,
        peer: IpAddr,
        out: &mut [u8],
    ) -> Option<usize> {
        let n = server::build_reply(request, rx, &self.sys, auth, &self.keys, peer, out, || {
            self.env.wall()
        })?;
        self.stats.replies += 1;
        Some(n)
    }

    /// A packet for the association of its sender that accepts its mode.
    pub(super) fn deliver_to_association(
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
                self.env.wall().seconds(),
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
        tracing::debug!("association {id} ({}): {ev}", r.assoc.remote());
        if let Event::Sample(clock::filter::FilterUpdate::Updated(out)) = ev {
            self.update_system(now);
            self.record_peerstats(id, &out);
        }
    }
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

/// The Autokey part of a received packet for an association with an
/// engine (RFC 5906 §6, brief §5.6): a validated crypto-NAK goes to the
/// engine; a session-key MAC is verified and the fields consumed. Returns
/// the outcome the association judges the packet by: `Autokey` only when
/// the engine verified the MAC.
#[allow(clippy::too_many_arguments)]
pub(super) fn autokey_receive(
    ak: &mut AutokeyPeer,
    assoc: &mut Association,
    host: &mut crypto::AutokeyHost,
    packet: &PacketRef<'_>,
    peer: IpAddr,
    dst: Option<IpAddr>,
    auth: AuthOutcome,
    now: u32,
    rng: &mut StdRng,
) -> AuthOutcome {
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
                crate::limited!(DEBUG, "{peer}: crypto-NAK not for our request, ignored");
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
                    crate::limited!(DEBUG, "{peer}: Autokey packet refused: {e}");
                    AuthOutcome::Error(id)
                }
            }
        }
        other => other,
    }
}
