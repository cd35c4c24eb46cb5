//! Command-line parsing with the reference's (AutoOpts) conventions:
//! short flags combine (`-nx`) and take their value attached or as the next
//! argument (`-cFILE`, `-c FILE`); long options take `--name=value` or
//! `--name value`, ignore letter case, treat `_` as `-` and may be shortened
//! to a unique prefix; `--` ends the options; other arguments are servers.
//! `--help` and `--version` act when they are reached.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use super::options::{AuthRequirement, Command, Options, UserSpec};
use super::spec::{spec, Arg, OptId, OptSpec, CONFLICTS, OPTIONS, REPEATABLE};

/// A command line that cannot be used. `Display` is one line naming the
/// option and the fix (without the `ntpd: ` prefix).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CliError {
    /// A short flag (`-X`) that is not in the option table.
    #[error("unknown option -{0}; run `ntpd --help` for the list of options")]
    UnknownShort(char),
    /// A long option (`--name`) that no table entry matches, even as a
    /// prefix.
    #[error("unknown option --{0}; run `ntpd --help` for the list of options")]
    UnknownLong(String),
    #[error(
        "option --{given} is ambiguous ({}); type more of the name",
        list_names(candidates)
    )]
    /// A shortened long option that is a prefix of several long names.
    AmbiguousLong {
        /// The name as typed, without the leading `--`.
        given: String,
        /// Every long name that `given` is a prefix of.
        candidates: Vec<&'static str>,
    },
    /// An option that requires an argument was last on the command line.
    #[error("option {} needs a value; write {}", opt.display_name(), example(opt))]
    MissingValue {
        /// The option missing its argument.
        opt: &'static OptSpec,
    },
    /// A flag written `--name=value` although it takes no argument.
    #[error("option {} takes no value; remove `={value}`", opt.display_name())]
    UnexpectedValue {
        /// The flag that was given a value.
        opt: &'static OptSpec,
        /// The text after the `=`.
        value: String,
    },
    /// An option argument that does not parse (not a number, out of
    /// range, not a key ID, ...).
    #[error("option {}: `{value}` is not valid; expected {expected}", opt.display_name())]
    BadValue {
        /// The option whose argument is wrong.
        opt: &'static OptSpec,
        /// The argument as given.
        value: String,
        /// What the option accepts, for the message (`a number of seconds`).
        expected: &'static str,
    },
    /// Two options the reference refuses together (`-4` with `-6`, `-a`
    /// with `-A`, `-n`/`-q`/`--saveconfigquit` with `-w`, ...).
    #[error("options {} and {} cannot be used together; drop one of them", first.display_name(), second.display_name())]
    Conflict {
        /// The option listed first in the conflict table.
        first: &'static OptSpec,
        /// The option it cannot be combined with.
        second: &'static OptSpec,
    },
    /// A non-option argument that is neither a host name nor an address.
    #[error("operand `{0}` is not a server; expected a server name or address (options start with -, see `ntpd --help`)")]
    BadOperand(String),
    /// A non-repeatable option given twice.
    #[error("option {} may be given only once; keep one of them", opt.display_name())]
    Repeated {
        /// The option given more than once.
        opt: &'static OptSpec,
    },
    /// An argument that is not valid UTF-8 (the raw argument is kept).
    #[error("argument `{}` is not valid UTF-8; expected a UTF-8 command line", .0.to_string_lossy())]
    NotUtf8(OsString),
}

fn list_names(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("--{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn example(opt: &OptSpec) -> String {
    let arg = match opt.arg {
        Arg::Required(a) | Arg::Optional(a) => a,
        Arg::None => "",
    };
    match opt.short {
        Some(c) => format!("-{c} {arg} or --{}={arg}", opt.long),
        None => format!("--{} {arg} or --{}={arg}", opt.long, opt.long),
    }
}

/// Parse the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Command, CliError>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut args = args
        .into_iter()
        .map(|a| {
            let a: OsString = a.into();
            a.into_string().map_err(CliError::NotUtf8)
        })
        .collect::<Result<Vec<String>, CliError>>()?
        .into_iter();
    let mut opts = Options::default();
    let mut seen: Vec<OptId> = Vec::new();
    let mut operands_only = false;

    while let Some(arg) = args.next() {
        if operands_only || arg == "-" || !arg.starts_with('-') {
            add_server(&mut opts, arg)?;
            continue;
        }
        if arg == "--" {
            operands_only = true;
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let opt = lookup_long(name)?;
            let value = match (opt.arg, inline) {
                (Arg::None, Some(value)) => return Err(CliError::UnexpectedValue { opt, value }),
                (Arg::None, None) | (Arg::Optional(_), None) => None,
                (Arg::Optional(_), Some(v)) => Some(v),
                (Arg::Required(_), Some(v)) => Some(v),
                (Arg::Required(_), None) => {
                    Some(args.next().ok_or(CliError::MissingValue { opt })?)
                }
            };
            note_seen(&mut seen, opt)?;
            if let Some(cmd) = apply(&mut opts, opt, value)? {
                return Ok(cmd);
            }
            continue;
        }
        // A cluster of short flags; `arg` starts with '-' and is longer than 1.
        let cluster: Vec<char> = arg.chars().skip(1).collect();
        let mut i = 0;
        while let Some(&c) = cluster.get(i) {
            let opt = lookup_short(c)?;
            i += 1;
            let value = match opt.arg {
                Arg::None | Arg::Optional(_) => None,
                Arg::Required(_) => {
                    let rest: String = cluster.get(i..).unwrap_or_default().iter().collect();
                    i = cluster.len();
                    if rest.is_empty() {
                        Some(args.next().ok_or(CliError::MissingValue { opt })?)
                    } else {
                        Some(rest)
                    }
                }
            };
            note_seen(&mut seen, opt)?;
            if let Some(cmd) = apply(&mut opts, opt, value)? {
                return Ok(cmd);
            }
        }
    }
    for &(a, b) in CONFLICTS {
        if seen.contains(&a) && seen.contains(&b) {
            return Err(CliError::Conflict {
                first: spec(a),
                second: spec(b),
            });
        }
    }
    Ok(Command::Run(Box::new(opts)))
}

fn note_seen(seen: &mut Vec<OptId>, opt: &'static OptSpec) -> Result<(), CliError> {
    if seen.contains(&opt.id) && !REPEATABLE.contains(&opt.id) {
        return Err(CliError::Repeated { opt });
    }
    seen.push(opt.id);
    Ok(())
}

fn lookup_short(c: char) -> Result<&'static OptSpec, CliError> {
    OPTIONS
        .iter()
        .find(|s| s.short == Some(c))
        .ok_or(CliError::UnknownShort(c))
}

fn lookup_long(name: &str) -> Result<&'static OptSpec, CliError> {
    let wanted = name.to_ascii_lowercase().replace('_', "-");
    if wanted.is_empty() {
        return Err(CliError::UnknownLong(name.to_owned()));
    }
    if let Some(s) = OPTIONS.iter().find(|s| s.long == wanted) {
        return Ok(s);
    }
    let matches: Vec<&'static OptSpec> = OPTIONS
        .iter()
        .filter(|s| s.long.starts_with(&wanted))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::UnknownLong(name.to_owned())),
        many => Err(CliError::AmbiguousLong {
            given: name.to_owned(),
            candidates: many.iter().map(|s| s.long).collect(),
        }),
    }
}

fn add_server(opts: &mut Options, arg: String) -> Result<(), CliError> {
    if arg.is_empty() || arg == "-" {
        return Err(CliError::BadOperand(arg));
    }
    opts.servers.push(arg);
    Ok(())
}

fn bad(opt: &'static OptSpec, value: &str, expected: &'static str) -> CliError {
    CliError::BadValue {
        opt,
        value: value.to_owned(),
        expected,
    }
}

/// An AutoOpts number: optional sign, then decimal digits or `0x` hex.
fn parse_number(text: &str) -> Option<i64> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            i64::from_str_radix(hex, 16).ok()?
        }
        Some(_) => return None,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<i64>().ok()?
        }
        None => return None,
    };
    Some(if neg { -magnitude } else { magnitude })
}

fn path(opt: &'static OptSpec, value: String) -> Result<PathBuf, CliError> {
    if value.is_empty() {
        return Err(bad(opt, &value, "a non-empty path"));
    }
    Ok(PathBuf::from(value))
}

fn text(opt: &'static OptSpec, value: String, expected: &'static str) -> Result<String, CliError> {
    if value.is_empty() {
        return Err(bad(opt, &value, expected));
    }
    Ok(value)
}

/// Record one option. Returns a command when the option ends parsing.
fn apply(
    opts: &mut Options,
    opt: &'static OptSpec,
    value: Option<String>,
) -> Result<Option<Command>, CliError> {
    let value_or_missing = |value: Option<String>| value.ok_or(CliError::MissingValue { opt });
    match opt.id {
        OptId::Help | OptId::MoreHelp => return Ok(Some(Command::Help)),
        OptId::Version => {
            if let Some(v) = value {
                if !matches!(v.chars().next(), Some('v' | 'c' | 'n')) {
                    return Err(bad(
                        opt,
                        &v,
                        "v (version), c (copyright) or n (full notice)",
                    ));
                }
            }
            return Ok(Some(Command::Version));
        }
        OptId::Ipv4 => opts.ipv4_only = true,
        OptId::Ipv6 => opts.ipv6_only = true,
        OptId::AuthReq => opts.auth = Some(AuthRequirement::Required),
        OptId::AuthNoReq => opts.auth = Some(AuthRequirement::NotRequired),
        OptId::BcastSync => opts.bcast_sync = true,
        OptId::ConfigFile => opts.config_file = Some(path(opt, value_or_missing(value)?)?),
        OptId::DebugLevel => opts.debug_level = opts.debug_level.saturating_add(1),
        OptId::SetDebugLevel => {
            let v = value_or_missing(value)?;
            opts.debug_level = parse_number(&v)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad(opt, &v, "a debug level, a whole number of 0 or more"))?;
        }
        OptId::DriftFile => opts.drift_file = Some(path(opt, value_or_missing(value)?)?),
        OptId::PanicGate => opts.panic_gate = true,
        OptId::ForceStepOnce => opts.force_step_once = true,
        OptId::JailDir => opts.jail_dir = Some(path(opt, value_or_missing(value)?)?),
        OptId::Interface => {
            let v = text(
                opt,
                value_or_missing(value)?,
                "an interface name or address",
            )?;
            opts.interfaces.push(v);
        }
        OptId::KeyFile => opts.key_file = Some(path(opt, value_or_missing(value)?)?),
        OptId::LogFile => opts.log_file = Some(path(opt, value_or_missing(value)?)?),
        OptId::NoVirtualIps => opts.no_virtual_ips = true,
        OptId::Mdns => opts.mdns = true,
        OptId::NoFork => opts.no_fork = true,
        OptId::Nice => opts.nice = true,
        OptId::PidFile => opts.pid_file = Some(path(opt, value_or_missing(value)?)?),
        OptId::Priority => {
            let v = value_or_missing(value)?;
            opts.priority = Some(parse_number(&v).ok_or_else(|| bad(opt, &v, "a whole number"))?);
        }
        OptId::Quit => opts.quit = true,
        OptId::PropagationDelay => {
            let v = value_or_missing(value)?;
            let delay = v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|d| d.is_finite() && *d >= 0.0)
                .ok_or_else(|| bad(opt, &v, "a delay in seconds, e.g. 0.004"))?;
            opts.propagation_delay = Some(delay);
        }
        OptId::Metrics => {
            let v = value_or_missing(value)?;
            let addr = v
                .parse::<std::net::SocketAddr>()
                .ok()
                .filter(|a| a.port() != 0)
                .ok_or_else(|| {
                    bad(
                        opt,
                        &v,
                        "an IP address and port such as 127.0.0.1:9123 or [::1]:9123",
                    )
                })?;
            opts.metrics_listen = Some(addr);
        }
        OptId::SaveConfigQuit => opts.save_config_quit = Some(path(opt, value_or_missing(value)?)?),
        OptId::StatsDir => opts.stats_dir = Some(path(opt, value_or_missing(value)?)?),
        OptId::TrustedKey => {
            let v = value_or_missing(value)?;
            let id = v
                .parse::<u16>()
                .ok()
                .filter(|&id| id != 0 && v.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| bad(opt, &v, "a key id from 1 to 65535"))?;
            opts.trusted_keys.push(id);
        }
        OptId::User => {
            let v = value_or_missing(value)?;
            let spec = match v.rsplit_once(':') {
                Some((user, group)) => UserSpec {
                    user: user.to_owned(),
                    group: Some(group.to_owned()),
                },
                None => UserSpec {
                    user: v.clone(),
                    group: None,
                },
            };
            if spec.user.is_empty() || spec.group.as_deref() == Some("") {
                return Err(bad(opt, &v, "USER or USER:GROUP, both non-empty"));
            }
            opts.user = Some(spec);
        }
        OptId::UpdateInterval => {
            let v = value_or_missing(value)?;
            let secs = parse_number(&v)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad(opt, &v, "seconds, 0 or more (0 disables interface scans)"))?;
            opts.update_interval = Some(secs);
        }
        OptId::Var => opts
            .vars
            .push(text(opt, value_or_missing(value)?, "NAME=VALUE")?),
        OptId::DVar => opts
            .dvars
            .push(text(opt, value_or_missing(value)?, "NAME=VALUE")?),
        OptId::WaitSync => {
            let v = value_or_missing(value)?;
            opts.wait_sync =
                Some(parse_number(&v).ok_or_else(|| bad(opt, &v, "seconds, a whole number"))?);
        }
        OptId::Slew => opts.slew = true,
        OptId::SyscallFilter => {
            let v = value_or_missing(value)?;
            opts.syscall_filter = parse_number(&v)
                .filter(|n| (-1..=1).contains(n))
                .and_then(|n| i8::try_from(n).ok())
                .ok_or_else(|| bad(opt, &v, "1 (kill on other calls), -1 (log them) or 0 (off)"))?;
        }
    }
    Ok(None)
}

/// Reference AutoOpts also reads options from the environment (`NTPD` and
/// `NTPD_<OPTION_NAME>`). This build does not; a set variable is refused so
/// that it is not silently ignored. Returns the first such variable.
pub fn env_preset<I>(vars: I) -> Option<String>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    vars.into_iter()
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .find(|k| {
            k == "NTPD"
                || k.strip_prefix("NTPD_").is_some_and(|name| {
                    OPTIONS
                        .iter()
                        .any(|s| s.long.to_ascii_uppercase().replace('-', "_") == name)
                })
        })
}

/// The message for [`env_preset`].
pub struct EnvPresetRefused(pub String);

impl fmt::Display for EnvPresetRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "presetting options through the environment variable {} is not supported; unset it and give the option on the command line",
            self.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        match parse(args.iter().copied()) {
            Ok(Command::Run(o)) => *o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn err(args: &[&str]) -> String {
        parse(args.iter().copied())
            .expect_err(&format!("{args:?}"))
            .to_string()
    }

    #[test]
    fn short_forms() {
        let o = run(&["-nx", "-cFILE", "-k", "/etc/ntp.keys", "-dd", "-D3", "-d"]);
        assert!(o.no_fork && o.slew);
        assert_eq!(o.config_file, Some(PathBuf::from("FILE")));
        assert_eq!(o.key_file, Some(PathBuf::from("/etc/ntp.keys")));
        assert_eq!(o.debug_level, 4);
        let o = run(&["-nc", "/etc/ntp.conf", "-gq"]);
        assert!(o.no_fork && o.panic_gate && o.quit);
        assert_eq!(o.config_file, Some(PathBuf::from("/etc/ntp.conf")));
    }

    #[test]
    fn long_forms() {
        let o = run(&[
            "--configfile=/a",
            "--keyfile",
            "/b",
            "--NOFORK",
            "--force_step_once",
            "--panicg",
        ]);
        assert_eq!(o.config_file, Some(PathBuf::from("/a")));
        assert_eq!(o.key_file, Some(PathBuf::from("/b")));
        assert!(o.no_fork && o.force_step_once && o.panic_gate);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("12"), Some(12));
        assert_eq!(parse_number("-3"), Some(-3));
        assert_eq!(parse_number("0x1f"), Some(31));
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("1.5"), None);
        assert_eq!(parse_number("0x"), None);
        assert_eq!(run(&["-P", "-5"]).priority, Some(-5));
    }

    #[test]
    fn user_splits_at_last_colon() {
        let o = run(&["-u", "ntp:ntp"]);
        assert_eq!(
            o.user,
            Some(UserSpec {
                user: "ntp".into(),
                group: Some("ntp".into())
            })
        );
        assert_eq!(run(&["-u", "a:b:c"]).user.unwrap().user, "a:b");
        assert!(err(&["-u", "ntp:"]).contains("USER or USER:GROUP"));
    }

    #[test]
    fn help_and_version_act_when_reached() {
        assert_eq!(parse(["--help", "--bogus"]), Ok(Command::Help));
        assert_eq!(parse(["-?"]), Ok(Command::Help));
        assert_eq!(parse(["--version"]), Ok(Command::Version));
        assert_eq!(parse(["--vers=c"]), Ok(Command::Version));
        assert!(parse(["--bogus", "--help"]).is_err());
    }

    #[test]
    fn errors_name_the_flag_and_the_fix() {
        assert_eq!(
            err(&["-z"]),
            "unknown option -z; run `ntpd --help` for the list of options"
        );
        assert_eq!(
            err(&["--frob"]),
            "unknown option --frob; run `ntpd --help` for the list of options"
        );
        assert_eq!(
            err(&["--no"]),
            "option --no is ambiguous (--novirtualips, --nofork); type more of the name"
        );
        assert_eq!(
            err(&["-c"]),
            "option -c/--configfile needs a value; write -c FILE or --configfile=FILE"
        );
        assert_eq!(
            err(&["--nofork=1"]),
            "option -n/--nofork takes no value; remove `=1`"
        );
        assert_eq!(
            err(&["-t", "0"]),
            "option -t/--trustedkey: `0` is not valid; expected a key id from 1 to 65535"
        );
        assert_eq!(
            err(&["-t", "65536"]),
            "option -t/--trustedkey: `65536` is not valid; expected a key id from 1 to 65535"
        );
        assert_eq!(err(&["-U", "-1"]), "option -U/--updateinterval: `-1` is not valid; expected seconds, 0 or more (0 disables interface scans)");
        assert_eq!(err(&["-r", "fast"]), "option -r/--propagationdelay: `fast` is not valid; expected a delay in seconds, e.g. 0.004");
        assert_eq!(
            err(&["-4", "-6"]),
            "options -4/--ipv4 and -6/--ipv6 cannot be used together; drop one of them"
        );
        assert_eq!(
            err(&["-q", "--saveconfigquit", "x"]),
            "options -q/--quit and --saveconfigquit cannot be used together; drop one of them"
        );
        assert_eq!(
            err(&["-n", "-w", "5"]),
            "options -n/--nofork and -w/--wait-sync cannot be used together; drop one of them"
        );
        assert_eq!(err(&["--version=x"]), "option --version: `x` is not valid; expected v (version), c (copyright) or n (full notice)");
    }

    #[test]
    fn empty_and_dash_operands_are_refused() {
        assert_eq!(
            err(&["-"]),
            "operand `-` is not a server; expected a server name or address (options start with -, see `ntpd --help`)"
        );
        assert!(err(&[""]).starts_with("operand `` is not a server"));
    }

    #[test]
    fn single_options_may_not_repeat() {
        assert_eq!(
            err(&["-c", "a", "--configfile=b"]),
            "option -c/--configfile may be given only once; keep one of them"
        );
        assert_eq!(
            err(&["-nn"]),
            "option -n/--nofork may be given only once; keep one of them"
        );
        assert_eq!(run(&["-gg", "-dd"]).debug_level, 2);
    }

    #[test]
    fn operands_are_servers() {
        let o = run(&["ntp1.example", "-n", "--", "-weird"]);
        assert_eq!(
            o.servers,
            vec!["ntp1.example".to_owned(), "-weird".to_owned()]
        );
        assert!(o.no_fork);
    }

    #[test]
    fn repeatable_options_accumulate() {
        let o = run(&[
            "-t",
            "1",
            "-t2",
            "-I",
            "eth0",
            "-I",
            "192.0.2.1",
            "--var",
            "a=1",
            "--dvar",
            "b=2",
        ]);
        assert_eq!(o.trusted_keys, vec![1, 2]);
        assert_eq!(
            o.interfaces,
            vec!["eth0".to_owned(), "192.0.2.1".to_owned()]
        );
        assert_eq!(o.vars, vec!["a=1".to_owned()]);
        assert_eq!(o.dvars, vec!["b=2".to_owned()]);
    }

    #[test]
    fn env_presets_are_found() {
        let vars = |k: &str| {
            vec![
                (OsString::from("PATH"), OsString::from("/bin")),
                (OsString::from(k), OsString::from("x")),
            ]
        };
        assert_eq!(
            env_preset(vars("NTPD_CONFIGFILE")),
            Some("NTPD_CONFIGFILE".to_owned())
        );
        assert_eq!(
            env_preset(vars("NTPD_WAIT_SYNC")),
            Some("NTPD_WAIT_SYNC".to_owned())
        );
        assert_eq!(env_preset(vars("NTPD")), Some("NTPD".to_owned()));
        assert_eq!(env_preset(vars("NTPD_UNRELATED")), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_arguments_never_panic(args in proptest::collection::vec("[-a-zA-Z0-9=_:./?!]{0,12}", 0..8)) {
            let _ = parse(args.iter().map(String::as_str));
        }

        #[test]
        fn short_clusters_equal_separate_flags(flags in proptest::collection::vec(proptest::sample::select(vec!['4', 'a', 'b', 'd', 'g', 'G', 'L', 'm', 'n', 'N', 'q', 'x']), 1..6)) {
            let cluster: String = std::iter::once('-').chain(flags.iter().copied()).collect();
            let separate: Vec<String> = flags.iter().map(|c| format!("-{c}")).collect();
            proptest::prop_assert_eq!(parse([cluster]), parse(separate));
        }
    }
}
