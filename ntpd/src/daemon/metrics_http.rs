//! The metrics listener: `GET /metrics` over HTTP/1.1 on the address of
//! `metrics_listen` or `--metrics`, served by hyper 1 on the event loop's
//! tokio runtime (a task beside the datagram path, which it never waits
//! for: it reads only the latest [`super::metrics::MetricsSnapshot`]).
//!
//! A slow or abusive scraper is bounded: at most [`MAX_CONNECTIONS`] at
//! once (others are closed on accept), one request per connection (no
//! keep-alive), the request head within [`MAX_REQUEST_OCTETS`] read within
//! [`HEADER_TIMEOUT`], and the whole connection within
//! [`CONNECTION_TIMEOUT`]. The request body is never read. Only `GET` (and
//! `HEAD`) of `/metrics` is answered; other paths get 404, other methods
//! 405.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use super::metrics::MetricsReader;
use super::metrics_render;

/// Connections served at once; more are closed as they arrive.
pub const MAX_CONNECTIONS: usize = 8;

/// The largest request head read (hyper's smallest buffer limit).
pub const MAX_REQUEST_OCTETS: usize = 8192;

/// Time allowed for the request head to arrive.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Time allowed for a whole connection, request to last octet of the
/// response.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The one path served.
pub const METRICS_PATH: &str = "/metrics";

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The address could not be bound.
    #[error("cannot listen for metrics on TCP {addr}: {source}; expected a free port on a local address (metrics_listen in ntp.conf or --metrics)")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// Bind the listening socket for `addr` (before privileges are dropped,
/// so a port below 1024 works as for the NTP sockets).
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, MetricsError> {
    let bound = (|| {
        let l = std::net::TcpListener::bind(addr)?;
        l.set_nonblocking(true)?;
        Ok(l)
    })();
    bound.map_err(|source| MetricsError::Bind { addr, source })
}

/// Serve `listener` until the runtime stops, rendering the latest
/// snapshot of `snapshots` for each scrape.
pub async fn serve(listener: tokio::net::TcpListener, snapshots: MetricsReader) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(false)
        .max_buf_size(MAX_REQUEST_OCTETS)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors, typically: wait, do not spin.
                crate::limited!(WARN, "metrics endpoint: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            crate::limited!(
                DEBUG,
                "metrics endpoint: {peer} refused, {MAX_CONNECTIONS} connections already open"
            );
            drop(stream);
            continue;
        };
        let http = http.clone();
        let snapshots = snapshots.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let answer = respond(&req, &snapshots);
                async move { Ok::<_, Infallible>(answer) }
            });
            let conn = http.serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_TIMEOUT, conn).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!("metrics endpoint: connection from {peer}: {e}"),
                Err(_) => tracing::debug!(
                    "metrics endpoint: connection from {peer} closed after {} s",
                    CONNECTION_TIMEOUT.as_secs()
                ),
            }
            drop(slot);
        });
    }
}

/// The answer to one request.
fn respond(req: &Request<Incoming>, snapshots: &MetricsReader) -> Response<Full<Bytes>> {
    if req.uri().path() != METRICS_PATH {
        return plain(
            StatusCode::NOT_FOUND,
            "not found; the metrics are at /metrics\n",
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    // The snapshot is shared, never locked while rendering.
    let snapshot = snapshots.borrow().clone();
    let text = metrics_render::render(&snapshot);
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(metrics_render::CONTENT_TYPE),
    );
    r
}

/// A short plain-text answer with `status`.
fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
