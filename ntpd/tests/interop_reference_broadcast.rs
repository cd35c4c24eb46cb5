//! Broadcast/multicast interop (RFC 5905 §3, mode 5 to 224.0.1.1 or the
//! subnet's broadcast address) with the reference ntpd 4.2.8p15, both
//! directions: `broadcast 224.0.1.1 ttl 1` in namespace A,
//! `multicastclient 224.0.1.1` in B (224.0.0.0/4 routed over the veth in
//! both); or `broadcast <subnet>.255` and `broadcastclient` (the veth
//! addresses with their broadcast address, which the reference client
//! needs).
//!
//! * plain, with the client's calibration volley (the reference's default:
//!   a unicast client-mode exchange measures the delay, then the
//!   association turns broadcast client, hmode 6);
//! * plain, with `broadcastdelay 0.004` (no volley: broadcast client from
//!   the first packet, the configured delay used as is);
//! * Autokey TC and IFF (`broadcast … autokey`, the fixtures' keys; the
//!   client runs the Autokey dance during its volley, RFC 5906 §9). The
//!   reference client of either broadcaster completes the dance, then drops
//!   every broadcast: 4.2.8p11+'s receive() ("Bug 3454") refuses a packet
//!   whose key ID is not the association's `keyid`, which for a broadcast
//!   client is its own last client-mode session key (docs/interop-reference.md).
//!   Those cells assert that behaviour; ours ↔ ours shows the same dance
//!   with the broadcasts kept.
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

/// The broadcaster in A: orphan parent at stratum 5, broadcasting every
/// 8 s (`minpoll 3`), `extra` lines added.
fn start_broadcaster(lab: &mut Lab, who: Daemon, to: &str, autokey: bool, extra: &str) {
    let a = lab.a.clone();
    let ak = if autokey { " autokey" } else { "" };
    let body = format!("tos orphan 5 orphanwait 1\nbroadcast {to}{ak} ttl 1 minpoll 3\n{extra}");
    start(lab, who, "server", &a, &body);
    wait_stratum(lab, who, &a, "5", "broadcaster at orphan stratum 5");
    if autokey {
        wait_leap_values(lab, who, &a);
    }
}

/// Where a plain cell's broadcaster sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// 224.0.1.1, the client `multicastclient 224.0.1.1`.
    Multicast,
    /// The subnet's broadcast address, the client `broadcastclient`.
    SubnetBroadcast,
}

/// Plain broadcast or multicast: `bdelay` set means `broadcastdelay` on
/// the client (no volley). Both sides `disable auth` (an unauthenticated
/// broadcast mobilizes nothing otherwise).
fn plain(server: Daemon, client: Daemon, target: Target, bdelay: Option<&str>) {
    let mut lab = Lab::new();
    let (to, listen) = match target {
        Target::Multicast => {
            lab.route_multicast();
            ("224.0.1.1".to_string(), "multicastclient 224.0.1.1")
        }
        Target::SubnetBroadcast => (set_broadcast_address(&lab), "broadcastclient"),
    };
    let b = lab.b.clone();
    start_broadcaster(&mut lab, server, &to, false, "disable auth");
    let delay_line = bdelay
        .map(|d| format!("broadcastdelay {d}\n"))
        .unwrap_or_default();
    start(
        &mut lab,
        client,
        "client",
        &b,
        &format!("{listen}\ndisable auth\n{delay_line}"),
    );
    let (_, peers) = wait_selected(&mut lab, client, &b, 90, "client selecting the broadcaster");
    // After the volley (client mode, pmode 4) the association turns
    // broadcast client: wait for a broadcast to have been taken.
    let rv = wait_ntpq(
        &mut lab,
        client,
        &b,
        &["-c", "rv &1", "127.0.0.1"],
        Duration::from_secs(30),
        "a broadcast taken by the broadcast client (hmode 6, pmode 5)",
        |out| {
            rv_value(out, "hmode").as_deref() == Some("6")
                && rv_value(out, "pmode").as_deref() == Some("5")
        },
    );
    let peers_now = ntpq(&lab, client, &b, &["-n", "-p", "127.0.0.1"]);
    let row = peer_rows(&peers_now)[0].clone();
    assert_eq!(row.remote, lab.addr_a, "{peers}");
    assert_eq!(row.st, 5, "{peers_now}");
    assert_eq!(row.t, "b", "broadcast client: {peers_now}");
    if bdelay.is_none() {
        // The volley measured the real delay (sub-millisecond on a veth).
        assert!(row.delay < 1.0, "calibrated delay: {peers_now}\n{rv}");
        assert!(row.offset.abs() < 1.0, "offset: {peers_now}");
    } else {
        // A positive `broadcastdelay`: no volley (both daemons), the
        // configured 4 ms is the delay, and the offset is off by half of
        // it.
        assert!(
            (row.delay - 4.0).abs() < 0.001,
            "configured delay: {peers_now}"
        );
        assert!((row.offset.abs() - 2.0).abs() < 1.0, "offset: {peers_now}");
    }
    lab.assert_running();
}

/// Multicast Autokey: the broadcaster alice with the fixture keys of
/// `scheme`, bob a multicast client (`ident alice` for IFF). bob's
/// association reaches every client bit during its volley. `kept`: the
/// broadcasts go on being accepted afterwards (bob selects alice, reach
/// keeps filling); otherwise (a reference client) they are dropped and
/// counted as "restricted" in `sysstats` while `when` grows past three
/// intervals — whether it selected alice from the volley's samples alone
/// depends on timing (with IFF the armed burst gives it enough samples,
/// with TC it does not), so that is not asserted.
fn autokey(scheme: Scheme, server: Daemon, client: Daemon, kept: bool) {
    let mut lab = Lab::new();
    lab.route_multicast();
    let b = lab.b.clone();
    let alice = fixture_keys(scheme.run, "alice");
    start_broadcaster(
        &mut lab,
        server,
        "224.0.1.1",
        true,
        &format!(
            "keysdir {}/\ncrypto host alice pw serverpassword",
            alice.display()
        ),
    );
    let ident = if scheme.kind.is_some() {
        "ident alice\n"
    } else {
        ""
    };
    let bob = fixture_keys(scheme.run, "bob");
    start(
        &mut lab,
        client,
        "client",
        &b,
        &format!(
            "tos orphan 10 orphanwait 1\nmulticastclient 224.0.1.1\n{ident}keysdir {}/\n\
             crypto host bob pw clientpassword",
            bob.display()
        ),
    );
    let flags = wait_flags(
        &mut lab,
        client,
        Duration::from_secs(150),
        "every client Autokey bit (0x7f00)",
        |f| f & CLIENT_BITS == CLIENT_BITS,
    );
    assert_eq!(flags & 0xffff, scheme.flags, "bob's flags {flags:#x}");
    if kept {
        let (row, peers) = wait_selected(&mut lab, client, &b, 60, "bob selecting alice");
        assert_eq!(row.t, "b", "{peers}");
    }
    let restricted = |lab: &Lab| -> u64 {
        let s = ntpq(lab, client, &b, &["-c", "sysstats", "127.0.0.1"]);
        s.lines()
            .find_map(|l| l.strip_prefix("restricted:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no restricted count: {s}"))
    };
    let before = restricted(&lab);
    // Four broadcast intervals after the dance.
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(34));
    let after = restricted(&lab);
    let peers = ntpq(&lab, client, &b, &["-n", "-p", "127.0.0.1"]);
    let row = peer_rows(&peers)[0].clone();
    let when: u64 = row.when.parse().unwrap_or(0);
    if kept {
        assert!(when <= 16, "broadcasts stopped arriving: {peers}");
        assert_eq!(after, before, "broadcasts refused: {peers}");
    } else {
        // Reference defect (4.2.8p11+ receive(), "Bug 3454" key-ID check):
        // every broadcast after the volley is dropped as restricted.
        assert!(
            when >= 24 || row.when.ends_with('m'),
            "the reference kept broadcasts ({:?}): {peers}",
            t0.elapsed()
        );
        assert!(
            after >= before + 3,
            "restricted {before} → {after}: {peers}"
        );
    }
    lab.assert_running();
}

#[test]
fn reference_broadcast_cells() {
    require!(Need::Root, Need::IpNetns, Need::ReferenceNtpd);
    let mut cells = Vec::new();
    for (server, client) in [
        (Daemon::Reference, Daemon::Ours),
        (Daemon::Ours, Daemon::Reference),
    ] {
        cells.push(Cell::new(
            "multicast plain, calibration volley",
            server,
            client,
            move || plain(server, client, Target::Multicast, None),
        ));
        cells.push(Cell::new(
            "multicast plain, broadcastdelay 0.004",
            server,
            client,
            move || plain(server, client, Target::Multicast, Some("0.004")),
        ));
        cells.push(Cell::new(
            "broadcast to the subnet, plain, calibration volley",
            server,
            client,
            move || plain(server, client, Target::SubnetBroadcast, None),
        ));
        for scheme in [TC, IFF] {
            let kept = client == Daemon::Ours;
            cells.push(Cell::new(
                &format!("multicast Autokey {}", scheme.name),
                server,
                client,
                move || autokey(scheme, server, client, kept),
            ));
        }
    }
    for (server, client, kept) in [
        (Daemon::Ours, Daemon::Ours, true),
        (Daemon::Reference, Daemon::Reference, false),
    ] {
        cells.push(Cell::new(
            "multicast Autokey IFF",
            server,
            client,
            move || autokey(IFF, server, client, kept),
        ));
    }
    run_cells(cells);
}
