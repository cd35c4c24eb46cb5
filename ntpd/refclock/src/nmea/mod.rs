//! Type 20, the generic NMEA GPS receiver `GPS_NMEA(u)` (reference
//! driver20 page, `refclock_nmea.c`), on the serial port `/dev/gpsu`.
//!
//! - `mode` bits 0–3 select the sentences used: 1 `$GPRMC`, 2 `$GPGGA`,
//!   4 `$GPGLL`, 8 `$GPZDA`; none set means all of them. Bits 4–6 the
//!   line speed: 0 4800, 1 9600, 2 19200, 3 38400, 4 57600, 5 115200 bps
//!   (8 bits, no parity).
//! - `fudge time2` is the serial end-of-line offset: the time from the
//!   start of the second a sentence names to the arrival of its last
//!   octet, added to every offset (the reference's `rd_fudge` for serial
//!   time stamps); `time1` is the PPS offset and, PPS not being built,
//!   unused. `flag4 1` obscures the position in the timecode shown by
//!   `ntpq -c cv` and written to `clockstats`. `flag1`–`flag3` (PPS) are
//!   not built.
//! - The first usable sentence of each second makes the sample of that
//!   second: its reference time is the sentence's time, its local time the
//!   arrival of its end of line. A sentence whose receiver status says the
//!   time is not valid (RMC/GLL `V`, GGA fix quality 0) counts as bad data;
//!   one that does not parse or fails its checksum as a bad format.
//! - Sentences without a date (GGA, GLL) are placed on the UTC day nearest
//!   the system clock; RMC's two-digit year in the century nearest it.
//!
//! `$GPZDG` (GPS time scale) is not read.

pub mod sentence;

use proto::LeapIndicator;

use crate::{ClockStatus, Driver, DriverInfo, Fudge, RefSample, SerialLine, WallTime};
use sentence::{Date, Kind, ParseError, Sentence};

/// The NMEA driver's defaults (reference `refclock_nmea.c`).
pub const INFO: DriverInfo = DriverInfo {
    refid: *b"GPS\0",
    stratum: 0,
    precision: -9,
    description: "NMEA GPS Clock",
};

/// A line longer than this is not NMEA (the standard's limit is 82).
pub const MAX_LINE: usize = 128;

/// The line speed `mode` selects (bits 4–6); `None` for 6 and 7.
pub fn baud_of(mode: u32) -> Option<u32> {
    const SPEEDS: [u32; 6] = [4800, 9600, 19_200, 38_400, 57_600, 115_200];
    SPEEDS.get(((mode >> 4) & 7) as usize).copied()
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The year of `at` (for placing two-digit years).
fn year_of(at: WallTime) -> i64 {
    // 365.2425 days a year from 1970 is within a day of the truth.
    1970 + (at.seconds.div_euclid(86_400) * 10_000).div_euclid(3_652_425)
}

/// The Unix second a sentence names, its date placed near `at`.
fn unix_second(s: &Sentence, at: WallTime) -> i64 {
    let sod = i64::from(s.second_of_day);
    match s.date {
        Some(Date { year, month, day }) => {
            let mut y = i64::from(year);
            if y < 100 {
                let now = year_of(at);
                y += now - now.rem_euclid(100);
                if y > now + 50 {
                    y -= 100;
                } else if y < now - 50 {
                    y += 100;
                }
            }
            days_from_civil(y, month, day) * 86_400 + sod
        }
        None => {
            let t = at.seconds.div_euclid(86_400) * 86_400 + sod;
            if t - at.seconds > 43_200 {
                t - 86_400
            } else if at.seconds - t > 43_200 {
                t + 86_400
            } else {
                t
            }
        }
    }
}

/// The printable text of a line, position fields replaced by `_` when
/// `obscure` (`flag4`).
fn timecode(line: &[u8], kind: Kind, obscure: bool) -> String {
    let text: String = line
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect::<String>()
        .trim_end_matches('?')
        .to_string();
    if !obscure {
        return text;
    }
    let position: &[usize] = match kind {
        Kind::Rmc => &[3, 4, 5, 6],
        Kind::Gga => &[2, 3, 4, 5],
        Kind::Gll => &[1, 2, 3, 4],
        Kind::Zda => &[],
    };
    let (data, tail) = text.split_at(text.find('*').unwrap_or(text.len()));
    let fields: Vec<String> = data
        .split(',')
        .enumerate()
        .map(|(i, f)| {
            if position.contains(&i) {
                "_".repeat(f.len())
            } else {
                f.to_string()
            }
        })
        .collect();
    fields.join(",") + tail
}

/// One NMEA clock.
#[derive(Debug)]
pub struct Nmea {
    unit: u8,
    mode: u32,
    time2: f64,
    obscure: bool,
    line: Vec<u8>,
    overflow: bool,
    last_second: Option<i64>,
    sample: Option<RefSample>,
    status: ClockStatus,
}

impl Nmea {
    /// Unit `unit` with `mode` and `fudge`.
    pub fn new(unit: u8, mode: u32, fudge: &Fudge) -> Nmea {
        Nmea {
            unit,
            mode,
            time2: fudge.time2.unwrap_or(0.0),
            obscure: fudge.flags[3] == Some(true),
            line: Vec::with_capacity(MAX_LINE),
            overflow: false,
            last_second: None,
            sample: None,
            status: ClockStatus::default(),
        }
    }

    fn wanted(&self, k: Kind) -> bool {
        let select = self.mode & 0xf;
        select == 0 || select & k.mode_bit() != 0
    }

    /// One complete line whose end arrived at `at`.
    fn line_received(&mut self, at: WallTime) {
        let line = std::mem::take(&mut self.line);
        let s = match sentence::parse(&line) {
            Ok(s) => s,
            Err(ParseError::Ignored) => return,
            Err(ParseError::NotNmea) if line.iter().all(u8::is_ascii_whitespace) => return,
            Err(_) => {
                self.status.badformat += 1;
                return;
            }
        };
        if !self.wanted(s.kind) {
            return;
        }
        if !s.valid {
            self.status.baddata += 1;
            return;
        }
        let second = unix_second(&s, at);
        // One sample a second: a second sentence of the same second (RMC
        // and GGA both selected) is not another sample. A second before
        // the last is taken as it comes: one sentence with a wrong date
        // must not lock out every later one.
        if self.last_second == Some(second) {
            return;
        }
        self.last_second = Some(second);
        let reference = WallTime {
            seconds: second,
            nanos: s.nanos,
        };
        self.sample = Some(RefSample {
            offset: reference.since(at) + self.time2,
            // The reference's NMEA driver leaves the clock's dispersion
            // at zero (`rootdisp=0.000`); the filter adds the precision.
            dispersion: 0.0,
            leap: LeapIndicator::NoWarning,
        });
        self.status.timecode = timecode(&line, s.kind, self.obscure);
        self.status.codes += 1;
    }
}

impl Driver for Nmea {
    fn info(&self) -> DriverInfo {
        INFO
    }

    fn poll(&mut self, _now: WallTime) -> Option<RefSample> {
        self.sample.take()
    }

    fn status(&self) -> ClockStatus {
        self.status.clone()
    }

    fn serial(&self) -> Option<SerialLine> {
        Some(SerialLine {
            device: format!("gps{}", self.unit),
            baud: baud_of(self.mode).unwrap_or(4800),
        })
    }

    /// Octets from the serial line, the last of them read at `at`.
    fn receive(&mut self, bytes: &[u8], at: WallTime) {
        for &b in bytes {
            match b {
                b'\n' => {
                    if self.overflow {
                        self.overflow = false;
                        self.line.clear();
                        self.status.badformat += 1;
                    } else {
                        self.line_received(at);
                    }
                }
                _ if self.line.len() >= MAX_LINE => self.overflow = true,
                _ => self.line.push(b),
            }
        }
    }
}

#[cfg(test)]
mod tests;
