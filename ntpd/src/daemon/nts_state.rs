//! The daemon's NTS state (RFC 8915): the server side when `nts enable`
//! is set, and which configured servers are `server X nts`.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use super::nts_ke_client::{self, KeClientError};
use super::nts_ke_io::NTS_KE_PORT;
use super::nts_ke_worker::KeWorker;
use super::nts_peer::NtsPeer;
use super::nts_serve::NtsServer;
use super::nts_settings::NtsSettings;
use super::Core;
use crate::assoc::{AssocConfig, Authenticator, HostMode};
use config::conf::{AssocMode, Association, Host, Origin};

/// Both NTS sides of the daemon.
#[derive(Debug, Default)]
pub struct NtsState {
    /// `nts enable`: the master keys and counters of the server side.
    pub server: Option<NtsServer>,
    /// `server X nts` lines: who is NTS and how to reach NTS-KE.
    pub client: Option<NtsClientSide>,
}

/// The client side's configuration.
pub struct NtsClientSide {
    /// Each NTS server's addresses and the name its certificate must
    /// carry (the name or address the `server` line gave).
    pub servers: Vec<(IpAddr, String)>,
    /// The NTS-KE worker (TLS 1.3 with ALPN `ntske/1`, trusting `nts ca`
    /// or the system store).
    pub worker: KeWorker,
}

impl std::fmt::Debug for NtsClientSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtsClientSide")
            .field("servers", &self.servers)
            .finish()
    }
}

/// The client side for the `server ... nts` associations, if any.
pub fn client_side(
    associations: &[(Association, Origin)],
    s: &NtsSettings,
) -> Result<Option<NtsClientSide>, KeClientError> {
    let mut servers = Vec::new();
    for (a, _) in associations {
        if !a.options.nts || a.mode != AssocMode::Server {
            continue;
        }
        match &a.address.host {
            Host::Ip(ip) => servers.push((*ip, ip.to_string())),
            Host::Name(n) => {
                for addr in (n.as_str(), 0).to_socket_addrs().into_iter().flatten() {
                    servers.push((addr.ip(), n.clone()));
                }
            }
        }
    }
    if servers.is_empty() {
        return Ok(None);
    }
    let connector = nts_ke_client::connector(s.ca.as_deref())?;
    let worker = KeWorker::start(connector).map_err(|e| KeClientError::Connect {
        addr: SocketAddr::new(servers[0].0, NTS_KE_PORT),
        reason: format!("cannot start the NTS-KE worker thread: {e}"),
    })?;
    Ok(Some(NtsClientSide { servers, worker }))
}

impl Core {
    /// The authenticator of a new client association to an NTS server;
    /// `None` for every other association.
    pub(super) fn nts_authenticator(&self, cfg: &AssocConfig) -> Option<Authenticator> {
        let side = self.nts.client.as_ref()?;
        if cfg.mode != HostMode::Client {
            return None;
        }
        let (_, name) = side.servers.iter().find(|(ip, _)| *ip == cfg.remote.ip())?;
        let ke = SocketAddr::new(cfg.remote.ip(), NTS_KE_PORT);
        Some(Authenticator::Nts(Box::new(NtsPeer::new(
            name.clone(),
            ke,
            side.worker.clone(),
        ))))
    }
}
