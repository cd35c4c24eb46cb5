//! Reading the system clocks (through libc: `clock_gettime` via std) and
//! measuring the clock's precision.

use std::time::{Instant, SystemTime};

use proto::NtpTimestamp;

/// The current CLOCK_REALTIME reading as an NTP timestamp.
pub fn now_ntp() -> NtpTimestamp {
    NtpTimestamp::from_system_time(SystemTime::now())
}

/// A monotonic clock in seconds since an arbitrary start, for timers,
/// rate limiting and ages.
#[derive(Debug, Clone, Copy)]
pub struct Monotonic(Instant);

impl Monotonic {
    /// Start counting now.
    pub fn start() -> Self {
        Monotonic(Instant::now())
    }

    /// Seconds since [`Monotonic::start`].
    pub fn now(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

impl Default for Monotonic {
    fn default() -> Self {
        Self::start()
    }
}

/// Clock changes observed before the precision is taken as measured (the
/// reference stops after as few); [`PRECISION_MAX_READS`] bounds a coarse
/// clock.
const PRECISION_CHANGES: u32 = 12;
const PRECISION_MAX_READS: u32 = 10_000;

/// The clock precision as a power of two, seconds (RFC 5905 §7.3
/// "precision"): log2 of the smallest positive step seen between
/// successive readings, rounded down, in the reference's range
/// −30 ..= −1. Reads stop after a dozen changes: thousands of reads add
/// nothing on a nanosecond clock, and under a clock simulator (which
/// makes each read advance time until the process first waits) they
/// would make the first request's transmit timestamp late.
pub fn measure_precision() -> i8 {
    let mut smallest = f64::MAX;
    let mut last = SystemTime::now();
    let mut changes = 0;
    for _ in 0..PRECISION_MAX_READS {
        let t = SystemTime::now();
        if let Ok(d) = t.duration_since(last) {
            let s = d.as_secs_f64();
            if s > 0.0 {
                changes += 1;
                smallest = smallest.min(s);
            }
        }
        last = t;
        if changes >= PRECISION_CHANGES {
            break;
        }
    }
    if smallest == f64::MAX {
        return -20;
    }
    (smallest.log2().floor() as i32).clamp(-30, -1) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_is_plausible_for_a_nanosecond_clock() {
        let p = measure_precision();
        assert!((-30..=-10).contains(&p), "precision {p}");
    }

    #[test]
    fn monotonic_advances() {
        let m = Monotonic::start();
        let a = m.now();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(m.now() - a >= 0.002);
    }
}
