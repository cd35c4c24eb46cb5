//! The README's first command, `examples/guide-demo.sh` (issue 13): the
//! "Configuring Autokey" guide run as printed on a server and two clients
//! (network, mount and UTS namespaces per host). Runs the script with the
//! binaries of this build and checks what it prints: the guide's commands
//! as typed, and for each client `ntpq -p` with the server, `ntpq -c as`
//! with `ok`, the server's certificate in `rv 0 cert`, the Autokey flags
//! with the identity bits (RFC 5906 §10: IFF 0x20, VRFY 0x200), the log's
//! identity proof; then that nothing of it is left behind. Needs root and
//! `ip netns`: under `CI=true` it fails without them, elsewhere it prints
//! that it skipped.

#[path = "../ntpq/tests/ntpq_support/binary.rs"]
mod ntpq_binary;
mod prerequisite;
mod support;

use std::path::Path;
use std::process::Command;

use prerequisite::{require, Need};

/// The text between the header of `client`'s monitoring section and the
/// next section.
fn section<'a>(out: &'a str, client: &str) -> &'a str {
    let head = format!("== 6.7.3 Monitoring Authentication Status on host {client}\n");
    let start = out
        .find(&head)
        .unwrap_or_else(|| panic!("no section for {client}:\n{out}"));
    let rest = &out[start + head.len()..];
    &rest[..rest.find("\n== ").unwrap_or(rest.len())]
}

/// The output of `ntpq ARGS` as the script prints it under `client$ ntpq ARGS`.
fn ntpq_output<'a>(sec: &'a str, client: &str, args: &str) -> &'a str {
    let prompt = format!("{client}$ ntpq {args}\n");
    let start = sec
        .find(&prompt)
        .unwrap_or_else(|| panic!("no `ntpq {args}` in:\n{sec}"));
    let rest = &sec[start + prompt.len()..];
    let end = rest
        .find(&format!("{client}$ "))
        .or_else(|| rest.find(&format!("{client}: ")))
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn the_guide_demo_verifies_both_clients_and_cleans_up() {
    require!(Need::Root, Need::IpNetns);
    // ntpd, ntpq and ntp-keygen of this build, side by side.
    let ntpq = Path::new(ntpq_binary::ntpq_binary());
    let bin = Path::new(support::NTPD).parent().unwrap();
    assert_eq!(ntpq.parent(), Some(bin), "ntpq beside ntpd");
    let keygen = bin.join("ntp-keygen");
    assert!(
        keygen.is_file(),
        "{} missing: build it with `cargo build -p keystore` (same profile) or run \
         `cargo test --workspace`",
        keygen.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/guide-demo.sh");
    let before_ns = netns_list();
    let o = Command::new("bash")
        .arg(&script)
        .env("GUIDE_DEMO_BIN", bin)
        .env("WAIT", "60")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "exit {}:\n{out}\n{err}", o.status);

    // The guide's commands as printed, the backquoted updates included.
    for typed in [
        "server# ntp-keygen -T -I -p serverpassword",
        "server# ntp-keygen -e -q serverpassword -p clientpassword | mail timelord@client.domain",
        "server# ntp-keygen -T -G -p serverpassword",
        "server# ntp-keygen -V 5 -q serverpassword",
        "server# ntp-keygen -T -q `awk '/crypto pw/ { print $3 }' </etc/ntp.conf`",
        "client# ntp-keygen -H -p clientpassword",
        "client# ln -s ntpkey_host_client ntpkey_iff_client",
        "client# ntp-keygen -q `awk '/crypto pw/ { print $3 }' </etc/ntp.conf`",
        "    broadcast 224.0.1.1 autokey",
        "    server server autokey",
        "    multicastclient 224.0.1.1",
    ] {
        assert!(out.contains(typed), "`{typed}` not shown:\n{out}");
    }
    for client in ["client", "client2"] {
        let sec = section(&out, client);
        let link = format!("{client}# ln -s ntpkey_iffpar_server.");
        assert!(out.contains(&link), "{link} not shown:\n{out}");
        let peers = ntpq_output(sec, client, "-p");
        assert!(peers.contains("192.0.2.1"), "{client}: ntpq -p:\n{peers}");
        let assoc = ntpq_output(sec, client, "-c as");
        let row: Vec<&str> = assoc
            .lines()
            .nth(2)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(row.get(5), Some(&"ok"), "{client}: ntpq -c as:\n{assoc}");
        let certs = ntpq_output(sec, client, "-c \"rv 0 cert\"");
        assert!(
            certs.contains("cert=\"server server 0x5\""),
            "{client}: the server's trusted certificate:\n{certs}"
        );
        assert!(
            certs.contains(&format!("cert=\"{client} server 0x4\"")),
            "{client}: its certificate signed by the server:\n{certs}"
        );
        let flags = ntpq_output(sec, client, "-c \"rv &1 flags\"");
        let hex = flags
            .split("flags=0x")
            .nth(1)
            .map(|h| {
                h.chars()
                    .take_while(char::is_ascii_hexdigit)
                    .collect::<String>()
            })
            .unwrap_or_else(|| panic!("{client}: no flags:\n{flags}"));
        let v = u32::from_str_radix(&hex, 16).unwrap();
        assert_eq!(v & 0x220, 0x220, "{client}: IFF and VRFY: {flags}");
        assert!(
            sec.contains(
                "Autokey server server: IFF identity verified with /etc/ntp/ntpkey_iff_server"
            ),
            "{client}: {sec}"
        );
        assert!(
            sec.contains(&format!("{client}: auth ok, server identity verified")),
            "{sec}"
        );
    }
    // Everything removed: its namespaces, its scratch directory, its daemons.
    assert_eq!(netns_list(), before_ns, "namespaces left behind");
    let work_left = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("guide-demo."))
        .count();
    assert_eq!(work_left, 0, "scratch directory left in /tmp");
    let daemons = Command::new("pgrep")
        .args(["-f", "ntpd -n -c /etc/ntp.conf -l /tmp/guide-demo."])
        .output()
        .unwrap();
    assert!(daemons.stdout.is_empty(), "daemons left running");
}

/// The names `ip netns list` shows that this script makes (`gdPID-…`).
fn netns_list() -> Vec<String> {
    let o = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("gd"))
        .map(String::from)
        .collect();
    v.sort();
    v
}
