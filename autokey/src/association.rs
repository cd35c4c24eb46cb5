//! One association's Autokey state machine (brief §4): the client dance
//! (§4.1), symmetric active/passive (§4.2) and the broadcast client with
//! its volley (§4.3), with restarts and refresh (§4.5) and the receive-side
//! proventic checks (§5.6). A sans-IO engine: time and randomness come from
//! the caller; nothing here reads a clock or a socket.

use std::net::IpAddr;

use keystore::{GqParams, IffParams, MvClientKey, Scheme};
use proto::exten::{AutokeyCode, ExtensionField};
use proto::PacketRef;

use crate::cert::{check_signed_certificate, Trail, TrailStep};
use crate::cookie::decrypt_cookie;
use crate::error::{AutokeyError, Result};
use crate::host::{LocalHost, RespondContext};
use crate::identity::{Challenge, ClientIdentity};
use crate::keylist::{chain_check, KeyList, KeyListParams};
use crate::message::{AutokeyValues, LeapValues, Message, Request, Response};
use crate::session::SessionKey;
use crate::status::{self, StatusWord};
use crate::value::{check_monotonic, PeerKey, SignedValue};

mod choice;
mod events;
mod pace;
mod record;

pub use choice::{lookup_names, offered_schemes, NamedIdentity};
pub use events::AssocEvent;
pub use record::{event_code, CertRecord, CryptoRecord};

/// Cryptostats records an association keeps for the daemon.
pub const MAX_RECORDS: usize = 64;

/// Protocol restart interval, log2 seconds (`NTP_REFRESH`).
pub const NTP_REFRESH: u8 = 19;

/// Identity parameters a client may use, loaded by the caller from
/// `ntpkey_<scheme>par_<group>` (brief §6.5).
#[derive(Debug)]
pub enum IdentitySource {
    /// IFF parameters p, q, g, v (brief §6.2).
    Iff {
        /// The client parameters (`ntpkey_iffpar_<group>`).
        params: IffParams,
        /// Filestamp of the parameter file, NTP seconds; must match the server's (brief §6.1).
        filestamp: u32,
    },
    /// GQ parameters n, b; v comes from the trusted certificate (brief §6.3).
    Gq {
        /// The client parameters (`ntpkey_gqpar_<group>`).
        params: GqParams,
        /// Filestamp of the parameter file, NTP seconds; must match the server's (brief §6.1).
        filestamp: u32,
    },
    /// An MV client key (brief §6.4).
    Mv {
        /// The client key x̄ⱼ, x̂ⱼ (`ntpkey_mvpar_<group>`).
        key: MvClientKey,
        /// Filestamp of the key file, NTP seconds; must match the server's (brief §6.1).
        filestamp: u32,
    },
}

impl IdentitySource {
    /// A copy (the parameters are OpenSSL numbers), e.g. for each
    /// association of a group.
    pub fn try_clone(&self) -> std::result::Result<Self, keystore::KeyError> {
        Ok(match self {
            IdentitySource::Iff { params, filestamp } => IdentitySource::Iff {
                params: params.try_clone()?,
                filestamp: *filestamp,
            },
            IdentitySource::Gq { params, filestamp } => IdentitySource::Gq {
                params: params.try_clone()?,
                filestamp: *filestamp,
            },
            IdentitySource::Mv { key, filestamp } => IdentitySource::Mv {
                key: key.try_clone()?,
                filestamp: *filestamp,
            },
        })
    }

    /// The scheme these parameters are for.
    pub fn scheme(&self) -> Scheme {
        match self {
            IdentitySource::Iff { .. } => Scheme::Iff,
            IdentitySource::Gq { .. } => Scheme::Gq,
            IdentitySource::Mv { .. } => Scheme::Mv,
        }
    }
    /// The filestamp of the file they were read from (NTP seconds).
    pub fn filestamp(&self) -> u32 {
        match self {
            IdentitySource::Iff { filestamp, .. }
            | IdentitySource::Gq { filestamp, .. }
            | IdentitySource::Mv { filestamp, .. } => *filestamp,
        }
    }
}

/// Configuration of one client association.
#[derive(Debug)]
pub struct AssociationConfig {
    /// Our association ID.
    pub assoc_id: u32,
    /// Our address and the server's (session keys).
    pub local: IpAddr,
    /// The server's (or peer's) address; for a broadcast client the broadcast server.
    pub remote: IpAddr,
    /// `ident GROUP` of the association (identity runs only with one).
    pub ident: Option<String>,
    /// Identity parameters available for that group.
    pub identities: Vec<IdentitySource>,
    /// Poll exponent and `automax` (key lists).
    pub poll: u8,
    /// Lifetime of a key list, log2 s (`automax`, default 12; brief §5.4).
    pub automax: u8,
    /// Client, symmetric or broadcast client.
    pub kind: AssocKind,
}

/// The association's mode as far as Autokey is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssocKind {
    /// `server … autokey` (and manycast/pool client associations).
    Client,
    /// `peer … autokey` and the passive associations it mobilises.
    Symmetric,
    /// Broadcast/multicast client: a client-mode volley (AUTO not pre-set),
    /// then listening to broadcasts checked by the key chain (brief §4.3).
    BroadcastClient,
}

/// `client`, `symmetric`, `broadcast client`.
impl std::fmt::Display for AssocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AssocKind::Client => "client",
            AssocKind::Symmetric => "symmetric",
            AssocKind::BroadcastClient => "broadcast client",
        })
    }
}

/// What to put into the next packet.
#[derive(Debug)]
pub struct Transmit {
    /// The request field, if any (at most one, brief §4).
    pub fields: Vec<ExtensionField>,
    /// The request code sent, if any.
    pub request: Option<AutokeyCode>,
    /// The MAC key (cookie 0 when a field is present, brief §5.2).
    pub key: SessionKey,
}

/// One client association's Autokey state.
#[derive(Debug)]
pub struct Association {
    cfg: AssociationConfig,
    /// Peer crypto word: the server's status word with our client bits.
    flags: u32,
    peer_assoc: u32,
    server_name: Option<String>,
    trail: Option<Trail>,
    server_key: Option<PeerKey>,
    identity: Option<ClientIdentity>,
    challenge: Option<Challenge>,
    pcookie: u32,
    keylist: Option<KeyList>,
    last_key_id: Option<u32>,
    auto: Option<(AutokeyValues, u32, u32)>,
    leap: Option<LeapValues>,
    cleared_at: u32,
    /// Parameters installed under server names (used without `ident`).
    named: Vec<NamedIdentity>,
    /// Name and file of the named parameters in use.
    identity_origin: Option<(String, String)>,
    /// The identity scheme bits the server's status word offers; they
    /// are lit in `flags` only once a proof verified.
    offered: u32,
    /// The association runs without an identity proof (TC only).
    tc_only: bool,
    /// The untrusted-trail event was reported.
    untrusted_reported: bool,
    /// The server is synchronised (leap indicator of its last reply, or a
    /// non-zero ASSOC timestamp), so an empty CERT answer is not "not ready".
    server_synced: bool,
    /// Empty CERT responses in a row.
    empty_certs: u8,
    /// Our per-association random cookie (symmetric mode).
    hcookie: u32,
    /// The peer's request waiting for our answer (one at a time).
    queued: Option<Request>,
    /// Our key list's signed AUTO value and whether to announce it.
    auto_signed: Option<(AutokeyValues, SignedValue)>,
    push_auto: bool,
    /// Key ID of the last packet accepted from the peer (§5.6 step 4).
    pkeyid: Option<u32>,
    /// Set when a signed response verified in the packet being processed.
    accepted_signed: bool,
    /// A signature verified in the field being processed.
    signature_ok: bool,
    peer_synchronised: bool,
    /// Cryptostats records not yet taken.
    records: Vec<CryptoRecord>,
    /// The last packet moved the exchange on: send again soon
    /// ([`Association::take_hurry`]).
    hurry: bool,
    /// The code of the peer's request last queued (symmetric mode).
    last_queued: Option<AutokeyCode>,
}

impl Association {
    /// A new association at `now` (NTP seconds).
    pub fn new(cfg: AssociationConfig, now: u32) -> Self {
        Association {
            cfg,
            flags: 0,
            peer_assoc: 0,
            server_name: None,
            trail: None,
            server_key: None,
            identity: None,
            challenge: None,
            pcookie: 0,
            keylist: None,
            last_key_id: None,
            auto: None,
            leap: None,
            cleared_at: now,
            named: Vec::new(),
            identity_origin: None,
            offered: 0,
            tc_only: false,
            untrusted_reported: false,
            server_synced: false,
            empty_certs: 0,
            hcookie: 0,
            queued: None,
            auto_signed: None,
            push_auto: false,
            pkeyid: None,
            accepted_signed: false,
            signature_ok: false,
            peer_synchronised: true,
            records: Vec::new(),
            hurry: false,
            last_queued: None,
        }
    }

    /// The leap values of the last verified LEAP response (brief §2.7).
    pub fn leap_values(&self) -> Option<LeapValues> {
        self.leap
    }

    /// The cryptostats records since the last call, oldest first (the
    /// daemon writes them to `cryptostats`).
    pub fn take_records(&mut self) -> Vec<CryptoRecord> {
        std::mem::take(&mut self.records)
    }

    /// Keeps `r` for [`take_records`](Self::take_records); at most
    /// [`MAX_RECORDS`] wait (the oldest go first) when nobody takes them.
    fn record(&mut self, r: CryptoRecord) {
        if self.records.len() >= MAX_RECORDS {
            self.records.remove(0);
        }
        self.records.push(r);
    }

    /// Adds client identity parameters installed under server names, for
    /// an association without `ident` (the guide's `ntpkey_iff_<server>`
    /// links, brief §6.5): the identity exchange runs when the server
    /// offers one of their schemes under one of its names
    /// ([`lookup_names`]).
    pub fn with_named_identities(mut self, named: Vec<NamedIdentity>) -> Self {
        self.named = named;
        self
    }

    /// True when the server offers identity schemes this host has no
    /// parameters for, and the association runs on the certificate trail
    /// only.
    pub fn is_tc_only(&self) -> bool {
        self.tc_only
    }

    /// The file the identity parameters in use came from, when they were
    /// found under a server name.
    pub fn identity_file(&self) -> Option<&str> {
        self.identity_origin.as_ref().map(|(_, f)| f.as_str())
    }

    /// A crypto-NAK the caller has validated (brief §11.3 rule 12: exactly
    /// 48 + 4 octets, key ID 0, origin timestamp equal to our last transmit
    /// timestamp and non-zero). A NAK never authenticates anything; if the
    /// association has Autokey state it is cleared and the dance restarts
    /// (brief §4.5). Returns true if state was cleared.
    pub fn crypto_nak(&mut self, now: u32) -> bool {
        if self.flags == 0 && self.server_name.is_none() {
            return false;
        }
        tracing::info!("crypto-NAK: Autokey state cleared");
        self.clear(now);
        true
    }

    /// Whether the peer counts as synchronised for the symmetric COOK row
    /// (brief §4.2 row 4: both this host and the peer synchronised).
    ///
    /// What the reference does, and what the caller must mirror:
    ///
    /// * `peer_xmit()` (ntpd/ntp_proto.c) asks for the cookie only when
    ///   `sys_leap` and `peer->leap` are both not "unsynchronised";
    ///   `peer->leap` starts unsynchronised (`peer_clear()`) and is copied
    ///   from a packet's LI only in `process_packet()`, i.e. only for a
    ///   packet that passed every header test (TEST1–TEST7: duplicate,
    ///   bogus origin, LI 3 / stratum ≥ the ceiling, distance) and TEST8
    ///   "bad autokey", which `receive()` lights while the association is
    ///   not proventic (`PKT_TEST_MASK` includes TEST8 and TEST9, ntp.h).
    ///   So pass `LI != 3` of the last peer packet that passed those tests,
    ///   counting none before [`is_proventic`](Self::is_proventic).
    /// * The leap indicator does **not** gate Autokey itself: in 4.2.8p18
    ///   `receive()` calls `crypto_recv()` for a symmetric packet with
    ///   LI 3 (a zero origin only sets TEST2, which does not skip Autokey).
    ///   The engine therefore processes the extension fields of such
    ///   packets ([`receive`](Self::receive), [`receive_fields`](Self::receive_fields)).
    /// * What the `runs/p10-sym-tc` capture shows (alice ignoring bob's
    ///   first ASSOC request, sent with LI 3, stratum 0 and origin 0) is a
    ///   kiss-o'-death rule of 4.2.8p10, not a leap-indicator rule: there
    ///   `receive()` treats *any* packet whose stratum field is 0 as a KoD
    ///   and drops it before Autokey if its origin or receive timestamp is
    ///   zero or differs from its transmit timestamp (alice logged "KoD
    ///   packet from 10.0.0.2 has a zero org or rec timestamp. Ignoring.").
    ///   4.2.8p18 narrowed this (`kiss_code_check()`: mode 4, LI 3,
    ///   stratum 0 and a RATE/DENY/RSTR/X… refid), so a p18-compatible
    ///   daemon drops only server-mode KoDs there, before calling this
    ///   engine.
    pub fn set_peer_synchronised(&mut self, synced: bool) {
        self.peer_synchronised = synced;
    }

    /// The association kind.
    pub fn kind(&self) -> AssocKind {
        self.cfg.kind
    }

    /// Our Autokey values and their timestamp (answers AUTO requests naming
    /// this association, brief §2.6).
    pub fn auto_values(&self) -> Option<(AutokeyValues, u32)> {
        self.auto_signed.as_ref().map(|(v, s)| (*v, s.timestamp))
    }

    /// Installs reloaded client identity parameters (the group's, and
    /// those by server name) in place of the ones in use and restarts the
    /// protocol (a key rollover: the server's proof is judged with the new
    /// parameters from the identity exchange on, brief §6.1).
    pub fn replace_identities(
        &mut self,
        identities: Vec<IdentitySource>,
        named: Vec<NamedIdentity>,
        now: u32,
    ) {
        self.cfg.identities = identities;
        self.named = named;
        self.identity = None;
        self.identity_origin = None;
        self.clear(now);
    }

    /// Clears all Autokey state (protocol error, crypto-NAK, refresh).
    pub fn clear(&mut self, now: u32) {
        let cfg_ids = std::mem::take(&mut self.cfg.identities);
        let identity = self.identity.take();
        let mut fresh = Association::new(
            AssociationConfig {
                identities: cfg_ids,
                ident: self.cfg.ident.take(),
                ..self.cfg
            },
            now,
        );
        fresh.named = std::mem::take(&mut self.named);
        fresh.untrusted_reported = self.untrusted_reported;
        // The identity in use goes back to its source form (a GQ identity
        // drops the v it took from the trail), under its name if it had one.
        let source = identity.map(|i| match i {
            ClientIdentity::Gq {
                params, filestamp, ..
            } => IdentitySource::Gq { params, filestamp },
            ClientIdentity::Iff { params, filestamp } => IdentitySource::Iff { params, filestamp },
            ClientIdentity::Mv { key, filestamp } => IdentitySource::Mv { key, filestamp },
        });
        match (source, self.identity_origin.take()) {
            (Some(source), Some((name, file))) => {
                fresh.named.push(NamedIdentity { name, file, source })
            }
            (Some(source), None) => fresh.cfg.identities.push(source),
            _ => {}
        }
        *self = fresh;
    }

    /// The peer crypto word (`flags=` in `ntpq rv &N`).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// True once PROV is lit: the server's packets may be used for time.
    pub fn is_proventic(&self) -> bool {
        self.flags & status::PROV != 0
    }

    /// True when every client bit is lit.
    pub fn is_complete(&self) -> bool {
        self.flags & status::ALL == status::ALL
    }

    /// The server's host name (`host=`).
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// The signature algorithm name (`signature=`), from the server's NID.
    pub fn signature_name(&self) -> Option<&'static str> {
        let nid = StatusWord(self.flags).nid();
        (nid != 0).then(|| openssl::nid::Nid::from_raw(nid as i32).long_name().ok())?
    }

    /// The certificates of the trail, (subject, issuer, flags).
    pub fn certificates(&self) -> &[(String, String, u8)] {
        self.trail.as_ref().map_or(&[], |t| t.certificates())
    }

    /// The peer's accepted AUTO values and their signature timestamp
    /// (NTP seconds): `initsequence`, `initkey`, `timestamp` of
    /// `ntpq rv &N` (brief §10.2). The sequence counts down as the key-ID
    /// chain is walked. `None` until an AUTO response was accepted.
    pub fn peer_auto_values(&self) -> Option<(AutokeyValues, u32)> {
        self.auto.map(|(v, ts, _)| (v, ts))
    }

    /// The association's group (`ident`), if any.
    pub fn ident(&self) -> Option<&str> {
        self.cfg.ident.as_deref()
    }

    /// The cookie in use.
    pub fn cookie(&self) -> u32 {
        self.pcookie
    }

    /// The key ID of the last packet sent.
    pub fn last_key_id(&self) -> Option<u32> {
        self.last_key_id
    }

    fn lit(&self, bit: u32) -> bool {
        self.flags & bit != 0
    }

    /// The request the state table selects now (brief §4.1 rows 1–9).
    pub fn next_request(
        &mut self,
        host: &LocalHost,
        now: u32,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<Option<Request>> {
        let id = self.cfg.assoc_id;
        if self.server_name.is_none() {
            return Ok(Some(Request::Assoc {
                assoc_id: id,
                host: host.name().to_string(),
                value: host.assoc_value(),
            }));
        }
        if !self.lit(status::CERT) {
            let subject = self.trail.as_ref().map_or_else(
                || self.server_name.clone().unwrap_or_default(),
                |t| t.next_subject().to_string(),
            );
            return Ok(Some(Request::Cert {
                assoc_id: id,
                subject: subject.clone(),
                value: SignedValue::unsigned(now, host.last_update(), subject.into_bytes()),
            }));
        }
        if !self.lit(status::VRFY) {
            // Without parameters (reported once by `on_cert`) the
            // association waits: nothing to ask.
            let Some(ident) = &self.identity else {
                return Ok(None);
            };
            // An unanswered challenge is asked again: a proof of it may
            // still be on its way (symmetric peers answer at their next
            // transmission, which can cross our next request).
            let ch = match self.challenge.take() {
                Some(ch) => ch,
                None => ident.challenge(rng)?,
            };
            let value =
                SignedValue::signed(now, ident.filestamp(), ch.octets.clone(), host.signer())?;
            let scheme = ch.scheme;
            self.challenge = Some(ch);
            return Ok(Some(Request::Identity {
                scheme,
                assoc_id: id,
                value,
            }));
        }
        let symmetric = self.cfg.kind == AssocKind::Symmetric;
        if !self.lit(status::COOK)
            && (!symmetric || (host.synchronised() && self.peer_synchronised))
        {
            return Ok(Some(Request::Cook {
                assoc_id: id,
                value: host.cook_request_value()?,
            }));
        }
        if !self.lit(status::AUTO) {
            // Client mode names the server's association (the broadcast
            // volley asks for the broadcaster's list); symmetric requests
            // carry our own ID (brief §2.1).
            let assoc_id = if symmetric { id } else { self.peer_assoc };
            return Ok(Some(Request::Auto { assoc_id }));
        }
        if !host.synchronised() {
            return Ok(None);
        }
        if !self.lit(status::SIGN) {
            return Ok(Some(Request::Sign {
                assoc_id: id,
                value: host.sign_request_value()?,
            }));
        }
        if !self.lit(status::LEAP) {
            return Ok(Some(Request::Leap { assoc_id: id }));
        }
        Ok(None)
    }

    /// Builds the Autokey part of the next packet: the request field and
    /// the session key from the key list (brief §5.2, §5.4). Restarts the
    /// protocol when the refresh interval has passed (brief §4.5).
    pub fn poll(
        &mut self,
        host: &LocalHost,
        now: u32,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<Transmit> {
        if self.flags != 0 && i64::from(now) - i64::from(self.cleared_at) >= 1 << NTP_REFRESH {
            tracing::info!("crypto refresh");
            self.clear(now);
        }
        let key_id = self.next_key_id(host, now, rng)?;
        let mut fields = Vec::new();
        // Pending response first (brief §1.1, §4.2), then our request.
        if let Some(req) = self.queued.take() {
            let assoc_id = match req {
                Request::Assoc { .. } => self.cfg.assoc_id,
                _ => req.assoc_id(),
            };
            let ctx = RespondContext {
                assoc_id,
                client: self.cfg.remote,
                server: self.cfg.local,
                now,
                cookie: Some(self.hcookie),
                auto: self.auto_values(),
            };
            fields.push(Message::Response(host.respond(&req, &ctx, rng)).to_field()?);
        }
        // Symmetric row 6 (brief §4.2): once rows 1–5 are done and SIGN is
        // lit, a freshly signed key list is announced with an unsolicited
        // AUTO response in the request's place.
        let rows_pending = self.server_name.is_none()
            || !StatusWord(self.flags)
                .has(status::CERT | status::VRFY | status::COOK | status::AUTO);
        let announce = self.cfg.kind == AssocKind::Symmetric
            && self.push_auto
            && self.lit(status::SIGN)
            && !rows_pending;
        let request = match (&self.auto_signed, announce) {
            (Some((values, value)), true) => {
                let r = Response::Auto {
                    assoc_id: self.peer_assoc,
                    values: *values,
                    value: value.clone(),
                };
                fields.push(Message::Response(r).to_field()?);
                self.push_auto = false;
                // The request this packet did not carry goes soon.
                self.hurry = true;
                None
            }
            _ => {
                let request = self.next_request(host, now, rng)?;
                if let Some(r) = &request {
                    fields.push(Message::Request(r.clone()).to_field()?);
                }
                request
            }
        };
        let mac_cookie = if fields.is_empty() { self.pcookie } else { 0 };
        let key = SessionKey::derive(
            host.digest(),
            self.cfg.local,
            self.cfg.remote,
            key_id,
            mac_cookie,
        )?;
        self.last_key_id = Some(key_id);
        Ok(Transmit {
            fields,
            request: request.map(|r| r.code()),
            key,
        })
    }

    fn next_key_id(
        &mut self,
        host: &LocalHost,
        now: u32,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<u32> {
        if let Some(k) = self.keylist.as_mut().and_then(KeyList::next_key) {
            return Ok(k);
        }
        let p = KeyListParams {
            digest: host.digest(),
            local: self.cfg.local,
            remote: self.cfg.remote,
            cookie: self.pcookie,
            poll: self.cfg.poll,
            automax: self.cfg.automax,
            synchronised: host.synchronised(),
        };
        let fresh = host.fresh_key_list(&p, now, rng)?;
        if let Some(signed) = fresh.auto_signed {
            self.auto_signed = Some(signed);
            self.push_auto = true;
        }
        self.keylist = Some(fresh.list);
        Ok(fresh.first_key)
    }

    /// Receives a server reply: MAC with the key ID we last sent (brief
    /// §5.6 steps 1, 2, 4), then every field.
    pub fn receive(
        &mut self,
        host: &mut LocalHost,
        pkt: &PacketRef<'_>,
        src: IpAddr,
        dst: IpAddr,
        now: u32,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<Vec<AssocEvent>> {
        let (mac, key_id) = crate::session::autokey_mac(pkt)?;
        // A server reply must echo our key ID (§5.6 step 4). Symmetric
        // and broadcast packets carry the peer's own key IDs and are judged
        // by the chain instead (never by key-ID equality, brief §4.2 [RFC≠]).
        let server_reply = self.cfg.kind != AssocKind::Symmetric;
        if server_reply && Some(key_id) != self.last_key_id {
            return Err(AutokeyError::KeyChain { key_id });
        }
        let cookie = if pkt.field_count() > 0 {
            0
        } else {
            self.pcookie
        };
        SessionKey::derive(host.digest(), src, dst, key_id, cookie)?
            .verify(pkt.authenticated_bytes(), mac)?;
        // An empty CERT answer from a synchronised server means it has no
        // certificate to serve (`on_empty_cert`).
        self.server_synced = pkt.header().leap != proto::LeapIndicator::Unsynchronized;
        let fields: Vec<&[u8]> = pkt.fields().map(|f| f.as_bytes()).collect();
        let mut events = self.receive_fields(host, &fields, now, rng);
        if !server_reply {
            self.chain_step(host, src, dst, key_id, self.pcookie, &mut events)?;
        }
        Ok(events)
    }

    /// Mobilises a broadcast client from the first broadcast heard (brief
    /// §4.3 step 1, §11.3 rule 14): MAC with cookie 0 towards the group
    /// address, and its first field must be an ASSOC response.
    pub fn mobilise_broadcast(
        &mut self,
        host: &mut LocalHost,
        pkt: &PacketRef<'_>,
        src: IpAddr,
        dst: IpAddr,
        now: u32,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<Vec<AssocEvent>> {
        let first = mobilising_field(host.digest(), pkt, src, dst)?;
        Ok(self.receive_fields(host, &[first], now, rng))
    }

    /// Receives a broadcast after the volley (brief §4.3 step 4): MAC with
    /// cookie 0 towards the group address `dst`, fields, then the key-ID
    /// chain against the AUTO anchor.
    pub fn receive_broadcast(
        &mut self,
        host: &mut LocalHost,
        pkt: &PacketRef<'_>,
        src: IpAddr,
        dst: IpAddr,
        now: u32,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<Vec<AssocEvent>> {
        if self.cfg.kind != AssocKind::BroadcastClient || !self.is_complete() {
            return Err(AutokeyError::Unexpected {
                code: AutokeyCode::Assoc,
                dir: "broadcast",
                reason: "volley not complete",
            });
        }
        let key_id = verify_broadcast_mac(host.digest(), pkt, src, dst)?;
        let fields: Vec<&[u8]> = pkt.fields().map(|f| f.as_bytes()).collect();
        let mut events = self.receive_fields(host, &fields, now, rng);
        self.chain_step(host, src, dst, key_id, 0, &mut events)?;
        Ok(events)
    }

    /// §5.6 step 4 for symmetric and broadcast packets: accepted if a
    /// signed response verified, else if the key ID hashes to the last
    /// accepted one or the AUTO anchor within `seq + 1` steps; otherwise
    /// AUTO is dropped so the values are asked for again.
    fn chain_step(
        &mut self,
        host: &LocalHost,
        src: IpAddr,
        dst: IpAddr,
        key_id: u32,
        cookie: u32,
        events: &mut Vec<AssocEvent>,
    ) -> Result<()> {
        if std::mem::take(&mut self.accepted_signed) {
            self.pkeyid = Some(key_id);
            return Ok(());
        }
        let Some((values, ts, fs)) = self.auto else {
            return Ok(());
        };
        let mut targets = vec![values.key];
        targets.extend(self.pkeyid);
        let steps = values.seq.max(0) as u32 + 1;
        match chain_check(host.digest(), src, dst, key_id, cookie, &targets, steps) {
            Ok(n) => {
                self.pkeyid = Some(key_id);
                let seq = values.seq - (n as i32 - 1);
                self.auto = Some((
                    AutokeyValues {
                        key: values.key,
                        seq,
                    },
                    ts,
                    fs,
                ));
                Ok(())
            }
            Err(e) => {
                self.flags &= !status::AUTO;
                self.auto = None;
                events.push(AssocEvent::Rejected(e.clone()));
                Err(e)
            }
        }
    }

    /// Handles the extension fields of an authenticated packet (brief §2,
    /// §5.6 step 3). A protocol error restarts the association; any other
    /// error drops the rest of the packet.
    pub fn receive_fields(
        &mut self,
        host: &mut LocalHost,
        fields: &[&[u8]],
        now: u32,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Vec<AssocEvent> {
        let mut events = Vec::new();
        let before = self.flags;
        for f in fields {
            self.signature_ok = false;
            let vrfy_before = self.lit(status::VRFY);
            let result = Message::parse(f).and_then(|m| match m {
                Message::Response(r) => self.on_response(host, r, now, rng, &mut events),
                Message::Request(q) => self.on_request(host, q, rng),
            });
            if result.is_ok() {
                self.accepted(vrfy_before, &mut events);
            }
            if let Err(e) = result {
                self.record(error_record(f, &e));
                if e.restarts() {
                    tracing::debug!("Autokey protocol error, restarting: {e}");
                    self.clear(now);
                    events.push(AssocEvent::Restarted(e));
                } else {
                    tracing::debug!("Autokey field refused: {e}");
                    events.push(AssocEvent::Rejected(e));
                }
                break;
            }
        }
        self.note_progress(before);
        events
    }

    /// A request from a symmetric peer: ASSOC is processed like a response
    /// (a restart if CERT is already lit); every request is queued and
    /// answered in the next transmission (brief §2.3, §4.2).
    fn on_request(
        &mut self,
        host: &LocalHost,
        q: Request,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<()> {
        if self.cfg.kind != AssocKind::Symmetric {
            return Ok(());
        }
        if let Request::Assoc {
            assoc_id,
            host: name,
            value,
        } = &q
        {
            if self.lit(status::CERT) {
                return Err(AutokeyError::AssociationId {
                    code: AutokeyCode::Assoc,
                    expected: self.peer_assoc,
                    got: *assoc_id,
                });
            }
            self.on_assoc(host, *assoc_id, name.clone(), value, rng)?;
        }
        self.note_request(q.code());
        self.queued = Some(q);
        Ok(())
    }

    fn verified(&mut self, code: AutokeyCode, v: &SignedValue) -> Result<()> {
        let key = self.server_key.as_ref().ok_or(AutokeyError::Unexpected {
            code,
            dir: "response",
            reason: "no server certificate yet",
        })?;
        key.verify(code, v)?;
        self.signature_ok = true;
        Ok(())
    }

    /// After a response was accepted: a verified signature after VRFY
    /// makes the association proventic (brief §4.1).
    fn accepted(&mut self, vrfy_before: bool, events: &mut Vec<AssocEvent>) {
        if std::mem::take(&mut self.signature_ok) {
            self.accepted_signed = true;
            if vrfy_before && !self.lit(status::PROV) {
                self.flags |= status::PROV;
                events.push(AssocEvent::Proventic);
            }
        }
    }

    fn on_response(
        &mut self,
        host: &mut LocalHost,
        r: Response,
        now: u32,
        rng: &mut (impl rand::CryptoRng + ?Sized),
        events: &mut Vec<AssocEvent>,
    ) -> Result<()> {
        let code = r.code();
        if let Response::Assoc {
            assoc_id,
            host: name,
            value,
        } = r
        {
            let first = self.server_name.is_none();
            self.on_assoc(host, assoc_id, name, &value, rng)?;
            if first {
                self.record(CryptoRecord::Assoc {
                    assoc_id: self.cfg.assoc_id,
                    field_assoc: assoc_id,
                    server: self.server_name.clone().unwrap_or_default(),
                    signature: self.signature_name().unwrap_or("").to_string(),
                });
            }
            return Ok(());
        }
        let expected = match r {
            Response::Auto { .. } if self.cfg.kind == AssocKind::BroadcastClient => self.peer_assoc,
            _ => self.cfg.assoc_id,
        };
        if r.assoc_id() != expected {
            return Err(AutokeyError::AssociationId {
                code,
                expected,
                got: r.assoc_id(),
            });
        }
        match r {
            Response::Error { code, .. } => Err(AutokeyError::ErrorResponse { code }),
            Response::EmptyCert { .. } => {
                self.on_empty_cert(events);
                Ok(())
            }
            Response::Cert { value, .. } => self.on_cert(host, &value, now, events),
            Response::Identity { scheme, value, .. } => {
                if self.challenge.is_none() {
                    return Err(AutokeyError::NoChallenge {
                        scheme: crate::identity::scheme_name(scheme),
                    });
                }
                self.verified(code, &value)?;
                let ident = self.identity.as_ref().ok_or(AutokeyError::Scheme {
                    reason: "identity response without identity parameters",
                })?;
                let ch = self.challenge.take().ok_or(AutokeyError::NoChallenge {
                    scheme: crate::identity::scheme_name(scheme),
                })?;
                ident.verify(ch, value.filestamp, &value.value)?;
                // Only a verified proof lights the scheme bit and VRFY.
                self.flags |= status::VRFY | scheme_bit(scheme);
                self.record(CryptoRecord::Identity {
                    scheme,
                    server: self.server_name.clone().unwrap_or_default(),
                    filestamp: value.filestamp,
                });
                events.push(AssocEvent::IdentityVerified(scheme));
                Ok(())
            }
            Response::Cook { value, .. } => {
                self.verified(code, &value)?;
                let cookie = decrypt_cookie(host.host_key(), &value.value)?;
                // Symmetric: both peers end with hcookie(A) XOR hcookie(B).
                self.pcookie = match self.cfg.kind {
                    AssocKind::Symmetric => self.hcookie ^ cookie,
                    _ => cookie,
                };
                self.keylist = None;
                self.flags |= status::COOK;
                self.record(CryptoRecord::Cookie {
                    cookie: self.pcookie,
                    timestamp: value.timestamp,
                    filestamp: value.filestamp,
                });
                events.push(AssocEvent::Cookie(self.pcookie));
                Ok(())
            }
            Response::Auto { values, value, .. } => {
                let stored = self.auto.map(|(_, ts, fs)| (ts, fs));
                check_monotonic(code, &value, stored)?;
                self.verified(code, &value)?;
                self.auto = Some((values, value.timestamp, value.filestamp));
                self.flags |= status::AUTO;
                Ok(())
            }
            Response::Sign { value, .. } => {
                self.verified(code, &value)?;
                let name = self.server_name.clone().unwrap_or_default();
                let key = self.server_key.clone().ok_or(AutokeyError::Unexpected {
                    code,
                    dir: "response",
                    reason: "no server key",
                })?;
                let cert = check_signed_certificate(
                    &value.value,
                    value.filestamp,
                    host.cert(),
                    &name,
                    &key,
                )?;
                host.install_cert(&cert, now);
                self.flags |= status::SIGN;
                self.record(CryptoRecord::Sign(cert_record(
                    host,
                    &cert,
                    value.filestamp,
                )));
                events.push(AssocEvent::CertificateSigned {
                    issuer: cert.issuer,
                });
                Ok(())
            }
            Response::Leap { leap, value, .. } => {
                self.verified(code, &value)?;
                self.leap = Some(leap);
                self.flags |= status::LEAP;
                self.record(CryptoRecord::Leap {
                    values: leap,
                    filestamp: value.filestamp,
                });
                events.push(AssocEvent::Leap(leap));
                Ok(())
            }
            Response::Assoc { .. } => Ok(()),
        }
    }

    fn on_assoc(
        &mut self,
        host: &LocalHost,
        assoc_id: u32,
        name: String,
        value: &SignedValue,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<()> {
        // The group rules come first: the reference applies them in
        // `receive()` to every ASSOC field, before any Autokey state.
        group_test(host, &name, self.cfg.ident.as_deref())?;
        if self.server_name.is_some() {
            if assoc_id != self.peer_assoc {
                return Err(AutokeyError::AssociationId {
                    code: AutokeyCode::Assoc,
                    expected: self.peer_assoc,
                    got: assoc_id,
                });
            }
            return Ok(());
        }
        let peer = StatusWord(value.filestamp);
        let private = host.status().has(status::PRIV);
        if private && !peer.has(status::PRIV) {
            return Err(AutokeyError::Scheme {
                reason: "private-certificate host talking to a non-PC peer",
            });
        }
        let digest = peer.digest()?;
        if self.cfg.kind == AssocKind::Symmetric
            && (host.status().0 & status::IDENT_MASK != 0) != (peer.0 & status::IDENT_MASK != 0)
        {
            return Err(AutokeyError::Scheme {
                reason: "only one symmetric peer has an identity scheme",
            });
        }
        self.hcookie = rng.next_u32();
        // The scheme bits wait for a verified proof (`on_response`).
        let scheme_bits = status::IFF | status::GQ | status::MV;
        self.offered = peer.0 & scheme_bits;
        self.flags = peer.0 & 0xffff_00ff & !scheme_bits;
        self.peer_assoc = assoc_id;
        self.server_synced |= value.timestamp != 0;
        self.trail = Some(Trail::new(&name, host.name()));
        self.server_name = Some(name);
        if self.cfg.kind == AssocKind::Client {
            self.flags |= status::AUTO;
        }
        if !peer.has(status::TAI) {
            self.flags |= status::LEAP;
        }
        if private {
            // PC scheme (brief §7.6, §2.3 step 3): both hosts hold the
            // same private certificate and key, which is never sent; the
            // trail, identity and SIGN steps are pre-set and the peer's
            // signatures verify with our own sign key.
            self.flags |= status::CERT | status::VRFY | status::SIGN;
            let own = host.signer().verifier()?;
            self.server_key = Some(PeerKey::new(own.key().clone(), digest));
        }
        Ok(())
    }

    fn on_cert(
        &mut self,
        host: &mut LocalHost,
        value: &SignedValue,
        now: u32,
        events: &mut Vec<AssocEvent>,
    ) -> Result<()> {
        crate::value::check_timestamps(AutokeyCode::Cert, value)?;
        if self.lit(status::CERT) {
            return Ok(());
        }
        let trail = self.trail.as_mut().ok_or(AutokeyError::Unexpected {
            code: AutokeyCode::Cert,
            dir: "response",
            reason: "CERT before ASSOC",
        })?;
        let step = trail.accept(&value.value, value.filestamp)?;
        self.server_key = trail.server_key().cloned();
        // The value is signed by the server: check it now that its key is known.
        if let Some(k) = &self.server_key {
            k.verify_signature(AutokeyCode::Cert, value)?;
        }
        if let Some(c) = trail.last_accepted() {
            host.install_cert(c, now);
            let r = CryptoRecord::Cert(cert_record(host, c, value.filestamp));
            if self.records.len() >= MAX_RECORDS {
                self.records.remove(0);
            }
            self.records.push(r);
        }
        self.empty_certs = 0;
        match step {
            TrailStep::Continue => return Ok(()),
            TrailStep::Untrusted => {
                let root = trail
                    .last_accepted()
                    .map(|c| c.subject.clone())
                    .unwrap_or_default();
                self.report_untrusted(root, events);
                return Ok(());
            }
            TrailStep::Complete => {}
        }
        self.flags |= status::CERT;
        self.choose_identity(events)
    }

    /// A synchronised server that answers our CERT request with an empty
    /// response holds no certificate it may serve for that subject: a
    /// self-signed one that is not trusted is never served (brief §7.2),
    /// so the trail cannot start. Reported after two such answers.
    fn on_empty_cert(&mut self, events: &mut Vec<AssocEvent>) {
        // A private-certificate server never serves its certificate
        // (brief §7.6): that is a PC mismatch, not an untrusted trail.
        if !self.server_synced || self.lit(status::CERT) || self.lit(status::PRIV) {
            return;
        }
        self.empty_certs = self.empty_certs.saturating_add(1);
        if self.empty_certs >= 2 {
            let root = self
                .trail
                .as_ref()
                .map(|t| t.next_subject().to_string())
                .unwrap_or_default();
            self.report_untrusted(root, events);
        }
    }

    fn report_untrusted(&mut self, root: String, events: &mut Vec<AssocEvent>) {
        if !self.untrusted_reported {
            self.untrusted_reported = true;
            events.push(AssocEvent::UntrustedTrail {
                server: self.server_name.clone().unwrap_or_default(),
                root,
            });
        }
    }

    /// After the trail completed: the identity parameters for the first
    /// scheme the server offers that we hold parameters for; TC when the
    /// server offers none (the trail is the proof, RFC 5906 §6.2) or, without
    /// `ident`, when we hold none for it (reported as TC-only).
    fn choose_identity(&mut self, events: &mut Vec<AssocEvent>) -> Result<()> {
        let offered = offered_schemes(self.offered);
        if offered.is_empty() {
            self.flags |= status::VRFY;
            return Ok(());
        }
        let server = self.server_name.clone().unwrap_or_default();
        let trusted = self.trail.as_ref().and_then(Trail::trusted);
        let (source, origin) = match &self.cfg.ident {
            Some(group) => match choice::take_own(&offered, &mut self.cfg.identities) {
                Some(s) => (s, None),
                None => {
                    events.push(AssocEvent::NoIdentityParameters {
                        server,
                        group: group.clone(),
                        offered,
                    });
                    return Ok(());
                }
            },
            None => {
                let names = lookup_names(&server, trusted.map(|c| c.subject.as_str()));
                match choice::take_named(&offered, &names, &mut self.named) {
                    Some(n) => (n.source, Some((n.name, n.file))),
                    None => {
                        self.tc_only = true;
                        self.flags |= status::VRFY;
                        events.push(AssocEvent::TcOnly {
                            server,
                            offered,
                            looked_for: names,
                        });
                        return Ok(());
                    }
                }
            }
        };
        self.identity = Some(match source {
            IdentitySource::Iff { params, filestamp } => ClientIdentity::Iff { params, filestamp },
            IdentitySource::Mv { key, filestamp } => ClientIdentity::Mv { key, filestamp },
            IdentitySource::Gq { params, filestamp } => {
                let t = trusted.ok_or(AutokeyError::MissingGroupKey { scheme: "GQ" })?;
                ClientIdentity::gq(params, t, filestamp)?
            }
        });
        self.identity_origin = origin;
        Ok(())
    }
}

/// The status bit of an identity scheme (brief §3).
fn scheme_bit(s: Scheme) -> u32 {
    match s {
        Scheme::Iff => status::IFF,
        Scheme::Gq => status::GQ,
        Scheme::Mv => status::MV,
    }
}

/// The `host@group` rules for an incoming ASSOC name (brief §2.3 "Group
/// names", §11.3 rule 6; reference `receive()` and `group_test()`), applied
/// only when our own certificate subject has the form `host@group`:
///
/// * the name must contain `@` and be shorter than 257 octets
///   ([`MAX_GROUP_HOSTNAME`](crate::message::MAX_GROUP_HOSTNAME));
/// * its group (the part after the first `@`) must equal ours, or the
///   association's `ident` when one is configured.
///
/// A failure drops the packet ([`AutokeyError::HostName`], no restart).
/// The server fast path applies only the first rule ([`check_group_name`]):
/// unicast client requests are not group-tested.
pub fn group_test(host: &LocalHost, name: &str, ident: Option<&str>) -> Result<()> {
    let Some(ours) = host.cert().group() else {
        return Ok(());
    };
    let theirs = check_group_name(host, name)?.unwrap_or_default();
    if theirs == ours || ident == Some(theirs) {
        return Ok(());
    }
    Err(AutokeyError::HostName {
        reason: "peer group differs from ours and from the association's ident",
    })
}

/// The `@` presence and length check on an ASSOC name when our subject
/// has a group (brief §2.3): returns the sender's group, or `None` when we
/// have no group (no check).
pub fn check_group_name<'a>(host: &LocalHost, name: &'a str) -> Result<Option<&'a str>> {
    if host.cert().group().is_none() {
        return Ok(None);
    }
    if name.len() > crate::message::MAX_GROUP_HOSTNAME {
        return Err(AutokeyError::HostName {
            reason: "host@group name of 257 octets or more",
        });
    }
    match name.split_once('@') {
        Some((_, group)) => Ok(Some(group)),
        None => Err(AutokeyError::HostName {
            reason: "peer name has no @group",
        }),
    }
}

/// Checks a broadcast's MAC with the session key of (`src`, group address
/// `dst`, key ID, cookie 0) (brief §4.3); returns the key ID.
fn verify_broadcast_mac(
    digest: crate::session::SessionDigest,
    pkt: &PacketRef<'_>,
    src: IpAddr,
    dst: IpAddr,
) -> Result<u32> {
    let (mac, key_id) = crate::session::autokey_mac(pkt)?;
    SessionKey::derive(digest, src, dst, key_id, 0)?.verify(pkt.authenticated_bytes(), mac)?;
    Ok(key_id)
}

/// The field of a broadcast that may mobilise a broadcast client (brief
/// §4.3 step 1, §11.3 rule 14): its MAC verifies with the session key of
/// (`src`, group address `dst`, key ID, cookie 0), and its first field is
/// an ASSOC response — which names the broadcaster's association, whose
/// AUTO values the volley then asks for. A broadcast carrying the AUTO
/// announcement instead mobilises nothing; the next one will.
pub fn mobilising_field<'p>(
    digest: crate::session::SessionDigest,
    pkt: &PacketRef<'p>,
    src: IpAddr,
    dst: IpAddr,
) -> Result<&'p [u8]> {
    verify_broadcast_mac(digest, pkt, src, dst)?;
    let first = pkt.fields().next().ok_or(AutokeyError::Unexpected {
        code: AutokeyCode::Assoc,
        dir: "broadcast",
        reason: "no extension field",
    })?;
    if !matches!(
        Message::parse(first.as_bytes())?,
        Message::Response(Response::Assoc { .. })
    ) {
        return Err(AutokeyError::Unexpected {
            code: AutokeyCode::Assoc,
            dir: "broadcast",
            reason: "first broadcast field is not an ASSOC response",
        });
    }
    Ok(first.as_bytes())
}

/// The cryptostats record of a certificate just installed: its cache
/// flags as `rv 0 cert` shows them.
fn cert_record(host: &LocalHost, c: &keystore::Certificate, filestamp: u32) -> CertRecord {
    let flags = host
        .cert_cache()
        .entries()
        .iter()
        .find(|e| e.subject == c.subject && e.issuer == c.issuer)
        .map_or(0, |e| e.flags);
    CertRecord {
        subject: c.subject.clone(),
        issuer: c.issuer.clone(),
        flags,
        signature: c.signature_nid.long_name().unwrap_or("").to_string(),
        nid: c.signature_nid.as_raw(),
        filestamp,
    }
}

/// The cryptostats record of a refused field: its type word and
/// association ID as received, the reference's event code.
fn error_record(field: &[u8], e: &AutokeyError) -> CryptoRecord {
    let word = |i: usize| {
        field
            .get(i..i + 4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    CryptoRecord::Error {
        type_word: word(0),
        assoc_id: word(4),
        code: event_code(e),
    }
}
