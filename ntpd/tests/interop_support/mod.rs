//! Harness for the ntpsec interop test: two network namespaces joined by a
//! veth pair (addresses exist only inside them), daemons started inside
//! them without CAP_SYS_TIME, and parsers for `ntpq` output. Daemons are
//! stopped by their PID and the namespaces deleted on drop, also when the
//! test panics.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Our daemon.
pub const NTPD: &str = env!("CARGO_BIN_EXE_ntpd");

/// Our ntpq (a binary of the `ntpq` package).
#[path = "../../ntpq/tests/ntpq_support/binary.rs"]
mod ntpq_binary;
pub use ntpq_binary::ntpq_binary;

/// Symmetric keys in the reference `ntp.keys` format, which ntpsec reads
/// too: key 1 MD5 with an ASCII secret, key 2 SHA1 with a hex secret.
pub const KEYS: &str = "1 MD5 md5secret\n2 SHA1 0123456789abcdef0123456789abcdef01234567\n";
/// The same key IDs and types with other secrets.
pub const WRONG_KEYS: &str = "1 MD5 othersecret\n2 SHA1 0123456789abcdef0123456789abcdef01234568\n";

/// Two namespaces `nta-<pid><n>-a` / `nta-<pid><n>-b` (`n` counts labs), loopback up, joined by a
/// veth pair with `<net>.1/24` in A and `<net>.2/24` in B, plus a scratch
/// directory. Children registered with [`Lab::spawn`] are stopped first on
/// drop, then the namespaces (and with them the veth pair) are deleted.
pub struct Lab {
    pub a: String,
    pub b: String,
    pub addr_a: String,
    pub addr_b: String,
    pub dir: PathBuf,
    /// The veth device in A and in B.
    veths: [String; 2],
    children: Vec<(String, Child)>,
}

impl Lab {
    pub fn new() -> Lab {
        static LABS: AtomicU32 = AtomicU32::new(0);
        // Unique per process and per lab: tests run in parallel threads.
        let pid = format!(
            "{}{}",
            std::process::id(),
            LABS.fetch_add(1, Ordering::Relaxed)
        );
        let net = format!("10.201.{}", std::process::id() % 250 + 1);
        let (va, vb) = (format!("nta{pid}a"), format!("nta{pid}b"));
        let lab = Lab {
            a: format!("nta-{pid}-a"),
            b: format!("nta-{pid}-b"),
            addr_a: format!("{net}.1"),
            addr_b: format!("{net}.2"),
            dir: std::env::temp_dir().join(format!("ntpd-interop-ntpsec-{pid}")),
            veths: [va.clone(), vb.clone()],
            children: Vec::new(),
        };
        let _ = fs::remove_dir_all(&lab.dir);
        fs::create_dir_all(&lab.dir).expect("scratch directory");
        for ns in [lab.a.clone(), lab.b.clone()] {
            let _ = Command::new("ip")
                .args(["netns", "del", &ns])
                .stderr(Stdio::null())
                .status();
            run(&["ip", "netns", "add", &ns]);
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        }
        let (a, b) = (lab.a.clone(), lab.b.clone());
        run(&[
            "ip", "link", "add", "name", &va, "netns", &a, "type", "veth", "peer", "name", &vb,
            "netns", &b,
        ]);
        for (ns, dev, addr) in [(&a, &va, &lab.addr_a), (&b, &vb, &lab.addr_b)] {
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                dev,
            ]);
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        lab
    }

    /// The veth device inside namespace `ns` (A or B).
    pub fn veth(&self, ns: &str) -> &str {
        if ns == self.a {
            &self.veths[0]
        } else {
            assert_eq!(ns, self.b, "not a namespace of this lab");
            &self.veths[1]
        }
    }

    /// Routes 224.0.0.0/4 over the veth in both namespaces (multicast
    /// 224.0.1.1 between them: RFC 5905 §3 broadcast and manycast modes).
    pub fn route_multicast(&self) {
        for ns in [&self.a, &self.b] {
            run(&[
                "ip",
                "-n",
                ns,
                "route",
                "add",
                "224.0.0.0/4",
                "dev",
                self.veth(ns),
            ]);
        }
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        fs::write(&p, text).expect("write scratch file");
        p
    }

    /// A command running inside namespace `ns`.
    pub fn command(&self, ns: &str, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(argv);
        c
    }

    /// Starts `argv` inside `ns` with CAP_SYS_TIME removed from its
    /// bounding and inheritable sets (so it can never set the clock), its
    /// output in `<dir>/<name>.out`. `ip netns exec` and `setpriv` both
    /// exec, so the child's PID is the daemon's.
    pub fn spawn(&mut self, name: &str, ns: &str, argv: &[&str]) {
        let mut full = vec![
            "setpriv",
            "--bounding-set",
            "-sys_time",
            "--inh-caps",
            "-sys_time",
            "--",
        ];
        full.extend_from_slice(argv);
        let out = fs::File::create(self.dir.join(format!("{name}.out"))).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = self
            .command(ns, &full)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn daemon");
        self.children.push((name.to_string(), child));
    }

    /// Panics (with the daemon's log) if a spawned daemon has exited.
    pub fn assert_running(&mut self) {
        for (name, child) in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                let log =
                    fs::read_to_string(self.dir.join(format!("{name}.out"))).unwrap_or_default();
                panic!("{name} exited ({status}):\n{log}");
            }
        }
    }

    /// The exit status of spawned daemon `name`, if it has exited.
    pub fn exited(&mut self, name: &str) -> Option<std::process::ExitStatus> {
        self.children
            .iter_mut()
            .find(|(n, _)| n == name)
            .and_then(|(_, child)| child.try_wait().ok().flatten())
    }

    /// The text of a daemon's log (for failure messages).
    pub fn log(&self, name: &str) -> String {
        let out = fs::read_to_string(self.dir.join(format!("{name}.out"))).unwrap_or_default();
        let file = fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
        format!("{out}{file}")
    }

    /// `keys FILE` and `trustedkey 1 2` lines for `keys` written into the
    /// scratch directory as `<name>.keys`.
    pub fn key_lines(&self, name: &str, keys: &str) -> String {
        let path = self.file(&format!("{name}.keys"), keys);
        format!("keys {}\ntrustedkey 1 2\n", path.display())
    }

    /// Polls (every second, at most `limit`) until `done` accepts the
    /// output of `ntpq args` inside `ns`; returns that output. Panics with
    /// the last output and the daemons' logs when `limit` passes or a
    /// daemon exits.
    pub fn wait_ntpq(
        &mut self,
        ntpq: &Path,
        ns: &str,
        args: &[&str],
        limit: Duration,
        what: &str,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let t0 = Instant::now();
        loop {
            self.assert_running();
            let out = self.ntpq(ns, ntpq, args);
            if done(&out) {
                return out;
            }
            assert!(
                t0.elapsed() < limit,
                "{what} not reached within {limit:?}; last output:\n{out}\nlogs:\n{}\n{}",
                self.log("server"),
                self.log("client")
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Our ntpd in namespace A as a stratum 5 orphan parent (`disable ntp`,
    /// no CAP_SYS_TIME, log in `server.out`) trusting keys 1 and 2 of
    /// [`KEYS`]; returns its stratum as our ntpq reads it once it serves
    /// time.
    pub fn start_our_orphan_server(&mut self) -> u8 {
        let a = self.a.clone();
        let conf = format!(
            "disable ntp\ntos orphan 5 orphanwait 1\n{}",
            self.key_lines("server", KEYS)
        );
        let conf = self.file("server.conf", &conf);
        let conf = conf.to_str().expect("utf-8 path").to_string();
        self.spawn("server", &a, &[NTPD, "-n", "-c", &conf]);
        let rv = self.wait_ntpq(
            Path::new(ntpq_binary()),
            &a,
            &["-c", "rv", "127.0.0.1"],
            Duration::from_secs(30),
            "our server at orphan stratum 5",
            |out| rv_stratum(out).as_deref() == Some("5"),
        );
        let v = rv_vars(&rv);
        assert_eq!(var(&v, "leap"), "00", "orphan parent is synchronised");
        var(&v, "stratum").parse().expect("stratum")
    }

    /// Runs `program args...` inside `ns` with a time limit and returns
    /// stdout, failing on a non-zero exit.
    pub fn ntpq(&self, ns: &str, program: &Path, args: &[&str]) -> String {
        let program = program.to_str().expect("utf-8 path");
        let mut argv = vec!["timeout", "20", program];
        argv.extend_from_slice(args);
        let o: Output = self.command(ns, &argv).output().expect("run ntpq");
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{program} {args:?} in {ns}: {}\n{stdout}{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        stdout
    }
}

fn run(argv: &[&str]) {
    let o = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .expect("run command");
    assert!(
        o.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let t0 = Instant::now();
            while matches!(child.try_wait(), Ok(None)) && t0.elapsed() < Duration::from_secs(3) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// One row of `ntpq -p`: the tally code and the ten columns.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerRow {
    pub tally: char,
    pub remote: String,
    pub refid: String,
    pub st: u8,
    pub t: String,
    pub when: String,
    pub poll: u32,
    pub reach: u16,
    pub delay: f64,
    pub offset: f64,
    pub jitter: f64,
}

/// Parses the rows of `ntpq -p` output (after the `====` rule).
pub fn peer_rows(text: &str) -> Vec<PeerRow> {
    text.lines()
        .skip_while(|l| !l.starts_with("===="))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let tally = l.chars().next().expect("row");
            let f: Vec<&str> = l[tally.len_utf8()..].split_whitespace().collect();
            assert_eq!(f.len(), 10, "peer row {l:?}");
            PeerRow {
                tally,
                remote: f[0].into(),
                refid: f[1].into(),
                st: f[2].parse().expect("st"),
                t: f[3].into(),
                when: f[4].into(),
                poll: f[5].parse().expect("poll"),
                reach: u16::from_str_radix(f[6], 8).expect("reach is octal"),
                delay: f[7].parse().expect("delay"),
                offset: f[8].parse().expect("offset"),
                jitter: f[9].parse().expect("jitter"),
            }
        })
        .collect()
}

/// Parses `ntpq -c as` rows into their whitespace-separated columns.
pub fn assoc_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip_while(|l| !l.starts_with("===="))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

/// Parses `ntpq -c rv` output into (name, value) pairs in order. The
/// first line (`associd=N status=XXXX words...`) gives `associd` and
/// `status`; the rest is split at commas that are followed by `name=`
/// (timestamps contain commas of their own: "Fri, Nov 27 2026").
pub fn rv_vars(text: &str) -> Vec<(String, String)> {
    let mut lines = text.lines().skip_while(|l| l.trim().is_empty());
    let mut vars = Vec::new();
    let first = lines.next().unwrap_or_default();
    for w in first.split_whitespace().take(2) {
        if let Some((k, v)) = w.split_once('=') {
            vars.push((k.to_string(), v.to_string()));
        }
    }
    let rest: Vec<&str> = lines.collect();
    let rest = rest.join(" ");
    let mut items: Vec<String> = Vec::new();
    let mut cur = String::new();
    let bytes: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == ',' && starts_var(&bytes[i + 1..]) {
            items.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
        i += 1;
    }
    items.push(cur);
    for item in items {
        let item = item.trim();
        if let Some((k, v)) = item.split_once('=') {
            vars.push((
                k.trim().to_string(),
                v.trim().trim_end_matches(',').trim().to_string(),
            ));
        }
    }
    vars
}

/// `rest` starts (after blanks) with an identifier immediately followed
/// by `=` (ntpsec writes ` filtdelay =`, so one blank before `=` too).
fn starts_var(rest: &[char]) -> bool {
    let s: String = rest.iter().take(40).collect();
    let s = s.trim_start();
    let name: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    !name.is_empty() && s[name.len()..].trim_start_matches(' ').starts_with('=')
}

/// The value of `name` in parsed `rv` output.
pub fn var<'a>(vars: &'a [(String, String)], name: &str) -> &'a str {
    vars.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no variable {name} in {vars:?}"))
}

/// A numeric variable (ours print `+0.017125`, ntpsec `0.017125`).
pub fn num(vars: &[(String, String)], name: &str) -> f64 {
    let v = var(vars, name);
    v.trim_start_matches('+')
        .parse()
        .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
}

/// The `stratum` of `rv` output, if present.
pub fn rv_stratum(out: &str) -> Option<String> {
    rv_vars(out)
        .into_iter()
        .find(|(k, _)| k == "stratum")
        .map(|(_, v)| v)
}

/// The `cert=` entries of `rv 0 cert` output (`subject issuer flags`),
/// in order.
pub fn cert_list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter_map(|kv| kv.strip_prefix("cert="))
        .map(|c| c.trim_matches('"').to_string())
        .collect()
}
