//! `nts` lines the daemon cannot act on stop it at start-up with a
//! message naming what is wrong: `nts enable` without a certificate, a
//! certificate that does not load, a key that does not match it, a cookie
//! key file that does not parse. Each daemon runs on 127.0.0.1 with the
//! test port and `disable ntp`, without CAP_SYS_TIME when root.
//! Needs the openssl command line.

mod nts_support;
mod prerequisite;
mod support;

use std::time::{Duration, Instant};

use nts_support::make_pki;
use prerequisite::{require, OPENSSL};
use support::{free_port, start_ntpd, Scratch};

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
