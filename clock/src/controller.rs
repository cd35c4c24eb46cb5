//! Applies discipline decisions to a [`Clock`]: the daemon loop
//! (ADJ_FREQUENCY plus per-second phase slews) or the kernel loop
//! (ADJ_OFFSET to the kernel PLL), `disable ntp` / `disable kernel`, and
//! the kernel's synchronised/unsynchronised status (RFC 5905 §12, and the
//! kernel model of RFC 1589 / the Linux NTP kernel interface).

use crate::clock::{Clock, ClockError};
use crate::discipline::{Decision, Discipline, LoopState};
use crate::select::LeapIndicator;

/// Rate at which a single-shot adjtime slew is applied by Linux, s/s; the
/// daemon never asks for more per second than this.
pub const SINGLESHOT_RATE: f64 = 500e-6;

/// Which loop slews the phase and integrates the frequency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopMode {
    /// The daemon's own PLL/FLL; the kernel only applies the frequency
    /// (ADJ_FREQUENCY) and per-second phase slews (`disable kernel`).
    Daemon,
    /// The kernel PLL/FLL (`enable kernel`): offsets go to ADJ_OFFSET.
    Kernel,
}

/// Drives a [`Clock`] from a [`Discipline`].
#[derive(Debug, Clone)]
pub struct ClockController {
    mode: LoopMode,
    /// `enable ntp` (default); when false the clock is never touched.
    ntp_enabled: bool,
    steps: u32,
    /// Kernel mode: phase the kernel PLL still had to slew at the last look.
    kernel_pending: f64,
    /// Kernel mode: whether the kernel PLL has taken over the loop.
    kernel_engaged: bool,
}

impl ClockController {
    /// A controller in `mode`; `ntp_enabled` is false with `disable ntp`.
    pub fn new(mode: LoopMode, ntp_enabled: bool) -> Self {
        ClockController {
            mode,
            ntp_enabled,
            steps: 0,
            kernel_pending: 0.0,
            kernel_engaged: false,
        }
    }

    /// The loop mode.
    pub fn mode(&self) -> LoopMode {
        self.mode
    }

    /// Whether the discipline may adjust the clock (`enable ntp`).
    pub fn ntp_enabled(&self) -> bool {
        self.ntp_enabled
    }

    /// Number of steps applied so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// Initialise the clock at start-up: apply the drift-file frequency
    /// and mark the clock unsynchronised.
    pub fn start<C: Clock>(&mut self, clock: &mut C, disc: &Discipline) -> Result<(), ClockError> {
        if !self.ntp_enabled {
            return Ok(());
        }
        clock.set_frequency(disc.frequency())?;
        clock.set_sync_status(false, LeapIndicator::Unsynchronized, 0.0, 16.0)
    }

    /// Apply one decision returned by [`Discipline::update`].  Returns the
    /// phase change applied at once (the step, else 0), seconds, which the
    /// caller passes on to the clock filters ([`crate::filter::ClockFilter::adjust`]).
    pub fn apply<C: Clock>(
        &mut self,
        clock: &mut C,
        disc: &mut Discipline,
        decision: Decision,
    ) -> Result<f64, ClockError> {
        if !self.ntp_enabled {
            return Ok(0.0);
        }
        match decision {
            Decision::Ignored | Decision::Panic { .. } => Ok(0.0),
            Decision::Frequency => {
                clock.set_frequency(disc.frequency())?;
                Ok(0.0)
            }
            Decision::Step { offset } => {
                self.steps += 1;
                clock.step(offset)?;
                self.kernel_engaged = false;
                clock.set_frequency(disc.frequency())?;
                self.kernel_pending = 0.0;
                Ok(offset)
            }
            Decision::Slew { offset } => {
                if self.kernel_active(disc) {
                    if !self.kernel_engaged {
                        // Hand over: the kernel starts from the frequency
                        // the daemon measured.
                        clock.set_frequency(disc.frequency())?;
                        self.kernel_engaged = true;
                    }
                    clock.kernel_pll_update(offset, disc.poll())?;
                    let st = clock.state()?;
                    self.kernel_pending = st.offset;
                    disc.set_frequency(st.frequency);
                } else {
                    clock.set_frequency(disc.frequency())?;
                }
                Ok(0.0)
            }
        }
    }

    /// Whether offsets currently go to the kernel PLL.  Until the loop
    /// reaches SYNC (start-up frequency measurement) the daemon slews the
    /// phase itself even in kernel mode, so that its measurement knows
    /// exactly what was slewed.
    fn kernel_active(&self, disc: &Discipline) -> bool {
        self.mode == LoopMode::Kernel && disc.state() == LoopState::Sync
    }

    /// Once per `dt` seconds (nominally 1 s): the daemon loop slews the
    /// due part of the residual phase; in kernel mode the kernel slews by
    /// itself and this only reads how far it got.  Returns the phase
    /// correction made in this interval, seconds, for
    /// [`crate::filter::ClockFilter::adjust`].
    pub fn tick<C: Clock>(
        &mut self,
        clock: &mut C,
        disc: &mut Discipline,
        dt: f64,
    ) -> Result<f64, ClockError> {
        if !self.ntp_enabled {
            return Ok(0.0);
        }
        if self.kernel_active(disc) {
            let remaining = clock.state()?.offset;
            let slewed = self.kernel_pending - remaining;
            self.kernel_pending = remaining;
            return Ok(slewed);
        }
        let adj = disc.phase_adjustment(dt, SINGLESHOT_RATE * dt);
        if adj != 0.0 {
            clock.slew(adj)?;
        }
        Ok(adj)
    }

    /// Report synchronisation to the kernel (clears or sets STA_UNSYNC,
    /// sets STA_INS/STA_DEL and the error estimates).
    pub fn report<C: Clock>(
        &mut self,
        clock: &mut C,
        synchronized: bool,
        leap: LeapIndicator,
        est_error: f64,
        max_error: f64,
    ) -> Result<(), ClockError> {
        if !self.ntp_enabled {
            return Ok(());
        }
        clock.set_sync_status(synchronized, leap, est_error, max_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discipline::DisciplineConfig;
    use crate::sim::clock::{Oscillator, SimClock};

    fn setup(mode: LoopMode, enabled: bool) -> (ClockController, Discipline, SimClock) {
        let disc = Discipline::new(DisciplineConfig::default(), Some(12e-6), 0.0);
        let mut clock = SimClock::new(Oscillator::default(), 0.0, 0.0);
        let mut ctl = ClockController::new(mode, enabled);
        ctl.start(&mut clock, &disc).unwrap();
        (ctl, disc, clock)
    }

    #[test]
    fn start_applies_drift_and_marks_unsynchronised() {
        let (_, _, clock) = setup(LoopMode::Daemon, true);
        let st = clock.state().unwrap();
        assert!((st.frequency - 12e-6).abs() < 1e-15);
        assert!(!st.synchronized);
    }

    #[test]
    fn daemon_mode_slews_per_tick_and_steps() {
        let (mut ctl, mut disc, mut clock) = setup(LoopMode::Daemon, true);
        let d = disc.update(0.004, 0.0);
        assert_eq!(ctl.apply(&mut clock, &mut disc, d).unwrap(), 0.0);
        let adj = ctl.tick(&mut clock, &mut disc, 1.0).unwrap();
        assert!(adj > 0.0 && adj <= SINGLESHOT_RATE);
        assert!(
            !clock.state().unwrap().pll,
            "daemon mode never uses the kernel PLL"
        );
        let d = disc.update(0.3, 10.0); // SYNC: spike held
        assert_eq!(d, Decision::Ignored);
        let d = disc.update(0.3, 400.0);
        assert_eq!(ctl.apply(&mut clock, &mut disc, d).unwrap(), 0.3);
        assert_eq!(ctl.steps(), 1);
        assert!((clock.phase() - 0.3).abs() < 1e-12);
    }

    #[test]
    fn kernel_mode_hands_offsets_to_the_kernel_pll() {
        let (mut ctl, mut disc, mut clock) = setup(LoopMode::Kernel, true);
        let d = disc.update(0.002, 0.0); // FSET → SYNC
        ctl.apply(&mut clock, &mut disc, d).unwrap();
        let st = clock.state().unwrap();
        assert!(st.pll && st.nano);
        assert!((st.offset - 0.002).abs() < 1e-12);
        // Frequency read back from the kernel.
        assert_eq!(disc.frequency(), st.frequency);
        ctl.report(&mut clock, true, LeapIndicator::Insert, 1e-5, 0.01)
            .unwrap();
        assert!(clock.state().unwrap().synchronized);
    }

    #[test]
    fn disable_ntp_never_touches_the_clock() {
        let (mut ctl, mut disc, mut clock) = setup(LoopMode::Daemon, false);
        assert_eq!(clock.state().unwrap().frequency, 0.0);
        let d = disc.update(1.0, 0.0);
        assert!(matches!(d, Decision::Step { .. }));
        assert_eq!(ctl.apply(&mut clock, &mut disc, d).unwrap(), 0.0);
        assert_eq!(ctl.tick(&mut clock, &mut disc, 1.0).unwrap(), 0.0);
        assert_eq!(clock.phase(), 0.0);
        assert_eq!(clock.steps(), 0);
    }
}
