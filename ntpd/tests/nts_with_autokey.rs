//! Autokey and NTS in one daemon at the same time, in a network namespace
//! the test creates: bob (127.0.0.2) has `server 127.0.0.1 autokey ident
//! alice` to alice (our daemon with the reference fixture keys of
//! `runs/iff`, as in `autokey_daemon`) and `server 127.0.0.3 nts` to carol
//! (our daemon with `nts enable` and a certificate from a test CA). Both
//! associations end up reachable and authentic (`ntpq -c as`: `ok`), and
//! `ntpq -c rv` shows the NTS association's counters. Every daemon runs
//! with `disable ntp` and without CAP_SYS_TIME.
//! Needs root, `ip netns` and the openssl command line.

#[path = "../ntpq/tests/ntpq_support/binary.rs"]
mod ntpq_binary;
mod nts_support;
mod prerequisite;
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ntpq_binary::ntpq_binary;
use nts_support::make_pki;
use prerequisite::{require, Need, OPENSSL};
use support::{start_named, Netns, Scratch};

fn run_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref/runs/iff")
}

/// The directive lines of the fixture `ntp.conf` of `host` starting with
/// `word`, comments removed.
fn conf_lines(host: &str, word: &str) -> Vec<String> {
    let text = std::fs::read_to_string(run_dir().join(host).join("ntp.conf")).unwrap();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| l.split_whitespace().next() == Some(word))
        .collect()
}

fn ntpq(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec![ntpq_binary()];
    argv.extend_from_slice(args);
    String::from_utf8_lossy(&ns.output(&argv).stdout).into_owned()
}

#[test]
fn autokey_and_nts_associations_side_by_side() {
    require!(Need::Root, Need::IpNetns, OPENSSL);
    let ns = Netns::new("ntsak");
    for a in ["127.0.0.2/8", "127.0.0.3/8"] {
        ns.run(&["ip", "addr", "add", a, "dev", "lo"]);
    }
    let scratch = Scratch::new("ntsak");
    let pki = make_pki(&scratch.0);
    let keys = |host: &str| run_dir().join(host).join("keys");
    let _alice = start_named(
        &ns,
        &scratch,
        "alice",
        "127.0.0.1",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nkeysdir {}\n{}\n",
            keys("alice").display(),
            conf_lines("alice", "crypto").join("\n")
        ),
        &[],
    );
    let _carol = start_named(
        &ns,
        &scratch,
        "carol",
        "127.0.0.3",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nnts enable cert {} key {} cookie {}\n",
            pki.cert.display(),
            pki.key.display(),
            scratch.path("nts-keys").display()
        ),
        &[],
    );
    let autokey_server = conf_lines("bob", "server")
        .join("\n")
        .replace("10.0.0.1", "127.0.0.1");
    let bob = start_named(
        &ns,
        &scratch,
        "bob",
        "127.0.0.2",
        &format!(
            "disable ntp\ntos orphan 10 orphanwait 1\n{autokey_server}\n\
             server 127.0.0.3 nts minpoll 4 maxpoll 4 iburst\nnts ca {}\nkeysdir {}\n{}\n",
            pki.ca.display(),
            keys("bob").display(),
            conf_lines("bob", "crypto").join("\n")
        ),
        &[],
    );
    let t0 = Instant::now();
    loop {
        let assocs = ntpq(&ns, &["-n", "-c", "as", "127.0.0.2"]);
        let rows: Vec<Vec<&str>> = assocs
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().collect())
            .filter(|r: &Vec<&str>| r.len() >= 6)
            .collect();
        let ok = rows.len() == 2 && rows.iter().all(|r| r[3..6] == ["yes", "yes", "ok"]);
        if ok {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "both associations never became authentic:\n{assocs}\nbob:\n{}",
            bob.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let peers = ntpq(&ns, &["-n", "-p", "127.0.0.2"]);
    assert!(
        peers.contains("127.0.0.1") && peers.contains("127.0.0.3"),
        "{peers}"
    );
    let rv = ntpq(&ns, &["-c", "rv", "127.0.0.2"]);
    assert!(rv.contains("nts_associations=1"), "{rv}");
    let authentic: u64 = rv
        .split([',', '\n'])
        .find_map(|kv| kv.trim().strip_prefix("nts_authentic="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no nts_authentic in {rv}"));
    assert!(authentic > 0, "{rv}");
    let carol_rv = ntpq(&ns, &["-c", "rv", "127.0.0.3"]);
    assert!(carol_rv.contains("nts_ke_served=1"), "{carol_rv}");
    // Per association: the NTS one (the second) shows its NTS state, the
    // Autokey one none of it.
    let value = |text: &str, name: &str| -> Option<u64> {
        text.split([',', '\n'])
            .find_map(|kv| kv.trim().strip_prefix(&format!("{name}=")))
            .and_then(|v| v.trim().parse().ok())
    };
    let nts_peer = ntpq(&ns, &["-c", "rv &2", "127.0.0.2"]);
    assert!(nts_peer.contains("srcadr=127.0.0.3"), "{nts_peer}");
    let cookies = value(&nts_peer, "nts_cookies").unwrap_or_else(|| panic!("{nts_peer}"));
    assert!((1..=8).contains(&cookies), "{nts_peer}");
    assert_eq!(value(&nts_peer, "nts_key_exchanges"), Some(1), "{nts_peer}");
    assert!(
        value(&nts_peer, "nts_authentic").is_some_and(|n| n > 0),
        "{nts_peer}"
    );
    assert_eq!(value(&nts_peer, "nts_refused"), Some(0), "{nts_peer}");
    let autokey_peer = ntpq(&ns, &["-c", "rv &1", "127.0.0.2"]);
    assert!(
        autokey_peer.contains("srcadr=127.0.0.1") && !autokey_peer.contains("nts_"),
        "{autokey_peer}"
    );
}
