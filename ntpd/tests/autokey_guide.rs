//! The "Configuring Autokey" guide followed word for word with our daemon
//! (issue 19): the guide's `ntp-keygen`, export, `ln -s` and update
//! commands (guide_support), its `ntp.conf` lines (`crypto pw …`,
//! `keysdir /etc/ntp`, `server … autokey` without `ident`, `broadcast …
//! autokey`), one temporary /etc per host, host names `server` and
//! `client…` (each daemon in its own UTS namespace). In a network namespace
//! the test creates: the server on 127.0.0.1, clients on 127.0.0.2….
//! Every daemon runs with `disable ntp` and without CAP_SYS_TIME; the
//! association lines add `minpoll 3 maxpoll 3 iburst` so that the dance
//! takes seconds, and the server runs orphan mode (it must be synchronised
//! to sign).
//!
//! Asserted from the client logs: the identity proof ("IFF identity
//! verified" …), a refusal naming why for another group's key, the TC-only
//! notice for a client without parameters, the untrusted-trail notice with
//! its fix for MV generated without -T; and without a namespace, that a
//! group key exported for another password stops the daemon naming the
//! file and the export to make, and that a missing keysdir names itself.
//! The namespaced tests need root: under `CI=true` they fail without it,
//! elsewhere they print that they skipped.

mod guide_support;
#[path = "../ntpq/tests/ntpq_support/binary.rs"]
mod ntpq_binary;
mod prerequisite;
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use guide_support::GuideHost;
use ntpq_binary::ntpq_binary;
use prerequisite::{require, Need};
use support::*;

/// The guide's server ntp.conf lines (§6.7.1.2).
const SERVER_CONF: &str = "crypto pw serverpassword\nkeysdir /etc/ntp\n";
/// The guide's client ntp.conf lines (§6.7.2.2).
const CLIENT_CONF: &str = "crypto pw clientpassword\nkeysdir /etc/ntp\n";
/// What the tests add: no clock discipline, orphan mode, quick polls.
const TEST_CONF: &str = "disable ntp\nrestrict default nomodify notrap\n";
/// §6.7.2.2.1 with the server's address; the options only speed it up.
const UNICAST: &str = "server 127.0.0.1 autokey minpoll 3 maxpoll 3 iburst\n";

/// §6.7.1.3.1 IFF Parameters.
const IFF_GENERATE: &str = "cd /etc/ntp\nntp-keygen -T -I -p serverpassword";
/// §6.7.1.3.1 the export (mailed).
const IFF_EXPORT: &str =
    "cd /etc/ntp\nntp-keygen -e -q serverpassword -p clientpassword | mail timelord@client.domain";

/// §6.7.1.3.2 GQ Parameters.
const GQ_GENERATE: &str = "cd /etc/ntp\nntp-keygen -T -G -p serverpassword";
/// §6.7.1.3.4 Multiple Identity Schemes.
const MULTIPLE: &str = "cd /etc/ntp\nntp-keygen -T -I -q serverpassword\nntp-keygen -T -G -q serverpassword\nntp-keygen -V 5 -q serverpassword";
/// §6.7.1.5 Server Parameter Update.
const SERVER_UPDATE: &str =
    "cd /etc/ntp\nntp-keygen -T -q `awk '/crypto pw/ { print $3 }' </etc/ntp.conf`";
/// §6.7.2.3 Generate Client Parameters.
const CLIENT_GENERATE: &str = "cd /etc/ntp\nntp-keygen -H -p clientpassword";
/// §6.7.2.6 Client Parameter Update.
const CLIENT_UPDATE: &str =
    "cd /etc/ntp\nntp-keygen -q `awk '/crypto pw/ { print $3 }' </etc/ntp.conf`";

/// Starts our ntpd for `host` inside `ns`, in a UTS namespace whose host
/// name is the guide host's name, without CAP_SYS_TIME.
fn start(ns: &Netns, host: &GuideHost, addr: &str) -> Daemon {
    let log = host.root.join("ntpd.log");
    let conf = host.conf.display().to_string();
    let mut argv: Vec<&str> = vec![
        "unshare",
        "--uts",
        "sh",
        "-c",
        "hostname \"$0\" && exec \"$@\"",
        &host.name,
    ];
    argv.extend(WITHOUT_SYS_TIME);
    argv.extend([NTPD, "-n", "-d", "-c", &conf, "-I", addr]);
    let child = ns
        .command(&argv)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Daemon {
        child: Some(child),
        log,
    }
}

/// Waits until `d`'s log has a line containing every one of `words`;
/// returns that line.
fn wait_log(d: &Daemon, words: &[&str], within: Duration) -> String {
    let t0 = Instant::now();
    loop {
        let text = d.log_text();
        if let Some(l) = text.lines().find(|l| words.iter().all(|w| l.contains(w))) {
            return l.to_string();
        }
        assert!(
            t0.elapsed() < within,
            "no log line with {words:?} within {within:?}; log:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn ntpq(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec![ntpq_binary()];
    argv.extend_from_slice(args);
    String::from_utf8_lossy(&ns.output(&argv).stdout).into_owned()
}

/// The `auth` column of the first association row of `ntpq -c as`, polled
/// until it reads `want`.
fn wait_auth(ns: &Netns, addr: &str, want: &str, d: &Daemon) {
    let t0 = Instant::now();
    loop {
        let text = ntpq(ns, &["-n", "-c", "as", addr]);
        let row: Vec<String> = text
            .lines()
            .nth(2)
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
        if row.get(5).map(String::as_str) == Some(want) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{addr}: auth never {want}:\n{text}\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `flags=0x…` of an ntpq listing (the number before our ntpq's words).
fn flags(text: &str) -> u32 {
    text.split([',', '\n'])
        .map(str::trim)
        .find_map(|kv| kv.strip_prefix("flags=0x"))
        .and_then(|h| h.trim_matches('"').split(' ').next())
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| panic!("no flags in {text}"))
}

/// A namespace with 127.0.0.1 … 127.0.0.`n`.
fn namespace(tag: &str, n: u8) -> Netns {
    let ns = Netns::new(tag);
    for i in 2..=n {
        ns.run(&["ip", "addr", "add", &format!("127.0.0.{i}/8"), "dev", "lo"]);
    }
    ns
}

fn server(scratch: &Scratch, extra: &str) -> GuideHost {
    GuideHost::new(
        &scratch.0,
        "server",
        &format!("{SERVER_CONF}{TEST_CONF}tos orphan 5 orphanwait 1\n{extra}"),
    )
}

fn client(scratch: &Scratch, name: &str, conf: &str, extra: &str) -> GuideHost {
    let mut c = GuideHost::new(&scratch.0, name, &format!("{conf}{TEST_CONF}{extra}"));
    let pw = conf
        .lines()
        .find_map(|l| l.strip_prefix("crypto pw "))
        .unwrap();
    c.run(&CLIENT_GENERATE.replace("clientpassword", pw));
    c
}

#[test]
fn iff_unicast_verifies_another_group_is_refused_and_tc_only_is_announced() {
    require!(Need::Root, Need::IpNetns);
    let scratch = Scratch::new("guide-iff");
    let mut srv = server(&scratch, "");
    srv.run(IFF_GENERATE);
    srv.run(IFF_EXPORT);
    let mail = srv.mailbox.clone();
    // Another trust group's server of the same name, and its export.
    let mut stranger = GuideHost::new(&scratch.0.join("elsewhere"), "server", SERVER_CONF);
    stranger.run(IFF_GENERATE);
    stranger.run(IFF_EXPORT);

    // client: the right group key, the guide's links (§6.7.2.4.1).
    let mut good = client(&scratch, "client", CLIENT_CONF, UNICAST);
    let saved = good.receive_mail(&mail);
    assert_eq!(saved.len(), 1, "{saved:?}");
    good.run(&format!(
        "cd /etc/ntp\nln -s {} ntpkey_iff_server",
        saved[0]
    ));
    good.run("cd /etc/ntp\nln -s ntpkey_host_client ntpkey_iff_client");
    good.run(CLIENT_UPDATE);
    // client2: another group's key under the same link name.
    let mut other = client(&scratch, "client2", CLIENT_CONF, UNICAST);
    let saved = other.receive_mail(&stranger.mailbox);
    other.run(&format!(
        "cd /etc/ntp\nln -s {} ntpkey_iff_server",
        saved[0]
    ));
    // client3: no group key at all.
    let bare = client(&scratch, "client3", CLIENT_CONF, UNICAST);
    srv.run(SERVER_UPDATE);

    let ns = namespace("guide-iff", 4);
    let s = start(&ns, &srv, "127.0.0.1");
    let g = start(&ns, &good, "127.0.0.2");
    let o = start(&ns, &other, "127.0.0.3");
    let b = start(&ns, &bare, "127.0.0.4");
    let within = Duration::from_secs(60);
    let proof = wait_log(&g, &["IFF identity verified", "ntpkey_iff_server"], within);
    assert!(proof.contains("server server"), "{proof}");
    wait_auth(&ns, "127.0.0.2", "ok", &g);
    // IFF and VRFY lit: the proof verified.
    let peer = ntpq(&ns, &["-c", "rv &1 flags", "127.0.0.2"]);
    assert_eq!(flags(&peer) & 0x220, 0x220, "{peer}");

    let refused = wait_log(&o, &["refused", "IFF"], within);
    assert!(
        refused.contains("ntpkey_iff_server") && refused.contains("another group"),
        "{refused}"
    );
    assert!(
        !o.log_text().contains("identity verified"),
        "{}",
        o.log_text()
    );
    let line = wait_log(&b, &["TC-only"], within);
    assert!(
        line.contains("server server offers identity scheme IFF")
            && line.contains("certificate trail only, no identity proof"),
        "{line}"
    );
    // VRFY by the trail alone; no IFF bit claimed.
    let tc = ntpq(&ns, &["-c", "rv &1 flags", "127.0.0.4"]);
    assert_eq!(flags(&tc) & 0x220, 0x200, "{tc}");
    assert_eq!(
        b.log_text().matches("TC-only").count(),
        1,
        "announced once: {}",
        b.log_text()
    );
    drop((g, o, b, s));
}

#[test]
fn gq_and_mv_from_the_multiple_scheme_commands_verify() {
    require!(Need::Root, Need::IpNetns);
    let scratch = Scratch::new("guide-gqmv");
    let mut srv = server(&scratch, "");
    srv.run(IFF_GENERATE);
    srv.run(GQ_GENERATE);
    srv.run(MULTIPLE);
    // GQ: the same crypto pw on all members (§6.7.1.3.2), the key file
    // copied and linked (§6.7.2.4.2).
    let gq = client(
        &scratch,
        "client",
        "crypto pw serverpassword\nkeysdir /etc/ntp\n",
        UNICAST,
    );
    let file = gq.copy_from(&srv, "ntpkey_GQkey_server.");
    let mut gq = gq;
    gq.run(&format!("cd /etc/ntp\nln -s {file} ntpkey_gq_server"));
    // MV: the client key copied and linked (§6.7.2.4.3).
    let mut mv = client(&scratch, "client2", CLIENT_CONF, UNICAST);
    let file = mv.copy_from(&srv, "ntpkey_MVkey1_server.");
    mv.run(&format!("cd /etc/ntp\nln -s {file} ntpkey_mv_server"));

    let ns = namespace("guide-gqmv", 3);
    let s = start(&ns, &srv, "127.0.0.1");
    let g = start(&ns, &gq, "127.0.0.2");
    let m = start(&ns, &mv, "127.0.0.3");
    let within = Duration::from_secs(60);
    wait_log(&g, &["GQ identity verified", "ntpkey_gq_server"], within);
    wait_log(&m, &["MV identity verified", "ntpkey_mv_server"], within);
    wait_auth(&ns, "127.0.0.2", "ok", &g);
    wait_auth(&ns, "127.0.0.3", "ok", &m);
    drop((g, m, s));
}

#[test]
fn mv_as_printed_without_t_names_the_fix() {
    require!(Need::Root, Need::IpNetns);
    let scratch = Scratch::new("guide-mv");
    let mut srv = server(&scratch, "");
    // §6.7.1.3.3 with N = 5, as an operator types it.
    let err = srv.run("cd /etc/ntp\nntp-keygen -V 5 -p serverpassword");
    assert!(
        err.contains("regenerate with -T on the trusted host"),
        "{err}"
    );
    let mut mv = client(&scratch, "client", CLIENT_CONF, UNICAST);
    let file = mv.copy_from(&srv, "ntpkey_MVkey1_server.");
    mv.run(&format!("cd /etc/ntp\nln -s {file} ntpkey_mv_server"));
    let ns = namespace("guide-mv", 2);
    let s = start(&ns, &srv, "127.0.0.1");
    let m = start(&ns, &mv, "127.0.0.2");
    let line = wait_log(
        &m,
        &["regenerate with -T on the trusted host"],
        Duration::from_secs(60),
    );
    assert!(line.contains("server server"), "{line}");
    drop((m, s));
}

#[test]
fn multicast_iff_verifies_without_ident() {
    require!(Need::Root, Need::IpNetns);
    let scratch = Scratch::new("guide-mcast");
    // §6.7.1.2.1: the server's broadcast line with autokey.
    let mut srv = server(&scratch, "broadcast 224.0.1.1 autokey minpoll 3\n");
    srv.run(IFF_GENERATE);
    srv.run(IFF_EXPORT);
    let mut c = client(
        &scratch,
        "client",
        CLIENT_CONF,
        "multicastclient 224.0.1.1\n",
    );
    let saved = c.receive_mail(&srv.mailbox.clone());
    c.run(&format!(
        "cd /etc/ntp\nln -s {} ntpkey_iff_server",
        saved[0]
    ));
    let ns = namespace("guide-mcast", 2);
    ns.run(&["ip", "link", "set", "lo", "multicast", "on"]);
    ns.run(&["ip", "route", "add", "224.0.0.0/4", "dev", "lo"]);
    let s = start(&ns, &srv, "127.0.0.1");
    let d = start(&ns, &c, "127.0.0.2");
    wait_log(
        &d,
        &["IFF identity verified", "ntpkey_iff_server"],
        Duration::from_secs(90),
    );
    drop((d, s));
}

/// Runs `ntpd -n -c CONF` to its start-up failure; its stderr.
fn start_up_failure(conf: &Path) -> String {
    let out = Command::new(NTPD)
        .args(["-n", "-c", &conf.display().to_string()])
        .env("NTPD_AUTOKEY_TEST_PORT", free_port().to_string())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    err
}

#[test]
fn group_key_for_another_password_stops_the_daemon_saying_why() {
    let scratch = Scratch::new("guide-pw");
    let mut srv = server(&scratch, "");
    srv.run(IFF_GENERATE);
    // Exported for "otherpassword", installed on a clientpassword client.
    srv.run(&IFF_EXPORT.replace("-p clientpassword", "-p otherpassword"));
    let mut c = GuideHost::new(
        &scratch.0,
        "client",
        &format!("{CLIENT_CONF}crypto host client\ndisable ntp\n{UNICAST}"),
    );
    c.run(CLIENT_GENERATE);
    let saved = c.receive_mail(&srv.mailbox.clone());
    c.run(&format!(
        "cd /etc/ntp\nln -s {} ntpkey_iff_server",
        saved[0]
    ));
    let err = start_up_failure(&c.conf);
    assert!(err.contains("ntpkey_iff_server"), "{err}");
    assert!(
        err.contains("do not decrypt with this host's `crypto pw`"),
        "{err}"
    );
    assert!(
        err.contains("-e -q SERVERPASSWORD -p CLIENTPASSWORD"),
        "{err}"
    );
}

#[test]
fn missing_keysdir_names_the_directory_and_its_line() {
    let scratch = Scratch::new("guide-nokeys");
    let conf = scratch.file(
        "ntp.conf",
        "disable ntp\ncrypto pw clientpassword host client\nkeysdir /nonexistent/ntp\n",
    );
    let err = start_up_failure(&conf);
    assert!(err.contains("keysdir /nonexistent/ntp"), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains(&format!("{}:3", conf.display())), "{err}");
}
