//! Whole daemons in memory: real `Core`s joined by `ntpd::daemon::simnet`
//! (a simulated network and one simulated clock), no sockets, no root,
//! no namespaces. Client/server, symmetric peers with a key, multicast
//! broadcast, and Autokey (TC and IFF, on the reference fixture keys of
//! `tests/data/autokey-ref/runs/`), each asserted on what the client
//! computed: the system peer, stratum, the offset against the wall-clock
//! error the test gave it, and the Autokey flags.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ntpd::auth::KeyRing;
use ntpd::daemon::simnet::{SimHost, SimNetwork};
use ntpd::daemon::SIM_EPOCH_NTP_SECONDS;

const SERVER: &str = "10.0.0.1";
const CLIENT: &str = "10.0.0.2";
/// One-way delay of the simulated network.
const DELAY: f64 = 0.002;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Keys 1 (MD5) and 2 (SHA1), both trusted.
fn keys() -> KeyRing {
    let f = config::keys::parse_str("1 MD5 one\n2 SHA1 two\n", Path::new("keys")).unwrap();
    let mut k = KeyRing::from_file(&f);
    k.trust(1);
    k.trust(2);
    k
}

/// The association of `host` with `remote`: (offset, reach register,
/// whether it is the system peer).
fn association(host: &SimHost, remote: &str) -> (f64, u8, bool) {
    let r = host
        .core
        .assocs
        .iter()
        .find(|r| r.assoc.remote().ip() == ip(remote))
        .unwrap_or_else(|| panic!("{} has no association with {remote}", host.name));
    let offset = r
        .assoc
        .peer
        .filter()
        .output()
        .map_or(f64::NAN, |o| o.offset);
    let selected = host.core.sys_peer() == Some(r.assoc.id);
    (offset, r.assoc.peer.reach().register(), selected)
}

/// A network with host "server" at [`SERVER`]: an orphan-mode stratum-5
/// server on a perfect clock.
fn network_with_a_server() -> SimNetwork {
    let mut net = SimNetwork::new(DELAY, SIM_EPOCH_NTP_SECONDS);
    net.add_host(
        "server",
        ip(SERVER),
        "tos orphan 5 orphanwait 1\n",
        keys(),
        0.0,
    )
    .unwrap();
    net
}

#[test]
fn a_client_selects_its_server_and_measures_its_own_clock_error() {
    let mut net = network_with_a_server();
    let conf = format!("server {SERVER} iburst minpoll 4 maxpoll 4\n");
    net.add_host("client", ip(CLIENT), &conf, keys(), 0.025)
        .unwrap();
    net.run(150);
    let client = net.host("client");
    let (offset, reach, selected) = association(client, SERVER);
    assert!(selected, "the server is the system peer");
    assert_eq!(client.core.sys.stratum, 6);
    assert_eq!(reach, 0o377, "eight polls answered");
    assert!(
        (offset + 0.025).abs() < 1e-6,
        "offset {offset}: the client is 25 ms ahead"
    );
    assert!(net.delivered > 20);
}

/// `nts` asked for where no NTS-KE client serves the address (a `pool`
/// or `peer` line; NTS runs on `server` lines): the association is not
/// mobilised, never run as unauthenticated NTP.
#[test]
fn nts_without_an_nts_ke_client_never_falls_back_to_plain_ntp() {
    let mut net = network_with_a_server();
    let conf = format!("peer {SERVER} nts minpoll 4 maxpoll 4\npool {SERVER} nts iburst\n");
    net.add_host("client", ip(CLIENT), &conf, keys(), 0.0)
        .unwrap();
    net.run(40);
    let client = net.host("client");
    assert!(
        client.core.assocs.is_empty(),
        "no association runs without NTS: {:?}",
        client
            .core
            .assocs
            .iter()
            .map(|r| r.assoc.remote())
            .collect::<Vec<_>>()
    );
}

#[test]
fn symmetric_peers_with_a_key_reach_each_other() {
    let mut net = SimNetwork::new(DELAY, SIM_EPOCH_NTP_SECONDS);
    let a = format!("tos orphan 5 orphanwait 1\npeer {CLIENT} key 1 minpoll 4 maxpoll 4\n");
    let b = format!("tos orphan 10 orphanwait 1\npeer {SERVER} key 1 minpoll 4 maxpoll 4\n");
    net.add_host("a", ip(SERVER), &a, keys(), 0.0).unwrap();
    // Started 5 s apart, as two machines are: polls of the same period
    // that leave at the same instant cross in flight and each side finds
    // the other's origin timestamp stale (RFC 5905 §8, the bogus test).
    net.run(5);
    net.add_host("b", ip(CLIENT), &b, keys(), -0.010).unwrap();
    net.run(200);
    let (offset, reach, selected) = association(net.host("b"), SERVER);
    let (_, reach_a, _) = association(net.host("a"), CLIENT);
    assert!(
        selected,
        "b follows a, the lower stratum: b reach {reach:o} offset {offset}, a reach {reach_a:o}, a stratum {} leap {:?}, b stratum {}",
        net.host("a").core.sys.stratum,
        net.host("a").core.sys.leap,
        net.host("b").core.sys.stratum
    );
    assert_eq!(net.host("b").core.sys.stratum, 6);
    assert!((offset - 0.010).abs() < 1e-6, "offset {offset}");
    assert!(reach.count_ones() >= 7, "reach {reach:o}");
    assert!(
        reach_a.count_ones() >= 7,
        "a hears b too: reach {reach_a:o}"
    );
}

#[test]
fn a_wrong_key_keeps_a_symmetric_peer_out() {
    let mut net = SimNetwork::new(DELAY, SIM_EPOCH_NTP_SECONDS);
    let a = format!("tos orphan 5 orphanwait 1\npeer {CLIENT} key 1 minpoll 4 maxpoll 4\n");
    let b = format!("tos orphan 10 orphanwait 1\npeer {SERVER} key 2 minpoll 4 maxpoll 4\n");
    net.add_host("a", ip(SERVER), &a, keys(), 0.0).unwrap();
    net.add_host("b", ip(CLIENT), &b, keys(), 0.0).unwrap();
    net.run(120);
    let (_, reach, selected) = association(net.host("b"), SERVER);
    assert!(!selected);
    assert_eq!(reach, 0, "nothing from a verifies under key 2");
}

#[test]
fn a_multicast_client_mobilises_on_the_servers_broadcasts() {
    let mut net = SimNetwork::new(DELAY, SIM_EPOCH_NTP_SECONDS);
    let server = "tos orphan 5 orphanwait 1\nbroadcast 224.0.1.1 minpoll 4\n";
    net.add_host("server", ip(SERVER), server, keys(), 0.0)
        .unwrap();
    let client = "disable auth\nmulticastclient 224.0.1.1\n";
    net.add_host("client", ip(CLIENT), client, keys(), 0.040)
        .unwrap();
    net.run(300);
    let host = net.host("client");
    let (offset, reach, selected) = association(host, SERVER);
    assert!(selected, "the broadcaster is the system peer");
    assert_eq!(host.core.sys.stratum, 6);
    assert!(reach.count_ones() >= 4, "reach {reach:o}");
    // The calibration volley measured the real delay, so only the
    // (symmetric) path is left out of the offset.
    assert!((offset + 0.040).abs() < 1e-3, "offset {offset}");
}

/// A fixture run folder.
fn run_dir(run: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/autokey-ref/runs")
        .join(run)
}

/// A fixture host's `ntp.conf` for the simulation: the reference's own
/// directives, with the keys directory made absolute and the files and
/// logs it would write left out.
fn fixture_conf(run: &str, host: &str) -> String {
    let dir = run_dir(run).join(host);
    let text = std::fs::read_to_string(dir.join("ntp.conf")).unwrap();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| {
            let word = l.split_whitespace().next().unwrap_or("");
            !matches!(
                word,
                "" | "logfile" | "statsdir" | "statistics" | "filegen" | "logconfig"
            )
        })
        .map(|l| match l.strip_prefix("keysdir ") {
            Some(k) => format!("keysdir {}\n", dir.join(k.trim()).display()),
            None => format!("{l}\n"),
        })
        .collect()
}

/// The host name a fixture `ntp.conf` gives in `crypto host NAME`.
fn crypto_host(conf: &str) -> String {
    conf.lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("crypto")).then(|| {
                w.skip_while(|&x| x != "host")
                    .nth(1)
                    .expect("crypto host NAME")
                    .to_owned()
            })
        })
        .expect("a crypto line")
}

/// An hour after the certificate of the fixture host was made (its
/// filestamp, the NTP seconds in the file name behind the link), so that
/// the certificates are valid in the simulation.
fn after_certificate(run: &str, host: &str, name: &str) -> u32 {
    let link = run_dir(run)
        .join(host)
        .join("keys")
        .join(format!("ntpkey_cert_{name}"));
    let file = std::fs::canonicalize(&link).unwrap();
    let stamp: u32 = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit('.').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{} has no filestamp", file.display()));
    stamp + 3600
}

/// Runs fixture run `run` (server `alice`-like at 10.0.0.1, client at
/// 10.0.0.2, as its ntp.conf files say) in memory; the client's Autokey
/// flags for its server and whether it selected it.
fn autokey_run(run: &str, server: &str, client: &str) -> (u32, bool) {
    let sconf = fixture_conf(run, server);
    let cconf = fixture_conf(run, client);
    let epoch = after_certificate(run, server, &crypto_host(&sconf));
    let mut net = SimNetwork::new(DELAY, epoch);
    net.add_host(server, ip(SERVER), &sconf, KeyRing::default(), 0.0)
        .unwrap();
    net.add_host(client, ip(CLIENT), &cconf, KeyRing::default(), 0.0)
        .unwrap();
    net.run(240);
    let host = net.host(client);
    let r = host
        .core
        .assocs
        .iter()
        .find(|r| r.assoc.remote().ip() == ip(SERVER))
        .expect("the client's association");
    let flags = r
        .assoc
        .auth
        .autokey_engine()
        .expect("an Autokey engine")
        .flags();
    (flags, host.core.sys_peer() == Some(r.assoc.id))
}

#[test]
fn autokey_tc_completes_between_two_cores_on_the_fixture_keys() {
    let (flags, selected) = autokey_run("tc", "alice", "bob");
    assert_eq!(
        flags & autokey::status::ALL,
        autokey::status::ALL,
        "every exchange done: {flags:#x}"
    );
    assert_eq!(
        flags & autokey::status::IDENT_MASK,
        0,
        "TC: no identity scheme"
    );
    assert!(selected);
}

#[test]
fn autokey_iff_proves_the_servers_identity_between_two_cores() {
    let (flags, selected) = autokey_run("iff", "alice", "bob");
    assert_eq!(
        flags & autokey::status::ALL,
        autokey::status::ALL,
        "{flags:#x}"
    );
    assert_ne!(flags & autokey::status::IFF, 0, "IFF verified: {flags:#x}");
    assert!(selected);
}

/// A mode 1 packet from nobody's engine: an extension field and a MAC with
/// an Autokey key ID, the digest made up. Anyone can send one; no
/// association may stay behind it.
fn forged_symmetric_autokey() -> Vec<u8> {
    let mut head = [0u8; 48];
    head[0] = 0x21; // LI 0, version 4, mode 1
    head[2] = 4;
    head[40..48].copy_from_slice(&[0xe9, 0, 0, 0, 0, 0, 0, 1]);
    proto::Packet {
        header: proto::Header::parse(&head).unwrap(),
        fields: vec![proto::exten::ExtensionField::new(0x0102, &[0; 12]).unwrap()],
        mac: Some(proto::mac::Mac::new(0x8000_1234, &[0xab; 16]).unwrap()),
    }
    .serialize()
}

#[test]
fn a_symmetric_autokey_peer_mobilises_a_passive_association_and_forgeries_do_not() {
    let run = "p10-sym-tc";
    let aconf = fixture_conf(run, "alice");
    // bob without his `peer` line: alice's first packet mobilises him.
    let bconf: String = fixture_conf(run, "bob")
        .lines()
        .filter(|l| !l.starts_with("peer "))
        .map(|l| format!("{l}\n"))
        .collect();
    let epoch = after_certificate(run, "alice", &crypto_host(&aconf)).max(after_certificate(
        run,
        "bob",
        &crypto_host(&bconf),
    ));
    let mut net = SimNetwork::new(DELAY, epoch);
    net.add_host("alice", ip(SERVER), &aconf, KeyRing::default(), 0.0)
        .unwrap();
    net.add_host("bob", ip(CLIENT), &bconf, KeyRing::default(), 0.0)
        .unwrap();
    let forged = forged_symmetric_autokey();
    for k in 0..20u8 {
        let src = std::net::SocketAddr::new(IpAddr::from([10, 0, 0, 100 + k]), 123);
        net.inject(src, (ip(CLIENT), 123).into(), forged.clone());
    }
    net.run(600);
    let bob = net.host("bob");
    let remotes: Vec<IpAddr> = bob
        .core
        .assocs
        .iter()
        .map(|r| r.assoc.remote().ip())
        .collect();
    assert_eq!(remotes, [ip(SERVER)], "only alice's packets mobilised");
    let r = &bob.core.assocs[0];
    assert!(r.assoc.cfg.ephemeral);
    let flags = r.assoc.auth.autokey_engine().expect("an engine").flags();
    assert!(r.assoc.auth.is_proventic(), "alice proventic: {flags:#x}");
    assert!(
        bob.core.policy.access.stats.restricted >= 20,
        "each forgery counted as restricted: {}",
        bob.core.policy.access.stats.restricted
    );
}
