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

use std::net::IpAddr;
use std::path::PathBuf;

use ntpd::auth::KeyRing;
use ntpd::daemon::simnet::SimNetwork;

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
