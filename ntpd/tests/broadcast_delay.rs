//! `broadcastdelay` on a multicast client, ours ↔ ours in memory (whole
//! `Core`s on `ntpd::daemon::simnet`: no sockets, no root): as in the
//! reference 4.2.8, a positive `broadcastdelay` means no calibration
//! volley (RFC 5905 §8's client/server exchanges before listening): the
//! client never sends to the broadcaster and uses the configured round
//! trip as is, so its offset is off by the difference; without it the
//! volley runs and measures the real delay. Against the reference daemon:
//! `interop_reference_broadcast.rs`.

use std::net::IpAddr;
use std::path::Path;

use ntpd::auth::KeyRing;
use ntpd::daemon::simnet::SimNetwork;
use ntpd::daemon::SIM_EPOCH_NTP_SECONDS;

const SERVER: &str = "10.0.0.1";
const CLIENT: &str = "10.0.0.2";
/// One-way delay of the simulated network (a 4 ms round trip).
const DELAY: f64 = 0.002;
/// How far ahead the client's clock runs.
const CLIENT_ERROR: f64 = 0.040;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// What the client's association with the broadcaster shows after 300 s:
/// (polls it sent, broadcast delay in use, whether a volley calibrated
/// it, offset, whether the broadcaster is the system peer).
fn client_with(extra: &str) -> (u64, f64, bool, f64, bool) {
    let keys = || KeyRing::from_file(&config::keys::parse_str("", Path::new("keys")).unwrap());
    let mut net = SimNetwork::new(DELAY, SIM_EPOCH_NTP_SECONDS);
    let server = "tos orphan 5 orphanwait 1\nbroadcast 224.0.1.1 minpoll 4\n";
    net.add_host("server", ip(SERVER), server, keys(), 0.0)
        .unwrap();
    let client = format!("disable auth\nmulticastclient 224.0.1.1\n{extra}");
    net.add_host("client", ip(CLIENT), &client, keys(), CLIENT_ERROR)
        .unwrap();
    net.run(300);
    let host = net.host("client");
    let r = host
        .core
        .assocs
        .iter()
        .find(|r| r.assoc.remote().ip() == ip(SERVER))
        .expect("the client mobilised an association for the broadcaster");
    let (delay, calibrated) = r.assoc.broadcast_delay();
    let offset = r
        .assoc
        .peer
        .filter()
        .output()
        .map_or(f64::NAN, |o| o.offset);
    let selected = host.core.sys_peer() == Some(r.assoc.id);
    (r.assoc.stats.sent, delay, calibrated, offset, selected)
}

#[test]
fn a_configured_broadcastdelay_skips_the_volley() {
    let (sent, delay, calibrated, offset, selected) = client_with("broadcastdelay 0.010\n");
    assert!(selected, "the broadcaster is the system peer");
    assert_eq!(sent, 0, "no volley: nothing sent to the broadcaster");
    assert!(!calibrated, "the configured delay is not calibrated");
    assert!((delay - 0.010).abs() < 1e-9, "delay {delay}");
    // Half the configured round trip (5 ms) instead of the real 2 ms one
    // way: 3 ms more than the true −40 ms.
    let want = -CLIENT_ERROR + 0.010 / 2.0 - DELAY;
    assert!((offset - want).abs() < 1e-3, "offset {offset}, want {want}");
}

#[test]
fn without_broadcastdelay_the_volley_measures_the_delay() {
    let (sent, _delay, calibrated, offset, selected) = client_with("");
    assert!(selected, "the broadcaster is the system peer");
    assert!(sent >= 1, "the volley's client-mode requests were sent");
    assert!(calibrated, "the volley calibrated the delay");
    assert!((offset + CLIENT_ERROR).abs() < 1e-3, "offset {offset}");
}

#[test]
fn a_zero_broadcastdelay_still_runs_the_volley() {
    // The reference skips the volley only for a positive delay.
    let (sent, _delay, calibrated, _offset, _selected) = client_with("broadcastdelay 0\n");
    assert!(
        sent >= 1 && calibrated,
        "sent {sent}, calibrated {calibrated}"
    );
}
