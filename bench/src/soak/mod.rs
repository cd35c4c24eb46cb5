//! The soak benchmark (issue 15): our `ntpd` with `crypto` on
//! (`restrict default nomodify notrap`, the reference TC run's `alice`
//! keys) in a private network namespace, for a configurable time (1 h by
//! default), under ordinary clients, malformed datagrams and the floods
//! of the issue at once. Every interval it prints the daemon's RSS and
//! CPU share, the ordinary clients' answered share and what each flood
//! drew; the goal is flat RSS and ≥ 99 % answered.
//!
//! The runner creates the namespace and re-runs itself inside it
//! (`--inside`), where the daemon and every traffic socket live; nothing
//! leaves the namespace. The daemon runs with `disable ntp` and without
//! CAP_SYS_TIME.

pub mod flows;
pub mod packets;

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flows::{Context, Counts, Flow, Kind};

use crate::procfs;
use crate::runner::netns::{self, Netns};

/// The soak's settings.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// How long to run.
    pub duration: Duration,
    /// How often to report.
    pub interval: Duration,
    /// The `ntpd` to run.
    pub ntpd: PathBuf,
    /// The keys directory of the server (`crypto host` `host`).
    pub keysdir: PathBuf,
    /// The server's Autokey host name.
    pub host: String,
    /// Its `crypto pw`.
    pub pw: String,
    /// A self-signed certificate (PEM file) sent in SIGN requests.
    pub sign_cert: PathBuf,
    /// Multiplies every rate.
    pub scale: f64,
    /// Where the configuration and the daemon's log go.
    pub workdir: PathBuf,
}

impl SoakConfig {
    /// Defaults: an hour, 60 s reports, the repository's `alice` keys and
    /// `bob`'s certificate, `ntpd` next to this program.
    pub fn new() -> SoakConfig {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref/runs/tc");
        let exe = std::env::current_exe().unwrap_or_default();
        SoakConfig {
            duration: Duration::from_secs(3600),
            interval: Duration::from_secs(60),
            ntpd: exe.with_file_name("ntpd"),
            keysdir: data.join("alice/keys"),
            host: "alice".into(),
            pw: "serverpassword".into(),
            sign_cert: data.join("bob/keys/ntpkey_cert_bob"),
            scale: 1.0,
            workdir: std::env::temp_dir().join(format!("ntp-soak-{}", std::process::id())),
        }
    }

    /// The flows and their (sources, datagrams per second) at scale 1.
    fn flows(&self) -> Vec<(Kind, usize, f64)> {
        vec![
            (Kind::Ordinary, 16, 100.0),
            (Kind::Malformed, 8, 300.0),
            (Kind::Cert, 50, 1500.0),
            (Kind::Sign, 200, 500.0),
            (Kind::Assoc, 64, 10.0),
            (Kind::Mode6, 500, 1000.0),
        ]
    }
}

impl Default for SoakConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Creates the namespace and runs `argv_inside` (this program with
/// `--inside` and the same options) there; its exit status.
pub fn run_outside(argv_inside: &[String]) -> io::Result<std::process::ExitStatus> {
    netns::catch_signals()?;
    let ns = Netns::create()?;
    let args: Vec<&str> = argv_inside.iter().map(String::as_str).collect();
    let status = ns.command(&args).status()?;
    drop(ns);
    Ok(status)
}

fn ntp_now() -> u32 {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (unix + 2_208_988_800) as u32
}

/// Starts the daemon in the current namespace.
fn start_ntpd(cfg: &SoakConfig) -> io::Result<Child> {
    fs::create_dir_all(&cfg.workdir)?;
    let conf = cfg.workdir.join("ntp.conf");
    fs::write(
        &conf,
        format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nrestrict default nomodify notrap\n\
             keysdir {}\ncrypto host {} pw {}\nlogfile {}\n",
            cfg.keysdir.display(),
            cfg.host,
            cfg.pw,
            cfg.workdir.join("ntpd.log").display()
        ),
    )?;
    let out = fs::File::create(cfg.workdir.join("ntpd.out"))?;
    Command::new("setpriv")
        .args([
            "--bounding-set",
            "-sys_time",
            "--inh-caps",
            "-sys_time",
            "--",
        ])
        .arg(&cfg.ntpd)
        .args(["-n", "-c"])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
}

/// Waits until the daemon answers an ordinary request (up to 20 s).
fn wait_ready(server: SocketAddr) -> io::Result<()> {
    let s = std::net::UdpSocket::bind("127.0.0.99:0")?;
    s.set_read_timeout(Some(Duration::from_millis(200)))?;
    let t0 = Instant::now();
    let mut buf = [0u8; 128];
    while t0.elapsed() < Duration::from_secs(20) {
        s.send_to(&packets::client_request(1), server)?;
        if let Ok(n) = s.recv(&mut buf) {
            if n >= 48 {
                return Ok(());
            }
        }
    }
    Err(io::Error::other("ntpd did not answer within 20 s"))
}

/// One report line's worth of a run.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Seconds since the floods started.
    pub at: f64,
    /// The daemon's resident set, kB.
    pub rss_kb: u64,
    /// Its CPU use over the interval, per cent of one core.
    pub cpu_percent: f64,
    /// Counters of each flow over the interval.
    pub flows: Vec<(Kind, Counts)>,
}

impl Sample {
    /// The ordinary clients' answered share, per cent.
    pub fn answered_percent(&self) -> f64 {
        let c = self
            .flows
            .iter()
            .find(|(k, _)| *k == Kind::Ordinary)
            .map(|(_, c)| *c)
            .unwrap_or_default();
        let asked = c.answered + c.late + c.lost;
        if asked == 0 {
            0.0
        } else {
            100.0 * c.answered as f64 / asked as f64
        }
    }

    /// The report line.
    pub fn line(&self) -> String {
        let c = self
            .flows
            .iter()
            .find(|(k, _)| *k == Kind::Ordinary)
            .map(|(_, c)| *c)
            .unwrap_or_default();
        let mut s = format!(
            "{:>7.0} s  rss {:>6} kB  cpu {:>5.1} %  answered {:>6.2} % (late {}, lost {})",
            self.at,
            self.rss_kb,
            self.cpu_percent,
            self.answered_percent(),
            c.late,
            c.lost
        );
        for (k, c) in &self.flows {
            if *k != Kind::Ordinary {
                s.push_str(&format!(
                    "  {} {}/{} ({}→{} B)",
                    k.name(),
                    c.replies,
                    c.sent,
                    c.octets_out,
                    c.octets_in
                ));
            }
        }
        s
    }
}

/// Runs the soak in the current namespace (`--inside`): starts the
/// daemon, sends every flow, prints a [`Sample`] per interval and a
/// summary; the samples.
pub fn run_inside(cfg: &SoakConfig) -> io::Result<Vec<Sample>> {
    netns::catch_signals()?;
    let server: SocketAddr = "127.0.0.1:123".parse().map_err(io::Error::other)?;
    let mut child = start_ntpd(cfg)?;
    let pid = child.id();
    let result = soak(cfg, server, pid);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX)),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
    let _ = fs::remove_dir_all(&cfg.workdir);
    result
}

fn soak(cfg: &SoakConfig, server: SocketAddr, pid: u32) -> io::Result<Vec<Sample>> {
    wait_ready(server)?;
    let cert_text = fs::read_to_string(&cfg.sign_cert)?;
    let cert = keystore::Certificate::from_file_text(&cfg.sign_cert, &cert_text)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let ctx = Context {
        server,
        server_name: cfg.host.clone(),
        sign_cert: cert.der,
        started: (ntp_now(), Instant::now()),
    };
    let mut flows = cfg
        .flows()
        .into_iter()
        .enumerate()
        .map(|(i, (k, n, rate))| Flow::new(k, n, rate * cfg.scale, 0x50a4 + i as u64))
        .collect::<io::Result<Vec<_>>>()?;
    println!(
        "soak: ntpd pid {pid}, {} s, report every {} s; flows (sources, datagrams/s): {}",
        cfg.duration.as_secs(),
        cfg.interval.as_secs(),
        cfg.flows()
            .iter()
            .map(|(k, n, r)| format!("{} {n}×{:.0}/s", k.name(), r * cfg.scale))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let t0 = Instant::now();
    let mut samples = Vec::new();
    let mut next_report = cfg.interval;
    let mut cpu_before = procfs::cpu_time_us(pid).unwrap_or(0);
    let mut last_drain = Instant::now();
    while t0.elapsed() < cfg.duration && !netns::interrupted() {
        let elapsed = t0.elapsed().as_secs_f64();
        for f in &mut flows {
            f.send_due(elapsed, &ctx);
        }
        // Ordinary replies are read at once (their answer time counts);
        // the floods' every 100 ms, which keeps the generator's own
        // system calls from crowding out its clients.
        let floods_due = last_drain.elapsed() >= Duration::from_millis(100);
        for f in &mut flows {
            if f.kind == Kind::Ordinary || floods_due {
                f.drain();
            }
        }
        if floods_due {
            last_drain = Instant::now();
        }
        if t0.elapsed() >= next_report {
            let cpu = procfs::cpu_time_us(pid).unwrap_or(0);
            let s = Sample {
                at: t0.elapsed().as_secs_f64(),
                rss_kb: procfs::rss_kb(pid).map_or(0, |(rss, _)| rss),
                cpu_percent: (cpu.saturating_sub(cpu_before)) as f64
                    / cfg.interval.as_micros() as f64
                    * 100.0,
                flows: flows
                    .iter_mut()
                    .map(|f| (f.kind, f.take_counts()))
                    .collect(),
            };
            cpu_before = cpu;
            println!("{}", s.line());
            samples.push(s);
            next_report += cfg.interval;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    summary(&samples);
    Ok(samples)
}

fn summary(samples: &[Sample]) {
    let Some(first) = samples.first() else {
        println!("soak: no complete interval");
        return;
    };
    let rss: Vec<u64> = samples.iter().map(|s| s.rss_kb).collect();
    let min_share = samples
        .iter()
        .map(Sample::answered_percent)
        .fold(f64::INFINITY, f64::min);
    let (asked, answered, lost) = samples
        .iter()
        .flat_map(|s| s.flows.iter())
        .filter(|(k, _)| *k == Kind::Ordinary)
        .fold((0, 0, 0), |(a, b, l), (_, c)| {
            (a + c.answered + c.late + c.lost, b + c.answered, l + c.lost)
        });
    println!(
        "soak: {} intervals; rss first {} kB, min {} kB, max {} kB, last {} kB; ordinary answered within 1 s {:.2} % overall ({answered}/{asked}; never answered {lost}), worst interval {:.2} %",
        samples.len(),
        first.rss_kb,
        rss.iter().min().unwrap_or(&0),
        rss.iter().max().unwrap_or(&0),
        rss.last().unwrap_or(&0),
        if asked == 0 { 0.0 } else { 100.0 * answered as f64 / asked as f64 },
        min_share
    );
}
