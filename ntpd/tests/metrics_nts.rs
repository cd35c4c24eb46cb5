//! The NTS metrics end to end, in a network namespace the test creates:
//! alice (127.0.0.1) is our NTS server (`nts enable`), bob (127.0.0.3) has
//! `nts enable` too (on `nts port 4461`) and a `server 127.0.0.1 nts`
//! association; both serve `metrics_listen`. Scrapes of both are checked
//! against `ntpq -c rv` read just before and just after each scrape (the
//! endpoint's snapshot is up to a second old): the NTS server counters and
//! cookie key of both, and bob's NTS association (cookies, key exchanges,
//! authentic and refused replies) against the NTS totals of bob's `rv`.
//! Every daemon runs with `disable ntp` and without CAP_SYS_TIME. Needs
//! root, `ip netns` and the openssl command line.

mod interop_support;
mod nts_support;
mod prerequisite;
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use interop_support::{ntpq_binary, rv_vars};
use nts_support::{in_netns, make_pki};
use prerequisite::{require, Need, OPENSSL};
use support::{start_named, Netns, Scratch};

/// `GET /metrics` from `addr` inside `ns`; the body of a 200 answer.
fn scrape(ns: &Netns, addr: &'static str) -> String {
    let text = in_netns(&ns.0, move || {
        let mut s = TcpStream::connect(addr).expect("connect to the metrics endpoint");
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let head = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(head.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        String::from_utf8_lossy(&raw).into_owned()
    });
    let (headers, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    body.to_owned()
}

/// The one sample of `name` whose labels contain each of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    let found: Vec<f64> = text
        .lines()
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            (n == name && labels.iter().all(|w| rest.contains(w)))
                .then(|| value.parse().ok())
                .flatten()
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?} in\n{text}");
    found[0]
}

/// The numeric variables of `ntpq -c rv` at `host`.
fn rv(ns: &Netns, host: &str) -> Vec<(String, f64)> {
    let out = ns.output(&["timeout", "10", ntpq_binary(), "-c", "rv", host]);
    rv_vars(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.trim().parse().ok()?)))
        .collect()
}

fn get(vars: &[(String, f64)], name: &str) -> f64 {
    vars.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no {name} in rv: {vars:?}"))
}

/// Scrapes `addr` between two `rv` reads of `host`; `check` gets the
/// scrape and the two reads.
fn between(
    ns: &Netns,
    host: &str,
    addr: &'static str,
    check: impl Fn(&str, &[(String, f64)], &[(String, f64)]),
) {
    let before = rv(ns, host);
    // The snapshot is published once a second: let it catch up with `before`.
    std::thread::sleep(Duration::from_millis(1_100));
    let text = scrape(ns, addr);
    let after = rv(ns, host);
    check(&text, &before, &after);
}

/// `value` lies between `rv` variable `name` before and after.
fn within(what: &str, value: f64, before: &[(String, f64)], after: &[(String, f64)], name: &str) {
    let (lo, hi) = (get(before, name), get(after, name));
    assert!(
        lo.min(hi) <= value && value <= lo.max(hi),
        "{what} = {value}, rv {name} {lo} .. {hi}"
    );
}

/// The server-side series against `rv` (served, refused, TLS failures and
/// aborted sessions, connections over the per-source limit, replies, NAKs, drops, cookie key id, age and count).
fn check_server(text: &str, before: &[(String, f64)], after: &[(String, f64)]) {
    for (outcome, var) in [
        ("served", "nts_ke_served"),
        ("refused", "nts_ke_refused"),
        ("tls_failed", "nts_ke_tls_failed"),
        ("aborted", "nts_ke_aborted"),
        ("source_limited", "nts_ke_source_limited"),
    ] {
        let label = format!("outcome=\"{outcome}\"");
        let v = sample(text, "ntpd_nts_ke_sessions_total", &[&label]);
        within(outcome, v, before, after, var);
    }
    for (series, var) in [
        ("ntpd_nts_replies_total", "nts_replies"),
        ("ntpd_nts_naks_total", "nts_naks"),
        ("ntpd_nts_dropped_total", "nts_dropped"),
        ("ntpd_nts_cookie_key_id", "nts_cookie_key"),
        ("ntpd_nts_cookie_keys", "nts_cookie_keys"),
    ] {
        within(series, sample(text, series, &[]), before, after, var);
    }
    let age = sample(text, "ntpd_nts_cookie_key_age_seconds", &[]);
    let (lo, hi) = (
        get(before, "nts_cookie_key_age"),
        get(after, "nts_cookie_key_age"),
    );
    assert!(
        lo - 2.0 <= age && age <= hi + 1.0,
        "age {age}, rv {lo} .. {hi}"
    );
}

#[test]
fn nts_server_and_association_metrics_match_ntpq_rv() {
    require!(Need::Root, Need::IpNetns, OPENSSL);
    let ns = Netns::new("ntsmet");
    ns.run(&["ip", "addr", "add", "127.0.0.3/8", "dev", "lo"]);
    let scratch = Scratch::new("ntsmet");
    let pki = make_pki(&scratch.0);
    let nts = |port: u16, keys: &str| {
        format!(
            "nts enable cert {} key {} cookie {} port {port}\n",
            pki.cert.display(),
            pki.key.display(),
            scratch.path(keys).display()
        )
    };
    let alice = start_named(
        &ns,
        &scratch,
        "alice",
        "127.0.0.1",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nmetrics_listen 127.0.0.1:9123\n{}",
            nts(4460, "alice-keys")
        ),
        &[],
    );
    let bob = start_named(
        &ns,
        &scratch,
        "bob",
        "127.0.0.3",
        &format!(
            "disable ntp\ntos orphan 10 orphanwait 1\nmetrics_listen 127.0.0.3:9123\n{}\
             server 127.0.0.1 nts minpoll 3 maxpoll 3 iburst\nnts ca {}\n",
            nts(4461, "bob-keys"),
            pki.ca.display()
        ),
        &[],
    );
    let t0 = Instant::now();
    loop {
        let b = rv(&ns, "127.0.0.3");
        let authentic = b.iter().any(|(k, v)| k == "nts_authentic" && *v >= 2.0);
        if authentic {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "bob never authentic over NTS: {b:?}\nalice:\n{}\nbob:\n{}",
            alice.log_text(),
            bob.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // alice: the server side, which served bob.
    between(&ns, "127.0.0.1", "127.0.0.1:9123", |text, before, after| {
        check_server(text, before, after);
        assert_eq!(
            sample(text, "ntpd_nts_ke_sessions_total", &["outcome=\"served\""]),
            1.0
        );
        assert!(sample(text, "ntpd_nts_replies_total", &[]) >= 2.0, "{text}");
        assert!(!text.contains("ntpd_peer_nts_"), "{text}");
    });
    // bob: its own (idle) server side, and the NTS association.
    between(&ns, "127.0.0.3", "127.0.0.3:9123", |text, before, after| {
        check_server(text, before, after);
        assert_eq!(get(after, "nts_associations"), 1.0);
        let peer = ["remote=\"127.0.0.1\"", "type=\"u\""];
        for (series, var) in [
            ("ntpd_peer_nts_key_exchanges_total", "nts_key_exchanges"),
            ("ntpd_peer_nts_authentic_total", "nts_authentic"),
            ("ntpd_peer_nts_refused_total", "nts_refused"),
        ] {
            within(series, sample(text, series, &peer), before, after, var);
        }
        // A poll in flight holds one cookie fewer until its reply.
        let cookies = sample(text, "ntpd_peer_nts_cookies", &peer);
        let (lo, hi) = (get(before, "nts_cookies"), get(after, "nts_cookies"));
        assert!(
            lo.min(hi) - 1.0 <= cookies && cookies <= lo.max(hi),
            "cookies {cookies}, rv nts_cookies {lo} .. {hi}"
        );
        assert_eq!(
            sample(text, "ntpd_peer_nts_key_exchanges_total", &peer),
            1.0
        );
        assert_eq!(sample(text, "ntpd_peer_nts_naks_total", &peer), 0.0);
        assert!(
            sample(text, "ntpd_peer_nts_cookies", &peer) >= 7.0,
            "{text}"
        );
        assert_eq!(sample(text, "ntpd_peer_authenticated", &peer), 1.0);
    });
}
