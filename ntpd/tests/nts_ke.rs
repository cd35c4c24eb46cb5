//! NTS-KE (RFC 8915 §4) between the daemon's NTS-KE client and server on
//! 127.0.0.1, with a test CA made by the test: cookies fetched, the keys
//! both sides exported agree (a cookie opens to the client's keys and an
//! NTS-protected NTP exchange round-trips), and each bad session is
//! refused and counted: untrusted CA, wrong name, no ALPN, another ALPN,
//! TLS 1.2, malformed, oversized and unknown-critical requests; one
//! source address gets at most four sessions at once, closed at accept
//! beyond that, while another loopback address is still served.
//! Needs the openssl command line.

mod nts_support;
mod prerequisite;
mod support;

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use ntpd::daemon::nts_ke_client::{self, KeClientError};
use ntpd::daemon::nts_ke_server::{self, NtsKeServer};
use nts::record::{self, ErrorCode, Record};
use nts::server_keys::{RotationPolicy, ServerKeys};
use nts_support::{make_pki, runtime, TestPki};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use prerequisite::{require, OPENSSL};
use rand::SeedableRng;
use support::Scratch;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Lab {
    _scratch: Scratch,
    pki: TestPki,
    addr: SocketAddr,
    server: Arc<NtsKeServer>,
    keys: Arc<Mutex<ServerKeys>>,
}

async fn lab(tag: &str) -> Lab {
    let scratch = Scratch::new(tag);
    let pki = make_pki(&scratch.0);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let keys = Arc::new(Mutex::new(ServerKeys::new(
        0,
        RotationPolicy::default(),
        &mut rng,
    )));
    let acceptor = nts_ke_server::acceptor(&pki.cert, &pki.key).unwrap();
    let server = Arc::new(NtsKeServer::new(acceptor, Arc::clone(&keys), None, None));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Arc::clone(&server).run(listener));
    Lab {
        _scratch: scratch,
        pki,
        addr,
        server,
        keys,
    }
}

/// A raw TLS session: `alpn` (wire form) offered or none, TLS 1.3 unless
/// `max_tls12`, the test CA not checked. Returns the connected stream or
/// the handshake error text.
async fn raw_tls(
    addr: SocketAddr,
    alpn: Option<&[u8]>,
    max_tls12: bool,
) -> Result<tokio_openssl::SslStream<tokio::net::TcpStream>, String> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw_tls_on(tcp, alpn, max_tls12).await
}

/// [`raw_tls`] over a connection already made.
async fn raw_tls_on(
    tcp: tokio::net::TcpStream,
    alpn: Option<&[u8]>,
    max_tls12: bool,
) -> Result<tokio_openssl::SslStream<tokio::net::TcpStream>, String> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    if let Some(a) = alpn {
        b.set_alpn_protos(a).unwrap();
    }
    if max_tls12 {
        b.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
    }
    let ssl = b
        .build()
        .configure()
        .unwrap()
        .into_ssl("127.0.0.1")
        .unwrap();
    let mut s = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
    match Pin::new(&mut s).connect().await {
        Ok(()) => Ok(s),
        Err(e) => Err(e.to_string()),
    }
}

async fn read_all(s: &mut tokio_openssl::SslStream<tokio::net::TcpStream>) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    out
}

/// Waits until the server has finished counting a session.
async fn settle(server: &NtsKeServer, total: u64) {
    let c = server.counters();
    for _ in 0..100 {
        let sum = c.served.load(Ordering::Relaxed)
            + c.refused.load(Ordering::Relaxed)
            + c.no_alpn.load(Ordering::Relaxed)
            + c.tls_failed.load(Ordering::Relaxed)
            + c.aborted.load(Ordering::Relaxed);
        if sum >= total {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("server never counted {total} sessions");
}

#[test]
fn key_exchange_gives_working_cookies() {
    require!(OPENSSL);
    runtime().block_on(async {
        let lab = lab("nts-ke-ok").await;
        let conn = nts_ke_client::connector(Some(&lab.pki.ca)).unwrap();
        for name in ["127.0.0.1", "nts.test"] {
            let got = nts_ke_client::key_exchange(&conn, lab.addr, name)
                .await
                .unwrap();
            assert_eq!(got.cookies.len(), 8, "{name}");
            assert_eq!((got.ntp_server.as_deref(), got.ntp_port), (None, None));
            // The server sealed the keys it exported; the client exported the same.
            let keys = lab.keys.lock().unwrap().clone();
            for c in &got.cookies {
                assert_eq!(nts::cookie::open(&keys, c).unwrap(), got.keys);
            }
            // One NTS-protected exchange in memory with those cookies.
            let mut rng = rand::rngs::StdRng::seed_from_u64(9);
            let mut client = nts::client::NtsClient::new(got.keys.clone(), got.cookies.clone());
            let mut header = [0u8; 48];
            header[0] = 0x23;
            let req = client.request(&header, &mut rng).unwrap();
            let checked = nts::server::check_request(&req, &keys).unwrap();
            header[0] = 0x24;
            let rep = nts::server::reply(&checked, &header, &keys, &mut rng);
            assert_eq!(client.reply(&rep).unwrap().new_cookies, 1);
            assert_eq!(client.cookies(), 8);
        }
        settle(&lab.server, 2).await;
        assert_eq!(lab.server.counters().served.load(Ordering::Relaxed), 2);
    });
}

#[test]
fn client_refuses_untrusted_or_misnamed_servers() {
    require!(OPENSSL);
    runtime().block_on(async {
        let lab = lab("nts-ke-trust").await;
        let system_only = nts_ke_client::connector(None).unwrap();
        let e = nts_ke_client::key_exchange(&system_only, lab.addr, "127.0.0.1")
            .await
            .unwrap_err();
        assert!(matches!(e, KeClientError::Tls { .. }), "{e}");
        assert!(e.to_string().contains("certificate verify failed"), "{e}");
        let conn = nts_ke_client::connector(Some(&lab.pki.ca)).unwrap();
        let e = nts_ke_client::key_exchange(&conn, lab.addr, "other.test")
            .await
            .unwrap_err();
        assert!(matches!(e, KeClientError::Tls { .. }), "{e}");
        let e = nts_ke_client::connector(Some(std::path::Path::new("/nonexistent/ca.pem")))
            .unwrap_err();
        assert!(matches!(e, KeClientError::Ca { .. }), "{e}");
        settle(&lab.server, 2).await;
        assert_eq!(lab.server.counters().tls_failed.load(Ordering::Relaxed), 2);
    });
}

#[test]
fn server_refuses_sessions_without_ntske_alpn_or_tls13() {
    require!(OPENSSL);
    runtime().block_on(async {
        let lab = lab("nts-ke-alpn").await;
        // No ALPN: the handshake completes, the server closes at once.
        let mut s = raw_tls(lab.addr, None, false).await.unwrap();
        let _ = s.write_all(&nts::negotiation::client_request()).await;
        assert_eq!(read_all(&mut s).await, b"");
        // Another protocol: no_application_protocol alert.
        let e = raw_tls(lab.addr, Some(b"\x08http/1.1"), false)
            .await
            .unwrap_err();
        assert!(
            e.contains("no application protocol") || e.contains("alert"),
            "{e}"
        );
        // TLS 1.2 only: refused.
        let e = raw_tls(lab.addr, Some(b"\x07ntske/1"), true)
            .await
            .unwrap_err();
        assert!(e.contains("protocol version") || e.contains("alert"), "{e}");
        settle(&lab.server, 3).await;
        let c = lab.server.counters();
        assert_eq!(c.no_alpn.load(Ordering::Relaxed), 1);
        assert_eq!(c.tls_failed.load(Ordering::Relaxed), 2);
        assert_eq!(c.served.load(Ordering::Relaxed), 0);
    });
}

#[test]
fn server_answers_bad_requests_with_error_records() {
    require!(OPENSSL);
    runtime().block_on(async {
        let lab = lab("nts-ke-bad").await;
        let alpn = Some(&b"\x07ntske/1"[..]);
        let cases: [(Vec<u8>, ErrorCode); 3] = [
            // AEAD offered is not AES-SIV-CMAC-256.
            (
                record::encode_message(&[
                    Record::NextProtocol(vec![0]),
                    Record::AeadAlgorithm(vec![30]),
                    Record::EndOfMessage,
                ])
                .unwrap(),
                ErrorCode::BadRequest,
            ),
            // A critical record of an unknown type.
            (
                vec![0x80, 0x99, 0, 0, 0x80, 0, 0, 0],
                ErrorCode::UnrecognizedCriticalRecord,
            ),
            // An Error record in a request.
            (
                vec![0x80, 2, 0, 2, 0, 1, 0x80, 0, 0, 0],
                ErrorCode::BadRequest,
            ),
        ];
        for (req, code) in cases {
            let mut s = raw_tls(lab.addr, alpn, false).await.unwrap();
            s.write_all(&req).await.unwrap();
            let reply = read_all(&mut s).await;
            assert_eq!(
                record::decode_message(&reply).unwrap(),
                [Record::Error(code), Record::EndOfMessage],
                "{req:?}"
            );
        }
        // Oversized: a record claiming 65535 octets is cut off unanswered.
        let mut s = raw_tls(lab.addr, alpn, false).await.unwrap();
        s.write_all(&[0, 5, 0xff, 0xff]).await.unwrap();
        let _ = s.write_all(&[0u8; 4096]).await;
        assert_eq!(read_all(&mut s).await, b"");
        settle(&lab.server, 4).await;
        let c = lab.server.counters();
        assert_eq!(c.refused.load(Ordering::Relaxed), 3);
        assert_eq!(c.aborted.load(Ordering::Relaxed), 1);
        // The server still serves after all that.
        let conn = nts_ke_client::connector(Some(&lab.pki.ca)).unwrap();
        let got = nts_ke_client::key_exchange(&conn, lab.addr, "127.0.0.1")
            .await
            .unwrap();
        assert_eq!(got.cookies.len(), 8);
    });
}

/// A TCP connection to `addr` from the loopback address `src`.
async fn tcp_from(src: &str, addr: SocketAddr) -> tokio::net::TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(src.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    sock.connect(addr).await.unwrap()
}

/// Whether the server closed `tcp` (end of stream or reset) within `secs`.
async fn closed_by_server(tcp: &mut tokio::net::TcpStream, secs: u64) -> bool {
    let mut b = [0u8; 1];
    let wait = std::time::Duration::from_secs(secs);
    matches!(
        tokio::time::timeout(wait, tcp.read(&mut b)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[test]
fn one_source_gets_at_most_four_sessions_and_another_is_still_served() {
    require!(OPENSSL);
    runtime().block_on(async {
        let lab = lab("nts-ke-source").await;
        let cap = nts_ke_server::MAX_SESSIONS_PER_SOURCE;
        assert_eq!(cap, 4);
        // Idle connections from 127.0.0.1: each holds a session slot
        // while the server waits for its ClientHello.
        let mut held = Vec::new();
        for _ in 0..cap {
            held.push(tcp_from("127.0.0.1", lab.addr).await);
        }
        // Two more from the same address: closed at accept, unanswered.
        for _ in 0..2 {
            let mut extra = tcp_from("127.0.0.1", lab.addr).await;
            assert!(
                closed_by_server(&mut extra, 5).await,
                "a connection over the per-source cap was kept open"
            );
        }
        let c = lab.server.counters();
        assert_eq!(c.source_limited.load(Ordering::Relaxed), 2);
        for h in &mut held {
            assert!(!closed_by_server(h, 0).await, "a held session was closed");
        }
        // 127.0.0.2 is another source: a whole NTS-KE session with cookies.
        let tcp = tcp_from("127.0.0.2", lab.addr).await;
        let mut s = raw_tls_on(tcp, Some(b"\x07ntske/1"), false).await.unwrap();
        s.write_all(&nts::negotiation::client_request())
            .await
            .unwrap();
        let reply = record::decode_message(&read_all(&mut s).await).unwrap();
        let cookies = reply
            .iter()
            .filter(|r| matches!(r, Record::NewCookie(_)))
            .count();
        assert_eq!(cookies, 8, "{reply:?}");
        settle(&lab.server, 1).await;
        assert_eq!(c.served.load(Ordering::Relaxed), 1);
        // The held connections go away: their slots come back.
        drop(held);
        settle(&lab.server, 1 + cap as u64).await;
        let conn = nts_ke_client::connector(Some(&lab.pki.ca)).unwrap();
        let got = nts_ke_client::key_exchange(&conn, lab.addr, "127.0.0.1")
            .await
            .unwrap();
        assert_eq!(got.cookies.len(), 8);
        assert_eq!(c.source_limited.load(Ordering::Relaxed), 2);
    });
}
