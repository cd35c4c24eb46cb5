//! End-to-end: our ntpd on 127.0.0.1 with the test-only port override
//! (`NTPD_AUTOKEY_TEST_PORT`), `disable ntp`, no CAP_SYS_TIME, queried by
//! a client written in the test. No root needed.

mod prerequisite;
mod support;

use std::net::UdpSocket;
use std::time::{Duration, SystemTime};

use prerequisite::{require, Need};
use proto::{Header, KissCode, LeapIndicator, Mode, NtpTimestamp, PacketRef};
use support::*;

const WAIT: Duration = Duration::from_millis(500);

/// Our ntpd left to detach (no `-n`), on 127.0.0.1 and the test `port`,
/// with its pid and log files; as root without CAP_SYS_TIME in its
/// bounding and inheritable sets (it can never set the clock, whatever
/// its configuration says).
fn detached_ntpd(
    conf: &std::path::Path,
    pid: &std::path::Path,
    log: &std::path::Path,
    port: u16,
) -> std::process::Command {
    let mut c = if is_root() {
        let mut c = std::process::Command::new(WITHOUT_SYS_TIME[0]);
        c.args(&WITHOUT_SYS_TIME[1..]).arg(NTPD);
        c
    } else {
        std::process::Command::new(NTPD)
    };
    c.arg("-c")
        .arg(conf)
        .args(["-I", "127.0.0.1", "-p"])
        .arg(pid)
        .arg("-l")
        .arg(log)
        .env("NTPD_AUTOKEY_TEST_PORT", port.to_string());
    c
}

fn conf(extra: &str) -> String {
    format!("disable ntp\ntos orphan 5 orphanwait 1\n{extra}")
}

struct Running {
    _scratch: Scratch,
    daemon: Daemon,
    to: String,
}

fn start(name: &str, conf_text: &str, extra: &[&str]) -> Running {
    let scratch = Scratch::new(name);
    let c = scratch.file("ntp.conf", conf_text);
    let port = free_port();
    let mut args = vec!["-I", "127.0.0.1"];
    args.extend_from_slice(extra);
    let daemon = start_ntpd(None, &c, &args, Some(port), &scratch.path("log"));
    let to = format!("127.0.0.1:{port}");
    Running {
        _scratch: scratch,
        daemon,
        to,
    }
}

#[test]
fn serves_orphan_time_with_correct_header_fields() {
    let r = start("serve", &conf("restrict default nomodify\n"), &[]);
    wait_for_stratum(&r.to, 5, Duration::from_secs(10));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let xmt = 0xdead_beef_0123_4567u64;
    let t1 = NtpTimestamp::from_system_time(SystemTime::now());
    let reply = exchange(&sock, &request(4, xmt), &r.to, WAIT).expect("reply");
    let t4 = NtpTimestamp::from_system_time(SystemTime::now());
    assert_eq!(reply.len(), 48);
    let h = Header::parse(&reply).unwrap();
    assert_eq!(h.mode, Mode::Server);
    assert_eq!(h.version, 4);
    assert_eq!(h.leap, LeapIndicator::NoWarning);
    assert_eq!(h.stratum, 5);
    assert_eq!(h.reference_id.to_bytes(), [127, 0, 0, 1], "orphan refid");
    assert_eq!(h.origin_timestamp.to_bits(), xmt);
    // Receive and transmit are real clock readings inside [t1, t4].
    let rx = h.receive_timestamp;
    let tx = h.transmit_timestamp;
    assert!((rx - t1).to_seconds_f64() >= -1e-6 && (t4 - rx).to_seconds_f64() >= -1e-6);
    assert!((tx - rx).to_seconds_f64() >= 0.0 && (t4 - tx).to_seconds_f64() >= -1e-6);
    assert!(h.root_dispersion.to_seconds_f64() > 0.0 && h.root_dispersion.to_seconds_f64() < 0.01);
    assert!(h.precision < -10);
    assert!(h.reference_timestamp.to_bits() != 0);
    // Version 3 is echoed.
    let v3 = exchange(&sock, &request(3, 1), &r.to, WAIT).expect("v3 reply");
    assert_eq!(Header::parse(&v3).unwrap().version, 3);
}

#[test]
fn mode7_is_dropped_and_replies_are_never_larger_than_requests() {
    let r = start("sizes", &conf(""), &[]);
    wait_for_stratum(&r.to, 5, Duration::from_secs(10));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut m7 = vec![0u8; 48];
    m7[0] = 0x17; // version 2, mode 7
    m7[3] = 42; // REQ_MON_GETLIST_1
    assert_eq!(exchange(&sock, &m7, &r.to, WAIT), None, "mode 7 dropped");
    // A request with a 28-octet extension field and no MAC: the reply is
    // 48 octets.
    let mut ef = request(4, 7);
    ef.extend_from_slice(&[0x00, 0x02, 0x00, 0x1c]);
    ef.extend_from_slice(&[0u8; 24]);
    let reply = exchange(&sock, &ef, &r.to, WAIT).expect("reply");
    assert_eq!(reply.len(), 48);
    // Runts and garbage: no answer.
    assert_eq!(exchange(&sock, &[0x23; 47], &r.to, WAIT), None);
    assert_eq!(exchange(&sock, &[0xe3; 60], &r.to, WAIT), None);
}

#[test]
fn rate_limiting_sends_one_rate_kod_then_drops() {
    let r = start(
        "ratelimit",
        &conf("restrict default kod limited nomodify\ndiscard minimum 2 average 3\n"),
        &[],
    );
    // Polling for readiness would itself be rate limited (the MRU list
    // keys on the address, not the port): wait out `orphanwait` instead.
    std::thread::sleep(Duration::from_millis(2500));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut normal = 0;
    let mut kods = 0;
    let mut silent = 0;
    for k in 0..10u64 {
        match exchange(
            &sock,
            &request(4, 100 + k),
            &r.to,
            Duration::from_millis(200),
        ) {
            Some(p) => {
                let h = Header::parse(&p).unwrap();
                match h.kiss_code() {
                    Some(KissCode::Rate) => {
                        kods += 1;
                        assert_eq!(h.leap, LeapIndicator::Unsynchronized);
                        assert_eq!(h.origin_timestamp.to_bits(), 100 + k);
                        assert_eq!(h.transmit_timestamp.to_bits(), 100 + k);
                    }
                    None => {
                        assert_eq!(h.stratum, 5);
                        normal += 1;
                    }
                    Some(other) => panic!("unexpected kiss code {other:?}"),
                }
            }
            None => silent += 1,
        }
    }
    assert_eq!((normal, kods, silent), (1, 1, 8));
}

#[test]
fn noserve_with_kod_gets_deny_and_ignore_gets_nothing() {
    let r = start("deny", &conf("restrict 127.0.0.1 noserve kod\n"), &[]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut reply = None;
    for _ in 0..20 {
        reply = exchange(&sock, &request(4, 9), &r.to, WAIT);
        if reply.is_some() {
            break;
        }
    }
    let h = Header::parse(&reply.expect("a KoD")).unwrap();
    assert_eq!(h.kiss_code(), Some(KissCode::Deny));
    // The next one within the headway gets nothing.
    assert_eq!(exchange(&sock, &request(4, 10), &r.to, WAIT), None);
    drop(r);

    let r = start("ignore", &conf("restrict 127.0.0.1 ignore\n"), &[]);
    std::thread::sleep(Duration::from_millis(500));
    for k in 0..3 {
        assert_eq!(exchange(&sock, &request(4, k), &r.to, WAIT), None);
    }
}

#[test]
fn notrust_requires_a_mac_and_wrong_keys_get_a_crypto_nak() {
    let scratch_keys = Scratch::new("keysfile");
    let keys = scratch_keys.file(
        "ntp.keys",
        "1 MD5 md5secret\n2 SHA1 0123456789abcdef0123456789abcdef01234567\n",
    );
    let r = start(
        "notrust",
        &conf(&format!(
            "keys {}\ntrustedkey 1 2\nrestrict 127.0.0.1 notrust\n",
            keys.display()
        )),
        &[],
    );
    let file = config::keys::load(&keys).unwrap();
    let mut ring = ntpd::auth::KeyRing::from_file(&file);
    ring.trust(1);
    ring.trust(2);
    let lo = std::net::IpAddr::from([127, 0, 0, 1]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // No MAC: refused silently.
    assert_eq!(exchange(&sock, &request(4, 1), &r.to, WAIT), None);
    for (id, len) in [(1u32, 68usize), (2, 72)] {
        let mut buf = [0u8; 72];
        buf[..48].copy_from_slice(&request(4, 5));
        let n = ring.sign(id, &mut buf, 48, lo).unwrap();
        assert_eq!(n, len);
        let reply = exchange(&sock, &buf[..n], &r.to, WAIT).expect("authenticated reply");
        assert_eq!(reply.len(), n);
        let p = PacketRef::parse(&reply).unwrap();
        assert_eq!(p.mac().unwrap().key_id(), id);
        assert_eq!(
            ring.check(p.authenticated_bytes(), p.mac(), lo),
            ntpd::auth::AuthOutcome::Ok(id)
        );
        assert_eq!(p.header().stratum, 5);
        // Flip a bit of the digest: a crypto-NAK comes back.
        buf[n - 1] ^= 1;
        let nak = exchange(&sock, &buf[..n], &r.to, WAIT).expect("crypto-NAK");
        assert_eq!(nak.len(), 52);
        assert!(PacketRef::parse(&nak)
            .unwrap()
            .mac()
            .unwrap()
            .is_crypto_nak());
    }
}

#[test]
fn sigterm_stops_cleanly_and_removes_the_pid_file() {
    let scratch = Scratch::new("pidfile");
    let pid = scratch.path("ntpd.pid");
    let pid_s = pid.display().to_string();
    let mut r = start("pid", &conf(""), &["-p", &pid_s]);
    wait_for_stratum(&r.to, 5, Duration::from_secs(10));
    let text = std::fs::read_to_string(&pid).unwrap();
    let written: i32 = text.trim().parse().unwrap();
    // Under setpriv the pid is the same process (setpriv execs).
    assert_eq!(written, r.daemon.pid());
    assert_eq!(r.daemon.stop(), Some(0));
    assert!(!pid.exists());
    assert!(r.daemon.log_text().is_empty() || !r.daemon.log_text().contains("panicked"));
}

#[test]
fn detaches_writes_pid_and_log_files_and_stops_on_sigterm() {
    let scratch = Scratch::new("detach");
    let port = free_port();
    let conf = scratch.file("ntp.conf", &conf(""));
    let pid = scratch.path("ntpd.pid");
    let log = scratch.path("ntpd.log");
    let mut cmd = detached_ntpd(&conf, &pid, &log, port);
    // The parent returns at once with status 0; the daemon lives on.
    let st = cmd.status().unwrap();
    assert!(st.success());
    let to = format!("127.0.0.1:{port}");
    wait_for_stratum(&to, 5, Duration::from_secs(10));
    let daemon_pid: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let first = text
        .lines()
        .find(|l| l.contains("Listen normally on lo 127.0.0.1"))
        .expect(&text);
    // `DD Mon HH:MM:SS ntpd[PID]: message`
    let parts: Vec<&str> = first.splitn(5, ' ').collect();
    assert_eq!(parts[1].len(), 3, "{first}");
    assert_eq!(parts[2].len(), 8, "{first}");
    assert_eq!(parts[3], format!("ntpd[{daemon_pid}]:"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon_pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    while pid.exists() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!pid.exists(), "pid file removed at exit");
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("ntpd exiting on SIGTERM"));
}

#[test]
fn user_option_drops_root_after_binding() {
    require!(Need::Root);
    let r = start("user", &conf(""), &["-u", "nobody:nogroup"]);
    wait_for_stratum(&r.to, 5, Duration::from_secs(10));
    let status = std::fs::read_to_string(format!("/proc/{}/status", r.daemon.pid())).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let gid_line = status.lines().find(|l| l.starts_with("Gid:")).unwrap();
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    let nogroup = nix::unistd::Group::from_name("nogroup")
        .unwrap()
        .unwrap()
        .gid
        .as_raw();
    assert!(
        uid_line
            .split_whitespace()
            .skip(1)
            .all(|u| u == nobody.to_string()),
        "{uid_line}"
    );
    assert!(
        gid_line
            .split_whitespace()
            .skip(1)
            .all(|g| g == nogroup.to_string()),
        "{gid_line}"
    );
}

/// `-u nobody` under `setpriv --bounding-set -sys_time`: the daemon runs
/// as nobody with no capability at all (CAP_SYS_TIME, the one it keeps,
/// is not in the bounding set; CAP_NET_BIND_SERVICE is not kept since
/// every socket is bound before the drop), and CAP_SYS_TIME's absence is
/// logged. With CAP_SYS_TIME available see tests/service.rs.
#[test]
fn user_option_keeps_only_the_capabilities_it_needs() {
    require!(Need::Root);
    let r = start("usercaps", &conf(""), &["-x", "-u", "nobody"]);
    wait_for_stratum(&r.to, 5, Duration::from_secs(10));
    let status = std::fs::read_to_string(format!("/proc/{}/status", r.daemon.pid())).unwrap();
    let field = |name: &str| -> String {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {status}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let caps = |name: &str| u64::from_str_radix(&field(name), 16).unwrap();
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .unwrap()
        .uid
        .as_raw()
        .to_string();
    assert_eq!(field("Uid:"), [nobody.as_str(); 4].join(" "));
    assert_eq!(caps("CapEff:"), 0, "{status}");
    assert_eq!(caps("CapPrm:"), 0, "{status}");
    assert_eq!(caps("CapInh:"), 0, "{status}");
    assert_eq!(caps("CapAmb:"), 0, "{status}");
    assert_eq!(
        caps("CapBnd:") & (1 << 25),
        0,
        "test runs without CAP_SYS_TIME"
    );
    let log = r.daemon.log_text();
    assert!(
        log.contains("CAP_SYS_TIME is not in the bounding or permitted set"),
        "{log}"
    );
}

/// One mode 6 request (version 2, `opcode`, association `assoc`, data
/// `names`) and the data of the first datagram of its answer.
fn mode6(to: &str, opcode: u8, assoc: u16, names: &str) -> Vec<u8> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let a = assoc.to_be_bytes();
    let n = (names.len() as u16).to_be_bytes();
    let mut req = vec![0x16, opcode, 0, 1, 0, 0, a[0], a[1], 0, 0, n[0], n[1]];
    req.extend_from_slice(names.as_bytes());
    while req.len() % 4 != 0 {
        req.push(0);
    }
    let d = exchange(&sock, &req, to, WAIT).expect("mode 6 answer");
    assert_eq!(d[1] & 0x1f, opcode, "answer to {opcode}");
    let count = usize::from(u16::from_be_bytes([d[10], d[11]]));
    d[12..12 + count].to_vec()
}

/// `ntpd [options] SERVER`: the operand is a `server SERVER iburst`
/// association (here to 127.0.0.2, where nobody answers).
#[test]
fn server_operands_become_associations() {
    let r = start("operands", &conf(""), &["127.0.0.2"]);
    wait_for_stratum(&r.to, 5, Duration::from_secs(10));
    let list = mode6(&r.to, 1, 0, "");
    assert_eq!(list.len(), 4, "one association: {list:?}");
    let id = u16::from_be_bytes([list[0], list[1]]);
    assert_ne!(id, 0);
    let vars = String::from_utf8(mode6(&r.to, 2, id, "")).unwrap();
    assert!(vars.contains("srcadr=127.0.0.2"), "{vars}");
    assert!(vars.contains("hmode=3"), "client mode: {vars}");
}

/// `--var` and `--dvar` variables are served by `rv`.
#[test]
fn command_line_variables_are_served() {
    let r = start(
        "vars",
        &conf(""),
        &["--var", "site=lab", "--dvar", "owner=\"ops team\""],
    );
    wait_for_stratum(&r.to, 5, Duration::from_secs(10));
    let text = String::from_utf8(mode6(&r.to, 2, 0, "site,owner")).unwrap();
    assert_eq!(text, "site=lab, owner=\"ops team\"\r\n");
}

#[test]
fn sigint_stops_cleanly_too() {
    let mut r = start("sigint", &conf(""), &[]);
    wait_for_stratum(&r.to, 5, Duration::from_secs(10));
    let mut child = r.daemon.child.take().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(st.code(), Some(0));
}

/// Send SIGTERM to the daemon named in `pid` and wait for its pid file to go.
fn stop_by_pid_file(pid: &std::path::Path) {
    let daemon_pid: i32 = std::fs::read_to_string(pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon_pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    while pid.exists() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!pid.exists(), "daemon stopped");
}

/// `-w 10` (the reference refuses it with `-n`): the parent returns 0 once
/// the daemon is synchronised (orphan after `orphanwait 1`).
#[test]
fn wait_sync_parent_returns_once_the_daemon_is_synchronised() {
    let scratch = Scratch::new("waitsync");
    let port = free_port();
    let conf = scratch.file("ntp.conf", &conf(""));
    let pid = scratch.path("ntpd.pid");
    let log = scratch.path("ntpd.log");
    let t0 = std::time::Instant::now();
    let out = detached_ntpd(&conf, &pid, &log, port)
        .args(["-w", "10"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(9), "{:?}", t0.elapsed());
    // Synchronised already: the first answer says so.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = format!("127.0.0.1:{port}");
    let reply = exchange(&sock, &request(4, 1), &to, WAIT).expect("reply");
    let h = Header::parse(&reply).unwrap();
    assert_ne!(h.leap, LeapIndicator::Unsynchronized);
    assert_eq!(h.stratum, 5);
    stop_by_pid_file(&pid);
}

/// `-w 1` with nothing to synchronise to: the parent gives up after 1 s
/// with status 76 (`EX_PROTOCOL`); the daemon lives on.
#[test]
fn wait_sync_times_out_with_status_76() {
    let scratch = Scratch::new("waitsync-timeout");
    let port = free_port();
    let conf = scratch.file("ntp.conf", "disable ntp\n");
    let pid = scratch.path("ntpd.pid");
    let log = scratch.path("ntpd.log");
    let out = detached_ntpd(&conf, &pid, &log, port)
        .args(["-w", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(76), "{err}");
    assert!(err.contains("-w/--wait-sync 1 timed out."), "{err}");
    stop_by_pid_file(&pid);
}

/// `-i DIR -u nobody`: the configuration is read outside the jail, then
/// the daemon runs chrooted in DIR as nobody.
#[test]
fn jaildir_chroots_after_reading_the_configuration() {
    require!(Need::Root);
    let jail = Scratch::new("jail-dir");
    let jail_dir = jail.path("");
    let jail_s = jail_dir.display().to_string();
    let r = start("jail", &conf(""), &["-i", &jail_s, "-u", "nobody"]);
    wait_for_stratum(&r.to, 5, Duration::from_secs(10));
    let root = std::fs::read_link(format!("/proc/{}/root", r.daemon.pid())).unwrap();
    assert_eq!(
        root.canonicalize().unwrap_or(root.clone()),
        jail_dir.canonicalize().unwrap()
    );
}

/// `-N -P 1`: the daemon runs under SCHED_FIFO at priority 1.
#[test]
fn nice_and_priority_give_real_time_scheduling() {
    require!(Need::Root);
    let r = start("nice", &conf(""), &["-N", "-P", "1"]);
    wait_for_stratum(&r.to, 5, Duration::from_secs(10));
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", r.daemon.pid())).unwrap();
    // Fields after `(comm)`: state is field 3; rt_priority 40, policy 41.
    let rest: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    assert_eq!(rest[40 - 3], "1", "rt_priority: {stat}");
    assert_eq!(rest[41 - 3], "1", "policy SCHED_FIFO: {stat}");
}
