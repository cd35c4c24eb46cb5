//! Interop with the reference ntpd 4.2.8p15 (Debian 11's `ntp`, unpacked
//! into /opt/ntp-ref by .ci/run), both directions, for the modes without
//! Autokey: client/server (RFC 5905 §9) and symmetric active/passive
//! (RFC 5905 §9.1, passive mobilization), plain and with MD5, SHA1 and
//! AES128CMAC keys (RFC 5905 §7.3, RFC 8573).
//!
//! Every cell runs in two network namespaces of its own joined by a veth
//! pair (see `interop_support::Lab`): the time source in A as an orphan
//! parent at stratum 5 (`tos orphan 5 orphanwait 1`), the other daemon in
//! B. Both run with `disable ntp` and without CAP_SYS_TIME (the reference
//! calls `ntp_adjtime()` at start-up whatever it is told). Values are read
//! with each daemon's own `ntpq` (cross-reading is the mode 6 suite's).
//! The cells run concurrently; each prints its time (`cell: …` lines).
//!
//! Needs root, `ip netns` and the reference (see `prerequisite`).

mod interop_support;
mod prerequisite;
mod reference_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use interop_support::*;
use prerequisite::{require, Need};
use reference_support::*;

/// Bound for "same host clock on both sides of a veth": 1 ms (ntpq prints
/// milliseconds).
const OFFSET_MS: f64 = 1.0;

/// Client/server: `server` in A serves `client` in B, which must select
/// it (`*`) with the right stratum and refid and an offset under 1 ms.
fn client_server(server: Daemon, client: Daemon) {
    let mut lab = Lab::new();
    let (a, b, addr_a) = (lab.a.clone(), lab.b.clone(), lab.addr_a.clone());
    start(&mut lab, server, "server", &a, "tos orphan 5 orphanwait 1");
    wait_stratum(&mut lab, server, &a, "5", "server at orphan stratum 5");
    start(
        &mut lab,
        client,
        "client",
        &b,
        &format!("server {addr_a} iburst minpoll 3 maxpoll 4"),
    );
    let (row, peers) = wait_selected(&mut lab, client, &b, 60, "client selecting the server");
    assert_eq!(row.remote, addr_a, "{peers}");
    assert_eq!(row.refid, "127.0.0.1", "an orphan parent's refid: {peers}");
    assert_eq!(row.st, 5, "{peers}");
    assert_eq!(row.t, "u", "{peers}");
    assert!(
        row.offset.abs() < OFFSET_MS,
        "offset {} ms: {peers}",
        row.offset
    );
    assert!(row.delay > 0.0 && row.delay < 50.0, "delay: {peers}");
    let rv = ntpq(&lab, client, &b, &["-c", "rv", "127.0.0.1"]);
    let v = rv_vars(&rv);
    assert_eq!(var(&v, "stratum"), "6", "{rv}");
    assert_eq!(var(&v, "refid"), addr_a, "{rv}");
    // `disable ntp`: the clock is never set, so the client's own leap
    // indicator stays "unsynchronised" in both implementations.
    assert_eq!(var(&v, "leap"), "11", "{rv}");
    lab.assert_running();
}

/// A symmetric key of `ntp.keys`: (key ID, type, secret).
type Key = (u32, &'static str, &'static str);

const MD5: Key = (1, "MD5", "md5secret");
const SHA1: Key = (2, "SHA1", "0123456789abcdef0123456789abcdef01234567");
const CMAC: Key = (3, "AES128CMAC", "00112233445566778899aabbccddeeff");

/// Symmetric active/passive: `passive` in A (orphan parent, no
/// association configured) mobilizes a passive association for the
/// `peer` line of `active` in B, which selects it. The active side is an
/// orphan at stratum 10 until then, so that its packets are synchronised
/// and pass the passive side's tests (an unsynchronised peer's packets
/// fail with `pkt_stratum` and never light its reach). With `key`, both know
/// and trust that key and every packet carries its MAC; without it the
/// passive side has `disable auth` (both implementations refuse to
/// mobilize for an unauthenticated active peer otherwise).
fn symmetric(active: Daemon, passive: Daemon, key: Option<Key>) {
    symmetric_keys(
        active,
        passive,
        key.map(|(id, kind, secret)| (format!("{id} {kind} {secret}\n"), id)),
    );
}

/// [`symmetric`] with a whole keys file (its text) and the key ID used.
fn symmetric_keys(active: Daemon, passive: Daemon, key: Option<(String, u32)>) {
    let mut lab = Lab::new();
    let (a, b, addr_a, addr_b) = (
        lab.a.clone(),
        lab.b.clone(),
        lab.addr_a.clone(),
        lab.addr_b.clone(),
    );
    let keys = |lab: &Lab, name: &str| match &key {
        Some((text, id)) => {
            let f = lab.file(&format!("{name}.keys"), text);
            format!("keys {}\ntrustedkey {id}\n", f.display())
        }
        None => String::new(),
    };
    let passive_body = match key {
        Some(_) => format!("tos orphan 5 orphanwait 1\n{}", keys(&lab, "server")),
        None => "tos orphan 5 orphanwait 1\ndisable auth\n".to_string(),
    };
    start(&mut lab, passive, "server", &a, &passive_body);
    wait_stratum(
        &mut lab,
        passive,
        &a,
        "5",
        "passive peer at orphan stratum 5",
    );
    let key_opt = key
        .as_ref()
        .map(|(_, id)| format!(" key {id}"))
        .unwrap_or_default();
    let active_body = format!(
        "tos orphan 10 orphanwait 1\npeer {addr_a}{key_opt} iburst minpoll 3 maxpoll 4\n{}",
        keys(&lab, "client")
    );
    start(&mut lab, active, "client", &b, &active_body);
    let (row, peers) = wait_selected(
        &mut lab,
        active,
        &b,
        60,
        "active peer selecting the passive",
    );
    assert_eq!(row.remote, addr_a, "{peers}");
    assert_eq!(row.st, 5, "{peers}");
    assert_eq!(row.t, "s", "symmetric peer: {peers}");
    assert!(
        row.offset.abs() < OFFSET_MS,
        "offset {} ms: {peers}",
        row.offset
    );
    let auth = if key.is_some() { "ok" } else { "none" };
    let active_as = ntpq(&lab, active, &b, &["-c", "as", "127.0.0.1"]);
    let rows = assoc_rows(&active_as);
    assert_eq!(rows.len(), 1, "{active_as}");
    assert_eq!(
        &rows[0][3..7],
        ["yes", "yes", auth, "sys.peer"],
        "{active_as}"
    );
    let keyid = key.as_ref().map(|(_, id)| *id).unwrap_or(0);
    let v = rv_vars(&ntpq(&lab, active, &b, &["-c", "rv &1", "127.0.0.1"]));
    assert_eq!(var(&v, "hmode"), "1", "symmetric active: {v:?}");
    assert_eq!(var(&v, "pmode"), "2", "its peer answers passive: {v:?}");
    assert_eq!(key_id(var(&v, "keyid")), keyid, "{v:?}");

    // The passive side: one ephemeral association for B, authenticated
    // with the same key, reachable.
    let passive_as = wait_ntpq(
        &mut lab,
        passive,
        &a,
        &["-c", "as", "127.0.0.1"],
        Duration::from_secs(20),
        "the passive association",
        |out| assoc_rows(out).len() == 1,
    );
    let rows = assoc_rows(&passive_as);
    assert_eq!(
        &rows[0][3..6],
        ["no", "yes", auth],
        "ephemeral, reachable: {passive_as}"
    );
    let v = rv_vars(&ntpq(&lab, passive, &a, &["-c", "rv &1", "127.0.0.1"]));
    assert_eq!(var(&v, "srcadr"), addr_b, "{v:?}");
    assert_eq!(var(&v, "hmode"), "2", "symmetric passive: {v:?}");
    assert_eq!(var(&v, "pmode"), "1", "{v:?}");
    assert_ne!(var(&v, "reach"), "000", "{v:?}");
    assert_eq!(key_id(var(&v, "keyid")), keyid, "{v:?}");
    lab.assert_running();
}

/// A `keyid=` value: decimal, or hex with `0x` (the reference's ntpq
/// prints key IDs of Autokey session keys in hex).
fn key_id(text: &str) -> u32 {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).expect("hex key ID"),
        None => text.parse().expect("key ID"),
    }
}

/// The keys file `maker`'s `ntp-keygen -M` writes (`ntp.keys`: keys 1–10
/// MD5 with printable secrets, 11–20 SHA1 in hex), made in a scratch
/// folder of its own on a host named alice.
fn keygen_keys(maker: Daemon) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ntpd-interop-reference-keys-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("folder");
    reference_support::autokey::keygen(maker, "alice", &dir, &["-M"]);
    let text = std::fs::read_to_string(dir.join("ntp.keys")).expect("ntp.keys written by -M");
    let _ = std::fs::remove_dir_all(&dir);
    text
}

/// Symmetric with key `id` of a keys file made by `maker`'s `ntp-keygen
/// -M`, read by both daemons.
fn symmetric_keygen(active: Daemon, passive: Daemon, maker: Daemon, id: u32) {
    symmetric_keys(active, passive, Some((keygen_keys(maker), id)));
}

#[test]
fn reference_interop_cells() {
    require!(Need::Root, Need::IpNetns, Need::ReferenceNtpd);
    let mut cells = Vec::new();
    for (server, client) in [
        (Daemon::Reference, Daemon::Ours),
        (Daemon::Ours, Daemon::Reference),
    ] {
        cells.push(Cell::new(
            "client/server plain",
            server,
            client,
            move || client_server(server, client),
        ));
        for (label, key) in [
            ("symmetric plain", None),
            ("symmetric MD5", Some(MD5)),
            ("symmetric SHA1", Some(SHA1)),
            ("symmetric AES128CMAC", Some(CMAC)),
        ] {
            // Symmetric: the passive side serves time, the active side
            // selects it.
            let direction = format!("{} passive, {} active", server.label(), client.label());
            cells.push(Cell::labelled(label, direction, move || {
                symmetric(client, server, key)
            }));
        }
    }
    for (server, client) in [
        (Daemon::Reference, Daemon::Ours),
        (Daemon::Ours, Daemon::Reference),
    ] {
        for maker in [Daemon::Ours, Daemon::Reference] {
            for (kind, id) in [("MD5", 1), ("SHA1", 11)] {
                let label = format!(
                    "symmetric {kind} key {id} of `ntp-keygen -M` by {}",
                    maker.label()
                );
                let direction = format!("{} passive, {} active", server.label(), client.label());
                cells.push(Cell::labelled(&label, direction, move || {
                    symmetric_keygen(client, server, maker, id)
                }));
            }
        }
    }
    run_cells(cells);
}
