//! The SHM reference clock (type 28) end to end: the test attaches the
//! System V segment of unit 0 (key 0x4E545030, as gpsd does) and writes a
//! mode 0 sample every half second, the current time plus 1 ms as the
//! reference's time; our daemon, with `server 127.127.28.0 mode 0` and
//! `fudge 127.127.28.0 time1 0.002`, selects `SHM(0)` (refid `.SHM.`,
//! stratum 0) at an offset of +3 ms and serves stratum 1 with refid
//! `SHM`. A second test writes stale samples (receive time 10 s old),
//! which the driver refuses: the clock never becomes reachable. The daemon
//! runs in a network namespace the test creates, with `disable ntp` and
//! without CAP_SYS_TIME. Needs root and `ip netns` (see `prerequisite`).
//! System V segments are not per network namespace, so the two tests use
//! units 0 and 3 and never run against each other's segment.

mod interop_support;
mod prerequisite;
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use interop_support::{ntpq_binary, peer_rows, rv_vars, var, PeerRow};
use ntp_sys::shm::SharedSegment;
use prerequisite::{require, Need, PYTHON3};
use refclock::shm::{key_and_perm, SegmentView, SIZE};
use refclock::WallTime;
use support::*;

fn ntpq(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec!["timeout", "10", ntpq_binary()];
    argv.extend_from_slice(args);
    String::from_utf8_lossy(&ns.output(&argv).stdout).into_owned()
}

fn wall(shift: Duration, back: bool) -> WallTime {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let t = if back { now - shift } else { now + shift };
    WallTime {
        seconds: t.as_secs() as i64,
        nanos: t.subsec_nanos(),
    }
}

/// Writes a sample into unit `unit` every 500 ms until dropped: the
/// reference's time `ahead` of the receive time, which is `age` old.
struct Writer {
    key: u32,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(unit: u8, ahead: Duration, age: Duration) -> Writer {
        let (key, perm) = key_and_perm(unit);
        let mut seg = SharedSegment::attach(key as i32, SIZE, perm).expect("shmget/shmat");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut count = 0;
            while !flag.load(Ordering::Relaxed) {
                let receive = wall(age, true);
                let r = std::time::Duration::new(receive.seconds as u64, receive.nanos) + ahead;
                let v = SegmentView {
                    mode: 0,
                    count,
                    clock: WallTime {
                        seconds: r.as_secs() as i64,
                        nanos: r.subsec_nanos(),
                    },
                    receive,
                    leap: 0,
                    precision: -20,
                    valid: true,
                };
                let mut b = [0u8; SIZE];
                v.write(&mut b);
                seg.write(0, &b);
                count += 1;
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        Writer {
            key,
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
        // Removed once the last process detaches (the daemon is stopped
        // after this).
        let _ = std::process::Command::new("ipcrm")
            .args(["-M", &format!("0x{:08x}", self.key)])
            .status();
    }
}

fn shm_row(ns: &Netns) -> Option<PeerRow> {
    let out = ntpq(ns, &["-p", "127.0.0.1"]);
    out.contains("====")
        .then(|| peer_rows(&out))
        .and_then(|rows| rows.into_iter().find(|r| r.remote.starts_with("SHM(")))
}

fn start(tag: &str, unit: u8) -> (Netns, Scratch, Daemon) {
    start_loopback(
        tag,
        &format!(
            "disable ntp\nserver 127.127.28.{unit} minpoll 3 mode 0\nfudge 127.127.28.{unit} time1 0.002\n"
        ),
    )
}

#[test]
fn shm_unit_0_is_selected_at_the_written_offset() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    let _writer = Writer::start(0, Duration::from_millis(1), Duration::ZERO);
    let (ns, _scratch, d) = start("rcshm", 0);
    let t0 = Instant::now();
    let row = loop {
        match shm_row(&ns) {
            Some(r) if r.tally == '*' => break r,
            r => assert!(
                t0.elapsed() < Duration::from_secs(90),
                "SHM(0) not selected: {r:?}\n{}",
                d.log_text()
            ),
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(row.remote, "SHM(0)");
    assert_eq!(row.refid, ".SHM.");
    assert_eq!((row.st, row.t.as_str()), (0, "l"));
    assert!(
        (row.offset - 3.0).abs() < 0.5,
        "offset {} ms, expected +3 ms",
        row.offset
    );
    let sys = rv_vars(&ntpq(&ns, &["-c", "rv 0", "127.0.0.1"]));
    assert_eq!(var(&sys, "stratum"), "1");
    assert_eq!(var(&sys, "refid"), "SHM");
    let (stratum, refid) = ns.query("127.0.0.1").expect("a reply");
    assert_eq!((stratum, &refid), (1, b"SHM\0"));
}

#[test]
fn stale_samples_are_refused() {
    require!(Need::Root, Need::IpNetns, PYTHON3);
    let _writer = Writer::start(3, Duration::ZERO, Duration::from_secs(10));
    let (ns, _scratch, d) = start("rcshmstale", 3);
    std::thread::sleep(Duration::from_secs(20));
    let row = shm_row(&ns).unwrap_or_else(|| panic!("no SHM(3) row\n{}", d.log_text()));
    assert_eq!(row.remote, "SHM(3)");
    assert_eq!(
        row.reach, 0,
        "a stale sample never reaches the filter: {row:?}"
    );
    assert_ne!(row.tally, '*');
}
