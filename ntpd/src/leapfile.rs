//! The leap-seconds file (`leapfile FILE`, the IERS/NIST
//! `leap-seconds.list` format): `#$ UPDATE` (when the table was made),
//! `#@ EXPIRE` and one `NTPSECONDS TAIOFFSET` line per leap, all in NTP
//! seconds. What the daemon takes from it: the values Autokey's LEAP
//! exchange sends (RFC 5906 §10.9, brief §2.7: TAI offset, the epoch of
//! the last leap, the expiry) and mode 6's `tai`, `leapsec`, `expire`.
//! The file's hash line is not checked.

use std::path::{Path, PathBuf};

use autokey::message::LeapValues;

/// Seconds from the NTP era 0 epoch (1900) to the Unix epoch.
const NTP_UNIX: i64 = 2_208_988_800;

/// What a leap-seconds file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeapTable {
    /// TAI − UTC after the last leap, seconds.
    pub tai_offset: u32,
    /// The last leap's epoch, NTP seconds.
    pub last_leap: u32,
    /// `#$`: when the table was made, NTP seconds.
    pub updated: u32,
    /// `#@`: when it expires, NTP seconds.
    pub expires: u32,
}

/// Why a leap-seconds file was not used.
#[derive(Debug, thiserror::Error)]
pub enum LeapfileError {
    /// It could not be read.
    #[error("leapfile {path}: cannot read it: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `NTPSECONDS OFFSET` (nor a `#` comment).
    #[error("leapfile {path}:{line}: expected `NTP-SECONDS TAI-OFFSET` or a `#` line")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// No leap lines or no `#@` expiry line.
    #[error(
        "leapfile {path}: no leap entries or no `#@` expiry line; is it a leap-seconds.list file?"
    )]
    Incomplete {
        /// The file.
        path: PathBuf,
    },
}

impl LeapTable {
    /// Parses the text of a leap-seconds file (`path` for messages).
    pub fn parse(text: &str, path: &Path) -> Result<LeapTable, LeapfileError> {
        let (mut updated, mut expires, mut last) = (0u32, 0u32, None);
        for (i, line) in text.lines().enumerate() {
            let word = |s: &str| {
                s.split_whitespace()
                    .next()
                    .and_then(|w| w.parse::<u32>().ok())
            };
            if let Some(v) = line.strip_prefix("#$") {
                updated = word(v).unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("#@") {
                expires = word(v).unwrap_or(0);
            } else if line.starts_with('#') || line.trim().is_empty() {
                continue;
            } else {
                let mut w = line.split_whitespace().map(str::parse::<u32>);
                match (w.next(), w.next()) {
                    (Some(Ok(at)), Some(Ok(offset))) => last = Some((at, offset)),
                    _ => {
                        return Err(LeapfileError::Syntax {
                            path: path.to_path_buf(),
                            line: i + 1,
                        })
                    }
                }
            }
        }
        match last {
            Some((last_leap, tai_offset)) if expires != 0 => Ok(LeapTable {
                tai_offset,
                last_leap,
                updated,
                expires,
            }),
            _ => Err(LeapfileError::Incomplete {
                path: path.to_path_buf(),
            }),
        }
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<LeapTable, LeapfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| LeapfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        LeapTable::parse(&text, path)
    }

    /// The values of an Autokey LEAP response (brief §2.7).
    pub fn leap_values(&self) -> LeapValues {
        LeapValues {
            tai_offset: self.tai_offset,
            era_start: self.last_leap,
            expiry: self.expires,
        }
    }

    /// A table from received LEAP values (a client of a server with a
    /// leap file): the update time is not sent, the leap epoch stands for it.
    pub fn from_values(v: &LeapValues) -> Option<LeapTable> {
        (v.tai_offset != 0).then_some(LeapTable {
            tai_offset: v.tai_offset,
            last_leap: v.era_start,
            updated: v.era_start,
            expires: v.expiry,
        })
    }

    /// `#$` in Unix seconds.
    pub fn updated_unix(&self) -> i64 {
        i64::from(self.updated) - NTP_UNIX
    }

    /// The last leap's epoch in Unix seconds (mode 6 `leapsec`: the
    /// reference shows its leap table's last transition there, not `#$`).
    pub fn last_leap_unix(&self) -> i64 {
        i64::from(self.last_leap) - NTP_UNIX
    }

    /// `#@` in Unix seconds (mode 6 `expire`).
    pub fn expires_unix(&self) -> i64 {
        i64::from(self.expires) - NTP_UNIX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head and tail of an IERS leap-seconds.list.
    const LIST: &str = "#\tUpdated through IERS Bulletin C\n#$\t 3929093563\n#@\t3960057600\n#\n\
2272060800\t10\t# 1 Jan 1972\n2287785600\t11\t# 1 Jul 1972\n3692217600\t37\t# 1 Jan 2017\n\
#h\t16edd0f0 3666784f 37db7bdb 7bf5b5f5 40d3af1f\n";

    #[test]
    fn a_leap_seconds_list_gives_the_last_offset_and_the_expiry() {
        let t = LeapTable::parse(LIST, Path::new("leap-seconds.list")).unwrap();
        assert_eq!(
            t,
            LeapTable {
                tai_offset: 37,
                last_leap: 3692217600,
                updated: 3929093563,
                expires: 3960057600
            }
        );
        let v = t.leap_values();
        assert_eq!(
            (v.tai_offset, v.era_start, v.expiry),
            (37, 3692217600, 3960057600)
        );
        // 2025-06-28 00:00:00 UTC.
        assert_eq!(t.expires_unix(), 1_751_068_800);
        assert_eq!(LeapTable::from_values(&v).map(|t| t.tai_offset), Some(37));
        assert_eq!(LeapTable::from_values(&LeapValues::default()), None);
    }

    #[test]
    fn a_bad_line_and_a_file_without_expiry_are_named() {
        let e = LeapTable::parse("#@ 3960057600\n3692217600 x\n", Path::new("l")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "leapfile l:2: expected `NTP-SECONDS TAI-OFFSET` or a `#` line"
        );
        let e = LeapTable::parse("3692217600 37\n", Path::new("l")).unwrap_err();
        assert!(e.to_string().contains("no `#@` expiry line"), "{e}");
    }
}
