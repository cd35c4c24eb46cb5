//! The LOCAL reference clock (type 1) end to end: our daemon with
//! `server 127.127.1.0` and `fudge 127.127.1.0 stratum 10` selects it
//! (`*LOCAL(0)`, refid `.LOCL.`, type `l`, stratum 10 in `ntpq -p`; system
//! stratum 11 and refid `LOCAL(0)` in `rv 0`, as the reference 4.2.8p15
//! shows them), and a client's request gets stratum 11. The daemon runs
//! in a network namespace the test creates, with `disable ntp` and
//! without CAP_SYS_TIME. `minpoll 3`
//! keeps the clock's polls at 8 s so that selection (four samples) takes
//! about 30 s; `tos orphanwait 1` lifts the reference's hold on LOCAL
//! (not selectable until `orphanwait`, default 300 s, after start-up),
//! which the second test checks. Needs root and `ip netns` (see
//! `prerequisite`).

mod interop_support;
mod prerequisite;
mod support;

use std::time::{Duration, Instant};

use interop_support::{ntpq_binary, peer_rows, rv_vars, var, PeerRow};
use prerequisite::{require, Need, PYTHON3};
use support::*;

fn ntpq(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec!["timeout", "10", ntpq_binary()];
    argv.extend_from_slice(args);
    String::from_utf8_lossy(&ns.output(&argv).stdout).into_owned()
}

fn wait_row(
    ns: &Netns,
    host: &str,
    log: &dyn Fn() -> String,
    ok: impl Fn(&PeerRow) -> bool,
) -> PeerRow {
    let t0 = Instant::now();
    loop {
        let out = ntpq(ns, &["-p", host]);
        if let Some(r) = out
            .contains("====")
            .then(|| peer_rows(&out))
            .and_then(|rows| rows.into_iter().find(|r| ok(r)))
        {
            return r;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "{host}: no such peer row; last ntpq -p:\n{out}\nlog:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn local_clock_is_selected_and_served_at_fudge_stratum_plus_one() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    let (ns, _scratch, server) = start_loopback(
        "rclocal",
        "disable ntp\ntos orphanwait 1\nserver 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n",
    );
    let row = wait_row(&ns, "127.0.0.1", &|| server.log_text(), |r| r.tally == '*');
    assert_eq!(row.remote, "LOCAL(0)");
    assert_eq!(row.refid, ".LOCL.");
    assert_eq!(row.st, 10, "the fudged stratum");
    assert_eq!(row.t, "l");
    assert_eq!(row.poll, 8);
    assert_eq!((row.delay, row.offset), (0.0, 0.0));

    let sys = rv_vars(&ntpq(&ns, &["-c", "rv 0", "127.0.0.1"]));
    assert_eq!(var(&sys, "stratum"), "11");
    assert_eq!(var(&sys, "refid"), "LOCAL(0)");
    let peer = rv_vars(&ntpq(&ns, &["-c", "rv &1", "127.0.0.1"]));
    assert_eq!(var(&peer, "srcadr"), "LOCAL(0)");
    assert_eq!(var(&peer, "refid"), "LOCL");
    assert_eq!(var(&peer, "stratum"), "10");
    let rootdisp: f64 = var(&peer, "rootdisp").parse().unwrap();
    assert!(
        (rootdisp - 10.0).abs() < 0.1,
        "the driver's 10 ms: {rootdisp}"
    );

    // What a client gets: stratum 11, refid 127.127.1.0, leap 11 (with
    // `disable ntp` the server never sets the clock and stays
    // "unsynchronised", as the reference does: a client daemon of ours or
    // of the reference refuses such replies, so the reply is read raw).
    let (stratum, refid) = ns.query("127.0.0.1").expect("a reply from the server");
    assert_eq!((stratum, refid), (11, [127, 127, 1, 0]));
}

#[test]
fn local_clock_waits_for_orphanwait_as_the_reference() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    let (ns, _scratch, d) = start_loopback(
        "rclocalwait",
        "disable ntp\nserver 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n",
    );
    // Four samples and more: selectable by the filter, held by orphanwait.
    let row = wait_row(&ns, "127.0.0.1", &|| d.log_text(), |r| r.reach >= 0o37);
    assert_ne!(row.tally, '*', "{row:?}");
    let sys = rv_vars(&ntpq(&ns, &["-c", "rv 0", "127.0.0.1"]));
    assert_eq!(var(&sys, "stratum"), "16");
}
