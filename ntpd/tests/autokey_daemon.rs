//! Autokey (RFC 5906) between two of our daemons, in a network namespace
//! the test creates: alice (127.0.0.1, `tos orphan 5`) serves with the
//! reference fixture keys of `runs/iff/alice` (host key, trusted
//! certificate, IFF group key, `crypto pw serverpassword`); bob
//! (127.0.0.2, `tos orphan 10` so that SIGN and LEAP run, as in the
//! fixture run) is a `server 127.0.0.1 autokey ident alice` client with
//! the keys of `runs/iff/bob` (its own host key and certificate, the
//! repaired IFF client parameters). Both with `disable ntp` and without
//! CAP_SYS_TIME. Asserted through our `ntpq`, against what the reference
//! showed in `runs/iff/bob/ntpq-c-rv-*.txt`: the peer flags complete
//! (0x87f23: ENAB|TAI, IFF, every client bit incl. PROV and LEAP), the
//! `auth` column `ok`, the certificate list, the host variables; and that
//! an Autokey request with a bad MAC gets only a 52-octet crypto-NAK.
//! Needs root, `ip netns` and python3 (see `prerequisite`).
//!
//! Also (no root needed): a key file that does not decrypt stops the
//! daemon at start-up with a message naming the file (brief §9.2).

#[path = "../ntpq/tests/ntpq_support/binary.rs"]
mod ntpq_binary;
mod prerequisite;
mod support;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ntpq_binary::ntpq_binary;
use prerequisite::{require, Need, PYTHON3};
use support::*;

fn run_keys(host: &str) -> PathBuf {
    run_dir("iff").join(host).join("keys")
}

fn ntpq(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec![ntpq_binary()];
    argv.extend_from_slice(args);
    let o: Output = ns.output(&argv);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `name=value` of an `ntpq -c rv` style listing.
fn var(text: &str, name: &str) -> Option<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .map(|v| v.trim_matches('"').to_string())
}

/// Polls `ntpq -c CMD ADDR` until variable `name` reads `want`.
fn wait_var(
    ns: &Netns,
    addr: &str,
    cmd: &str,
    name: &str,
    want: &str,
    within: Duration,
    d: &Daemon,
) -> String {
    let t0 = Instant::now();
    loop {
        let text = ntpq(ns, &["-c", cmd, addr]);
        if var(&text, name).as_deref() == Some(want) {
            return text;
        }
        assert!(
            t0.elapsed() < within,
            "{addr}: `{cmd}` never showed {name}={want}; last:\n{text}\nlog:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Sends `hex` from inside the namespace to `addr`:123; the replies.
fn raw(ns: &Netns, addr: &str, hex: &str) -> Vec<String> {
    const SCRIPT: &str = "import socket,sys\n\
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
s.settimeout(1)\n\
s.sendto(bytes.fromhex(sys.argv[2]),(sys.argv[1],123))\n\
try:\n while True:\n  print(s.recv(4096).hex())\n\
except Exception:\n pass\n";
    let o = ns.output(&["python3", "-c", SCRIPT, addr, hex]);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// A fixture run folder (`runs/<run>`).
fn run_dir(run: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/autokey-ref/runs")
        .join(run)
}

/// The directive lines of a fixture `ntp.conf` starting with `word`,
/// comments removed.
fn conf_lines(run: &str, host: &str, word: &str) -> Vec<String> {
    let text = std::fs::read_to_string(run_dir(run).join(host).join("ntp.conf")).unwrap();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| l.split_whitespace().next() == Some(word))
        .collect()
}

/// A reference ntpq output file of `host` in `run`: the first whose name
/// satisfies `pick`.
fn reference_output(run: &str, host: &str, pick: impl Fn(&str) -> bool) -> String {
    let dir = run_dir(run).join(host);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| pick(n))
        .collect();
    names.sort();
    let name = names
        .first()
        .unwrap_or_else(|| panic!("no such output in {}", dir.display()));
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// The `cert=` values of an `rv 0 cert` listing, in order.
fn cert_list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter_map(|kv| kv.strip_prefix("cert="))
        .map(String::from)
        .collect()
}

/// Runs the fixture run `run` (client/server Autokey) with our daemons:
/// alice with the run's `crypto` line and keys, bob with its `server …
/// autokey [ident …]` line (10.0.0.1 → 127.0.0.1), `crypto` line and keys,
/// and compares what our ntpq shows with the reference's recorded ntpq
/// outputs of that run.
fn client_server_run(run: &str) {
    client_server_run_with(run, &[]);
}

/// [`client_server_run`] with `extra` options on both daemons (`-F 1`).
fn client_server_run_with(run: &str, extra: &[&str]) {
    let tag = format!("ak-{run}{}", extra.concat());
    let ns = Netns::new(&tag);
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    let scratch = Scratch::new(&tag);
    let keys = |host: &str| run_dir(run).join(host).join("keys");
    let aconf = scratch.file(
        "alice.conf",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nrestrict default nomodify notrap\n\
             keysdir {}\n{}\n",
            keys("alice").display(),
            conf_lines(run, "alice", "crypto").join("\n")
        ),
    );
    let alice = start_ntpd(
        Some(&ns),
        &aconf,
        &[&["-I", "127.0.0.1"], extra].concat(),
        None,
        &scratch.path("alice.log"),
    );
    let ref_alice = reference_output(run, "alice", |n| n == "ntpq-c-rv.txt");
    let want_sys = var(&ref_alice, "flags").expect("reference alice flags");
    // alice signs her values once synchronised (orphan): TAI lights.
    let sys = wait_var(
        &ns,
        "127.0.0.1",
        "rv",
        "flags",
        &want_sys,
        Duration::from_secs(30),
        &alice,
    );
    for name in ["host", "digest", "signature"] {
        assert_eq!(var(&sys, name), var(&ref_alice, name), "{name}: {sys}");
    }
    assert!(var(&sys, "update").is_some_and(|u| u.len() == 12), "{sys}");
    let certs = ntpq(&ns, &["-c", "rv 0 cert", "127.0.0.1"]);
    let ref_certs = reference_output(run, "alice", |n| n == "ntpq-c-rv-0-cert.txt");
    assert_eq!(cert_list(&certs), cert_list(&ref_certs), "{certs}");

    let server = conf_lines(run, "bob", "server")
        .join("\n")
        .replace("10.0.0.1", "127.0.0.1");
    let bconf = scratch.file(
        "bob.conf",
        &format!(
            "disable ntp\ntos orphan 10 orphanwait 1\nrestrict default nomodify notrap\n\
             {server}\nkeysdir {}\n{}\n",
            keys("bob").display(),
            conf_lines(run, "bob", "crypto").join("\n")
        ),
    );
    let bob = start_ntpd(
        Some(&ns),
        &bconf,
        &[&["-I", "127.0.0.2", "-d"], extra].concat(),
        None,
        &scratch.path("bob.log"),
    );
    // e.g. flags=0x87f23 for IFF (runs/iff/bob/ntpq-c-rv-32249.txt).
    let ref_peer = reference_output(run, "bob", |n| {
        n.strip_prefix("ntpq-c-rv-")
            .and_then(|r| r.strip_suffix(".txt"))
            .is_some_and(|id| id.bytes().all(|b| b.is_ascii_digit()))
    });
    let want_peer = var(&ref_peer, "flags").expect("reference peer flags");
    let peer = wait_var(
        &ns,
        "127.0.0.2",
        "rv &1",
        "flags",
        &want_peer,
        Duration::from_secs(90),
        &bob,
    );
    for name in ["host", "signature", "ident"] {
        assert_eq!(var(&peer, name), var(&ref_peer, name), "{name}: {peer}");
    }
    let keyid = var(&peer, "keyid").unwrap();
    let keyid = u32::from_str_radix(keyid.trim_start_matches("0x"), 16).unwrap();
    assert!(keyid > 0xffff, "an Autokey session key ID: {keyid:#x}");

    let assocs = ntpq(&ns, &["-n", "-c", "as", "127.0.0.2"]);
    let row: Vec<&str> = assocs
        .lines()
        .nth(2)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row.get(3..6), Some(&["yes", "yes", "ok"][..]), "{assocs}");

    // bob's cache: alice signed bob's certificate (VALID), alice's trusted
    // certificate (TRUST|VALID), bob's own last — as the reference.
    let certs = ntpq(&ns, &["-c", "rv 0 cert", "127.0.0.2"]);
    let ref_certs = reference_output(run, "bob", |n| n == "ntpq-c-rv-0-cert.txt");
    assert_eq!(cert_list(&certs), cert_list(&ref_certs), "{certs}");
    let sys = ntpq(&ns, &["-c", "rv", "127.0.0.2"]);
    let ref_sys = reference_output(run, "bob", |n| n == "ntpq-c-rv.txt");
    for name in ["host", "flags", "digest", "signature"] {
        assert_eq!(var(&sys, name), var(&ref_sys, name), "{name}: {sys}");
    }

    // An Autokey request (key ID 0x10000) whose MAC does not verify: one
    // 52-octet crypto-NAK, never more than the request (68 octets).
    let mut hex = String::from("e3");
    hex.push_str(&"00".repeat(39));
    hex.push_str("0102030405060708");
    hex.push_str("00010000");
    hex.push_str(&"aa".repeat(16));
    let replies = raw(&ns, "127.0.0.1", &hex);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].len(), 52 * 2, "{replies:?}");
    assert!(replies[0].ends_with("00000000"), "{replies:?}");
    if extra.contains(&"-F") {
        for (name, d) in [("alice", &alice), ("bob", &bob)] {
            let log = d.log_text();
            assert!(
                log.contains("system call filter on (-F 1)"),
                "{name}: {log}"
            );
        }
    }
    drop(bob);
    drop(alice);
}

#[test]
fn iff_client_becomes_proventic_with_our_server() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    client_server_run("iff");
}

/// The IFF exchange with both daemons under the `-F 1` seccomp filter:
/// a system call outside the filter would kill one of them and the
/// exchange would not complete.
#[test]
fn iff_exchange_completes_under_the_syscall_filter() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    client_server_run_with("iff", &["-F", "1", "-d"]);
}

#[test]
fn gq_client_becomes_proventic_with_our_server() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    client_server_run("gq");
}

#[test]
fn mv_client_becomes_proventic_with_our_server() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    client_server_run("mv");
}

#[test]
fn tc_client_becomes_proventic_with_our_server() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    client_server_run("tc");
}

/// `flags=` as a number, if present.
fn flags_of(text: &str) -> Option<u32> {
    u32::from_str_radix(var(text, "flags")?.trim_start_matches("0x"), 16).ok()
}

/// The symmetric run `p10-sym-tc` (both hosts trusted, `peer … autokey`
/// on both sides) with our daemons: each side's association completes
/// every Autokey bit as the reference 4.2.8p10 did (0x87f03; our TAI bit
/// of the peer word may differ: it is the peer's status when its ASSOC
/// response was sent, before or after that peer synchronised), and both
/// certificate caches list what the reference's did, in order.
#[test]
fn symmetric_peers_complete_autokey_like_the_reference() {
    require!(Need::Root, Need::IpNetns);
    symmetric_run(false);
}

/// As [`symmetric_peers_complete_autokey_like_the_reference`], but alice
/// has no `peer` line: bob's first Autokey packet (ASSOC request, MAC with
/// cookie 0) mobilises a symmetric passive association on alice.
#[test]
fn autokey_symmetric_active_mobilises_a_passive_peer() {
    require!(Need::Root, Need::IpNetns);
    symmetric_run(true);
}

fn symmetric_run(passive_alice: bool) {
    let run = "p10-sym-tc";
    let tag = if passive_alice {
        "ak-passive"
    } else {
        "ak-sym"
    };
    let ns = Netns::new(tag);
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    let scratch = Scratch::new(tag);
    let mut daemons = Vec::new();
    for (host, addr, peer) in [
        ("alice", "127.0.0.1", "127.0.0.2"),
        ("bob", "127.0.0.2", "127.0.0.1"),
    ] {
        let mut text = String::from("disable ntp\nrestrict default nomodify notrap\n");
        for word in ["tos", "peer", "crypto"] {
            if passive_alice && host == "alice" && word == "peer" {
                continue;
            }
            for l in conf_lines(run, host, word) {
                let l = l
                    .replace("10.0.0.1", "127.0.0.1")
                    .replace("10.0.0.2", "127.0.0.2");
                text.push_str(&l);
                text.push('\n');
            }
        }
        text.push_str(&format!(
            "keysdir {}\n",
            run_dir(run).join(host).join("keys").display()
        ));
        let passive = passive_alice && host == "alice";
        assert_eq!(
            text.contains(&format!("peer {peer} autokey")),
            !passive,
            "{text}"
        );
        let conf = scratch.file(&format!("{host}.conf"), &text);
        daemons.push(start_ntpd(
            Some(&ns),
            &conf,
            &["-I", addr, "-d"],
            None,
            &scratch.path(&format!("{host}.log")),
        ));
    }
    for ((host, addr), d) in [("alice", "127.0.0.1"), ("bob", "127.0.0.2")]
        .into_iter()
        .zip(&daemons)
    {
        let ref_peer = reference_output(run, host, |n| {
            n.strip_prefix("ntpq-c-rv-")
                .and_then(|r| r.strip_suffix(".txt"))
                .is_some_and(|id| id.bytes().all(|b| b.is_ascii_digit()))
        });
        let want = flags_of(&ref_peer).expect("reference peer flags");
        let t0 = Instant::now();
        let peer = loop {
            let text = ntpq(&ns, &["-c", "rv &1", addr]);
            if flags_of(&text).is_some_and(|f| f & 0x7f00 == 0x7f00) {
                break text;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(400),
                "{host}: Autokey never completed; last:\n{text}\nlog:\n{}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_secs(1));
        };
        assert_eq!(
            flags_of(&peer).map(|f| f & !0x2),
            Some(want & !0x2),
            "{host}: {peer}"
        );
        for name in ["host", "signature"] {
            assert_eq!(
                var(&peer, name),
                var(&ref_peer, name),
                "{host} {name}: {peer}"
            );
        }
        let assocs = ntpq(&ns, &["-n", "-c", "as", addr]);
        let row: Vec<&str> = assocs
            .lines()
            .nth(2)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(row.get(5), Some(&"ok"), "{assocs}");
    }
    // The caches, once both sides signed each other's certificates.
    for (host, addr) in [("alice", "127.0.0.1"), ("bob", "127.0.0.2")] {
        let certs = ntpq(&ns, &["-c", "rv 0 cert", addr]);
        let ref_certs = reference_output(run, host, |n| n == "ntpq-c-rv-0-cert.txt");
        assert_eq!(cert_list(&certs), cert_list(&ref_certs), "{host}: {certs}");
    }
    drop(daemons);
}

/// The multicast run `p10-bcast-iff` with our daemons: alice broadcasts
/// to 224.0.1.1 with `broadcast … autokey`; bob (`multicastclient`,
/// `ident alice`) mobilises a broadcast client from the first broadcast,
/// runs the client-mode volley through IFF, COOK… AUTO, SIGN, LEAP, then
/// follows the broadcasts by the key-ID chain. Compared with what the
/// reference 4.2.8p10 showed: peer flags 0x87f23, host, signature, ident,
/// the AUTO values present, the certificate cache.
#[test]
fn multicast_client_completes_autokey_like_the_reference() {
    require!(Need::Root, Need::IpNetns);
    let run = "p10-bcast-iff";
    let ns = Netns::new("ak-mcast");
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    ns.run(&["ip", "link", "set", "lo", "multicast", "on"]);
    ns.run(&["ip", "route", "add", "224.0.0.0/4", "dev", "lo"]);
    let scratch = Scratch::new("ak-mcast");
    let mut daemons = Vec::new();
    for (host, addr) in [("alice", "127.0.0.1"), ("bob", "127.0.0.2")] {
        let mut text = String::from("disable ntp\nrestrict default nomodify notrap\n");
        for word in ["tos", "broadcast", "multicastclient", "ident", "crypto"] {
            for l in conf_lines(run, host, word) {
                text.push_str(&l);
                text.push('\n');
            }
        }
        text.push_str(&format!(
            "keysdir {}\n",
            run_dir(run).join(host).join("keys").display()
        ));
        let conf = scratch.file(&format!("{host}.conf"), &text);
        daemons.push(start_ntpd(
            Some(&ns),
            &conf,
            &["-I", addr, "-d"],
            None,
            &scratch.path(&format!("{host}.log")),
        ));
        if host == "alice" {
            // Signed values once synchronised, before bob listens.
            wait_var(
                &ns,
                addr,
                "rv",
                "flags",
                "0x80023",
                Duration::from_secs(30),
                &daemons[0],
            );
        }
    }
    let ref_peer = reference_output(run, "bob", |n| {
        n.strip_prefix("ntpq-c-rv-")
            .and_then(|r| r.strip_suffix(".txt"))
            .is_some_and(|id| id.bytes().all(|b| b.is_ascii_digit()))
    });
    let want = var(&ref_peer, "flags").expect("reference peer flags");
    let peer = wait_var(
        &ns,
        "127.0.0.2",
        "rv &1",
        "flags",
        &want,
        Duration::from_secs(120),
        &daemons[1],
    );
    for name in ["host", "signature", "ident"] {
        assert_eq!(var(&peer, name), var(&ref_peer, name), "{name}: {peer}");
    }
    assert!(var(&peer, "initsequence").is_some(), "{peer}");
    assert!(
        var(&peer, "initkey").is_some_and(|k| k.starts_with("0x")),
        "{peer}"
    );
    let certs = ntpq(&ns, &["-c", "rv 0 cert", "127.0.0.2"]);
    let ref_certs = reference_output(run, "bob", |n| n == "ntpq-c-rv-0-cert.txt");
    assert_eq!(cert_list(&certs), cert_list(&ref_certs), "{certs}");
    // Broadcasts keep being accepted by the chain: reach keeps growing.
    let t0 = Instant::now();
    loop {
        let text = ntpq(&ns, &["-c", "rv &1 reach", "127.0.0.2"]);
        let reach = var(&text, "reach").and_then(|r| u8::from_str_radix(&r, 8).ok());
        if reach.is_some_and(|r| r.count_ones() >= 3) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "broadcasts not followed: {text}\n{}",
            daemons[1].log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    drop(daemons);
}

#[test]
fn undecryptable_host_key_stops_the_daemon_naming_the_file() {
    let scratch = Scratch::new("autokey-badpw");
    let conf = scratch.file(
        "alice.conf",
        &format!(
            "disable ntp\nkeysdir {}\ncrypto host alice pw wrongpassword\n",
            run_keys("alice").display()
        ),
    );
    let out = Command::new(NTPD)
        .args(["-n", "-c", &conf.display().to_string()])
        .env("NTPD_AUTOKEY_TEST_PORT", free_port().to_string())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("ntpkey_host_alice"), "{err}");
    assert!(err.contains("wrong password"), "{err}");
}
