//! The [`Clock`] abstraction the discipline drives: a kernel clock
//! ([`crate::kernel::KernelClock`]) or a simulated one
//! ([`crate::sim::clock::SimClock`]).

use crate::select::LeapIndicator;

/// A point on a clock's time scale: seconds and nanoseconds since the
/// clock's epoch (the Unix epoch for the kernel clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ClockTime {
    /// Whole seconds.
    pub secs: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nanos: u32,
}

impl ClockTime {
    /// From seconds as a float (for simulated time scales near zero).
    pub fn from_secs_f64(t: f64) -> Self {
        let secs = t.floor();
        let nanos = ((t - secs) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
        ClockTime {
            secs: secs as i64,
            nanos,
        }
    }

    /// `self − earlier` in seconds, exact to the nanosecond before the
    /// final conversion.
    pub fn seconds_since(&self, earlier: ClockTime) -> f64 {
        let ds = self.secs - earlier.secs;
        let dn = self.nanos as i64 - earlier.nanos as i64;
        ds as f64 + dn as f64 * 1e-9
    }
}

/// Kernel time status as seen through `adjtimex`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClockState {
    /// Frequency correction in force, s/s.
    pub frequency: f64,
    /// Phase offset still being slewed by the kernel PLL, seconds.
    pub offset: f64,
    /// Kernel PLL time constant.
    pub time_constant: i64,
    /// Raw status word (`STA_*` bits).
    pub status: i32,
    /// Whether STA_UNSYNC is clear.
    pub synchronized: bool,
    /// Whether the kernel PLL (STA_PLL) is enabled.
    pub pll: bool,
    /// Whether STA_NANO is set (offsets in nanoseconds).
    pub nano: bool,
    /// Maximum error, seconds.
    pub max_error: f64,
    /// Estimated error, seconds.
    pub est_error: f64,
    /// Clock state returned by adjtimex (TIME_OK, TIME_INS, ...).
    pub time_state: i32,
}

/// Errors of a clock operation.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    /// The operating system refused the operation.
    #[error("{operation} failed: {source}")]
    Os {
        /// Which call failed.
        operation: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The value cannot be represented by the interface.
    #[error("{operation}: value {value} out of range")]
    OutOfRange {
        /// Which call.
        operation: &'static str,
        /// The value.
        value: f64,
    },
}

/// A disciplinable clock.
pub trait Clock {
    /// Current reading of the clock.
    fn now(&self) -> Result<ClockTime, ClockError>;
    /// Step the clock by `offset` seconds (positive: forward).
    fn step(&mut self, offset: f64) -> Result<(), ClockError>;
    /// Set the frequency correction, s/s (ADJ_FREQUENCY).
    fn set_frequency(&mut self, freq: f64) -> Result<(), ClockError>;
    /// Slew the clock by `offset` seconds using a single-shot adjustment
    /// (adjtime semantics: the kernel slews it at a bounded rate).
    fn slew(&mut self, offset: f64) -> Result<(), ClockError>;
    /// Hand an offset to the kernel PLL (ADJ_OFFSET with STA_PLL and
    /// STA_NANO, time constant `poll`).
    fn kernel_pll_update(&mut self, offset: f64, poll: i8) -> Result<(), ClockError>;
    /// Set the kernel synchronisation status: STA_UNSYNC clear when
    /// `synchronized`, STA_INS/STA_DEL from `leap`, and the error estimates.
    fn set_sync_status(
        &mut self,
        synchronized: bool,
        leap: LeapIndicator,
        est_error: f64,
        max_error: f64,
    ) -> Result<(), ClockError>;
    /// Read the kernel state.
    fn state(&self) -> Result<ClockState, ClockError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_time_arithmetic() {
        let a = ClockTime::from_secs_f64(10.25);
        assert_eq!(
            a,
            ClockTime {
                secs: 10,
                nanos: 250_000_000
            }
        );
        let b = ClockTime::from_secs_f64(-0.5);
        assert_eq!(
            b,
            ClockTime {
                secs: -1,
                nanos: 500_000_000
            }
        );
        assert!((a.seconds_since(b) - 10.75).abs() < 1e-12);
        let big = ClockTime {
            secs: 1_800_000_000,
            nanos: 1,
        };
        let big2 = ClockTime {
            secs: 1_800_000_000,
            nanos: 2,
        };
        assert_eq!(big2.seconds_since(big), 1e-9);
    }
}
