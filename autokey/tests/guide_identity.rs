//! The "Configuring Autokey" guide (shared docs/configuring-autokey.txt)
//! followed as printed, in memory: its `ntp-keygen` command lines run
//! through our `keystore::keygen` in a temporary directory per host (host
//! names `server` and `client`), its exports saved under their header
//! names, its `ln -s` links made with the real file names, and then a
//! client association **without `ident`** (the guide's `server … autokey`)
//! against the server's fast path.
//!
//! What must hold (issue 19): with the right group key the identity
//! exchange runs and verifies (IFF, GQ, MV); another group's key is refused
//! with a reason and never lights VRFY; a server offering a scheme the
//! client has no parameters for is announced as TC-only; MV generated
//! without `-T` is announced as an untrusted trail with the fix.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use autokey::association::{
    AssocEvent, Association, AssociationConfig, IdentitySource, NamedIdentity,
};
use autokey::host::HostCredentials;
use autokey::status;
use autokey::SessionDigest;
use common::Link;
use keystore::keygen::{self, args, Env};
use keystore::{export, Keysdir, Scheme};

/// A keys directory removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!(
            "autokey-guide-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The time the keys are made at (Unix seconds) and the engines run at.
const NOW_UNIX: u64 = 1_790_000_000;

fn ntp_now() -> u32 {
    keystore::header::ntp_seconds(NOW_UNIX) + 600
}

/// Runs one printed `ntp-keygen …` line on host `host` in `dir`; returns
/// (stdout, stderr).
fn keygen(dir: &Path, host: &str, line: &str) -> (String, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[0], "ntp-keygen", "{line}");
    let opts = args::parse(&words[1..]).unwrap_or_else(|e| panic!("{line}: {e}"));
    let env = Env {
        dir: dir.to_path_buf(),
        hostname: host.to_string(),
        now_unix: NOW_UNIX,
    };
    let (mut out, mut log) = (Vec::new(), Vec::new());
    keygen::run(&opts, &env, &mut out, &mut log).unwrap_or_else(|e| panic!("{line}: {e}"));
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(log).unwrap(),
    )
}

/// Saves a mailed export the way an operator does: each block under the
/// name in its header line (`ntpkey_iffpar_server.3… `).
fn save_mail(dir: &Path, mail: &str) -> Vec<String> {
    export::split(mail)
        .into_iter()
        .map(|b| {
            std::fs::write(dir.join(&b.file_name), &b.text).unwrap();
            b.file_name
        })
        .collect()
}

/// `cd /etc/ntp; ln -s TARGET LINK`.
fn ln_s(dir: &Path, target: &str, link: &str) {
    std::os::unix::fs::symlink(target, dir.join(link)).unwrap();
}

/// The file in `dir` whose name starts with `prefix` (a dated key file).
fn dated(dir: &Path, prefix: &str) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
        .pop()
        .unwrap_or_else(|| panic!("no {prefix}* in {}", dir.display()))
}

/// What the daemon loads for an association without `ident`: every
/// parameter link but the host's own name, with `crypto pw`.
fn named(dir: &Path, own: &str, pw: &str) -> Vec<NamedIdentity> {
    let k = Keysdir::new(dir);
    let mut out = Vec::new();
    for link in k.client_parameter_links().unwrap() {
        if link.name == own {
            continue;
        }
        let source = match link.scheme {
            Scheme::Iff => {
                let l = k.iff_params(&link.name, Some(pw)).unwrap();
                IdentitySource::Iff {
                    params: l.value,
                    filestamp: l.filestamp,
                }
            }
            Scheme::Gq => {
                let l = k.gq_params(&link.name, Some(pw)).unwrap();
                IdentitySource::Gq {
                    params: l.value,
                    filestamp: l.filestamp,
                }
            }
            Scheme::Mv => {
                let l = k.mv_client(&link.name, Some(pw)).unwrap();
                IdentitySource::Mv {
                    key: l.value,
                    filestamp: l.filestamp,
                }
            }
        };
        out.push(NamedIdentity {
            name: link.name.clone(),
            file: format!(
                "{}/ntpkey_{}_{}",
                dir.display(),
                link.scheme.to_string().to_lowercase(),
                link.name
            ),
            source,
        });
    }
    out
}

fn creds(dir: &Path, host: &str, pw: &str) -> HostCredentials {
    let set = Keysdir::new(dir).host_set(host, host, Some(pw)).unwrap();
    HostCredentials::from_host_set(set, SessionDigest::Md5)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn client_config() -> AssociationConfig {
    AssociationConfig {
        assoc_id: 4711,
        local: ip("127.0.0.2"),
        remote: ip("127.0.0.1"),
        ident: None,
        identities: Vec::new(),
        poll: 4,
        automax: 12,
        kind: autokey::association::AssocKind::Client,
    }
}

/// `server 127.0.0.1 autokey` on the client (no ident), against the
/// server's fast path.
fn link(server: &Path, spw: &str, client: &Path, cpw: &str) -> Link {
    let now = ntp_now();
    let mut l = Link::new(
        creds(client, "client", cpw),
        creds(server, "server", spw),
        client_config(),
        now,
        19,
    );
    l.client =
        Association::new(client_config(), now).with_named_identities(named(client, "client", cpw));
    l
}

/// Polls up to `max` times; every event seen.
fn run(l: &mut Link, max: usize) -> Vec<AssocEvent> {
    let mut all = Vec::new();
    for _ in 0..max {
        let (_, reply) = l.exchange();
        match l.deliver(&reply) {
            Ok(ev) => all.extend(ev),
            Err(e) => panic!("reply refused: {e}"),
        }
        l.now += 16;
        if l.client.is_complete() {
            break;
        }
    }
    all
}

/// Server: the guide's IFF, GQ and MV generation (§6.7.1.3.1–3), and
/// the client host key (§6.7.2.3).
fn hosts() -> (Dir, Dir) {
    let (s, c) = (Dir::new("server"), Dir::new("client"));
    keygen(&s.0, "server", "ntp-keygen -T -I -p serverpassword");
    keygen(&c.0, "client", "ntp-keygen -H -p clientpassword");
    (s, c)
}

#[test]
fn iff_group_key_export_verifies_without_ident() {
    let (s, c) = hosts();
    // §6.7.1.3.1: the export, "mailed" and saved; §6.7.2.4.1: the link.
    let (mail, err) = keygen(
        &s.0,
        "server",
        "ntp-keygen -e -q serverpassword -p clientpassword",
    );
    assert!(err.contains("guide's meaning"), "{err}");
    let saved = save_mail(&c.0, &mail);
    assert_eq!(saved.len(), 1, "{saved:?}");
    ln_s(&c.0, &saved[0], "ntpkey_iff_server");
    ln_s(&c.0, "ntpkey_host_client", "ntpkey_iff_client");
    let mut l = link(&s.0, "serverpassword", &c.0, "clientpassword");
    let ev = run(&mut l, 12);
    assert!(
        ev.contains(&AssocEvent::IdentityVerified(Scheme::Iff)),
        "{ev:?}"
    );
    assert!(l.client.is_complete() && l.client.is_proventic());
    assert_ne!(l.client.flags() & status::IFF, 0);
    assert!(!l.client.is_tc_only());
    assert!(l
        .client
        .identity_file()
        .unwrap()
        .ends_with("ntpkey_iff_server"));
}

#[test]
fn another_groups_iff_key_is_refused_and_never_verifies() {
    let (s, c) = hosts();
    // A key exported by another trust group's server of the same name.
    let other = Dir::new("other");
    keygen(&other.0, "server", "ntp-keygen -T -I -p serverpassword");
    let (mail, _) = keygen(
        &other.0,
        "server",
        "ntp-keygen -e -q serverpassword -p clientpassword",
    );
    let saved = save_mail(&c.0, &mail);
    ln_s(&c.0, &saved[0], "ntpkey_iff_server");
    let mut l = link(&s.0, "serverpassword", &c.0, "clientpassword");
    let ev = run(&mut l, 12);
    let refused: Vec<String> = ev
        .iter()
        .filter_map(|e| match e {
            AssocEvent::Rejected(e) => Some(e.to_string()),
            _ => None,
        })
        .collect();
    assert!(!refused.is_empty(), "{ev:?}");
    assert!(
        refused
            .iter()
            .all(|r| r.starts_with("IFF ") && r.contains("another group")),
        "{refused:?}"
    );
    assert_eq!(
        l.client.flags() & (status::VRFY | status::PROV | status::IFF),
        0
    );
    assert!(!ev
        .iter()
        .any(|e| matches!(e, AssocEvent::IdentityVerified(_))));
}

#[test]
fn export_for_another_password_is_refused_naming_the_fix() {
    let (s, c) = hosts();
    let (mail, _) = keygen(
        &s.0,
        "server",
        "ntp-keygen -e -q serverpassword -p otherpassword",
    );
    let saved = save_mail(&c.0, &mail);
    ln_s(&c.0, &saved[0], "ntpkey_iff_server");
    let e = Keysdir::new(&c.0)
        .iff_params("server", Some("clientpassword"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("ntpkey_iff_server"), "{e}");
    assert!(
        e.contains("do not decrypt with this host's `crypto pw`"),
        "{e}"
    );
    assert!(
        e.contains("ntp-keygen -e -q SERVERPASSWORD -p CLIENTPASSWORD"),
        "{e}"
    );
    // The 4.2.8 form (-e -p, unencrypted) loads with any crypto pw.
    std::fs::remove_file(c.0.join("ntpkey_iff_server")).unwrap();
    let (mail, _) = keygen(&s.0, "server", "ntp-keygen -e -p serverpassword");
    let saved = save_mail(&c.0, &mail);
    ln_s(&c.0, &saved[0], "ntpkey_iff_server");
    assert!(Keysdir::new(&c.0)
        .iff_params("server", Some("clientpassword"))
        .is_ok());
}

#[test]
fn server_scheme_without_client_parameters_is_tc_only() {
    let (s, c) = hosts();
    let mut l = link(&s.0, "serverpassword", &c.0, "clientpassword");
    let ev = run(&mut l, 12);
    let tc: Vec<&AssocEvent> = ev
        .iter()
        .filter(|e| matches!(e, AssocEvent::TcOnly { .. }))
        .collect();
    assert_eq!(tc.len(), 1, "{ev:?}");
    let line = tc[0].to_string();
    assert!(
        line.contains("server server offers identity scheme IFF"),
        "{line}"
    );
    assert!(
        line.contains("TC-only (certificate trail only, no identity proof)"),
        "{line}"
    );
    assert!(l.client.is_tc_only() && l.client.is_complete());
    // No scheme bit is claimed: no proof ran.
    assert_eq!(l.client.flags() & status::IFF, 0);
}

#[test]
fn gq_key_copied_with_the_same_crypto_pw_verifies() {
    // §6.7.1.3.2 / §6.7.2.4.2: GQ needs the same crypto pw on all members.
    let (s, c) = (Dir::new("gq-server"), Dir::new("gq-client"));
    keygen(&s.0, "server", "ntp-keygen -T -G -p serverpassword");
    keygen(&c.0, "client", "ntp-keygen -H -p serverpassword");
    let file = dated(&s.0, "ntpkey_GQkey_server.");
    std::fs::copy(s.0.join(&file), c.0.join(&file)).unwrap();
    ln_s(&c.0, &file, "ntpkey_gq_server");
    let mut l = link(&s.0, "serverpassword", &c.0, "serverpassword");
    let ev = run(&mut l, 12);
    assert!(
        ev.contains(&AssocEvent::IdentityVerified(Scheme::Gq)),
        "{ev:?}"
    );
    assert!(l.client.is_complete());
    assert_ne!(l.client.flags() & status::GQ, 0);
    // With another password the copied key says which one it needs.
    let e = Keysdir::new(&c.0)
        .gq_params("server", Some("clientpassword"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("same crypto pw on all members"), "{e}");
}

#[test]
fn multiple_schemes_as_printed_and_an_mv_client_key_verifies() {
    // §6.7.1.3.4 after §6.7.1.3.1: the -q spelling reads the local keys.
    let (s, c) = hosts();
    for line in [
        "ntp-keygen -T -I -q serverpassword",
        "ntp-keygen -T -G -q serverpassword",
        "ntp-keygen -V 5 -q serverpassword",
    ] {
        let (_, err) = keygen(&s.0, "server", line);
        assert!(err.contains("guide's meaning"), "{line}: {err}");
        assert!(!err.contains("not trusted"), "{line}: {err}");
    }
    // -V 5: four enabled client keys, as the guide says (N-1).
    for j in 1..=4 {
        dated(&s.0, &format!("ntpkey_MVkey{j}_server."));
    }
    assert!(std::fs::read_dir(&s.0).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("ntpkey_MVkey5_")));
    // §6.7.2.4.3: the client key copied and linked; the server offers IFF,
    // GQ and MV, the client holds only MV: MV runs.
    let file = dated(&s.0, "ntpkey_MVkey1_server.");
    std::fs::copy(s.0.join(&file), c.0.join(&file)).unwrap();
    ln_s(&c.0, &file, "ntpkey_mv_server");
    let mut l = link(&s.0, "serverpassword", &c.0, "clientpassword");
    let ev = run(&mut l, 12);
    assert!(
        ev.contains(&AssocEvent::IdentityVerified(Scheme::Mv)),
        "{ev:?}"
    );
    assert!(l.client.is_complete());
    assert_eq!(
        l.client.flags() & (status::IFF | status::GQ | status::MV),
        status::MV
    );
}

#[test]
fn mv_without_trusted_certificate_warns_and_the_trail_is_reported() {
    let (s, c) = (Dir::new("mv-server"), Dir::new("mv-client"));
    // §6.7.1.3.3 as printed, N = 5; then with the sentence's full stop.
    let (_, err) = keygen(&s.0, "server", "ntp-keygen -V 5 -p serverpassword");
    assert!(
        err.contains("regenerate with -T on the trusted host"),
        "{err}"
    );
    let other = Dir::new("mv-dot");
    let (_, err) = keygen(&other.0, "server", "ntp-keygen -V 5 -p serverpassword.");
    assert!(err.contains("the -p password ends in '.'"), "{err}");
    keygen(&c.0, "client", "ntp-keygen -H -p clientpassword");
    let file = dated(&s.0, "ntpkey_MVkey1_server.");
    std::fs::copy(s.0.join(&file), c.0.join(&file)).unwrap();
    ln_s(&c.0, &file, "ntpkey_mv_server");
    let mut l = link(&s.0, "serverpassword", &c.0, "clientpassword");
    let ev = run(&mut l, 12);
    let untrusted: Vec<String> = ev
        .iter()
        .filter(|e| matches!(e, AssocEvent::UntrustedTrail { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(untrusted.len(), 1, "{ev:?}");
    assert!(
        untrusted[0].contains("regenerate with -T on the trusted host"),
        "{untrusted:?}"
    );
    assert_eq!(l.client.flags() & status::CERT, 0);
}

#[test]
fn ident_without_parameters_waits_and_says_so_once() {
    let (s, c) = hosts();
    let now = ntp_now();
    let mut cfg = client_config();
    cfg.ident = Some("server".into());
    let mut l = Link::new(
        creds(&c.0, "client", "clientpassword"),
        creds(&s.0, "server", "serverpassword"),
        cfg,
        now,
        23,
    );
    // Until the association has nothing left to ask (it waits for VRFY).
    let mut ev = Vec::new();
    for _ in 0..8 {
        let (code, req) = l.request();
        if code.is_none() {
            break;
        }
        let reply = l.serve(&req).expect("server reply");
        ev.extend(l.deliver(&reply).expect("reply accepted"));
        l.now += 16;
    }
    let waits: Vec<String> = ev
        .iter()
        .filter(|e| matches!(e, AssocEvent::NoIdentityParameters { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(waits.len(), 1, "{ev:?}");
    assert!(
        waits[0].contains("no parameters for group server")
            && waits[0].contains("ntpkey_iffpar_server"),
        "{waits:?}"
    );
    assert_eq!(l.client.flags() & (status::VRFY | status::PROV), 0);
    assert!(!l.client.is_tc_only());
}
