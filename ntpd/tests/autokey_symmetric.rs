//! Symmetric-mode Autokey (RFC 5906 §4.2, brief §4.2) between two of our
//! daemons with keys made by our `ntp-keygen`: alice (127.0.0.1) and bob
//! (127.0.0.2) are each other's `peer … autokey minpoll 4 maxpoll 4`, both
//! with a trusted certificate (`-T`); for IFF both hold the group key of
//! group alice (bob gets it with `-q`, as a trusted host of the group) and
//! its client parameters (`-e`), so each proves its identity to the other.
//! Asserted: every Autokey bit of both associations (`flags & 0x7f00`), the
//! scheme bit, `auth ok`, each side's certificate signed by the other. How
//! fast: `bench/autokey_symmetric.py`, not here. In a network namespace
//! the test creates, `disable ntp`, no CAP_SYS_TIME; needs root and
//! `ip netns` (under `CI=true` it fails without them, elsewhere it prints
//! that it skipped).

#[path = "../ntpq/tests/ntpq_support/binary.rs"]
mod ntpq_binary;
mod prerequisite;
mod support;

use std::time::{Duration, Instant};

use prerequisite::{require, Need};
use support::keys::{install_export, keygen_in};
use support::*;

fn ntpq(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec![ntpq_binary::ntpq_binary()];
    argv.extend_from_slice(args);
    String::from_utf8_lossy(&ns.output(&argv).stdout).into_owned()
}

/// `flags=0x…` of the association of the daemon at `addr`.
fn flags(ns: &Netns, addr: &str) -> Option<u32> {
    let rv = ntpq(ns, &["-c", "rv &1 flags", addr]);
    let hex = rv.split("flags=0x").nth(1)?;
    let digits: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
    u32::from_str_radix(&digits, 16).ok()
}

fn symmetric_pair(tag: &str, iff: bool) {
    let ns = Netns::new(tag);
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    let scratch = Scratch::new(tag);
    let (akeys, bkeys) = (scratch.path("alice-keys"), scratch.path("bob-keys"));
    std::fs::create_dir_all(&akeys).unwrap();
    std::fs::create_dir_all(&bkeys).unwrap();
    if iff {
        keygen_in(&akeys, "alice", &["-T", "-I", "-p", "serverpassword"]);
        let params = keygen_in(&akeys, "alice", &["-e", "-p", "serverpassword"]);
        install_export(&params, &akeys);
        install_export(&params, &bkeys);
        let group = keygen_in(
            &akeys,
            "alice",
            &["-p", "serverpassword", "-q", "clientpassword"],
        );
        install_export(&group, &bkeys);
    } else {
        keygen_in(&akeys, "alice", &["-T", "-p", "serverpassword"]);
    }
    keygen_in(&bkeys, "bob", &["-T", "-p", "clientpassword"]);
    let ident = if iff { " ident alice" } else { "" };
    let mut daemons = Vec::new();
    for (host, addr, other, pw, orphan, keys) in [
        (
            "alice",
            "127.0.0.1",
            "127.0.0.2",
            "serverpassword",
            5,
            &akeys,
        ),
        (
            "bob",
            "127.0.0.2",
            "127.0.0.1",
            "clientpassword",
            10,
            &bkeys,
        ),
    ] {
        let conf = scratch.file(
            &format!("{host}.conf"),
            &format!(
                "disable ntp\ntos orphan {orphan} orphanwait 1\nrestrict default nomodify notrap\n\
                 keysdir {}\ncrypto host {host} pw {pw}{ident}\n\
                 peer {other} autokey{ident} minpoll 4 maxpoll 4\n",
                keys.display()
            ),
        );
        daemons.push(start_ntpd(
            Some(&ns),
            &conf,
            &["-I", addr],
            None,
            &scratch.path(&format!("{host}.log")),
        ));
    }
    let t0 = Instant::now();
    for ((host, addr, other), d) in [("alice", "127.0.0.1", "bob"), ("bob", "127.0.0.2", "alice")]
        .into_iter()
        .zip(&daemons)
    {
        let f = loop {
            let f = flags(&ns, addr);
            if let Some(f) = f.filter(|f| f & 0x7f00 == 0x7f00) {
                break f;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(240),
                "{host}: symmetric Autokey never completed: flags {f:x?}\n{}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(500));
        };
        // The peer's identity scheme: IFF (0x20), or none (TC).
        assert_eq!(f & 0xf0, if iff { 0x20 } else { 0 }, "{host}: {f:#x}");
        let row: Vec<String> = ntpq(&ns, &["-n", "-c", "as", addr])
            .lines()
            .nth(2)
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
        assert_eq!(
            row.get(5).map(String::as_str),
            Some("ok"),
            "{host}: {row:?}"
        );
        // SIGN ran both ways (each side's certificate signed by the other).
        let t1 = Instant::now();
        loop {
            let certs = ntpq(&ns, &["-c", "rv 0 cert", addr]);
            if certs.contains(&format!("{host} {other}")) {
                break;
            }
            assert!(
                t1.elapsed() < Duration::from_secs(30),
                "{host}: no certificate signed by {other}: {certs}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    drop(daemons);
}

#[test]
fn symmetric_tc_peers_become_proventic_both_ways() {
    require!(Need::Root, Need::IpNetns);
    symmetric_pair("ak-sym-tc", false);
}

#[test]
fn symmetric_iff_peers_prove_their_identity_to_each_other() {
    require!(Need::Root, Need::IpNetns);
    symmetric_pair("ak-sym-iff", true);
}
