//! The NTS-KE client (RFC 8915 §4): one TLS 1.3 session to the server's
//! port 4460 (or the configured one) with ALPN `ntske/1`, the server's
//! certificate checked against the system's trust store or the `nts ca`
//! file or directory, and the host name (or address) the association was
//! configured with. The response's Server and Port Negotiation records
//! (§4.1.7, §4.1.8) become the association's NTP destination
//! ([`KeOutcome::ntp_ip`], [`KeOutcome::ntp_port`]).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;

use nts::keys::SessionKeys;
use nts::negotiation::{self, KeResponseError};
use openssl::ssl::{SslConnector, SslMethod, SslVersion};
use thiserror::Error;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use super::nts_ke_destination::{self, DestinationError};
use super::nts_ke_io::{self, ReadError, ALPN_NTSKE, ALPN_NTSKE_WIRE, NTS_KE_TIMEOUT};

/// What one NTS-KE session gave the association.
#[derive(Clone, Debug)]
pub struct KeOutcome {
    /// The C2S and S2C keys.
    pub keys: SessionKeys,
    /// The cookies, in the order received.
    pub cookies: Vec<Vec<u8>>,
    /// The NTP server to poll, if the server named one (§4.1.7).
    pub ntp_server: Option<String>,
    /// Its address: the literal, or the name resolved (an address of the
    /// NTS-KE server's family).
    pub ntp_ip: Option<IpAddr>,
    /// The NTP port, if the server named one (§4.1.8).
    pub ntp_port: Option<u16>,
}

/// Why NTS-KE failed.
#[derive(Debug, Error)]
pub enum KeClientError {
    /// The trust anchors could not be loaded.
    #[error("cannot load NTS CA {path}: {reason}")]
    Ca {
        /// The `nts ca` path.
        path: PathBuf,
        /// OpenSSL's reason.
        reason: String,
    },
    /// The TCP connection failed.
    #[error("cannot connect to NTS-KE server {addr}: {reason}")]
    Connect {
        /// The server.
        addr: SocketAddr,
        /// The system's reason.
        reason: String,
    },
    /// TLS failed (certificate not trusted, wrong name, no TLS 1.3, ALPN
    /// refused).
    #[error("TLS with NTS-KE server {addr} failed: {reason}")]
    Tls {
        /// The server.
        addr: SocketAddr,
        /// OpenSSL's reason.
        reason: String,
    },
    /// The server did not select `ntske/1`.
    #[error("NTS-KE server {addr} did not select ALPN ntske/1")]
    NoAlpn {
        /// The server.
        addr: SocketAddr,
    },
    /// The request could not be sent.
    #[error("cannot send NTS-KE request to {addr}: {reason}")]
    Write {
        /// The server.
        addr: SocketAddr,
        /// The system's reason.
        reason: String,
    },
    /// The response could not be read.
    #[error("NTS-KE response from {addr} unreadable: {source}")]
    Read {
        /// The server.
        addr: SocketAddr,
        /// What went wrong.
        source: ReadError,
    },
    /// The response was refused.
    #[error("NTS-KE response from {addr} refused: {source}")]
    Response {
        /// The server.
        addr: SocketAddr,
        /// What is wrong with it.
        source: KeResponseError,
    },
    /// The NTP server the response names cannot be used.
    #[error("NTS-KE response from {addr} unusable: {source}")]
    Destination {
        /// The server.
        addr: SocketAddr,
        /// Why the named NTP server cannot be used.
        source: DestinationError,
    },
    /// The session took longer than the timeout.
    #[error("NTS-KE session with {addr} timed out")]
    Timeout {
        /// The server.
        addr: SocketAddr,
    },
}

/// The TLS 1.3 connector offering ALPN `ntske/1`, trusting `ca` (a PEM
/// file or a hashed certificate directory) or, without it, the system's
/// default trust store.
pub fn connector(ca: Option<&Path>) -> Result<SslConnector, KeClientError> {
    let ca_err = |e: openssl::error::ErrorStack| KeClientError::Ca {
        path: ca.map(Path::to_path_buf).unwrap_or_default(),
        reason: e.to_string(),
    };
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(ca_err)?;
    b.set_min_proto_version(Some(SslVersion::TLS1_3))
        .map_err(ca_err)?;
    b.set_alpn_protos(ALPN_NTSKE_WIRE).map_err(ca_err)?;
    if let Some(ca) = ca {
        if ca.is_dir() {
            b.load_verify_locations(None, Some(ca)).map_err(ca_err)?;
        } else {
            b.set_ca_file(ca).map_err(ca_err)?;
        }
    }
    Ok(b.build())
}

/// Runs NTS-KE with the server at `addr`, whose certificate must be valid
/// for `server_name` (a host name or an IP address).
pub async fn key_exchange(
    connector: &SslConnector,
    addr: SocketAddr,
    server_name: &str,
) -> Result<KeOutcome, KeClientError> {
    match tokio::time::timeout(NTS_KE_TIMEOUT, exchange(connector, addr, server_name)).await {
        Ok(r) => r,
        Err(_) => Err(KeClientError::Timeout { addr }),
    }
}

async fn exchange(
    connector: &SslConnector,
    addr: SocketAddr,
    server_name: &str,
) -> Result<KeOutcome, KeClientError> {
    let tls_err = |e: &dyn std::fmt::Display| KeClientError::Tls {
        addr,
        reason: e.to_string(),
    };
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| KeClientError::Connect {
            addr,
            reason: e.to_string(),
        })?;
    let ssl = connector
        .configure()
        .and_then(|c| c.into_ssl(server_name))
        .map_err(|e| tls_err(&e))?;
    let mut tls = SslStream::new(ssl, tcp).map_err(|e| tls_err(&e))?;
    Pin::new(&mut tls)
        .connect()
        .await
        .map_err(|e| tls_err(&e))?;
    if tls.ssl().selected_alpn_protocol() != Some(ALPN_NTSKE) {
        return Err(KeClientError::NoAlpn { addr });
    }
    tls.write_all(&negotiation::client_request())
        .await
        .map_err(|e| KeClientError::Write {
            addr,
            reason: e.to_string(),
        })?;
    let message = nts_ke_io::read_message(&mut tls)
        .await
        .map_err(|source| KeClientError::Read { addr, source })?;
    let response = negotiation::parse_response(&message)
        .map_err(|source| KeClientError::Response { addr, source })?;
    let keys = nts::keys::export_session_keys(|label, context, out: &mut [u8]| {
        tls.ssl().export_keying_material(out, label, Some(context))
    })
    .map_err(|e| tls_err(&e))?;
    let _ = tls.shutdown().await;
    let ntp_ip = nts_ke_destination::resolve(response.server.as_deref(), addr.ip())
        .map_err(|source| KeClientError::Destination { addr, source })?;
    Ok(KeOutcome {
        keys,
        cookies: response.cookies,
        ntp_server: response.server,
        ntp_ip,
        ntp_port: response.port,
    })
}
