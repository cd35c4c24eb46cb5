//! Autokey on `manycastclient GROUP autokey` (issue 13; RFC 5906 §4
//! "manycast mode", brief §4.4). The solicitor's client-mode packets to
//! the group carry an ASSOC request with a session-key MAC keyed to the
//! group address (cookie 0); the `manycastserver` answers from its
//! unicast address with the key bound to that address; the answer,
//! checked with that key, mobilises a client association which runs the
//! whole Autokey dance with the server's unicast address, as `server …
//! autokey` does.
//!
//! In memory (real cores on `ntpd::daemon::simnet`, the reference fixture
//! keys of `tests/data/autokey-ref/runs/`): TC and IFF reach every flag.
//!
//! In network namespaces (the server in A, the client in B, joined by a
//! veth pair with a multicast route on each side; both with `disable ntp`
//! and without CAP_SYS_TIME; keys made by our `ntp-keygen` as the
//! "Configuring Autokey" guide types them): TC and IFF reach proventic
//! with the found server (flags 0x7f00, `rv 0 cert`, `as` auth `ok`), and
//! a client holding another group's IFF key never does, the log saying
//! why. Those need root and `ip netns`: under `CI=true` they fail without
//! them, elsewhere they print that they skipped.

mod guide_support;
mod interop_support;
mod prerequisite;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use guide_support::GuideHost;
use interop_support::{assoc_rows, cert_list, ntpq_binary, Lab, NTPD};
use ntpd::auth::KeyRing;
use ntpd::daemon::simnet::SimNetwork;
use prerequisite::{require, Need};

const SERVER: &str = "10.0.0.1";
const CLIENT: &str = "10.0.0.2";
const GROUP: &str = "224.0.1.1";
/// One-way delay of the simulated network.
const DELAY: f64 = 0.002;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A fixture run folder.
fn run_dir(run: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/autokey-ref/runs")
        .join(run)
}

/// A fixture host's `ntp.conf` for the simulation, its keys directory made
/// absolute, the files and logs it would write left out, and its `server`
/// line replaced by `assoc` (when given); `extra` appended.
fn fixture_conf(run: &str, host: &str, assoc: Option<&str>, extra: &str) -> String {
    let dir = run_dir(run).join(host);
    let text = std::fs::read_to_string(dir.join("ntp.conf")).unwrap();
    let mut out: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| {
            let word = l.split_whitespace().next().unwrap_or("");
            !matches!(
                word,
                "" | "logfile" | "statsdir" | "statistics" | "filegen" | "logconfig"
            )
        })
        .map(
            |l| match (l.strip_prefix("keysdir "), l.starts_with("server ")) {
                (Some(k), _) => format!("keysdir {}\n", dir.join(k.trim()).display()),
                (None, true) => assoc.map_or_else(|| format!("{l}\n"), |a| format!("{a}\n")),
                (None, false) => format!("{l}\n"),
            },
        )
        .collect();
    out.push_str(extra);
    out
}

/// An hour after the server certificate of fixture `run` was made (the
/// filestamp behind `ntpkey_cert_alice`), so that it is valid.
fn after_certificate(run: &str) -> u32 {
    let link = run_dir(run).join("alice/keys/ntpkey_cert_alice");
    let file = std::fs::canonicalize(&link).unwrap();
    let stamp: u32 = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit('.').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{} has no filestamp", file.display()));
    stamp + 3600
}

/// What the manycast client ended with.
#[derive(Debug)]
struct Found {
    /// Remote addresses of its associations.
    remotes: Vec<IpAddr>,
    /// The Autokey flags of the association with the server.
    flags: u32,
    /// Whether that association is proventic.
    proventic: bool,
    /// Whether it is the system peer.
    selected: bool,
    /// Whether the solicitor has an Autokey engine (its polls carry ASSOC).
    solicitor_autokey: bool,
}

/// Fixture run `run`: alice (10.0.0.1) as `manycastserver 224.0.1.1`, bob
/// (10.0.0.2) with `manycastclient 224.0.1.1 autokey ident alice` in place
/// of his `server` line, `seconds` in memory.
fn manycast_run(run: &str, seconds: u32) -> Found {
    let sconf = fixture_conf(run, "alice", None, &format!("manycastserver {GROUP}\n"));
    let cconf = fixture_conf(
        run,
        "bob",
        Some(&format!(
            "manycastclient {GROUP} autokey ident alice minpoll 4 maxpoll 4"
        )),
        "",
    );
    assert!(!cconf.contains("server "), "{cconf}");
    let mut net = SimNetwork::new(DELAY, after_certificate(run));
    net.add_host("alice", ip(SERVER), &sconf, KeyRing::default(), 0.0)
        .unwrap();
    net.add_host("bob", ip(CLIENT), &cconf, KeyRing::default(), 0.0)
        .unwrap();
    net.run(seconds);
    let core = &net.host("bob").core;
    let remotes = core.assocs.iter().map(|r| r.assoc.remote().ip()).collect();
    let solicitor_autokey = core
        .assocs
        .iter()
        .find(|r| r.assoc.remote().ip() == ip(GROUP))
        .is_some_and(|r| r.assoc.auth.autokey_engine().is_some());
    let Some(r) = core
        .assocs
        .iter()
        .find(|r| r.assoc.remote().ip() == ip(SERVER))
    else {
        return Found {
            remotes,
            flags: 0,
            proventic: false,
            selected: false,
            solicitor_autokey,
        };
    };
    Found {
        remotes,
        flags: r.assoc.auth.autokey_engine().map_or(0, |e| e.flags()),
        proventic: r.assoc.auth.is_proventic(),
        selected: core.sys_peer() == Some(r.assoc.id),
        solicitor_autokey,
    }
}

#[test]
fn a_manycast_autokey_client_completes_tc_with_the_server_it_found() {
    let f = manycast_run("tc", 300);
    assert_eq!(f.remotes, [ip(GROUP), ip(SERVER)], "{f:?}");
    assert!(f.solicitor_autokey, "{f:?}");
    assert_eq!(
        f.flags & autokey::status::ALL,
        autokey::status::ALL,
        "every exchange done: {:#x}",
        f.flags
    );
    assert_eq!(
        f.flags & autokey::status::IDENT_MASK,
        0,
        "TC: {:#x}",
        f.flags
    );
    assert!(f.proventic && f.selected, "{f:?}");
}

#[test]
fn a_manycast_autokey_client_proves_the_servers_iff_identity() {
    let f = manycast_run("iff", 300);
    assert_eq!(f.remotes, [ip(GROUP), ip(SERVER)], "{f:?}");
    assert_eq!(
        f.flags & autokey::status::ALL,
        autokey::status::ALL,
        "{:#x}",
        f.flags
    );
    assert_ne!(
        f.flags & autokey::status::IFF,
        0,
        "IFF verified: {:#x}",
        f.flags
    );
    assert!(f.proventic && f.selected, "{f:?}");
}

/// The guide's server lines (§6.7.1.2) with the host name spelt out, orphan
/// mode (a server must be synchronised to answer and sign) and the
/// manycast group.
const SERVER_CONF: &str = "crypto host server pw serverpassword\nkeysdir /etc/ntp\n\
     disable ntp\nrestrict default nomodify notrap\ntos orphan 5 orphanwait 1\n\
     manycastserver 224.0.1.1\n";
/// The client: the guide's lines (§6.7.2.2), `tos orphan 10` so that SIGN
/// and LEAP run (as in the fixture runs), and the manycast client line
/// (the poll options only speed it up).
const CLIENT_CONF: &str = "crypto host client pw clientpassword\nkeysdir /etc/ntp\n\
     disable ntp\nrestrict default nomodify notrap\ntos orphan 10 orphanwait 1\n\
     manycastclient 224.0.1.1 autokey minpoll 3 maxpoll 3\n";
/// §6.7.1.3.1 IFF parameters, and their export for the client (mailed).
const IFF_GENERATE: &str = "cd /etc/ntp\nntp-keygen -T -I -p serverpassword";
const IFF_EXPORT: &str =
    "cd /etc/ntp\nntp-keygen -e -q serverpassword -p clientpassword | mail timelord@client.domain";
/// A trusted certificate only (TC).
const TC_GENERATE: &str = "cd /etc/ntp\nntp-keygen -T -p serverpassword";
/// §6.7.2.3 client keys.
const CLIENT_GENERATE: &str = "cd /etc/ntp\nntp-keygen -H -p clientpassword";

/// The server (its keys made by the guide lines `server_keys`; its
/// mailbox holds what they mailed) and the client: its host key and, when
/// `mail` is given, the IFF client key in it saved and linked as
/// `ntpkey_iff_server` (§6.7.2.4.1).
fn hosts(dir: &Path, server_keys: &str, mail: Option<&str>) -> (GuideHost, GuideHost) {
    let mut srv = GuideHost::new(dir, "server", SERVER_CONF);
    srv.run(server_keys);
    let mut client = GuideHost::new(dir, "client", CLIENT_CONF);
    client.run(CLIENT_GENERATE);
    let mail = mail
        .map(str::to_owned)
        .or_else(|| (!srv.mailbox.is_empty()).then(|| srv.mailbox.clone()));
    if let Some(m) = mail {
        let saved = client.receive_mail(&m);
        assert_eq!(saved.len(), 1, "{saved:?}");
        client.run(&format!(
            "cd /etc/ntp\nln -s {} ntpkey_iff_server",
            saved[0]
        ));
    }
    (srv, client)
}

/// Starts `srv` in namespace A and `client` in B (`-n -d`, output in
/// `server.out` / `client.out`).
fn start(lab: &mut Lab, srv: &GuideHost, client: &GuideHost) {
    let (a, b) = (lab.a.clone(), lab.b.clone());
    lab.route_multicast();
    let sconf = srv.conf.display().to_string();
    lab.spawn("server", &a, &[NTPD, "-n", "-d", "-c", &sconf]);
    let cconf = client.conf.display().to_string();
    lab.spawn("client", &b, &[NTPD, "-n", "-d", "-c", &cconf]);
}

/// `flags=0x…` of an ntpq listing (the number before our ntpq's words).
fn flags(text: &str) -> Option<u32> {
    text.split([',', '\n'])
        .map(str::trim)
        .find_map(|kv| kv.strip_prefix("flags=0x"))
        .and_then(|h| h.trim_matches('"').split(' ').next())
        .and_then(|h| u32::from_str_radix(h, 16).ok())
}

/// Waits until the client's association with the server it found (the
/// second association; the first is the solicitor) shows all of `want`
/// in its Autokey flags; returns that `rv` listing.
fn wait_flags(lab: &mut Lab, want: u32) -> String {
    let b = lab.b.clone();
    let server = lab.addr_a.clone();
    lab.wait_ntpq(
        Path::new(ntpq_binary()),
        &b,
        &["-n", "-c", "rv &2 srcadr,flags", "127.0.0.1"],
        Duration::from_secs(90),
        "the found server's Autokey flags",
        |out| {
            out.contains(&format!("srcadr={server}"))
                && flags(out).is_some_and(|f| f & want == want)
        },
    )
}

/// What every successful run shows: the client's certificate cache (the
/// server signed the client's certificate, the server's trusted one, the
/// client's own), `as` with the solicitor and the found server (auth
/// `ok`), the mobilisation logged.
fn assert_completed(lab: &Lab) {
    let b = lab.b.clone();
    let certs = lab.ntpq(
        &b,
        Path::new(ntpq_binary()),
        &["-c", "rv 0 cert", "127.0.0.1"],
    );
    assert_eq!(
        cert_list(&certs),
        [
            "client server 0x4",
            "server server 0x5",
            "client client 0x0"
        ],
        "{certs}"
    );
    let text = lab.ntpq(
        &b,
        Path::new(ntpq_binary()),
        &["-n", "-c", "as", "127.0.0.1"],
    );
    let rows = assoc_rows(&text);
    assert_eq!(rows.len(), 2, "{text}");
    // The solicitor: a send-only association with an Autokey key.
    assert_eq!(
        rows[0].get(3..6),
        Some(&["yes".to_string(), "none".into(), "yes".into()][..]),
        "{text}"
    );
    // The found server: ephemeral, reachable, authentic.
    assert_eq!(
        rows[1].get(3..6),
        Some(&["no".to_string(), "yes".into(), "ok".into()][..]),
        "{text}"
    );
    let log = lab.log("client");
    assert!(
        log.contains(&format!(
            "manycast: mobilize client association for {}",
            lab.addr_a
        )),
        "{log}"
    );
}

#[test]
fn iff_manycast_client_becomes_proventic_with_the_server_it_found() {
    require!(Need::Root, Need::IpNetns);
    let mut lab = Lab::new();
    let dir = lab.dir.join("iff");
    let (srv, client) = hosts(&dir, &format!("{IFF_GENERATE}\n{IFF_EXPORT}"), None);
    start(&mut lab, &srv, &client);
    let rv = wait_flags(&mut lab, autokey::status::ALL | autokey::status::IFF);
    let f = flags(&rv).unwrap();
    assert_eq!(
        f & autokey::status::IDENT_MASK,
        autokey::status::IFF,
        "{rv}"
    );
    assert_completed(&lab);
    let log = lab.log("client");
    assert!(
        log.lines()
            .any(|l| l.contains("IFF identity verified") && l.contains("ntpkey_iff_server")),
        "{log}"
    );
}

#[test]
fn tc_manycast_client_becomes_proventic_with_the_server_it_found() {
    require!(Need::Root, Need::IpNetns);
    let mut lab = Lab::new();
    let dir = lab.dir.join("tc");
    let (srv, client) = hosts(&dir, TC_GENERATE, None);
    start(&mut lab, &srv, &client);
    let rv = wait_flags(&mut lab, autokey::status::ALL);
    assert_eq!(
        flags(&rv).unwrap() & autokey::status::IDENT_MASK,
        0,
        "TC: {rv}"
    );
    assert_completed(&lab);
}

#[test]
fn manycast_client_with_another_groups_key_never_proves_the_server() {
    require!(Need::Root, Need::IpNetns);
    let mut lab = Lab::new();
    let dir = lab.dir.join("other");
    // Another trust group's server of the same name, and its export.
    let mut stranger = GuideHost::new(&dir.join("elsewhere"), "server", SERVER_CONF);
    stranger.run(IFF_GENERATE);
    stranger.run(IFF_EXPORT);
    let (srv, client) = hosts(&dir, IFF_GENERATE, Some(&stranger.mailbox));
    start(&mut lab, &srv, &client);
    let b = lab.b.clone();
    let server = lab.addr_a.clone();
    // The answer mobilises the association; its identity proof fails.
    let t0 = std::time::Instant::now();
    let line = loop {
        lab.assert_running();
        let log = lab.log("client");
        if let Some(l) = log
            .lines()
            .find(|l| l.contains("refused") && l.contains("IFF"))
        {
            break l.to_string();
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no refusal:\n{log}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        line.contains("ntpkey_iff_server") && line.contains("another group"),
        "{line}"
    );
    let rv = lab.ntpq(
        &b,
        Path::new(ntpq_binary()),
        &["-n", "-c", "rv &2 srcadr,flags", "127.0.0.1"],
    );
    assert!(rv.contains(&format!("srcadr={server}")), "{rv}");
    let f = flags(&rv).unwrap_or(0);
    assert_eq!(
        f & (autokey::status::PROV | autokey::status::IFF),
        0,
        "never proventic: {rv}"
    );
    assert!(
        !lab.log("client").contains("identity verified"),
        "{}",
        lab.log("client")
    );
}
