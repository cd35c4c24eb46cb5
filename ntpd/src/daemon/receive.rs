//! The receive path (RFC 5905 §9 "peer process", the reference's
//! `receive()`): screening, the server fast path (mode 3 → 4 written in
//! place), Autokey server replies, manycast answers, and delivery to the
//! association of the sender.

use std::net::IpAddr;

use proto::{Mode, PacketRef};
use rand::RngExt;

use super::mobilization::Ephemeral;
use super::{Action, Core, Running};
use crate::access::{RestrictFlags, Screen};
use crate::assoc::{onwire::refid_of, Arrival, AuthContext, Event};
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
            self.out.actions.push(Action::ReplyInPlace { len });
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
        self.out.actions.take_reply_in_place()
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
        if on_wildcard && !self.net.wildcard_takes(buf, r.dst) {
            self.stats.wildcard_dropped += 1;
            return None;
        }
        if r.truncated {
            self.policy.access.stats.received += 1;
            self.policy.access.stats.badlength += 1;
            return None;
        }
        let rx = r.rx_time.unwrap_or_else(|| self.env.wall());
        let now = self.env.monotonic();
        let coin: f64 = self.rng.random();
        let peer = r.src.ip();
        match self.policy.access.screen(buf, r.src, now, coin) {
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
                    &self.policy.keys,
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
                    if let Some(reply) = self.nts_reply(buf, rx, peer, out) {
                        return reply;
                    }
                    let outcome = self.check(&packet, peer);
                    if matches!(outcome, AuthOutcome::Autokey(_)) && self.autokey.is_some() {
                        let dst = r.dst.or_else(|| self.net.local_address(socket))?;
                        return self.budgeted_autokey_reply(buf, &packet, rx, peer, dst, dst, out);
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
                    let outcome = self.check(&packet, peer);
                    let known = self
                        .assocs
                        .iter()
                        .any(|a| a.assoc.receives_from(peer) && a.assoc.cfg.mode.accepts(mode));
                    if mode == Mode::Server && !known {
                        if let Some(parent) = self
                            .assocs
                            .iter()
                            .position(|a| a.assoc.answers_solicitation(packet.header()))
                        {
                            let dst = r.dst.or_else(|| self.net.local_address(socket));
                            let outcome =
                                self.judge_manycast_answer(&packet, outcome, parent, peer, dst);
                            self.mobilize_manycast(&packet, outcome, parent, flags, r.src, socket);
                            return None;
                        }
                    }
                    let arrival = self.arrival(&packet, outcome, r, socket, rx, now);
                    self.deliver_to_association(arrival, peer, mode);
                    None
                }
                Mode::SymmetricActive | Mode::Broadcast => {
                    let outcome = self.check(&packet, peer);
                    let known = self
                        .assocs
                        .iter()
                        .any(|a| a.assoc.receives_from(peer) && a.assoc.cfg.mode.accepts(mode));
                    let mobilized = if known {
                        Ephemeral::Mobilized
                    } else {
                        self.mobilize_ephemeral(&packet, outcome, mode, flags, r.src, socket)
                    };
                    if mobilized == Ephemeral::Refused && !known {
                        return None;
                    }
                    let arrival = self.arrival(&packet, outcome, r, socket, rx, now);
                    let authentic = self.deliver_to_association(arrival, peer, mode);
                    if let Ephemeral::OnTrial(id) = mobilized {
                        self.end_trial(id, authentic);
                    }
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
    ///
    /// `(dst, from)`: the address the request came to and the one the
    /// reply leaves from (a manycast group and our unicast address).
    pub(super) fn autokey_reply(
        &mut self,
        buf: &[u8],
        packet: &PacketRef<'_>,
        rx: proto::NtpTimestamp,
        peer: IpAddr,
        (dst, from): (IpAddr, IpAddr),
        out: &mut [u8],
    ) -> Option<usize> {
        let ak = self.autokey.as_ref()?;
        let now = self.env.wall().seconds();
        let reply = match autokey::server::fast_path_from(
            &ak.host,
            packet,
            peer,
            dst,
            from,
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
                    &self.policy.keys,
                    peer,
                    out,
                    || self.env.wall(),
                )?;
                self.stats.crypto_naks += 1;
                self.stats.replies += 1;
                Some(n)
            }
            autokey::server::ServerReply::Reply { fields, key } => {
                // The header is built in place, the fields and the
                // session-key MAC after it: nothing is parsed back.
                let n = server::build_reply(
                    buf,
                    rx,
                    &self.sys,
                    ReplyAuth::None,
                    &self.policy.keys,
                    peer,
                    out,
                    || self.env.wall(),
                )?;
                let n = match autokey::packet::seal_after(out, n, &fields, &key) {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!("Autokey reply to {peer}: {e}");
                        return None;
                    }
                };
                self.stats.replies += 1;
                Some(n)
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
        if !self.net.is_manycast_group(dst) {
            self.policy.access.stats.restricted += 1;
            return None;
        }
        let h = packet.header();
        // Stratum 0 on the wire is "unspecified" (16).
        let theirs = match h.stratum {
            0 => clock::constants::MAXSTRAT,
            s => s,
        };
        // Already synchronised to us: its refid is one of our addresses —
        // not a loopback one, which a remote solicitor cannot be synchronised
        // to: 127.0.0.1 is the refid of every orphan-mode host.
        let to_us =
            self.net.socket_addrs.iter().any(|&(a, wild)| {
                !wild && !a.ip().is_loopback() && refid_of(a.ip()) == h.reference_id
            });
        if self.sys.leap == proto::LeapIndicator::Unsynchronized
            || self.sys.stratum >= theirs
            || to_us
        {
            self.stats.manycast_declined += 1;
            return None;
        }
        let auth = match self.check(packet, peer) {
            AuthOutcome::Autokey(_) if self.autokey.is_some() => {
                let group = dst?;
                return self.manycast_autokey_reply(buf, packet, rx, peer, group, out);
            }
            AuthOutcome::Ok(id) => ReplyAuth::Key(id),
            AuthOutcome::None if !flags.has(RestrictFlags::DONTTRUST) => ReplyAuth::None,
            _ => {
                self.policy.access.stats.restricted += 1;
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
        let n = server::build_reply(
            request,
            rx,
            &self.sys,
            auth,
            &self.policy.keys,
            peer,
            out,
            || self.env.wall(),
        )?;
        self.stats.replies += 1;
        Some(n)
    }

    /// What an association is told of a packet: the keyring's `outcome`,
    /// the address it came to (from the socket's packet info, else the
    /// receiving socket's own address) and its times.
    fn arrival<'p, 'b>(
        &self,
        packet: &'p PacketRef<'b>,
        outcome: AuthOutcome,
        r: &Received,
        socket: usize,
        rx: proto::NtpTimestamp,
        now: f64,
    ) -> Arrival<'p, 'b> {
        let dst = r.dst.or_else(|| self.net.local_address(socket));
        Arrival {
            packet,
            outcome,
            dst,
            rx,
            now,
        }
    }

    /// A packet from `peer` for the association of its sender that accepts
    /// its mode; whether it passed the association's authentication.
    pub(super) fn deliver_to_association(
        &mut self,
        arrival: Arrival<'_, '_>,
        peer: IpAddr,
        mode: Mode,
    ) -> bool {
        let precision = 2f64.powi(i32::from(self.sys.precision));
        let freq_uncertainty = self.frequency_uncertainty();
        let header = arrival.packet.header();
        let candidate =
            |r: &&Running| r.assoc.receives_from(peer) && r.assoc.cfg.mode.accepts(mode);
        // Of the associations that share the sender's address, the one
        // whose request this answers; otherwise the first.
        let at = self
            .assocs
            .iter()
            .position(|r| candidate(&r) && r.assoc.awaits(header))
            .or_else(|| self.assocs.iter().position(|r| candidate(&r)));
        let Some(r) = at.map(|i| &mut self.assocs[i]) else {
            self.stats.unprocessed += 1;
            return false;
        };
        // The wall clock is read only for an association with an engine.
        let autokey = r.assoc.auth.autokey_engine().is_some();
        let mut ctx = AuthContext {
            keys: &self.policy.keys,
            host: self.autokey.as_mut().map(|a| &mut a.host),
            now: if autokey {
                self.env.wall().seconds()
            } else {
                0
            },
            rng: &mut self.rng,
            events: Vec::new(),
        };
        r.assoc.set_frequency_uncertainty(freq_uncertainty);
        let now = arrival.now;
        let ev = r.assoc.receive(arrival, &mut ctx, precision, r.our_refid);
        let events = ctx.events;
        if let (Some(host), Some(engine)) = (self.autokey.as_mut(), r.assoc.auth.autokey_engine()) {
            for e in &events {
                host.log_event(peer, engine, e);
            }
        }
        let authentic = r.assoc.authentic;
        let id = r.assoc.id;
        tracing::debug!("association {id} ({}): {ev}", r.assoc.remote());
        if let Event::Sample(clock::filter::FilterUpdate::Updated(out)) = ev {
            self.update_system(now);
            self.record_peerstats(id, &out);
        }
        authentic
    }
}

/// The AUTO values of our broadcasters, for AUTO requests naming them
/// (a broadcast client's volley, brief §2.6).
struct Broadcasters<'a>(&'a [Running]);

impl autokey::server::AutoLookup for Broadcasters<'_> {
    fn auto_values(&self, assoc_id: u32) -> Option<(autokey::AutokeyValues, u32)> {
        self.0
            .iter()
            .filter_map(|r| r.assoc.auth.autokey_broadcaster())
            .find(|b| b.assoc_id() == assoc_id)
            .and_then(|b| b.auto_values())
    }
}
