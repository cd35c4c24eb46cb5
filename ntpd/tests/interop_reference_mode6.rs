//! Mode 6 (RFC 9327) interop with the reference ntpd 4.2.8p15: the
//! reference `ntpq` against our daemon and our `ntpq` against the
//! reference daemon, for `-p`, `-c as`, `rv`, `rv 0 cert`, `rv <assoc>`,
//! `cv`, `mrulist`, `readlist`, `sysinfo`, `sysstats`, `kerninfo`,
//! `authinfo`, `iostats`, `monstats`, `ifstats` and `reslist`.
//!
//! Two comparisons: each ntpq against our daemon vs against the
//! reference daemon (what the daemons answer), and our ntpq vs the
//! reference ntpq against the reference daemon (how the ntpqs print).
//!
//! The same scenario twice, side by side (two pairs of namespaces, the same
//! addresses): the reference daemon serves Autokey TC as alice (fixture
//! keys) in A, and bob in B is our daemon in one pair, the reference
//! daemon in the other. Once both bobs are complete (flags 0x7f00) and have
//! selected alice, each ntpq runs each command against both bobs, and the
//! outputs are compared field by field (`reference_support::mode6`): the
//! same field names in the same order, and equal values for the fields
//! that describe the scenario rather than the moment (stratum, refid,
//! modes, polls, certificates, …).
//!
//! Where our daemon still differs, the difference is listed in
//! [`KNOWN_DIFFERENCES`] and asserted to be exactly that (so it cannot grow
//! unnoticed, and a fix fails the test until the list shrinks); the README
//! matrix names each.
//!
//! Both daemons run with `disable ntp`, without CAP_SYS_TIME.
//! Needs root, `ip netns` and the reference (see `prerequisite`).

mod interop_support;
mod prerequisite;
mod reference_support;

use std::time::{Duration, Instant};

use interop_support::*;
use prerequisite::{require, Need};
use reference_support::autokey::*;
use reference_support::mode6::*;
use reference_support::*;

/// The peer variables that must agree (`rv &1`, `rv <assoc>`).
const PEER_FIELDS: &[&str] = &[
    "srcadr",
    "srcport",
    "dstadr",
    "dstport",
    "leap",
    "stratum",
    "refid",
    "hmode",
    "pmode",
    "hpoll",
    "ppoll",
    "flash",
    "host",
    "flags",
    "signature",
];

/// Each command, how it prints, and the fields whose values must agree
/// between the two daemons in the same scenario (`keyid` of `rv &1` is
/// each run's random Autokey session key ID, so it is not among them).
const COMMANDS: &[(&str, Shape, &[&str])] = &[
    (
        "-p",
        Shape::Table,
        &[
            "header",
            "row 1 column 1",
            "row 1 column 2",
            "row 1 column 3",
            "row 1 column 4",
            "row 1 column 6",
        ],
    ),
    (
        "as",
        Shape::Table,
        &[
            "header",
            "row 1 column 1",
            "row 1 column 4",
            "row 1 column 5",
            "row 1 column 6",
            "row 1 column 7",
        ],
    ),
    (
        "rv",
        Shape::Vars,
        &[
            "associd",
            "leap",
            "stratum",
            "refid",
            "processor",
            "system",
            "host",
            "flags",
            "digest",
            "signature",
        ],
    ),
    ("rv 0 cert", Shape::Vars, &["cert"]),
    ("rv &1", Shape::Vars, PEER_FIELDS),
    ("rv <assoc>", Shape::Vars, PEER_FIELDS),
    ("cv", Shape::Vars, &[]),
    (
        "mrulist",
        Shape::Table,
        &[
            "header",
            "row 1 column 3",
            "row 1 column 4",
            "row 1 column 5",
            "row 1 column 6",
            "row 1 column 9",
        ],
    ),
    (
        "readlist",
        Shape::Vars,
        &["associd", "leap", "stratum", "refid", "host", "flags"],
    ),
    (
        "sysinfo",
        Shape::Labels,
        &[
            "system peer",
            "system peer mode",
            "leap indicator",
            "stratum",
            "reference ID",
            "broadcast delay",
        ],
    ),
    ("sysstats", Shape::Labels, &[]),
    ("kerninfo", Shape::Labels, &[]),
    ("authinfo", Shape::Labels, &[]),
    ("iostats", Shape::Labels, &[]),
    ("monstats", Shape::Labels, &[]),
    ("ifstats", Shape::Table, &["header"]),
    ("reslist", Shape::Table, &["header", "rows"]),
];

/// Where our daemon's answers still differ from the reference's in this
/// scenario, as (ntpq, command, difference) — read by either ntpq, since
/// the difference is in what the daemon sends.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

/// Where our `ntpq` still prints differently from the reference `ntpq`,
/// both reading the reference daemon, as (command, difference).
const KNOWN_NTPQ_DIFFERENCES: &[(&str, &str)] = &[];

/// One side of the scenario: the reference alice in A and `bob` in B,
/// complete and selected.
fn scenario(bob: Daemon) -> Lab {
    let mut lab = Lab::new();
    start_alice(&mut lab, Daemon::Reference, &fixture_keys("tc", "alice"));
    start_bob(&mut lab, bob, &fixture_keys("tc", "bob"), TC);
    wait_flags(
        &mut lab,
        bob,
        Duration::from_secs(150),
        "bob complete",
        |f| f & CLIENT_BITS == CLIENT_BITS,
    );
    let b = lab.b.clone();
    wait_selected(&mut lab, bob, &b, 60, "bob selecting alice");
    lab
}

/// `ntpq` argument list for `command` against 127.0.0.1 in `lab`'s B,
/// numeric; `rv <assoc>` names the first association's ID there.
fn args(command: &str, lab: &Lab) -> Vec<String> {
    let command = match command {
        "-p" => return ["-n", "-p", "127.0.0.1"].map(String::from).to_vec(),
        "rv <assoc>" => {
            let assid = first_assid(lab, Daemon::Reference, &lab.b).expect("an association");
            format!("rv {assid}")
        }
        c => c.to_string(),
    };
    vec!["-n".into(), "-c".into(), command, "127.0.0.1".into()]
}

/// `args` as the `&str` list [`ntpq`] takes.
fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn reference_mode6_cells() {
    require!(Need::Root, Need::IpNetns, Need::ReferenceNtpd);
    let t0 = Instant::now();
    let (mut ours, mut theirs) = std::thread::scope(|s| {
        let o = s.spawn(|| scenario(Daemon::Ours));
        let t = s.spawn(|| scenario(Daemon::Reference));
        (o.join().expect("our bob"), t.join().expect("reference bob"))
    });
    let mut found: Vec<(String, String)> = Vec::new();
    let mut found_ntpq: Vec<(String, String)> = Vec::new();
    let mut report = String::new();
    for (command, shape, same) in COMMANDS {
        let (ao, at) = (args(command, &ours), args(command, &theirs));
        let (ao, at) = (refs(&ao), refs(&at));
        // Each ntpq against our daemon vs against the reference daemon.
        for ntpq_of in [Daemon::Reference, Daemon::Ours] {
            let o = ntpq(&ours, ntpq_of, &ours.b, &ao);
            let t = ntpq(&theirs, ntpq_of, &theirs.b, &at);
            let d = differences(&fields(&o, *shape), &fields(&t, *shape), same);
            found.extend(d.iter().map(|l| (command.to_string(), l.clone())));
            report.push_str(&format!(
                "== {} ntpq {command}, our daemon vs the reference's: {}\n-- ours:\n{o}\n-- the reference's:\n{t}\n",
                ntpq_of.label(),
                if d.is_empty() { "same".to_string() } else { d.join("; ") }
            ));
        }
        // Our ntpq vs the reference ntpq, both against the reference daemon.
        let o = ntpq(&theirs, Daemon::Ours, &theirs.b, &at);
        let t = ntpq(&theirs, Daemon::Reference, &theirs.b, &at);
        let d = differences(&fields(&o, *shape), &fields(&t, *shape), same);
        found_ntpq.extend(d.iter().map(|l| (command.to_string(), l.clone())));
        report.push_str(&format!(
            "== ntpq {command} against the reference daemon, our ntpq vs the reference's: {}\n-- ours:\n{o}\n-- the reference's:\n{t}\n",
            if d.is_empty() { "same".to_string() } else { d.join("; ") }
        ));
    }
    let sorted = |mut v: Vec<(String, String)>| {
        v.sort();
        v.dedup();
        v
    };
    let known = |k: &[(&str, &str)]| {
        sorted(
            k.iter()
                .map(|(c, d)| (c.to_string(), d.to_string()))
                .collect(),
        )
    };
    assert_eq!(
        sorted(found),
        known(KNOWN_DIFFERENCES),
        "mode 6 differences, our daemon vs the reference's:\n{report}"
    );
    assert_eq!(
        sorted(found_ntpq),
        known(KNOWN_NTPQ_DIFFERENCES),
        "mode 6 differences, our ntpq vs the reference's:\n{report}"
    );
    let line = format!(
        "cell: mode 6, 17 commands, both ntpqs | reference ntpq → ours, ours → reference | ok | {:.0} s\n",
        t0.elapsed().as_secs_f64()
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    ours.assert_running();
    theirs.assert_running();
}
