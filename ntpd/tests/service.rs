//! ntpd as a system service: the sd_notify protocol seen by a test
//! NOTIFY_SOCKET, the `-u` privilege drop and `-F` filter seen in
//! /proc/PID/status, `systemd-analyze verify` of the packaged units, and
//! the packaged ntp.conf parsing. Daemons run on 127.0.0.1 with the test
//! port override and `disable ntp`.

mod prerequisite;
mod support;

use std::fs;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prerequisite::{require, Need};
use support::*;

/// util-linux's `unshare` (essential in Debian).
const UNSHARE: Need = Need::Program {
    name: "unshare",
    package: "util-linux",
};
/// `systemd-analyze`, from the Debian package `systemd`.
const SYSTEMD_ANALYZE: Need = Need::Program {
    name: "systemd-analyze",
    package: "systemd",
};

fn packaging(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("packaging")
        .join(name)
}

fn conf() -> String {
    "disable ntp\ntos orphan 5 orphanwait 1\n".to_owned()
}

/// `ntpd -n -c CONF -I 127.0.0.1 extra...` without CAP_SYS_TIME when
/// root, with `envs`, stderr to `log`.
fn spawn_ntpd(conf: &Path, extra: &[&str], port: u16, log: &Path, envs: &[(&str, &str)]) -> Daemon {
    let mut cmd = if is_root() {
        let mut c = Command::new(WITHOUT_SYS_TIME[0]);
        c.args(&WITHOUT_SYS_TIME[1..]).arg(NTPD);
        c
    } else {
        Command::new(NTPD)
    };
    cmd.args(["-n", "-c"])
        .arg(conf)
        .args(["-I", "127.0.0.1"])
        .args(extra)
        .env("NTPD_AUTOKEY_TEST_PORT", port.to_string())
        .env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    Daemon {
        child: Some(child),
        log: log.to_path_buf(),
    }
}

/// The datagrams received on `sock` until `done` holds for all of them
/// (or `within` passes).
fn collect(
    sock: &UnixDatagram,
    within: Duration,
    mut done: impl FnMut(&[String]) -> bool,
) -> Vec<String> {
    let mut got = Vec::new();
    let t0 = Instant::now();
    let mut buf = [0u8; 4096];
    while t0.elapsed() < within && !done(&got) {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

/// A real ntpd run talking to a test NOTIFY_SOCKET: READY=1 with a
/// STATUS= line first, WATCHDOG=1 repeatedly (WATCHDOG_USEC = 2 s, so
/// every second), a STATUS= line when orphan mode sets stratum 5, and
/// STOPPING=1 on SIGTERM.
#[test]
fn notify_socket_receives_ready_status_watchdog_and_stopping() {
    let scratch = Scratch::new("notify");
    let sock_path = scratch.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let c = scratch.file("ntp.conf", &conf());
    let port = free_port();
    let sock_env = sock_path.display().to_string();
    let mut d = spawn_ntpd(
        &c,
        &["-d"],
        port,
        &scratch.path("log"),
        &[("NOTIFY_SOCKET", &sock_env), ("WATCHDOG_USEC", "2000000")],
    );
    let got = collect(&sock, Duration::from_secs(30), |m| {
        m.iter().filter(|s| s.contains("WATCHDOG=1")).count() >= 3
            && m.iter()
                .any(|s| s.contains("STATUS=") && s.contains("stratum 5"))
    });
    let log = d.log_text();
    let first = got
        .first()
        .unwrap_or_else(|| panic!("nothing received; log: {log}"));
    assert!(first.lines().any(|l| l == "READY=1"), "{got:?}");
    assert!(
        first
            .lines()
            .any(|l| l.starts_with("STATUS=not synchronised, stratum 16")),
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|s| s.contains("READY=1")).count(),
        1,
        "{got:?}"
    );
    assert!(
        got.iter().filter(|s| s.contains("WATCHDOG=1")).count() >= 3,
        "{got:?}\n{log}"
    );
    assert!(
        got.iter().any(|s| s
            .lines()
            .any(|l| l == "STATUS=synchronised (orphan or local), stratum 5")),
        "{got:?}\n{log}"
    );
    assert!(
        log.contains("service manager watchdog every 2000 ms"),
        "{log}"
    );
    assert_eq!(d.stop(), Some(0), "{}", d.log_text());
    let rest = collect(&sock, Duration::from_secs(2), |m| {
        m.iter().any(|s| s.contains("STOPPING=1"))
    });
    assert!(
        rest.iter().any(|s| s.lines().any(|l| l == "STOPPING=1")),
        "{rest:?}"
    );
}

/// Without NOTIFY_SOCKET nothing is attempted and nothing is logged about
/// the service manager.
#[test]
fn without_notify_socket_the_daemon_says_nothing_of_it() {
    let scratch = Scratch::new("nonotify");
    let c = scratch.file("ntp.conf", &conf());
    let port = free_port();
    let d = spawn_ntpd(&c, &[], port, &scratch.path("log"), &[]);
    wait_for_stratum(&format!("127.0.0.1:{port}"), 5, Duration::from_secs(10));
    let log = d.log_text();
    assert!(!log.contains("NOTIFY_SOCKET"), "{log}");
    assert!(!log.contains("watchdog"), "{log}");
}

/// One field of /proc/PID/status, its words joined by one space.
fn status_field(pid: i32, name: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("{name} in {status}"))
        .split_whitespace()
        .skip(1)
        .collect::<Vec<_>>()
        .join(" ")
}

/// ntpd in a user namespace of its own, uids and gids 0-65535 mapped to
/// the same host ids, so that it holds CAP_SYS_TIME at start as a root
/// service does. CAP_SYS_TIME of a user namespace other than the initial
/// one does not allow setting the clock (the kernel checks the time
/// capabilities against the initial namespace), and the configuration
/// says `disable ntp` as well: the host clock stays untouched.
fn ntpd_in_user_namespace(scratch: &Scratch, extra: &[&str], port: u16) -> Daemon {
    let c = scratch.file("ntp.conf", &conf());
    let mut child = Command::new("unshare")
        .args([
            "--user",
            "--",
            "sh",
            "-c",
            "read go && exec \"$@\"",
            "sh",
            NTPD,
        ])
        .args(["-n", "-c"])
        .arg(&c)
        .args(["-I", "127.0.0.1"])
        .args(extra)
        .env("NTPD_AUTOKEY_TEST_PORT", port.to_string())
        .env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(fs::File::create(scratch.path("log")).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let ours = fs::read_link("/proc/self/ns/user").unwrap();
    let t0 = Instant::now();
    while fs::read_link(format!("/proc/{pid}/ns/user")).ok().as_ref() == Some(&ours) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "unshare --user did not run"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    fs::write(format!("/proc/{pid}/uid_map"), "0 0 65536\n").unwrap();
    fs::write(format!("/proc/{pid}/gid_map"), "0 0 65536\n").unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    Daemon {
        child: Some(child),
        log: scratch.path("log"),
    }
}

/// `-u nobody:nogroup`: after binding, the daemon runs as nobody with
/// CAP_SYS_TIME (bit 25) alone in its permitted and effective sets, none
/// inheritable or ambient, and no_new_privs set; no seccomp filter
/// without -F.
#[test]
fn user_option_keeps_only_cap_sys_time_and_sets_no_new_privs() {
    require!(Need::Root, UNSHARE);
    let scratch = Scratch::new("userns-caps");
    let port = free_port();
    let d = ntpd_in_user_namespace(&scratch, &["-d", "-u", "nobody:nogroup"], port);
    wait_for_stratum(&format!("127.0.0.1:{port}"), 5, Duration::from_secs(10));
    let pid = d.pid();
    let caps = |name: &str| u64::from_str_radix(&status_field(pid, name), 16).unwrap();
    let log = d.log_text();
    assert_eq!(status_field(pid, "Name:"), "ntpd", "{log}");
    assert_eq!(status_field(pid, "Uid:"), ["65534"; 4].join(" "), "{log}");
    assert_eq!(caps("CapEff:"), 1 << 25, "{log}");
    assert_eq!(caps("CapPrm:"), 1 << 25, "{log}");
    assert_eq!(caps("CapInh:"), 0);
    assert_eq!(caps("CapAmb:"), 0);
    assert_eq!(status_field(pid, "NoNewPrivs:"), "1");
    assert_eq!(status_field(pid, "Seccomp:"), "0");
    assert!(
        log.contains("running as nobody:nogroup with cap_sys_time"),
        "{log}"
    );
}

/// `-F 1`: the filter is in force (mode 2, one filter) once the daemon
/// serves, and the daemon keeps serving under it.
#[test]
fn syscall_filter_is_installed_and_the_daemon_keeps_serving() {
    require!(Need::Root, UNSHARE);
    let scratch = Scratch::new("userns-seccomp");
    let port = free_port();
    let d = ntpd_in_user_namespace(&scratch, &["-d", "-u", "nobody:nogroup", "-F", "1"], port);
    let to = format!("127.0.0.1:{port}");
    wait_for_stratum(&to, 5, Duration::from_secs(10));
    let pid = d.pid();
    assert_eq!(status_field(pid, "Seccomp:"), "2", "{}", d.log_text());
    assert_eq!(status_field(pid, "Seccomp_filters:"), "1");
    // A few more seconds of ticks, polls and answers under the filter.
    std::thread::sleep(Duration::from_secs(3));
    wait_for_stratum(&to, 5, Duration::from_secs(5));
    assert!(
        d.log_text().contains("system call filter on (-F 1)"),
        "{}",
        d.log_text()
    );
}

/// `-F` takes 1, -1 or 0 only, and says so.
#[test]
fn syscall_filter_levels_are_checked() {
    let out = Command::new(NTPD).args(["-F", "2"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("-F/--syscall-filter") && err.contains("-1"),
        "{err}"
    );
}

/// The units as packaged, with their programs pointed at ones that exist
/// on a build machine: `systemd-analyze verify` reports nothing.
#[test]
fn systemd_analyze_verifies_the_units() {
    require!(SYSTEMD_ANALYZE);
    let scratch = Scratch::new("verify");
    let ntpd_unit = fs::read_to_string(packaging("ntpd.service"))
        .unwrap()
        .replace("/usr/sbin/ntpd", NTPD);
    let wait = packaging("ntp-wait").display().to_string();
    let wait_unit = fs::read_to_string(packaging("ntp-wait.service"))
        .unwrap()
        .replace("/usr/libexec/ntpd-autokey/ntp-wait", &wait);
    let a = scratch.file("ntpd.service", &ntpd_unit);
    let b = scratch.file("ntp-wait.service", &wait_unit);
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.trim().is_empty(), "{text}");
}

/// The unit's hardening as `systemd-analyze security` scores it: lower is
/// better; the README quotes this score next to chrony's.
#[test]
fn systemd_analyze_security_scores_the_unit_below_3() {
    require!(SYSTEMD_ANALYZE);
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(packaging("ntpd.service"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("{text}"));
    let score: f64 = line
        .split(": ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(score < 3.0, "{line}");
}

/// The packaged /etc/ntp.conf parses, and its Autokey lines (the guide's)
/// are all commented out.
#[test]
fn packaged_ntp_conf_parses_with_autokey_commented_out() {
    let scratch = Scratch::new("pkgconf");
    let out = scratch.path("saved.conf");
    let o = Command::new(NTPD)
        .arg("-c")
        .arg(packaging("ntp.conf"))
        .arg("--saveconfigquit")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let saved = fs::read_to_string(&out).unwrap();
    assert!(
        saved.contains("driftfile /var/lib/ntp/ntp.drift"),
        "{saved}"
    );
    assert!(!saved.contains("crypto"), "{saved}");
    let text = fs::read_to_string(packaging("ntp.conf")).unwrap();
    for guide in [
        "#crypto pw serverpassword",
        "#crypto pw clientpassword",
        "#keysdir /etc/ntp",
        "#server ntp.i_have_the_key.for autokey",
        "#broadcast my.broadcast.or.multicast.address autokey",
    ] {
        assert!(text.contains(guide), "{guide}");
    }
}
