//! The PPS reference clock (type 22) in the daemon, on a machine without
//! a PPS device: `server 127.127.22.u` is accepted, the daemon opens
//! `ppsu` in its device directory (`NTPD_REFCLOCK_DEVDIR`, the test
//! override of `/dev`, here a scratch directory) at start-up and, when it
//! cannot, logs why and leaves the clock out while the rest runs: unit 0
//! has no device, unit 1 is a plain file, so the RFC 2783 `PPS_GETCAP`
//! ioctl reaches the kernel and fails (ENOTTY). The driver's logic is
//! tested on simulated pulses in `refclock::pps`; the kernel's pulses
//! only by hand where a PPS device exists (`ntp_sys::pps`,
//! `pps_ktimer_pulses_once_a_second`). Needs root and `ip netns`.

mod interop_support;
mod prerequisite;
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use interop_support::{ntpq_binary, peer_rows};
use prerequisite::{require, Need};
use support::*;

#[test]
fn a_pps_clock_without_its_device_is_left_out_with_the_reason() {
    require!(Need::Root, Need::IpNetns);
    let scratch = Scratch::new("rcpps");
    let devdir = scratch.path("dev");
    std::fs::create_dir_all(&devdir).unwrap();
    std::fs::write(devdir.join("pps1"), b"").unwrap();
    let conf = scratch.file(
        "ntp.conf",
        "disable ntp\nserver 127.127.22.0 minpoll 3\nserver 127.127.22.1 minpoll 3\n\
         fudge 127.127.22.1 flag2 1\nserver 127.127.1.0 minpoll 3\n",
    );
    let ns = Netns::new("rcpps");
    let log = scratch.path("ntpd.log");
    let mut argv: Vec<&str> = WITHOUT_SYS_TIME.to_vec();
    let conf_s = conf.display().to_string();
    argv.extend([NTPD, "-n", "-c", &conf_s, "-I", "127.0.0.1"]);
    let mut d = Daemon {
        child: Some(
            ns.command(&argv)
                .env("NTPD_REFCLOCK_DEVDIR", &devdir)
                .env_remove("RUST_LOG")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap(),
        ),
        log: log.clone(),
    };
    let t0 = Instant::now();
    let rows = loop {
        let out = ns.output(&["timeout", "10", ntpq_binary(), "-p", "127.0.0.1"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("====") {
            break peer_rows(&text);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no ntpq -p answer\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let names: Vec<&str> = rows.iter().map(|r| r.remote.as_str()).collect();
    assert_eq!(names, ["LOCAL(0)"], "only the LOCAL clock runs");
    let text = d.log_text();
    let dev = devdir.display();
    assert!(
        text.contains(&format!(
            "reference clock PPS(0): PPS device {dev}/pps0: cannot open: No such file or directory"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "reference clock PPS(1): PPS device {dev}/pps1: PPS_GETCAP failed: Inappropriate ioctl for device"
        )),
        "{text}"
    );
    assert_eq!(text.matches("clock not started").count(), 2, "{text}");
    d.stop();
}
