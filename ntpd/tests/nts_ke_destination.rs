//! The Server and Port Negotiation records of NTS-KE (RFC 8915 §4.1.7,
//! §4.1.8) steer the association: our daemon (`server 127.0.0.1 nts`) in
//! a network namespace gets its keys from an NTS-KE server that names NTP
//! port 10123, and its NTS-protected requests must arrive there (not at
//! port 123), authenticate under the session's keys, and the replies sent
//! from there must make the association reachable and authentic.
//! The NTS-KE server is the crate's own, on a thread inside the namespace;
//! the NTP side is a small responder built from `nts::server`.
//! A second run has the responder send a forged NTS NAK (§5.7: it is not
//! authenticated) before each genuine reply: the association must stay
//! authentic on its first NTS-KE session, counting the NAKs.
//! Needs root, `ip netns` and the openssl command line.

mod interop_support;
mod nts_observe;
mod nts_support;
mod prerequisite;
mod support;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ntpd::daemon::nts_ke_server::{self, NtsKeServer};
use nts::server_keys::{RotationPolicy, ServerKeys};
use nts_observe::one_association_authentic;
use nts_support::{make_pki, runtime};
use prerequisite::{require, Need, OPENSSL};
use rand::SeedableRng;
use support::{start_named, Daemon, Netns, Scratch};

/// The NTP port the NTS-KE server names.
const NAMED_PORT: u16 = 10123;

/// What the NTP responder saw.
#[derive(Default)]
struct Seen {
    /// NTS requests that authenticated under a cookie of our keys.
    authentic: AtomicU64,
    /// Datagrams that did not.
    refused: AtomicU64,
    /// NTS-KE sessions served.
    key_exchanges: AtomicU64,
    /// Send an NTS NAK before each genuine reply.
    forge_nak: AtomicBool,
    stop: AtomicBool,
}

/// The NTP time now (seconds since 1900 in the upper half).
fn ntp_now() -> u64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let secs = d.as_secs() + 2_208_988_800;
    (secs << 32) | ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

/// A stratum-2 server reply header to the request `req`.
fn reply_header(req: &[u8]) -> [u8; 48] {
    let mut h = [0u8; 48];
    h[0] = 0x24; // LI 0, version 4, mode 4
    h[1] = 2;
    h[2] = req[2];
    h[3] = 0xec; // precision 2^-20
    h[8..12].copy_from_slice(&[0, 0, 0, 0x10]); // root dispersion
    h[12..16].copy_from_slice(&[127, 0, 0, 9]);
    let now = ntp_now().to_be_bytes();
    h[16..24].copy_from_slice(&now);
    h[24..32].copy_from_slice(&req[40..48]);
    h[32..40].copy_from_slice(&now);
    h[40..48].copy_from_slice(&ntp_now().to_be_bytes());
    h
}

/// Starts, on a thread inside `ns`, the NTS-KE server on 127.0.0.1:4460
/// naming port [`NAMED_PORT`], and the NTP responder on that port.
fn start_servers(ns: &str, cert: std::path::PathBuf, key: std::path::PathBuf, seen: Arc<Seen>) {
    let path = format!("/run/netns/{ns}");
    let (ready, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let f = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let keys = Arc::new(Mutex::new(ServerKeys::new(
            0,
            RotationPolicy::default(),
            &mut rng,
        )));
        let udp = UdpSocket::bind(("127.0.0.1", NAMED_PORT)).unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let ntp_keys = Arc::clone(&keys);
        let ntp_seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(12);
            let mut buf = [0u8; 4096];
            while !ntp_seen.stop.load(Ordering::SeqCst) {
                let Ok((n, from)) = udp.recv_from(&mut buf) else {
                    continue;
                };
                let req = &buf[..n];
                let checked = {
                    let k = ntp_keys.lock().unwrap();
                    nts::server::check_request(req, &k)
                        .map(|r| nts::server::reply(&r, &reply_header(req), &k, &mut rng))
                };
                match checked {
                    Ok(reply) => {
                        ntp_seen.authentic.fetch_add(1, Ordering::SeqCst);
                        if ntp_seen.forge_nak.load(Ordering::SeqCst) {
                            let uid = nts::server::unique_id(req).unwrap();
                            let mut h = reply_header(req);
                            h[1] = 0;
                            h[12..16].copy_from_slice(b"NTSN");
                            udp.send_to(&nts::server::nak(&uid, &h), from).unwrap();
                        }
                        udp.send_to(&reply, from).unwrap();
                    }
                    Err(_) => {
                        ntp_seen.refused.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        });
        let acceptor = nts_ke_server::acceptor(&cert, &key).unwrap();
        let server = Arc::new(NtsKeServer::new(acceptor, keys, None, Some(NAMED_PORT)));
        let rt = runtime();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:4460")
                .await
                .unwrap();
            ready.send(()).unwrap();
            let counters = server.counters();
            let run = tokio::spawn(server.run(listener));
            while !seen.stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let served = counters.served.load(Ordering::SeqCst);
                seen.key_exchanges.store(served, Ordering::SeqCst);
            }
            run.abort();
        });
    });
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("NTS-KE server started in the namespace");
}

/// Whether the daemon's one association is reachable and authentic.
fn authentic(ns: &Netns) -> bool {
    one_association_authentic(ns, "127.0.0.1")
}

fn wait(secs: u64, what: &str, d: &Daemon, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{what} within {secs} s\nlog:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The lab: namespace, scratch directory, servers and our daemon.
fn lab(tag: &str, forge_nak: bool) -> (Netns, Scratch, Arc<Seen>, Daemon) {
    let ns = Netns::new(tag);
    let scratch = Scratch::new(tag);
    let pki = make_pki(&scratch.0);
    let seen = Arc::new(Seen::default());
    seen.forge_nak.store(forge_nak, Ordering::SeqCst);
    start_servers(&ns.0, pki.cert.clone(), pki.key.clone(), Arc::clone(&seen));
    let d = start_named(
        &ns,
        &scratch,
        "client",
        "127.0.0.1",
        &format!(
            "disable ntp\nserver 127.0.0.1 nts minpoll 3 maxpoll 3 iburst\nnts ca {}\n",
            pki.ca.display()
        ),
        &["-d", "-F", "1"],
    );
    (ns, scratch, seen, d)
}

#[test]
fn ntp_requests_go_to_the_port_nts_ke_names() {
    require!(Need::Root, Need::IpNetns, OPENSSL);
    let (ns, _scratch, seen, d) = lab("ntsdest", false);
    wait(40, "NTS requests at the named port", &d, || {
        seen.authentic.load(Ordering::SeqCst) >= 2
    });
    wait(40, "the association reachable and authentic", &d, || {
        authentic(&ns)
    });
    assert_eq!(
        seen.refused.load(Ordering::SeqCst),
        0,
        "every request authenticated"
    );
    let log = d.log_text();
    assert!(
        log.contains(&format!(
            "names NTP server its own address, port {NAMED_PORT}"
        )),
        "the choice is logged:\n{log}"
    );
    assert_eq!(
        log.matches("NTP requests go there").count(),
        1,
        "logged once:\n{log}"
    );
    seen.stop.store(true, Ordering::SeqCst);
}

#[test]
fn forged_nts_naks_do_not_end_the_session() {
    require!(Need::Root, Need::IpNetns, OPENSSL);
    let (ns, _scratch, seen, d) = lab("ntsnak", true);
    wait(
        60,
        "four NTS requests answered after forged NAKs",
        &d,
        || seen.authentic.load(Ordering::SeqCst) >= 4,
    );
    wait(40, "the association reachable and authentic", &d, || {
        authentic(&ns)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        seen.key_exchanges.load(Ordering::SeqCst),
        1,
        "no NTS-KE after the forged NAKs:\n{}",
        d.log_text()
    );
    let log = d.log_text();
    assert!(
        log.contains("NTS NAK (not authenticated)"),
        "NAKs logged:\n{log}"
    );
    assert!(!log.contains("since its NTS NAK"), "no re-key:\n{log}");
    seen.stop.store(true, Ordering::SeqCst);
}
