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
//! `ip netns` (see `prerequisite`).

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
use prerequisite::{require, Need};
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

/// Writes, 50 ms into every second, a `$GPRMC` naming that second: good
/// ones to `good`, broken ones to `bad`, until dropped.
struct Writer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(mut good: std::fs::File, mut bad: std::fs::File) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                let next = Duration::from_secs(now.as_secs() + 1);
                std::thread::sleep(next + LATE - now);
                let s = rmc(next.as_secs() as i64);
                good.write_all(s.as_bytes()).expect("write to the good pty");
                bad.write_all(broken(&s).as_bytes())
                    .expect("write to the bad pty");
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
    let _writer = Writer::start(
        good.master.try_clone().unwrap(),
        bad.master.try_clone().unwrap(),
    );
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
