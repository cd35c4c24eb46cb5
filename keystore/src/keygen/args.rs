//! Command-line options of `ntp-keygen`, with the reference 4.2.8p18 names
//! and defaults (brief §8.4).

use std::fmt;

use crate::hostkey::SignKeyType;

/// Parsed options.
#[derive(Clone, PartialEq, Eq)]
pub struct Options {
    /// `-b`: identity modulus bits, 256–2048 (512).
    pub imbits: u32,
    /// `-c`: certificate signature scheme (default: existing certificate's, else RSA-MD5).
    pub scheme: Option<String>,
    /// `-C`: cipher for private-key files (des-ede3-cbc).
    pub cipher: String,
    /// `-d` count / `-D N`.
    pub debug: u32,
    /// `-e`: export client identity parameters to stdout.
    pub export_params: bool,
    /// `-G`: new GQ keys.
    pub gq: bool,
    /// `-H`: new host key.
    pub host_key: bool,
    /// `-I`: new IFF keys.
    pub iff: bool,
    /// `-i`: group name.
    pub ident: Option<String>,
    /// `-l`: certificate lifetime in days (365).
    pub lifetime: u32,
    /// `-m`: host/sign key modulus bits, 256–2048 (512).
    pub modulus: u32,
    /// `-M`: write the symmetric keys file only.
    pub md5: bool,
    /// `-P`: private certificate.
    pub private_cert: bool,
    /// `-p`: local password (default: the host name).
    pub password: Option<String>,
    /// `-q`: export password; exports the server identity keys.
    pub export_password: Option<String>,
    /// `-s`: `host`, `host@group` or `@group`.
    pub subject: Option<String>,
    /// `-S`: new sign key.
    pub sign_key: Option<SignKeyType>,
    /// `-T`: trusted certificate.
    pub trusted: bool,
    /// `-V N`: new MV parameters for N clients.
    pub mv: Option<usize>,
    /// `-v N`: accepted, no effect (as in the reference).
    pub mv_keys: Option<usize>,
    /// `--help`.
    pub help: bool,
    /// `--version`.
    pub version: bool,
    /// `--check`: report on the keys directory, write nothing (`crate::check`).
    pub check: bool,
}

impl fmt::Debug for Options {
    // Passwords never appear in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("imbits", &self.imbits)
            .field("modulus", &self.modulus)
            .field("scheme", &self.scheme)
            .field("host_key", &self.host_key)
            .field("iff", &self.iff)
            .field("gq", &self.gq)
            .field("mv", &self.mv)
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            imbits: 512,
            scheme: None,
            cipher: "des-ede3-cbc".into(),
            debug: 0,
            export_params: false,
            gq: false,
            host_key: false,
            iff: false,
            ident: None,
            lifetime: 365,
            modulus: 512,
            md5: false,
            private_cert: false,
            password: None,
            export_password: None,
            subject: None,
            sign_key: None,
            trusted: false,
            mv: None,
            mv_keys: None,
            help: false,
            version: false,
            check: false,
        }
    }
}

/// A usage error, one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}; see ntp-keygen --help")]
pub struct UsageError(pub String);

/// One command-line option of ntp-keygen: the parser looks options up
/// here, and `--help` and ntp-keygen(8) are printed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptSpec {
    /// The short letter (`-p`); `?` and `!` stand for `--help` and
    /// `--version`, which have no short form.
    pub short: char,
    /// The long name without `--`.
    pub long: &'static str,
    /// The argument's name, for options that take one.
    pub arg: Option<&'static str>,
    /// The description (`--help` and the man page).
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

/// Every option, in `--help` order (reference 4.2.8p18 names and
/// defaults).
pub const OPTIONS: &[OptSpec] = &[
    row('b', "imbits", Some("BITS"), "identity modulus bits, 512-2048 (512)"),
    row(
        'c',
        "certificate",
        Some("SCHEME"),
        "RSA-MD5 (default, or the old certificate's), RSA-SHA1, RSA-SHA224, RSA-SHA256, RSA-SHA384, RSA-SHA512, RSA-RIPEMD160",
    ),
    row('C', "cipher", Some("CIPHER"), "cipher of private-key files (des-ede3-cbc)"),
    row('d', "debug-level", None, "print generated values (repeatable); -D N sets it"),
    row('D', "set-debug-level", Some("N"), "set the debug level"),
    row('e', "id-key", None, "write client identity parameters to stdout"),
    row('G', "gq-params", None, "generate new GQ keys"),
    row('H', "host-key", None, "generate a new RSA host key"),
    row('I', "iffkey", None, "generate new IFF keys"),
    row('i', "ident", Some("GROUP"), "group name"),
    row('l', "lifetime", Some("DAYS"), "certificate lifetime (365)"),
    row('m', "modulus", Some("BITS"), "host/sign key bits, 512-2048 (512)"),
    row('M', "md5key", None, "write the symmetric keys file (ntp.keys) only"),
    row('P', "pvt-cert", None, "private certificate"),
    row('p', "password", Some("PW"), "local password (default: the host name)"),
    row(
        'q',
        "export-passwd",
        Some("PW"),
        "write the server identity keys to stdout, encrypted with PW (the receiving host's crypto pw)",
    ),
    row('s', "subject-name", Some("NAME"), "host, host@group or @group"),
    row('S', "sign-key", Some("RSA|DSA"), "generate a new sign key"),
    row('T', "trusted-cert", None, "trusted certificate (trustRoot)"),
    row(
        'V',
        "mv-params",
        Some("N"),
        "generate MV keys for N clients (key N is revoked); N must not be a factor of 512 nor above 30",
    ),
    row('v', "mv-keys", Some("N"), "accepted for compatibility, no effect"),
    row('?', "help", None, "print this help and exit"),
    row('!', "version", None, "print the version and exit"),
    row(
        '%',
        "check",
        None,
        "check the keys in the current directory for this host (-s) and password (-p or -q): each link, its file, whether it opens, the certificate's expiry; writes nothing; exit status 1 on a problem",
    ),
];

/// The option with long name `name`.
fn by_long(name: &str) -> Option<&'static OptSpec> {
    OPTIONS.iter().find(|o| o.long == name)
}

/// The option with short letter `c` (`--help`, `--version` and
/// `--check` have none).
fn by_short(c: char) -> Option<&'static OptSpec> {
    OPTIONS
        .iter()
        .find(|o| o.short == c && !matches!(c, '?' | '!' | '%'))
}

fn number(opt: char, value: &str, lo: u64, hi: u64) -> Result<u64, UsageError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(UsageError(format!(
            "-{opt} {value}: expected a number from {lo} to {hi}"
        ))),
    }
}

/// The guide's rule for `-V`: not a factor of 512, not above 30.
pub fn check_mv_count(n: u64) -> Result<usize, UsageError> {
    if n > 30 || (n > 0 && 512 % n == 0) || n == 0 {
        return Err(UsageError(format!(
            "-V {n}: the number of MV keys must not be a factor of 512 (1, 2, 4, 8, 16) nor above 30; use e.g. -V 5"
        )));
    }
    Ok(n as usize)
}

fn apply(o: &mut Options, opt: char, value: Option<&str>) -> Result<(), UsageError> {
    let v = value.unwrap_or("");
    match opt {
        // The reference allows 256, but OpenSSL 3 refuses RSA and DSA keys below 512 bits.
        'b' => o.imbits = number('b', v, 512, 2048)? as u32,
        'c' => o.scheme = Some(v.to_string()),
        'C' => o.cipher = v.to_string(),
        'd' => o.debug += 1,
        'D' => o.debug = number('D', v, 0, 100)? as u32,
        'e' => o.export_params = true,
        'G' => o.gq = true,
        'H' => o.host_key = true,
        'I' => o.iff = true,
        'i' => o.ident = Some(v.to_string()),
        'l' => o.lifetime = number('l', v, 1, 36_500)? as u32,
        'm' => o.modulus = number('m', v, 512, 2048)? as u32,
        'M' => o.md5 = true,
        'P' => o.private_cert = true,
        'p' => o.password = Some(v.to_string()),
        'q' => o.export_password = Some(v.to_string()),
        's' => o.subject = Some(v.to_string()),
        'S' => {
            o.sign_key = Some(match v.to_ascii_uppercase().as_str() {
                "RSA" => SignKeyType::Rsa,
                "DSA" => SignKeyType::Dsa,
                _ => return Err(UsageError(format!("-S {v}: expected RSA or DSA"))),
            })
        }
        'T' => o.trusted = true,
        'V' => o.mv = Some(check_mv_count(number('V', v, 0, u64::MAX)?)?),
        'v' => o.mv_keys = Some(number('v', v, 0, 30)? as usize),
        '?' => o.help = true,
        '!' => o.version = true,
        '%' => o.check = true,
        _ => return Err(UsageError(format!("unknown option -{opt}"))),
    }
    Ok(())
}

/// Parses arguments (without the program name), getopt style: clustered
/// flags (`-TI`), attached or separate values (`-pPW`, `-p PW`), long
/// options (`--password=PW`, `--password PW`).
pub fn parse<I, S>(args: I) -> Result<Options, UsageError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let args: Vec<String> = args.into_iter().map(|s| s.as_ref().to_string()).collect();
    let mut o = Options::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some(spec) = by_long(name) else {
                return Err(UsageError(format!("unknown option --{name}")));
            };
            let short = spec.short;
            let value = if spec.arg.is_some() {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        let v = args
                            .get(i)
                            .ok_or_else(|| UsageError(format!("--{name} needs a value")))?;
                        i += 1;
                        Some(v.clone())
                    }
                }
            } else {
                None
            };
            apply(&mut o, short, value.as_deref())?;
        } else if let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) {
            let chars: Vec<char> = flags.chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                k += 1;
                let Some(spec) = by_short(c) else {
                    return Err(UsageError(format!("unknown option -{c}")));
                };
                let short = spec.short;
                if spec.arg.is_some() {
                    let rest: String = chars[k..].iter().collect();
                    let value = if !rest.is_empty() {
                        rest
                    } else {
                        let v = args
                            .get(i)
                            .ok_or_else(|| UsageError(format!("-{c} needs a value")))?;
                        i += 1;
                        v.clone()
                    };
                    apply(&mut o, short, Some(&value))?;
                    break;
                }
                apply(&mut o, short, None)?;
            }
        } else {
            return Err(UsageError(format!("unexpected argument `{arg}`")));
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_reference_ones() {
        let o = parse(Vec::<String>::new()).unwrap();
        assert_eq!((o.imbits, o.modulus, o.lifetime), (512, 512, 365));
        assert_eq!(o.cipher, "des-ede3-cbc");
        assert_eq!(o.scheme, None);
    }

    #[test]
    fn guide_spellings_parse() {
        let o = parse(["-T", "-I", "-p", "serverpassword"]).unwrap();
        assert!(o.trusted && o.iff);
        assert_eq!(o.password.as_deref(), Some("serverpassword"));
        let o = parse(["-e", "-q", "serverpassword", "-p", "clientpassword"]).unwrap();
        assert!(o.export_params);
        assert_eq!(o.export_password.as_deref(), Some("serverpassword"));
        let o = parse(["-TG", "-qpw", "--modulus=1024", "--ident", "grp", "-V", "5"]).unwrap();
        assert!(o.trusted && o.gq);
        assert_eq!(o.export_password.as_deref(), Some("pw"));
        assert_eq!(
            (o.modulus, o.ident.as_deref(), o.mv),
            (1024, Some("grp"), Some(5))
        );
        assert_eq!(
            parse(["-S", "dsa"]).unwrap().sign_key,
            Some(SignKeyType::Dsa)
        );
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        for bad in [
            vec!["-V", "4"],
            vec!["-V", "31"],
            vec!["-V", "N"],
            vec!["-b", "100"],
            vec!["-m", "256"],
            vec!["-m", "4096"],
            vec!["-S", "EC"],
            vec!["-x"],
            vec!["-p"],
            vec!["stray"],
        ] {
            let e = parse(&bad).unwrap_err().to_string();
            assert!(
                !e.contains('\n') && e.ends_with("see ntp-keygen --help"),
                "{bad:?}: {e}"
            );
        }
        assert!(parse(["-V", "16"])
            .unwrap_err()
            .to_string()
            .contains("factor of 512"));
        for ok in [3, 5, 6, 7, 9, 30] {
            assert_eq!(check_mv_count(ok).unwrap(), ok as usize);
        }
    }
}
