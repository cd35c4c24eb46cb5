//! `logconfig` acts on event classes: two clients of one server in a
//! network namespace the test creates (127.0.0.1 server, `tos orphan 5`;
//! clients on 127.0.0.2 and 127.0.0.3, all `disable ntp`, no
//! CAP_SYS_TIME), one with the default (every class) and one with
//! `logconfig =sysall`: both log the `clock_sync` system event, only the
//! first logs the peer events (`reachable`) and `mobilize` peer info.
//! Needs root and `ip netns` (see `prerequisite`).

mod prerequisite;
mod support;

use std::time::{Duration, Instant};

use prerequisite::{require, Need};
use support::*;

#[test]
fn logconfig_selects_event_classes() {
    require!(Need::Root, Need::IpNetns);
    let ns = Netns::new("logcfg");
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    ns.run(&["ip", "addr", "add", "127.0.0.3/8", "dev", "lo"]);
    let scratch = Scratch::new("logcfg");
    let sconf = scratch.file("server.conf", "disable ntp\ntos orphan 5 orphanwait 1\n");
    let _server = start_ntpd(
        Some(&ns),
        &sconf,
        &["-I", "127.0.0.1"],
        None,
        &scratch.path("server.log"),
    );
    let client = "disable ntp\nserver 127.0.0.1 minpoll 4 maxpoll 4 iburst\n";
    let all = scratch.file("all.conf", client);
    let sys = scratch.file("sys.conf", &format!("{client}logconfig =sysall\n"));
    // -d: informational messages reach stderr.
    let a = start_ntpd(
        Some(&ns),
        &all,
        &["-I", "127.0.0.2", "-d"],
        None,
        &scratch.path("all.log"),
    );
    let b = start_ntpd(
        Some(&ns),
        &sys,
        &["-I", "127.0.0.3", "-d"],
        None,
        &scratch.path("sys.log"),
    );
    let t0 = Instant::now();
    while !(a.log_text().contains("clock_sync") && b.log_text().contains("clock_sync")) {
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "no clock_sync system event:\n--- all\n{}\n--- sysall\n{}",
            a.log_text(),
            b.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (la, lb) = (a.log_text(), b.log_text());
    assert!(la.contains("127.0.0.1 event reachable"), "{la}");
    assert!(la.contains("mobilize"), "{la}");
    assert!(!lb.contains("event reachable"), "peerevents off:\n{lb}");
    assert!(!lb.contains("mobilize"), "peerinfo off:\n{lb}");
    assert!(
        lb.contains("system event clock_sync"),
        "sysevents on:\n{lb}"
    );
    assert!(
        lb.contains("Listen normally on"),
        "unclassed lines stay:\n{lb}"
    );
}
