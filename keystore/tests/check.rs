//! `ntp-keygen --check` (`keystore::check`, issue 13): a directory made by
//! `ntp-keygen -T -I -p PW` checks out with PW and fails with another
//! password, naming each file behind its link; the reference's stock IFF
//! client file (fixture run `iff-keygen-files`) is named with the
//! command that regenerates it; an unlinked older generation is listed.

use std::path::{Path, PathBuf};

use keystore::check::check;
use keystore::keygen::{self, args, Env};

/// 2026-12-07 00:00 UTC.
const NOW: u64 = 1_796_601_600;

fn keygen(dir: &Path, argv: &[&str], now: u64) {
    let opts = args::parse(argv.iter().map(|s| s.to_string())).unwrap();
    let env = Env {
        dir: dir.to_path_buf(),
        hostname: "server".into(),
        now_unix: now,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    keygen::run(&opts, &env, &mut out, &mut err).unwrap();
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keystore-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_generated_directory_checks_out_and_a_wrong_password_fails() {
    let dir = scratch("gen");
    keygen(&dir, &["-T", "-I", "-p", "serverpassword"], NOW);
    // The guide's monthly update re-signs the certificate.
    keygen(&dir, &["-T", "-q", "serverpassword"], NOW + 86_400);
    // An older generation left in the directory, no link to it.
    std::fs::write(dir.join("ntpkey_RSAhost_server.3900000000"), "old").unwrap();
    let r = check(
        &dir,
        "server",
        "server",
        "serverpassword",
        NOW as i64 + 90_000,
    );
    assert!(r.ok, "{}", r.text);
    let lines: Vec<&str> = r.text.lines().collect();
    assert!(
        lines[0].starts_with("ok    ntpkey_host_server -> ntpkey_RSAhost_server."),
        "{}",
        r.text
    );
    assert!(
        lines[0].ends_with("RSA host key, 512 bits, opens with the password"),
        "{}",
        r.text
    );
    assert!(
        lines[1].contains(
            "certificate server issued by server, trusted (-T), valid 2026-12-08 to 2027-12-08"
        ),
        "{}",
        r.text
    );
    assert!(
        lines[2].starts_with("ok    ntpkey_iffkey_server -> ntpkey_IFFkey_server."),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("ntpkey_RSAhost_server.3900000000: no link points to it"),
        "the older generation: {}",
        r.text
    );
    assert_eq!(lines.last(), Some(&"keys directory ok"));

    let r = check(
        &dir,
        "server",
        "server",
        "otherpassword",
        NOW as i64 + 90_000,
    );
    assert!(!r.ok);
    assert_eq!(
        r.text.matches("FAIL  ").count(),
        2,
        "host key and IFF key: {}",
        r.text
    );
    assert!(
        r.text.contains("wrong password or corrupt file"),
        "{}",
        r.text
    );
    assert!(r
        .text
        .ends_with("keys directory has problems (FAIL lines above)\n"));

    // Expired: a year and a day later.
    let r = check(
        &dir,
        "server",
        "server",
        "serverpassword",
        NOW as i64 + 367 * 86_400,
    );
    assert!(!r.ok);
    assert!(
        r.text
            .contains("not valid now; update it with `ntp-keygen -q PASSWORD`"),
        "{}",
        r.text
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_references_stock_iff_file_is_named_with_its_regeneration() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/autokey-ref/runs/iff-keygen-files/bob/keys");
    let r = check(&dir, "bob", "bob", "clientpassword", 1_795_737_600 + 86_400);
    assert!(!r.ok, "{}", r.text);
    let fail = r
        .text
        .lines()
        .find(|l| l.starts_with("FAIL  ntpkey_iffpar_alice -> ntpkey_iffpar_alice.4004757732"))
        .unwrap_or_else(|| panic!("{}", r.text));
    assert!(fail.contains("the IFF public value was lost"), "{fail}");
    assert!(
        fail.contains("ntp-keygen -T -I -p PW on the trusted host"),
        "{fail}"
    );
    assert!(
        r.text
            .contains("ok    ntpkey_host_bob -> ntpkey_RSAhost_bob.4004757740"),
        "{}",
        r.text
    );
}
