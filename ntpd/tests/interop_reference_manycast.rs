//! Manycast interop (RFC 5905 §3.1, RFC 5906 §4 "manycast mode") with the
//! reference ntpd 4.2.8p15, both directions: alice, `manycastserver
//! 224.0.1.1` and an orphan parent at stratum 5, in namespace A; bob,
//! `manycastclient 224.0.1.1 …`, in B (224.0.0.0/4 routed over the veth
//! in both). bob's solicitations go to the group; alice answers from her
//! unicast address; the answer mobilises a client association with her.
//!
//! * plain, symmetric key 1 (`manycastclient 224.0.1.1 key 1`): bob
//!   selects alice through the association the answer mobilised;
//! * Autokey TC and IFF (`manycastclient 224.0.1.1 autokey`, the fixtures'
//!   keys, `crypto … ident alice`: the reference gives a mobilised
//!   association the `crypto` line's group, not the solicitor's): the
//!   found association reaches every client bit with the scheme's flags,
//!   and bob holds the certificates a unicast client does. IFF also runs
//!   ours ↔ ours and reference ↔ reference, the anchors of the same run.
//!
//! Both daemons run with `disable ntp`, without CAP_SYS_TIME. The cells run
//! concurrently. Needs root, `ip netns` and the reference (see
//! `prerequisite`).

mod interop_support;
mod prerequisite;
mod reference_support;

use std::time::{Duration, Instant};

use interop_support::*;
use prerequisite::{require, Need};
use reference_support::autokey::*;
use reference_support::*;

/// The group both sides use.
const GROUP: &str = "224.0.1.1";

/// The certificates bob holds once complete (as in the unicast cells):
/// his own signed by alice, alice's trusted one, his own self-signed one.
const BOB_CERTS: [&str; 3] = ["bob alice 0x4", "alice alice 0x5", "bob bob 0x0"];

/// The Autokey flags of `who`'s association in `ns` whose `srcadr` is
/// `remote` (the one the manycast answer mobilised), if there is one.
fn flags_of(lab: &Lab, who: Daemon, ns: &str, remote: &str) -> Option<u32> {
    let out = ntpq(lab, who, ns, &["-c", "as", "127.0.0.1"]);
    assoc_rows(&out).iter().find_map(|row| {
        let rv = ntpq(
            lab,
            who,
            ns,
            &[
                "-n",
                "-c",
                &format!("rv {} srcadr,flags", row[1]),
                "127.0.0.1",
            ],
        );
        (rv_value(&rv, "srcadr")? == remote)
            .then(|| flags_value(&rv))
            .flatten()
    })
}

/// Starts alice (`server` plays her) as `manycastserver` and bob
/// (`client`) soliciting with `solicit` (the options after the group),
/// each with `extra` lines of their own. An Autokey alice (a `crypto`
/// line) is waited for until her leap values are stamped.
fn start_pair(
    lab: &mut Lab,
    server: Daemon,
    client: Daemon,
    solicit: &str,
    alice_extra: &str,
    bob_extra: &str,
) {
    lab.route_multicast();
    let (a, b) = (lab.a.clone(), lab.b.clone());
    start(
        lab,
        server,
        "server",
        &a,
        &format!("tos orphan 5 orphanwait 1\nmanycastserver {GROUP}\n{alice_extra}"),
    );
    wait_stratum(lab, server, &a, "5", "alice at orphan stratum 5");
    if alice_extra.contains("crypto ") {
        wait_leap_values(lab, server, &a);
    }
    start(
        lab,
        client,
        "client",
        &b,
        &format!(
            "tos orphan 10 orphanwait 1\nmanycastclient {GROUP} {solicit} minpoll 3 maxpoll 4\n\
             {bob_extra}"
        ),
    );
}

/// Waits until bob selects alice (`*` on her unicast address) and returns
/// `ntpq -p`.
fn wait_alice_selected(lab: &mut Lab, client: Daemon, secs: u64) -> String {
    let (b, alice) = (lab.b.clone(), lab.addr_a.clone());
    wait_ntpq(
        lab,
        client,
        &b,
        &["-n", "-p", "127.0.0.1"],
        Duration::from_secs(secs),
        "bob selecting the manycast server he found",
        |out| {
            peer_rows(out)
                .iter()
                .any(|r| r.remote == alice && r.tally == '*')
        },
    )
}

/// Plain manycast under symmetric key 1.
fn plain(server: Daemon, client: Daemon) {
    let mut lab = Lab::new();
    let alice_keys = lab.key_lines("server", KEYS);
    let bob_keys = lab.key_lines("client", KEYS);
    start_pair(&mut lab, server, client, "key 1", &alice_keys, &bob_keys);
    let peers = wait_alice_selected(&mut lab, client, 90);
    let rows = peer_rows(&peers);
    let found = rows
        .iter()
        .find(|r| r.remote == lab.addr_a)
        .unwrap_or_else(|| panic!("no row for alice: {peers}"));
    assert_eq!(found.st, 5, "{peers}");
    assert!(found.offset.abs() < 50.0, "offset: {peers}");
    // The solicitor stays, and is never a source.
    assert!(
        rows.iter().any(|r| r.remote == GROUP && r.tally == ' '),
        "{peers}"
    );
    let b = lab.b.clone();
    let assoc = ntpq(&lab, client, &b, &["-n", "-c", "as", "127.0.0.1"]);
    let rows = assoc_rows(&assoc);
    assert!(
        rows.iter()
            .any(|r| r.get(5).map(String::as_str) == Some("ok")),
        "the found server is authenticated with key 1: {assoc}"
    );
    lab.assert_running();
}

/// Autokey manycast with the fixture keys of `scheme`.
fn autokey(scheme: Scheme, server: Daemon, client: Daemon) {
    let mut lab = Lab::new();
    let alice_keys = fixture_keys(scheme.run, "alice");
    let bob_keys = fixture_keys(scheme.run, "bob");
    let ident = if scheme.kind.is_some() {
        " ident alice"
    } else {
        ""
    };
    start_pair(
        &mut lab,
        server,
        client,
        "autokey",
        &format!(
            "keysdir {}/\ncrypto host alice pw serverpassword",
            alice_keys.display()
        ),
        &format!(
            "keysdir {}/\ncrypto host bob{ident} pw clientpassword",
            bob_keys.display()
        ),
    );
    let (b, alice) = (lab.b.clone(), lab.addr_a.clone());
    let t0 = Instant::now();
    let flags = loop {
        lab.assert_running();
        let f = flags_of(&lab, client, &b, &alice);
        if let Some(f) = f.filter(|f| f & CLIENT_BITS == CLIENT_BITS) {
            break f;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(150),
            "the found server's association never reached 0x7f00 (flags {f:x?})\nlogs:\n{}",
            all_logs(&lab)
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(flags & 0xffff, scheme.flags, "bob's flags {flags:#x}");
    let certs = ntpq(&lab, client, &b, &["-c", "rv 0 cert", "127.0.0.1"]);
    assert_eq!(cert_list(&certs), BOB_CERTS, "{certs}");
    wait_alice_selected(&mut lab, client, 60);
    lab.assert_running();
}

#[test]
fn reference_manycast_cells() {
    require!(Need::Root, Need::IpNetns, Need::ReferenceNtpd);
    let mut cells = Vec::new();
    for (server, client) in [
        (Daemon::Reference, Daemon::Ours),
        (Daemon::Ours, Daemon::Reference),
    ] {
        cells.push(Cell::new("manycast, key 1", server, client, move || {
            plain(server, client)
        }));
        for scheme in [TC, IFF] {
            cells.push(Cell::new(
                &format!("manycast Autokey {}", scheme.name),
                server,
                client,
                move || autokey(scheme, server, client),
            ));
        }
    }
    // The anchors, in the same run: each implementation with itself.
    for who in [Daemon::Ours, Daemon::Reference] {
        cells.push(Cell::new("manycast Autokey IFF", who, who, move || {
            autokey(IFF, who, who)
        }));
    }
    run_cells(cells);
}
