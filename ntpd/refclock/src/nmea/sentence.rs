//! NMEA 0183 sentences that carry time (reference driver20 page, "the
//! various GPS sentences that this driver recognises"):
//!
//! ```text
//! $GPRMC,UTC,POS_STAT,LAT,LAT_REF,LON,LON_REF,SPD,HDG,DATE,MAG_VAR,MAG_REF*CS
//! $GPGLL,LAT,LAT_REF,LON,LON_REF,UTC,POS_STAT*CS
//! $GPGGA,UTC,LAT,LAT_REF,LON,LON_REF,FIX_MODE,SAT_USED,HDOP,ALT,…*CS
//! $GPZDA,UTC,DD,MM,YYYY,TH,TM*CS
//! ```
//!
//! `UTC` is `hhmmss` with an optional fraction, `DATE` `ddmmyy`, `CS` two
//! hex digits, the XOR of every octet between `$` and `*`. Any two-letter
//! talker ID is accepted (`$GN…` of a multi-system receiver). The input is
//! untrusted: [`parse`] takes any bytes and never panics.

/// Which sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `$xxRMC`, recommended minimum data (mode bit 0).
    Rmc,
    /// `$xxGGA`, fix data (mode bit 1).
    Gga,
    /// `$xxGLL`, geographic position (mode bit 2).
    Gll,
    /// `$xxZDA`, time and date (mode bit 3).
    Zda,
}

impl Kind {
    /// The `mode` bit that selects it (driver20: bit 0 RMC, 1 GGA, 2 GLL,
    /// 3 ZDA).
    pub fn mode_bit(self) -> u32 {
        match self {
            Kind::Rmc => 1,
            Kind::Gga => 2,
            Kind::Gll => 4,
            Kind::Zda => 8,
        }
    }
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// Year; two-digit years (RMC) are left as 0..99 for the driver to
    /// place in a century.
    pub year: i32,
    /// 1..12.
    pub month: u32,
    /// 1..31.
    pub day: u32,
}

/// A parsed time sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sentence {
    /// Which one.
    pub kind: Kind,
    /// Seconds of the UTC day, 0..=86_400 (a leap second is 23:59:60).
    pub second_of_day: u32,
    /// Nanoseconds of the fraction.
    pub nanos: u32,
    /// The date, for RMC (two-digit year) and ZDA (four-digit).
    pub date: Option<Date>,
    /// The receiver says its time is valid (RMC and GLL status `A`, GGA
    /// fix quality above 0; ZDA carries no status).
    pub valid: bool,
}

/// Why a line is not a usable time sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not `$` + talker + type: not an NMEA sentence at all.
    #[error("not an NMEA sentence")]
    NotNmea,
    /// A sentence type the driver does not read (quietly ignored).
    #[error("sentence type not used for time")]
    Ignored,
    /// No `*CS` checksum.
    #[error("no checksum")]
    NoChecksum,
    /// The checksum does not match.
    #[error("checksum {found:02X}, computed {computed:02X}")]
    BadChecksum {
        /// In the sentence.
        found: u8,
        /// Over its octets.
        computed: u8,
    },
    /// A field is missing or malformed.
    #[error("bad {0} field")]
    Field(&'static str),
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// The decimal value of `digits` (all ASCII digits, at most 9).
fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u32, |a, d| a * 10 + u32::from(d - b'0')),
    )
}

/// `hhmmss[.f…]` → (second of day, nanoseconds).
fn utc(f: &[u8]) -> Option<(u32, u32)> {
    let (whole, frac) = match f.iter().position(|&b| b == b'.') {
        Some(i) => (&f[..i], &f[i + 1..]),
        None => (f, &[][..]),
    };
    if whole.len() != 6 {
        return None;
    }
    let (h, m, s) = (
        number(&whole[0..2])?,
        number(&whole[2..4])?,
        number(&whole[4..6])?,
    );
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        let digits = &frac[..frac.len().min(9)];
        number(digits)? * 10u32.pow(9 - digits.len() as u32)
    };
    Some((h * 3600 + m * 60 + s, nanos))
}

fn date(day: &[u8], month: &[u8], year: &[u8]) -> Option<Date> {
    let d = Date {
        day: number(day)?,
        month: number(month)?,
        year: i32::try_from(number(year)?).ok()?,
    };
    ((1..=31).contains(&d.day) && (1..=12).contains(&d.month)).then_some(d)
}

/// The fields of `line` (one sentence, with or without `\r\n`) after its
/// checksum is verified.
fn fields(line: &[u8]) -> Result<(Kind, Vec<&[u8]>), ParseError> {
    let end = line
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(0, |i| i + 1);
    let line = &line[..end];
    let body = line.strip_prefix(b"$").ok_or(ParseError::NotNmea)?;
    if body.len() < 5 || !body[..5].iter().all(u8::is_ascii_uppercase) {
        return Err(ParseError::NotNmea);
    }
    let kind = match &body[2..5] {
        b"RMC" => Kind::Rmc,
        b"GGA" => Kind::Gga,
        b"GLL" => Kind::Gll,
        b"ZDA" => Kind::Zda,
        _ => return Err(ParseError::Ignored),
    };
    let star = body
        .iter()
        .position(|&b| b == b'*')
        .ok_or(ParseError::NoChecksum)?;
    let (data, cs) = (&body[..star], &body[star + 1..]);
    let found = match cs {
        [a, b] => match (hex(*a), hex(*b)) {
            (Some(a), Some(b)) => a << 4 | b,
            _ => return Err(ParseError::NoChecksum),
        },
        _ => return Err(ParseError::NoChecksum),
    };
    let computed = data.iter().fold(0u8, |a, b| a ^ b);
    if found != computed {
        return Err(ParseError::BadChecksum { found, computed });
    }
    Ok((kind, data.split(|&b| b == b',').collect()))
}

/// Parse one line.
pub fn parse(line: &[u8]) -> Result<Sentence, ParseError> {
    let (kind, f) = fields(line)?;
    let at = |i: usize| f.get(i).copied().unwrap_or(&[]);
    let (utc_field, valid, date) = match kind {
        Kind::Rmc => {
            let d = at(9);
            if d.len() != 6 {
                return Err(ParseError::Field("date"));
            }
            let d = date(&d[0..2], &d[2..4], &d[4..6]).ok_or(ParseError::Field("date"))?;
            (at(1), at(2) == b"A", Some(d))
        }
        Kind::Gga => (at(1), number(at(6)).is_some_and(|q| q > 0), None),
        Kind::Gll => (at(5), at(6) == b"A", None),
        Kind::Zda => {
            if at(4).len() != 4 {
                return Err(ParseError::Field("date"));
            }
            let d = date(at(2), at(3), at(4)).ok_or(ParseError::Field("date"))?;
            (at(1), true, Some(d))
        }
    };
    let (second_of_day, nanos) = utc(utc_field).ok_or(ParseError::Field("UTC"))?;
    Ok(Sentence {
        kind,
        second_of_day,
        nanos,
        date,
        valid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `$body*CS`.
    fn with_cs(body: &str) -> Vec<u8> {
        let cs = body.bytes().fold(0u8, |a, b| a ^ b);
        format!("${body}*{cs:02X}\r\n").into_bytes()
    }

    #[test]
    fn rmc_with_its_checksum() {
        let line = b"$GPRMC,083743.00,A,4807.038,N,01131.000,E,000.0,000.0,071226,,,A*57\r\n";
        let s = parse(line).unwrap();
        assert_eq!(s.kind, Kind::Rmc);
        assert_eq!(s.second_of_day, 8 * 3600 + 37 * 60 + 43);
        assert_eq!(
            s.date,
            Some(Date {
                year: 26,
                month: 12,
                day: 7
            })
        );
        assert!(s.valid);
        let mut bad = line.to_vec();
        bad[66] = b'8';
        assert_eq!(
            parse(&bad),
            Err(ParseError::BadChecksum {
                found: 0x58,
                computed: 0x57
            })
        );
        let frac = parse(&with_cs(
            "GPRMC,083743.25,V,4807.038,N,01131.000,E,000.0,000.0,071226,,,N",
        ))
        .unwrap();
        assert_eq!((frac.nanos, frac.valid), (250_000_000, false));
    }

    #[test]
    fn gga_gll_zda() {
        let gga =
            parse(b"$GPGGA,083743.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*6F").unwrap();
        assert_eq!((gga.kind, gga.valid, gga.date), (Kind::Gga, true, None));
        let gll = parse(&with_cs("GNGLL,4807.038,N,01131.000,E,083743.00,V,A")).unwrap();
        assert_eq!((gll.kind, gll.valid), (Kind::Gll, false));
        let zda = parse(&with_cs("GPZDA,235960.00,31,12,2016,00,00")).unwrap();
        assert_eq!(zda.second_of_day, 86_400, "the leap second 23:59:60");
        assert_eq!(zda.date.unwrap().year, 2016);
        assert_eq!(
            parse(&with_cs("GPZDA,235959.00,32,12,2016,00,00")),
            Err(ParseError::Field("date"))
        );
    }

    #[test]
    fn other_and_broken_lines() {
        assert_eq!(parse(b"$GPGSV,1,1,00*79"), Err(ParseError::Ignored));
        assert_eq!(parse(b"hello"), Err(ParseError::NotNmea));
        assert_eq!(parse(b"$GPRMC,083743"), Err(ParseError::NoChecksum));
        assert_eq!(parse(b""), Err(ParseError::NotNmea));
        assert_eq!(
            parse(b"$GPZDA,256099,1,1,2000*XY"),
            Err(ParseError::NoChecksum)
        );
        assert_eq!(
            parse(&with_cs("GPRMC,256099,A,,,,,,,071226,,")),
            Err(ParseError::Field("UTC"))
        );
    }

    #[test]
    fn any_bytes_never_panic() {
        let mut x: u32 = 12345;
        for n in 0..20_000 {
            let mut line = b"$GPRMC,".to_vec();
            const ALPHABET: &[u8] = b",.*0123456789AV$\r\n\xff";
            for _ in 0..(n % 90) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                line.push(ALPHABET[x as usize % ALPHABET.len()]);
            }
            let _ = parse(&line);
        }
    }
}
