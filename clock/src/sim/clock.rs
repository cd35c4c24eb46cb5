//! A simulated clock: true time plus a phase error driven by a frequency
//! error with random-walk wander, injected steps, a single-shot slew
//! (adjtime), and a model of the Linux kernel PLL/FLL (kernel/time/ntp.c,
//! as chrony's clknetsim models it) so that kernel-mode discipline is
//! simulated as it really runs.

use std::cell::Cell;

use rand::Rng;

use crate::clock::{Clock, ClockError, ClockState, ClockTime};
use crate::controller::SINGLESHOT_RATE;
use crate::select::LeapIndicator;
use crate::sim::random::normal;

/// Kernel PLL constants (Linux `include/linux/timex.h`).
const SHIFT_PLL: i32 = 2;
const SHIFT_FLL: i32 = 2;
const MAXTC: i64 = 10;
const MINSEC: f64 = 256.0;
const MAXSEC: f64 = 2048.0;
const MAXPHASE: f64 = 0.5;
const MAXFREQ: f64 = 500e-6;
const STA_PLL: i32 = 0x0001;
const STA_INS: i32 = 0x0010;
const STA_DEL: i32 = 0x0020;
const STA_UNSYNC: i32 = 0x0040;
const STA_FLL: i32 = 0x0008;
const STA_NANO: i32 = 0x2000;

/// Parameters of a simulated oscillator.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Oscillator {
    /// Initial frequency error, s/s (positive: runs fast).
    pub freq_error: f64,
    /// Random-walk wander: standard deviation of the frequency change per
    /// second, s/s.
    pub wander: f64,
}

/// The simulated clock.
#[derive(Debug, Clone)]
pub struct SimClock {
    /// True time of the last advance, seconds.
    true_time: f64,
    /// Local − true, seconds.
    phase: f64,
    /// Current intrinsic frequency error, s/s.
    freq_error: f64,
    wander: f64,
    /// Pending single-shot slew, seconds.
    singleshot: f64,
    // Kernel state.
    time_freq: f64,
    time_offset: f64,
    time_constant: i64,
    time_reftime: Option<f64>,
    status: i32,
    est_error: f64,
    max_error: f64,
    /// Steps applied (for reporting).
    steps: Cell<u32>,
}

impl SimClock {
    /// A clock at true time `start` with an initial phase error
    /// `initial_offset` (local − true, seconds).
    pub fn new(osc: Oscillator, start: f64, initial_offset: f64) -> Self {
        SimClock {
            true_time: start,
            phase: initial_offset,
            freq_error: osc.freq_error,
            wander: osc.wander,
            singleshot: 0.0,
            time_freq: 0.0,
            time_offset: 0.0,
            time_constant: 0,
            time_reftime: None,
            status: STA_UNSYNC,
            est_error: 0.0,
            max_error: 16.0,
            steps: Cell::new(0),
        }
    }

    /// True time, seconds.
    pub fn true_time(&self) -> f64 {
        self.true_time
    }

    /// Phase error (local − true), seconds.
    pub fn phase(&self) -> f64 {
        self.phase
    }

    /// Residual frequency error after correction, s/s.
    pub fn residual_frequency(&self) -> f64 {
        self.freq_error + self.time_freq
    }

    /// Current intrinsic frequency error, s/s.
    pub fn intrinsic_frequency(&self) -> f64 {
        self.freq_error
    }

    /// Steps applied so far.
    pub fn steps(&self) -> u32 {
        self.steps.get()
    }

    /// Local time the clock shows at true time `t` (≥ the last advance):
    /// interpolated with the current rate.
    pub fn read_at(&self, t: f64) -> f64 {
        let dt = t - self.true_time;
        t + self.phase + dt * (self.freq_error + self.time_freq)
    }

    /// Inject a phase step (e.g. a fault), seconds.
    pub fn inject_step(&mut self, delta: f64) {
        self.phase += delta;
    }

    /// Advance true time by `dt` seconds (≤ 1 s per call for the
    /// per-second kernel processing to be faithful), with wander drawn
    /// from `rng`.
    pub fn advance<R: Rng + ?Sized>(&mut self, dt: f64, rng: &mut R) {
        if dt <= 0.0 {
            return;
        }
        // Frequency random walk.
        if self.wander > 0.0 {
            self.freq_error += self.wander * dt.sqrt() * normal(rng);
        }
        let mut dphase = (self.freq_error + self.time_freq) * dt;
        // Kernel PLL phase: time_offset >> (SHIFT_PLL + time_constant) per second.
        if self.status & STA_PLL != 0 && self.time_offset != 0.0 {
            let shift = 2f64.powi(SHIFT_PLL + self.time_constant as i32);
            let delta = self.time_offset * (dt / shift).min(1.0);
            self.time_offset -= delta;
            dphase += delta;
        }
        // Single-shot slew at 500 µs/s.
        if self.singleshot != 0.0 {
            let max = SINGLESHOT_RATE * dt;
            let delta = self.singleshot.clamp(-max, max);
            self.singleshot -= delta;
            dphase += delta;
        }
        self.phase += dphase;
        self.true_time += dt;
        self.max_error += 500e-6 * dt;
    }
}

impl Clock for SimClock {
    fn now(&self) -> Result<ClockTime, ClockError> {
        Ok(ClockTime::from_secs_f64(self.true_time + self.phase))
    }

    fn step(&mut self, offset: f64) -> Result<(), ClockError> {
        self.phase += offset;
        self.steps.set(self.steps.get() + 1);
        // A step cancels any slew in progress, as on Linux.
        self.singleshot = 0.0;
        self.time_offset = 0.0;
        Ok(())
    }

    fn set_frequency(&mut self, freq: f64) -> Result<(), ClockError> {
        if !freq.is_finite() {
            return Err(ClockError::OutOfRange {
                operation: "set_frequency",
                value: freq,
            });
        }
        self.time_freq = freq.clamp(-MAXFREQ, MAXFREQ);
        Ok(())
    }

    fn slew(&mut self, offset: f64) -> Result<(), ClockError> {
        // adjtime(): replaces the pending adjustment.
        self.singleshot = offset;
        Ok(())
    }

    fn kernel_pll_update(&mut self, offset: f64, poll: i8) -> Result<(), ClockError> {
        // ADJ_STATUS | ADJ_NANO | ADJ_TIMECONST | ADJ_OFFSET
        self.status |= STA_PLL | STA_NANO;
        self.time_constant = (poll as i64).clamp(0, MAXTC);
        let offset = offset.clamp(-MAXPHASE, MAXPHASE);
        let now = self.true_time + self.phase;
        let secs = match self.time_reftime {
            Some(r) => (now - r).max(0.0),
            None => 0.0,
        };
        self.time_reftime = Some(now);
        let mut freq_adj = 0.0;
        // FLL part (ntp_update_offset_fll).
        if secs >= MINSEC && (self.status & STA_FLL != 0 || secs > MAXSEC) {
            freq_adj += offset / secs / 2f64.powi(SHIFT_FLL);
        }
        // PLL part.
        let pll_secs = secs.min(2f64.powi(SHIFT_PLL + 1 + self.time_constant as i32));
        freq_adj += offset * pll_secs / 2f64.powi(2 * (SHIFT_PLL + 2 + self.time_constant as i32));
        self.time_freq = (self.time_freq + freq_adj).clamp(-MAXFREQ, MAXFREQ);
        self.time_offset = offset;
        Ok(())
    }

    fn set_sync_status(
        &mut self,
        synchronized: bool,
        leap: LeapIndicator,
        est_error: f64,
        max_error: f64,
    ) -> Result<(), ClockError> {
        self.status &= !(STA_UNSYNC | STA_INS | STA_DEL);
        if !synchronized {
            self.status |= STA_UNSYNC;
        }
        match leap {
            LeapIndicator::Insert => self.status |= STA_INS,
            LeapIndicator::Delete => self.status |= STA_DEL,
            _ => {}
        }
        self.est_error = est_error;
        self.max_error = max_error;
        Ok(())
    }

    fn state(&self) -> Result<ClockState, ClockError> {
        Ok(ClockState {
            frequency: self.time_freq,
            offset: self.time_offset,
            time_constant: self.time_constant,
            status: self.status,
            synchronized: self.status & STA_UNSYNC == 0,
            pll: self.status & STA_PLL != 0,
            nano: self.status & STA_NANO != 0,
            max_error: self.max_error,
            est_error: self.est_error,
            time_state: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn free_running_drifts_at_its_frequency_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut c = SimClock::new(
            Oscillator {
                freq_error: 50e-6,
                wander: 0.0,
            },
            0.0,
            0.0,
        );
        for _ in 0..1000 {
            c.advance(1.0, &mut rng);
        }
        assert!((c.phase() - 0.05).abs() < 1e-12);
        assert!((c.read_at(1000.5) - (1000.5 + 0.05 + 0.5 * 50e-6)).abs() < 1e-9);
        c.set_frequency(-50e-6).unwrap();
        c.advance(1.0, &mut rng);
        assert!((c.phase() - 0.05).abs() < 1e-12);
    }

    #[test]
    fn singleshot_slew_is_rate_limited() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut c = SimClock::new(Oscillator::default(), 0.0, 0.0);
        c.slew(0.002).unwrap();
        for _ in 0..3 {
            c.advance(1.0, &mut rng);
        }
        assert!((c.phase() - 0.0015).abs() < 1e-12);
        c.advance(1.0, &mut rng);
        assert!((c.phase() - 0.002).abs() < 1e-12);
        c.step(-1.0).unwrap();
        assert!((c.phase() + 0.998).abs() < 1e-12);
        assert_eq!(c.steps(), 1);
    }

    #[test]
    fn kernel_pll_slews_phase_and_learns_frequency() {
        // Kernel PLL alone on a clock 20 PPM slow, offsets every 16 s.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut c = SimClock::new(
            Oscillator {
                freq_error: -20e-6,
                wander: 0.0,
            },
            0.0,
            0.001,
        );
        for _ in 0..(20000 / 16) {
            let offset = -c.phase();
            c.kernel_pll_update(offset, 4).unwrap();
            for _ in 0..16 {
                c.advance(1.0, &mut rng);
            }
        }
        let st = c.state().unwrap();
        assert!(st.pll && st.nano);
        assert!((st.frequency - 20e-6).abs() < 0.1e-6, "{}", st.frequency);
        assert!(c.phase().abs() < 10e-6, "{}", c.phase());
    }

    #[test]
    fn status_bits_follow_sync_and_leap() {
        let mut c = SimClock::new(Oscillator::default(), 0.0, 0.0);
        assert!(!c.state().unwrap().synchronized);
        c.set_sync_status(true, LeapIndicator::Insert, 1e-5, 0.01)
            .unwrap();
        let st = c.state().unwrap();
        assert!(st.synchronized);
        assert_eq!(st.status & STA_INS, STA_INS);
        c.set_sync_status(false, LeapIndicator::NoWarning, 0.0, 16.0)
            .unwrap();
        assert_eq!(
            c.state().unwrap().status & (STA_INS | STA_UNSYNC),
            STA_UNSYNC
        );
    }

    #[test]
    fn wander_is_a_random_walk() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut c = SimClock::new(
            Oscillator {
                freq_error: 0.0,
                wander: 1e-9,
            },
            0.0,
            0.0,
        );
        for _ in 0..10000 {
            c.advance(1.0, &mut rng);
        }
        // After 10^4 s the walk's standard deviation is 1e-7.
        assert!(c.intrinsic_frequency() != 0.0);
        assert!(c.intrinsic_frequency().abs() < 5e-7);
    }
}
