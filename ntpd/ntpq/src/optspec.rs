//! The table of ntpq's command-line options (the reference ntpq 4.2.8's
//! `-4 -6 -c -d -i -k -n -p -w`): the parser in `cli` looks options up
//! here, `--help` is printed from it, and ntpq(1) is generated from it
//! (`ntpd/man`), so the three cannot disagree. No dependencies, so that
//! the man page generator can include this file as it is.

/// One option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptSpec {
    /// The short flag letter (`-c`).
    pub short: char,
    /// The long name without `--` (`command`).
    pub long: &'static str,
    /// The argument's name, for options that take one.
    pub arg: Option<&'static str>,
    /// The one-line description.
    pub help: &'static str,
}

const fn row(
    short: char,
    long: &'static str,
    arg: Option<&'static str>,
    help: &'static str,
) -> OptSpec {
    OptSpec {
        short,
        long,
        arg,
        help,
    }
}

/// Every option, in `--help` order.
pub const OPTIONS: &[OptSpec] = &[
    row(
        '4',
        "ipv4",
        None,
        "use IPv4 addresses for the following hosts",
    ),
    row(
        '6',
        "ipv6",
        None,
        "use IPv6 addresses for the following hosts",
    ),
    row(
        'c',
        "command",
        Some("command"),
        "run command (repeatable; runs instead of the interactive prompt)",
    ),
    row('d', "debug-level", None, "more debugging output"),
    row(
        'i',
        "interactive",
        None,
        "interactive prompt even without a terminal",
    ),
    row(
        'k',
        "keyfile",
        Some("keyfile"),
        "keys for authenticated requests (see the keyid command)",
    ),
    row(
        'n',
        "numeric",
        None,
        "numeric host addresses (always the case here)",
    ),
    row('p', "peers", None, "print the peer list (same as -c peers)"),
    row('w', "wide", None, "wide remote names in the peer list"),
    row('?', "help", None, "print this list and exit"),
];

/// The operand, after the options.
pub const OPERAND: (&str, &str) = (
    "host[:port]",
    "servers to query (default localhost); the port is for tests",
);

/// The row of `-c`-style letter `short`.
pub fn by_short(short: char) -> Option<&'static OptSpec> {
    OPTIONS.iter().find(|o| o.short == short)
}

/// The row of `--long`.
pub fn by_long(long: &str) -> Option<&'static OptSpec> {
    OPTIONS.iter().find(|o| o.long == long)
}

/// The text `ntpq -?` / `ntpq --help` prints.
pub fn usage() -> String {
    let flags: String = OPTIONS
        .iter()
        .filter(|o| o.arg.is_none() && o.short != '?')
        .map(|o| o.short)
        .collect();
    let mut out = format!("usage: ntpq [-{flags}]");
    for o in OPTIONS.iter().filter(|o| o.arg.is_some()) {
        let arg = o.arg.unwrap_or_default();
        let repeat = if o.short == 'c' { "..." } else { "" };
        out.push_str(&format!(" [-{} {arg}]{repeat}", o.short));
    }
    out.push_str(&format!(" [{}...]\n", OPERAND.0));
    for o in OPTIONS {
        let left = match o.arg {
            Some(a) => format!("-{} {a}", o.short),
            None => format!("-{}", o.short),
        };
        out.push_str(&format!("  {left:<13} {} (--{})\n", o.help, o.long));
    }
    out.push_str(&format!("  {:<13} {}", OPERAND.0, OPERAND.1));
    out
}
