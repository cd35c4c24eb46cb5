//! Mode 6 served by the real daemon (RFC 9327): our `ntpq` against two of
//! our daemons in a network namespace the test creates — a `tos orphan 5`
//! server on 127.0.0.1 and a client of it on 127.0.0.2, both with
//! `disable ntp` and without CAP_SYS_TIME. Checks `ntpq -p`, `-c as`,
//! `-c rv`, `-c "rv &1"`, `-c sysstats` values, that `restrict noquery`
//! makes mode 6 silent while time service goes on, and that mode 7 is
//! dropped. Needs root, `ip netns` and python3 (see `prerequisite`).

#[path = "../ntpq/tests/ntpq_support/binary.rs"]
mod ntpq_binary;
mod prerequisite;
mod support;

use std::fs;
use std::process::Output;
use std::time::{Duration, Instant};

use ntpq_binary::ntpq_binary;
use prerequisite::{require, Need, PYTHON3};
use support::*;

struct Pair {
    ns: Netns,
    _scratch: Scratch,
    server: Daemon,
    client: Daemon,
}

/// Server (127.0.0.1, `server_extra` appended to its configuration) and a
/// client polling it every 16 s with iburst (127.0.0.2).
fn pair(tag: &str, server_extra: &str) -> Pair {
    pair_with(tag, server_extra, "")
}

/// [`pair`] with `client_options` added to the client's `server` line.
fn pair_with(tag: &str, server_extra: &str, client_options: &str) -> Pair {
    let ns = Netns::new(tag);
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    let scratch = Scratch::new(tag);
    let sconf = scratch.file(
        "server.conf",
        &format!("disable ntp\ntos orphan 5 orphanwait 1\n{server_extra}"),
    );
    let server = start_ntpd(
        Some(&ns),
        &sconf,
        &["-I", "127.0.0.1"],
        None,
        &scratch.path("server.log"),
    );
    let cconf = scratch.file(
        "client.conf",
        &format!("disable ntp\nserver 127.0.0.1 minpoll 4 maxpoll 4 iburst {client_options}\n"),
    );
    let client = start_ntpd(
        Some(&ns),
        &cconf,
        &["-I", "127.0.0.2"],
        None,
        &scratch.path("client.log"),
    );
    Pair {
        ns,
        _scratch: scratch,
        server,
        client,
    }
}

fn ntpq(ns: &Netns, args: &[&str]) -> Output {
    let mut argv = vec![ntpq_binary()];
    argv.extend_from_slice(args);
    ns.output(&argv)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `ntpq -n -p` row of 127.0.0.1, split into columns (the tally code
/// glued to the address, as printed).
fn peer_row(ns: &Netns) -> Option<Vec<String>> {
    let text = stdout(&ntpq(ns, &["-n", "-p", "127.0.0.2"]));
    text.lines()
        .find(|l| l.get(1..).is_some_and(|r| r.starts_with("127.0.0.1 ")))
        .map(|l| l.split_whitespace().map(String::from).collect())
}

/// `name=value` of an `ntpq -c rv` style listing.
fn var(text: &str, name: &str) -> Option<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .map(|v| v.trim_matches('"').to_string())
}

/// A `label: value` line of `ntpq -c sysstats`.
fn stat(text: &str, label: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|v| v.trim_start_matches(':').trim().parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in\n{text}"))
}

/// Send `hex` as one datagram from inside the namespace to `addr`:123 and
/// return the octets of every datagram answered within `wait_ms`.
fn raw(ns: &Netns, addr: &str, hex: &str, wait_ms: u32) -> Vec<Vec<u8>> {
    const SCRIPT: &str = "import socket,sys\n\
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
s.settimeout(int(sys.argv[3])/1000)\n\
s.sendto(bytes.fromhex(sys.argv[2]),(sys.argv[1],123))\n\
try:\n while True:\n  print(s.recv(4096).hex())\n\
except Exception:\n pass\n";
    let o = ns.output(&["python3", "-c", SCRIPT, addr, hex, &wait_ms.to_string()]);
    stdout(&o)
        .lines()
        .filter_map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(l.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()
        })
        .collect()
}

/// A mode 6 READSTAT (opcode 1) request, sequence 7, association 0.
const READSTAT: &str = "160100070000000000000000";
/// A mode 7 request (version 2, implementation XNTPD, REQ_PEER_LIST).
const MODE7: &str = "1700030000000000";

#[test]
fn ntpq_reads_our_client_and_server() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    let p = pair("m6", "");
    // `ntpq -n -p`: the server becomes the system peer (`*`) with a
    // growing reach register; poll every second, bounded.
    let t0 = Instant::now();
    let first = loop {
        if let Some(row) = peer_row(&p.ns) {
            if row[0] == "*127.0.0.1" && row[6] != "0" {
                break row;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "no `*` row within 40 s; ntpq -p:\n{}\nclient log:\n{}",
            stdout(&ntpq(&p.ns, &["-n", "-p", "127.0.0.2"])),
            p.client.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    eprintln!("first: {first:?}");
    assert_eq!(first[1], "127.0.0.1", "refid: the server's orphan refid");
    assert_eq!(first[2], "5", "stratum of the orphan parent");
    assert_eq!(first[3], "u", "unicast");
    assert_eq!(first[5], "16", "poll 2^4");
    let reach = |r: &[String]| u8::from_str_radix(&r[6], 8).unwrap();
    let delay: f64 = first[7].parse().unwrap();
    let offset: f64 = first[8].parse().unwrap();
    assert!(delay > 0.0 && delay < 10.0, "loopback delay {delay} ms");
    assert!(offset.abs() < 1.0, "same clock: offset {offset} ms");
    let t1 = Instant::now();
    let grown = loop {
        let row = peer_row(&p.ns).expect("the row stays");
        if reach(&row).count_ones() > reach(&first).count_ones() {
            break row;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(40),
            "reach never grew beyond {:o}",
            reach(&first)
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    eprintln!("grown: {grown:?}");
    assert_eq!(grown[0], "*127.0.0.1");

    // `ntpq -c as`: one configured, reachable, unauthenticated sys.peer.
    let as_text = stdout(&ntpq(&p.ns, &["-n", "-c", "as", "127.0.0.2"]));
    let row: Vec<&str> = as_text
        .lines()
        .nth(2)
        .unwrap_or_else(|| panic!("no association row:\n{as_text}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[0], "1", "{as_text}");
    let assid = row[1];
    let status = u16::from_str_radix(row[2], 16).unwrap();
    assert_eq!(status >> 8, 0x96, "config|reach|sys.peer: {as_text}");
    assert_eq!(&row[3..7], ["yes", "yes", "none", "sys.peer"], "{as_text}");

    // `ntpq -c rv`: the client's system variables. With `disable ntp`
    // and no orphan mode the leap indicator stays "unsynchronised" while
    // stratum, refid and the system peer follow the server, as the
    // reference's (it leaves leap 11 only when the discipline first
    // adjusts the clock or orphan mode makes the host orphan parent).
    let rv = stdout(&ntpq(&p.ns, &["-c", "rv", "127.0.0.2"]));
    assert!(rv.contains("leap_alarm, sync_ntp"), "{rv}");
    assert_eq!(var(&rv, "stratum").as_deref(), Some("6"), "{rv}");
    assert_eq!(var(&rv, "refid").as_deref(), Some("127.0.0.1"), "{rv}");
    assert_eq!(var(&rv, "leap").as_deref(), Some("11"), "{rv}");
    assert_eq!(var(&rv, "peer").as_deref(), Some(assid), "{rv}");
    assert_eq!(var(&rv, "tc").as_deref(), Some("4"), "{rv}");
    let off: f64 = var(&rv, "offset").expect("offset").parse().unwrap();
    assert!(off.abs() < 1.0, "offset {off} ms: {rv}");
    assert!(var(&rv, "version").unwrap().starts_with("ntpd "), "{rv}");
    assert!(var(&rv, "frequency").is_some() && var(&rv, "clk_wander").is_some());

    // `ntpq -c "rv ASSID"`: the association, with its clock filter.
    let pv = stdout(&ntpq(&p.ns, &["-c", &format!("rv {assid}"), "127.0.0.2"]));
    assert_eq!(var(&pv, "srcadr").as_deref(), Some("127.0.0.1"), "{pv}");
    assert_eq!(var(&pv, "dstadr").as_deref(), Some("127.0.0.2"), "{pv}");
    assert_eq!(var(&pv, "stratum").as_deref(), Some("5"), "{pv}");
    assert_eq!(var(&pv, "hmode").as_deref(), Some("3"), "{pv}");
    assert_eq!(var(&pv, "pmode").as_deref(), Some("4"), "{pv}");
    let filt = pv
        .lines()
        .find_map(|l| l.strip_prefix("filtdelay="))
        .unwrap_or_else(|| panic!("no filtdelay:\n{pv}"));
    let delays: Vec<f64> = filt
        .trim_end_matches(',')
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(delays.len(), 8, "{pv}");
    assert!(
        delays[0] > 0.0 && delays[0] < 10.0,
        "newest sample first: {delays:?}"
    );

    // `ntpq -c sysstats`: counters grow between two reads.
    let s1 = stdout(&ntpq(&p.ns, &["-c", "sysstats", "127.0.0.2"]));
    std::thread::sleep(Duration::from_millis(1100));
    let s2 = stdout(&ntpq(&p.ns, &["-c", "sysstats", "127.0.0.2"]));
    assert!(stat(&s2, "uptime") > stat(&s1, "uptime"), "{s1}\n{s2}");
    assert!(
        stat(&s2, "packets received") > stat(&s1, "packets received"),
        "{s1}\n{s2}"
    );
    assert!(stat(&s2, "processed for time") >= 2, "{s2}");
    assert!(
        stat(&s2, "current version") >= stat(&s2, "processed for time"),
        "{s2}"
    );

    // The server answers mode 6 too (an orphan parent: no associations).
    let srv = stdout(&ntpq(&p.ns, &["-c", "rv", "127.0.0.1"]));
    assert_eq!(var(&srv, "stratum").as_deref(), Some("5"), "{srv}");

    // Mode 7 is dropped silently; mode 6 still answers afterwards.
    assert!(raw(&p.ns, "127.0.0.2", MODE7, 800).is_empty());
    let answer = raw(&p.ns, "127.0.0.2", READSTAT, 1000);
    assert_eq!(answer.len(), 1, "one READSTAT response");
    assert_eq!(answer[0][0] & 0x3f, 0x16, "version 2, mode 6");
    assert_eq!(answer[0][1], 0x81, "response bit and READSTAT");
    let _ = &p.server;
}

#[test]
fn noquery_makes_mode6_silent_while_time_is_served() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    let p = pair(
        "m6nq",
        "restrict default noquery\nrestrict 127.0.0.2 noquery\n",
    );
    // The server serves time (the client synchronises to it)...
    wait_for(&p, Duration::from_secs(40));
    // ...but its mode 6 is silent: raw READSTAT and ntpq alike.
    assert!(raw(&p.ns, "127.0.0.1", READSTAT, 1000).is_empty());
    let o = ntpq(&p.ns, &["-c", "timeout 300", "-n", "-p", "127.0.0.1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!stdout(&o).contains("remote"), "no peer table");
    assert!(err.contains("timed out"), "ntpq: {err}");
    // The client, without noquery, answers.
    assert_eq!(raw(&p.ns, "127.0.0.2", READSTAT, 1000).len(), 1);
    let log = fs::read_to_string(&p.server.log).unwrap_or_default();
    assert!(!log.contains("panicked"), "{log}");
}

/// Wait until the client has the server as system peer.
fn wait_for(p: &Pair, within: Duration) {
    let t0 = Instant::now();
    while peer_row(&p.ns).is_none_or(|r| r[0] != "*127.0.0.1") {
        assert!(
            t0.elapsed() < within,
            "client never selected the server: {}",
            p.client.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `burst`: once the server is reachable each 16 s poll is eight requests,
/// so `ntpq -c pstats` shows at least eight more packets sent within one
/// poll interval plus the burst's 14 s (without `burst`: one or two).
#[test]
fn burst_sends_eight_requests_per_poll() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    let p = pair_with("m6burst", "", "burst");
    wait_for(&p, Duration::from_secs(40));
    let sent = || {
        let as_text = stdout(&ntpq(&p.ns, &["-n", "-c", "as", "127.0.0.2"]));
        let assid = as_text
            .lines()
            .nth(2)
            .and_then(|l| l.split_whitespace().nth(1).map(String::from))
            .unwrap_or_else(|| panic!("no association:\n{as_text}"));
        let ps = stdout(&ntpq(
            &p.ns,
            &["-c", &format!("pstats {assid}"), "127.0.0.2"],
        ));
        stat(&ps, "packets sent")
    };
    let before = sent();
    let t0 = Instant::now();
    loop {
        let now = sent();
        if now >= before + 8 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(34),
            "only {} requests in {:?} (from {before})",
            now - before,
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}
