//! The servers under test: where their programs are, their configuration
//! files (clock control off, a local reference so they answer as
//! synchronised, no rate limiting, key 1 when authenticating) and how
//! they are started: inside the namespace, pinned to CPU 0, without
//! CAP_SYS_TIME.

use super::netns::Netns;
use super::pki;
use crate::key::{to_hex, MacAlgo, MacKey};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A server in the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    /// `ntp-echo-floor`: the kernel-path floor.
    Floor,
    /// This project's `ntpd`.
    Ours,
    /// chrony's `chronyd`.
    Chronyd,
    /// ntpsec's `ntpd`.
    Ntpsec,
}

impl ServerKind {
    /// Every server, in the order the runner measures them.
    pub const ALL: [ServerKind; 4] = [Self::Floor, Self::Ours, Self::Chronyd, Self::Ntpsec];

    /// The name used on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::Ours => "ours",
            Self::Chronyd => "chronyd",
            Self::Ntpsec => "ntpsec",
        }
    }

    /// The server of a `--servers` name (`floor`, `ours`, `chronyd`,
    /// `ntpsec`).
    pub fn from_name(s: &str) -> Option<ServerKind> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// Request authentication in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Unauthenticated mode 3 requests.
    None,
    /// Requests with an MD5 MAC under key 1 (RFC 5905 §7.3).
    Md5,
    /// Requests with a SHA-1 MAC under key 1.
    Sha1,
    /// NTS (RFC 8915): one NTS-KE session with the server on
    /// 127.0.0.1:4460, then requests with its cookies, authenticated
    /// under C2S, replies checked under S2C (ours and chronyd only).
    Nts,
}

impl Auth {
    /// Every mode, in the order the runner measures them.
    pub const ALL: [Auth; 4] = [Auth::None, Auth::Md5, Auth::Sha1, Auth::Nts];

    /// The name used on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Md5 => "md5",
            Auth::Sha1 => "sha1",
            Auth::Nts => "nts",
        }
    }

    /// The mode of an `--auth` name (`none`, `md5`, `sha1`, `nts`).
    pub fn from_name(s: &str) -> Option<Auth> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }

    /// Key 1 of the run, the same for every server: 16 octets for MD5,
    /// 20 for SHA-1 (written as hex, which the reference's key file
    /// format reads for keys longer than 20 characters).
    pub fn key(self) -> Option<MacKey> {
        let algo = match self {
            Auth::None | Auth::Nts => return None,
            Auth::Md5 => MacAlgo::Md5,
            Auth::Sha1 => MacAlgo::Sha1,
        };
        let secret = (0..algo.digest_len() as u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(0x5b))
            .collect();
        Some(MacKey {
            id: 1,
            algo,
            secret,
        })
    }
}

impl fmt::Display for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the servers and the load generator are scheduled. The machine
/// is shared: under the default time-sharing policy other work delays a
/// server by milliseconds and its socket overflows long before it is
/// busy, so by default both run `SCHED_FIFO` (they only take the CPU
/// while they have work; the kernel's RT throttling keeps 5 % for
/// others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sched {
    /// `chrt -f PRIO`.
    Fifo(u8),
    /// `nice -n N`.
    Nice(i8),
}

impl Sched {
    /// The command prefix that applies the policy (it execs the rest).
    pub fn argv(self) -> Vec<String> {
        match self {
            Sched::Fifo(p) => vec!["chrt".into(), "-f".into(), p.to_string()],
            Sched::Nice(n) => vec!["nice".into(), "-n".into(), n.to_string()],
        }
    }
}

impl fmt::Display for Sched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sched::Fifo(p) => write!(f, "SCHED_FIFO {p}"),
            Sched::Nice(n) => write!(f, "nice {n}"),
        }
    }
}

/// Paths of the programs the runner uses.
#[derive(Clone, Debug)]
pub struct Programs {
    /// `ntp-loadgen`, next to the runner.
    pub loadgen: PathBuf,
    /// `ntp-echo-floor`, next to the runner.
    pub floor: PathBuf,
    /// `ntp-ke-load` (NTS-KE handshakes), next to the runner.
    pub ke_load: PathBuf,
    /// This project's `ntpd`, if built next to the runner.
    pub ours: Option<PathBuf>,
    /// chrony's `chronyd`, if installed.
    pub chronyd: Option<PathBuf>,
    /// ntpsec's `ntpd`, if installed.
    pub ntpsec: Option<PathBuf>,
}

impl Programs {
    /// Our programs next to the running executable; chronyd from
    /// /usr/sbin or PATH; ntpsec's ntpd under `$NTPSEC_ROOT`, /opt/ntpsec
    /// or / (checked with `--version`).
    pub fn locate() -> io::Result<Programs> {
        let exe = std::env::current_exe()?;
        let dir = exe.parent().unwrap_or(Path::new("."));
        let existing = |p: PathBuf| p.is_file().then_some(p);
        let chronyd = existing("/usr/sbin/chronyd".into()).or_else(|| {
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path).find_map(|d| existing(d.join("chronyd")))
            })
        });
        let mut roots: Vec<PathBuf> = Vec::new();
        if let Some(r) = std::env::var_os("NTPSEC_ROOT") {
            roots.push(r.into());
        }
        roots.extend(["/opt/ntpsec".into(), "/".into()]);
        let ntpsec = roots.into_iter().find_map(|r| {
            let p = r.join("usr/sbin/ntpd");
            let out = Command::new(&p).arg("--version").output().ok()?;
            String::from_utf8_lossy(&out.stdout)
                .contains("ntpsec")
                .then_some(p)
        });
        Ok(Programs {
            loadgen: dir.join("ntp-loadgen"),
            floor: dir.join("ntp-echo-floor"),
            ke_load: dir.join("ntp-ke-load"),
            ours: existing(dir.join("ntpd")),
            chronyd,
            ntpsec,
        })
    }

    /// The server program of `kind`, if found.
    pub fn server(&self, kind: ServerKind) -> Option<&Path> {
        match kind {
            ServerKind::Floor => self.floor.is_file().then_some(self.floor.as_path()),
            ServerKind::Ours => self.ours.as_deref(),
            ServerKind::Chronyd => self.chronyd.as_deref(),
            ServerKind::Ntpsec => self.ntpsec.as_deref(),
        }
    }
}

/// The reference/ntpsec `keys` file line for key 1.
fn ntp_keys(key: &MacKey) -> String {
    format!("{} {} {}\n", key.id, key.algo.name(), to_hex(&key.secret))
}

/// chrony's key file line for key 1 (`HEX:` marks a hex key).
fn chrony_keys(key: &MacKey) -> String {
    format!(
        "{} {} HEX:{}\n",
        key.id,
        key.algo.name(),
        to_hex(&key.secret)
    )
}

/// Restriction shared by both ntpd flavours: no `limited`, so no rate
/// limiting (ntpsec ignores `notrap` and `nopeer`).
const RESTRICT: &str = "restrict default kod nomodify notrap nopeer\nrestrict 127.0.0.1\n";

/// Whether the bench configures `kind` as an NTS server.
pub fn serves_nts(kind: ServerKind) -> bool {
    matches!(kind, ServerKind::Ours | ServerKind::Chronyd)
}

/// The NTS server configuration of `kind` (ours: `nts enable` with
/// certificate, key and cookie-key file; chronyd: `ntsserverkey`,
/// `ntsservercert`, NTS-KE in its main process), with a fresh test PKI.
fn nts_conf(kind: ServerKind, dir: &Path) -> io::Result<(String, PathBuf)> {
    let pki = pki::make(dir)?;
    let (cert, key, d) = (pki.cert.display(), pki.key.display(), dir.display());
    let conf = match kind {
        ServerKind::Ours => format!("nts enable cert {cert} key {key} cookie {d}/nts-keys\n"),
        ServerKind::Chronyd => {
            let dump = dir.join("ntsdump");
            fs::create_dir_all(&dump)?;
            format!(
                "ntsserverkey {key}\nntsservercert {cert}\nntsdumpdir {}\nntsprocesses 0\n",
                dump.display()
            )
        }
        _ => {
            return Err(io::Error::other(format!(
                "NTS is not configured for {} in this bench",
                kind.name()
            )))
        }
    };
    Ok((conf, pki.ca))
}

/// Writes the configuration of `kind` for `auth` into `dir` and returns
/// the program's arguments (after the program name) and, for NTS, the
/// CA certificate its clients trust.
fn configure(
    kind: ServerKind,
    auth: Auth,
    dir: &Path,
) -> io::Result<(Vec<String>, Option<PathBuf>)> {
    let d = dir.display();
    let key = auth.key();
    let write = |name: &str, text: &str| -> io::Result<String> {
        let p = dir.join(name);
        fs::write(&p, text)?;
        Ok(p.display().to_string())
    };
    let (nts, ca) = match auth {
        Auth::Nts => {
            let (conf, ca) = nts_conf(kind, dir)?;
            (conf, Some(ca))
        }
        _ => (String::new(), None),
    };
    let args = match kind {
        ServerKind::Floor => vec!["--listen".into(), "127.0.0.1:123".into()],
        ServerKind::Ours | ServerKind::Ntpsec => {
            let name = kind.name();
            let mut conf = format!(
                "disable ntp\ntos orphan 5 orphanwait 1\n{RESTRICT}logfile {d}/{name}.log\n"
            );
            if kind == ServerKind::Ntpsec {
                // ntpsec's built-in default restriction carries `limited`
                // (rate limiting with KoD) and a `restrict` line only adds
                // flags to it: remove them explicitly.
                conf.push_str(&format!(
                    "unrestrict default limited kod\ndisable kernel\nstatsdir {d}/\n"
                ));
            }
            if let Some(k) = &key {
                let keys = write("ntp.keys", &ntp_keys(k))?;
                conf.push_str(&format!("keys {keys}\ntrustedkey {}\n", k.id));
            }
            conf.push_str(&nts);
            let conf = write(&format!("{name}.conf"), &conf)?;
            vec!["-n".into(), "-x".into(), "-c".into(), conf]
        }
        ServerKind::Chronyd => {
            let mut conf = format!(
                "local stratum 8\nallow 127.0.0.0/8\nbindaddress 127.0.0.1\ncmdport 0\n\
                 pidfile {d}/chronyd.pid\n"
            );
            if let Some(k) = &key {
                let keys = write("chrony.keys", &chrony_keys(k))?;
                conf.push_str(&format!("keyfile {keys}\n"));
            }
            conf.push_str(&nts);
            let conf = write("chrony.conf", &conf)?;
            vec![
                "-d".into(),
                "-x".into(),
                "-u".into(),
                "root".into(),
                "-f".into(),
                conf,
            ]
        }
    };
    Ok((args, ca))
}

/// A server started by the runner; stopped (by its PID) on drop.
pub struct RunningServer {
    /// Which server program runs.
    pub kind: ServerKind,
    /// The authentication it was configured for (key 1 in its keys file).
    pub auth: Auth,
    /// With NTS, the CA certificate the load generator trusts.
    pub nts_ca: Option<PathBuf>,
    child: Child,
    log: PathBuf,
}

impl RunningServer {
    /// Starts `kind` inside `ns`, pinned to CPU `cpu` under `sched`,
    /// with CAP_SYS_TIME dropped from its bounding and inheritable sets,
    /// output in `dir`.
    pub fn start(
        kind: ServerKind,
        auth: Auth,
        program: &Path,
        ns: &Netns,
        dir: &Path,
        (cpu, sched): (u32, Sched),
    ) -> io::Result<RunningServer> {
        let (args, nts_ca) = configure(kind, auth, dir)?;
        let cpu = cpu.to_string();
        let sched = sched.argv();
        let program = program.display().to_string();
        let mut argv: Vec<&str> = vec![
            "setpriv",
            "--bounding-set",
            "-sys_time",
            "--inh-caps",
            "-sys_time",
            "--",
            "taskset",
            "-c",
            &cpu,
        ];
        argv.extend(sched.iter().map(String::as_str));
        argv.push(&program);
        argv.extend(args.iter().map(String::as_str));
        let log = dir.join(format!("{}-{}.out", kind.name(), auth));
        let out = fs::File::create(&log)?;
        let child = ns
            .command(&argv)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(RunningServer {
            kind,
            auth,
            nts_ca,
            child,
            log,
        })
    }

    /// The server's PID (every wrapper execs, so it is the server's own).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(message)` if the server has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "{} exited ({status}): {}",
                self.kind.name(),
                fs::read_to_string(&self.log).unwrap_or_default().trim()
            )),
            _ => None,
        }
    }

    /// Stops the server: SIGTERM, then SIGKILL after 3 s.
    pub fn stop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let t0 = Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) && t0.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_name_the_same_key() {
        let k = Auth::Sha1.key().unwrap();
        assert_eq!(k.secret.len(), 20);
        let hex = to_hex(&k.secret);
        assert_eq!(ntp_keys(&k), format!("1 SHA1 {hex}\n"));
        assert_eq!(chrony_keys(&k), format!("1 SHA1 HEX:{hex}\n"));
        assert_eq!(Auth::Md5.key().unwrap().secret.len(), 16);
        assert!(Auth::None.key().is_none());
    }

    #[test]
    fn configs_have_no_rate_limit_and_no_clock_control() {
        let dir = std::env::temp_dir().join(format!("ntp-bench-conf-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for kind in [ServerKind::Ours, ServerKind::Ntpsec] {
            let (args, _) = configure(kind, Auth::Md5, &dir).unwrap();
            assert_eq!(&args[..3], ["-n", "-x", "-c"]);
            let conf = fs::read_to_string(&args[3]).unwrap();
            assert!(conf.contains("disable ntp\n") && conf.contains("trustedkey 1\n"));
            assert!(
                conf.lines()
                    .all(|l| !l.starts_with("restrict") || !l.contains("limited")),
                "{conf}"
            );
        }
        let (args, _) = configure(ServerKind::Chronyd, Auth::None, &dir).unwrap();
        assert!(args.contains(&"-x".to_string()));
        let conf = fs::read_to_string(args.last().unwrap()).unwrap();
        assert!(conf.contains("local stratum 8") && !conf.contains("ratelimit"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nts_configs_name_the_test_pki() {
        if Command::new("openssl").arg("version").output().is_err() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "openssl command line missing under CI"
            );
            eprintln!("skipped: no openssl command line");
            return;
        }
        let dir = std::env::temp_dir().join(format!("ntp-bench-nts-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (args, ca) = configure(ServerKind::Ours, Auth::Nts, &dir).unwrap();
        let conf = fs::read_to_string(&args[3]).unwrap();
        let cert = dir.join("server.pem").display().to_string();
        assert!(
            conf.contains(&format!("nts enable cert {cert} key ")),
            "{conf}"
        );
        assert!(conf.contains("disable ntp\n") && !conf.contains("trustedkey"));
        assert_eq!(ca, Some(dir.join("ca.pem")));
        assert!(dir.join("ca.pem").is_file() && dir.join("server.key").is_file());
        let (args, ca) = configure(ServerKind::Chronyd, Auth::Nts, &dir).unwrap();
        let conf = fs::read_to_string(args.last().unwrap()).unwrap();
        assert!(conf.contains(&format!("ntsservercert {cert}\n")), "{conf}");
        assert!(conf.contains("ntsprocesses 0\n") && ca.is_some());
        assert!(configure(ServerKind::Ntpsec, Auth::Nts, &dir).is_err());
        assert!(!serves_nts(ServerKind::Floor) && serves_nts(ServerKind::Chronyd));
        fs::remove_dir_all(&dir).unwrap();
    }
}
