//! The NTS-KE server (RFC 8915 §4): TLS 1.3 on TCP 4460 with ALPN
//! `ntske/1`, one request and one response per connection.
//!
//! TLS comes from the openssl the daemon already links (through
//! `tokio-openssl`), so the binary carries one TLS stack and the keys come
//! from `SSL_export_keying_material` (§5.1). A client that offers another
//! ALPN protocol fails the handshake (no_application_protocol alert); one
//! that offers none is closed after it. A well-formed request gets eight
//! cookies sealed under the current master key; a bad one gets an Error
//! record. Every outcome is counted in [`NtsKeCounters`].

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nts::negotiation::{self, KeRequestError, COOKIES_PER_RESPONSE};
use nts::server_keys::ServerKeys;
use openssl::ssl::{AlpnError, Ssl, SslAcceptor, SslFiletype, SslMethod, SslVersion};
use thiserror::Error;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_openssl::SslStream;

use super::nts_ke_io::{self, ReadError, ALPN_NTSKE, ALPN_NTSKE_WIRE, NTS_KE_TIMEOUT};

mod limits;

pub use limits::{
    SessionSlots, SlotRefusal, Source, MAX_CONCURRENT_SESSIONS, MAX_SESSIONS_PER_SOURCE,
};

/// Why the server could not be set up.
#[derive(Debug, Error)]
pub enum NtsKeSetupError {
    /// The certificate or key could not be loaded, or do not match.
    #[error("NTS-KE server {what} {path}: {reason}")]
    Tls {
        /// Which file.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// OpenSSL's reason.
        reason: String,
    },
}

/// What happened to the sessions served, for `ntpq` and the logs.
#[derive(Debug, Default)]
pub struct NtsKeCounters {
    /// Sessions that ended with cookies sent.
    pub served: AtomicU64,
    /// Requests refused with an Error record.
    pub refused: AtomicU64,
    /// Handshakes completed without the `ntske/1` ALPN.
    pub no_alpn: AtomicU64,
    /// Failed handshakes (wrong ALPN, TLS below 1.3, not TLS at all).
    pub tls_failed: AtomicU64,
    /// Sessions cut off by the timeout, or closed early, or broken, and
    /// connections closed at accept with [`MAX_CONCURRENT_SESSIONS`]
    /// sessions running.
    pub aborted: AtomicU64,
    /// Connections closed at accept, before TLS, because their source
    /// (address, or IPv6 /64) had [`MAX_SESSIONS_PER_SOURCE`] sessions
    /// running.
    pub source_limited: AtomicU64,
}

impl NtsKeCounters {
    fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why one session did not end with cookies.
#[derive(Debug, Error)]
pub enum KeSessionError {
    /// The TLS handshake failed.
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
    /// The client did not negotiate `ntske/1`.
    #[error("client did not negotiate ALPN ntske/1")]
    NoAlpn,
    /// The request could not be read.
    #[error("request unreadable: {0}")]
    Read(#[from] ReadError),
    /// The request was refused (an Error record was sent).
    #[error("request refused: {0}")]
    Refused(KeRequestError),
    /// Key export or the response failed.
    #[error("server failure: {0}")]
    Internal(String),
    /// The session took longer than the timeout.
    #[error("session timed out")]
    Timeout,
}

/// The TLS 1.3 acceptor with the certificate chain at `cert` and its key
/// at `key`, requiring ALPN `ntske/1`.
pub fn acceptor(cert: &Path, key: &Path) -> Result<SslAcceptor, NtsKeSetupError> {
    let tls = |what, path: &Path| {
        let path = path.to_path_buf();
        move |e: openssl::error::ErrorStack| NtsKeSetupError::Tls {
            what,
            path,
            reason: e.to_string(),
        }
    };
    let mut b = SslAcceptor::mozilla_modern_v5(SslMethod::tls_server())
        .map_err(tls("TLS context", cert))?;
    b.set_min_proto_version(Some(SslVersion::TLS1_3))
        .map_err(tls("TLS context", cert))?;
    b.set_certificate_chain_file(cert)
        .map_err(tls("certificate", cert))?;
    b.set_private_key_file(key, SslFiletype::PEM)
        .map_err(tls("key", key))?;
    b.check_private_key()
        .map_err(tls("key (does not match the certificate)", key))?;
    // An NTS-KE session is one request and one response; a client comes
    // back only when its cookies run out, and then needs fresh keys from a
    // full handshake anyway. OpenSSL would otherwise seal two TLS 1.3
    // session tickets after every handshake that nobody resumes.
    b.set_num_tickets(0).map_err(tls("TLS context", cert))?;
    b.set_alpn_select_callback(|_, offered| {
        openssl::ssl::select_next_proto(ALPN_NTSKE_WIRE, offered).ok_or(AlpnError::ALERT_FATAL)
    });
    Ok(b.build())
}

/// An NTS-KE server: the acceptor, the shared master keys, and what to
/// tell clients about the NTP server.
pub struct NtsKeServer {
    acceptor: SslAcceptor,
    keys: Arc<Mutex<ServerKeys>>,
    ntp_server: Option<String>,
    ntp_port: Option<u16>,
    counters: Arc<NtsKeCounters>,
    slots: Arc<SessionSlots>,
}

impl NtsKeServer {
    /// A server handing out cookies under `keys`. `ntp_server` and
    /// `ntp_port`, when set, are sent in Server and Port Negotiation
    /// records (§4.1.7, §4.1.8).
    pub fn new(
        acceptor: SslAcceptor,
        keys: Arc<Mutex<ServerKeys>>,
        ntp_server: Option<String>,
        ntp_port: Option<u16>,
    ) -> Self {
        Self {
            acceptor,
            keys,
            ntp_server,
            ntp_port,
            counters: Arc::default(),
            slots: Arc::default(),
        }
    }

    /// The counters.
    pub fn counters(&self) -> Arc<NtsKeCounters> {
        Arc::clone(&self.counters)
    }

    /// Accepts connections on `listener` until the task is dropped.
    pub async fn run(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    crate::limited!(WARN, "NTS-KE accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Refused before TLS: a refusal costs no handshake.
            let slot = match self.slots.take(peer.ip()) {
                Ok(slot) => slot,
                Err(refusal) => {
                    self.refuse(peer, refusal);
                    continue;
                }
            };
            let me = Arc::clone(&self);
            tokio::spawn(async move {
                match me.session(tcp).await {
                    Ok(()) => tracing::debug!("NTS-KE: cookies sent to {peer}"),
                    Err(e) => crate::limited!(INFO, "NTS-KE session from {peer}: {e}"),
                }
                drop(slot);
            });
        }
    }

    /// Counts and logs a connection closed at accept (by dropping it).
    fn refuse(&self, peer: std::net::SocketAddr, refusal: SlotRefusal) {
        // Anyone can open connections: the lines are rate-limited.
        match refusal {
            SlotRefusal::AllBusy => {
                NtsKeCounters::bump(&self.counters.aborted);
                crate::limited!(
                    INFO,
                    "NTS-KE connection from {peer} closed: {MAX_CONCURRENT_SESSIONS} sessions already running"
                );
            }
            SlotRefusal::SourceBusy => {
                NtsKeCounters::bump(&self.counters.source_limited);
                crate::limited!(
                    INFO,
                    "NTS-KE connection from {peer} closed: {MAX_SESSIONS_PER_SOURCE} sessions from its \
                     address (or IPv6 /64) already running"
                );
            }
        }
    }

    /// Serves one connection, counting the outcome.
    pub async fn session(&self, tcp: TcpStream) -> Result<(), KeSessionError> {
        let outcome = match tokio::time::timeout(NTS_KE_TIMEOUT, self.session_inner(tcp)).await {
            Ok(r) => r,
            Err(_) => Err(KeSessionError::Timeout),
        };
        let c = &self.counters;
        NtsKeCounters::bump(match &outcome {
            Ok(()) => &c.served,
            Err(KeSessionError::Refused(_)) => &c.refused,
            Err(KeSessionError::NoAlpn) => &c.no_alpn,
            Err(KeSessionError::Handshake(_)) => &c.tls_failed,
            Err(_) => &c.aborted,
        });
        outcome
    }

    async fn session_inner(&self, tcp: TcpStream) -> Result<(), KeSessionError> {
        let internal = |e: openssl::error::ErrorStack| KeSessionError::Internal(e.to_string());
        let ssl = Ssl::new(self.acceptor.context()).map_err(internal)?;
        let mut tls = SslStream::new(ssl, tcp).map_err(internal)?;
        Pin::new(&mut tls)
            .accept()
            .await
            .map_err(|e| KeSessionError::Handshake(e.to_string()))?;
        if tls.ssl().selected_alpn_protocol() != Some(ALPN_NTSKE) {
            return Err(KeSessionError::NoAlpn);
        }
        let request = nts_ke_io::read_message(&mut tls).await?;
        let response = match negotiation::parse_request(&request) {
            Ok(()) => self.response(tls.ssl())?,
            Err(refusal) => {
                let reply = negotiation::error_response(refusal.error_code());
                let _ = tls.write_all(&reply).await;
                let _ = tls.shutdown().await;
                return Err(KeSessionError::Refused(refusal));
            }
        };
        tls.write_all(&response)
            .await
            .map_err(|e| KeSessionError::Internal(e.to_string()))?;
        let _ = tls.shutdown().await;
        Ok(())
    }

    fn response(&self, ssl: &openssl::ssl::SslRef) -> Result<Vec<u8>, KeSessionError> {
        let session = nts::keys::export_session_keys(|label, context, out: &mut [u8]| {
            ssl.export_keying_material(out, label, Some(context))
        })
        .map_err(|e| KeSessionError::Internal(format!("TLS key export failed: {e}")))?;
        let mut rng =
            nts_ke_io::fresh_rng().map_err(|e| KeSessionError::Internal(e.to_string()))?;
        let cookies = {
            let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            (0..COOKIES_PER_RESPONSE)
                .map(|_| nts::cookie::seal(&keys, &session, &mut rng))
                .collect()
        };
        negotiation::server_response(cookies, self.ntp_server.clone(), self.ntp_port)
            .map_err(|e| KeSessionError::Internal(format!("response does not encode: {e}")))
    }
}
