//! NTS interop with ntpsec 1.2.2 (Debian 12), in two network namespaces
//! joined by a veth pair, with a test CA made by the test: ntpsec as NTS
//! server (`nts enable`, `nts cert`, `nts key`) and our daemon as its NTS
//! client (`server A nts`, `nts ca`): selected and authentic; then our
//! daemon as NTS server and ntpsec as its NTS client (the same ntpsec
//! syntax: `server A nts`, `nts ca`): ntpsec selects us, which it does only
//! with authenticated NTS replies, and our server counts them. Every
//! daemon runs with `disable ntp` and without CAP_SYS_TIME.
//! Needs root, `ip netns`, ntpsec (see `prerequisite`) and the openssl
//! command line.

mod interop_support;
mod nts_support;
mod prerequisite;

use std::path::Path;
use std::time::Duration;

use interop_support::*;
use nts_support::make_pki_for;
use prerequisite::{require, Need, OPENSSL};

/// ntpsec's ntpd in `ns` with `body`: no clock discipline, queries
/// allowed, logs and statistics in the lab's directory.
fn start_ntpsec(lab: &mut Lab, name: &str, ns: &str, body: &str) {
    let ntpsec = prerequisite::ntpsec().expect("ntpsec found by require!");
    let dir = lab.dir.display().to_string();
    let conf = lab.file(
        &format!("{name}.conf"),
        &format!(
            "disable ntp\ndisable kernel\nrestrict default\nrestrict 127.0.0.1\nrestrict ::1\n\
             logfile {dir}/{name}.log\nstatsdir {dir}/\n{body}\n"
        ),
    );
    let ntpd = ntpsec.ntpd.to_str().unwrap().to_string();
    let conf = conf.to_str().unwrap().to_string();
    lab.spawn(name, ns, &[&ntpd, "-n", "-x", "-c", &conf]);
}

fn start_ours(lab: &mut Lab, name: &str, ns: &str, body: &str) {
    let conf = lab.file(&format!("{name}.conf"), &format!("disable ntp\n{body}\n"));
    let conf = conf.to_str().unwrap().to_string();
    lab.spawn(name, ns, &[NTPD, "-n", "-c", &conf]);
}

#[test]
fn our_nts_client_with_ntpsec_nts_server() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec, OPENSSL);
    let mut lab = Lab::new();
    let pki = make_pki_for(&lab.dir, Some(&lab.addr_a.clone()));
    let (a, b, addr_a) = (lab.a.clone(), lab.b.clone(), lab.addr_a.clone());
    let dir = lab.dir.display().to_string();
    start_ntpsec(
        &mut lab,
        "server",
        &a,
        &format!(
            "tos orphan 5 orphanwait 1\nnts enable\nnts cert {}\nnts key {}\nnts cookie {}/ntpsec-cookies\n",
            pki.cert.display(),
            pki.key.display(),
            dir
        ),
    );
    start_ours(
        &mut lab,
        "client",
        &b,
        &format!(
            "nts ca {}\nserver {addr_a} nts minpoll 4 maxpoll 4 iburst",
            pki.ca.display()
        ),
    );
    let assocs = lab.wait_ntpq(
        Path::new(ntpq_binary()),
        &b,
        &["-n", "-c", "as", "127.0.0.1"],
        Duration::from_secs(60),
        "our NTS association to ntpsec selected and authentic",
        |out| {
            assoc_rows(out)
                .first()
                .is_some_and(|r| r.len() >= 7 && r[3..7] == ["yes", "yes", "ok", "sys.peer"])
        },
    );
    let rv = lab.ntpq(&b, Path::new(ntpq_binary()), &["-c", "rv", "127.0.0.1"]);
    let v = rv_vars(&rv);
    assert_eq!(var(&v, "nts_associations"), "1", "{rv}");
    assert!(num(&v, "nts_authentic") > 0.0, "{rv}\n{assocs}");
    assert_eq!(var(&v, "stratum"), "6", "{rv}");
}

#[test]
fn ntpsec_nts_client_with_our_nts_server() {
    require!(Need::Root, Need::IpNetns, Need::Ntpsec, OPENSSL);
    let mut lab = Lab::new();
    let pki = make_pki_for(&lab.dir, Some(&lab.addr_a.clone()));
    let (a, b, addr_a) = (lab.a.clone(), lab.b.clone(), lab.addr_a.clone());
    let dir = lab.dir.display().to_string();
    start_ours(
        &mut lab,
        "server",
        &a,
        &format!(
            "tos orphan 5 orphanwait 1\nnts enable cert {} key {} cookie {}/our-cookies",
            pki.cert.display(),
            pki.key.display(),
            dir
        ),
    );
    start_ntpsec(
        &mut lab,
        "client",
        &b,
        &format!(
            "nts ca {}\nserver {addr_a} nts minpoll 4 maxpoll 4 iburst",
            pki.ca.display()
        ),
    );
    let peers = lab.wait_ntpq(
        Path::new(ntpq_binary()),
        &b,
        &["-n", "-p", "127.0.0.1"],
        Duration::from_secs(60),
        "ntpsec selects our NTS server",
        |out| {
            peer_rows(out)
                .first()
                .is_some_and(|r| r.tally == '*' && r.reach != 0)
        },
    );
    let rv = lab.ntpq(&a, Path::new(ntpq_binary()), &["-c", "rv", "127.0.0.1"]);
    let v = rv_vars(&rv);
    assert_eq!(var(&v, "nts_ke_served"), "1", "{rv}");
    assert!(num(&v, "nts_replies") > 0.0, "{rv}\n{peers}");
    assert_eq!(var(&v, "nts_naks"), "0", "{rv}");
}
