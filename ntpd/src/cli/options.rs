//! Everything the reference ntpd 4.2.8p18 command line can say, as one
//! typed struct (ntpd(8), ntpd-opts.def). Parsing is in [`super::parse`];
//! which options this build can act on is decided in [`super::support`].

use std::path::PathBuf;

/// `-a` / `-A`: whether ephemeral associations (broadcast/multicast client,
/// symmetric passive) must be authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRequirement {
    /// `-a`, `--authreq` (the reference default).
    Required,
    /// `-A`, `--authnoreq`.
    NotRequired,
}

/// `-u USER[:GROUP]`: split at the last `:`, as the reference does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    /// The user name or numeric UID before the last `:` (the whole
    /// argument when there is no `:`).
    pub user: String,
    /// The group name or numeric GID after the last `:`; `None` runs with
    /// the user's primary group.
    pub group: Option<String>,
}

/// The parsed command line. `None` / empty / `false` means the option was
/// not given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Options {
    /// `-4`, `--ipv4`: resolve command-line host names to IPv4 only.
    pub ipv4_only: bool,
    /// `-6`, `--ipv6`: resolve command-line host names to IPv6 only.
    pub ipv6_only: bool,
    /// `-a` / `-A`.
    pub auth: Option<AuthRequirement>,
    /// `-b`, `--bcastsync`: synchronise to broadcast servers.
    pub bcast_sync: bool,
    /// `-c`, `--configfile`.
    pub config_file: Option<PathBuf>,
    /// `-d` (adds one) and `-D N` (sets), applied in command-line order.
    pub debug_level: u32,
    /// `-f`, `--driftfile`.
    pub drift_file: Option<PathBuf>,
    /// `-F`, `--syscall-filter`: the seccomp level, 1, -1 or 0 (none).
    pub syscall_filter: i8,
    /// `-g`, `--panicgate`: allow the first adjustment to exceed the panic
    /// threshold. May be repeated; only presence matters.
    pub panic_gate: bool,
    /// `-G`, `--force-step-once`.
    pub force_step_once: bool,
    /// `-i`, `--jaildir`: chroot directory.
    pub jail_dir: Option<PathBuf>,
    /// `-I`, `--interface`: listen only on these names/addresses (repeatable).
    pub interfaces: Vec<String>,
    /// `-k`, `--keyfile`: symmetric keys file.
    pub key_file: Option<PathBuf>,
    /// `-l`, `--logfile`.
    pub log_file: Option<PathBuf>,
    /// `-L`, `--novirtualips`.
    pub no_virtual_ips: bool,
    /// `-m`, `--mdns`: register with mDNS.
    pub mdns: bool,
    /// `-n`, `--nofork`.
    pub no_fork: bool,
    /// `-N`, `--nice`: run at high priority.
    pub nice: bool,
    /// `-p`, `--pidfile`.
    pub pid_file: Option<PathBuf>,
    /// `-P`, `--priority`: process priority.
    pub priority: Option<i64>,
    /// `-q`, `--quit`: set the time once and exit.
    pub quit: bool,
    /// `-r`, `--propagationdelay`: broadcast delay in seconds.
    pub propagation_delay: Option<f64>,
    /// `--metrics ADDRESS:PORT`: serve Prometheus metrics there (this
    /// daemon's own option; `metrics_listen` in ntp.conf).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `--saveconfigquit FILE`.
    pub save_config_quit: Option<PathBuf>,
    /// `-s`, `--statsdir`.
    pub stats_dir: Option<PathBuf>,
    /// `-t`, `--trustedkey` (repeatable), each 1..=65535.
    pub trusted_keys: Vec<u16>,
    /// `-u`, `--user`.
    pub user: Option<UserSpec>,
    /// `-U`, `--updateinterval`: seconds between interface scans (0 = off).
    pub update_interval: Option<u32>,
    /// `--var NAME=VALUE` (repeatable): read-write system variable.
    pub vars: Vec<String>,
    /// `--dvar NAME=VALUE` (repeatable): read-write default system variable.
    pub dvars: Vec<String>,
    /// `-w`, `--wait-sync`: seconds the parent waits for the first sync.
    pub wait_sync: Option<i64>,
    /// `-x`, `--slew`: step threshold 600 s.
    pub slew: bool,
    /// Operands: servers given on the command line.
    pub servers: Vec<String>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run with these options.
    Run(Box<Options>),
    /// `--help`, `-?`, `--more-help`, `-!`: print the usage and exit 0.
    Help,
    /// `--version[=v|c|n]`: print the version line and exit 0.
    Version,
}
