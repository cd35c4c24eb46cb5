//! Command line options of ntpq (the reference's `-4 -6 -c -d -i -n -p -w`),
//! keeping the order of `-c` and `-p` commands. Options are looked up in
//! the table of [`crate::optspec`], which `--help` and ntpq(1) print.

use crate::optspec::{self, OptSpec};
use crate::transport::Family;

/// Parsed options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// `-c` commands, and `peers` for each `-p`, in command-line order.
    pub commands: Vec<String>,
    /// Servers to query (`host[:port]`), each with the address family the
    /// preceding `-4`/`-6` selected.
    pub hosts: Vec<(String, Family)>,
    /// `-w`: wide remote names in the peer list.
    pub wide: bool,
    /// `-i`: prompt even when standard input is not a terminal.
    pub interactive: bool,
    /// `-d` count: the debug level.
    pub debug: u32,
    /// `-?` or `--help`: print [`optspec::usage`] and exit.
    pub help: bool,
    /// `-k`: the keys file for authenticated requests.
    pub keyfile: Option<std::path::PathBuf>,
}

/// Parses the arguments after the program name. Short options may be
/// clustered (`-np`); `-c` and `-k` take the rest of their word or the
/// next word; long options take `--name value` or `--name=value`.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut o = Options::default();
    let mut family = Family::Any;
    let mut args = args.into_iter();
    let mut only_hosts = false;
    while let Some(a) = args.next() {
        if only_hosts || !a.starts_with('-') || a == "-" {
            o.hosts.push((a, family));
            continue;
        }
        if a == "--" {
            only_hosts = true;
            continue;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let spec = optspec::by_long(name).ok_or_else(|| format!("unknown option {a}"))?;
            let value = match (spec.arg, attached) {
                (None, Some(_)) => return Err(format!("option --{name} takes no argument")),
                (None, None) => None,
                (Some(_), Some(v)) => Some(v),
                (Some(_), None) => Some(
                    args.next()
                        .ok_or_else(|| format!("option --{name} needs an argument"))?,
                ),
            };
            apply(&mut o, &mut family, spec, value);
            continue;
        }
        let flags: Vec<char> = a.chars().skip(1).collect();
        let mut i = 0;
        while let Some(&f) = flags.get(i) {
            let spec = optspec::by_short(f).ok_or_else(|| format!("unknown option -{f}"))?;
            if spec.arg.is_some() {
                let rest: String = flags[i + 1..].iter().collect();
                let val = if rest.is_empty() {
                    args.next()
                        .ok_or_else(|| format!("option -{f} needs an argument"))?
                } else {
                    rest
                };
                apply(&mut o, &mut family, spec, Some(val));
                break;
            }
            apply(&mut o, &mut family, spec, None);
            i += 1;
        }
    }
    if o.hosts.is_empty() {
        o.hosts.push(("localhost".into(), family));
    }
    Ok(o)
}

/// Act on one option of the table (its value checked present when the
/// table says it takes one).
fn apply(o: &mut Options, family: &mut Family, spec: &OptSpec, value: Option<String>) {
    let value = value.unwrap_or_default();
    match spec.short {
        '4' => *family = Family::V4,
        '6' => *family = Family::V6,
        'c' => o.commands.push(value),
        'd' => o.debug += 1,
        'i' => o.interactive = true,
        'k' => o.keyfile = Some(value.into()),
        'p' => o.commands.push("peers".into()),
        'w' => o.wide = true,
        '?' => o.help = true,
        // -n: addresses are always shown as numbers.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Options, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn order_of_commands_is_kept() {
        let o = p(&["-n", "-c", "as", "-p", "-crv &1", "127.0.0.1"]).unwrap();
        assert_eq!(o.commands, vec!["as", "peers", "rv &1"]);
        assert_eq!(o.hosts, vec![("127.0.0.1".to_string(), Family::Any)]);
    }

    #[test]
    fn clustered_flags_and_families() {
        let o = p(&["-np", "-4", "a", "-6", "b"]).unwrap();
        assert_eq!(o.commands, vec!["peers"]);
        assert_eq!(
            o.hosts,
            vec![("a".to_string(), Family::V4), ("b".to_string(), Family::V6)]
        );
        assert_eq!(p(&[]).unwrap().hosts[0].0, "localhost");
        assert!(p(&["-x"]).is_err());
        assert!(p(&["-c"]).is_err());
        assert!(p(&["-k"]).is_err());
        assert_eq!(
            p(&["-k", "/etc/ntp.keys"]).unwrap().keyfile,
            Some("/etc/ntp.keys".into())
        );
    }

    #[test]
    fn long_options_come_from_the_table() {
        let o = p(&["--command=rv", "--command", "as", "--peers", "--wide"]).unwrap();
        assert_eq!(o.commands, vec!["rv", "as", "peers"]);
        assert!(o.wide);
        assert!(p(&["--help"]).unwrap().help);
        assert!(p(&["-?"]).unwrap().help);
        assert_eq!(p(&["--ipv6", "h"]).unwrap().hosts[0].1, Family::V6);
        assert!(p(&["--wide=yes"]).is_err());
        assert!(p(&["--nosuch"]).is_err());
        assert!(p(&["--keyfile"]).is_err());
        let usage = optspec::usage();
        for spec in optspec::OPTIONS {
            assert!(usage.contains(&format!("-{}", spec.short)), "{usage}");
            assert!(usage.contains(&format!("(--{})", spec.long)), "{usage}");
        }
    }
}
