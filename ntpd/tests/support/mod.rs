//! Test harness: run our `ntpd` (and peers) without CAP_SYS_TIME, with
//! `disable ntp`, either in a network namespace the test creates (root
//! only) or on 127.0.0.1 with the test-only port override
//! (`NTPD_AUTOKEY_TEST_PORT`). Everything is cleaned up on drop, also when
//! a test fails.

#![allow(dead_code)]

use std::fs;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod keys;

pub const NTPD: &str = env!("CARGO_BIN_EXE_ntpd");

/// The command prefix that runs a program without CAP_SYS_TIME in its
/// bounding and inheritable sets, so it can never set the clock.
pub const WITHOUT_SYS_TIME: [&str; 6] = [
    "setpriv",
    "--bounding-set",
    "-sys_time",
    "--inh-caps",
    "-sys_time",
    "--",
];

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("ntpd-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A network namespace with its loopback up, deleted on drop.
pub struct Netns(pub String);

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("ntpdt-{tag}-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(ok.success(), "ip netns add {name}");
        let ns = Netns(name);
        ns.run(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// A command running inside the namespace.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(argv);
        c
    }

    pub fn run(&self, argv: &[&str]) -> Output {
        let o = self.command(argv).output().unwrap();
        assert!(
            o.status.success(),
            "{argv:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }

    pub fn output(&self, argv: &[&str]) -> Output {
        self.command(argv).output().unwrap()
    }

    /// Send one mode 3 request to `addr`:123 from inside the namespace
    /// (with python3) and return the reply's stratum and reference ID
    /// octets, or `None` without a reply within a second.
    pub fn query(&self, addr: &str) -> Option<(u8, [u8; 4])> {
        const SCRIPT: &str = "import socket,sys\n\
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
s.settimeout(1)\n\
s.sendto(bytes([0x23])+bytes(39)+bytes([1,2,3,4,5,6,7,8]),(sys.argv[1],123))\n\
try:\n d=s.recv(2048)\n print(d[1],d[12],d[13],d[14],d[15])\n\
except Exception:\n pass\n";
        let o = self.output(&["python3", "-c", SCRIPT, addr]);
        let text = String::from_utf8_lossy(&o.stdout);
        let v: Vec<u8> = text
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        (v.len() == 5).then(|| (v[0], [v[1], v[2], v[3], v[4]]))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A running daemon, stopped with SIGTERM (then SIGKILL) on drop.
pub struct Daemon {
    pub child: Option<Child>,
    pub log: PathBuf,
}

/// Our daemon `name` on `addr` in `ns`: `conf` written to `<name>.conf`
/// in `scratch`, its log in `<name>.log` there, `flags` after `-I addr`.
pub fn start_named(
    ns: &Netns,
    scratch: &Scratch,
    name: &str,
    addr: &str,
    conf: &str,
    flags: &[&str],
) -> Daemon {
    let path = scratch.file(&format!("{name}.conf"), conf);
    let argv: Vec<&str> = ["-I", addr].iter().chain(flags).copied().collect();
    start_ntpd(
        Some(ns),
        &path,
        &argv,
        None,
        &scratch.path(&format!("{name}.log")),
    )
}

/// Start `ntpd -n -c CONF extra...` with CAP_SYS_TIME removed from the
/// bounding set when we are root, inside `ns` if given, with the test
/// port override if `port` is given. Its stderr goes to `log`.
pub fn start_ntpd(
    ns: Option<&Netns>,
    conf: &Path,
    extra: &[&str],
    port: Option<u16>,
    log: &Path,
) -> Daemon {
    let mut argv: Vec<String> = Vec::new();
    if is_root() {
        argv.extend(WITHOUT_SYS_TIME.map(String::from));
    }
    argv.push(NTPD.into());
    argv.extend(["-n".to_string(), "-c".into(), conf.display().to_string()]);
    argv.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut cmd = match ns {
        Some(ns) => ns.command(&refs),
        None => {
            let mut c = Command::new(refs[0]);
            c.args(&refs[1..]);
            c
        }
    };
    if let Some(p) = port {
        cmd.env("NTPD_AUTOKEY_TEST_PORT", p.to_string());
    }
    cmd.env_remove("RUST_LOG");
    let errf = fs::File::create(log).unwrap();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(errf)
        .spawn()
        .unwrap();
    Daemon {
        child: Some(child),
        log: log.to_path_buf(),
    }
}

/// A namespace and a scratch directory named `tag`, and our ntpd in the
/// namespace on 127.0.0.1 with `conf` as its ntp.conf (log `ntpd.log`).
pub fn start_loopback(tag: &str, conf: &str) -> (Netns, Scratch, Daemon) {
    let ns = Netns::new(tag);
    let scratch = Scratch::new(tag);
    let conf = scratch.file("ntp.conf", conf);
    let d = start_ntpd(
        Some(&ns),
        &conf,
        &["-I", "127.0.0.1"],
        None,
        &scratch.path("ntpd.log"),
    );
    (ns, scratch, d)
}

impl Daemon {
    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM and wait; returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free UDP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A mode 3 request with transmit timestamp `xmt`.
pub fn request(version: u8, xmt: u64) -> Vec<u8> {
    let mut r = vec![0u8; 48];
    r[0] = (version << 3) | 3;
    r[2] = 6;
    r[40..48].copy_from_slice(&xmt.to_be_bytes());
    r
}

/// Send `req` from `sock` to `to` and wait up to `wait` for a datagram.
pub fn exchange(sock: &UdpSocket, req: &[u8], to: &str, wait: Duration) -> Option<Vec<u8>> {
    sock.set_read_timeout(Some(wait)).unwrap();
    sock.send_to(req, to).unwrap();
    let mut buf = [0u8; 2048];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

/// Poll until the daemon answers with stratum `stratum` (or give up).
pub fn wait_for_stratum(to: &str, stratum: u8, within: Duration) -> Vec<u8> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let t0 = Instant::now();
    loop {
        if let Some(r) = exchange(&sock, &request(4, 0x1234), to, Duration::from_millis(200)) {
            if r.len() >= 48 && r[1] == stratum {
                return r;
            }
        }
        assert!(
            t0.elapsed() < within,
            "no stratum {stratum} reply from {to} within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
