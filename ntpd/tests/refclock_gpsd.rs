//! The real gpsd feeding our SHM driver (type 28): the test writes an
//! NMEA log (`$GPRMC` + `$GPGGA` each second, valid fix, times starting
//! at the current UTC second) and plays it with `gpsfake`, which starts a
//! gpsd with `-n` (read the device without waiting for a client) fed
//! over UDP (`-u`: gpsd never writes NTP shared memory for a pty source,
//! its "test harness" rule, but does for UDP), two sentences a second
//! (`-c 0.5`). gpsd, running as root, creates the SHM segments of units
//! 0 and 1 (mode 0600) and writes its time samples into unit 0 in mode 1
//! (the count protocol). Our daemon, with `server 127.127.28.0 minpoll 3
//! mode 1` and `fudge 127.127.28.0 time1 0.1 refid GPS`, selects
//! `SHM(0)`, refid `.GPS.`.
//!
//! gpsfake's time is coarse: a sentence's time is the log's, its arrival
//! is when gpsfake's sleeps let it go (start-up latency, and some ms of
//! lag a sentence), so gpsd's own offset (reference − receive time) is
//! neither zero nor constant. The bound is therefore relative to what gpsd
//! wrote: the test samples the segment itself while the daemon runs, and
//! the daemon's offset must lie within the range of gpsd's offsets plus
//! `time1`, widened by 10 ms (ntpq rounds; the filter keeps a sample of
//! the last 8 polls, all inside that range).
//!
//! Needs root, `ip netns`, gpsd and gpsfake (see `prerequisite`); System
//! V segments are not per network namespace, so this binary and
//! `refclock_shm` (also unit 0) must not run at once (cargo runs test
//! binaries one after another).

mod interop_support;
mod prerequisite;
mod refclock_support;
mod support;

use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use interop_support::{ntpq_binary, peer_rows, rv_vars, var, PeerRow};
use ntp_sys::shm::SharedSegment;
use prerequisite::{require, Need};
use refclock::shm::{key_and_perm, SegmentView, SIZE};
use refclock_support::{gga, rmc, unix_now};
use support::*;

const GPSD: Need = Need::Program {
    name: "gpsd",
    package: "gpsd",
};
const GPSFAKE: Need = Need::Program {
    name: "gpsfake",
    package: "gpsd-clients",
};
/// `fudge … time1`, seconds.
const TIME1: f64 = 0.1;

fn ntpq(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec!["timeout", "10", ntpq_binary()];
    argv.extend_from_slice(args);
    String::from_utf8_lossy(&ns.output(&argv).stdout).into_owned()
}

/// gpsfake and the gpsd it started, in a process group of their own,
/// stopped together on drop.
struct Gpsfake(Child);

impl Drop for Gpsfake {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(-(self.0.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGTERM);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
        // gpsd's segments (units 0..7 and its own export) are removed
        // once the daemon detaches.
        for key in (0..8).map(|u| key_and_perm(u).0).chain([0x4770_abe5]) {
            let _ = std::process::Command::new("ipcrm")
                .args(["-M", &format!("0x{key:08x}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Samples unit 0 every 100 ms: the range of gpsd's offsets (reference −
/// receive time, seconds) of samples written during the run.
struct Watch {
    range: Arc<Mutex<Option<(f64, f64)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watch {
    fn start() -> Watch {
        let (key, perm) = key_and_perm(0);
        let seg = SharedSegment::attach(key as i32, SIZE, perm).expect("shmget/shmat unit 0");
        let range = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (range.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let mut b = [0u8; SIZE];
                seg.read(&mut b);
                let v = SegmentView::parse(&b);
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                if (now.as_secs() as i64 - v.receive.seconds).abs() <= 2 {
                    let off = v.clock.since(v.receive);
                    let mut g = r.lock().unwrap();
                    *g = Some(g.map_or((off, off), |(lo, hi): (f64, f64)| {
                        (lo.min(off), hi.max(off))
                    }));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Watch {
            range,
            stop,
            thread: Some(thread),
        }
    }

    fn range(&self) -> Option<(f64, f64)> {
        *self.range.lock().unwrap()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn shm_row(ns: &Netns) -> Option<PeerRow> {
    let out = ntpq(ns, &["-p", "127.0.0.1"]);
    out.contains("====")
        .then(|| peer_rows(&out))
        .and_then(|rows| rows.into_iter().find(|r| r.remote.starts_with("SHM(")))
}

#[test]
fn gpsd_writes_shm_unit_0_and_it_is_selected() {
    require!(Need::Root, Need::IpNetns, GPSD, GPSFAKE);
    let scratch = Scratch::new("rcgpsd");
    // Two minutes of sentences from the next second on: longer than the
    // test waits, so gpsfake (`-1`: play once) never replays old times.
    let t0 = unix_now() + 1;
    let log: String = (t0..t0 + 120).map(|t| rmc(t) + &gga(t)).collect();
    let log_path = scratch.file("gps.nmea", &log);
    let ns = Netns::new("rcgpsd");
    let log_s = log_path.display().to_string();
    let gpsfake_log = std::fs::File::create(scratch.path("gpsfake.log")).unwrap();
    let _gpsfake = Gpsfake(
        ns.command(&["gpsfake", "-u", "-1", "-n", "-q", "-c", "0.5", &log_s])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(gpsfake_log)
            .spawn()
            .expect("gpsfake"),
    );
    let conf = scratch.file(
        "ntp.conf",
        &format!(
            "disable ntp\nserver 127.127.28.0 minpoll 3 mode 1\n\
             fudge 127.127.28.0 time1 {TIME1} refid GPS\n"
        ),
    );
    let d = start_ntpd(
        Some(&ns),
        &conf,
        &["-I", "127.0.0.1"],
        None,
        &scratch.path("ntpd.log"),
    );
    let watch = Watch::start();
    let started = Instant::now();
    let row = loop {
        match shm_row(&ns) {
            Some(r) if r.tally == '*' => break r,
            r => assert!(
                started.elapsed() < Duration::from_secs(100),
                "SHM(0) not selected: {r:?}\ngpsd's offsets {:?}\nntpd:\n{}\ngpsfake:\n{}",
                watch.range(),
                d.log_text(),
                std::fs::read_to_string(scratch.path("gpsfake.log")).unwrap_or_default()
            ),
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let (lo, hi) = watch.range().expect("gpsd wrote samples into unit 0");
    assert_eq!(row.remote, "SHM(0)");
    assert_eq!(row.refid, ".GPS.");
    assert_eq!((row.st, row.t.as_str()), (0, "l"));
    let (lo_ms, hi_ms) = ((lo + TIME1) * 1e3 - 10.0, (hi + TIME1) * 1e3 + 10.0);
    assert!(
        (lo_ms..=hi_ms).contains(&row.offset),
        "offset {} ms outside gpsd's offsets + time1, {lo_ms:.1}..{hi_ms:.1} ms",
        row.offset
    );
    let sys = rv_vars(&ntpq(&ns, &["-c", "rv 0", "127.0.0.1"]));
    assert_eq!(var(&sys, "stratum"), "1");
    assert_eq!(var(&sys, "refid"), "GPS");
}
