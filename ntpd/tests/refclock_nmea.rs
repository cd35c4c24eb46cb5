//! The NMEA reference clock (type 20) end to end through pseudo-terminals:
//! the test opens two pty pairs, sets their slaves raw, and points our
//! daemon's device directory at a scratch directory holding `gps9` and
//! `gps8`, links to the two slaves (`NTPD_REFCLOCK_DEVDIR`, the daemon's
//! test override of `/dev`, see `daemon::refclock_serial`). Every second,
//! 50 ms after the second begins, it writes into the masters a `$GPRMC`
//! naming that second: a good one to `gps9`, one with a broken checksum
//! to `gps8`. The daemon (`server 127.127.20.9 mode 17`: RMC at 9600 bps,
//! `fudge 127.127.20.9 time2 0.050` for the 50 ms; `server 127.127.20.8
//! mode 1`) selects `GPS_NMEA(9)` at an offset near zero, never reaches
//! `GPS_NMEA(8)`, whose `ntpq -c cv` counts every broken sentence in
//! `badformat`, and writes `clockstats` lines (reference
//! `record_clock_stats()`: `MJD SECONDS 127.127.20.9 TIMECODE`) for the
//! good clock only. The daemon runs in a network namespace the test
//! creates, with `disable ntp` and without CAP_SYS_TIME. Needs root and
//! `ip netns` (see `prerequisite`). A second test runs the reference ntpd
//! 4.2.8p15 beside ours on the same sentences and compares `ntpq -p`,
//! `rv` and `cv` (it also needs the reference; see `prerequisite`).

mod interop_support;
mod prerequisite;
mod refclock_support;
mod support;

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use interop_support::{ntpq_binary, peer_rows, rv_vars, var, PeerRow};
use nix::sys::termios;
use prerequisite::{reference_ntpd, require, Need};
use refclock_support::rmc;
use support::*;

/// How late in its second a sentence is written (cancelled by `time2`).
const LATE: Duration = Duration::from_millis(50);

/// The bound on the good clock's offset. The sentence names the second
/// that began `LATE` before it was written, and `fudge time2 0.050` adds
/// that back, so what remains is how late the test's writer woke up and
/// how long the octets took through the pty to the daemon's reader thread,
/// which stamps them: each well under a few milliseconds even on the
/// loaded two-core build machine, and `ntpq -p` shows the clock filter's
/// pick of eight samples. 15 ms is far below what a wrong second (1000
/// ms) or an ignored `time2` (50 ms) would show.
const OFFSET_BOUND_MS: f64 = 15.0;

fn ntpq(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec!["timeout", "10", ntpq_binary()];
    argv.extend_from_slice(args);
    String::from_utf8_lossy(&ns.output(&argv).stdout).into_owned()
}

/// A pty pair whose slave is raw (no echo, no line editing), so the
/// octets written to the master reach the slave's reader as they are.
struct Pty {
    master: std::fs::File,
    _slave: OwnedFd,
    slave_path: PathBuf,
}

impl Pty {
    fn open() -> Pty {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let mut t = termios::tcgetattr(&pty.slave).expect("tcgetattr of the slave");
        termios::cfmakeraw(&mut t);
        termios::tcsetattr(&pty.slave, termios::SetArg::TCSANOW, &t).expect("tcsetattr");
        let slave_path = std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd()))
            .expect("the slave's name");
        Pty {
            master: std::fs::File::from(pty.master),
            _slave: pty.slave,
            slave_path,
        }
    }
}

/// `sentence` with its checksum changed (every other octet still right).
fn broken(sentence: &str) -> String {
    let star = sentence.rfind('*').expect("a checksum");
    let cs = u8::from_str_radix(&sentence[star + 1..star + 3], 16).unwrap();
    format!("{}*{:02X}\r\n", &sentence[..star], cs ^ 0x5a)
}

/// Writes, 50 ms into every second, a `$GPRMC` naming that second into
/// each pty master: a good one, or one with a broken checksum where the
/// flag says so, until dropped.
struct Writer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(mut masters: Vec<(std::fs::File, bool)>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                let next = Duration::from_secs(now.as_secs() + 1);
                std::thread::sleep(next + LATE - now);
                let s = rmc(next.as_secs() as i64);
                for (m, bad) in &mut masters {
                    let line = if *bad { broken(&s) } else { s.clone() };
                    m.write_all(line.as_bytes()).expect("write to a pty master");
                }
            }
        });
        Writer {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn row(ns: &Netns, name: &str) -> Option<PeerRow> {
    let out = ntpq(ns, &["-p", "127.0.0.1"]);
    out.contains("====")
        .then(|| peer_rows(&out))
        .and_then(|rows| rows.into_iter().find(|r| r.remote == name))
}

/// Our daemon in `ns` with `conf`, its serial devices in `devdir`.
fn start(ns: &Netns, conf: &Path, devdir: &Path, log: &Path) -> Daemon {
    let mut argv: Vec<&str> = WITHOUT_SYS_TIME.to_vec();
    let conf = conf.display().to_string();
    argv.extend([NTPD, "-n", "-c", &conf, "-I", "127.0.0.1"]);
    let child = ns
        .command(&argv)
        .env("NTPD_REFCLOCK_DEVDIR", devdir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    Daemon {
        child: Some(child),
        log: log.to_path_buf(),
    }
}

/// Modified Julian day and second of the day of the system clock.
fn mjd_now() -> (i64, f64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let secs = now.as_secs() as i64;
    (
        secs.div_euclid(86_400) + 40_587,
        secs.rem_euclid(86_400) as f64 + f64::from(now.subsec_millis()) / 1e3,
    )
}

#[test]
fn nmea_over_a_pty_is_selected_and_broken_checksums_are_refused() {
    require!(Need::Root, Need::IpNetns);
    let (good, bad) = (Pty::open(), Pty::open());
    let scratch = Scratch::new("rcnmea");
    let devdir = scratch.path("dev");
    std::fs::create_dir_all(&devdir).unwrap();
    std::os::unix::fs::symlink(&good.slave_path, devdir.join("gps9")).unwrap();
    std::os::unix::fs::symlink(&bad.slave_path, devdir.join("gps8")).unwrap();
    let stats = scratch.path("stats");
    std::fs::create_dir_all(&stats).unwrap();
    let conf = scratch.file(
        "ntp.conf",
        &format!(
            "disable ntp\n\
             statsdir {}/\n\
             statistics clockstats\n\
             filegen clockstats file clockstats type none enable\n\
             server 127.127.20.9 minpoll 3 mode 17\n\
             fudge 127.127.20.9 time2 0.050\n\
             server 127.127.20.8 minpoll 3 mode 1\n",
            stats.display()
        ),
    );
    let _writer = Writer::start(vec![
        (good.master.try_clone().unwrap(), false),
        (bad.master.try_clone().unwrap(), true),
    ]);
    let ns = Netns::new("rcnmea");
    let mut d = start(&ns, &conf, &devdir, &scratch.path("ntpd.log"));

    let t0 = Instant::now();
    let selected = loop {
        match row(&ns, "GPS_NMEA(9)") {
            Some(r) if r.tally == '*' && r.reach >= 0o17 => break r,
            r => assert!(
                t0.elapsed() < Duration::from_secs(120),
                "GPS_NMEA(9) not selected: {r:?}\n{}",
                d.log_text()
            ),
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(selected.refid, ".GPS.");
    assert_eq!((selected.st, selected.t.as_str()), (0, "l"));
    assert!(
        selected.offset.abs() < OFFSET_BOUND_MS,
        "offset {} ms, expected within {OFFSET_BOUND_MS} ms of 0",
        selected.offset
    );
    let sys = rv_vars(&ntpq(&ns, &["-c", "rv 0", "127.0.0.1"]));
    assert_eq!(var(&sys, "stratum"), "1");
    assert_eq!(var(&sys, "refid"), "GPS");

    let refused = row(&ns, "GPS_NMEA(8)").expect("a GPS_NMEA(8) row");
    assert_eq!(refused.reach, 0, "no broken sentence reaches the filter");
    assert_ne!(refused.tally, '*');

    // Clock variables: the first association is GPS_NMEA(9), the second
    // GPS_NMEA(8), in configuration order.
    let cv_good = rv_vars(&ntpq(&ns, &["-c", "cv &1", "127.0.0.1"]));
    assert_eq!(var(&cv_good, "device"), "\"NMEA GPS Clock\"");
    assert!(
        var(&cv_good, "timecode").starts_with("\"$GPRMC,"),
        "{cv_good:?}"
    );
    assert_eq!(var(&cv_good, "badformat"), "0");
    assert_eq!(var(&cv_good, "fudgetime2"), "50.000");
    assert!(var(&cv_good, "poll").parse::<u64>().unwrap() >= 4);
    let cv_bad = rv_vars(&ntpq(&ns, &["-c", "cv &2", "127.0.0.1"]));
    let badformat: u64 = var(&cv_bad, "badformat").parse().unwrap();
    let elapsed = t0.elapsed().as_secs();
    assert!(
        badformat + 3 >= elapsed && badformat <= elapsed + 3,
        "one bad format a second for about {elapsed} s: {cv_bad:?}"
    );
    assert_eq!(var(&cv_bad, "timecode"), "\"\"");
    assert!(var(&cv_bad, "noreply").parse::<u64>().unwrap() >= 4);

    // clockstats: the good clock's timecodes, stamped when written.
    let text = std::fs::read_to_string(stats.join("clockstats")).expect("the clockstats file");
    let (today, now_sod) = mjd_now();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 3, "a line a poll: {text}");
    for line in &lines {
        let f: Vec<&str> = line.splitn(4, ' ').collect();
        assert_eq!(f.len(), 4, "MJD SECONDS ADDRESS TIMECODE: {line}");
        let (mjd, sod): (i64, f64) = (f[0].parse().unwrap(), f[1].parse().unwrap());
        assert!(
            (mjd == today && sod <= now_sod + 1.0) || mjd + 1 == today,
            "{line}"
        );
        assert!(f[1].split_once('.').is_some_and(|(_, ms)| ms.len() == 3));
        assert_eq!(f[2], "127.127.20.9", "only the good clock: {line}");
        assert!(
            f[3].starts_with("$GPRMC,") && f[3].contains(",A,"),
            "{line}"
        );
        // The timecode names the second before the line was written
        // (or one a few seconds before, the latest at the poll).
        let hhmmss = &f[3][7..13];
        let named = hhmmss[0..2].parse::<f64>().unwrap() * 3600.0
            + hhmmss[2..4].parse::<f64>().unwrap() * 60.0
            + hhmmss[4..6].parse::<f64>().unwrap();
        let lag = (sod - named).rem_euclid(86_400.0);
        assert!(lag < 3.0, "timecode {hhmmss} written at {sod}: {line}");
    }
    d.stop();
}

/// `/dev/gps9` as a link to a pty slave for the reference's driver, which
/// knows no other device directory; removed when dropped, whatever the
/// test's outcome. An existing `/dev/gps9` is never replaced.
struct DevLink(PathBuf);

impl DevLink {
    fn new(target: &Path) -> DevLink {
        let link = PathBuf::from("/dev/gps9");
        assert!(
            std::fs::symlink_metadata(&link).is_err(),
            "/dev/gps9 exists; this test will not replace it"
        );
        std::os::unix::fs::symlink(target, &link).expect("symlink /dev/gps9");
        DevLink(link)
    }
}

impl Drop for DevLink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Our NMEA clock against the reference ntpd 4.2.8p15's, same
/// configuration and the same sentences at the same moments (each daemon
/// reads a pty of its own; the reference through `/dev/gps9`): once both
/// have selected `GPS_NMEA(9)`, the `ntpq -p` rows agree but for `when`,
/// `reach`, `offset` and `jitter` (the offsets within 5 ms of each other:
/// the same sentences, read by two processes on a loaded machine), and so
/// do the peer variables that describe the clock and the clock variables
/// (`cv`) but for `poll` and `noreply` (timing) and `timecode` (the
/// second it names).
#[test]
fn nmea_rows_match_the_reference() {
    require!(Need::Root, Need::IpNetns, Need::ReferenceNtpd);
    let r = reference_ntpd().expect("checked by require!");
    let (ours_pty, ref_pty) = (Pty::open(), Pty::open());
    let scratch = Scratch::new("rcnmearef");
    let devdir = scratch.path("dev");
    std::fs::create_dir_all(&devdir).unwrap();
    std::os::unix::fs::symlink(&ours_pty.slave_path, devdir.join("gps9")).unwrap();
    let _link = DevLink::new(&ref_pty.slave_path);
    let conf = scratch.file(
        "ntp.conf",
        "disable ntp\nserver 127.127.20.9 minpoll 3 mode 17\nfudge 127.127.20.9 time2 0.050\n",
    );
    let _writer = Writer::start(vec![
        (ours_pty.master.try_clone().unwrap(), false),
        (ref_pty.master.try_clone().unwrap(), false),
    ]);
    let ours_ns = Netns::new("rcnmeaours");
    let mut ours = start(&ours_ns, &conf, &devdir, &scratch.path("ours.log"));
    let ref_ns = Netns::new("rcnmearef");
    let lib = format!("LD_LIBRARY_PATH={}", r.libdir.display());
    let mut argv: Vec<&str> = WITHOUT_SYS_TIME.to_vec();
    let (ntpd, conf_s) = (r.ntpd.display().to_string(), conf.display().to_string());
    argv.extend(["env", &lib, &ntpd, "-n", "-x", "-c", &conf_s]);
    let mut reference = Daemon {
        child: Some(
            ref_ns
                .command(&argv)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(scratch.path("ref.log")).unwrap())
                .spawn()
                .unwrap(),
        ),
        log: scratch.path("ref.log"),
    };
    let ref_ntpq = r.ntpq.display().to_string();
    let ref_cmd = ["env", lib.as_str(), ref_ntpq.as_str()];
    let run = |ns: &Netns, ntpq: &[&str], args: &[&str]| {
        let mut argv = vec!["timeout", "10"];
        argv.extend_from_slice(ntpq);
        argv.extend_from_slice(args);
        String::from_utf8_lossy(&ns.output(&argv).stdout).into_owned()
    };
    let selected = |ns: &Netns, ntpq: &[&str]| {
        let out = run(ns, ntpq, &["-p", "127.0.0.1"]);
        peer_rows(&out)
            .into_iter()
            .find(|r| r.tally == '*' && r.reach >= 0o17)
    };
    let ours_ntpq = [ntpq_binary()];
    let t0 = Instant::now();
    let (mut a, mut b) = (None, None);
    while a.is_none() || b.is_none() {
        if a.is_none() {
            a = selected(&ours_ns, &ours_ntpq);
        }
        if b.is_none() {
            b = selected(&ref_ns, &ref_cmd);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "not both selected GPS_NMEA(9): ours {a:?}, reference {b:?}\n{}\n{}",
            ours.log_text(),
            reference.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let (a, b) = (a.unwrap(), b.unwrap());
    let fields = |r: &PeerRow| {
        (
            r.tally,
            r.remote.clone(),
            r.refid.clone(),
            r.st,
            r.t.clone(),
            r.poll,
            r.delay,
        )
    };
    assert_eq!(fields(&a), fields(&b));
    assert!(
        (a.offset - b.offset).abs() < 5.0,
        "offsets: ours {} ms, reference {} ms",
        a.offset,
        b.offset
    );
    let peer = |ns: &Netns, ntpq: &[&str]| rv_vars(&run(ns, ntpq, &["-c", "rv &1", "127.0.0.1"]));
    let (op, rp) = (peer(&ours_ns, &ours_ntpq), peer(&ref_ns, &ref_cmd));
    for name in [
        "srcadr",
        "stratum",
        "precision",
        "refid",
        "rootdelay",
        "rootdisp",
        "hmode",
        "pmode",
        "hpoll",
        "ppoll",
        "leap",
    ] {
        assert_eq!(var(&op, name), var(&rp, name), "rv &1 {name}");
    }
    let cv = |ns: &Netns, ntpq: &[&str]| rv_vars(&run(ns, ntpq, &["-c", "cv", "127.0.0.1"]));
    let (oc, rc) = (cv(&ours_ns, &ours_ntpq), cv(&ref_ns, &ref_cmd));
    let names = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&oc), names(&rc), "cv: ours {oc:?}, reference {rc:?}");
    for ((name, x), (_, y)) in oc.iter().zip(&rc) {
        match name.as_str() {
            "poll" | "noreply" | "associd" | "status" => {}
            "timecode" => {
                assert!(x.starts_with("\"$GPRMC,") && y.starts_with("\"$GPRMC,"));
                assert_eq!(x.len(), y.len(), "timecode: ours {x}, reference {y}");
            }
            _ => assert_eq!(x, y, "cv {name}"),
        }
    }
    reference.stop();
    ours.stop();
}
