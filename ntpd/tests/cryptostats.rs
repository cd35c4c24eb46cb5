//! `statistics cryptostats` (issue 13) compared with the reference's
//! cryptostats of the same run: the fixture run `runs/iff` (alice serves
//! with her IFF group key, bob is `server … autokey ident alice`) replayed
//! with our daemons and the fixture's own keys and `statistics` /
//! `filegen cryptostats … type none enable` lines, in a network namespace
//! the test creates (alice 127.0.0.1, bob 127.0.0.2; `disable ntp`, no
//! CAP_SYS_TIME). Every line is `MJD SECONDS ADDRESS MESSAGE`; the
//! messages are the reference's, in its order, equal where the run fixes
//! them (file names, certificate flags, filestamps, identity, SIGN, LEAP)
//! and equal in shape where they carry the run's random or time values
//! (association IDs, cookie, timestamps). Our bob loads his IFF
//! parameters at start-up, so the reference's `ntpkey_iffpar_alice… mod
//! 384` line (written at its first use) is not among his. Needs root and
//! `ip netns`: under `CI=true` it fails without them, elsewhere it prints
//! that it skipped.
//!
//! The same run with a `leapfile` on alice: the LEAP exchange carries its
//! TAI offset, last leap and expiry (the reference's `leap TAI offset 37
//! at 3692217600 expire …` line on bob), and mode 6 shows `tai`,
//! `leapsec`, `expire` on both (bob took them from alice).

#[path = "../ntpq/tests/ntpq_support/binary.rs"]
mod ntpq_binary;
mod prerequisite;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use prerequisite::{require, Need};
use support::*;

fn run_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref/runs/iff")
}

/// The directive lines of the fixture `ntp.conf` of `host` starting with
/// one of `words`, comments removed.
fn conf_lines(host: &str, words: &[&str]) -> String {
    let text = std::fs::read_to_string(run_dir().join(host).join("ntp.conf")).unwrap();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| words.contains(&w))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One cryptostats line checked for its columns: `(address, message)`.
fn split(line: &str) -> (String, String) {
    let cols: Vec<&str> = line.splitn(4, ' ').collect();
    assert_eq!(cols.len(), 4, "not MJD SECONDS ADDRESS MESSAGE: {line}");
    let mjd: u32 = cols[0].parse().unwrap_or_else(|_| panic!("MJD: {line}"));
    assert!(mjd > 60000, "{line}");
    let (s, frac) = cols[1].split_once('.').unwrap_or_else(|| panic!("{line}"));
    assert!(
        s.parse::<u32>().is_ok_and(|s| s < 86400) && frac.len() == 3,
        "{line}"
    );
    (cols[2].to_string(), cols[3].to_string())
}

/// The message with the values a run draws or times replaced by `N`: the
/// association IDs of `assoc`, the cookie and stamps of `cook`.
fn shape(message: &str) -> String {
    let masked = |words: &[&str], keep: &[usize]| {
        words
            .iter()
            .enumerate()
            .map(|(i, w)| if keep.contains(&i) { *w } else { "N" })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let words: Vec<&str> = message.split(' ').collect();
    match words.first() {
        Some(&"assoc") => masked(&words, &[0, 3, 4, 5]),
        Some(&"cook") => masked(&words, &[0, 2, 4]),
        // The reference reports `mod 384` for the IFF files of this run,
        // whose modulus p has 512 bits (what we report); its count is
        // not reproduced.
        Some(w) if w.starts_with("ntpkey_IFFkey_") => masked(&words, &[0, 1]),
        _ => message.to_string(),
    }
}

/// The lines of `file`, without `signature update` (how often a host
/// re-signs depends on the run's timing), in shape, with the address.
fn events(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(split)
        .filter(|(_, m)| !m.starts_with("signature update ts "))
        .map(|(a, m)| (a.replace("10.0.0.1", "127.0.0.1"), shape(&m)))
        .collect()
}

fn wait_for(path: &Path, word: &str, d: &Daemon) -> String {
    let t0 = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(|l| l.split(' ').nth(3) == Some(word)) {
            return text;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no `{word}` line in {}:\n{text}\nlog:\n{}",
            path.display(),
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The iff run with our daemons; alice's conf gets `alice_extra`. Returns
/// both cryptostats texts once bob's has a `leap` line, the namespace and
/// the daemons (still running).
fn iff_run(tag: &str, alice_extra: &str) -> (String, String, Netns, Daemon, Daemon, Scratch) {
    let ns = Netns::new(tag);
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    let scratch = Scratch::new(tag);
    let conf = |host: &str, first: &str| {
        let stats = scratch.path(&format!("{host}-stats"));
        std::fs::create_dir_all(&stats).unwrap();
        scratch.file(
            &format!("{host}.conf"),
            &format!(
                "disable ntp\n{first}\nrestrict default nomodify notrap\nkeysdir {}\n{}\n\
                 statsdir {}/\n{}\n",
                run_dir().join(host).join("keys").display(),
                conf_lines(host, &["crypto", "server"]).replace("10.0.0.1", "127.0.0.1"),
                stats.display(),
                conf_lines(host, &["statistics", "filegen"]),
            ),
        )
    };
    let alice_conf = conf(
        "alice",
        &format!("tos orphan 5 orphanwait 1\n{alice_extra}"),
    );
    let bob_conf = conf("bob", "tos orphan 10 orphanwait 1");
    let alice = start_ntpd(
        Some(&ns),
        &alice_conf,
        &["-I", "127.0.0.1"],
        None,
        &scratch.path("alice.log"),
    );
    let alice_stats = scratch.path("alice-stats/cryptostats");
    wait_for(&alice_stats, "signature", &alice);
    let bob = start_ntpd(
        Some(&ns),
        &bob_conf,
        &["-I", "127.0.0.2"],
        None,
        &scratch.path("bob.log"),
    );
    let bob_stats = scratch.path("bob-stats/cryptostats");
    let bob_text = wait_for(&bob_stats, "leap", &bob);
    let alice_text = std::fs::read_to_string(&alice_stats).unwrap();
    (alice_text, bob_text, ns, alice, bob, scratch)
}

#[test]
fn cryptostats_lines_are_the_references_for_the_iff_run() {
    require!(Need::Root, Need::IpNetns);
    let (alice_text, bob_text, _ns, alice, bob, _scratch) = iff_run("ak-cstats", "");
    let reference = |host: &str| {
        std::fs::read_to_string(run_dir().join(host).join("stats/cryptostats")).unwrap()
    };
    // alice: her files, setup, then she signs once synchronised.
    let ours = events(&alice_text);
    let theirs = events(&reference("alice"));
    assert_eq!(ours, theirs, "alice:\n{alice_text}");
    assert!(
        alice_text.contains(" 0.0.0.0 signature update ts "),
        "{alice_text}"
    );

    // bob: the reference's lines less the lazily loaded parameter file.
    let ours = events(&bob_text);
    let theirs: Vec<_> = events(&reference("bob"))
        .into_iter()
        .filter(|(_, m)| !m.starts_with("ntpkey_iffpar_alice."))
        .collect();
    assert_eq!(ours, theirs, "bob:\n{bob_text}");
    assert!(
        bob_text.contains(" 0.0.0.0 signature update ts "),
        "{bob_text}"
    );
    drop((bob, alice));
}

/// `name=value` of an ntpq `rv` listing.
fn var(text: &str, name: &str) -> Option<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .map(|v| v.trim_matches('"').to_string())
}

#[test]
fn leapfile_values_travel_in_the_leap_exchange() {
    require!(Need::Root, Need::IpNetns);
    let scratch = Scratch::new("ak-leapfile");
    // An IERS leap-seconds.list head and tail, expiring 2027-01-01.
    let leapfile = scratch.file(
        "leap-seconds.list",
        "#$\t3929093563\n#@\t4007750400\n2272060800\t10\t# 1 Jan 1972\n\
         3692217600\t37\t# 1 Jan 2017\n",
    );
    let (_, bob_text, ns, alice, bob, _s) =
        iff_run("ak-leap", &format!("leapfile {}", leapfile.display()));
    let leap = bob_text
        .lines()
        .map(split)
        .find(|(_, m)| m.starts_with("leap "))
        .unwrap();
    assert_eq!(
        leap,
        (
            "127.0.0.1".to_string(),
            "leap TAI offset 37 at 3692217600 expire 4007750400 fs 4004757732".to_string()
        ),
        "{bob_text}"
    );
    let rv = |addr: &str| {
        let o = ns.output(&[
            ntpq_binary::ntpq_binary(),
            "-c",
            "rv 0 tai,leapsec,expire",
            addr,
        ]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for addr in ["127.0.0.1", "127.0.0.2"] {
        let t = Instant::now();
        let text = loop {
            let text = rv(addr);
            if var(&text, "tai").is_some() || t.elapsed() > Duration::from_secs(10) {
                break text;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        assert_eq!(var(&text, "tai").as_deref(), Some("37"), "{addr}: {text}");
        // 2027-01-01 00:00 UTC as the reference prints a filestamp.
        assert_eq!(
            var(&text, "expire").as_deref(),
            Some("202701010000"),
            "{addr}: {text}"
        );
        assert!(var(&text, "leapsec").is_some(), "{addr}: {text}");
    }
    drop((bob, alice));
}
