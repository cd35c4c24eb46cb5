//! Interop: ntpsec's `ntpdig` (Debian package `ntpsec-ntpdig`) queries our
//! ntpd in a network namespace the test creates, on port 123 of the
//! namespace's loopback, with and without symmetric keys. Needs root,
//! `ip netns` and ntpdig (see `prerequisite`).

mod prerequisite;
mod support;

use std::time::Duration;

use prerequisite::{require, Need, NTPDIG};
use support::*;

/// Field `key` of ntpdig's one-line JSON output, as text.
fn json_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &json[at..];
    let end = rest.find([',', '}'])?;
    Some(rest[..end].trim_matches('"'))
}

fn start_in(ns: &Netns, scratch: &Scratch, conf: &str) -> Daemon {
    let c = scratch.file("ntp.conf", conf);
    let d = start_ntpd(Some(ns), &c, &[], None, &scratch.path("log"));
    // Wait for the orphan parent (orphanwait 1) to answer at stratum 5.
    for _ in 0..50 {
        let o = ns.output(&["ntpdig", "-j", "-t", "1", "127.0.0.1"]);
        if json_field(&String::from_utf8_lossy(&o.stdout), "stratum") == Some("5") {
            return d;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("ntpd did not become a stratum 5 orphan: {}", d.log_text());
}

#[test]
fn ntpdig_gets_time_from_our_server() {
    require!(Need::Root, Need::IpNetns, NTPDIG);
    let ns = Netns::new("dig");
    let scratch = Scratch::new("interop-dig");
    let _d = start_in(&ns, &scratch, "disable ntp\ntos orphan 5 orphanwait 1\n");
    let o = ns.run(&["ntpdig", "-j", "127.0.0.1"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(json_field(&out, "stratum"), Some("5"), "{out}");
    assert_eq!(json_field(&out, "leap"), Some("no-leap"), "{out}");
    assert_eq!(json_field(&out, "adjusted"), Some("false"), "{out}");
    let offset: f64 = json_field(&out, "offset").unwrap().parse().unwrap();
    assert!(offset.abs() < 0.005, "same clock, offset {offset}");
    // IPv6 loopback too.
    let o = ns.run(&["ntpdig", "-j", "::1"]);
    let out6 = String::from_utf8_lossy(&o.stdout);
    assert_eq!(json_field(&out6, "stratum"), Some("5"), "{out6}");
}

#[test]
fn ntpdig_with_md5_and_sha1_keys() {
    require!(Need::Root, Need::IpNetns, NTPDIG);
    let ns = Netns::new("digkey");
    let scratch = Scratch::new("interop-digkey");
    let good = scratch.file(
        "good.keys",
        "1 MD5 md5secret\n2 SHA1 0123456789abcdef0123456789abcdef01234567\n",
    );
    let bad = scratch.file(
        "bad.keys",
        "1 MD5 wrongsecret\n2 SHA1 0123456789abcdef0123456789abcdef01234568\n",
    );
    let conf = format!(
        "disable ntp\ntos orphan 5 orphanwait 1\nkeys {}\ntrustedkey 1 2\n",
        good.display()
    );
    let _d = start_in(&ns, &scratch, &conf);
    for key in ["1", "2"] {
        let o = ns.output(&[
            "ntpdig",
            "-j",
            "-k",
            &good.display().to_string(),
            "-a",
            key,
            "127.0.0.1",
        ]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "key {key}: {out} {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(json_field(&out, "stratum"), Some("5"), "key {key}: {out}");
        // With the wrong secret ntpdig cannot verify our reply (we answer
        // its wrong MAC with a crypto-NAK) and reports no time.
        let o = ns.output(&[
            "ntpdig",
            "-j",
            "-t",
            "1",
            "-k",
            &bad.display().to_string(),
            "-a",
            key,
            "127.0.0.1",
        ]);
        assert!(
            !o.status.success(),
            "key {key} with a wrong secret succeeded"
        );
        assert!(json_field(&String::from_utf8_lossy(&o.stdout), "stratum").is_none());
    }
}
