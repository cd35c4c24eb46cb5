//! The Prometheus endpoint end to end, in a network namespace the test
//! creates: our client daemon on 127.0.0.3 with `metrics_listen`, two of
//! our daemons as its servers (127.0.0.1 and 127.0.0.2, `tos orphan 5`
//! parents), all with `disable ntp` and without CAP_SYS_TIME. The test
//! scrapes `GET /metrics` with a plain HTTP/1.1 request over a TCP socket
//! opened inside the namespace (`setns` on a thread of its own) and checks
//! the values against `ntpq -p`, `ntpq -c rv` and `ntpq -c sysstats`
//! read between two scrapes. Also: no listener without the directive or
//! flag, `--metrics` under the `-F 1` system call filter, other paths and methods, a scraper that never sends
//! its request, and refused addresses with FILE:LINE:COL. Needs root and
//! `ip netns` (see `prerequisite`).

mod interop_support;
mod prerequisite;
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use interop_support::{ntpq_binary, peer_rows, rv_vars, var, PeerRow};
use prerequisite::{require, Need};
use support::*;

/// The client's address. The servers, orphan parents, advertise the
/// refid 127.0.0.1, which a client on 127.0.0.1 would take for a loop.
const CLIENT: &str = "127.0.0.3";

/// The client's metrics address.
const METRICS: &str = "127.0.0.3:9123";

/// Run `f` on a thread that has entered `ns`'s network namespace.
fn in_netns<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{}", ns.0);
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .expect("the namespace thread")
}

/// One HTTP/1.1 request `head` to `addr` inside `ns`: the status code
/// and the body, or `None` when the connection fails or closes without
/// an answer.
fn http(ns: &Netns, addr: &'static str, head: String) -> Option<(u16, String)> {
    in_netns(ns, move || {
        let mut s = TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(15))).ok()?;
        s.write_all(head.as_bytes()).ok()?;
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (headers, body) = text.split_once("\r\n\r\n")?;
        let status = headers.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_string()))
    })
}

fn get(ns: &Netns, addr: &'static str, path: &str) -> Option<(u16, String)> {
    http(
        ns,
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

/// `GET /metrics`, which must answer 200.
fn scrape(ns: &Netns) -> String {
    match get(ns, METRICS, "/metrics") {
        Some((200, body)) => body,
        other => panic!("GET /metrics: {other:?}"),
    }
}

/// The value of the one sample of `name` whose labels contain every one
/// of `labels` (`key="value"`).
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = text.lines().filter_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, ""));
        (n == name && labels.iter().all(|want| rest.contains(want)))
            .then(|| value.parse::<f64>().ok())
            .flatten()
    });
    let v = found.next()?;
    assert!(found.next().is_none(), "{name} {labels:?} twice in\n{text}");
    Some(v)
}

fn must(text: &str, name: &str, labels: &[&str]) -> f64 {
    sample(text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
}

fn ntpq(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec!["timeout", "10", ntpq_binary()];
    argv.extend_from_slice(args);
    argv.push(CLIENT);
    String::from_utf8_lossy(&ns.output(&argv).stdout).into_owned()
}

/// Whether some socket in `ns` listens on TCP (`/proc/net/tcp{,6}` as seen
/// from inside the namespace; state 0A is LISTEN).
fn tcp_listeners(ns: &Netns) -> Vec<String> {
    let mut v = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = String::from_utf8_lossy(&ns.output(&["cat", f]).stdout).into_owned();
        v.extend(
            text.lines()
                .skip(1)
                .filter(|l| l.split_whitespace().nth(3) == Some("0A"))
                .map(str::to_owned),
        );
    }
    v
}

/// A namespace with our two servers on 127.0.0.1 and .2 and a client on
/// 127.0.0.3 whose ntp.conf ends with `client_extra`.
struct Lab {
    ns: Netns,
    _scratch: Scratch,
    _servers: [Daemon; 2],
    client: Daemon,
}

fn lab(tag: &str, client_extra: &str, client_args: &[&str]) -> Lab {
    let ns = Netns::new(tag);
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    ns.run(&["ip", "addr", "add", "127.0.0.3/8", "dev", "lo"]);
    let scratch = Scratch::new(tag);
    let sconf = scratch.file("server.conf", "disable ntp\ntos orphan 5 orphanwait 1\n");
    let server = |addr: &str, log: &str| {
        start_ntpd(Some(&ns), &sconf, &["-I", addr], None, &scratch.path(log))
    };
    let servers = [
        server("127.0.0.2", "server2.log"),
        server("127.0.0.1", "server1.log"),
    ];
    let cconf = scratch.file(
        "client.conf",
        &format!(
            "disable ntp\n\
             server 127.0.0.2 minpoll 3 maxpoll 3 iburst\n\
             server 127.0.0.1 minpoll 3 maxpoll 3 iburst\n{client_extra}"
        ),
    );
    let mut args = vec!["-I", CLIENT];
    args.extend_from_slice(client_args);
    let client = start_ntpd(Some(&ns), &cconf, &args, None, &scratch.path("client.log"));
    Lab {
        ns,
        _scratch: scratch,
        _servers: servers,
        client,
    }
}

/// Wait until `ntpq -p` shows a system peer and both servers reached.
fn wait_synchronised(lab: &Lab) -> Vec<PeerRow> {
    let t0 = Instant::now();
    loop {
        let out = ntpq(&lab.ns, &["-n", "-p"]);
        let rows = if out.contains("====") {
            peer_rows(&out)
        } else {
            Vec::new()
        };
        if rows.len() == 2
            && rows.iter().any(|r| r.tally == '*')
            && rows.iter().all(|r| r.reach != 0)
        {
            return rows;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no system peer; ntpq -p:\n{out}\nclient log:\n{}",
            lab.client.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The per-association values both scrapes and `ntpq -p` show, which stay
/// put between polls.
fn peer_values(text: &str, remote: &str) -> Vec<f64> {
    let l = format!("remote=\"{remote}\"");
    [
        "ntpd_peer_reach",
        "ntpd_peer_stratum",
        "ntpd_peer_poll_seconds",
        "ntpd_peer_delay_seconds",
        "ntpd_peer_offset_seconds",
        "ntpd_peer_jitter_seconds",
        "ntpd_peer_selection",
    ]
    .iter()
    .map(|n| must(text, n, &[&l]))
    .collect()
}

/// Milliseconds as `ntpq -p` prints them (three decimals) against seconds.
fn assert_ms(what: &str, ntpq_ms: f64, seconds: f64) {
    assert!(
        (ntpq_ms - seconds * 1e3).abs() <= 0.0015,
        "{what}: ntpq {ntpq_ms} ms, metrics {seconds} s"
    );
}

#[test]
fn scrape_matches_ntpq_for_two_servers() {
    require!(Need::Root, Need::IpNetns);
    let lab = lab("metrics", &format!("metrics_listen {METRICS}\n"), &[]);
    wait_synchronised(&lab);
    // Scrape, read ntpq, scrape again after the next tick: accept the
    // round once no poll moved the association values in between.
    let t0 = Instant::now();
    let (before, rows, rv, sysstats, after) = loop {
        let before = scrape(&lab.ns);
        let rows = peer_rows(&ntpq(&lab.ns, &["-n", "-p"]));
        let rv = rv_vars(&ntpq(&lab.ns, &["-c", "rv 0"]));
        let sysstats = ntpq(&lab.ns, &["-c", "sysstats"]);
        std::thread::sleep(Duration::from_millis(1200));
        let after = scrape(&lab.ns);
        let stable = ["127.0.0.1", "127.0.0.2"]
            .iter()
            .all(|r| peer_values(&before, r) == peer_values(&after, r))
            && must(&before, "ntpd_system_offset_seconds", &[])
                == must(&after, "ntpd_system_offset_seconds", &[]);
        if stable && rows.len() == 2 {
            break (before, rows, rv, sysstats, after);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the values never stayed put for a round"
        );
    };

    // Per association: ntpq -p's row and the labelled series.
    for row in &rows {
        let l = format!("remote=\"{}\"", row.remote);
        let labels = [l.as_str(), "type=\"u\""];
        assert_eq!(
            must(&after, "ntpd_peer_reach", &labels),
            f64::from(row.reach),
            "{row:?}"
        );
        assert_eq!(
            must(&after, "ntpd_peer_stratum", &labels),
            f64::from(row.st),
            "{row:?}"
        );
        assert_eq!(
            must(&after, "ntpd_peer_poll_seconds", &labels),
            f64::from(row.poll)
        );
        assert_ms(
            "delay",
            row.delay,
            must(&after, "ntpd_peer_delay_seconds", &labels),
        );
        assert_ms(
            "offset",
            row.offset,
            must(&after, "ntpd_peer_offset_seconds", &labels),
        );
        assert_ms(
            "jitter",
            row.jitter,
            must(&after, "ntpd_peer_jitter_seconds", &labels),
        );
        let refid = format!("refid=\"{}\"", row.refid);
        let tally = format!("tally=\"{}\"", row.tally.to_string().trim());
        assert_eq!(
            sample(&after, "ntpd_peer_info", &[&l, &refid, &tally]),
            Some(1.0),
            "{row:?} in\n{after}"
        );
        let sel = must(&after, "ntpd_peer_selection", &labels);
        assert_eq!(sel == 6.0, row.tally == '*', "{row:?}: selection {sel}");
        assert_eq!(must(&after, "ntpd_peer_authenticated", &labels), 0.0);
        assert!(must(&after, "ntpd_peer_received_packets_total", &labels) >= 1.0);
        assert!(must(&after, "ntpd_peer_sent_packets_total", &labels) >= 1.0);
        // The associd label names the association ntpq reads by that ID.
        let info = after
            .lines()
            .find(|x| x.starts_with("ntpd_peer_info{") && x.contains(&l))
            .unwrap();
        let id = info
            .split("associd=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let peer = rv_vars(&ntpq(&lab.ns, &["-c", &format!("rv {id} srcadr")]));
        assert_eq!(var(&peer, "srcadr"), row.remote, "associd {id}");
    }
    assert_eq!(before.matches("ntpd_peer_info{").count(), 2, "{before}");

    // The system variables.
    let num = |name: &str| -> f64 { var(&rv, name).trim_start_matches('+').parse().unwrap() };
    assert_eq!(must(&after, "ntpd_system_stratum", &[]), num("stratum"));
    // `rv` shows the leap indicator as its two bits (`leap=11`).
    let leap = u8::from_str_radix(var(&rv, "leap"), 2).expect("leap bits");
    assert_eq!(must(&after, "ntpd_system_leap", &[]), f64::from(leap));
    assert_eq!(
        must(&after, "ntpd_system_synchronized", &[]),
        if leap == 3 { 0.0 } else { 1.0 }
    );
    assert_eq!(
        must(&after, "ntpd_system_precision_log2", &[]),
        num("precision")
    );
    assert_eq!(must(&after, "ntpd_system_poll_log2", &[]), num("tc"));
    for (metric, rv_name) in [
        ("ntpd_system_offset_seconds", "offset"),
        ("ntpd_system_jitter_seconds", "sys_jitter"),
        ("ntpd_system_clock_jitter_seconds", "clk_jitter"),
        ("ntpd_system_root_delay_seconds", "rootdelay"),
        ("ntpd_system_root_dispersion_seconds", "rootdisp"),
    ] {
        // Root dispersion grows every second (RFC 5905 §11.2, PHI): the
        // rv value lies between the scrapes, give or take rv's rounding.
        let (a, b) = (
            must(&before, metric, &[]) * 1e3,
            must(&after, metric, &[]) * 1e3,
        );
        let n = num(rv_name);
        assert!(
            a.min(b) - 0.002 <= n && n <= a.max(b) + 0.002,
            "{metric}: {a} .. {b} ms, rv {rv_name}={n}"
        );
    }
    let freq = must(&after, "ntpd_system_frequency_ppm", &[]);
    assert!(
        (freq - num("frequency")).abs() <= 0.001,
        "frequency {freq} ppm"
    );
    let refid = format!("refid=\"{}\"", var(&rv, "refid"));
    assert_eq!(
        sample(&after, "ntpd_system_info", &[&refid]),
        Some(1.0),
        "{after}"
    );

    // Counters: the ntpq read lies between the two scrapes.
    let stat = |name: &str| -> f64 {
        sysstats
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {sysstats}"))
    };
    for (metric, label) in [
        ("ntpd_packets_received_total", "packets received:"),
        ("ntpd_packets_this_version_total", "current version:"),
        ("ntpd_packets_processed_total", "processed for time:"),
    ] {
        let (a, b, n) = (
            must(&before, metric, &[]),
            must(&after, metric, &[]),
            stat(label),
        );
        assert!(a <= n && n <= b, "{metric}: {a} <= {n} <= {b}");
    }
    assert!(must(&after, "ntpd_packets_sent_total", &[]) >= 4.0);
    assert_eq!(must(&after, "ntpd_packets_bad_auth_total", &[]), 0.0);
    assert_eq!(must(&after, "ntpd_packets_rate_limited_total", &[]), 0.0);
    assert!(after.ends_with("# EOF\n"), "{after}");
}

#[test]
fn endpoint_is_off_by_default_and_on_with_the_flag() {
    require!(Need::Root, Need::IpNetns);
    let off = lab("metricsoff", "", &[]);
    wait_synchronised(&off);
    assert_eq!(
        tcp_listeners(&off.ns),
        Vec::<String>::new(),
        "no TCP listener by default"
    );
    assert_eq!(get(&off.ns, METRICS, "/metrics"), None);
    drop(off);

    let on = lab(
        "metricsflag",
        "",
        &["--metrics", "127.0.0.3:9124", "-d", "-F", "1"],
    );
    wait_synchronised(&on);
    assert_eq!(
        tcp_listeners(&on.ns).len(),
        1,
        "one listener with --metrics"
    );
    // Under -F 1 (seccomp, any other system call kills the daemon) the
    // endpoint accepts and answers every scrape, and the daemon lives on.
    for _ in 0..2 {
        let (status, _) = get(&on.ns, "127.0.0.3:9124", "/metrics").expect("an answer");
        assert_eq!(status, 200);
    }
    let (status, body) = get(&on.ns, "127.0.0.3:9124", "/metrics").expect("an answer");
    assert_eq!(status, 200);
    assert_eq!(
        peer_rows(&ntpq(&on.ns, &["-n", "-p"])).len(),
        2,
        "still running"
    );
    assert_eq!(
        must(&body, "ntpd_peer_info", &["remote=\"127.0.0.2\""]),
        1.0
    );
    assert!(
        on.client
            .log_text()
            .contains("serving Prometheus metrics at http://127.0.0.3:9124/metrics"),
        "{}",
        on.client.log_text()
    );
}

#[test]
fn only_get_metrics_is_served_and_idle_scrapers_do_not_block_the_daemon() {
    require!(Need::Root, Need::IpNetns);
    let lab = lab("metricshttp", &format!("metrics_listen {METRICS}\n"), &[]);
    wait_synchronised(&lab);
    assert_eq!(get(&lab.ns, METRICS, "/").map(|r| r.0), Some(404));
    assert_eq!(get(&lab.ns, METRICS, "/metrics/x").map(|r| r.0), Some(404));
    let post =
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_string();
    assert_eq!(http(&lab.ns, METRICS, post).map(|r| r.0), Some(405));
    // A request head beyond the limit is refused, not buffered.
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    assert_ne!(http(&lab.ns, METRICS, huge).map(|r| r.0), Some(200));

    // Eight connections that never send a request hold every slot; NTP
    // and mode 6 go on, and once the header timeout frees the slots a
    // scrape is answered again.
    let idle: Vec<TcpStream> = in_netns(&lab.ns, || {
        (0..8)
            .map(|_| TcpStream::connect(METRICS).expect("connect"))
            .collect()
    });
    std::thread::sleep(Duration::from_millis(300));
    let rows = peer_rows(&ntpq(&lab.ns, &["-n", "-p"]));
    assert_eq!(rows.len(), 2, "mode 6 answered while scrapers hang");
    assert_eq!(
        get(&lab.ns, METRICS, "/metrics"),
        None,
        "a ninth connection is closed"
    );
    let t0 = Instant::now();
    while get(&lab.ns, METRICS, "/metrics").map(|r| r.0) != Some(200) {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "idle connections were never closed"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Not before the header timeout (5 s) had a chance to pass.
    assert!(t0.elapsed() >= Duration::from_secs(3), "{:?}", t0.elapsed());
    drop(idle);
}

#[test]
fn bad_metrics_addresses_are_refused_with_file_and_line() {
    // Parsing needs nothing from the machine.
    let scratch = Scratch::new("metricsbad");
    let conf = scratch.file("ntp.conf", "disable ntp\nmetrics_listen 127.0.0.1\n");
    let out = Command::new(NTPD)
        .args([
            "-c",
            conf.to_str().unwrap(),
            "--saveconfigquit",
            "/dev/null",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let want = format!(
        "{}:2:16: metrics_listen address \"127.0.0.1\" is not an IP address and port; expected e.g. 127.0.0.1:9123 or [::1]:9123",
        conf.display()
    );
    assert!(err.contains(&want), "{err}");
    let out = Command::new(NTPD)
        .args(["--metrics", "localhost", "--saveconfigquit", "/dev/null"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("127.0.0.1:9123"),
        "{err}"
    );

    // A well-formed address the host does not have: the daemon does not
    // start, and says which address and where it is configured.
    require!(Need::Root, Need::IpNetns);
    let ns = Netns::new("metricsbind");
    let conf = scratch.file("bind.conf", "disable ntp\nmetrics_listen 192.0.2.1:9123\n");
    let mut d = start_ntpd(
        Some(&ns),
        &conf,
        &["-I", "127.0.0.1"],
        None,
        &scratch.path("d.log"),
    );
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = d.child.as_mut().unwrap().try_wait().unwrap() {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "still running: {}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let log = d.log_text();
    assert!(
        log.contains("cannot listen for metrics on TCP 192.0.2.1:9123")
            && log.contains("metrics_listen in ntp.conf or --metrics"),
        "{log}"
    );
}
