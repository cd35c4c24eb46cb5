//! Two of our daemons in one network namespace the test creates, on the
//! distinct loopback addresses 127.0.0.1 (server, a `tos orphan 5` parent)
//! and 127.0.0.2 (client), both with `disable ntp` and without
//! CAP_SYS_TIME. The client's state is read from its peerstats file and by
//! querying it. Needs root; skipped otherwise.

mod support;

use std::fs;
use std::time::{Duration, Instant};

use support::*;

fn ready() -> bool {
    if !is_root() {
        eprintln!("skipped: needs root to create a network namespace");
        return false;
    }
    if !have("ntpdig") {
        eprintln!("skipped: ntpdig not installed (apt-get install ntpsec-ntpdig)");
        return false;
    }
    true
}

const KEYS: &str = "1 MD5 md5secret\n2 SHA1 0123456789abcdef0123456789abcdef01234567\n";
const WRONG_KEYS: &str = "1 MD5 other\n2 SHA1 0123456789abcdef0123456789abcdef01234568\n";

struct Pair {
    ns: Netns,
    scratch: Scratch,
    _server: Daemon,
    client: Daemon,
}

fn pair(tag: &str, server_extra: &str, client_keys: Option<&str>, server_line: &str) -> Pair {
    let ns = Netns::new(tag);
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    // Multicast over the namespace's loopback.
    ns.run(&["ip", "link", "set", "lo", "multicast", "on"]);
    ns.run(&["ip", "route", "add", "224.0.0.0/4", "dev", "lo"]);
    let scratch = Scratch::new(tag);
    let skeys = scratch.file("server.keys", KEYS);
    let sconf = scratch.file(
        "server.conf",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nkeys {}\ntrustedkey 1 2\n{server_extra}",
            skeys.display()
        ),
    );
    let server = start_ntpd(
        Some(&ns),
        &sconf,
        &["-I", "127.0.0.1"],
        None,
        &scratch.path("server.log"),
    );
    let stats = scratch.path("stats");
    fs::create_dir_all(&stats).unwrap();
    let mut cconf = format!(
        "disable ntp\nstatsdir {}/\nstatistics peerstats loopstats\n\
         filegen peerstats file peerstats type none enable\n\
         filegen loopstats file loopstats type none enable\n{server_line}\n",
        stats.display()
    );
    if let Some(k) = client_keys {
        let ckeys = scratch.file("client.keys", k);
        cconf.push_str(&format!("keys {}\ntrustedkey 1 2\n", ckeys.display()));
    }
    let cconf = scratch.file("client.conf", &cconf);
    let client = start_ntpd(
        Some(&ns),
        &cconf,
        &["-I", "127.0.0.2", "-d"],
        None,
        &scratch.path("client.log"),
    );
    Pair {
        ns,
        scratch,
        _server: server,
        client,
    }
}

fn peerstats(p: &Pair) -> Vec<Vec<String>> {
    fs::read_to_string(p.scratch.path("stats/peerstats"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

/// Wait until the latest peerstats line shows 127.0.0.1 as the system
/// peer (selection code 6) and reachable; return that line.
fn wait_sys_peer(p: &Pair, within: Duration) -> Vec<String> {
    let t0 = Instant::now();
    loop {
        if let Some(last) = peerstats(p).last() {
            let status = u16::from_str_radix(&last[3], 16).unwrap();
            if status >> 8 & 7 == 6 {
                return last.clone();
            }
        }
        assert!(
            t0.elapsed() < within,
            "client never selected the server; client log:\n{}",
            p.client.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn client_stratum(p: &Pair) -> Option<String> {
    let o = p.ns.output(&["ntpdig", "-j", "-t", "1", "127.0.0.2"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let at = out.find("\"stratum\":")? + 10;
    Some(out[at..].split([',', '}']).next()?.to_owned())
}

/// The client's advertised stratum and reference ID, by a raw query.
fn client_state(p: &Pair) -> (u8, [u8; 4]) {
    p.ns.query("127.0.0.2").expect("the client answers")
}

fn assert_synced(p: &Pair, authenticated: bool) {
    let line = wait_sys_peer(p, Duration::from_secs(30));
    assert_eq!(line[2], "127.0.0.1");
    let status = u16::from_str_radix(&line[3], 16).unwrap();
    assert_eq!(status >> 8 & 0x80, 0x80, "configured");
    assert_eq!(status >> 8 & 0x10, 0x10, "reachable");
    if authenticated {
        assert_eq!(
            status >> 8 & 0x60,
            0x60,
            "authenable and authentic: {status:x}"
        );
    }
    let offset: f64 = line[4].parse().unwrap();
    let delay: f64 = line[5].parse().unwrap();
    assert!(offset.abs() < 0.001, "same clock: offset {offset}");
    assert!(delay > 0.0 && delay < 0.01, "loopback delay {delay}");
    assert_eq!(
        client_stratum(p).as_deref(),
        Some("6"),
        "ntpdig sees stratum 6"
    );
    assert_eq!(
        client_state(p),
        (6, [127, 0, 0, 1]),
        "refid names the server"
    );
}

#[test]
fn our_client_syncs_to_our_server() {
    if !ready() {
        return;
    }
    let p = pair(
        "sync",
        "",
        None,
        "server 127.0.0.1 minpoll 4 maxpoll 4 iburst",
    );
    assert_synced(&p, false);
}

#[test]
fn md5_and_sha1_keys_accepted_with_the_right_secret() {
    if !ready() {
        return;
    }
    for key in [1, 2] {
        let p = pair(
            &format!("key{key}"),
            "",
            Some(KEYS),
            &format!("server 127.0.0.1 key {key} minpoll 4 maxpoll 4 iburst"),
        );
        assert_synced(&p, true);
    }
}

#[test]
fn wrong_secret_is_refused_and_never_synchronises() {
    if !ready() {
        return;
    }
    let p = pair(
        "wrongkey",
        "",
        Some(WRONG_KEYS),
        "server 127.0.0.1 key 1 minpoll 4 maxpoll 4 iburst",
    );
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        peerstats(&p).is_empty(),
        "no sample may pass: {:?}",
        peerstats(&p)
    );
    assert_eq!(
        client_state(&p),
        (0, *b"INIT"),
        "client still unsynchronised"
    );
}

#[test]
fn restricted_client_is_told_to_go_away() {
    if !ready() {
        return;
    }
    // The server denies 127.0.0.2 with a KoD: the client stops polling and
    // never synchronises.
    let p = pair(
        "kod",
        "restrict 127.0.0.2 noserve kod\n",
        None,
        "server 127.0.0.1 minpoll 4 maxpoll 4 iburst",
    );
    std::thread::sleep(Duration::from_secs(6));
    assert!(peerstats(&p).is_empty());
    assert_eq!(client_state(&p), (0, *b"INIT"));
}

#[test]
fn authenticated_symmetric_peer_mobilises_a_passive_association() {
    if !ready() {
        return;
    }
    // 127.0.0.1 (orphan stratum 5) has `peer 127.0.0.2 key 1`; 127.0.0.2
    // has no association of its own and answers with an ephemeral passive
    // one, then synchronises to its peer.
    // Symmetric modes have no burst: at 8 s polls the filter needs about
    // four exchanges before the distance is low enough to select.
    let p = pair(
        "sym",
        "peer 127.0.0.2 key 1 minpoll 3 maxpoll 3\n",
        Some(KEYS),
        "",
    );
    let line = wait_sys_peer(&p, Duration::from_secs(90));
    assert_eq!(line[2], "127.0.0.1");
    let status = u16::from_str_radix(&line[3], 16).unwrap();
    assert_eq!(
        status >> 8 & 0x70,
        0x70,
        "key, authentic, reachable: {status:x}"
    );
    assert!(line[4].parse::<f64>().unwrap().abs() < 0.001);
    assert_eq!(client_state(&p), (6, [127, 0, 0, 1]));
}

#[test]
fn unauthenticated_symmetric_peer_is_not_mobilised() {
    if !ready() {
        return;
    }
    let p = pair(
        "symnoauth",
        "peer 127.0.0.2 minpoll 4 maxpoll 4\n",
        None,
        "",
    );
    std::thread::sleep(Duration::from_secs(8));
    assert!(peerstats(&p).is_empty(), "{:?}", peerstats(&p));
    assert_eq!(client_state(&p), (0, *b"INIT"));
}

#[test]
fn broadcast_server_to_authenticated_broadcast_client() {
    if !ready() {
        return;
    }
    // Mode 5 to the loopback broadcast address every 8 s, signed with key
    // 2 (SHA1); the client listens with `broadcastclient`.
    let p = pair(
        "bcast",
        "broadcast 127.255.255.255 key 2 minpoll 3\n",
        Some(KEYS),
        "broadcastclient",
    );
    let line = wait_sys_peer(&p, Duration::from_secs(40));
    assert_eq!(line[2], "127.0.0.1");
    let offset: f64 = line[4].parse().unwrap();
    // The client-mode volley calibrated the delay: no 2 ms bias from the
    // default broadcastdelay (4 ms) remains.
    assert!(offset.abs() < 0.001, "offset {offset}");
    assert!(
        p.client
            .log_text()
            .contains("127.0.0.1:123: broadcast delay calibrated to"),
        "{}",
        p.client.log_text()
    );
    assert_eq!(client_state(&p), (6, [127, 0, 0, 1]));
}

#[test]
fn unauthenticated_broadcasts_are_ignored_while_auth_is_enabled() {
    if !ready() {
        return;
    }
    let p = pair(
        "bcastnoauth",
        "broadcast 127.255.255.255 minpoll 3\n",
        Some(KEYS),
        "broadcastclient",
    );
    std::thread::sleep(Duration::from_secs(12));
    assert!(peerstats(&p).is_empty(), "{:?}", peerstats(&p));
    assert_eq!(client_state(&p), (0, *b"INIT"));
}

#[test]
fn multicast_server_to_multicast_client_on_224_0_1_1() {
    if !ready() {
        return;
    }
    let p = pair(
        "mcast",
        "broadcast 224.0.1.1 ttl 1 key 1 minpoll 3\n",
        Some(KEYS),
        "multicastclient 224.0.1.1",
    );
    let line = wait_sys_peer(&p, Duration::from_secs(40));
    assert_eq!(line[2], "127.0.0.1");
    assert_eq!(client_state(&p), (6, [127, 0, 0, 1]));
}

#[test]
fn quit_option_exits_once_the_clock_would_be_set_and_pool_resolves_names() {
    if !ready() {
        return;
    }
    // `pool localhost` resolves through /etc/hosts to 127.0.0.1 (and ::1,
    // where nothing listens); with -q the client exits 0 after the first
    // clock update (`disable ntp`: the update is computed, not applied).
    let ns = Netns::new("quit");
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    let scratch = Scratch::new("quit");
    let sconf = scratch.file("server.conf", "disable ntp\ntos orphan 5 orphanwait 1\n");
    let _server = start_ntpd(
        Some(&ns),
        &sconf,
        &["-I", "127.0.0.1"],
        None,
        &scratch.path("s.log"),
    );
    let cconf = scratch.file(
        "client.conf",
        "disable ntp\npool localhost minpoll 4 maxpoll 4 iburst\n",
    );
    let mut client = start_ntpd(
        Some(&ns),
        &cconf,
        &["-I", "127.0.0.2", "-q", "-d"],
        None,
        &scratch.path("c.log"),
    );
    let mut child = client.child.take().unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t0.elapsed() > Duration::from_secs(40) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("-q did not exit: {}", client.log_text());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status.code(), Some(0), "{}", client.log_text());
    let log = client.log_text();
    assert!(log.contains("association 127.0.0.1:123"), "{log}");
    assert!(log.contains("-q: the clock is set, exiting"), "{log}");
}

#[test]
fn ippeerlimit_zero_forbids_even_an_authenticated_passive_association() {
    if !ready() {
        return;
    }
    let p = pair(
        "ippeerlimit",
        "peer 127.0.0.2 key 1 minpoll 3 maxpoll 3\n",
        Some(KEYS),
        "restrict 127.0.0.1 ippeerlimit 0",
    );
    std::thread::sleep(Duration::from_secs(10));
    assert!(peerstats(&p).is_empty(), "{:?}", peerstats(&p));
    assert_eq!(client_state(&p), (0, *b"INIT"));
    // Authentic mode 1 packets arrived, yet nothing was mobilised.
    assert!(
        !p.client.log_text().contains("mobilize ephemeral"),
        "{}",
        p.client.log_text()
    );
}

#[test]
fn ipv6_client_and_server_on_unique_local_addresses() {
    if !ready() {
        return;
    }
    let ns = Netns::new("v6");
    for a in ["fd00::1/128", "fd00::2/128"] {
        ns.run(&["ip", "-6", "addr", "add", a, "dev", "lo", "nodad"]);
    }
    let scratch = Scratch::new("v6");
    let sconf = scratch.file("s.conf", "disable ntp\ntos orphan 5 orphanwait 1\n");
    let _server = start_ntpd(
        Some(&ns),
        &sconf,
        &["-I", "fd00::1"],
        None,
        &scratch.path("s.log"),
    );
    let stats = scratch.path("stats");
    fs::create_dir_all(&stats).unwrap();
    let cconf = scratch.file(
        "c.conf",
        &format!(
            "disable ntp\nstatsdir {}/\nstatistics peerstats\n\
             filegen peerstats file peerstats type none enable\n\
             server fd00::1 minpoll 4 maxpoll 4 iburst\n",
            stats.display()
        ),
    );
    let client = start_ntpd(
        Some(&ns),
        &cconf,
        &["-I", "fd00::2"],
        None,
        &scratch.path("c.log"),
    );
    let t0 = Instant::now();
    let line = loop {
        let text = fs::read_to_string(stats.join("peerstats")).unwrap_or_default();
        if let Some(l) = text.lines().last() {
            let f: Vec<String> = l.split_whitespace().map(String::from).collect();
            if u16::from_str_radix(&f[3], 16).unwrap() >> 8 & 7 == 6 {
                break f;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{}",
            client.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(line[2], "fd00::1");
    assert!(line[4].parse::<f64>().unwrap().abs() < 0.001);
    // ntpdig over IPv6: the client serves stratum 6.
    let o = ns.output(&["ntpdig", "-j", "-t", "1", "fd00::2"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("\"stratum\":6"), "{out}");
}
