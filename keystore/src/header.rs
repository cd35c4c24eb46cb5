//! The two comment lines at the top of every `ntp-keygen` file and the
//! filestamp they carry (brief §8.3).
//!
//! ```text
//! # ntpkey_RSAhost_alice.4004757732
//! # Fri Nov 27 08:42:12 2026
//!
//! -----BEGIN ...
//! ```
//!
//! Readers take the first line, find its **last** `.`, and read an unsigned
//! decimal number after it the way C's `sscanf("%u")` does (leading white
//! space and a sign are accepted, trailing text is ignored).

use std::path::Path;

use crate::error::{KeyError, Result};

/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
pub const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// Converts Unix seconds to the 32-bit NTP seconds `ntp-keygen` uses as a
/// filestamp and certificate serial number.
pub fn ntp_seconds(unix_secs: u64) -> u32 {
    // Era wrap-around is intended: the reference truncates to 32 bits.
    (unix_secs.wrapping_add(NTP_UNIX_OFFSET) & 0xffff_ffff) as u32
}

/// Reads the filestamp from the first line of a key file, as the reference
/// `crypto_key()`/`crypto_cert()` and `ntp-keygen` do.
pub fn parse_filestamp(path: &Path, text: &str) -> Result<u32> {
    let first = match text.split_once('\n') {
        Some((line, _)) => line,
        None => text,
    };
    if text.is_empty() {
        return Err(KeyError::Empty {
            path: path.to_path_buf(),
        });
    }
    let Some(dot) = first.rfind('.') else {
        return Err(KeyError::NoFilestamp {
            path: path.to_path_buf(),
        });
    };
    scan_unsigned(&first[dot + 1..]).ok_or_else(|| KeyError::InvalidFilestamp {
        path: path.to_path_buf(),
        line: first.to_string(),
    })
}

/// `sscanf(s, "%u")` as glibc does it on a 64-bit host: optional white space,
/// optional sign, one or more decimal digits (saturating like `strtoul`),
/// negation modulo 2^64, then truncation to 32 bits.
fn scan_unsigned(s: &str) -> Option<u32> {
    let s = s.trim_start_matches([' ', '\t', '\r', '\n', '\x0b', '\x0c']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let mut value: u64 = 0;
    for b in digits[..end].bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .unwrap_or(u64::MAX);
    }
    if neg {
        value = value.wrapping_neg();
    }
    Some((value & 0xffff_ffff) as u32)
}

/// The file name `ntp-keygen` gives a file: `ntpkey_<kind>_<name>.<filestamp>`.
pub fn file_name(kind: &str, name: &str, filestamp: u32) -> String {
    format!("ntpkey_{kind}_{name}.{filestamp}")
}

/// The two header lines and the blank line written before the PEM data.
/// `now_unix` is rendered like C `ctime()` (in UTC).
pub fn render(file_name: &str, now_unix: u64) -> String {
    format!("# {file_name}\n# {}\n\n", ctime_utc(now_unix))
}

/// `ctime()`-style date without the trailing newline, e.g.
/// `Fri Nov 27 08:42:12 2026`.
pub fn ctime_utc(unix_secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    let (year, month, day) = proto::time::civil_from_days(days as i64);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(line: &str) -> Result<u32> {
        parse_filestamp(Path::new("f"), line)
    }

    #[test]
    fn filestamp_from_reference_header() {
        assert_eq!(
            fs("# ntpkey_RSAhost_alice.4004757732\n# Fri Nov 27 08:42:12 2026\n").unwrap(),
            4004757732
        );
    }

    #[test]
    fn filestamp_uses_last_dot_and_sscanf_rules() {
        assert_eq!(fs("# ntpkey_host_a.b.c.42xyz\n").unwrap(), 42);
        assert_eq!(fs("# x. 17\n").unwrap(), 17);
        assert_eq!(fs("# x.-1\n").unwrap(), u32::MAX);
        assert_eq!(fs("# x.4294967297\n").unwrap(), 1);
        // The dot must be on the first line.
        assert!(matches!(
            fs("# nodot\n# a.5\n"),
            Err(KeyError::NoFilestamp { .. })
        ));
        assert!(matches!(
            fs("# a.b\n"),
            Err(KeyError::InvalidFilestamp { .. })
        ));
        assert!(matches!(fs(""), Err(KeyError::Empty { .. })));
    }

    #[test]
    fn ctime_matches_reference_header() {
        // 4004757732 NTP = 2026-11-27 08:42:12 UTC (fixtures README §3).
        let unix = u64::from(4004757732u32) - NTP_UNIX_OFFSET;
        assert_eq!(ctime_utc(unix), "Fri Nov 27 08:42:12 2026");
        assert_eq!(ntp_seconds(unix), 4004757732);
        assert_eq!(ctime_utc(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(
            render("ntpkey_RSAhost_alice.4004757732", unix),
            "# ntpkey_RSAhost_alice.4004757732\n# Fri Nov 27 08:42:12 2026\n\n"
        );
    }
}
