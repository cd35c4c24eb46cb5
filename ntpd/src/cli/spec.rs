//! The table of command-line options: short flag, long name, argument and
//! one-line help, in the order `--help` lists them. Names and letters follow
//! the reference ntpd 4.2.8p18 (ntpd-opts.def, debug-opt.def).

/// Which option a table row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptId {
    /// `-4`, `--ipv4`: resolve command-line host names to IPv4 only.
    Ipv4,
    /// `-6`, `--ipv6`: resolve command-line host names to IPv6 only.
    Ipv6,
    /// `-a`, `--authreq`: ephemeral associations must be authenticated.
    AuthReq,
    /// `-A`, `--authnoreq`: ephemeral associations need not be
    /// authenticated.
    AuthNoReq,
    /// `-b`, `--bcastsync`: synchronise to broadcast servers.
    BcastSync,
    /// `-c`, `--configfile FILE`: the configuration file (default
    /// `/etc/ntp.conf`).
    ConfigFile,
    /// `-d`, `--debug-level`: raise the debug level by one (repeatable).
    DebugLevel,
    /// `-D`, `--set-debug-level LEVEL`: set the debug level (repeatable).
    SetDebugLevel,
    /// `-f`, `--driftfile FILE`: the frequency file (`driftfile`, PPM).
    DriftFile,
    /// `-F`, `--syscall-filter LEVEL`: confine the daemon to the system
    /// calls it uses (seccomp, like chrony's `-F`): 1 kills it on any
    /// other call, -1 only logs such calls, 0 (the default) installs no
    /// filter.
    SyscallFilter,
    /// `-g`, `--panicgate`: allow one first offset beyond the panic
    /// threshold (1000 s).
    PanicGate,
    /// `-G`, `--force-step-once`: step the first offset correction
    /// whatever its size.
    ForceStepOnce,
    /// `-i`, `--jaildir DIR`: chroot to DIR after start-up.
    JailDir,
    /// `-I`, `--interface IFACE`: listen on this interface name or
    /// address (repeatable).
    Interface,
    /// `-k`, `--keyfile FILE`: the symmetric keys file (RFC 5905 §7.3).
    KeyFile,
    /// `-l`, `--logfile FILE`: log to FILE instead of syslog.
    LogFile,
    /// `-L`, `--novirtualips`: do not listen on virtual (alias)
    /// interfaces.
    NoVirtualIps,
    /// `-m`, `--mdns`: register with mDNS as an NTP server.
    Mdns,
    /// `-n`, `--nofork`: stay in the foreground.
    NoFork,
    /// `-N`, `--nice`: run at the highest scheduling priority.
    Nice,
    /// `-p`, `--pidfile FILE`: write the process ID to FILE.
    PidFile,
    /// `-P`, `--priority PRIO`: the process priority to run at.
    Priority,
    /// `-q`, `--quit`: set the time once and exit.
    Quit,
    /// `-r`, `--propagationdelay SECONDS`: the broadcast propagation
    /// delay, seconds.
    PropagationDelay,
    /// `--metrics ADDRESS:PORT`: serve Prometheus metrics over HTTP at
    /// ADDRESS:PORT (this daemon's own option, off by default).
    Metrics,
    /// `--saveconfigquit FILE`: write the parsed configuration to FILE
    /// and exit.
    SaveConfigQuit,
    /// `-s`, `--statsdir DIR`: where the statistics files go.
    StatsDir,
    /// `-t`, `--trustedkey KEYID`: trust this symmetric key ID, 1 to
    /// 65535 (repeatable).
    TrustedKey,
    /// `-u`, `--user USER[:GROUP]`: drop root for this user and group.
    User,
    /// `-U`, `--updateinterval SECONDS`: seconds between scans for new
    /// or dropped interfaces (0 disables the scan).
    UpdateInterval,
    /// `--var NAME=VALUE`: a read-write system variable for mode 6
    /// (RFC 9327) (repeatable).
    Var,
    /// `--dvar NAME=VALUE`: as `--var`, and in the default `readvar`
    /// list (repeatable).
    DVar,
    /// `-w`, `--wait-sync SECONDS`: the parent waits up to SECONDS for
    /// the first clock synchronisation before exiting.
    WaitSync,
    /// `-x`, `--slew`: raise the step threshold to 600 s, so offsets
    /// are slewed.
    Slew,
    /// `--version[=v|c|n]`: print the version and exit.
    Version,
    /// `-?`, `--help`: print the option list and exit.
    Help,
    /// `-!`, `--more-help`: the same as `--help`.
    MoreHelp,
}

/// The argument an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A flag.
    None,
    /// A required argument; the text names it in messages and help.
    Required(&'static str),
    /// `--version` takes an optional `=v|c|n`, only in `--name=value` form.
    Optional(&'static str),
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptSpec {
    /// Which option this row is.
    pub id: OptId,
    /// The short flag letter (`-c`), if the option has one.
    pub short: Option<char>,
    /// The long name without the leading `--` (`configfile`).
    pub long: &'static str,
    /// Whether it takes an argument, and the argument's name.
    pub arg: Arg,
    /// The one-line description `--help` prints.
    pub help: &'static str,
}

impl OptSpec {
    /// `-c/--configfile` style name for messages.
    pub fn display_name(&self) -> String {
        match self.short {
            Some(c) => format!("-{c}/--{}", self.long),
            None => format!("--{}", self.long),
        }
    }
}

const fn row(
    id: OptId,
    short: Option<char>,
    long: &'static str,
    arg: Arg,
    help: &'static str,
) -> OptSpec {
    OptSpec {
        id,
        short,
        long,
        arg,
        help,
    }
}

/// Every option, in `--help` order.
pub static OPTIONS: &[OptSpec] = &[
    row(
        OptId::Ipv4,
        Some('4'),
        "ipv4",
        Arg::None,
        "Force IPv4 DNS name resolution (not with -6)",
    ),
    row(
        OptId::Ipv6,
        Some('6'),
        "ipv6",
        Arg::None,
        "Force IPv6 DNS name resolution (not with -4)",
    ),
    row(
        OptId::AuthReq,
        Some('a'),
        "authreq",
        Arg::None,
        "Require crypto authentication (not with -A)",
    ),
    row(
        OptId::AuthNoReq,
        Some('A'),
        "authnoreq",
        Arg::None,
        "Do not require crypto authentication (not with -a)",
    ),
    row(
        OptId::BcastSync,
        Some('b'),
        "bcastsync",
        Arg::None,
        "Allow us to sync to broadcast servers",
    ),
    row(
        OptId::ConfigFile,
        Some('c'),
        "configfile",
        Arg::Required("FILE"),
        "Configuration file name (default /etc/ntp.conf)",
    ),
    row(
        OptId::DebugLevel,
        Some('d'),
        "debug-level",
        Arg::None,
        "Increase debug verbosity level (repeatable)",
    ),
    row(
        OptId::SetDebugLevel,
        Some('D'),
        "set-debug-level",
        Arg::Required("LEVEL"),
        "Set the debug verbosity level (repeatable)",
    ),
    row(
        OptId::DriftFile,
        Some('f'),
        "driftfile",
        Arg::Required("FILE"),
        "Frequency drift file name",
    ),
    row(
        OptId::SyscallFilter,
        Some('F'),
        "syscall-filter",
        Arg::Required("LEVEL"),
        "Seccomp filter of system calls: 1 kill on others, -1 log them, 0 off",
    ),
    row(
        OptId::PanicGate,
        Some('g'),
        "panicgate",
        Arg::None,
        "Allow the first adjustment to be big (repeatable)",
    ),
    row(
        OptId::ForceStepOnce,
        Some('G'),
        "force-step-once",
        Arg::None,
        "Step any initial offset correction",
    ),
    row(
        OptId::JailDir,
        Some('i'),
        "jaildir",
        Arg::Required("DIR"),
        "Chroot to this directory",
    ),
    row(
        OptId::Interface,
        Some('I'),
        "interface",
        Arg::Required("IFACE"),
        "Listen on an interface name or address (repeatable)",
    ),
    row(
        OptId::KeyFile,
        Some('k'),
        "keyfile",
        Arg::Required("FILE"),
        "Path to the symmetric keys file",
    ),
    row(
        OptId::LogFile,
        Some('l'),
        "logfile",
        Arg::Required("FILE"),
        "Path to the log file",
    ),
    row(
        OptId::NoVirtualIps,
        Some('L'),
        "novirtualips",
        Arg::None,
        "Do not listen on virtual interfaces",
    ),
    row(
        OptId::Mdns,
        Some('m'),
        "mdns",
        Arg::None,
        "Register with mDNS as an NTP server",
    ),
    row(
        OptId::Metrics,
        None,
        "metrics",
        Arg::Required("ADDR:PORT"),
        "Serve Prometheus metrics at ADDR:PORT, e.g. 127.0.0.1:9123 (off by default)",
    ),
    row(
        OptId::NoFork,
        Some('n'),
        "nofork",
        Arg::None,
        "Do not fork (not with -w)",
    ),
    row(
        OptId::Nice,
        Some('N'),
        "nice",
        Arg::None,
        "Run at high priority",
    ),
    row(
        OptId::PidFile,
        Some('p'),
        "pidfile",
        Arg::Required("FILE"),
        "Path to the PID file",
    ),
    row(
        OptId::Priority,
        Some('P'),
        "priority",
        Arg::Required("PRIO"),
        "Process priority",
    ),
    row(
        OptId::Quit,
        Some('q'),
        "quit",
        Arg::None,
        "Set the time and quit (not with --saveconfigquit, -w)",
    ),
    row(
        OptId::PropagationDelay,
        Some('r'),
        "propagationdelay",
        Arg::Required("SECONDS"),
        "Broadcast/propagation delay",
    ),
    row(
        OptId::SaveConfigQuit,
        None,
        "saveconfigquit",
        Arg::Required("FILE"),
        "Save the parsed configuration to FILE and quit (not with -q, -w)",
    ),
    row(
        OptId::StatsDir,
        Some('s'),
        "statsdir",
        Arg::Required("DIR"),
        "Statistics file location",
    ),
    row(
        OptId::TrustedKey,
        Some('t'),
        "trustedkey",
        Arg::Required("KEYID"),
        "Trusted key number (repeatable)",
    ),
    row(
        OptId::User,
        Some('u'),
        "user",
        Arg::Required("USER[:GROUP]"),
        "Run as this user (and group)",
    ),
    row(
        OptId::UpdateInterval,
        Some('U'),
        "updateinterval",
        Arg::Required("SECONDS"),
        "Seconds between scans for new or dropped interfaces",
    ),
    row(
        OptId::Var,
        None,
        "var",
        Arg::Required("NAME=VALUE"),
        "Make NAME an ntp variable (RW) (repeatable)",
    ),
    row(
        OptId::DVar,
        None,
        "dvar",
        Arg::Required("NAME=VALUE"),
        "Make NAME an ntp variable (RW|DEF) (repeatable)",
    ),
    row(
        OptId::WaitSync,
        Some('w'),
        "wait-sync",
        Arg::Required("SECONDS"),
        "Seconds to wait for first clock sync (not with -n, -q, --saveconfigquit)",
    ),
    row(
        OptId::Slew,
        Some('x'),
        "slew",
        Arg::None,
        "Slew up to 600 seconds",
    ),
    row(
        OptId::Version,
        None,
        "version",
        Arg::Optional("v|c|n"),
        "Output version information and exit",
    ),
    row(
        OptId::Help,
        Some('?'),
        "help",
        Arg::None,
        "Display usage information and exit",
    ),
    row(
        OptId::MoreHelp,
        Some('!'),
        "more-help",
        Arg::None,
        "Same as --help",
    ),
];

/// Options that may be given more than once (reference `max = NOLIMIT`);
/// every other option may appear at most once.
pub const REPEATABLE: &[OptId] = &[
    OptId::DebugLevel,
    OptId::SetDebugLevel,
    OptId::PanicGate,
    OptId::Interface,
    OptId::TrustedKey,
    OptId::Var,
    OptId::DVar,
];

/// Pairs of options that cannot be used together (reference `flags-cant`).
pub const CONFLICTS: &[(OptId, OptId)] = &[
    (OptId::Ipv4, OptId::Ipv6),
    (OptId::AuthReq, OptId::AuthNoReq),
    (OptId::NoFork, OptId::WaitSync),
    (OptId::Quit, OptId::SaveConfigQuit),
    (OptId::Quit, OptId::WaitSync),
    (OptId::SaveConfigQuit, OptId::WaitSync),
];

/// The table row of an option.
pub fn spec(id: OptId) -> &'static OptSpec {
    // Every OptId has exactly one row (checked by a unit test); the first
    // row is a harmless fallback that is never reached.
    OPTIONS.iter().find(|s| s.id == id).unwrap_or(&OPTIONS[0])
}

/// The `--help` text.
pub fn usage() -> String {
    let mut out = String::from(
        "ntpd - NTP daemon program\n\
         Usage:  ntpd [ -<flag> [<val>] | --<name>[{=| }<val>] ]... [ <server1> ... <serverN> ]\n\
         \x20 Flg Option-Name                      Description\n",
    );
    for s in OPTIONS {
        let flag = s
            .short
            .map_or_else(|| "   ".to_owned(), |c| format!(" -{c}"));
        let name = match s.arg {
            Arg::None => s.long.to_owned(),
            Arg::Required(a) => format!("{} {a}", s.long),
            Arg::Optional(a) => format!("{}[={a}]", s.long),
        };
        out.push_str(&format!("  {flag} {name:<32} {}\n", s.help));
    }
    out.push_str(
        "\nLong options may be abbreviated to a unique prefix; short flags may be\n\
         combined (-nx) and take their value attached or separate (-cFILE, -c FILE).\n",
    );
    out.push_str(&format!(
        "\nNot built in this version, refused with a message naming the option: {}, and -U/--updateinterval above 0 (interfaces are listed once, at start-up).\n",
        not_built().join(", ")
    ));
    out
}

/// The options of the table this build refuses (`-G/--force-step-once`, ...).
fn not_built() -> Vec<String> {
    OPTIONS
        .iter()
        .filter(|s| !super::support::SUPPORTED.contains(&s.id))
        .map(|s| match s.short {
            Some(c) => format!("-{c}/--{}", s.long),
            None => format!("--{}", s.long),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (i, a) in OPTIONS.iter().enumerate() {
            assert!(std::ptr::eq(spec(a.id), a), "{:?} has one row", a.id);
            for b in &OPTIONS[i + 1..] {
                assert_ne!(a.long, b.long);
                assert!(a.short.is_none() || a.short != b.short, "{:?}", a.short);
            }
        }
    }

    #[test]
    fn usage_names_exactly_the_refused_options() {
        let text = usage();
        assert!(!text.contains("every other"), "{text}");
        assert!(
            text.contains("-G/--force-step-once") && text.contains("-m/--mdns"),
            "{text}"
        );
        assert!(!text.contains("-n/--nofork"), "{text}");
    }

    #[test]
    fn usage_lists_every_option() {
        let text = usage();
        for s in OPTIONS {
            assert!(text.contains(&format!(" {}", s.long)), "{}", s.long);
            if let Some(c) = s.short {
                assert!(text.contains(&format!(" -{c} {}", s.long)), "-{c}");
            }
        }
    }
}
