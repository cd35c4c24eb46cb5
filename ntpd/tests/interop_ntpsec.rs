//! Interop with ntpsec (Debian 12's ntpsec 1.2.2), both directions:
//! our `ntpq` against ntpsec's `ntpd`, and ntpsec's `ntpq` (`-p`, `-c as`,
//! `-c rv`, `-c "rv &1"`) against our `ntpd`. Each direction checks the
//! values (stratum, refid, reach, status words, offsets, delays) and that
//! both ntpqs read the same values from the same daemon.
//!
//! Two network namespaces joined by a veth pair: ntpsec's ntpd in A as an
//! orphan-mode server (`tos orphan 5`, no upstream), and in B its client:
//! a second ntpsec ntpd, or our ntpd. Every daemon runs with `disable ntp`
//! and without CAP_SYS_TIME (`setpriv`), so none can touch the clock;
//! every file they write is in the test's scratch directory. The ntpqs
//! read the client over 127.0.0.1 inside B and the server inside A.
//!
//! Needs root, `ip netns`, and ntpsec's ntpd and ntpq (`/opt/ntpsec`, as
//! unpacked by .ci/run, `$NTPSEC_ROOT`, or an installed `ntpsec`
//! package); see `prerequisite`.

mod interop_support;
mod prerequisite;

use std::path::Path;
use std::time::{Duration, Instant};

use interop_support::*;
use prerequisite::{require, Need, Ntpsec};

/// The reference (4.2.8) `ntpq -p` header, which our ntpq reproduces.
const PEERS_HEADER: &str =
    "     remote           refid      st t when poll reach   delay   offset  jitter";

/// ntpsec's programs, once `require!(…, Need::Ntpsec)` found them.
fn ntpsec_programs() -> Ntpsec {
    prerequisite::ntpsec().expect("ntpsec found by require!")
}

/// Common ntpsec configuration: no clock discipline, queries allowed from
/// loopback (ntpsec's default restriction is `noquery limited`), logs and
/// statistics only in the scratch directory.
fn ntpsec_conf(lab: &Lab, name: &str, body: &str) -> std::path::PathBuf {
    let dir = lab.dir.display();
    lab.file(
        &format!("{name}.conf"),
        &format!(
            "disable ntp\ndisable kernel\nrestrict default\nrestrict 127.0.0.1\nrestrict ::1\n\
             logfile {dir}/{name}.log\nstatsdir {dir}/\n{body}\n"
        ),
    )
}

fn start_ntpsec(lab: &mut Lab, ntpsec: &Ntpsec, name: &str, ns: &str, body: &str) {
    let conf = ntpsec_conf(lab, name, body);
    let ntpd = ntpsec.ntpd.to_str().expect("utf-8 path").to_string();
    let conf = conf.to_str().expect("utf-8 path").to_string();
    lab.spawn(name, ns, &[&ntpd, "-n", "-x", "-c", &conf]);
}

/// Polls (every second, at most `limit`) until `done` accepts the output of
/// our `ntpq args` inside `ns`; returns that output.
fn wait_for(
    lab: &mut Lab,
    ns: &str,
    args: &[&str],
    limit: Duration,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    lab.wait_ntpq(Path::new(ntpq_binary()), ns, args, limit, what, done)
}

/// Polls `ntpq -n -p 127.0.0.1` (the given program) inside `ns` for at
/// most `secs` seconds until the first row is the selected source
/// (tally `*`, reach not 0); returns that output.
fn wait_selected(lab: &mut Lab, ntpq: &Path, ns: &str, secs: u64, what: &str) -> String {
    lab.wait_ntpq(
        ntpq,
        ns,
        &["-n", "-p", "127.0.0.1"],
        Duration::from_secs(secs),
        what,
        |out| {
            peer_rows(out)
                .first()
                .is_some_and(|r| r.tally == '*' && r.reach != 0)
        },
    )
}

/// The values that change with every reception or event: `(status, rec,
/// reach, delay, offset, jitter)` of association 1 as `rv &1` reports
/// them. When they are equal before and after a series of queries, every
/// query of the series saw the same sample. (`headway` is left out:
/// ntpsec's decays every second.)
fn peer_sample(vars: &[(String, String)]) -> (String, String, String, f64, f64, f64) {
    (
        var(vars, "status").to_string(),
        var(vars, "rec")
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        var(vars, "reach").to_string(),
        num(vars, "delay"),
        num(vars, "offset"),
        num(vars, "jitter"),
    )
}

/// ntpsec's ntpd in namespace A as an orphan parent at stratum 5 (after
/// one second), checked with our ntpq.
/// `extra` adds configuration lines (keys).
fn start_orphan_server(lab: &mut Lab, ntpsec: &Ntpsec, extra: &str) {
    let a = lab.a.clone();
    start_ntpsec(
        lab,
        ntpsec,
        "server",
        &a,
        &format!("tos orphan 5 orphanwait 1\n{extra}"),
    );
    let srv_rv = wait_for(
        lab,
        &a,
        &["-c", "rv", "127.0.0.1"],
        Duration::from_secs(30),
        "ntpsec server at orphan stratum 5",
        |out| rv_stratum(out).as_deref() == Some("5"),
    );
    let v = rv_vars(&srv_rv);
    assert_eq!(var(&v, "associd"), "0");
    assert_eq!(var(&v, "leap"), "00", "orphan parent is synchronised");
    assert_eq!(
        var(&v, "refid"),
        "127.0.0.1",
        "an orphan parent's refid is the loopback address"
    );
    assert_eq!(var(&v, "peer"), "0", "no system peer");
    assert!(var(&v, "version").contains("ntpsec"), "{srv_rv}");
    // The server has no associations: the reference's wording.
    let srv_p = lab.ntpq(&a, Path::new(ntpq_binary()), &["-n", "-p", "127.0.0.1"]);
    assert_eq!(srv_p.trim(), "No association ID's returned");
}

#[test]
fn our_ntpq_reads_ntpsec_daemons() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec);
    let ntpsec = ntpsec_programs();
    let mut lab = Lab::new();
    let b = lab.b.clone();
    let addr_a = lab.addr_a.clone();
    start_orphan_server(&mut lab, &ntpsec, "");

    // --- the client in B, polling the server across the veth -----------
    start_ntpsec(
        &mut lab,
        &ntpsec,
        "client",
        &b,
        &format!("server {addr_a} iburst minpoll 4 maxpoll 4"),
    );
    let peers = wait_selected(
        &mut lab,
        Path::new(ntpq_binary()),
        &b,
        60,
        "client selecting the server (tally '*', reach != 0)",
    );
    eprintln!("our ntpq -n -p on the ntpsec client:\n{peers}");

    check_peer_row(&peers, &addr_a);

    // --- compare with ntpsec's ntpq, field by field --------------------
    let rv = compare_ntpqs(&mut lab, &ntpsec);
    assert!(var(&rv, "version").contains("ntpsec"), "{rv:?}");
    lab.assert_running();
}

/// Runs both ntpqs against the daemon in namespace B (a client of the
/// server in A) and checks their outputs against each other and against
/// the expected association. Returns our `rv` system variables.
fn compare_ntpqs(lab: &mut Lab, ntpsec: &Ntpsec) -> Vec<(String, String)> {
    let b = lab.b.clone();
    let (addr_a, addr_b) = (lab.addr_a.clone(), lab.addr_b.clone());
    // A new sample may land between two queries; retry until both tools
    // saw the same one (during the initial burst samples come every 2 s,
    // then every 16 s: ten tries two seconds apart reach a quiet window).
    let mut attempt = 0;
    loop {
        attempt += 1;
        let ours_rv1 = lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "rv &1", "127.0.0.1"]);
        let ours_p = lab.ntpq(&b, Path::new(ntpq_binary()), &["-n", "-p", "127.0.0.1"]);
        let ours_as = lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "as", "127.0.0.1"]);
        let ours_rv = lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "rv", "127.0.0.1"]);
        let theirs_p = lab.ntpq(&b, &ntpsec.ntpq, &["-n", "-p", "127.0.0.1"]);
        let theirs_as = lab.ntpq(&b, &ntpsec.ntpq, &["-c", "as", "127.0.0.1"]);
        let theirs_rv = lab.ntpq(&b, &ntpsec.ntpq, &["-c", "rv", "127.0.0.1"]);
        let theirs_rv1 = lab.ntpq(&b, &ntpsec.ntpq, &["-c", "rv &1", "127.0.0.1"]);
        let ours_rv1_again = lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "rv &1", "127.0.0.1"]);
        let (o1, t1, o2) = (
            rv_vars(&ours_rv1),
            rv_vars(&theirs_rv1),
            rv_vars(&ours_rv1_again),
        );
        if (peer_sample(&o1) != peer_sample(&o2) || peer_sample(&o1) != peer_sample(&t1))
            && attempt < 10
        {
            std::thread::sleep(Duration::from_secs(2));
            continue;
        }
        eprintln!(
            "ours:\n{ours_p}{ours_as}{ours_rv}{ours_rv1}\nntpsec's:\n{theirs_p}{theirs_as}{theirs_rv}{theirs_rv1}"
        );
        check_peers(&ours_p, &theirs_p, &o1);
        let assid = check_as(&ours_as, &theirs_as);
        check_rv(&ours_rv, &theirs_rv, &addr_a, &assid);
        check_rv1(&o1, &t1, &addr_a, &addr_b, &assid);
        return rv_vars(&ours_rv);
    }
}

/// Our `-n -p` output: the reference header and one row for the orphan
/// server with plausible figures.
fn check_peer_row(peers: &str, addr_a: &str) {
    assert_eq!(peers.lines().next(), Some(PEERS_HEADER), "{peers}");
    assert_eq!(peers.lines().nth(1), Some(&"=".repeat(78)[..]), "{peers}");
    let rows = peer_rows(peers);
    assert_eq!(rows.len(), 1, "{peers}");
    let row = &rows[0];
    assert_eq!(row.remote, addr_a);
    assert_eq!(row.refid, "127.0.0.1", "the server's refid (orphan)");
    assert_eq!(row.st, 5, "the server's orphan stratum");
    assert_eq!(row.t, "u", "unicast server");
    assert_eq!(row.poll, 16, "minpoll/maxpoll 4");
    // Same kernel clock on both sides of the veth: sub-millisecond figures
    // (ntpq prints milliseconds). 50 ms leaves room for a loaded machine.
    assert!(row.delay > 0.0 && row.delay < 50.0, "delay {}", row.delay);
    assert!(row.offset.abs() < 50.0, "offset {}", row.offset);
    assert!(
        row.jitter >= 0.0 && row.jitter < 50.0,
        "jitter {}",
        row.jitter
    );
}

/// `-n -p`: our row and ntpsec's row describe the same peer and sample;
/// both agree with `rv &1`.
fn check_peers(ours: &str, theirs: &str, rv1: &[(String, String)]) {
    let (o, t) = (peer_rows(ours), peer_rows(theirs));
    assert_eq!((o.len(), t.len()), (1, 1), "{ours}\n{theirs}");
    let (o, t) = (&o[0], &t[0]);
    assert_eq!(
        (o.tally, &o.remote, &o.refid, o.st, &o.t, o.poll, o.reach),
        (t.tally, &t.remote, &t.refid, t.st, &t.t, t.poll, t.reach),
        "\n{ours}\n{theirs}"
    );
    assert_eq!(
        o.reach,
        u16::from_str_radix(var(rv1, "reach"), 8).expect("octal reach")
    );
    // Ours prints 3 decimals (like the reference), ntpsec's 4.
    for (col, ov, tv, rv) in [
        ("delay", o.delay, t.delay, num(rv1, "delay")),
        ("offset", o.offset, t.offset, num(rv1, "offset")),
        ("jitter", o.jitter, t.jitter, num(rv1, "jitter")),
    ] {
        assert!((ov - tv).abs() <= 0.0011, "{col}: ours {ov}, ntpsec {tv}");
        assert!((ov - rv).abs() <= 0.0006, "{col}: -p {ov}, rv {rv}");
    }
}

/// `-c as`: same row in both; status word says configured, reachable,
/// system peer. Returns the association ID.
fn check_as(ours: &str, theirs: &str) -> String {
    assert_eq!(
        ours.lines().find(|l| !l.is_empty()),
        Some("ind assid status  conf reach auth condition  last_event cnt"),
        "{ours}"
    );
    let (o, t) = (assoc_rows(ours), assoc_rows(theirs));
    assert_eq!(o, t, "as rows differ:\n{ours}\n{theirs}");
    assert_eq!(o.len(), 1, "{ours}");
    let r = &o[0];
    assert_eq!(r[0], "1");
    let status = u16::from_str_radix(&r[2], 16).expect("hex status");
    assert_eq!(status & 0x8000, 0x8000, "configured: {status:04x}");
    assert_eq!(status & 0x1000, 0x1000, "reachable: {status:04x}");
    assert_eq!(status >> 8 & 7, 6, "selection: system peer: {status:04x}");
    assert_eq!(&r[3..7], ["yes", "yes", "none", "sys.peer"], "{ours}");
    r[1].clone()
}

/// `-c rv`: the client's system variables, as ntpsec's ntpq reads them.
fn check_rv(ours: &str, theirs: &str, server: &str, assid: &str) {
    let (o, t) = (rv_vars(ours), rv_vars(theirs));
    let names = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&o), names(&t), "variable names/order");
    assert!(ours.starts_with("associd=0 status="), "first line: {ours}");
    assert_eq!(var(&o, "stratum"), "6", "one below the orphan server");
    assert_eq!(var(&o, "refid"), server, "refid is the server's address");
    assert_eq!(var(&o, "peer"), assid, "system peer is the association");
    for name in [
        "associd",
        "status",
        "leap",
        "stratum",
        "precision",
        "refid",
        "peer",
        "tc",
        "mintc",
        "processor",
        "system",
        "version",
    ] {
        assert_eq!(var(&o, name), var(&t, name), "{name}");
    }
    // Numbers: ntpsec's ntpq reformats them (0.051 vs 0.051, 0.0 vs 0.000).
    // Our daemon's rootdisp ages at PHI (15 us/s) between samples (the
    // reference's stays fixed until the next clock update), and the two
    // queries are up to 2 s apart.
    let rd = (num(&o, "rootdisp"), num(&t, "rootdisp"));
    assert!(
        (rd.0 - rd.1).abs() < 0.1,
        "rootdisp: ours {}, ntpsec {}",
        rd.0,
        rd.1
    );
    for name in [
        "rootdelay",
        "offset",
        "frequency",
        "sys_jitter",
        "clk_jitter",
        "clk_wander",
    ] {
        let (ov, tv) = (num(&o, name), num(&t, name));
        assert!(
            (ov - tv).abs() < 1e-3 + 1e-6 * tv.abs(),
            "{name}: ours {ov}, ntpsec {tv}"
        );
    }
    // The raw reference time (hex) is the same; the text after it is each
    // tool's own date format.
    let hex = |v: &str| v.split_whitespace().next().unwrap_or_default().to_string();
    assert_eq!(hex(var(&o, "reftime")), hex(var(&t, "reftime")));
    assert_ne!(hex(var(&o, "reftime")), "00000000.00000000", "reftime set");
}

/// `-c "rv &1"`: the peer variables of the server association.
fn check_rv1(
    o: &[(String, String)],
    t: &[(String, String)],
    server: &str,
    client: &str,
    assid: &str,
) {
    assert_eq!(var(o, "associd"), assid);
    assert_eq!(var(o, "srcadr"), server);
    assert_eq!(var(o, "srcport"), "123");
    assert_eq!(var(o, "dstadr"), client);
    assert_eq!(var(o, "dstport"), "123");
    assert_eq!(var(o, "stratum"), "5");
    assert_eq!(var(o, "refid"), "127.0.0.1");
    assert_eq!(var(o, "hmode"), "3", "client");
    assert_eq!(var(o, "pmode"), "4", "server");
    assert_eq!(var(o, "hpoll"), "4");
    assert_eq!(var(o, "leap"), "00");
    assert_eq!(var(o, "flash"), "00 ok", "no test failed");
    assert_ne!(var(o, "reach"), "000");
    let delay = num(o, "delay");
    assert!(delay > 0.0 && delay < 50.0, "delay {delay} ms");
    assert!(num(o, "offset").abs() < 50.0, "offset");
    for name in [
        "associd",
        "status",
        "srcadr",
        "srcport",
        "dstadr",
        "dstport",
        "leap",
        "hmode",
        "pmode",
        "stratum",
        "ppoll",
        "hpoll",
        "precision",
        "refid",
        "reach",
        "unreach",
        "keyid",
        "flash",
    ] {
        assert_eq!(var(o, name), var(t, name), "{name}");
    }
    // ntpsec's headway decays every second; the queries are seconds apart.
    let headway = |v: &[(String, String)]| var(v, "headway").parse::<i64>().expect("headway");
    assert!(
        (headway(o) - headway(t)).abs() <= 20,
        "headway: ours {}, ntpsec {}",
        headway(o),
        headway(t)
    );
    for name in [
        "rootdelay",
        "rootdisp",
        "delay",
        "offset",
        "jitter",
        "dispersion",
    ] {
        let (ov, tv) = (num(o, name), num(t, name));
        assert!(
            (ov - tv).abs() < 1e-3 + 1e-6 * tv.abs(),
            "{name}: ours {ov}, ntpsec {tv}"
        );
    }
    let hex = |v: &str| v.split_whitespace().next().unwrap_or_default().to_string();
    assert_eq!(hex(var(o, "rec")), hex(var(t, "rec")), "rec");
    // `xmt` is an ntpsec addition (the reference 4.2.8 does not send it).
    let get =
        |v: &[(String, String)], name: &str| v.iter().find(|(k, _)| k == name).map(|(_, v)| hex(v));
    assert_eq!(get(o, "xmt"), get(t, "xmt"), "xmt");
}

/// The other direction: ntpsec's `ntpq -p`, `-c as` and `-c rv` against
/// our daemon. Our ntpd runs in B as a client of ntpsec's orphan server in
/// A (`disable ntp`, no CAP_SYS_TIME); both ntpqs read it and must agree.
#[test]
fn ntpsec_ntpq_reads_our_daemon() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec);
    let ntpsec = ntpsec_programs();
    let mut lab = Lab::new();
    let b = lab.b.clone();
    let addr_a = lab.addr_a.clone();
    start_orphan_server(&mut lab, &ntpsec, "");
    let conf = lab.file(
        "client.conf",
        &format!("disable ntp\nserver {addr_a} iburst minpoll 4 maxpoll 4\n"),
    );
    let conf = conf.to_str().expect("utf-8 path").to_string();
    lab.spawn("client", &b, &[NTPD, "-n", "-c", &conf]);
    let peers = wait_selected(
        &mut lab,
        Path::new(ntpq_binary()),
        &b,
        60,
        "our daemon selecting ntpsec's server (tally '*', reach != 0)",
    );
    eprintln!("our ntpq -n -p on our daemon:\n{peers}");
    check_peer_row(&peers, &addr_a);
    let rv = compare_ntpqs(&mut lab, &ntpsec);
    let version = var(&rv, "version");
    assert!(
        version.starts_with("\"ntpd ") && !version.contains("ntpsec"),
        "our daemon's version: {version}"
    );
    lab.assert_running();
}

// --- ntpsec's ntpd as a client of our server; symmetric keys -------------

/// ntpsec's ntpd in namespace B polling our server in A every 2 s
/// (`minpoll 1 maxpoll 1`: ntpsec allows intervals below 8 s), with
/// `key` from `keys` when given.
fn start_ntpsec_client(lab: &mut Lab, ntpsec: &Ntpsec, key: Option<(u8, &str)>) {
    let b = lab.b.clone();
    let addr_a = lab.addr_a.clone();
    let body = match key {
        None => format!("server {addr_a} iburst minpoll 1 maxpoll 1"),
        Some((id, keys)) => format!(
            "{}server {addr_a} key {id} iburst minpoll 1 maxpoll 1",
            lab.key_lines("client", keys)
        ),
    };
    start_ntpsec(lab, ntpsec, "client", &b, &body);
}

/// The status word of an `rv` answer, as a number.
fn status_word(vars: &[(String, String)]) -> u16 {
    u16::from_str_radix(var(vars, "status"), 16).expect("hex status word")
}

/// Reads ntpsec's client in B with ntpsec's ntpq once it has selected our
/// server, and checks what it reports: our server as system peer with our
/// stratum and refid, itself one stratum below with our address as refid,
/// a small offset, a growing reach register, and with `key` an
/// authenticated association using that key.
fn check_ntpsec_client_synced(lab: &mut Lab, ntpsec: &Ntpsec, server_stratum: u8, key: Option<u8>) {
    let b = lab.b.clone();
    let addr_a = lab.addr_a.clone();
    let peers = wait_selected(
        lab,
        &ntpsec.ntpq,
        &b,
        40,
        "ntpsec's client selecting our server (tally '*')",
    );
    eprintln!("ntpsec's ntpq -n -p on ntpsec's client:\n{peers}");
    let rows = peer_rows(&peers);
    assert_eq!(rows.len(), 1, "{peers}");
    let row = &rows[0];
    assert_eq!(row.remote, addr_a);
    assert_eq!(row.st, server_stratum, "our server's stratum");
    assert_eq!(row.refid, "127.0.0.1", "an orphan parent's refid (ours)");
    assert_eq!(row.t, "u");
    assert_eq!(row.poll, 2, "minpoll/maxpoll 1");
    // ntpsec prints milliseconds; both ends read the same kernel clock.
    assert!(row.delay > 0.0 && row.delay < 50.0, "delay {}", row.delay);
    assert!(row.offset.abs() < 50.0, "offset {}", row.offset);

    let sys = rv_vars(&lab.ntpq(&b, &ntpsec.ntpq, &["-c", "rv", "127.0.0.1"]));
    assert_eq!(
        var(&sys, "stratum"),
        (server_stratum + 1).to_string(),
        "ntpsec's client is one stratum below our server"
    );
    assert_eq!(var(&sys, "refid"), addr_a, "refid is our server's address");

    let as_out = lab.ntpq(&b, &ntpsec.ntpq, &["-c", "as", "127.0.0.1"]);
    let assoc = assoc_rows(&as_out);
    assert_eq!(assoc.len(), 1, "{as_out}");
    let auth = if key.is_some() { "ok" } else { "none" };
    assert_eq!(
        &assoc[0][3..7],
        ["yes", "yes", auth, "sys.peer"],
        "{as_out}"
    );
    assert_eq!(var(&sys, "peer"), assoc[0][1], "system peer is our server");

    let p1 = rv_vars(&lab.ntpq(&b, &ntpsec.ntpq, &["-c", "rv &1", "127.0.0.1"]));
    assert_eq!(var(&p1, "srcadr"), addr_a);
    assert_eq!(var(&p1, "stratum"), server_stratum.to_string());
    assert_eq!(var(&p1, "refid"), "127.0.0.1");
    assert_eq!(var(&p1, "leap"), "00");
    assert_eq!(var(&p1, "hmode"), "3", "client");
    assert_eq!(var(&p1, "pmode"), "4", "our reply is mode 4");
    assert_eq!(var(&p1, "flash"), "00 ok", "every test passed");
    assert!(num(&p1, "offset").abs() < 50.0, "offset {p1:?}");
    let status = status_word(&p1);
    assert_eq!(status >> 8 & 7, 6, "system peer: {status:04x}");
    match key {
        Some(id) => {
            assert_eq!(status & 0x6000, 0x6000, "authenb, auth: {status:04x}");
            assert_eq!(var(&p1, "keyid"), id.to_string());
        }
        // ntpsec, like the reference, sets `auth` (0x2000) for an
        // unauthenticated association too; `authenb` says no key is used.
        None => assert_eq!(status & 0x4000, 0, "no key: {status:04x}"),
    }

    // The reach register keeps filling at one bit per 2 s poll.
    let reach = |v: &[(String, String)]| u8::from_str_radix(var(v, "reach"), 8).expect("octal");
    let before = reach(&p1);
    if before != 0o377 {
        let later = lab.wait_ntpq(
            &ntpsec.ntpq,
            &b,
            &["-c", "rv &1", "127.0.0.1"],
            Duration::from_secs(10),
            "reach growing",
            |out| reach(&rv_vars(out)).count_ones() > before.count_ones(),
        );
        let after = reach(&rv_vars(&later));
        assert_eq!(after & 1, 1, "latest poll answered: {after:o}");
    }
}

#[test]
fn ntpsec_client_selects_our_server() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec);
    let ntpsec = ntpsec_programs();
    let mut lab = Lab::new();
    let stratum = lab.start_our_orphan_server();
    start_ntpsec_client(&mut lab, &ntpsec, None);
    check_ntpsec_client_synced(&mut lab, &ntpsec, stratum, None);
    lab.assert_running();
}

#[test]
fn ntpsec_client_authenticates_our_server_with_md5() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec);
    let ntpsec = ntpsec_programs();
    let mut lab = Lab::new();
    let stratum = lab.start_our_orphan_server();
    start_ntpsec_client(&mut lab, &ntpsec, Some((1, KEYS)));
    check_ntpsec_client_synced(&mut lab, &ntpsec, stratum, Some(1));
    lab.assert_running();
}

#[test]
fn ntpsec_client_authenticates_our_server_with_sha1() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec);
    let ntpsec = ntpsec_programs();
    let mut lab = Lab::new();
    let stratum = lab.start_our_orphan_server();
    start_ntpsec_client(&mut lab, &ntpsec, Some((2, KEYS)));
    check_ntpsec_client_synced(&mut lab, &ntpsec, stratum, Some(2));
    lab.assert_running();
}

/// With the wrong secret ntpsec's client sees our replies fail
/// authentication (`pkt_auth`) and never selects our server.
#[test]
fn ntpsec_client_rejects_our_server_with_wrong_keys() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec);
    let ntpsec = ntpsec_programs();
    let mut lab = Lab::new();
    lab.start_our_orphan_server();
    let b = lab.b.clone();
    let t0 = Instant::now();
    let addr_a = lab.addr_a.clone();
    let body = format!(
        "{}server {addr_a} key 1 iburst minpoll 1 maxpoll 1\n",
        lab.key_lines("client", WRONG_KEYS)
    );
    start_ntpsec(&mut lab, &ntpsec, "client", &b, &body);
    let first = lab.wait_ntpq(
        &ntpsec.ntpq,
        &b,
        &["-c", "rv &1", "127.0.0.1"],
        Duration::from_secs(20),
        "a reply failing authentication (flash pkt_auth)",
        |out| var(&rv_vars(out), "flash").contains("pkt_auth"),
    );
    eprintln!("ntpsec's rv &1 with the wrong MD5 secret:\n{first}");
    // Let at least five polls (2 s apart) pass.
    std::thread::sleep(Duration::from_secs(12).saturating_sub(t0.elapsed()));
    let peers = lab.ntpq(&b, &ntpsec.ntpq, &["-n", "-p", "127.0.0.1"]);
    let rows = peer_rows(&peers);
    assert_eq!(rows.len(), 1, "{peers}");
    assert_eq!(rows[0].tally, ' ', "never selected: {peers}");
    assert_eq!(rows[0].reach, 0, "no reply counted: {peers}");
    assert_eq!(rows[0].st, 16, "{peers}");
    let as_out = lab.ntpq(&b, &ntpsec.ntpq, &["-c", "as", "127.0.0.1"]);
    let assoc = assoc_rows(&as_out);
    assert_eq!(&assoc[0][3..7], ["yes", "no", "bad", "reject"], "{as_out}");
    let p1 = rv_vars(&lab.ntpq(&b, &ntpsec.ntpq, &["-c", "rv &1", "127.0.0.1"]));
    assert!(var(&p1, "flash").contains("pkt_auth"), "{p1:?}");
    assert_eq!(status_word(&p1) & 0x6000, 0x4000, "authenb, not auth");
    let sys = rv_vars(&lab.ntpq(&b, &ntpsec.ntpq, &["-c", "rv", "127.0.0.1"]));
    assert_eq!(var(&sys, "stratum"), "16", "unsynchronised");
    assert_eq!(var(&sys, "refid"), "INIT");
    lab.assert_running();
}

/// Our client in B with `key N` against ntpsec's orphan server in A
/// holding the same keys: selected and authenticated.
fn our_keyed_client_syncs_to_ntpsec(id: u8) {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec);
    let ntpsec = ntpsec_programs();
    let mut lab = Lab::new();
    let b = lab.b.clone();
    let addr_a = lab.addr_a.clone();
    let server_keys = lab.key_lines("server", KEYS);
    start_orphan_server(&mut lab, &ntpsec, &server_keys);
    let conf = format!(
        "disable ntp\n{}server {addr_a} key {id} iburst minpoll 3 maxpoll 3\n",
        lab.key_lines("client", KEYS)
    );
    let conf = lab.file("client.conf", &conf);
    let conf = conf.to_str().expect("utf-8 path").to_string();
    lab.spawn("client", &b, &[NTPD, "-n", "-c", &conf]);
    let peers = wait_selected(
        &mut lab,
        Path::new(ntpq_binary()),
        &b,
        40,
        "our client selecting ntpsec's server with a key",
    );
    eprintln!("our ntpq -n -p, key {id}:\n{peers}");
    let rows = peer_rows(&peers);
    assert_eq!(rows.len(), 1, "{peers}");
    assert_eq!(
        (rows[0].remote.as_str(), rows[0].refid.as_str(), rows[0].st),
        (addr_a.as_str(), "127.0.0.1", 5),
        "{peers}"
    );
    assert!(rows[0].offset.abs() < 50.0, "{peers}");
    let as_out = lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "as", "127.0.0.1"]);
    let assoc = assoc_rows(&as_out);
    assert_eq!(
        &assoc[0][3..7],
        ["yes", "yes", "ok", "sys.peer"],
        "{as_out}"
    );
    let p1 = rv_vars(&lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "rv &1", "127.0.0.1"]));
    assert_eq!(var(&p1, "keyid"), id.to_string(), "{p1:?}");
    assert_eq!(var(&p1, "flash"), "00 ok", "{p1:?}");
    assert_eq!(status_word(&p1) & 0x6000, 0x6000, "authenb, auth");
    let sys = rv_vars(&lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "rv", "127.0.0.1"]));
    assert_eq!(var(&sys, "stratum"), "6");
    assert_eq!(var(&sys, "refid"), addr_a);
    lab.assert_running();
}

#[test]
fn our_client_authenticates_ntpsec_server_with_md5() {
    our_keyed_client_syncs_to_ntpsec(1);
}

#[test]
fn our_client_authenticates_ntpsec_server_with_sha1() {
    our_keyed_client_syncs_to_ntpsec(2);
}

/// ntpsec's orphan server in A holding [`KEYS`] and our client in B
/// asking with key 2 from [`WRONG_KEYS`], after the iburst volley (six
/// requests 2 s apart) and one 8 s poll. ntpsec drops requests whose MAC
/// fails (its `authentication failed` counter), so our client hears
/// nothing. Returns our ntpq's `-n -p`, `as` and `rv &1` outputs.
fn our_wrong_key_client_of_ntpsec(lab: &mut Lab, ntpsec: &Ntpsec) -> (String, String, String) {
    let b = lab.b.clone();
    let addr_a = lab.addr_a.clone();
    let server_keys = lab.key_lines("server", KEYS);
    start_orphan_server(lab, ntpsec, &server_keys);
    let conf = format!(
        "disable ntp\n{}server {addr_a} key 2 iburst minpoll 3 maxpoll 3\n",
        lab.key_lines("client", WRONG_KEYS)
    );
    let conf = lab.file("client.conf", &conf);
    let conf = conf.to_str().expect("utf-8 path").to_string();
    lab.spawn("client", &b, &[NTPD, "-n", "-c", &conf]);
    std::thread::sleep(Duration::from_secs(16));
    lab.assert_running();
    let peers = lab.ntpq(&b, Path::new(ntpq_binary()), &["-n", "-p", "127.0.0.1"]);
    let as_out = lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "as", "127.0.0.1"]);
    let p1 = lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "rv &1", "127.0.0.1"]);
    eprintln!("our ntpq with the wrong SHA1 secret:\n{peers}{as_out}{p1}");
    (peers, as_out, p1)
}

/// Our client holding other secrets for keys 1 and 2 never selects
/// ntpsec's server.
#[test]
fn our_client_rejects_ntpsec_server_with_wrong_keys() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec);
    let ntpsec = ntpsec_programs();
    let mut lab = Lab::new();
    let b = lab.b.clone();
    let (peers, as_out, p1) = our_wrong_key_client_of_ntpsec(&mut lab, &ntpsec);
    let rows = peer_rows(&peers);
    assert_eq!(rows.len(), 1, "{peers}");
    assert_ne!(rows[0].tally, '*', "never selected: {peers}");
    assert_eq!(rows[0].reach, 0, "no reply accepted: {peers}");
    assert_eq!(rows[0].st, 16, "{peers}");
    let assoc = assoc_rows(&as_out);
    assert_eq!(&assoc[0][3..7], ["yes", "no", "bad", "reject"], "{as_out}");
    let p1 = rv_vars(&p1);
    assert_eq!(status_word(&p1) & 0x6000, 0x4000, "authenb, not auth");
    assert_eq!(var(&p1, "keyid"), "2");
    let sys = rv_vars(&lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "rv", "127.0.0.1"]));
    assert_eq!(var(&sys, "stratum"), "16", "unsynchronised");
    lab.assert_running();
}

/// How the reference (4.2.8p18) reports a server that never answered:
/// `refid` as text for stratum 16 (`REFID_ISTEXT`, so `-p` shows
/// `.INIT.`), `ppoll` = maxpoll (`peer_clear()` and `transmit()`, so the
/// poll column shows 8 with maxpoll 3), and `flash` = `peer_unfit()`
/// (peer_stratum, peer_dist, peer_unreach). The system `refid` of an
/// unsynchronised daemon (stratum 16) is text too. ntpsec's client shows
/// the same in `ntpsec_client_rejects_our_server_with_wrong_keys`.
#[test]
fn unreached_server_is_reported_like_the_reference() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec);
    let ntpsec = ntpsec_programs();
    let mut lab = Lab::new();
    let b = lab.b.clone();
    let (peers, _, p1) = our_wrong_key_client_of_ntpsec(&mut lab, &ntpsec);
    let sys = rv_vars(&lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "rv", "127.0.0.1"]));
    assert_eq!(var(&sys, "refid"), "INIT", "system refid at stratum 16");
    let rows = peer_rows(&peers);
    assert_eq!(rows[0].refid, ".INIT.", "{peers}");
    assert_eq!(rows[0].poll, 8, "{peers}");
    let p1 = rv_vars(&p1);
    assert_eq!(var(&p1, "refid"), "INIT");
    assert_eq!(var(&p1, "ppoll"), "3");
    let flash = var(&p1, "flash");
    for bit in ["peer_stratum", "peer_dist", "peer_unreach"] {
        assert!(flash.contains(bit), "flash {flash} lacks {bit}");
    }
}
