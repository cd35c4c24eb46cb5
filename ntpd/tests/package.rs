//! The .deb that `ntpd/packaging/build-deb.sh` builds (`.ci/run` builds
//! it before the tests): installed into and removed from a directory tree
//! of the test's own with `dpkg --root` (maintainer scripts run
//! chrootless and honour DPKG_ROOT, so they write only inside the tree),
//! and checked with lintian.

mod prerequisite;
mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use prerequisite::{require, Need};
use support::Scratch;

const DPKG: Need = Need::Program {
    name: "dpkg",
    package: "dpkg",
};
const SYSUSERS: Need = Need::Program {
    name: "systemd-sysusers",
    package: "systemd",
};
const LINTIAN: Need = Need::Program {
    name: "lintian",
    package: "lintian",
};

/// The package, or `None` (a failure under CI=true) when it was not built.
fn deb() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debian");
    let found = fs::read_dir(&dir).ok().and_then(|entries| {
        entries.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ntpd-autokey_") && n.ends_with(".deb"))
        })
    });
    if found.is_none() {
        let why = format!(
            "no ntpd-autokey .deb in {}: run `bash ntpd/packaging/build-deb.sh` (.ci/run does)",
            dir.display()
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipped: {why}");
    }
    found
}

/// `dpkg --root=ROOT --force-script-chrootless ARGS`, which must succeed.
fn dpkg(root: &Path, args: &[&str]) -> String {
    let out = Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args(["--force-script-chrootless", "--log=/dev/null"])
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dpkg {args:?}: {text}");
    text
}

/// An empty dpkg database under `root`.
fn empty_root(root: &Path) {
    fs::create_dir_all(root.join("var/lib/dpkg/updates")).unwrap();
    fs::create_dir_all(root.join("var/lib/dpkg/info")).unwrap();
    fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
}

/// The uid of `user` in `root`'s /etc/passwd.
fn uid_in(root: &Path, user: &str) -> Option<u32> {
    fs::read_to_string(root.join("etc/passwd"))
        .ok()?
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&user)).then(|| f.get(2)?.parse().ok())?
        })
}

#[test]
fn deb_installs_and_removes_in_a_directory_tree() {
    require!(Need::Root, DPKG, SYSUSERS);
    let Some(deb) = deb() else { return };
    let scratch = Scratch::new("dpkg-root");
    let root = scratch.path("root");
    empty_root(&root);
    // Dependencies (libc6, libssl3, systemd) are not in the empty tree.
    let out = dpkg(&root, &["--force-depends", "-i", deb.to_str().unwrap()]);
    assert!(out.contains("Setting up ntpd-autokey"), "{out}");
    for (path, mode) in [
        ("usr/sbin/ntpd", 0o755),
        ("usr/bin/ntpq", 0o755),
        ("usr/sbin/ntp-keygen", 0o755),
        ("usr/libexec/ntpd-autokey/ntp-wait", 0o755),
        ("usr/lib/systemd/system/ntpd.service", 0o644),
        ("usr/lib/systemd/system/ntp-wait.service", 0o644),
        ("usr/lib/sysusers.d/ntpd-autokey.conf", 0o644),
        ("usr/lib/tmpfiles.d/ntpd-autokey.conf", 0o644),
        ("usr/share/man/man8/ntpd.8.gz", 0o644),
        ("usr/share/man/man1/ntpq.1.gz", 0o644),
        ("usr/share/man/man8/ntp-keygen.8.gz", 0o644),
        ("usr/share/man/man5/ntp.conf.5.gz", 0o644),
        ("etc/ntp.conf", 0o644),
        ("etc/default/ntpd", 0o644),
    ] {
        let meta = fs::metadata(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "{path}");
    }
    // postinst: the ntp account (sysusers.d) and its directories
    // (tmpfiles.d), inside the tree only.
    let ntp = uid_in(&root, "ntp").expect("ntp in the tree's /etc/passwd");
    for dir in ["var/lib/ntp", "var/log/ntpstats"] {
        let meta = fs::metadata(root.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(meta.uid(), ntp, "{dir} belongs to ntp");
    }
    let keys = fs::metadata(root.join("etc/ntp")).unwrap();
    assert_eq!((keys.permissions().mode() & 0o7777, keys.uid()), (0o700, 0));
    // The installed daemon is the one the tables describe.
    let help = Command::new(root.join("usr/sbin/ntpd"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("-F syscall-filter LEVEL"));
    let conffiles =
        fs::read_to_string(root.join("var/lib/dpkg/info/ntpd-autokey.conffiles")).unwrap();
    assert!(conffiles.contains("/etc/ntp.conf") && conffiles.contains("/etc/default/ntpd"));

    // -r: programs and units go, the edited configuration stays.
    fs::write(root.join("etc/ntp.conf"), "server 192.0.2.1\n").unwrap();
    dpkg(&root, &["--force-depends", "-r", "ntpd-autokey"]);
    for gone in [
        "usr/sbin/ntpd",
        "usr/bin/ntpq",
        "usr/lib/systemd/system/ntpd.service",
    ] {
        assert!(!root.join(gone).exists(), "{gone} after dpkg -r");
    }
    assert_eq!(
        fs::read_to_string(root.join("etc/ntp.conf")).unwrap(),
        "server 192.0.2.1\n"
    );
    // -P: the configuration and the daemon's state go; the account and
    // the keys directory stay (the administrator's).
    dpkg(&root, &["-P", "ntpd-autokey"]);
    for gone in [
        "etc/ntp.conf",
        "etc/default/ntpd",
        "var/lib/ntp",
        "var/log/ntpstats",
    ] {
        assert!(!root.join(gone).exists(), "{gone} after dpkg -P");
    }
    assert!(root.join("etc/ntp").is_dir());
    assert_eq!(uid_in(&root, "ntp"), Some(ntp));
}

/// lintian reports nothing but `initial-upload-closes-no-bugs` (the
/// package is not in Debian, so no ITP bug is closed).
#[test]
fn lintian_reports_only_explained_tags() {
    require!(LINTIAN);
    let Some(deb) = deb() else { return };
    let out = Command::new("lintian")
        .args(["--tag-display-limit", "0"])
        .arg(&deb)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let tags: Vec<&str> = text
        .lines()
        .filter(|l| l.len() > 2 && l.as_bytes()[1] == b':')
        .filter(|l| !l.contains("initial-upload-closes-no-bugs"))
        .collect();
    assert!(
        tags.is_empty(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
