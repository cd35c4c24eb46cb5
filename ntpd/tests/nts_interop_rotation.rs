//! NTS cookies across a server key rotation (RFC 8915 §6) with the other
//! implementations (issue 17), each cell in network namespaces it makes:
//!
//! * chronyd 4.3 as NTS server rotating its key every 15 s (`ntsrotate`)
//!   under our client. chronyd keeps the current key and two previous
//!   ones (chrony.conf(5), `ntsrotate`; `nts_ke_server.c` keeps the key
//!   index in the low bits of the cookie's leading key id), so a cookie
//!   is accepted at least two intervals (30 s) after it was issued. Our
//!   client spends its 8 cookies oldest first and gets one back per reply;
//!   with `burst` (8 requests 2 s apart each poll) a cookie waits about
//!   16 s in the jar, well inside the window. Across three rotations the
//!   key of the NTS-KE cookies is gone, yet there was exactly one NTS-KE,
//!   no reply was refused (no NAK), authentic replies keep growing and the
//!   association is selected.
//! * ntpsec 1.2.2 as NTS client of our server (polling every 2 s) while
//!   we rotate: a key added (cookie file rewritten, SIGHUP): its old
//!   cookies are still answered, no new NTS-KE; then the old key left
//!   out: NTS NAKs counted by our server, and ntpsec authentic again (our
//!   NTS replies grow, its reach to us).
//!
//! ntpsec as NTS server rotating under our client is left out: ntpsec
//! 1.2.2 makes a new cookie key only when the current one is a day old
//! (`nts_cookie_timer` in its `ntpd/nts_cookie.c`, the age from the `T:`
//! line of its key file, read once at start), and looks at that only
//! from the hourly timer, first after an hour of uptime (`hour_timer` in
//! `ntpd/ntp_timer.c`); no signal or setting makes it rotate sooner.
//!
//! Every daemon runs with clock control off (`disable ntp`, chronyd `-x`,
//! ntpsec `-x` and `disable ntp`) and without CAP_SYS_TIME. Needs root,
//! `ip netns`, the openssl command line, chronyd and ntpsec.

mod interop_support;
mod nts_observe;
mod nts_support;
mod prerequisite;
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use interop_support::{ntpq_binary, peer_rows, rv_vars, Lab};
use nts_observe::{rv_number as rv, StopOnDrop as Chronyd};
use nts_support::{chrony_nts_server_conf, cookie_key_line, make_pki, make_pki_for};
use prerequisite::{require, Need, CHRONYD, OPENSSL};
use support::{start_named, Netns, Scratch, WITHOUT_SYS_TIME};

/// chronyd's key rotation interval in seconds (`ntsrotate`).
const CHRONY_ROTATE: u64 = 15;

/// Whether `ntpq -pn` at `host` shows the one association selected (`*`).
fn selected(ns: &Netns, host: &str) -> bool {
    let out = ns.output(&["timeout", "10", ntpq_binary(), "-n", "-p", host]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    peer_rows(&text).first().is_some_and(|r| r.tally == '*')
}

/// Waits up to `secs` for `ok`, failing with `what` and `logs`' text.
fn wait(secs: u64, what: &str, logs: &dyn Fn() -> String, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{what} within {secs} s\nlogs:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The key ids chronyd saved in `ntskeys` (its dump after each rotation).
fn chrony_key_ids(dump: &Path) -> Vec<String> {
    std::fs::read_to_string(dump.join("ntskeys"))
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// chronyd 4.3 rotating its cookie key every [`CHRONY_ROTATE`] s under
/// our client: one NTS-KE only, no refused reply, authentic and selected
/// after the key of the first cookies is gone.
#[test]
fn chronyd_server_rotates_keys_under_our_client() {
    require!(Need::Root, Need::IpNetns, OPENSSL, CHRONYD);
    let ns = Netns::new("ntsrch");
    ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
    let scratch = Scratch::new("ntsrch");
    let pki = make_pki(&scratch.0);
    let dump = scratch.path("ntsdump");
    std::fs::create_dir_all(&dump).unwrap();
    let conf = scratch.file(
        "chrony.conf",
        &chrony_nts_server_conf(
            &pki,
            &scratch.path("chronyd.pid"),
            &dump,
            &format!("ntsrotate {CHRONY_ROTATE}\n"),
        ),
    );
    let mut argv: Vec<&str> = WITHOUT_SYS_TIME.to_vec();
    let conf_s = conf.to_str().unwrap();
    argv.extend(["chronyd", "-d", "-x", "-u", "root", "-f", conf_s]);
    let chrony_log = scratch.path("chronyd.log");
    let _chronyd = Chronyd(
        ns.command(&argv)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&chrony_log).unwrap())
            .spawn()
            .unwrap(),
    );
    let client = start_named(
        &ns,
        &scratch,
        "client",
        "127.0.0.2",
        &format!(
            "disable ntp\nnts ca {}\n\
             server 127.0.0.1 nts minpoll 3 maxpoll 3 iburst burst\n",
            pki.ca.display()
        ),
        &["-F", "1"],
    );
    let logs = || {
        format!(
            "{}\n---\n{}",
            client.log_text(),
            std::fs::read_to_string(&chrony_log).unwrap_or_default()
        )
    };
    let c = "127.0.0.2";
    wait(30, "our client authentic over NTS", &logs, || {
        rv(&ns, c, "nts_authentic").unwrap_or(0) > 0
    });
    // The keys as of our NTS-KE; each rotation rewrites the dump.
    let mut seen = vec![chrony_key_ids(&dump)];
    assert!(!seen[0].is_empty(), "chronyd saved no keys\n{}", logs());
    let t0 = Instant::now();
    while seen.len() < 4 {
        assert!(
            t0.elapsed() < Duration::from_secs(4 * CHRONY_ROTATE + 10),
            "chronyd rotated only {} times: {seen:?}\n{}",
            seen.len() - 1,
            logs()
        );
        let ids = chrony_key_ids(&dump);
        if !ids.is_empty() && Some(&ids) != seen.last() {
            seen.push(ids);
        }
        assert_eq!(
            rv(&ns, c, "nts_refused"),
            Some(0),
            "a reply refused\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Three rotations: every key of the first dump but the newest (the
    // one current at our NTS-KE, or chronyd's future key) is overwritten.
    let gone: Vec<&String> = seen[0].iter().filter(|id| !seen[3].contains(id)).collect();
    assert!(gone.len() >= 3, "keys not replaced: {seen:?}");
    let after = rv(&ns, c, "nts_authentic").unwrap();
    wait(
        20,
        "authentic replies after the third rotation",
        &logs,
        || rv(&ns, c, "nts_authentic").unwrap_or(0) >= after + 4,
    );
    assert_eq!(
        rv(&ns, c, "nts_key_exchanges"),
        Some(1),
        "re-keyed\n{}",
        logs()
    );
    assert_eq!(rv(&ns, c, "nts_refused"), Some(0), "refused\n{}", logs());
    assert_eq!(rv(&ns, c, "nts_cookies"), Some(8));
    wait(20, "the association to chronyd selected", &logs, || {
        selected(&ns, c)
    });
}

/// A numeric system variable of our daemon in `ns` of `lab` (`ntpq rv`).
fn lab_rv(lab: &Lab, ns: &str, name: &str) -> u64 {
    let text = lab.ntpq(ns, Path::new(ntpq_binary()), &["-c", "rv", "127.0.0.1"]);
    rv_vars(&text)
        .into_iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in rv:\n{text}"))
}

/// ntpsec's reach register for its one association (`ntpq -pn`).
fn ntpsec_reach(lab: &Lab) -> u16 {
    let text = lab.ntpq(&lab.b, Path::new(ntpq_binary()), &["-n", "-p", "127.0.0.1"]);
    peer_rows(&text).first().map_or(0, |r| r.reach)
}

/// Writes `lines` as our key file at `path` (a temporary file renamed
/// over it, as an operator would), then SIGHUP to the daemon whose pid
/// is in `pidfile`.
fn install_keys(path: &Path, lines: &[String], pidfile: &Path) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, lines.join("\n") + "\n").unwrap();
    std::fs::rename(&tmp, path).unwrap();
    let pid: i32 = std::fs::read_to_string(pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
}

/// Polls `ok` every half second for up to `secs`, failing with `what`
/// and the lab's logs.
fn lab_wait(lab: &mut Lab, secs: u64, what: &str, mut ok: impl FnMut(&Lab) -> bool) {
    let t0 = Instant::now();
    while !ok(lab) {
        lab.assert_running();
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{what} within {secs} s\nlogs:\n{}\n---\n{}",
            lab.log("server"),
            lab.log("client")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// ntpsec 1.2.2 as NTS client of our server while we rotate our cookie
/// key: its old cookies answered while the old key is kept, NAKs once it
/// is left out, and ntpsec authentic again.
#[test]
fn ntpsec_client_across_our_key_rotation() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec, OPENSSL);
    let mut lab = Lab::new();
    let pki = make_pki_for(&lab.dir, Some(&lab.addr_a.clone()));
    let (a, b, addr_a) = (lab.a.clone(), lab.b.clone(), lab.addr_a.clone());
    let cookie_file = lab.dir.join("our-cookies");
    let pidfile = lab.dir.join("server.pid");
    let conf = lab.file(
        "server.conf",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\npidfile {}\n\
             nts enable cert {} key {} cookie {}\n",
            pidfile.display(),
            pki.cert.display(),
            pki.key.display(),
            cookie_file.display()
        ),
    );
    let conf = conf.to_str().unwrap().to_string();
    lab.spawn("server", &a, &[support::NTPD, "-n", "-c", &conf, "-F", "1"]);
    let ntpsec = prerequisite::ntpsec().expect("ntpsec found by require!");
    let dir = lab.dir.display().to_string();
    let client_conf = lab.file(
        "client.conf",
        &format!(
            "disable ntp\ndisable kernel\nrestrict default\nrestrict 127.0.0.1\nrestrict ::1\n\
             logfile {dir}/client.log\nstatsdir {dir}/\nnts ca {}\n\
             server {addr_a} nts minpoll 1 maxpoll 1 iburst\n",
            pki.ca.display()
        ),
    );
    let ntpd = ntpsec.ntpd.to_str().unwrap().to_string();
    let client_conf = client_conf.to_str().unwrap().to_string();
    lab.spawn("client", &b, &[&ntpd, "-n", "-x", "-c", &client_conf]);

    lab_wait(&mut lab, 60, "ntpsec polling us over NTS", |l| {
        ntpsec_reach(l) & 0b11 == 0b11 && lab_rv(l, &l.a, "nts_replies") >= 2
    });
    assert_eq!(lab_rv(&lab, &a, "nts_ke_served"), 1);
    let first = lab_rv(&lab, &a, "nts_cookie_key");

    // 1. A new key; the old one stays accepted.
    let text = std::fs::read_to_string(&cookie_file).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("ntskey "))
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    lines.push(cookie_key_line(first + 1));
    install_keys(&cookie_file, &lines, &pidfile);
    lab_wait(&mut lab, 10, "our server on the new key", |l| {
        lab_rv(l, &l.a, "nts_cookie_key") == first + 1
    });
    let replies = lab_rv(&lab, &a, "nts_replies");
    lab_wait(&mut lab, 30, "two replies to ntpsec's old cookies", |l| {
        lab_rv(l, &l.a, "nts_replies") >= replies + 2
    });
    assert_eq!(lab_rv(&lab, &a, "nts_naks"), 0, "old cookies refused");
    assert_eq!(lab_rv(&lab, &a, "nts_ke_served"), 1, "ntpsec re-keyed");
    let reach = ntpsec_reach(&lab);
    assert!(reach & 0b11 == 0b11, "ntpsec reach {reach:o}");

    // 2. The pre-rotation key left out: ntpsec still holds cookies under it.
    install_keys(
        &cookie_file,
        &[lines[1].clone(), cookie_key_line(first + 2)],
        &pidfile,
    );
    lab_wait(&mut lab, 10, "our server on the newest key", |l| {
        lab_rv(l, &l.a, "nts_cookie_key") == first + 2
    });
    lab_wait(&mut lab, 40, "an NTS NAK to ntpsec", |l| {
        lab_rv(l, &l.a, "nts_naks") >= 1
    });
    let replies = lab_rv(&lab, &a, "nts_replies");
    lab_wait(&mut lab, 60, "ntpsec authentic again", |l| {
        lab_rv(l, &l.a, "nts_replies") >= replies + 2 && ntpsec_reach(l) & 1 == 1
    });
}
