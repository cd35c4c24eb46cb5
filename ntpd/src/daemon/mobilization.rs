//! Mobilising associations (RFC 5905 §9.1, the reference's
//! `newpeer()`): configured ones at start-up, ephemeral ones for
//! symmetric active peers and broadcasters, and the client associations a
//! manycast solicitation finds; which socket each sends from.

use std::net::{IpAddr, SocketAddr};

use proto::{Mode, PacketRef, ReferenceId};

use super::{Core, Running, MAX_EPHEMERAL};
use crate::access::RestrictFlags;
use crate::assoc::{onwire::refid_of, AssocConfig, Association, Authenticator, HostMode};
use crate::auth::AuthOutcome;

impl Core {
    /// The authenticator of a new association: its key, or with `autokey`
    /// its Autokey engine or broadcaster — which needs a `crypto` line (the
    /// reference rejects the association otherwise) and a local address to
    /// bind the session keys to.
    pub(super) fn authenticator(
        &self,
        id: u16,
        cfg: &AssocConfig,
        local: Option<IpAddr>,
    ) -> Result<Authenticator, String> {
        if cfg.nts {
            return self.nts_authenticator(cfg).ok_or_else(|| {
                format!(
                    "{}: `nts` runs only on `server` lines, with an NTS-KE client for this \
                     address (its name resolved to it at start-up); association not mobilised",
                    cfg.remote
                )
            });
        }
        if !cfg.autokey {
            return Ok(Authenticator::for_key(cfg.key));
        }
        let Some(ak) = &self.autokey else {
            return Err(format!(
                "{}: `autokey` needs a `crypto` line (and keysdir); association not mobilised",
                cfg.remote
            ));
        };
        let Some(local) = local.or_else(|| self.env.route_to(cfg.remote)) else {
            return Err(format!(
                "{}: no local address to bind Autokey session keys to; association not mobilised",
                cfg.remote
            ));
        };
        let poll = u8::try_from(cfg.minpoll).unwrap_or(6);
        let kind = match cfg.mode {
            HostMode::Client => autokey::association::AssocKind::Client,
            HostMode::SymmetricActive | HostMode::SymmetricPassive => {
                autokey::association::AssocKind::Symmetric
            }
            HostMode::BroadcastClient => autokey::association::AssocKind::BroadcastClient,
            HostMode::BroadcastServer => {
                return Ok(Authenticator::broadcaster(
                    autokey::broadcast::BroadcastServer::new(
                        u32::from(id),
                        local,
                        cfg.remote.ip(),
                        poll,
                        ak.automax,
                    ),
                ));
            }
            // The solicitor: a client of the group (its MAC is keyed with
            // the group address, brief §4.4); answers mobilise clients.
            HostMode::ManycastClient => autokey::association::AssocKind::Client,
        };
        let group = cfg.ident.clone().or_else(|| ak.ident.clone());
        let (identities, named) = ak
            .client_identities(group.as_deref())
            .map_err(|e| format!("{}: {e}; association not mobilised", cfg.remote))?;
        let engine = autokey::association::Association::new(
            autokey::association::AssociationConfig {
                assoc_id: u32::from(id),
                local,
                remote: cfg.remote.ip(),
                ident: group,
                identities,
                poll,
                automax: ak.automax,
                kind,
            },
            self.env.wall().seconds(),
        )
        .with_named_identities(named);
        Ok(Authenticator::autokey(engine, local))
    }

    /// Add an association sending from socket `socket`; its ID, or `None`
    /// when it could not be mobilised (the log says why).
    pub fn mobilize(
        &mut self,
        cfg: AssocConfig,
        socket: Option<usize>,
        local: Option<IpAddr>,
    ) -> Option<u16> {
        let assocs = &self.assocs;
        let Some(id) = self
            .next_id
            .allocate(|id| assocs.iter().any(|r| r.assoc.id == id))
        else {
            tracing::error!(
                "{}: every association ID is in use; association not mobilised",
                cfg.remote
            );
            return None;
        };
        let precision = 2f64.powi(i32::from(self.sys.precision));
        let our_refid = local.map_or(ReferenceId(0), refid_of);
        let auth = match self.authenticator(id, &cfg, local) {
            Ok(a) => a,
            Err(why) => {
                tracing::error!("{why}");
                return None;
            }
        };
        let mut assoc =
            Association::new(id, cfg, precision, self.env.monotonic()).with_authenticator(auth);
        assoc.set_phi(self.sync.params().phi);
        self.assocs.push(Running {
            assoc,
            socket,
            our_refid,
            manycast_parent: None,
            xleave: 0.0,
        });
        Some(id)
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
    pub(super) fn manycast_found(&self) -> Vec<u16> {
        self.assocs
            .iter()
            .filter_map(|r| r.manycast_parent)
            .collect()
    }

    /// A server's answer to our manycast solicitation: mobilise a client
    /// association for it, with the `manycastclient` line's options, if
    /// the answer is authentic (required unless `disable auth`), the
    /// server synchronised and of a usable stratum, and not already one
    /// of ours (RFC 5905 §3; the reference's `AM_MANYCAST`).
    pub(super) fn mobilize_manycast(
        &mut self,
        packet: &PacketRef<'_>,
        outcome: AuthOutcome,
        parent: usize,
        flags: RestrictFlags,
        src: SocketAddr,
        socket: usize,
    ) {
        let required = self.policy.auth_required
            || flags.has(RestrictFlags::NOPEER)
            || flags.has(RestrictFlags::DONTTRUST);
        if !outcome.acceptable(required) {
            self.policy.access.stats.restricted += 1;
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
            // An Autokey answer (session key ID) mobilises an Autokey
            // client that runs its own dance (the reference's FLAG_SKEY).
            autokey: p.assoc.cfg.autokey
                && matches!(outcome, AuthOutcome::Ok(k) if proto::mac::is_autokey_key_id(k)),
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
        if let Some(id) = self.mobilize(cfg, socket, local) {
            if let Some(r) = self.assocs.iter_mut().find(|r| r.assoc.id == id) {
                r.manycast_parent = Some(parent_id);
            }
        }
    }

    pub(super) fn mobilize_ephemeral(
        &mut self,
        packet: &PacketRef<'_>,
        outcome: AuthOutcome,
        mode: Mode,
        flags: RestrictFlags,
        src: SocketAddr,
        socket: usize,
    ) -> Ephemeral {
        let required = self.policy.auth_required
            || flags.has(RestrictFlags::NOPEER)
            || flags.has(RestrictFlags::DONTTRUST);
        // An Autokey broadcast or symmetric active packet (a field, a MAC
        // with an Autokey key ID) can only be judged by an engine: its
        // session key is cookie 0's (brief §4.3 step 1, §5.2). The
        // association is mobilised on trial and kept only if its engine
        // accepts the packet — the MAC is checked once, there.
        let autokey_trial = matches!(outcome, AuthOutcome::Autokey(_))
            && self.autokey.is_some()
            && packet.field_count() > 0;
        if !outcome.acceptable(required) && !autokey_trial {
            self.policy.access.stats.restricted += 1;
            return Ephemeral::Refused;
        }
        // `ippeerlimit`: most associations per source address.
        let (_, limit) = self
            .policy
            .access
            .restrict
            .lookup_entry(src.ip(), src.port());
        if limit >= 0
            && self
                .assocs
                .iter()
                .filter(|r| r.assoc.is_remote(src.ip()))
                .count()
                >= usize::from(limit.unsigned_abs())
        {
            tracing::debug!("{src}: ippeerlimit {limit} reached, not mobilised");
            self.policy.access.stats.restricted += 1;
            return Ephemeral::Refused;
        }
        let host_mode = match mode {
            Mode::SymmetricActive if !flags.has(RestrictFlags::NOEPEER) => {
                HostMode::SymmetricPassive
            }
            Mode::Broadcast if self.net.bclient => HostMode::BroadcastClient,
            _ => {
                self.policy.access.stats.restricted += 1;
                return Ephemeral::Refused;
            }
        };
        // A trial gets its slot only once its engine accepted the packet
        // (`end_trial`): a forgery must not evict anyone.
        let trusted = matches!(outcome, AuthOutcome::Ok(_));
        if !autokey_trial && !self.make_ephemeral_room(src.ip(), trusted) {
            crate::limited!(
                DEBUG,
                "{src}: too many ephemeral associations, not mobilised"
            );
            self.policy.access.stats.restricted += 1;
            return Ephemeral::Refused;
        }
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
            broadcast_delay: self
                .policy
                .broadcast_delay
                .unwrap_or(clock::constants::BDELAY),
            autokey: autokey_trial,
            ..AssocConfig::new(src, host_mode)
        };
        let (socket, local) = self.sending_socket(socket, src);
        let id = self.mobilize(cfg, socket, local);
        if host_mode == HostMode::BroadcastClient && self.policy.skips_broadcast_volley() {
            if let Some(r) = self.assocs.iter_mut().find(|r| Some(r.assoc.id) == id) {
                r.assoc.skip_volley();
            }
        }
        match id {
            Some(id) if autokey_trial => Ephemeral::OnTrial(id),
            Some(id) => {
                self.note_ephemeral(id, trusted);
                tracing::info!(target: crate::logging::PEER_INFO, "mobilize ephemeral {host_mode} association for {src}");
                Ephemeral::Mobilized
            }
            None => Ephemeral::Refused,
        }
    }

    /// An ephemeral Autokey association on trial whose first packet its
    /// engine judged: kept (and announced) if the packet was authentic,
    /// else removed again as if it had never been mobilised.
    pub(super) fn end_trial(&mut self, id: u16, authentic: bool) {
        let Some(i) = self.assocs.iter().position(|r| r.assoc.id == id) else {
            return;
        };
        let trial = self.assocs.remove(i);
        let remote = trial.assoc.cfg.remote;
        // Accepted: now it asks for a slot like any unproven association.
        if authentic && self.make_ephemeral_room(remote.ip(), false) {
            tracing::info!(
                target: crate::logging::PEER_INFO,
                "mobilize ephemeral {} association for {remote}",
                trial.assoc.cfg.mode
            );
            let id = trial.assoc.id;
            self.assocs.push(trial);
            self.note_ephemeral(id, false);
        } else {
            self.policy.access.stats.restricted += 1;
        }
    }

    /// The socket (and its address) a mobilised association sends from:
    /// the one the mobilising packet came to, unless that is a wildcard
    /// socket (a broadcast or multicast): then a listened address towards
    /// `remote`.
    pub(super) fn sending_socket(
        &self,
        socket: usize,
        remote: SocketAddr,
    ) -> (Option<usize>, Option<IpAddr>) {
        let socket = if self.net.is_wildcard(socket) {
            choose_socket(&self.net.socket_addrs, remote, self.env.route_to(remote))
        } else {
            Some(socket)
        };
        (socket, socket.and_then(|i| self.net.local_address(i)))
    }
}

/// What became of a packet that could mobilise an ephemeral association.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ephemeral {
    /// Not mobilised (counted as restricted).
    Refused,
    /// Mobilised.
    Mobilized,
    /// An Autokey association mobilised on trial: kept only if its engine
    /// accepts the packet that mobilised it ([`Core::end_trial`]).
    OnTrial(u16),
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
