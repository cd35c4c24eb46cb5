//! Autokey (RFC 5906) roles for the reference interop suites: alice, the
//! trusted host and group key owner, serving in namespace A; bob, her
//! client, in B — either implementation in either role, with the key
//! files of the reference fixtures (`tests/data/autokey-ref/`) or made
//! live by either `ntp-keygen` ([`keygen`]). Completion is judged as the
//! fixtures' README does (§7): by the client association's crypto flags
//! (`rv <assoc> flags`, 0x7f00 = CERT VRFY PROV COOK AUTO SIGN LEAP), not by
//! the `auth` column, which the reference lights from the MAC alone.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::interop_support::{assoc_rows, Lab};
use crate::reference_support::{
    all_logs, ntpq, reference, rv_value, start, wait_ntpq, wait_stratum, Daemon,
};

/// Every client bit of the association flags (RFC 5906 §10, the
/// reference's `CRYPTO_FLAG_*` 0x0100–0x4000).
pub const CLIENT_BITS: u32 = 0x7f00;
/// PROV: the server's identity is proven (RFC 5906 §5.6).
pub const PROV: u32 = 0x0400;
/// VRFY: the identity scheme verified (RFC 5906 §6).
pub const VRFY: u32 = 0x0200;

/// An identity scheme (RFC 5906 §6) as these cells use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    /// Its name in the matrix.
    pub name: &'static str,
    /// The fixture run made with it (`runs/<run>/{alice,bob}/keys`).
    pub run: &'static str,
    /// The server's key file and the client's parameter file kind
    /// (`ntpkey_<kind>key_alice`, `ntpkey_<kind>par_alice`); none for TC.
    pub kind: Option<&'static str>,
    /// The low 16 bits of the client's association flags once complete
    /// (the fixtures' `rv <assoc>` outputs: ENAB|TAI, the scheme bit and
    /// every client bit).
    pub flags: u32,
}

/// Trusted certificate only (RFC 5906 §6.2).
pub const TC: Scheme = Scheme {
    name: "TC",
    run: "tc",
    kind: None,
    flags: 0x7f03,
};
/// Schnorr (IFF) identity (RFC 5906 §6.3).
pub const IFF: Scheme = Scheme {
    name: "IFF",
    run: "iff",
    kind: Some("iff"),
    flags: 0x7f23,
};
/// Guillou-Quisquater identity (RFC 5906 §6.4).
pub const GQ: Scheme = Scheme {
    name: "GQ",
    run: "gq",
    kind: Some("gq"),
    flags: 0x7f43,
};
/// Mu-Varadharajan identity (RFC 5906 §6.5).
pub const MV: Scheme = Scheme {
    name: "MV",
    run: "mv",
    kind: Some("mv"),
    flags: 0x7f83,
};

/// The fixture key folder of `host` in the fixture run `run`.
pub fn fixture_keys(run: &str, host: &str) -> PathBuf {
    crate::reference_support::fixture(&format!("runs/{run}/{host}/keys"))
}

/// alice (`crypto host alice pw serverpassword`, keys in `keys`) serves in
/// A as an orphan parent at stratum 5: the reference signs nothing before
/// it is synchronised (fixture README §10.9).
pub fn start_alice(lab: &mut Lab, who: Daemon, keys: &Path) {
    start_alice_with(lab, who, keys, "");
}

/// [`start_alice`] with `extra` configuration lines (e.g. `leapfile …`).
pub fn start_alice_with(lab: &mut Lab, who: Daemon, keys: &Path, extra: &str) {
    let a = lab.a.clone();
    let body = format!(
        "tos orphan 5 orphanwait 1\nkeysdir {}/\ncrypto host alice pw serverpassword\n{extra}",
        keys.display()
    );
    start(lab, who, "server", &a, &body);
    wait_stratum(lab, who, &a, "5", "alice at orphan stratum 5");
    wait_leap_values(lab, who, &a);
}

/// Polls until the host status word of `who` in `ns` (`rv 0 flags`)
/// shows TAI (0x02): a server stamps its leap values once synchronised,
/// and a client takes the server's status bits from the ASSOC response
/// alone (brief §4.1; the reference does the same), so a client that
/// asked before would never show TAI nor run the LEAP exchange.
pub fn wait_leap_values(lab: &mut Lab, who: Daemon, ns: &str) {
    wait_ntpq(
        lab,
        who,
        ns,
        &["-c", "rv 0 flags", "127.0.0.1"],
        Duration::from_secs(30),
        "alice's leap values (TAI in her status word)",
        |out| flags_value(out).is_some_and(|f| f & 0x02 != 0),
    );
}

/// bob (`crypto host bob pw clientpassword`, keys in `keys`) as alice's
/// Autokey client in B, `ident alice` when the scheme has one. bob is an
/// orphan at stratum 10 itself: the reference client sends SIGN and LEAP
/// requests only while synchronised (fixture README §10.8).
pub fn start_bob(lab: &mut Lab, who: Daemon, keys: &Path, scheme: Scheme) {
    start_bob_with(lab, who, keys, scheme, "");
}

/// [`start_bob`] with `extra` configuration lines (e.g. `statistics
/// cryptostats`).
pub fn start_bob_with(lab: &mut Lab, who: Daemon, keys: &Path, scheme: Scheme, extra: &str) {
    let (b, addr_a) = (lab.b.clone(), lab.addr_a.clone());
    let ident = if scheme.kind.is_some() {
        " ident alice"
    } else {
        ""
    };
    let body = format!(
        "tos orphan 10 orphanwait 1\nserver {addr_a} autokey{ident} iburst minpoll 3 maxpoll 4\n\
         keysdir {}/\ncrypto host bob pw clientpassword\n{extra}",
        keys.display()
    );
    start(lab, who, "client", &b, &body);
}

/// The association ID of the first association of `who` in `ns`.
pub fn first_assid(lab: &Lab, who: Daemon, ns: &str) -> Option<String> {
    let out = ntpq(lab, who, ns, &["-c", "as", "127.0.0.1"]);
    assoc_rows(&out).first().map(|r| r[1].clone())
}

/// The association flags of `rv <assoc> flags` (hex), if shown.
pub fn assoc_flags(lab: &Lab, who: Daemon, ns: &str) -> Option<u32> {
    let assid = first_assid(lab, who, ns)?;
    let out = ntpq(
        lab,
        who,
        ns,
        &["-c", &format!("rv {assid} flags"), "127.0.0.1"],
    );
    flags_value(&out)
}

/// The number of `flags=0x…` in an `rv` listing. Our ntpq adds the flags
/// in words after the number when `flags` is asked alone (`flags=0x87f23
/// (autokey enabled, …)`); the number leads.
pub fn flags_value(text: &str) -> Option<u32> {
    let hex: String = rv_value(text, "flags")?
        .trim_start_matches("0x")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u32::from_str_radix(&hex, 16).ok()
}

/// Polls bob's association flags every second until `done` accepts them
/// or `limit` passes (then panics with the logs); the flags.
pub fn wait_flags(
    lab: &mut Lab,
    who: Daemon,
    limit: Duration,
    what: &str,
    done: impl Fn(u32) -> bool,
) -> u32 {
    let b = lab.b.clone();
    let t0 = Instant::now();
    loop {
        lab.assert_running();
        let flags = assoc_flags(lab, who, &b);
        if let Some(f) = flags.filter(|f| done(*f)) {
            return f;
        }
        assert!(
            t0.elapsed() < limit,
            "{what} not reached within {limit:?}: bob's flags {flags:x?}\nlogs:\n{}",
            all_logs(lab)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Runs `keygen`'s `ntp-keygen args…` in `dir` on a host named `host`
/// (a private UTS namespace: both ntp-keygens name their files after
/// gethostname(), fixture README §3); its stdout. Panics on failure.
pub fn keygen(who: Daemon, host: &str, dir: &Path, args: &[&str]) -> String {
    let mut argv: Vec<String> = vec![
        "--uts".into(),
        "sh".into(),
        "-c".into(),
        "hostname \"$1\" && cd \"$2\" && shift 2 && exec \"$@\"".into(),
        "sh".into(),
        host.into(),
        dir.display().to_string(),
    ];
    match who {
        Daemon::Ours => argv.push(our_keygen().display().to_string()),
        Daemon::Reference => {
            let r = reference();
            argv.push("env".into());
            argv.push(format!("LD_LIBRARY_PATH={}", r.libdir.display()));
            argv.push(r.keygen.display().to_string());
        }
    }
    argv.extend(args.iter().map(|a| a.to_string()));
    let o = Command::new("unshare")
        .args(&argv)
        .output()
        .expect("run ntp-keygen");
    assert!(
        o.status.success(),
        "{} ntp-keygen {args:?} as {host}: {}\n{}",
        who.label(),
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Splits an ntp-keygen export stream (`-e`, `-q`) at its `# ntpkey_…`
/// header lines and writes each block into `dir` under the name of its
/// header, with a link without the filestamp (`ntpkey_iffpar_alice`), as
/// the 4.2.8 documentation tells operators to install them.
pub fn install_export(stream: &str, dir: &Path) {
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in stream.lines() {
        if let Some(name) = line.strip_prefix("# ntpkey_") {
            blocks.push((format!("ntpkey_{}", name.trim()), String::new()));
        }
        if let Some((_, text)) = blocks.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    assert!(!blocks.is_empty(), "no key block in the export:\n{stream}");
    for (name, text) in blocks {
        fs::write(dir.join(&name), text).expect("write exported key");
        let link = name.rsplit_once('.').map(|(l, _)| l).unwrap_or(&name);
        let _ = fs::remove_file(dir.join(link));
        std::os::unix::fs::symlink(&name, dir.join(link)).expect("link exported key");
    }
}

/// A key folder for one cell: links named `names` to the files those
/// names resolve to in `from` (so a folder holds only the identity files
/// the cell's scheme needs: a reference client looks for the one scheme
/// the server offers first, fixture README §3).
pub fn key_folder(lab: &Lab, tag: &str, from: &Path, names: &[String]) -> PathBuf {
    let dir = lab.dir.join(tag);
    fs::create_dir_all(&dir).expect("key folder");
    for n in names {
        let target = fs::canonicalize(from.join(n))
            .unwrap_or_else(|e| panic!("{}: {e}", from.join(n).display()));
        std::os::unix::fs::symlink(&target, dir.join(n)).expect("link key file");
    }
    dir
}

/// The link names alice needs for `scheme`.
pub fn alice_names(scheme: Scheme) -> Vec<String> {
    let mut v = vec![
        "ntpkey_host_alice".to_string(),
        "ntpkey_cert_alice".to_string(),
    ];
    if let Some(k) = scheme.kind {
        v.push(format!("ntpkey_{k}key_alice"));
    }
    v
}

/// The link names bob needs for `scheme`.
pub fn bob_names(scheme: Scheme) -> Vec<String> {
    let mut v = vec!["ntpkey_host_bob".to_string(), "ntpkey_cert_bob".to_string()];
    if let Some(k) = scheme.kind {
        v.push(format!("ntpkey_{k}par_alice"));
    }
    v
}

/// Our `ntp-keygen` (a binary of the `keystore` package), beside the
/// `ntpq` binary in `target/<profile>/`: `cargo test --workspace` builds it
/// before any test runs; with `-p ntpd` alone run `cargo build -p
/// keystore` first. Missing, it fails the test with that advice.
pub fn our_keygen() -> PathBuf {
    let p = Path::new(crate::interop_support::ntpq_binary()).with_file_name("ntp-keygen");
    assert!(
        p.is_file(),
        "our ntp-keygen is not at {}: build it with `cargo build -p keystore` (same profile)",
        p.display()
    );
    p
}
