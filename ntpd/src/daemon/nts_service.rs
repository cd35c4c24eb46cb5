//! Starting the NTS server side (`nts enable`): the cookie master keys
//! read or made (`nts cookie`), the TLS acceptor (`nts cert`, `nts key`),
//! the NTS-KE listener on `nts port` (4460), and a thread of its own that
//! runs the NTS-KE sessions and rotates the master keys daily (RFC 8915
//! §6), writing the key file after each rotation.
//!
//! NTS-KE runs on its own thread and runtime, not on the event loop's: a
//! TLS handshake costs milliseconds of CPU, which must not delay the
//! timestamps of the NTP receive path.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nts::server_keys::{RotationPolicy, ServerKeys};
use thiserror::Error;

use super::nts_ke_io;
use super::nts_ke_server::{self, NtsKeServer, NtsKeSetupError};
use super::nts_keyfile::{self, CookieStore, KeyFileIoError};
use super::nts_serve::{NtsServeCounters, NtsServer};
use super::nts_settings::NtsSettings;

/// How often the rotation task looks at the keys.
const ROTATION_CHECK: Duration = Duration::from_secs(600);

/// Why the NTS server could not start.
#[derive(Debug, Error)]
pub enum NtsStartError {
    /// `nts enable` without `nts cert` or `nts key`.
    #[error("nts enable needs both `nts cert FILE` and `nts key FILE`")]
    MissingCertificate,
    /// The certificate or key did not load.
    #[error("{0}")]
    Tls(#[from] NtsKeSetupError),
    /// The cookie key file.
    #[error("{0}")]
    KeyFile(#[from] KeyFileIoError),
    /// The listener could not be bound.
    #[error("cannot listen for NTS-KE on TCP port {port}: {reason}")]
    Bind {
        /// The port.
        port: u16,
        /// The system's reason.
        reason: String,
    },
    /// The randomness source or the thread failed.
    #[error("cannot start the NTS-KE service: {0}")]
    Start(String),
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn bind(port: u16) -> Result<std::net::TcpListener, NtsStartError> {
    // [::] takes IPv4 too unless the system says otherwise; else IPv4 only.
    let v6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
    let listener = std::net::TcpListener::bind(v6)
        .or_else(|_| std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))))
        .map_err(|e| NtsStartError::Bind {
            port,
            reason: e.to_string(),
        })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| NtsStartError::Bind {
            port,
            reason: e.to_string(),
        })?;
    Ok(listener)
}

/// Starts the NTS server side when `nts enable` is set; the state the
/// receive path needs comes back.
pub fn start(s: &NtsSettings) -> Result<Option<NtsServer>, NtsStartError> {
    if !s.enabled {
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&s.cert, &s.key) else {
        return Err(NtsStartError::MissingCertificate);
    };
    let acceptor = nts_ke_server::acceptor(cert, key)?;
    let mut rng = nts_ke_io::fresh_rng().map_err(|e| NtsStartError::Start(e.to_string()))?;
    let policy = RotationPolicy::default();
    // The file's directory is opened here, before any chroot (`-i`).
    let store = nts_keyfile::store(&s.cookie)?;
    let keys = store.load_or_create(unix_now(), policy, &mut rng)?;
    let keys = Arc::new(Mutex::new(keys));
    let listener = bind(s.port)?;
    let ke = Arc::new(NtsKeServer::new(acceptor, Arc::clone(&keys), None, None));
    let ke_counters = ke.counters();
    let rotating = Arc::clone(&keys);
    let rotation_store = Arc::clone(&store);
    let port = s.port;
    // Built here, not on the thread: `-F` forbids making epoll instances
    // once it is installed.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| NtsStartError::Start(e.to_string()))?;
    let (ready, started) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("nts-ke".into())
        .spawn(move || service_thread(runtime, ke, listener, rotating, rotation_store, ready))
        .map_err(|e| NtsStartError::Start(e.to_string()))?;
    // The thread's own start-up calls (robust list, name, affinity) must be
    // over before `-F` installs the filter.
    started
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| NtsStartError::Start("the NTS-KE thread did not start".into()))?;
    tracing::info!("NTS-KE server listening on TCP port {port}");
    Ok(Some(NtsServer {
        keys,
        counters: Arc::new(NtsServeCounters::default()),
        ke: ke_counters,
        store,
    }))
}

fn service_thread(
    runtime: tokio::runtime::Runtime,
    ke: Arc<NtsKeServer>,
    listener: std::net::TcpListener,
    keys: Arc<Mutex<ServerKeys>>,
    store: Arc<CookieStore>,
    ready: std::sync::mpsc::Sender<()>,
) {
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("NTS-KE service stopped: cannot register its listener: {e}");
                return;
            }
        };
        tokio::spawn(ke.run(listener));
        tokio::task::yield_now().await;
        let _ = ready.send(());
        let mut tick = tokio::time::interval(ROTATION_CHECK);
        loop {
            tick.tick().await;
            rotate(&keys, &store);
        }
    });
}

/// The daily rotation (RFC 8915 §6): the keys change under their mutex,
/// the file is written after it is released, so a slow disk never holds up
/// the NTS replies that take the mutex.
fn rotate(keys: &Mutex<ServerKeys>, store: &CookieStore) {
    let Ok(mut rng) = nts_ke_io::fresh_rng() else {
        tracing::warn!("NTS cookie keys not rotated: no randomness");
        return;
    };
    match store.rotate(keys, unix_now(), &mut rng) {
        Ok(None) => {}
        Ok(Some(current)) => tracing::info!("NTS cookie keys rotated: new key {current}"),
        Err(e) => {
            let current = keys.lock().unwrap_or_else(|p| p.into_inner()).current().id;
            tracing::warn!("NTS cookie keys rotated to key {current}, but {e}; the new key is used but lost at restart");
        }
    }
}
