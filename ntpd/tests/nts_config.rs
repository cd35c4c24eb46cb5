//! `nts` lines the daemon cannot act on stop it at start-up with a
//! message naming what is wrong: `nts enable` without a certificate, a
//! certificate that does not load, a key that does not match it, a cookie
//! key file that does not parse. Each daemon runs on 127.0.0.1 with the
//! test port and `disable ntp`, without CAP_SYS_TIME when root.
//! Under `-i` (chroot) with the cookie key file outside the jail, a
//! rotation after start-up still rewrites the file (through its directory
//! opened before the chroot). Needs the openssl command line, and root for
//! the chroot.

mod nts_support;
mod prerequisite;
mod support;

use std::time::{Duration, Instant};

use nts_support::make_pki;
use prerequisite::{require, Need, OPENSSL};
use support::{exchange, free_port, request, start_ntpd, Scratch};

/// Runs the daemon with `nts_line` and returns its exit status and log.
fn refused(scratch: &Scratch, tag: &str, nts_line: &str) -> (Option<i32>, String) {
    let conf = scratch.file(
        &format!("{tag}.conf"),
        &format!("disable ntp\n{nts_line}\n"),
    );
    let log = scratch.path(&format!("{tag}.log"));
    let mut d = start_ntpd(None, &conf, &["-I", "127.0.0.1"], Some(free_port()), &log);
    let t0 = Instant::now();
    let child = d.child.as_mut().unwrap();
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st.code();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{tag}: the daemon kept running: {}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    d.child = None;
    (status, std::fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn unusable_nts_settings_stop_the_daemon_with_their_reason() {
    require!(OPENSSL);
    let scratch = Scratch::new("nts-config");
    let pki = make_pki(&scratch.0);
    let keys = scratch.path("nts-keys");
    let cases = [
        (
            "nocert",
            format!("nts enable cookie {}", keys.display()),
            "nts enable needs both `nts cert FILE` and `nts key FILE`",
        ),
        (
            "badcert",
            format!(
                "nts enable cert {} key {} cookie {}",
                scratch.path("missing.pem").display(),
                pki.key.display(),
                keys.display()
            ),
            "NTS-KE server certificate",
        ),
        (
            "wrongkey",
            format!(
                "nts enable cert {} key {} cookie {}",
                pki.cert.display(),
                scratch.path("ca.key").display(),
                keys.display()
            ),
            "key values mismatch",
        ),
        (
            "badkeys",
            format!(
                "nts enable cert {} key {} cookie {}",
                pki.cert.display(),
                pki.key.display(),
                scratch.file("bad-keys", "ntskey 1 2 zz\n").display()
            ),
            "NTS cookie key file",
        ),
    ];
    for (tag, line, want) in cases {
        let (status, log) = refused(&scratch, tag, &line);
        assert_ne!(status, Some(0), "{tag}: {log}");
        assert!(log.contains(want), "{tag}: expected {want:?} in: {log}");
    }
}

/// The `ntskey` ids in the key file at `path`.
fn key_ids(path: &std::path::Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("ntskey "))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect()
}

#[test]
fn a_rotation_under_chroot_rewrites_the_cookie_file_outside_the_jail() {
    require!(Need::Root, OPENSSL);
    let scratch = Scratch::new("nts-jail");
    let jail = Scratch::new("nts-jail-root");
    let pki = make_pki(&scratch.0);
    let keys = scratch.path("nts-keys");
    let port = free_port();
    let conf = scratch.file(
        "ntp.conf",
        &format!(
            "disable ntp\nnts enable cert {} key {} cookie {} port {}\n",
            pki.cert.display(),
            pki.key.display(),
            keys.display(),
            free_port()
        ),
    );
    let jail_dir = jail.path("").display().to_string();
    let d = start_ntpd(
        None,
        &conf,
        &["-I", "127.0.0.1", "-i", &jail_dir, "-F", "1"],
        Some(port),
        &scratch.path("ntpd.log"),
    );
    // Serving NTP: chrooted, signals caught.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = format!("127.0.0.1:{port}");
    let t0 = Instant::now();
    while exchange(&sock, &request(4, 1), &to, Duration::from_millis(200)).is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no NTP reply: {}",
            d.log_text()
        );
    }
    let root = std::fs::read_link(format!("/proc/{}/root", d.pid())).unwrap();
    assert_eq!(
        root.canonicalize().unwrap_or(root.clone()),
        jail.path("").canonicalize().unwrap(),
        "not chrooted"
    );
    assert_eq!(key_ids(&keys).len(), 1, "{}", d.log_text());
    // A key set whose newest key is two days old, and SIGHUP: the reload
    // rotates it at once and must write the file from inside the jail.
    let old = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 2 * 86_400;
    let tmp = scratch.path("nts-keys.new");
    std::fs::write(&tmp, format!("ntskey 40 {old} {}\n", "ab".repeat(32))).unwrap();
    std::fs::rename(&tmp, &keys).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.pid()),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    let t0 = Instant::now();
    while key_ids(&keys) != [40, 41] {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the rotated keys were not written: file {:?}, log:\n{}",
            key_ids(&keys),
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = d.log_text();
    assert!(!log.contains("NTS cookie key"), "{log}");
}
