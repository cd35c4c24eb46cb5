//! NTP time formats (RFC 5905 §6).
//!
//! * [`NtpTimestamp`]: the 64-bit wire timestamp, 32 bits of seconds and
//!   32 bits of fraction. It carries no era: second 0 of era 1
//!   (2036-02-07T06:28:16Z) has the same bits as 1900-01-01T00:00:00Z.
//! * [`NtpDate`]: a timestamp with its era resolved (RFC 5905's 128-bit
//!   "date format" reduced to what fits an `i64` second count). Converting a
//!   wire timestamp into a date needs a *pivot*, a date known to lie within
//!   68 years of the true one: the result is the date congruent to the
//!   timestamp (modulo 2^32 s) nearest to the pivot (RFC 5905 §6).
//! * [`NtpShort`]: the 32-bit 16.16 format of root delay and dispersion.
//! * [`NtpDuration`]: a signed 32.32 difference. Subtracting two timestamps
//!   wraps correctly across an era boundary as long as they are within
//!   68 years of each other.
//!
//! Nothing here reads the system clock: callers pass `SystemTime` values in.

use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch
/// (1970-01-01), `JAN_1970` in the reference.
pub const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

/// Length of one NTP era in seconds (2^32).
pub const ERA_SECONDS: i64 = 1 << 32;

const FRAC_SCALE: f64 = 4_294_967_296.0; // 2^32
const SHORT_SCALE: f64 = 65_536.0; // 2^16

/// Converts nanoseconds (0..1e9) to a 32-bit binary fraction, rounding to
/// nearest. The result round-trips through [`fraction_to_nanos`].
/// Civil date (year, month 1–12, day 1–31) of a day count since
/// 1970-01-01 in the proleptic Gregorian calendar (UTC): what the daemon,
/// `ntpq`, `ntp-keygen` and the stats files print. Exact for every `i64`
/// day count a timestamp can produce, before 1970 included.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // doy < 366 and mp < 12, so both fit in u32.
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Converts nanoseconds (clamped to 0..=999 999 999) to the 32-bit binary
/// fraction of an NTP timestamp (units of 2^-32 s), rounding to nearest.
pub fn nanos_to_fraction(nanos: u32) -> u32 {
    let nanos = u64::from(nanos.min(999_999_999));
    (((nanos << 32) + 500_000_000) / 1_000_000_000) as u32
}

/// Converts a 32-bit binary fraction to nanoseconds, rounding to nearest
/// and capping at 999,999,999 so the result stays inside the second.
pub fn fraction_to_nanos(fraction: u32) -> u32 {
    let n = ((u64::from(fraction) * 1_000_000_000) + (1 << 31)) >> 32;
    // 0xffff_ffff rounds to 1e9; keep it inside the second.
    n.min(999_999_999) as u32
}

/// 64-bit NTP timestamp: seconds (32 bits) and fraction (32 bits) since the
/// start of the current era (RFC 5905 §6, Figure 3). Era-less on the wire.
///
/// There is deliberately no `Ord`: comparing timestamps is only meaningful
/// through their difference ([`NtpTimestamp`] `-` [`NtpTimestamp`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NtpTimestamp(u64);

impl NtpTimestamp {
    /// All-zero timestamp, which NTP uses to mean "unknown / not set".
    pub const ZERO: NtpTimestamp = NtpTimestamp(0);

    /// From the raw 64-bit value (seconds in the high half).
    pub const fn from_bits(bits: u64) -> Self {
        NtpTimestamp(bits)
    }

    /// The raw 64-bit value.
    pub const fn to_bits(self) -> u64 {
        self.0
    }

    /// From era seconds and a 32-bit fraction.
    pub const fn from_parts(seconds: u32, fraction: u32) -> Self {
        NtpTimestamp(((seconds as u64) << 32) | fraction as u64)
    }

    /// Seconds within the era.
    pub const fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Fraction of a second, in units of 2^-32 s.
    pub const fn fraction(self) -> u32 {
        self.0 as u32
    }

    /// True for the all-zero timestamp.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// From the 8 network-order octets.
    pub const fn from_bytes(b: [u8; 8]) -> Self {
        NtpTimestamp(u64::from_be_bytes(b))
    }

    /// The 8 network-order octets.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// Seconds within the era as a float (era-less).
    pub fn to_seconds_f64(self) -> f64 {
        self.0 as f64 / FRAC_SCALE
    }

    /// From seconds as a float; the integer part is taken modulo 2^32
    /// (era dropped). NaN gives zero.
    pub fn from_seconds_f64(secs: f64) -> Self {
        if !secs.is_finite() {
            return NtpTimestamp::ZERO;
        }
        let whole = secs.floor();
        let frac = ((secs - whole) * FRAC_SCALE).floor();
        let s = whole.rem_euclid(ERA_SECONDS as f64) as u64;
        NtpTimestamp::from_bits((s << 32).wrapping_add(frac.min(u32::MAX as f64) as u64))
    }

    /// The wire timestamp for a system time (era dropped).
    pub fn from_system_time(t: SystemTime) -> Self {
        NtpDate::from_system_time(t).timestamp()
    }

    /// The wire timestamp for Unix seconds and nanoseconds (era dropped).
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        NtpDate::from_unix(secs, nanos).timestamp()
    }

    /// The date congruent to this timestamp that lies nearest to `pivot`:
    /// within `[pivot - 2^31 s, pivot + 2^31 s)` (RFC 5905 §6 era rule).
    pub fn resolve(self, pivot: NtpDate) -> NtpDate {
        pivot + (self - pivot.timestamp())
    }

    /// The era of this timestamp, resolved against `pivot`.
    pub fn era(self, pivot: NtpDate) -> i32 {
        self.resolve(pivot).era()
    }

    /// Converts to a system time, resolving the era against `pivot`
    /// (any time known to be within 68 years, e.g. the local clock).
    /// `None` only if the result is outside `SystemTime`'s range.
    pub fn to_system_time(self, pivot: SystemTime) -> Option<SystemTime> {
        self.resolve(NtpDate::from_system_time(pivot))
            .to_system_time()
    }
}

impl std::fmt::Debug for NtpTimestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NtpTimestamp({:#010x}.{:08x})",
            self.seconds(),
            self.fraction()
        )
    }
}

/// An NTP date: a timestamp with its era (RFC 5905 §6, date format).
/// Seconds are counted from 1900-01-01T00:00:00Z (era 0, second 0) and may
/// be negative (earlier eras) or exceed 2^32 (later eras).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug)]
pub struct NtpDate {
    secs: i64,
    frac: u32,
}

impl NtpDate {
    /// From seconds since the prime epoch and a fraction.
    pub const fn from_ntp_seconds(secs: i64, fraction: u32) -> Self {
        NtpDate {
            secs,
            frac: fraction,
        }
    }

    /// From an era number and a wire timestamp within that era.
    pub const fn from_era(era: i32, ts: NtpTimestamp) -> Self {
        NtpDate {
            secs: era as i64 * ERA_SECONDS + ts.seconds() as i64,
            frac: ts.fraction(),
        }
    }

    /// Seconds since the prime epoch (1900-01-01), across eras.
    pub const fn ntp_seconds(self) -> i64 {
        self.secs
    }

    /// The era number (floor of seconds / 2^32). 1900–2036 is era 0.
    pub const fn era(self) -> i32 {
        self.secs.div_euclid(ERA_SECONDS) as i32
    }

    /// Seconds within the era (the "era offset").
    pub const fn seconds(self) -> u32 {
        self.secs.rem_euclid(ERA_SECONDS) as u32
    }

    /// Fraction of a second, in units of 2^-32 s.
    pub const fn fraction(self) -> u32 {
        self.frac
    }

    /// The wire timestamp (era dropped).
    pub const fn timestamp(self) -> NtpTimestamp {
        NtpTimestamp::from_parts(self.seconds(), self.frac)
    }

    /// From Unix seconds and nanoseconds (nanoseconds above 999,999,999
    /// are capped).
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        NtpDate {
            secs: secs.saturating_add(NTP_UNIX_OFFSET),
            frac: nanos_to_fraction(nanos),
        }
    }

    /// Whole Unix seconds (floor) and nanoseconds.
    pub fn to_unix(self) -> (i64, u32) {
        (
            self.secs.saturating_sub(NTP_UNIX_OFFSET),
            fraction_to_nanos(self.frac),
        )
    }

    /// From a system time (before or after 1970).
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => NtpDate::from_unix(
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            Err(e) => {
                // t = epoch - d: floor the seconds, complement the nanos.
                let d = e.duration();
                let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                let n = d.subsec_nanos();
                if n == 0 {
                    NtpDate::from_unix(s.saturating_neg(), 0)
                } else {
                    NtpDate::from_unix(s.saturating_neg().saturating_sub(1), 1_000_000_000 - n)
                }
            }
        }
    }

    /// To a system time; `None` if outside `SystemTime`'s range.
    pub fn to_system_time(self) -> Option<SystemTime> {
        let (secs, nanos) = self.to_unix();
        if secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::new(secs.unsigned_abs(), nanos))
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
                .checked_add(Duration::from_nanos(u64::from(nanos)))
        }
    }

    /// Unix seconds as a float.
    pub fn to_unix_seconds_f64(self) -> f64 {
        (self.secs - NTP_UNIX_OFFSET) as f64 + f64::from(self.frac) / FRAC_SCALE
    }
}

impl Add<NtpDuration> for NtpDate {
    type Output = NtpDate;
    fn add(self, d: NtpDuration) -> NtpDate {
        // 32.32 arithmetic in i128 so no intermediate overflows.
        let total = ((i128::from(self.secs) << 32) | i128::from(self.frac)) + i128::from(d.0);
        NtpDate {
            secs: i64::try_from(total >> 32).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX }),
            frac: (total & 0xffff_ffff) as u32,
        }
    }
}

impl Sub for NtpDate {
    type Output = NtpDuration;
    /// Difference, saturating at the ±68-year range of [`NtpDuration`].
    fn sub(self, rhs: NtpDate) -> NtpDuration {
        let a = (i128::from(self.secs) << 32) | i128::from(self.frac);
        let b = (i128::from(rhs.secs) << 32) | i128::from(rhs.frac);
        let d = a - b;
        NtpDuration(i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX }))
    }
}

/// 32-bit NTP short format, 16 bits of seconds and 16 of fraction
/// (RFC 5905 §6, Figure 3): root delay and root dispersion.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct NtpShort(u32);

impl NtpShort {
    /// Zero.
    pub const ZERO: NtpShort = NtpShort(0);

    /// From the raw 32-bit value.
    pub const fn from_bits(bits: u32) -> Self {
        NtpShort(bits)
    }

    /// The raw 32-bit value.
    pub const fn to_bits(self) -> u32 {
        self.0
    }

    /// Whole seconds.
    pub const fn seconds(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// Fraction in units of 2^-16 s.
    pub const fn fraction(self) -> u16 {
        self.0 as u16
    }

    /// From 4 network-order octets.
    pub const fn from_bytes(b: [u8; 4]) -> Self {
        NtpShort(u32::from_be_bytes(b))
    }

    /// The 4 network-order octets.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }

    /// Seconds as a float.
    pub fn to_seconds_f64(self) -> f64 {
        f64::from(self.0) / SHORT_SCALE
    }

    /// From seconds, rounded to nearest and clamped to the representable
    /// range 0 ..= 65535.99998 s (negative and NaN give zero).
    pub fn from_seconds_f64(secs: f64) -> Self {
        let v = (secs * SHORT_SCALE).round();
        if v.is_nan() || v <= 0.0 {
            NtpShort(0)
        } else if v >= u32::MAX as f64 {
            NtpShort(u32::MAX)
        } else {
            NtpShort(v as u32)
        }
    }
}

impl std::fmt::Debug for NtpShort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NtpShort({}s)", self.to_seconds_f64())
    }
}

/// Signed 64-bit 32.32 time difference (about ±68 years, resolution
/// 2^-32 s). Arithmetic between durations saturates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct NtpDuration(i64);

impl NtpDuration {
    /// Zero.
    pub const ZERO: NtpDuration = NtpDuration(0);
    /// Largest positive difference.
    pub const MAX: NtpDuration = NtpDuration(i64::MAX);
    /// Largest negative difference.
    pub const MIN: NtpDuration = NtpDuration(i64::MIN);

    /// From the raw signed 32.32 value.
    pub const fn from_bits(bits: i64) -> Self {
        NtpDuration(bits)
    }

    /// The raw signed 32.32 value.
    pub const fn to_bits(self) -> i64 {
        self.0
    }

    /// Seconds as a float.
    pub fn to_seconds_f64(self) -> f64 {
        self.0 as f64 / FRAC_SCALE
    }

    /// From seconds, rounded to nearest, saturating at the range ends
    /// (NaN gives zero).
    pub fn from_seconds_f64(secs: f64) -> Self {
        let v = (secs * FRAC_SCALE).round();
        if v.is_nan() {
            NtpDuration(0)
        } else if v >= i64::MAX as f64 {
            NtpDuration(i64::MAX)
        } else if v <= i64::MIN as f64 {
            NtpDuration(i64::MIN)
        } else {
            NtpDuration(v as i64)
        }
    }

    /// From a non-negative `std` duration, saturating.
    pub fn from_std(d: Duration) -> Self {
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        if secs > i64::from(i32::MAX) {
            return NtpDuration::MAX;
        }
        NtpDuration((secs << 32) + i64::from(nanos_to_fraction(d.subsec_nanos())))
    }

    /// Absolute value (saturating).
    pub const fn abs(self) -> Self {
        NtpDuration(self.0.saturating_abs())
    }

    /// True when negative.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl std::fmt::Debug for NtpDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NtpDuration({}s)", self.to_seconds_f64())
    }
}

impl Sub for NtpTimestamp {
    type Output = NtpDuration;
    /// `self - rhs`, modulo 2^64: correct across an era boundary when the
    /// true difference is within ±2^31 s (68 years).
    fn sub(self, rhs: NtpTimestamp) -> NtpDuration {
        NtpDuration(self.0.wrapping_sub(rhs.0) as i64)
    }
}

impl Add<NtpDuration> for NtpTimestamp {
    type Output = NtpTimestamp;
    /// Wraps across era boundaries.
    fn add(self, d: NtpDuration) -> NtpTimestamp {
        NtpTimestamp(self.0.wrapping_add(d.0 as u64))
    }
}

impl Sub<NtpDuration> for NtpTimestamp {
    type Output = NtpTimestamp;
    fn sub(self, d: NtpDuration) -> NtpTimestamp {
        NtpTimestamp(self.0.wrapping_sub(d.0 as u64))
    }
}

impl AddAssign<NtpDuration> for NtpTimestamp {
    fn add_assign(&mut self, d: NtpDuration) {
        *self = *self + d;
    }
}

impl SubAssign<NtpDuration> for NtpTimestamp {
    fn sub_assign(&mut self, d: NtpDuration) {
        *self = *self - d;
    }
}

impl Add for NtpDuration {
    type Output = NtpDuration;
    fn add(self, rhs: NtpDuration) -> NtpDuration {
        NtpDuration(self.0.saturating_add(rhs.0))
    }
}

impl Sub for NtpDuration {
    type Output = NtpDuration;
    fn sub(self, rhs: NtpDuration) -> NtpDuration {
        NtpDuration(self.0.saturating_sub(rhs.0))
    }
}

impl Neg for NtpDuration {
    type Output = NtpDuration;
    fn neg(self) -> NtpDuration {
        NtpDuration(self.0.saturating_neg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        // 2036-02-07, the NTP era 1 rollover day.
        assert_eq!(civil_from_days(24_143), (2036, 2, 7));
        // 2026-11-27, the fixtures' generation day.
        assert_eq!(civil_from_days(20_784), (2026, 11, 27));
    }
    use proptest::prelude::*;

    /// 2036-02-07T06:28:16Z, the first second of era 1.
    const ERA1_START_UNIX: i64 = 2_085_978_496;

    #[test]
    fn unix_epoch_is_ntp_2208988800() {
        let d = NtpDate::from_system_time(UNIX_EPOCH);
        assert_eq!(d.era(), 0);
        assert_eq!(d.seconds(), 2_208_988_800);
        assert_eq!(
            d.timestamp().to_bytes(),
            [0x83, 0xaa, 0x7e, 0x80, 0, 0, 0, 0]
        );
    }

    #[test]
    fn era1_starts_2036_02_07_06_28_16() {
        let d = NtpDate::from_unix(ERA1_START_UNIX, 0);
        assert_eq!((d.era(), d.seconds(), d.fraction()), (1, 0, 0));
        assert!(d.timestamp().is_zero());
        let before = NtpDate::from_unix(ERA1_START_UNIX - 1, 0);
        assert_eq!((before.era(), before.seconds()), (0, u32::MAX));
    }

    #[test]
    fn captured_timestamp_resolves_to_2026() {
        // Transmit seconds 0xeeb3bf73 from the brief's §13.2 capture,
        // 2026-11-27.
        let ts = NtpTimestamp::from_parts(0xeeb3_bf73, 0x5008_4bad);
        let pivot = NtpDate::from_unix(1_795_000_000, 0);
        let d = ts.resolve(pivot);
        assert_eq!(d.era(), 0);
        assert_eq!(d.to_unix().0, 0xeeb3_bf73_i64 - NTP_UNIX_OFFSET);
        assert_eq!(d.to_unix().0, 1_795_768_563);
    }

    #[test]
    fn rollover_resolves_with_pivot_after_2036() {
        // A timestamp of second 10 seen by a host whose clock says 2040.
        let pivot = NtpDate::from_unix(2_208_988_800, 0); // 2040-01-01
        let ts = NtpTimestamp::from_parts(10, 0);
        let d = ts.resolve(pivot);
        assert_eq!(d.era(), 1);
        assert_eq!(d.to_unix().0, ERA1_START_UNIX + 10);
        assert_eq!(ts.era(pivot), 1);
        // The same bits seen from 2030 are still in era 1 (within 68 years).
        let pivot2030 = NtpDate::from_unix(1_893_456_000, 0);
        assert_eq!(ts.era(pivot2030), 1);
        // ... but seen from 1950 they mean 1900.
        let pivot1950 = NtpDate::from_unix(-631_152_000, 0);
        assert_eq!(ts.era(pivot1950), 0);
        assert_eq!(ts.resolve(pivot1950).ntp_seconds(), 10);
    }

    #[test]
    fn difference_across_era_boundary() {
        let late = NtpTimestamp::from_parts(5, 0); // era 1
        let early = NtpTimestamp::from_parts(u32::MAX - 4, 0x8000_0000); // era 0
        assert_eq!((late - early).to_seconds_f64(), 9.5);
        assert_eq!((early - late).to_seconds_f64(), -9.5);
        assert_eq!(early + NtpDuration::from_seconds_f64(9.5), late);
    }

    #[test]
    fn system_time_round_trip_with_nanos() {
        let t = UNIX_EPOCH + Duration::new(ERA1_START_UNIX as u64 + 3, 123_456_789);
        let ts = NtpTimestamp::from_system_time(t);
        assert_eq!(ts.seconds(), 3);
        assert_eq!(ts.to_system_time(t), Some(t));
        let before = UNIX_EPOCH - Duration::new(5, 250_000_000);
        let d = NtpDate::from_system_time(before);
        assert_eq!(d.to_unix(), (-6, 750_000_000));
        assert_eq!(d.fraction(), 0xc000_0000);
        assert_eq!(d.to_system_time(), Some(before));
    }

    #[test]
    fn short_format_worked_values() {
        assert_eq!(NtpShort::from_seconds_f64(1.5).to_bits(), 0x0001_8000);
        assert_eq!(
            NtpShort::from_bits(0x0000_0010).to_seconds_f64(),
            16.0 / 65536.0
        );
        assert_eq!(NtpShort::from_seconds_f64(-1.0), NtpShort::ZERO);
        assert_eq!(NtpShort::from_seconds_f64(1e9).to_bits(), u32::MAX);
        assert_eq!(NtpShort::from_seconds_f64(f64::NAN), NtpShort::ZERO);
        let s = NtpShort::from_bytes([0, 2, 0x40, 0]);
        assert_eq!((s.seconds(), s.fraction()), (2, 0x4000));
        assert_eq!(s.to_seconds_f64(), 2.25);
    }

    #[test]
    fn duration_worked_values() {
        assert_eq!(NtpDuration::from_seconds_f64(-0.25).to_bits(), -(1 << 30));
        assert_eq!(
            NtpDuration::from_std(Duration::from_millis(1500)).to_seconds_f64(),
            1.5
        );
        assert_eq!(NtpDuration::from_seconds_f64(1e20), NtpDuration::MAX);
        assert_eq!(NtpDuration::MIN.abs(), NtpDuration::MAX);
        assert_eq!(
            -NtpDuration::from_seconds_f64(2.0),
            NtpDuration::from_seconds_f64(-2.0)
        );
    }

    #[test]
    fn fraction_nanos_extremes() {
        assert_eq!(nanos_to_fraction(0), 0);
        assert_eq!(nanos_to_fraction(500_000_000), 0x8000_0000);
        assert_eq!(fraction_to_nanos(u32::MAX), 999_999_999);
        assert_eq!(nanos_to_fraction(999_999_999), 0xffff_fffc);
    }

    proptest! {
        #[test]
        fn bytes_round_trip(bits: u64) {
            let ts = NtpTimestamp::from_bits(bits);
            prop_assert_eq!(NtpTimestamp::from_bytes(ts.to_bytes()), ts);
            prop_assert_eq!(NtpTimestamp::from_parts(ts.seconds(), ts.fraction()), ts);
        }

        #[test]
        fn nanos_round_trip(n in 0u32..1_000_000_000) {
            prop_assert_eq!(fraction_to_nanos(nanos_to_fraction(n)), n);
        }

        #[test]
        fn unix_round_trip(secs in -10_000_000_000i64..20_000_000_000, nanos in 0u32..1_000_000_000) {
            let d = NtpDate::from_unix(secs, nanos);
            prop_assert_eq!(d.to_unix(), (secs, nanos));
            prop_assert_eq!(NtpDate::from_era(d.era(), d.timestamp()), d);
        }

        #[test]
        fn resolve_is_nearest_to_pivot(secs in -10_000_000_000i64..20_000_000_000,
                                       offset in -(1i64 << 31)..(1i64 << 31), frac: u32) {
            let truth = NtpDate::from_ntp_seconds(secs, frac);
            let pivot = NtpDate::from_ntp_seconds(secs + offset, 0);
            prop_assert_eq!(truth.timestamp().resolve(pivot), truth);
        }

        #[test]
        fn difference_wraps_within_68_years(a: u64, d in (i64::MIN + 1)..i64::MAX) {
            let t1 = NtpTimestamp::from_bits(a);
            let t2 = t1 + NtpDuration::from_bits(d);
            prop_assert_eq!((t2 - t1).to_bits(), d);
        }

        #[test]
        fn system_time_round_trip(secs in 0u64..10_000_000_000, nanos in 0u32..1_000_000_000) {
            let t = UNIX_EPOCH + Duration::new(secs, nanos);
            let ts = NtpTimestamp::from_system_time(t);
            prop_assert_eq!(ts.to_system_time(t + Duration::from_secs(1 << 30)), Some(t));
        }

        #[test]
        fn short_f64_round_trip(bits: u32) {
            let s = NtpShort::from_bits(bits);
            prop_assert_eq!(NtpShort::from_seconds_f64(s.to_seconds_f64()), s);
        }

        #[test]
        fn duration_f64_close(x in -2.0e9f64..2.0e9) {
            let d = NtpDuration::from_seconds_f64(x);
            prop_assert!((d.to_seconds_f64() - x).abs() <= 1e-6);
        }
    }
}
