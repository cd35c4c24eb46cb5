//! `ntp-keygen --help`, printed from the option table of [`super::args`]
//! with the compatibility notes below; ntp-keygen(8) (`ntpd/man`) is
//! generated from the same table and notes.

use super::args::OPTIONS;

/// The one-line summary.
pub const SUMMARY: &str =
    "ntp-keygen - create Autokey (RFC 5906) key files in the current directory";

/// How this ntp-keygen differs from 4.2.8p18's, and password handling.
pub const COMPATIBILITY: &[&str] = &[
    "Compatibility with ntp-keygen 4.2.8p18: same options, defaults, file names, \
     header lines, filestamps and links. Where 4.2.8 writes files its own ntpd \
     cannot use, this ntp-keygen writes a form that works with both: IFF and MV \
     keys are traditional DSA PEM, which keeps the public values (4.2.8's PKCS#8 \
     drops them and IFF/MV fail with error 0x10e); GQ keys put u in the RSA e \
     slot and b in the d slot, where 4.2.8 ntpd reads them; -V also writes the \
     MV server key ntpkey_mvkey_<group> and links it. The reader accepts the \
     stock 4.2.8 files as well and says when one of them has lost its public \
     value and must be regenerated.",
    "Passwords: in 4.2.8, -p reads and writes local files and -q encrypts -q \
     exports. The Configuring Autokey guide's spelling (-q reads local files, \
     -p encrypts the -e export) is used when the local files decrypt only with \
     the -q password; a line on stderr says so.",
    "Recommended where all peers allow it: -m 2048 -c RSA-SHA256. Private-key \
     files are created with mode 0600, certificates 0640.",
];

/// The option's left column: `-b, --imbits BITS`, or `--help` alone for
/// the options without a letter.
pub fn synopsis(short: char, long: &str, arg: Option<&str>) -> String {
    let value = arg.map(|a| format!(" {a}")).unwrap_or_default();
    if matches!(short, '?' | '!' | '%') {
        format!("    --{long}{value}")
    } else {
        format!("-{short}, --{long}{value}")
    }
}

/// The `--help` text.
pub fn usage() -> String {
    let mut out = format!("{SUMMARY}\n\nusage: ntp-keygen [options]\n");
    for o in OPTIONS {
        let left = synopsis(o.short, o.long, o.arg);
        out.push_str(&format!("  {left:<24} {}\n", o.help));
    }
    for note in COMPATIBILITY {
        out.push('\n');
        out.push_str(note);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_option_of_the_table() {
        let text = usage();
        for o in OPTIONS {
            assert!(text.contains(&format!("--{}", o.long)), "{}", o.long);
            assert!(text.contains(o.help), "{}", o.long);
        }
        assert!(text.contains("-p, --password PW"), "{text}");
        assert!(text.contains("    --help"), "{text}");
    }
}
