//! Cookies across a server key rotation (RFC 8915 §6), daemon to daemon,
//! in a network namespace the test creates: alice (127.0.0.1) is our NTS
//! server with `nts cookie FILE`, bob (127.0.0.3) our client with
//! `server 127.0.0.1 nts`. The operator's rotation is a new key set
//! written into the cookie file and SIGHUP (ntpd(8), NTS COOKIE KEYS):
//!
//! 1. a new key is added, the old one kept: `rv` shows the new key id, the
//!    cookies bob got before the rotation are still accepted (no NTS NAK,
//!    no second NTS-KE) and the association stays authentic;
//! 2. the old key is left out (as once it is older than the window): bob's
//!    next old cookie is answered with an NTS NAK, counted on both sides,
//!    bob runs NTS-KE again and is authentic under the newest key.
//!
//! The same rotation with chronyd 4.3 as the NTS client (`-x`): no new
//! NTS-KE while the old key is kept, a NAK and a new NTS-KE once it is
//! left out, chronyd reaching alice throughout (`chronyc sources`).
//!
//! Every daemon runs with `disable ntp` (chronyd with `-x`) and without
//! CAP_SYS_TIME. Needs root, `ip netns`, the openssl command line and, for
//! the second test, chronyd and chronyc.

mod interop_support;
mod nts_observe;
mod nts_support;
mod prerequisite;
mod support;

use std::time::{Duration, Instant};

use nts_observe::{one_association_authentic, rv_number as rv, StopOnDrop as Chronyd};
use nts_support::{cookie_key_line, make_pki};
use prerequisite::{require, Need, CHRONYC, OPENSSL};
use support::{start_named, Daemon, Netns, Scratch};

/// Our daemons run under the system call filter (`-F 1`): the SIGHUP
/// reload must work there too.
const FILTER: &[&str] = &["-F", "1"];

/// Whether bob's one association is reachable and authentic.
fn authentic(ns: &Netns) -> bool {
    one_association_authentic(ns, "127.0.0.3")
}

/// Waits up to `secs` for `ok`, failing with `what` and bob's and alice's logs.
fn wait(secs: u64, what: &str, logs: &[&Daemon], mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{what} within {secs} s\nlogs:\n{}",
            logs.iter()
                .map(|d| d.log_text())
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The `ntskey` lines of the file at `path`.
fn key_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("ntskey "))
        .map(str::to_owned)
        .collect()
}

/// Writes `lines` as the key file at `path` as an operator would
/// (a temporary file renamed over it), then SIGHUP to `d`.
fn install_keys(path: &std::path::Path, lines: &[String], d: &Daemon) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, lines.join("\n") + "\n").unwrap();
    std::fs::rename(&tmp, path).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.pid()),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
}

#[test]
fn cookies_survive_a_key_rotation_and_an_expired_key_is_refused() {
    require!(Need::Root, Need::IpNetns, OPENSSL);
    let ns = Netns::new("ntsrot");
    ns.run(&["ip", "addr", "add", "127.0.0.3/8", "dev", "lo"]);
    let scratch = Scratch::new("ntsrot");
    let pki = make_pki(&scratch.0);
    let cookie_file = scratch.path("nts-keys");
    let alice = start_named(
        &ns,
        &scratch,
        "alice",
        "127.0.0.1",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nnts enable cert {} key {} cookie {}\n",
            pki.cert.display(),
            pki.key.display(),
            cookie_file.display()
        ),
        FILTER,
    );
    let bob = start_named(
        &ns,
        &scratch,
        "bob",
        "127.0.0.3",
        &format!(
            "disable ntp\ntos orphan 10 orphanwait 1\n\
             server 127.0.0.1 nts minpoll 3 maxpoll 3 iburst\nnts ca {}\n",
            pki.ca.display()
        ),
        FILTER,
    );
    let logs = [&alice, &bob];
    let a = "127.0.0.1";
    let b = "127.0.0.3";
    wait(60, "bob authentic over NTS", &logs, || {
        authentic(&ns) && rv(&ns, b, "nts_authentic").unwrap_or(0) > 0
    });
    let first = rv(&ns, a, "nts_cookie_key").expect("alice shows nts_cookie_key");
    assert_eq!(rv(&ns, a, "nts_cookie_keys"), Some(1));
    assert_eq!(rv(&ns, b, "nts_key_exchanges"), Some(1));

    // 1. A new key; the old one stays accepted.
    let mut lines = key_lines(&cookie_file);
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.push(cookie_key_line(first + 1));
    install_keys(&cookie_file, &lines, &alice);
    wait(10, "alice on the new key", &logs, || {
        rv(&ns, a, "nts_cookie_key") == Some(first + 1)
    });
    assert_eq!(rv(&ns, a, "nts_cookie_keys"), Some(2));
    let before = rv(&ns, b, "nts_authentic").unwrap();
    wait(
        40,
        "two more authentic replies to old cookies",
        &logs,
        || rv(&ns, b, "nts_authentic").unwrap_or(0) >= before + 2,
    );
    assert_eq!(rv(&ns, a, "nts_naks"), Some(0), "old cookies refused");
    assert_eq!(rv(&ns, b, "nts_key_exchanges"), Some(1), "bob re-keyed");
    assert!(authentic(&ns), "bob no longer authentic");

    // 2. The pre-rotation key left out, as once out of the window: bob
    // still holds cookies under it (8 at NTS-KE, one replaced a poll).
    let newer = vec![lines[1].clone(), cookie_key_line(first + 2)];
    install_keys(&cookie_file, &newer, &alice);
    wait(10, "alice on the newest key", &logs, || {
        rv(&ns, a, "nts_cookie_key") == Some(first + 2)
    });
    assert_eq!(rv(&ns, a, "nts_cookie_keys"), Some(2));
    wait(40, "an NTS NAK for the expired cookie", &logs, || {
        rv(&ns, a, "nts_naks").unwrap_or(0) >= 1
    });
    wait(40, "bob re-keyed after the NAK", &logs, || {
        rv(&ns, b, "nts_key_exchanges") == Some(2)
    });
    assert!(rv(&ns, b, "nts_refused").unwrap_or(0) >= 1);
    let after = rv(&ns, b, "nts_authentic").unwrap();
    wait(40, "bob authentic under the newest key", &logs, || {
        rv(&ns, b, "nts_authentic").unwrap_or(0) >= after + 2 && authentic(&ns)
    });
    assert_eq!(rv(&ns, a, "nts_ke_served"), Some(2));
}

/// chronyd's reach register for its one source (`chronyc -c sources`).
fn chrony_reach(ns: &Netns, sock: &str) -> Option<u32> {
    let out = ns.output(&[
        "timeout", "10", "chronyc", "-n", "-c", "-h", sock, "sources",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let row: Vec<&str> = text.lines().next()?.split(',').collect();
    u32::from_str_radix(row.get(5)?, 8).ok()
}

/// The same rotation with chronyd 4.3 as the NTS client (`server
/// 127.0.0.1 nts`, poll 4 s): no new NTS-KE while the old key is kept,
/// an NTS NAK and a new NTS-KE once it is left out, and chronyd keeps
/// reaching alice throughout.
#[test]
fn chronyd_keeps_its_cookies_across_a_rotation() {
    require!(
        Need::Root,
        Need::IpNetns,
        OPENSSL,
        prerequisite::CHRONYD,
        CHRONYC
    );
    let ns = Netns::new("ntsrotc");
    ns.run(&["ip", "addr", "add", "127.0.0.3/8", "dev", "lo"]);
    let scratch = Scratch::new("ntsrotc");
    let pki = make_pki(&scratch.0);
    let cookie_file = scratch.path("nts-keys");
    let alice = start_named(
        &ns,
        &scratch,
        "alice",
        "127.0.0.1",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nnts enable cert {} key {} cookie {}\n",
            pki.cert.display(),
            pki.key.display(),
            cookie_file.display()
        ),
        FILTER,
    );
    // chronyd wants its socket directory closed to others.
    let run = scratch.path("chrony");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let sock = run.join("chronyd.sock").display().to_string();
    let conf = scratch.file(
        "chrony.conf",
        &format!(
            "server 127.0.0.1 nts iburst minpoll 2 maxpoll 2\nntstrustedcerts {}\n\
             ntsdumpdir {}\ncmdport 0\nbindcmdaddress {sock}\npidfile {}\n",
            pki.ca.display(),
            run.display(),
            run.join("chronyd.pid").display()
        ),
    );
    let mut argv: Vec<String> = support::WITHOUT_SYS_TIME.map(String::from).to_vec();
    argv.extend(["chronyd", "-d", "-x", "-u", "root", "-f"].map(String::from));
    argv.push(conf.display().to_string());
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let chrony_log = std::fs::File::create(scratch.path("chronyd.log")).unwrap();
    let _chronyd = Chronyd(
        ns.command(&refs)
            .stdout(std::process::Stdio::null())
            .stderr(chrony_log)
            .spawn()
            .unwrap(),
    );
    let a = "127.0.0.1";
    let logs = [&alice];
    wait(60, "chronyd reaching alice over NTS", &logs, || {
        chrony_reach(&ns, &sock).unwrap_or(0) != 0 && rv(&ns, a, "nts_replies").unwrap_or(0) >= 2
    });
    assert_eq!(rv(&ns, a, "nts_ke_served"), Some(1));
    let first = rv(&ns, a, "nts_cookie_key").unwrap();

    let mut lines = key_lines(&cookie_file);
    lines.push(cookie_key_line(first + 1));
    install_keys(&cookie_file, &lines, &alice);
    wait(10, "alice on the new key", &logs, || {
        rv(&ns, a, "nts_cookie_key") == Some(first + 1)
    });
    let replies = rv(&ns, a, "nts_replies").unwrap();
    wait(30, "two replies to chronyd's old cookies", &logs, || {
        rv(&ns, a, "nts_replies").unwrap_or(0) >= replies + 2
    });
    assert_eq!(rv(&ns, a, "nts_naks"), Some(0));
    assert_eq!(rv(&ns, a, "nts_ke_served"), Some(1), "chronyd re-keyed");
    let reach = chrony_reach(&ns, &sock).unwrap_or(0);
    assert!(reach & 0b11 == 0b11, "chronyd reach {reach:o}");

    install_keys(
        &cookie_file,
        &[lines[1].clone(), cookie_key_line(first + 2)],
        &alice,
    );
    wait(30, "an NTS NAK to chronyd", &logs, || {
        rv(&ns, a, "nts_naks").unwrap_or(0) >= 1
    });
    wait(30, "chronyd's new NTS-KE", &logs, || {
        rv(&ns, a, "nts_ke_served") == Some(2)
    });
    let replies = rv(&ns, a, "nts_replies").unwrap();
    wait(30, "chronyd polling with its new cookies", &logs, || {
        rv(&ns, a, "nts_replies").unwrap_or(0) >= replies + 2
    });
    let reach = chrony_reach(&ns, &sock).unwrap_or(0);
    assert!(reach & 1 == 1, "chronyd reach {reach:o}");
}
