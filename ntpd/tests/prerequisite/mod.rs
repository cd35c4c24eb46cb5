//! What a test needs from the machine it runs on — root, a program in
//! PATH, working `ip netns`, ntpsec's daemon, the reference ntpd 4.2.8p15 —
//! checked in one place, so no test passes by skipping:
//!
//! * with `CI=true` (set by `.ci/run`, which provides every prerequisite)
//!   a missing one fails the test, naming it and how CI installs it;
//! * elsewhere the test prints `skipped: <test>: <why>` to stderr (past
//!   libtest's output capture, so it shows in `cargo test`) and returns.
//!
//! A test states its needs first: `require!(Need::Root, Need::IpNetns);`.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One thing a test needs from the machine.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// Effective UID 0: network namespaces, `-u`, `-i`, SCHED_FIFO.
    Root,
    /// A program in PATH, from the named Debian package.
    Program {
        name: &'static str,
        package: &'static str,
    },
    /// `ip netns` works (iproute2 present, namespaces permitted).
    IpNetns,
    /// ntpsec's `ntpd` and `ntpq` (see [`ntpsec`]).
    Ntpsec,
    /// The reference ntpd 4.2.8p15 with its `ntpq` and `ntp-keygen` (see
    /// [`reference_ntpd`]).
    ReferenceNtpd,
}

/// Python 3, used to send raw NTP datagrams from inside a namespace.
pub const PYTHON3: Need = Need::Program {
    name: "python3",
    package: "python3",
};
/// chrony's daemon.
pub const CHRONYD: Need = Need::Program {
    name: "chronyd",
    package: "chrony",
};
/// chrony's control client.
pub const CHRONYC: Need = Need::Program {
    name: "chronyc",
    package: "chrony",
};
/// The OpenSSL command line (the NTS tests' certificate authority).
pub const OPENSSL: Need = Need::Program {
    name: "openssl",
    package: "openssl",
};
/// ntpsec's SNTP client.
pub const NTPDIG: Need = Need::Program {
    name: "ntpdig",
    package: "ntpsec-ntpdig",
};

impl Need {
    /// Whether this machine has it.
    pub fn is_met(self) -> bool {
        match self {
            Need::Root => nix::unistd::geteuid().is_root(),
            Need::Program { name, .. } => in_path(name),
            Need::IpNetns => Command::new("ip")
                .args(["netns", "list"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            Need::Ntpsec => ntpsec().is_some(),
            Need::ReferenceNtpd => reference_ntpd().is_some(),
        }
    }

    /// What is missing, for the operator.
    pub fn missing(self) -> String {
        match self {
            Need::Root => "needs root (network namespaces, -u, -i, SCHED_FIFO)".into(),
            Need::Program { name, .. } => format!("`{name}` is not in PATH"),
            Need::IpNetns => "`ip netns` does not work here".into(),
            Need::Ntpsec => {
                "ntpsec's ntpd and ntpq are not under $NTPSEC_ROOT, /opt/ntpsec or /".into()
            }
            Need::ReferenceNtpd => "the reference ntpd 4.2.8p15 (ntpd, ntpq, ntp-keygen) is not \
                 under $NTP_REF_ROOT or /opt/ntp-ref"
                .into(),
        }
    }

    /// How `.ci/run` provides it.
    pub fn ci_provides(self) -> String {
        match self {
            Need::Root => ".ci/run runs as root and refuses to start otherwise".into(),
            Need::Program { package, .. } => {
                format!(".ci/run installs the Debian package `{package}`")
            }
            Need::IpNetns => ".ci/run installs the Debian package `iproute2`".into(),
            Need::Ntpsec => ".ci/run unpacks the Debian package `ntpsec` into /opt/ntpsec".into(),
            Need::ReferenceNtpd => {
                ".ci/run unpacks Debian 11's `ntp`, `libopts25` and `libssl1.1` into /opt/ntp-ref"
                    .into()
            }
        }
    }
}

/// True when every one of `needs` is met. Otherwise the test `test` fails
/// under `CI=true` (a panic naming what is missing and how `.ci/run`
/// provides it); elsewhere it prints `skipped: <test>: <why>` to stderr
/// and this returns false, for the test to return.
pub fn met(test: &str, needs: &[Need]) -> bool {
    let missing: Vec<Need> = needs.iter().copied().filter(|n| !n.is_met()).collect();
    if missing.is_empty() {
        return true;
    }
    let why: Vec<String> = missing.iter().map(|n| n.missing()).collect();
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        let how: Vec<String> = missing.iter().map(|n| n.ci_provides()).collect();
        panic!(
            "{test}: missing prerequisite under CI=true: {}; {}",
            why.join("; "),
            how.join("; ")
        );
    }
    // Straight to stderr: libtest captures `eprintln!` of passing tests,
    // and a skip must be seen; one write keeps the line whole.
    let line = format!("skipped: {test}: {}\n", why.join("; "));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    false
}

/// The test's name (`file::function`), from the path of a function
/// declared inside it.
pub fn test_name(marker: &str) -> &str {
    marker.strip_suffix("::marker").unwrap_or(marker)
}

/// `require!(need, …)`: returns from the calling test when a need is not
/// met outside CI; fails it under `CI=true` (see [`met`]).
macro_rules! require {
    ($($need:expr),+ $(,)?) => {{
        fn marker() {}
        let name = $crate::prerequisite::test_name(std::any::type_name_of_val(&marker));
        if !$crate::prerequisite::met(name, &[$($need),+]) {
            return;
        }
    }};
}
pub(crate) use require;

/// `program` is found by `sh -c 'command -v program'`.
pub fn in_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// ntpsec's `ntpd` and `ntpq`.
pub struct Ntpsec {
    pub ntpd: PathBuf,
    pub ntpq: PathBuf,
}

fn is_ntpsec(ntpd: &Path) -> bool {
    Command::new(ntpd)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ntpsec"))
}

/// Finds ntpsec under `$NTPSEC_ROOT`, `/opt/ntpsec` (the Debian package
/// unpacked by .ci/run: the package itself conflicts with chrony) or the
/// system (`apt-get install ntpsec`).
pub fn ntpsec() -> Option<Ntpsec> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(r) = std::env::var_os("NTPSEC_ROOT") {
        roots.push(r.into());
    }
    roots.push("/opt/ntpsec".into());
    roots.push("/".into());
    roots.into_iter().find_map(|root| {
        let ntpd = root.join("usr/sbin/ntpd");
        let ntpq = root.join("usr/bin/ntpq");
        (ntpd.is_file() && ntpq.is_file() && is_ntpsec(&ntpd)).then_some(Ntpsec { ntpd, ntpq })
    })
}

/// The reference ntpd 4.2.8p15 as Debian 11 builds it (Autokey, OpenSSL
/// 1.1), unpacked, not installed: its programs need `LD_LIBRARY_PATH` set
/// to [`Reference::libdir`] (libopts25, libssl1.1).
pub struct Reference {
    pub ntpd: PathBuf,
    pub ntpq: PathBuf,
    pub keygen: PathBuf,
    pub libdir: PathBuf,
}

/// Finds the reference under `$NTP_REF_ROOT` or `/opt/ntp-ref` (as
/// unpacked by .ci/run); `ntpd --version` must say 4.2.8p15.
pub fn reference_ntpd() -> Option<Reference> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(r) = std::env::var_os("NTP_REF_ROOT") {
        roots.push(r.into());
    }
    roots.push("/opt/ntp-ref".into());
    roots.into_iter().find_map(|root| {
        let r = Reference {
            ntpd: root.join("usr/sbin/ntpd"),
            ntpq: root.join("usr/bin/ntpq"),
            keygen: root.join("usr/sbin/ntp-keygen"),
            libdir: root.join("usr/lib/x86_64-linux-gnu"),
        };
        let version = Command::new(&r.ntpd)
            .arg("--version")
            .env("LD_LIBRARY_PATH", &r.libdir)
            .output()
            .ok()?;
        let ok = r.ntpq.is_file()
            && r.keygen.is_file()
            && String::from_utf8_lossy(&version.stdout).contains("4.2.8p15");
        ok.then_some(r)
    })
}
