//! The Linux kernel clock, driven through `clock_adjtime(CLOCK_REALTIME)`
//! (the NTP kernel interface of RFC 1589 / the Linux `adjtimex` API).
//!
//! The system call and the zeroed `struct timex` come from
//! [`ntp_sys::adjtime`], the workspace's one crate with `unsafe`; this
//! module only fills in and reads the fields.

use crate::clock::{Clock, ClockError, ClockState, ClockTime};
use crate::select::LeapIndicator;

/// `timex.freq` units: PPM with a 16-bit binary fraction.
const FREQ_SCALE: f64 = 65536e6;
/// Largest frequency the kernel accepts, s/s (500 PPM).
const KERNEL_MAXFREQ: f64 = 500e-6;
/// Largest offset ADJ_OFFSET accepts, seconds (MAXPHASE).
const KERNEL_MAXPHASE: f64 = 0.5;

/// Convert a frequency in s/s to the kernel's scaled-PPM units.
pub fn freq_to_scaled_ppm(freq: f64) -> i64 {
    (freq.clamp(-KERNEL_MAXFREQ, KERNEL_MAXFREQ) * FREQ_SCALE).round() as i64
}

/// Convert the kernel's scaled-PPM units to s/s.
pub fn scaled_ppm_to_freq(scaled: i64) -> f64 {
    scaled as f64 / FREQ_SCALE
}

/// Split a signed offset in seconds into (seconds, nanoseconds) with the
/// nanoseconds non-negative, as ADJ_SETOFFSET with ADJ_NANO requires.
pub fn split_offset(offset: f64) -> (i64, i64) {
    let total_ns = (offset * 1e9).round() as i64;
    (
        total_ns.div_euclid(1_000_000_000),
        total_ns.rem_euclid(1_000_000_000),
    )
}

/// Widen a C `long` (32 bits on some targets, 64 on others) to `i64`.
#[allow(clippy::useless_conversion)]
fn long(v: libc::c_long) -> i64 {
    i64::from(v)
}

/// A `struct timex` with every field zero (modes 0 = read only).
fn zeroed_timex() -> libc::timex {
    ntp_sys::adjtime::zeroed()
}

/// Call `clock_adjtime(CLOCK_REALTIME, tx)`; returns the clock state
/// (TIME_OK, TIME_INS, ...).
fn adjtime(tx: &mut libc::timex, operation: &'static str) -> Result<i32, ClockError> {
    ntp_sys::adjtime::clock_adjtime(tx).map_err(|source| ClockError::Os { operation, source })
}

/// The system's real-time clock.  Changing it needs CAP_SYS_TIME.
#[derive(Debug, Default)]
pub struct KernelClock {
    _private: (),
}

impl KernelClock {
    /// A handle on CLOCK_REALTIME.
    pub fn new() -> Self {
        KernelClock { _private: () }
    }
}

impl Clock for KernelClock {
    fn now(&self) -> Result<ClockTime, ClockError> {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| ClockError::Os {
                operation: "read CLOCK_REALTIME",
                source: std::io::Error::other(e),
            })?;
        Ok(ClockTime {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        })
    }

    fn step(&mut self, offset: f64) -> Result<(), ClockError> {
        if !offset.is_finite() {
            return Err(ClockError::OutOfRange {
                operation: "step",
                value: offset,
            });
        }
        let (secs, nanos) = split_offset(offset);
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_SETOFFSET | libc::ADJ_NANO;
        tx.time.tv_sec = secs as libc::time_t;
        tx.time.tv_usec = nanos as libc::suseconds_t;
        adjtime(&mut tx, "clock_adjtime(ADJ_SETOFFSET)").map(|_| ())
    }

    fn set_frequency(&mut self, freq: f64) -> Result<(), ClockError> {
        if !freq.is_finite() {
            return Err(ClockError::OutOfRange {
                operation: "set_frequency",
                value: freq,
            });
        }
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_FREQUENCY;
        tx.freq = freq_to_scaled_ppm(freq) as libc::c_long;
        adjtime(&mut tx, "clock_adjtime(ADJ_FREQUENCY)").map(|_| ())
    }

    fn slew(&mut self, offset: f64) -> Result<(), ClockError> {
        // adjtime() semantics; the single-shot offset is in microseconds.
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_OFFSET_SINGLESHOT;
        tx.offset = (offset.clamp(-KERNEL_MAXPHASE, KERNEL_MAXPHASE) * 1e6).round() as libc::c_long;
        adjtime(&mut tx, "clock_adjtime(ADJ_OFFSET_SINGLESHOT)").map(|_| ())
    }

    fn kernel_pll_update(&mut self, offset: f64, poll: i8) -> Result<(), ClockError> {
        let mut current = zeroed_timex();
        adjtime(&mut current, "clock_adjtime(read)")?;
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_OFFSET | libc::ADJ_STATUS | libc::ADJ_TIMECONST | libc::ADJ_NANO;
        tx.offset = (offset.clamp(-KERNEL_MAXPHASE, KERNEL_MAXPHASE) * 1e9).round() as libc::c_long;
        tx.constant = libc::c_long::from(poll.max(0));
        // Keep the leap and sync bits; turn the PLL on, FLL off.
        tx.status = (current.status | libc::STA_PLL | libc::STA_NANO) & !libc::STA_FLL;
        adjtime(&mut tx, "clock_adjtime(ADJ_OFFSET)").map(|_| ())
    }

    fn set_sync_status(
        &mut self,
        synchronized: bool,
        leap: LeapIndicator,
        est_error: f64,
        max_error: f64,
    ) -> Result<(), ClockError> {
        let mut current = zeroed_timex();
        adjtime(&mut current, "clock_adjtime(read)")?;
        let mut status = current.status & !(libc::STA_UNSYNC | libc::STA_INS | libc::STA_DEL);
        if !synchronized {
            status |= libc::STA_UNSYNC;
        }
        match leap {
            LeapIndicator::Insert => status |= libc::STA_INS,
            LeapIndicator::Delete => status |= libc::STA_DEL,
            _ => {}
        }
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_STATUS | libc::ADJ_ESTERROR | libc::ADJ_MAXERROR;
        tx.status = status;
        tx.esterror = (est_error.clamp(0.0, 16.0) * 1e6) as libc::c_long;
        tx.maxerror = (max_error.clamp(0.0, 16.0) * 1e6) as libc::c_long;
        adjtime(&mut tx, "clock_adjtime(ADJ_STATUS)").map(|_| ())
    }

    fn state(&self) -> Result<ClockState, ClockError> {
        let mut tx = zeroed_timex();
        let time_state = adjtime(&mut tx, "clock_adjtime(read)")?;
        let nano = tx.status & libc::STA_NANO != 0;
        let offset_unit = if nano { 1e-9 } else { 1e-6 };
        Ok(ClockState {
            frequency: scaled_ppm_to_freq(long(tx.freq)),
            offset: tx.offset as f64 * offset_unit,
            time_constant: long(tx.constant),
            status: tx.status,
            synchronized: tx.status & libc::STA_UNSYNC == 0,
            pll: tx.status & libc::STA_PLL != 0,
            nano,
            max_error: tx.maxerror as f64 * 1e-6,
            est_error: tx.esterror as f64 * 1e-6,
            time_state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_conversions() {
        assert_eq!(freq_to_scaled_ppm(1e-6), 65536);
        assert_eq!(freq_to_scaled_ppm(-12.5e-6), -819200);
        assert_eq!(freq_to_scaled_ppm(1.0), freq_to_scaled_ppm(500e-6));
        assert!((scaled_ppm_to_freq(65536) - 1e-6).abs() < 1e-18);
        assert_eq!(split_offset(1.5), (1, 500_000_000));
        assert_eq!(split_offset(-0.25), (-1, 750_000_000));
        assert_eq!(split_offset(-2.0), (-2, 0));
    }

    /// The real kernel path, read only: never steps, slews or changes the
    /// frequency of this machine's clock.
    #[test]
    fn reads_kernel_state_without_changing_it() {
        let k = KernelClock::new();
        let a = k.state().expect("clock_adjtime read works unprivileged");
        assert!(
            a.frequency.abs() <= KERNEL_MAXFREQ + 1e-9,
            "{}",
            a.frequency
        );
        assert!((0..=10).contains(&a.time_constant), "{}", a.time_constant);
        assert!((0..=5).contains(&a.time_state), "{}", a.time_state);
        assert!(a.max_error >= 0.0 && a.est_error >= 0.0);
        let b = k.state().unwrap();
        assert_eq!(a.status, b.status, "reading must not change the status");
        assert_eq!(a.frequency, b.frequency);
        let now = k.now().unwrap();
        assert!(now.secs > 1_600_000_000);
    }
}
