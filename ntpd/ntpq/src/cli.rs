//! Command line options of ntpq (the reference's `-4 -6 -c -d -i -n -p -w`),
//! keeping the order of `-c` and `-p` commands.

use crate::transport::Family;

/// The text `ntpq -?` / `ntpq --help` prints, and a bad command line
/// prints to standard error.
pub const USAGE: &str = "usage: ntpq [-46dinpw] [-k keyfile] [-c command]... [host[:port]...]
  -4            use IPv4 addresses for the following hosts
  -6            use IPv6 addresses for the following hosts
  -c command    run command (repeatable; runs instead of the interactive prompt)
  -d            more debugging output
  -i            interactive prompt even without a terminal
  -k keyfile    keys for authenticated requests (see the keyid command)
  -n            numeric host addresses (always the case here)
  -p            print the peer list (same as -c peers)
  -w            wide remote names in the peer list
  host[:port]   servers to query (default localhost); the port is for tests";

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
    /// `-?` or `--help`: print [`USAGE`] and exit.
    pub help: bool,
    /// `-k`: the keys file for authenticated requests.
    pub keyfile: Option<std::path::PathBuf>,
}

/// Parses the arguments after the program name. Short options may be
/// clustered (`-np`); `-c` takes the rest of its word or the next word.
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
        match a.as_str() {
            "--" => {
                only_hosts = true;
                continue;
            }
            "--help" => {
                o.help = true;
                continue;
            }
            // Addresses are always shown as numbers.
            "--numeric" => continue,
            "--peers" => {
                o.commands.push("peers".into());
                continue;
            }
            "--wide" => {
                o.wide = true;
                continue;
            }
            "--interactive" => {
                o.interactive = true;
                continue;
            }
            "--ipv4" => {
                family = Family::V4;
                continue;
            }
            "--ipv6" => {
                family = Family::V6;
                continue;
            }
            "--keyfile" => {
                let k = args.next().ok_or("option --keyfile needs an argument")?;
                o.keyfile = Some(k.into());
                continue;
            }
            "--command" => {
                let c = args.next().ok_or("option --command needs an argument")?;
                o.commands.push(c);
                continue;
            }
            _ => {}
        }
        if let Some(c) = a.strip_prefix("--command=") {
            o.commands.push(c.to_string());
            continue;
        }
        if a.starts_with("--") {
            return Err(format!("unknown option {a}"));
        }
        let flags: Vec<char> = a.chars().skip(1).collect();
        let mut i = 0;
        while let Some(&f) = flags.get(i) {
            match f {
                '4' => family = Family::V4,
                '6' => family = Family::V6,
                'd' => o.debug += 1,
                'i' => o.interactive = true,
                // Addresses are always shown as numbers.
                'n' => {}
                'p' => o.commands.push("peers".into()),
                'w' => o.wide = true,
                'c' | 'k' => {
                    let rest: String = flags[i + 1..].iter().collect();
                    let val = if rest.is_empty() {
                        args.next()
                            .ok_or_else(|| format!("option -{f} needs an argument"))?
                    } else {
                        rest
                    };
                    if f == 'c' {
                        o.commands.push(val);
                    } else {
                        o.keyfile = Some(val.into());
                    }
                    break;
                }
                other => return Err(format!("unknown option -{other}")),
            }
            i += 1;
        }
    }
    if o.hosts.is_empty() {
        o.hosts.push(("localhost".into(), family));
    }
    Ok(o)
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
}
