//! Smoke test: the echo floor and `ntp-loadgen` on 127.0.0.1 with an
//! ephemeral port (no root, no namespace), at a low rate. Generous late
//! and drain limits: nothing here depends on how fast this machine is.

use ntp_bench::report::LoadReport;
use ntp_bench::wire;
use proto::{Header, Mode};
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const FLOOR: &str = env!("CARGO_BIN_EXE_ntp-echo-floor");
const LOADGEN: &str = env!("CARGO_BIN_EXE_ntp-loadgen");

/// The floor server, killed (by PID) when dropped.
struct Floor(Child);

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the floor on an ephemeral loopback port; `None` (test skipped)
/// if it cannot bind.
fn start_floor() -> Option<(Floor, String)> {
    let mut child = Command::new(FLOOR)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ntp-echo-floor");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    let floor = Floor(child);
    match line.trim().strip_prefix("listening ") {
        Some(addr) => Some((floor, addr.to_string())),
        None => {
            eprintln!("skipped: ntp-echo-floor did not start ({line:?})");
            None
        }
    }
}

#[test]
fn floor_reply_is_mode_4_with_our_transmit_as_origin() {
    let Some((_floor, addr)) = start_floor() else {
        return;
    };
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let stamp = 0xdead_beef_0000_002a;
    sock.send_to(&wire::request(stamp), &addr).unwrap();
    let mut buf = [0u8; 100];
    let (n, from) = sock.recv_from(&mut buf).expect("a reply");
    assert_eq!(from.to_string(), addr);
    assert_eq!(n, 48, "fixed 48-octet reply");
    let h = Header::parse(&buf[..n]).unwrap();
    assert_eq!(h.mode, Mode::from_bits(4));
    assert_eq!(h.version, 4);
    assert_eq!(h.origin_timestamp.to_bits(), stamp);
    assert_eq!((h.leap.to_bits(), h.stratum), (0, 2));
}

#[test]
fn loadgen_against_the_floor_gets_every_reply() {
    let Some((_floor, addr)) = start_floor() else {
        return;
    };
    let floor_pid = _floor.0.id().to_string();
    let out = Command::new(LOADGEN)
        .args(["--server", &addr, "--rate", "2000", "--duration", "1"])
        // 4 source addresses (127.0.0.2-5) × 2 ports; loopback only.
        .args(["--addrs", "4", "--ports", "2", "--server-pid", &floor_pid])
        .args(["--late-ms", "10000", "--drain-ms", "1000"])
        .output()
        .expect("run ntp-loadgen");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("bind 127.0.0.") {
        eprintln!("skipped: cannot bind extra loopback addresses: {stderr}");
        return;
    }
    assert!(out.status.success(), "{stdout}{stderr}");
    let r = LoadReport::parse_line(stdout.trim()).expect("one result line");
    assert_eq!(r.offered, 2000);
    assert_eq!(r.sent, 2000, "{r}");
    // Every reply matched one of our requests (mode 4, origin = our
    // transmit timestamp, not a duplicate) and came from the floor.
    assert_eq!((r.malformed, r.kod, r.nak, r.unsync), (0, 0, 0, 0), "{r}");
    assert!(r.answered_pct() >= 99.0, "{r}");
    assert_eq!((r.last_leap, r.last_stratum), (0, 2), "{r}");
    assert!(
        r.server_cpu_pct.is_some(),
        "the floor's CPU was sampled: {r}"
    );
}

#[test]
fn loadgen_refuses_non_loopback_targets() {
    let out = Command::new(LOADGEN)
        .args(["--server", "192.0.2.1:123", "--duration", "0.1"])
        .output()
        .expect("run ntp-loadgen");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
