//! Leap seconds: the NIST/IERS `leap-seconds.list` file read by the
//! `leapfile` directive, and the leap indicator it implies (RFC 5905 §7.3
//! leap indicator; the file format is the one distributed by IERS/NIST).
//!
//! Times are NTP seconds (era 0, since 1900-01-01).

use sha1::{Digest, Sha1};

use crate::select::LeapIndicator;

/// Seconds in a day.
const DAY: u64 = 86_400;
/// How long before a leap second it is announced (reference ntpd: 28 days).
pub const ANNOUNCE_WINDOW: u64 = 28 * DAY;

/// One entry: from NTP second `at` on, TAI − UTC is `tai_offset` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeapEntry {
    /// NTP seconds at which the offset takes effect (the leap happens just
    /// before this second).
    pub at: u64,
    /// TAI − UTC from then on.
    pub tai_offset: i32,
}

/// A parsed leap-second table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeapTable {
    /// `#$` last-update time, NTP seconds.
    pub updated: u64,
    /// `#@` expiry time, NTP seconds.
    pub expires: u64,
    /// Entries in time order.
    pub entries: Vec<LeapEntry>,
    /// Whether a `#h` line was present and matched.
    pub hash_verified: bool,
}

/// Errors reading a leap-second file.  Line numbers start at 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeapFileError {
    /// A line could not be parsed.
    #[error("line {line}: {message}")]
    Syntax {
        /// Line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No `#@` expiry line.
    #[error("no expiry (#@) line; use an up-to-date leap-seconds.list from IERS or NIST")]
    MissingExpiry,
    /// No data lines.
    #[error("no leap second entries")]
    Empty,
    /// Entries not in increasing time order.
    #[error("line {line}: entries are not in increasing time order")]
    Order {
        /// Line number.
        line: usize,
    },
    /// The `#h` SHA-1 hash does not match the contents.
    #[error("hash (#h) does not match the file contents: the file is damaged or was edited")]
    HashMismatch,
}

fn syntax(line: usize, message: impl Into<String>) -> LeapFileError {
    LeapFileError::Syntax {
        line,
        message: message.into(),
    }
}

fn parse_u64(line: usize, s: &str, what: &str) -> Result<u64, LeapFileError> {
    s.trim()
        .parse()
        .map_err(|_| syntax(line, format!("{what} {s:?} is not a number")))
}

/// Parse and verify a `leap-seconds.list` file.
///
/// The `#h` hash is the SHA-1 of the digits of the `#$` and `#@` values
/// and of the two numeric fields of every data line, in file order; a
/// file without `#h` is accepted with `hash_verified == false`.
pub fn parse_leapfile(text: &str) -> Result<LeapTable, LeapFileError> {
    let mut updated = None;
    let mut expires = None;
    let mut hash: Option<[u32; 5]> = None;
    let mut entries: Vec<LeapEntry> = Vec::new();
    let mut hasher = Sha1::new();
    let digits = |h: &mut Sha1, s: &str| {
        let d: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).collect();
        h.update(&d);
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim_end();
        if let Some(rest) = l.strip_prefix("#$") {
            updated = Some(parse_u64(line, rest, "update time")?);
            digits(&mut hasher, rest);
        } else if let Some(rest) = l.strip_prefix("#@") {
            expires = Some(parse_u64(line, rest, "expiry time")?);
            digits(&mut hasher, rest);
        } else if let Some(rest) = l.strip_prefix("#h") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if words.len() != 5 {
                return Err(syntax(line, "hash line must have five hex words"));
            }
            let mut h = [0u32; 5];
            for (slot, w) in h.iter_mut().zip(words) {
                *slot = u32::from_str_radix(w, 16)
                    .map_err(|_| syntax(line, format!("hash word {w:?} is not hex")))?;
            }
            hash = Some(h);
        } else if l.starts_with('#') || l.trim().is_empty() {
            continue;
        } else {
            let data = l.split('#').next().unwrap_or("");
            let mut f = data.split_whitespace();
            let (Some(at), Some(off), None) = (f.next(), f.next(), f.next()) else {
                return Err(syntax(line, "expected: NTP-seconds TAI-offset [# comment]"));
            };
            let at = parse_u64(line, at, "time")?;
            let tai_offset: i32 = off
                .parse()
                .map_err(|_| syntax(line, format!("TAI offset {off:?} is not a number")))?;
            if entries.last().is_some_and(|e| e.at >= at) {
                return Err(LeapFileError::Order { line });
            }
            digits(&mut hasher, data);
            entries.push(LeapEntry { at, tai_offset });
        }
    }
    let expires = expires.ok_or(LeapFileError::MissingExpiry)?;
    if entries.is_empty() {
        return Err(LeapFileError::Empty);
    }
    let hash_verified = match hash {
        None => false,
        Some(h) => {
            let digest = hasher.finalize();
            let mut got = [0u32; 5];
            for (k, chunk) in digest.chunks_exact(4).enumerate().take(5) {
                got[k] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            }
            if got != h {
                return Err(LeapFileError::HashMismatch);
            }
            true
        }
    };
    Ok(LeapTable {
        updated: updated.unwrap_or(0),
        expires,
        entries,
        hash_verified,
    })
}

impl LeapTable {
    /// Whether the table has expired at `now` (NTP seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires
    }

    /// TAI − UTC at `now`.
    pub fn tai_offset(&self, now: u64) -> i32 {
        self.entries
            .iter()
            .rev()
            .find(|e| e.at <= now)
            .map(|e| e.tai_offset)
            .unwrap_or(0)
    }

    /// The next leap after `now` and whether it inserts (+1) or deletes.
    pub fn next_leap(&self, now: u64) -> Option<(LeapEntry, LeapIndicator)> {
        let idx = self.entries.iter().position(|e| e.at > now)?;
        let e = self.entries[idx];
        let prev = if idx > 0 {
            self.entries[idx - 1].tai_offset
        } else {
            e.tai_offset
        };
        let kind = if e.tai_offset >= prev {
            LeapIndicator::Insert
        } else {
            LeapIndicator::Delete
        };
        Some((e, kind))
    }

    /// Whether a leap second is announced at `now` (within
    /// [`ANNOUNCE_WINDOW`] of it): the leap indicator to serve to clients.
    pub fn announcement(&self, now: u64) -> LeapIndicator {
        match self.next_leap(now) {
            Some((e, kind)) if e.at - now <= ANNOUNCE_WINDOW => kind,
            _ => LeapIndicator::NoWarning,
        }
    }

    /// Whether the kernel should be armed (STA_INS/STA_DEL) at `now`: only
    /// during the last day before the leap.
    pub fn arm_kernel(&self, now: u64) -> LeapIndicator {
        match self.next_leap(now) {
            Some((e, kind)) if e.at - now <= DAY => kind,
            _ => LeapIndicator::NoWarning,
        }
    }
}

/// Whether Unix time `unix_secs` falls on the last day of a UTC month,
/// the only day on which a leap second can be due at midnight.
pub fn is_last_day_of_month(unix_secs: i64) -> bool {
    let day = unix_secs.div_euclid(DAY as i64);
    let (_, m_today, _) = proto::time::civil_from_days(day);
    let (_, m_tomorrow, _) = proto::time::civil_from_days(day + 1);
    m_today != m_tomorrow
}

/// What to arm in the kernel (STA_INS/STA_DEL) given the system leap
/// indicator at Unix time `unix_secs`.  Linux inserts or deletes the
/// second at the next UTC midnight once armed, while servers announce a
/// leap for up to a month: arm only on the month's last day.
pub fn kernel_leap(indicator: LeapIndicator, unix_secs: i64) -> LeapIndicator {
    match indicator {
        LeapIndicator::Insert | LeapIndicator::Delete if is_last_day_of_month(unix_secs) => {
            indicator
        }
        _ => LeapIndicator::NoWarning,
    }
}

/// Leap indicator agreed by the survivors of mitigation: a leap is only
/// believed when more than half of them announce it (the system peer's
/// word alone is not enough).
pub fn majority_leap(indicators: &[LeapIndicator]) -> LeapIndicator {
    let n = indicators.len();
    for kind in [LeapIndicator::Insert, LeapIndicator::Delete] {
        let votes = indicators.iter().filter(|&&l| l == kind).count();
        if votes * 2 > n {
            return kind;
        }
    }
    LeapIndicator::NoWarning
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/data/leap-seconds.list");

    #[test]
    fn parses_and_verifies_the_distributed_file() {
        let t = parse_leapfile(FIXTURE).unwrap();
        assert!(t.hash_verified);
        assert_eq!(t.updated, 3_960_835_200);
        assert_eq!(t.expires, 3_991_593_600);
        assert_eq!(t.entries.len(), 28);
        assert_eq!(
            t.entries[0],
            LeapEntry {
                at: 2_272_060_800,
                tai_offset: 10
            }
        );
        // 2017-01-01: TAI − UTC became 37.
        assert_eq!(t.tai_offset(3_692_217_600), 37);
        assert_eq!(t.tai_offset(3_692_217_599), 36);
        assert!(t.next_leap(3_692_217_600).is_none());
        assert!(!t.is_expired(3_991_593_599));
        assert!(t.is_expired(3_991_593_600));
    }

    #[test]
    fn announcement_and_kernel_arming_windows() {
        let t = parse_leapfile(FIXTURE).unwrap();
        let leap = 3_692_217_600; // 2017-01-01
        assert_eq!(t.announcement(leap - 29 * DAY), LeapIndicator::NoWarning);
        assert_eq!(t.announcement(leap - 27 * DAY), LeapIndicator::Insert);
        assert_eq!(t.arm_kernel(leap - 2 * DAY), LeapIndicator::NoWarning);
        assert_eq!(t.arm_kernel(leap - 3600), LeapIndicator::Insert);
        assert_eq!(t.arm_kernel(leap), LeapIndicator::NoWarning);
    }

    #[test]
    fn damaged_file_is_rejected() {
        let edited = FIXTURE.replace("3692217600      37", "3692217600      38");
        assert!(edited != FIXTURE, "fixture line not found");
        assert_eq!(parse_leapfile(&edited), Err(LeapFileError::HashMismatch));
        let no_expiry: String = FIXTURE
            .lines()
            .filter(|l| !l.starts_with("#@"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            parse_leapfile(&no_expiry),
            Err(LeapFileError::MissingExpiry)
        );
        let bad = "#@ 100\n2272060800 ten\n";
        assert!(matches!(
            parse_leapfile(bad),
            Err(LeapFileError::Syntax { line: 2, .. })
        ));
        let order = "#@ 100\n20 10\n10 11\n";
        assert_eq!(parse_leapfile(order), Err(LeapFileError::Order { line: 3 }));
    }

    #[test]
    fn deletion_and_unhashed_files() {
        let t = parse_leapfile("#@ 5000\n1000 10\n2000 9\n").unwrap();
        assert!(!t.hash_verified);
        assert_eq!(t.next_leap(1500).map(|x| x.1), Some(LeapIndicator::Delete));
    }

    #[test]
    fn kernel_is_armed_only_on_the_last_day_of_the_month() {
        // 2016-12-31T12:00:00Z and 2016-12-30T12:00:00Z.
        let dec31 = 1_483_185_600;
        let dec30 = dec31 - 86_400;
        assert!(is_last_day_of_month(dec31));
        assert!(!is_last_day_of_month(dec30));
        assert_eq!(
            kernel_leap(LeapIndicator::Insert, dec31),
            LeapIndicator::Insert
        );
        assert_eq!(
            kernel_leap(LeapIndicator::Insert, dec30),
            LeapIndicator::NoWarning
        );
        assert_eq!(
            kernel_leap(LeapIndicator::Unsynchronized, dec31),
            LeapIndicator::NoWarning
        );
        // 2024-02-29 (leap year) is the last day of February; 2023-02-28 too.
        assert!(is_last_day_of_month(1_709_208_000));
        assert!(is_last_day_of_month(1_677_585_600));
        assert!(!is_last_day_of_month(1_709_121_600)); // 2024-02-28
                                                       // 2017-01-01 00:00:00Z itself is not.
        assert!(!is_last_day_of_month(1_483_228_800));
    }

    #[test]
    fn leap_needs_a_majority() {
        use LeapIndicator::*;
        assert_eq!(majority_leap(&[Insert, Insert, NoWarning]), Insert);
        assert_eq!(majority_leap(&[Insert, NoWarning]), NoWarning);
        assert_eq!(majority_leap(&[Delete, Delete, Delete, Insert]), Delete);
        assert_eq!(majority_leap(&[]), NoWarning);
    }
}
