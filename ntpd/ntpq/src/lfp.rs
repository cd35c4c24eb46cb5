//! NTP fixed-point (l_fp) text conversions as the reference ntpq performs
//! them: milliseconds strings to l_fp and back (for the `-p` columns and the
//! `filtdelay`/`filtoffset`/`filtdisp` arrays), hex timestamps and the
//! "pretty date" shown after them (RFC 5905 §6 timestamp format).
//!
//! Values go through the same binary representation as in the reference so
//! that rounding is identical (e.g. `0.125` ms printed with two decimals).

/// A 64-bit NTP timestamp or signed time interval (two's complement when
/// signed): 32 bits of seconds and 32 bits of fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LFp {
    /// Seconds (since 1900 for a timestamp, RFC 5905 §6).
    pub int: u32,
    /// Fraction of a second, units of 2^-32 s.
    pub frac: u32,
}

impl LFp {
    fn as_u64(self) -> u64 {
        (u64::from(self.int) << 32) | u64::from(self.frac)
    }

    fn from_u64(v: u64) -> Self {
        Self {
            int: (v >> 32) as u32,
            frac: v as u32,
        }
    }

    fn negated(self) -> Self {
        Self::from_u64(self.as_u64().wrapping_neg())
    }

    /// Both halves are 0 (an unset timestamp in the reference).
    pub fn is_zero(self) -> bool {
        self.int == 0 && self.frac == 0
    }
}

/// Decimal seconds (`[-|+]digits[.digits]`, surrounding white space allowed)
/// to l_fp; at most nine fraction digits are used, the fraction rounded as
/// the reference does (up only when the remainder exceeds one half).
pub fn atolfp(s: &str) -> Option<LFp> {
    let s = s.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let b = rest.as_bytes();
    if !b.first().is_some_and(|&c| c == b'.' || c.is_ascii_digit()) {
        return None;
    }
    let mut pos = 0;
    let mut int: u32 = 0;
    while let Some(&c) = b.get(pos).filter(|c| c.is_ascii_digit()) {
        int = int.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
        pos += 1;
    }
    let mut frac_digits: u64 = 0;
    let mut ndec = 0u32;
    if let Some(&c) = b.get(pos) {
        if !c.is_ascii_whitespace() {
            if c != b'.' {
                return None;
            }
            pos += 1;
            while let Some(&c) = b.get(pos).filter(|c| c.is_ascii_digit()) {
                if ndec < 9 {
                    frac_digits = frac_digits * 10 + u64::from(c - b'0');
                    ndec += 1;
                }
                pos += 1;
            }
            if b.get(pos).is_some_and(|c| !c.is_ascii_whitespace()) {
                return None;
            }
        }
    }
    let mut frac: u32 = 0;
    if ndec > 0 {
        let ten = 10u64.pow(ndec);
        let mut rem = frac_digits;
        let mut bit: u32 = 0x8000_0000;
        while bit != 0 {
            rem <<= 1;
            if rem >= ten {
                frac |= bit;
                rem -= ten;
            }
            bit >>= 1;
        }
        if (rem << 1) > ten {
            frac = frac.wrapping_add(1);
        }
    }
    let v = LFp { int, frac };
    Some(if neg { v.negated() } else { v })
}

/// Milliseconds text to l_fp seconds (the reference `mstolfp`: the decimal
/// point is moved three places and the result read by [`atolfp`]).
pub fn mstolfp(s: &str) -> Option<LFp> {
    let t = s.trim_start();
    let (sign, rest) = match t.as_bytes().first() {
        Some(&c @ (b'-' | b'+')) => (Some(c as char), &t[1..]),
        _ => (None, t),
    };
    let b = rest.as_bytes();
    if !b.first().is_some_and(|&c| c == b'.' || c.is_ascii_digit()) {
        return None;
    }
    let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let int_part = &rest[..int_len];
    let mut buf = String::new();
    if let Some(c) = sign {
        buf.push(c);
    }
    let (secs, ms) = if int_len > 3 {
        int_part.split_at(int_len - 3)
    } else {
        ("0", int_part)
    };
    buf.push_str(secs);
    buf.push('.');
    for _ in ms.len()..3 {
        buf.push('0');
    }
    buf.push_str(ms);
    let mut pos = int_len;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let n = b[pos..].iter().take_while(|c| c.is_ascii_digit()).count();
        buf.push_str(&rest[pos..pos + n]);
        pos += n;
    }
    if b.get(pos).is_some_and(|c| !c.is_ascii_whitespace()) {
        return None;
    }
    atolfp(&buf)
}

/// The reference `dolfptoa`: magnitude `fpi.fpv` with `ndec` decimals
/// (milliseconds when `msec`, i.e. three more digits before the point),
/// rounded half up, leading zeros removed.
fn dolfptoa(mut fpi: u32, mut fpv: u32, sign: Option<char>, ndec: usize, msec: bool) -> String {
    const LEN: usize = 24;
    let mut cbuf = [0u8; LEN];
    let mut cp = 10usize;
    let mut cpend = 10usize;
    let mut cpdec = 10usize;
    while cp > 0 && fpi != 0 {
        cp -= 1;
        cbuf[cp] = (fpi % 10) as u8;
        fpi /= 10;
    }
    let mut dec = ndec;
    if msec {
        dec += 3;
        cpdec += 3;
    }
    dec = dec.min(LEN - cpend);
    while dec > 0 && fpv != 0 {
        let v = u64::from(fpv) * 10;
        cbuf[cpend] = (v >> 32) as u8;
        fpv = v as u32;
        cpend += 1;
        dec -= 1;
    }
    if dec > 0 {
        cpend += dec;
    } else {
        let mut tp = cpend;
        let mut carry = fpv & 0x8000_0000 != 0;
        while carry && tp > 0 {
            tp -= 1;
            cbuf[tp] += 1;
            if cbuf[tp] == 10 {
                cbuf[tp] = 0;
            } else {
                carry = false;
            }
        }
        cp = cp.min(tp);
    }
    while cp < cpdec && cbuf[cp] == 0 {
        cp += 1;
    }
    if cp >= cpdec {
        cp = cpdec - 1;
    }
    let mut out = String::new();
    if let Some(s) = sign {
        out.push(s);
    }
    for (i, d) in cbuf.iter().enumerate().take(cpend).skip(cp) {
        if i == cpdec {
            out.push('.');
        }
        out.push(char::from(b'0' + d));
    }
    out
}

/// A signed interval in milliseconds, always with a sign (`+0.039`).
pub fn lfptoms_signed(v: LFp, ndec: usize) -> String {
    if v.int & 0x8000_0000 != 0 {
        let m = v.negated();
        dolfptoa(m.int, m.frac, Some('-'), ndec, true)
    } else {
        dolfptoa(v.int, v.frac, Some('+'), ndec, true)
    }
}

/// An unsigned interval in milliseconds (`0.104`); a negative value keeps
/// its minus sign rather than wrapping around.
pub fn lfptoms_unsigned(v: LFp, ndec: usize) -> String {
    if v.int & 0x8000_0000 != 0 {
        let m = v.negated();
        dolfptoa(m.int, m.frac, Some('-'), ndec, true)
    } else {
        dolfptoa(v.int, v.frac, None, ndec, true)
    }
}

/// `hhhhhhhh.hhhhhhhh` (at most eight hex digits each side) to l_fp.
pub fn hextolfp(s: &str) -> Option<LFp> {
    let s = s.trim();
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    let parse = |t: &str| -> Option<u32> {
        if t.len() > 8 || !t.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        if t.is_empty() {
            return Some(0);
        }
        u32::from_str_radix(t, 16).ok()
    };
    if i.is_empty() {
        return None;
    }
    Some(LFp {
        int: parse(i)?,
        frac: parse(f)?,
    })
}

/// A timestamp variable value: `0x` hex, bare hex starting with a letter,
/// or decimal seconds (the reference `decodets`; RT-11 dates are not read).
pub fn decodets(s: &str) -> Option<LFp> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return hextolfp(h);
    }
    if t.as_bytes()
        .first()
        .is_some_and(|c| matches!(c, b'a'..=b'f' | b'A'..=b'F'))
    {
        return hextolfp(t);
    }
    atolfp(t)
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

/// Unix seconds of an NTP seconds value: era 0 when the high bit is set
/// (1968–2036), else era 1 (2036–2104), which places every timestamp within
/// 68 years of the present.
pub fn ntp_to_unix(secs: u32) -> i64 {
    let era = if secs & 0x8000_0000 != 0 {
        0
    } else {
        1i64 << 32
    };
    i64::from(secs) + era - NTP_UNIX_OFFSET
}

/// The reference `prettydate` (in UTC): `eeb3c3ad.12dbb005  Fri, Nov 27
/// 2026  8:54:05.073`, milliseconds truncated; `(no time)` for zero.
pub fn prettydate(ts: LFp) -> String {
    if ts.is_zero() {
        return "(no time)".to_string();
    }
    let unix = ntp_to_unix(ts.int);
    let days = unix.div_euclid(86_400);
    let sod = unix.rem_euclid(86_400);
    let (y, m, d) = proto::time::civil_from_days(days);
    let wday = (days + 4).rem_euclid(7) as usize;
    let ms = (u64::from(ts.frac) * 1000) >> 32;
    format!(
        "{:08x}.{:08x}  {}, {} {:2} {:4} {:2}:{:02}:{:02}.{:03}",
        ts.int,
        ts.frac,
        DAYS[wday],
        MONTHS[(m as usize).saturating_sub(1) % 12],
        d,
        y,
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ms_round_trip_like_reference_columns() {
        // runs/iff/bob: offset=0.039 → "+0.039"; delay=0.104 → "0.104".
        assert_eq!(lfptoms_signed(mstolfp("0.039").unwrap(), 3), "+0.039");
        assert_eq!(lfptoms_unsigned(mstolfp("0.104").unwrap(), 3), "0.104");
        assert_eq!(lfptoms_signed(mstolfp("-0.004").unwrap(), 3), "-0.004");
        assert_eq!(lfptoms_signed(mstolfp("0.00").unwrap(), 2), "+0.00");
        assert_eq!(lfptoms_unsigned(mstolfp("1.02").unwrap(), 2), "1.02");
        assert_eq!(lfptoms_unsigned(mstolfp("1234.5").unwrap(), 3), "1234.500");
        assert_eq!(lfptoms_unsigned(mstolfp("0").unwrap(), 3), "0.000");
        assert_eq!(lfptoms_unsigned(mstolfp("9.9999").unwrap(), 3), "10.000");
        assert!(mstolfp("abc").is_none());
        assert!(mstolfp("1.2x").is_none());
    }

    #[test]
    fn prettydate_matches_recorded_outputs() {
        // runs/iff/bob/ntpq-c-rv.txt
        let ts = decodets("0xeeb3c3ad.12dbb005").unwrap();
        assert_eq!(
            prettydate(ts),
            "eeb3c3ad.12dbb005  Fri, Nov 27 2026  8:54:05.073"
        );
        let ts = decodets("0xeeb3cbe2.7701e7bb").unwrap();
        assert_eq!(
            prettydate(ts),
            "eeb3cbe2.7701e7bb  Fri, Nov 27 2026  9:29:06.464"
        );
        assert_eq!(prettydate(LFp::default()), "(no time)");
        // Era 1 (after 2036-02-07).
        assert_eq!(
            prettydate(LFp { int: 1, frac: 0 }),
            "00000001.00000000  Thu, Feb  7 2036  6:28:17.000"
        );
    }

    #[test]
    fn atolfp_rejects_garbage() {
        assert!(atolfp("").is_none());
        assert!(atolfp("-").is_none());
        assert!(atolfp("1.5.5").is_none());
        assert_eq!(
            atolfp("2.5").unwrap(),
            LFp {
                int: 2,
                frac: 0x8000_0000
            }
        );
        assert_eq!(
            atolfp("-1").unwrap(),
            LFp {
                int: u32::MAX,
                frac: 0
            }
        );
    }
}
