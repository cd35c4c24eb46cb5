//! Shared helpers of the ntpq tests: a fake mode 6 server on 127.0.0.1 (a
//! free port), running the built `ntpq` against it, and reading the
//! reference captures and outputs under tests/data/autokey-ref. The
//! daemon's `mode6_ntpq` test includes this module too (by path).

#![allow(dead_code)]

mod binary;

pub use binary::ntpq_binary;

use std::io::Read;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use proto::control::{
    fragment_data, ControlHeader, ControlMessage, ErrorCode, ResponseWriter, VarValue,
};

/// The reference fixtures folder, `tests/data/autokey-ref` at the top of
/// the workspace (found from the manifest folder of whichever package
/// includes this module).
pub fn fixtures() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|d| d.join("tests/data/autokey-ref"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no tests/data/autokey-ref above {}: the reference fixtures are missing",
                manifest.display()
            )
        })
}

/// What a handler answers to one request.
pub type Handler = Box<dyn FnMut(&ControlMessage) -> Vec<Vec<u8>> + Send>;

/// A mode 6 server on 127.0.0.1 answering with a handler, recording every
/// request datagram it received.
pub struct FakeServer {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    pub fn start(mut handler: Handler) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind loopback");
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let port = sock.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r2, s2) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !s2.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let pkt = buf[..n].to_vec();
                r2.lock().expect("lock").push(pkt.clone());
                let Ok(req) = ControlMessage::parse(&pkt) else {
                    continue;
                };
                for d in handler(&req) {
                    let _ = sock.send_to(&d, from);
                }
            }
        });
        Self {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Output of one ntpq run.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub success: bool,
    pub elapsed: Duration,
}

/// Runs the built ntpq with `args` (and `stdin`), killing it after 30 s.
pub fn ntpq(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let start = Instant::now();
    let mut cmd = Command::new(ntpq_binary());
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("NTPQ_TEST_NOW");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn ntpq");
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).expect("write stdin");
        }
    }
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("ntpq did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        stdout: t_out.join().expect("stdout thread"),
        stderr: t_err.join().expect("stderr thread"),
        success: status.success(),
        elapsed: start.elapsed(),
    }
}

/// Response datagrams carrying `data` as a variable list, fragmented as the
/// reference ntpd does (items and CR LF line breaks).
pub fn varlist_response(
    req: &ControlMessage,
    status: u16,
    items: &[(String, VarValue)],
) -> Vec<Vec<u8>> {
    let mut w = ResponseWriter::new();
    for (name, value) in items {
        w.put_var(name, value).expect("writable variable");
    }
    let header = ControlHeader::response_to(&req.header, 0, status);
    w.finish()
        .iter()
        .map(|f| f.to_message(header).expect("fragment").serialize())
        .collect()
}

/// Response datagrams carrying binary data (the association list).
pub fn binary_response(req: &ControlMessage, status: u16, data: &[u8]) -> Vec<Vec<u8>> {
    let header = ControlHeader::response_to(&req.header, 0, status);
    fragment_data(data)
        .iter()
        .map(|f| f.to_message(header).expect("fragment").serialize())
        .collect()
}

/// An error response (E bit).
pub fn error_response(req: &ControlMessage, code: ErrorCode) -> Vec<Vec<u8>> {
    vec![ControlMessage::error_response(&req.header, 0, code).serialize()]
}

/// The UDP payloads of a classic pcap file with Ethernet or Linux cooked
/// framing and IPv4, with their ports: (source port, destination port,
/// payload).
pub fn pcap_udp(path: &Path) -> Vec<(u16, u16, Vec<u8>)> {
    let d = std::fs::read(path).expect("read pcap");
    let le = match d.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1]) => true,
        Some([0xa1, 0xb2, 0xc3, 0xd4]) => false,
        _ => panic!("{}: not a pcap file", path.display()),
    };
    let u32_at = |o: usize| {
        let b: [u8; 4] = d[o..o + 4].try_into().expect("4 octets");
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let link = u32_at(20);
    let link_len = match link {
        1 => 14,
        113 => 16,
        other => panic!("unsupported link type {other}"),
    };
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let incl = u32_at(off + 8) as usize;
        let pkt = &d[off + 16..off + 16 + incl];
        off += 16 + incl;
        let ip = &pkt[link_len..];
        assert_eq!(ip[0] >> 4, 4, "IPv4 only");
        let ihl = usize::from(ip[0] & 15) * 4;
        let udp = &ip[ihl..];
        let sport = u16::from_be_bytes([udp[0], udp[1]]);
        let dport = u16::from_be_bytes([udp[2], udp[3]]);
        let len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        out.push((sport, dport, udp[8..len].to_vec()));
    }
    out
}

/// A recorded ntpq output: the command line (after `$ `) and the text.
pub fn recorded(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).expect("read recorded output");
    let (first, rest) = text.split_once('\n').expect("command line");
    let cmd = first
        .strip_prefix("$ ")
        .expect("'$ ntpq ...' line")
        .to_string();
    (cmd, rest.to_string())
}

/// Every recorded `ntpq-*.txt` output of every run (host folders only).
pub fn recorded_outputs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let runs = fixtures().join("runs");
    for run in std::fs::read_dir(&runs).expect("runs") {
        let run = run.expect("entry").path();
        for host in ["alice", "bob"] {
            let Ok(dir) = std::fs::read_dir(run.join(host)) else {
                continue;
            };
            for f in dir {
                let p = f.expect("entry").path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with("ntpq-") && name.ends_with(".txt") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    files
}
