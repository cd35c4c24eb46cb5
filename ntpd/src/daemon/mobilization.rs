//! Mobilising associations (RFC 5905 §9.1, the reference's
//! `newpeer()`): configured ones at start-up, ephemeral ones for
//! symmetric active peers and broadcasters, and the client associations a
//! manycast solicitation finds; which socket each sends from.

use std::net::{IpAddr, SocketAddr};

use proto::{Mode, PacketRef, ReferenceId};

use super::{AutokeyPeer, Core, Running, MAX_EPHEMERAL};
use crate::access::RestrictFlags;
use crate::assoc::{onwire::refid_of, AssocConfig, Association, HostMode};
use crate::auth::AuthOutcome;

impl Core {
    /// The Autokey engine of a new association, if it is configured with
    /// `autokey` and the host has a `crypto` line (the reference rejects
    /// the association otherwise).
    pub(super) fn autokey_engine(
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
        let Some(local) = local.or_else(|| self.env.route_to(cfg.remote)) else {
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
            self.env.wall().seconds(),
        )
        .with_named_identities(named);
        Ok(Some(AutokeyPeer { engine, local }))
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
            let (Some(ak), Some(local)) = (
                &self.autokey,
                local.or_else(|| self.env.route_to(cfg.remote)),
            ) else {
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
        let mut assoc = Association::new(id, cfg, precision, self.env.monotonic());
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

    pub(super) fn mobilize_ephemeral(
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
        let trusted = matches!(outcome, AuthOutcome::Ok(_));
        if !self.make_ephemeral_room(src.ip(), trusted) {
            crate::limited!(
                DEBUG,
                "{src}: too many ephemeral associations, not mobilised"
            );
            self.access.stats.restricted += 1;
            return;
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
            broadcast_delay: self.broadcast_delay,
            autokey: autokey_broadcast,
            ..AssocConfig::new(src, host_mode)
        };
        tracing::info!(target: crate::logging::PEER_INFO, "mobilize ephemeral {host_mode} association for {src}");
        let (socket, local) = self.sending_socket(socket, src);
        let before = self.assocs.len();
        self.mobilize(cfg, socket, local);
        self.note_ephemeral(before, trusted);
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
        let on_wildcard = self.socket_addrs.get(socket).is_none_or(|s| s.1);
        let socket = if on_wildcard {
            choose_socket(&self.socket_addrs, remote, self.env.route_to(remote))
        } else {
            Some(socket)
        };
        let local = socket
            .and_then(|i| self.socket_addrs.get(i))
            .map(|s| s.0.ip())
            .filter(|ip| !ip.is_unspecified());
        (socket, local)
    }
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
