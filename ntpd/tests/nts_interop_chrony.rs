//! NTS interop with chrony 4.3, in a network namespace the test creates,
//! with a test CA made by the test: chronyd as NTS server
//! (`ntsserverkey`/`ntsservercert`, `-x`, without CAP_SYS_TIME) and the
//! daemon's NTS-KE client fetching cookies from it, then NTS-protected NTP
//! requests (the `nts` crate's client side over UDP) that chronyd answers
//! with authenticated replies and fresh cookies; a cookie chronyd never
//! made is answered with an NTS NAK. Then the other way round: our daemon
//! as NTS server (`nts enable`, `nts cert`, `nts key`, `nts cookie`), our
//! NTS client side polling it, and `chronyd -Q` as its NTS client
//! (`server 127.0.0.1 nts`, `ntstrustedcerts`) measuring it. Last, our
//! daemon as NTS client (`server 127.0.0.1 nts`, `nts ca`) of chronyd and
//! of our own daemon: the association is selected (sys.peer) and its
//! status word says authentication enabled and authentic.
//! Needs root, `ip netns`, chronyd and the openssl command line.

mod nts_support;
mod prerequisite;
mod support;

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ntpd::daemon::nts_ke_client;
use nts::client::{NtsClient, ReplyError};
use nts_support::{chrony_nts_server_conf, in_netns, make_pki, runtime};
use prerequisite::{require, Need, CHRONYD, OPENSSL};
use rand::SeedableRng;
use support::{start_ntpd, Daemon, Netns, Scratch, WITHOUT_SYS_TIME};

struct Chronyd {
    child: std::process::Child,
}

impl Drop for Chronyd {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_chronyd_nts_server(ns: &Netns, scratch: &Scratch) -> Chronyd {
    let pki = make_pki(&scratch.0);
    let dump = scratch.path("ntsdump");
    fs::create_dir_all(&dump).unwrap();
    let conf = scratch.file(
        "chrony.conf",
        &chrony_nts_server_conf(&pki, &scratch.path("chronyd.pid"), &dump, ""),
    );
    let mut argv: Vec<&str> = WITHOUT_SYS_TIME.to_vec();
    let conf_s = conf.to_str().unwrap();
    argv.extend(["chronyd", "-d", "-x", "-u", "root", "-f", conf_s]);
    let child = ns
        .command(&argv)
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(scratch.path("chronyd.log")).unwrap())
        .spawn()
        .unwrap();
    let d = Chronyd { child };
    let name = ns.0.clone();
    let up = in_netns(&name, || {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if std::net::TcpStream::connect("127.0.0.1:4460").is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    });
    assert!(
        up,
        "chronyd never listened on 4460: {}",
        fs::read_to_string(scratch.path("chronyd.log")).unwrap_or_default()
    );
    d
}

/// One NTS-protected mode 3 request; returns the reply datagram.
fn poll(sock: &UdpSocket, client: &mut NtsClient, seq: u64) -> (Vec<u8>, u64) {
    let mut header = [0u8; 48];
    header[0] = 0x23; // LI 0, version 4, mode 3
    let xmt = 0xE000_0000_0000_0000u64 + seq;
    header[40..48].copy_from_slice(&xmt.to_be_bytes());
    let mut rng = rand::rngs::StdRng::seed_from_u64(seq);
    let req = client.request(&header, &mut rng).unwrap();
    sock.send_to(&req, "127.0.0.1:123").unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = sock
        .recv_from(&mut buf)
        .expect("chronyd answered the NTS request");
    (buf[..n].to_vec(), xmt)
}

#[test]
fn our_nts_client_against_chronyd_nts_server() {
    require!(Need::Root, Need::IpNetns, CHRONYD, OPENSSL);
    let ns = Netns::new("ntschs");
    let scratch = Scratch::new("ntschs");
    let _chronyd = start_chronyd_nts_server(&ns, &scratch);
    let ca = scratch.path("ca.pem");
    let name = ns.0.clone();
    in_netns(&name, move || {
        let got = runtime().block_on(async {
            let conn = nts_ke_client::connector(Some(&ca)).unwrap();
            let addr: SocketAddr = "127.0.0.1:4460".parse().unwrap();
            nts_ke_client::key_exchange(&conn, addr, "127.0.0.1")
                .await
                .unwrap()
        });
        assert_eq!(got.cookies.len(), 8, "chronyd sends eight cookies");
        let mut client = NtsClient::new(got.keys.clone(), got.cookies.clone());
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        // Twelve polls: more than the eight cookies from NTS-KE, so the
        // cookies chronyd returned inside the authenticator are used too.
        for seq in 1..=12 {
            let (reply, xmt) = poll(&sock, &mut client, seq);
            assert_eq!(reply[0] & 7, 4, "mode 4");
            assert_eq!(reply[1], 8, "chronyd's stratum");
            assert_eq!(reply[24..32], xmt.to_be_bytes(), "origin is our transmit");
            let outcome = client.reply(&reply).expect("authenticated NTS reply");
            assert_eq!(outcome.new_cookies, 1, "poll {seq}");
            assert_eq!(client.cookies(), 8);
        }
        // A cookie chronyd never made: an NTS NAK comes back.
        let mut forged = got.cookies[0].clone();
        forged[10] ^= 0xff;
        let mut bad = NtsClient::new(got.keys.clone(), vec![forged]);
        let (reply, _) = poll(&sock, &mut bad, 99);
        assert_eq!(bad.reply(&reply), Err(ReplyError::Nak));
    });
}

fn start_our_nts_server(ns: &Netns, scratch: &Scratch) -> Daemon {
    let pki = make_pki(&scratch.0);
    let conf = scratch.file(
        "ntp.conf",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nnts enable cert {} key {} cookie {}\n",
            pki.cert.display(),
            pki.key.display(),
            scratch.path("nts-keys").display()
        ),
    );
    let d = start_ntpd(
        Some(ns),
        &conf,
        &["-I", "127.0.0.1", "-F", "1"],
        None,
        &scratch.path("ntpd.log"),
    );
    let t0 = Instant::now();
    while ns.query("127.0.0.1").map(|r| r.0) != Some(5) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "our server never reached stratum 5: {}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    d
}

#[test]
fn our_nts_server_answers_nts_clients() {
    require!(
        Need::Root,
        Need::IpNetns,
        CHRONYD,
        OPENSSL,
        prerequisite::PYTHON3
    );
    let ns = Netns::new("ntsours");
    let scratch = Scratch::new("ntsours");
    let daemon = start_our_nts_server(&ns, &scratch);
    let keyfile = fs::read_to_string(scratch.path("nts-keys")).unwrap();
    assert!(
        keyfile.lines().any(|l| l.starts_with("ntskey ")),
        "{keyfile}"
    );
    let ca = scratch.path("ca.pem");
    let name = ns.0.clone();
    // Our NTS client side against our daemon: 10 authenticated polls.
    let ca2 = ca.clone();
    in_netns(&name, move || {
        let got = runtime().block_on(async {
            let conn = nts_ke_client::connector(Some(&ca2)).unwrap();
            let addr: SocketAddr = "127.0.0.1:4460".parse().unwrap();
            nts_ke_client::key_exchange(&conn, addr, "127.0.0.1")
                .await
                .unwrap()
        });
        assert_eq!(got.cookies.len(), 8);
        let mut client = NtsClient::new(got.keys.clone(), got.cookies.clone());
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        for seq in 1..=10 {
            let (reply, xmt) = poll(&sock, &mut client, seq);
            assert_eq!(reply[0] & 7, 4, "mode 4");
            assert_eq!(reply[1], 5, "our orphan stratum");
            assert_eq!(reply[24..32], xmt.to_be_bytes(), "origin is our transmit");
            assert_eq!(
                client.reply(&reply).map(|o| o.new_cookies),
                Ok(1),
                "poll {seq}"
            );
        }
        let mut forged = got.cookies[0].clone();
        forged[30] ^= 0xff;
        let mut bad = NtsClient::new(got.keys.clone(), vec![forged]);
        let (reply, _) = poll(&sock, &mut bad, 99);
        assert_eq!(bad.reply(&reply), Err(ReplyError::Nak));
    });
    // chronyd -Q as NTS client: it only measures when NTS succeeded.
    let mut argv: Vec<String> = WITHOUT_SYS_TIME.map(String::from).to_vec();
    argv.extend(["chronyd", "-Q", "-u", "root", "-t", "15"].map(String::from));
    argv.push("cmdport 0".into());
    argv.push(format!("pidfile {}", scratch.path("q.pid").display()));
    argv.push(format!("ntstrustedcerts {}", ca.display()));
    argv.push(format!("ntsdumpdir {}", scratch.0.display()));
    argv.push("server 127.0.0.1 nts iburst maxsamples 4".into());
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = ns.output(&refs);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let at = text.find("System clock wrong by ").unwrap_or_else(|| {
        panic!(
            "chronyd -Q measured nothing over NTS: {text}\nntpd: {}",
            daemon.log_text()
        )
    });
    let off: f64 = text[at + 22..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(off.abs() < 0.001, "same clock: {off}");
}

/// Our daemon on 127.0.0.2 as NTS client of 127.0.0.1, trusting `ca`.
fn our_nts_client(ns: &Netns, scratch: &Scratch, ca: &std::path::Path) -> Daemon {
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    let stats = scratch.path("stats");
    fs::create_dir_all(&stats).unwrap();
    let conf = scratch.file(
        "client.conf",
        &format!(
            "disable ntp\nstatsdir {}/\nstatistics peerstats\nfilegen peerstats file peerstats type none enable\n\
             nts ca {}\nserver 127.0.0.1 nts minpoll 4 maxpoll 4 iburst\n",
            stats.display(),
            ca.display()
        ),
    );
    start_ntpd(
        Some(ns),
        &conf,
        &["-I", "127.0.0.2", "-F", "1"],
        None,
        &scratch.path("client.log"),
    )
}

/// Waits until the client's peerstats show the NTS association as
/// sys.peer with authentication enabled and authentic, and the client
/// serves at the server's stratum + 1.
fn wait_nts_synced(ns: &Netns, scratch: &Scratch, stratum: u8, client: &Daemon) -> u16 {
    let t0 = Instant::now();
    loop {
        let text = fs::read_to_string(scratch.path("stats/peerstats")).unwrap_or_default();
        if let Some(last) = text.lines().last() {
            let f: Vec<&str> = last.split_whitespace().collect();
            let status = u16::from_str_radix(f[3], 16).unwrap();
            if status >> 8 & 7 == 6 && ns.query("127.0.0.2").map(|r| r.0) == Some(stratum + 1) {
                return status;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "our NTS client never selected its server; peerstats: {text}\nlog: {}",
            client.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn our_nts_client_daemon_syncs_to_chronyd_and_to_us() {
    require!(
        Need::Root,
        Need::IpNetns,
        CHRONYD,
        OPENSSL,
        prerequisite::PYTHON3
    );
    {
        let ns = Netns::new("ntscc");
        let scratch = Scratch::new("ntscc");
        let _chronyd = start_chronyd_nts_server(&ns, &scratch);
        let client = our_nts_client(&ns, &scratch, &scratch.path("ca.pem"));
        let status = wait_nts_synced(&ns, &scratch, 8, &client);
        assert_eq!(
            status >> 8 & 0x60,
            0x60,
            "authenable and authentic: {status:04x}"
        );
    }
    {
        let ns = Netns::new("ntsco");
        let scratch = Scratch::new("ntsco");
        let _server = start_our_nts_server(&ns, &scratch);
        let client = our_nts_client(&ns, &scratch, &scratch.path("ca.pem"));
        let status = wait_nts_synced(&ns, &scratch, 5, &client);
        assert_eq!(
            status >> 8 & 0x60,
            0x60,
            "authenable and authentic: {status:04x}"
        );
    }
}
