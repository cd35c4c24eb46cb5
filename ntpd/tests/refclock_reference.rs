//! Our LOCAL clock against the reference ntpd 4.2.8p15's, same
//! configuration (`server 127.127.1.0 minpoll 3`, `fudge 127.127.1.0
//! stratum 10 time2 0.25 flag2 1`, `tos orphanwait 1`, `disable ntp`),
//! each daemon in a network namespace of its own without CAP_SYS_TIME:
//! once both have selected the clock, the `ntpq -p` rows agree field by
//! field except `when` and `reach` (timing), and so do the system and peer
//! variables that describe the clock and the clock variables (`ntpq -c
//! cv`, mode 6 READCLOCK), the default list and one asked by name, except
//! `poll` (a count of polls, timing). A second test checks that `fudge
//! time1` is a one-time adjustment of LOCAL in both. Needs root, `ip
//! netns` and the reference (see `prerequisite`).

mod interop_support;
mod prerequisite;
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use interop_support::{ntpq_binary, peer_rows, rv_vars, var, PeerRow};
use prerequisite::{reference_ntpd, require, Need};
use support::*;

const CONF: &str =
    "disable ntp\ntos orphanwait 1\nserver 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10 time2 0.25 flag2 1\n";

/// Every clock variable the reference knows but `type` and
/// `clock_var_list`, asked by name.
const CV_NAMES: &str =
    "timecode,poll,noreply,badformat,baddata,fudgetime1,fudgetime2,stratum,refid,flags,device,minjitter";

fn run(ns: &Netns, ntpq: &[&str], args: &[&str]) -> String {
    let mut argv = vec!["timeout", "10"];
    argv.extend_from_slice(ntpq);
    argv.extend_from_slice(args);
    String::from_utf8_lossy(&ns.output(&argv).stdout).into_owned()
}

/// The variables of a `cv` reply, with or without ntpq's `associd=`
/// line (it prints none for a list asked by name).
fn cv_vars(text: &str) -> Vec<(String, String)> {
    let body: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("associd="))
        .collect();
    rv_vars(&format!("associd=- status=-\n{}", body.join("\n")))
        .into_iter()
        .filter(|(k, _)| k != "associd" && k != "status")
        .collect()
}

fn selected(ns: &Netns, ntpq: &[&str]) -> Option<(PeerRow, String, String)> {
    let run = |args: &[&str]| run(ns, ntpq, args);
    let out = run(&["-p", "127.0.0.1"]);
    if !out.contains("====") {
        return None;
    }
    let row = peer_rows(&out).into_iter().find(|r| r.tally == '*')?;
    Some((
        row,
        run(&["-c", "rv 0", "127.0.0.1"]),
        run(&["-c", "rv &1", "127.0.0.1"]),
    ))
}

/// Our daemon and the reference, each in a network namespace of its own
/// (named after `tag`) on the same configuration, both without
/// CAP_SYS_TIME.
/// The fields drop in their order: the daemons before their namespaces,
/// the scratch directory last.
struct Pair {
    _ours: Daemon,
    reference: Daemon,
    ours_ns: Netns,
    ref_ns: Netns,
    /// The reference's ntpq, as a command line.
    ref_cmd: Vec<String>,
    _scratch: Scratch,
}

impl Pair {
    fn start(conf_text: &str, tag: &str) -> Pair {
        let r = reference_ntpd().expect("checked by require!");
        let scratch = Scratch::new(tag);
        let conf = scratch.file("ntp.conf", conf_text);
        let ours_ns = Netns::new(&format!("{tag}ours"));
        let ours = start_ntpd(
            Some(&ours_ns),
            &conf,
            &["-I", "127.0.0.1"],
            None,
            &scratch.path("ours.log"),
        );
        let ref_ns = Netns::new(&format!("{tag}ref"));
        let lib = format!("LD_LIBRARY_PATH={}", r.libdir.display());
        let mut argv: Vec<&str> = WITHOUT_SYS_TIME.to_vec();
        let (ntpd, conf_s) = (r.ntpd.display().to_string(), conf.display().to_string());
        argv.extend(["env", &lib, &ntpd, "-n", "-x", "-c", &conf_s]);
        let log = std::fs::File::create(scratch.path("ref.log")).unwrap();
        let reference = Daemon {
            child: Some(
                ref_ns
                    .command(&argv)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .unwrap(),
            ),
            log: scratch.path("ref.log"),
        };
        let ref_cmd = vec!["env".to_string(), lib, r.ntpq.display().to_string()];
        Pair {
            ours_ns,
            ref_ns,
            _ours: ours,
            reference,
            ref_cmd,
            _scratch: scratch,
        }
    }

    fn ref_cmd(&self) -> Vec<&str> {
        self.ref_cmd.iter().map(String::as_str).collect()
    }

    /// Once both have selected the clock: each one's `ntpq -p` row, `rv 0`
    /// and `rv &1`, ours first.
    fn both_selected(&self) -> ((PeerRow, String, String), (PeerRow, String, String)) {
        let ref_cmd = self.ref_cmd();
        let t0 = Instant::now();
        let (mut a, mut b) = (None, None);
        while a.is_none() || b.is_none() {
            if a.is_none() {
                a = selected(&self.ours_ns, &[ntpq_binary()]);
            }
            if b.is_none() {
                b = selected(&self.ref_ns, &ref_cmd);
            }
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "not both selected LOCAL(0): ours {a:?}, reference {b:?}\n{}",
                self.reference.log_text()
            );
            std::thread::sleep(Duration::from_secs(1));
        }
        (a.unwrap(), b.unwrap())
    }
}

#[test]
fn local_clock_rows_match_the_reference() {
    require!(Need::Root, Need::IpNetns, Need::ReferenceNtpd);
    let mut pair = Pair::start(CONF, "rcref");
    let ((ours, ours_sys, ours_peer), (theirs, ref_sys, ref_peer)) = pair.both_selected();
    let (ours_ns, ref_ns) = (&pair.ours_ns, &pair.ref_ns);
    let ref_cmd = pair.ref_cmd();
    let fields = |r: &PeerRow| {
        (
            r.tally,
            r.remote.clone(),
            r.refid.clone(),
            r.st,
            r.t.clone(),
            r.poll,
            r.delay,
            r.offset,
            r.jitter,
        )
    };
    assert_eq!(fields(&ours), fields(&theirs));
    let (os, rs) = (rv_vars(&ours_sys), rv_vars(&ref_sys));
    for name in ["stratum", "refid", "leap"] {
        assert_eq!(var(&os, name), var(&rs, name), "rv 0 {name}");
    }
    let (op, rp) = (rv_vars(&ours_peer), rv_vars(&ref_peer));
    for name in [
        "srcadr",
        "stratum",
        "refid",
        "rootdelay",
        "hmode",
        "pmode",
        "hpoll",
        "ppoll",
        "leap",
    ] {
        assert_eq!(var(&op, name), var(&rp, name), "rv &1 {name}");
    }
    let rootdisp = |v: &[(String, String)]| var(v, "rootdisp").parse::<f64>().unwrap();
    assert!((rootdisp(&op) - rootdisp(&rp)).abs() < 0.1, "rootdisp");
    // Clock variables: the default list (the system peer's clock), then
    // every name asked for.
    let cv_default = |ns: &Netns, ntpq: &[&str]| run(ns, ntpq, &["-c", "cv", "127.0.0.1"]);
    let cv_named = |ns: &Netns, ntpq: &[&str]| {
        run(ns, ntpq, &["-c", &format!("cv &1 {CV_NAMES}"), "127.0.0.1"])
    };
    let ours_ntpq = [ntpq_binary()];
    for (what, o, t) in [
        (
            "cv",
            cv_default(ours_ns, &ours_ntpq),
            cv_default(ref_ns, &ref_cmd),
        ),
        (
            "cv &1 <names>",
            cv_named(ours_ns, &ours_ntpq),
            cv_named(ref_ns, &ref_cmd),
        ),
    ] {
        let header = |x: &str| {
            x.lines()
                .find(|l| l.starts_with("associd="))
                .map(str::to_string)
        };
        assert_eq!(header(&o), header(&t), "{what}: the status line");
        let (ov, tv) = (cv_vars(&o), cv_vars(&t));
        let names = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(names(&ov), names(&tv), "{what}: ours\n{o}\nreference\n{t}");
        assert!(ov.len() > 5, "{what}: {o}");
        for ((name, a), (_, b)) in ov.iter().zip(&tv) {
            if name == "poll" {
                let (a, b): (i64, i64) = (a.parse().unwrap(), b.parse().unwrap());
                assert!((a - b).abs() <= 2, "{what} poll: ours {a}, reference {b}");
            } else {
                assert_eq!(a, b, "{what} {name}: ours\n{o}\nreference\n{t}");
            }
        }
    }
    pair.reference.stop();
}

/// `fudge 127.127.1.0 time1 0.0015` is a one-time adjustment in the
/// reference's LOCAL driver (`local_poll()` zeroes time1 after its first
/// poll): once the clock is selected, `ntpq -p` shows offset +0.000 and
/// `cv` the configured `fudgetime1`, ours as the reference's.
#[test]
fn local_clock_time1_is_applied_once_as_the_reference() {
    require!(Need::Root, Need::IpNetns, Need::ReferenceNtpd);
    let conf = "disable ntp\ntos orphanwait 1\nserver 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10 time1 0.0015\n";
    let mut pair = Pair::start(conf, "rct1");
    let ((ours, _, _), (theirs, _, _)) = pair.both_selected();
    // Past the first polls, whose samples carry time1.
    std::thread::sleep(Duration::from_secs(20));
    let ref_cmd = pair.ref_cmd();
    let row = |ns: &Netns, ntpq: &[&str]| {
        let out = run(ns, ntpq, &["-p", "127.0.0.1"]);
        peer_rows(&out)
            .into_iter()
            .find(|r| r.remote == "LOCAL(0)")
            .unwrap_or_else(|| panic!("no LOCAL(0) row:\n{out}"))
    };
    let (ours_now, theirs_now) = (
        row(&pair.ours_ns, &[ntpq_binary()]),
        row(&pair.ref_ns, &ref_cmd),
    );
    assert_eq!(
        theirs_now.offset, 0.0,
        "the reference: {theirs:?} then {theirs_now:?}"
    );
    assert_eq!(
        ours_now.offset, theirs_now.offset,
        "ours: {ours:?} then {ours_now:?}"
    );
    let cv = |ns: &Netns, ntpq: &[&str]| cv_vars(&run(ns, ntpq, &["-c", "cv &1", "127.0.0.1"]));
    let (ov, tv) = (
        cv(&pair.ours_ns, &[ntpq_binary()]),
        cv(&pair.ref_ns, &ref_cmd),
    );
    // `cv` still lists the configured time1, in ms.
    let time1 = |v: &[(String, String)]| var(v, "fudgetime1").to_string();
    assert_eq!(time1(&tv), "1.500", "the reference's cv: {tv:?}");
    assert_eq!(time1(&ov), time1(&tv), "our cv: {ov:?}");
    pair.reference.stop();
}
