//! Start-up warnings for key material others may read or change (issue
//! 13): a keys directory writable by others, a private key file readable
//! by others and a world-readable symmetric keys file are each named with
//! the `chmod` that fixes them, and the daemon runs on. No root needed:
//! the daemon listens on a free port on 127.0.0.1 (`NTPD_AUTOKEY_TEST_PORT`).

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use support::*;

#[test]
fn dangerous_key_permissions_are_warned_at_start_up() {
    let scratch = Scratch::new("key-perms");
    let keys = scratch.path("keys");
    fs::create_dir_all(&keys).unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/autokey-ref/keys/alice");
    for name in [
        "ntpkey_RSAhost_alice.4004757732",
        "ntpkey_RSA-MD5cert_alice.4004757732",
    ] {
        fs::copy(fixture.join(name), keys.join(name)).unwrap();
    }
    std::os::unix::fs::symlink(
        "ntpkey_RSAhost_alice.4004757732",
        keys.join("ntpkey_host_alice"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "ntpkey_RSA-MD5cert_alice.4004757732",
        keys.join("ntpkey_cert_alice"),
    )
    .unwrap();
    let host = keys.join("ntpkey_RSAhost_alice.4004757732");
    fs::set_permissions(&host, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(&keys, fs::Permissions::from_mode(0o777)).unwrap();
    let symkeys = scratch.file("ntp.keys", "1 MD5 onesecret\n");
    fs::set_permissions(&symkeys, fs::Permissions::from_mode(0o644)).unwrap();
    let conf = scratch.file(
        "ntp.conf",
        &format!(
            "disable ntp\nkeys {}\nkeysdir {}\ncrypto host alice pw serverpassword\n",
            symkeys.display(),
            keys.display()
        ),
    );
    let d = start_ntpd(
        None,
        &conf,
        &["-d"],
        Some(free_port()),
        &scratch.path("ntpd.log"),
    );
    let t0 = Instant::now();
    let text = loop {
        let text = d.log_text();
        if text.contains("Listen normally") || t0.elapsed() > Duration::from_secs(20) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let has = |words: &[&str]| text.lines().any(|l| words.iter().all(|w| l.contains(w)));
    assert!(
        has(&[
            "the keys directory is writable by others",
            &format!("chmod o-w {}", keys.display())
        ]),
        "{text}"
    );
    assert!(
        has(&[
            "ntpkey_RSAhost_alice.4004757732 (mode 644)",
            "private or group key material and is readable by others",
            "chmod o-r "
        ]),
        "{text}"
    );
    assert!(
        has(&[
            "ntp.keys (mode 644): the symmetric keys file",
            "chmod o-rw "
        ]),
        "{text}"
    );
    assert!(
        !text.contains("RSA-MD5cert_alice.4004757732 (mode"),
        "a certificate is public: {text}"
    );
    assert!(text.contains("Listen normally"), "runs on: {text}");
    fs::set_permissions(&keys, fs::Permissions::from_mode(0o755)).unwrap();
}
