//! The clock discipline as the daemon drives it (RFC 5905 §12,
//! `clock_update()` and the one-second `clock_adjust()`), through the
//! `clock` crate's [`Discipline`], [`ClockController`] and a [`Clock`]
//! (the kernel clock in production, a simulated one in tests). Also the
//! drift file (read at start, written atomically when the frequency
//! moved) and the loopstats line.
//!
//! With `disable ntp` the controller never touches the clock; the loop
//! still runs so loopstats and the advertised state stay meaningful.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clock::clock::Clock;
use clock::controller::{ClockController, LoopMode};
use clock::discipline::{Decision, Discipline, DisciplineConfig};
use clock::drift::{parse_drift, DriftWriter};
use clock::system::Mitigation;
use config::conf::TinkerOption;

/// Any [`Clock`] behind a box, so the daemon's state need not be generic
/// (the kernel clock in production, a simulated one in tests).
pub struct DynClock(pub Box<dyn Clock>);

impl std::fmt::Debug for DynClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DynClock")
    }
}

impl Clock for DynClock {
    fn now(&self) -> Result<clock::clock::ClockTime, clock::clock::ClockError> {
        self.0.now()
    }
    fn step(&mut self, offset: f64) -> Result<(), clock::clock::ClockError> {
        self.0.step(offset)
    }
    fn set_frequency(&mut self, freq: f64) -> Result<(), clock::clock::ClockError> {
        self.0.set_frequency(freq)
    }
    fn slew(&mut self, offset: f64) -> Result<(), clock::clock::ClockError> {
        self.0.slew(offset)
    }
    fn kernel_pll_update(&mut self, offset: f64, poll: i8) -> Result<(), clock::clock::ClockError> {
        self.0.kernel_pll_update(offset, poll)
    }
    fn set_sync_status(
        &mut self,
        synchronized: bool,
        leap: clock::select::LeapIndicator,
        est_error: f64,
        max_error: f64,
    ) -> Result<(), clock::clock::ClockError> {
        self.0
            .set_sync_status(synchronized, leap, est_error, max_error)
    }
    fn state(&self) -> Result<clock::clock::ClockState, clock::clock::ClockError> {
        self.0.state()
    }
}

/// Command-line and configuration switches of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoopFlags {
    /// `enable ntp` (default on).
    pub ntp: bool,
    /// `enable kernel`.
    pub kernel: bool,
    /// `-g`.
    pub panic_gate: bool,
    /// `-x`.
    pub slew_only: bool,
    /// `-q`.
    pub set_once: bool,
}

/// What one clock update did, for the associations' filters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Applied {
    /// Nothing to adjust (no new sample of the system peer, or ignored).
    Nothing,
    /// The clock was stepped by this many seconds: filters restart.
    Stepped(f64),
    /// The frequency changed by this many s/s.
    Frequency(f64),
    /// The offset exceeds the panic threshold: the daemon must exit.
    Panic(f64),
}

/// The discipline, its controller and the clock.
#[derive(Debug)]
pub struct ClockDriver<C: Clock> {
    clock: C,
    disc: Discipline,
    ctl: ClockController,
    last_fed: Option<f64>,
    drift_path: Option<PathBuf>,
    drift: DriftWriter,
    /// The latest offset fed to the loop, seconds (loopstats).
    pub last_offset: f64,
}

/// Read the drift file: `None` when absent or unreadable (logged).
pub fn read_drift(path: &Path) -> Option<f64> {
    match fs::read_to_string(path) {
        Ok(t) => match parse_drift(&t) {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!("{}: {e}", path.display());
                None
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::warn!("{}: cannot read the drift file: {e}", path.display());
            None
        }
    }
}

/// Write `text` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let tmp = PathBuf::from(format!("{}.TEMP", path.display()));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// The loop configuration from `tinker` lines and flags.
pub fn discipline_config(
    tinker: &[TinkerOption],
    flags: LoopFlags,
    precision: f64,
    minpoll: i8,
    maxpoll: i8,
) -> DisciplineConfig {
    let mut c = DisciplineConfig {
        allow_first_panic: flags.panic_gate,
        slew_only: flags.slew_only,
        set_once: flags.set_once,
        precision,
        minpoll,
        maxpoll: maxpoll.max(minpoll),
        ..DisciplineConfig::default()
    };
    for t in tinker {
        match *t {
            TinkerOption::Step(v) => c.step_threshold = v,
            TinkerOption::Stepout(v) => c.stepout = v,
            TinkerOption::Panic(v) => c.panic_threshold = v,
            TinkerOption::Stepback(v) => c.step_back = Some(v),
            TinkerOption::Stepfwd(v) => c.step_forward = Some(v),
            TinkerOption::Allan(v) if v > 0.0 => c.allan_log2 = v.log2().round() as i8,
            TinkerOption::Huffpuff(v) if v > 0.0 => c.huffpuff = Some(v),
            _ => {}
        }
    }
    c
}

/// The frequency tolerance PHI from `tinker dispersion PPM` (s/s), the
/// default 15 PPM (RFC 5905 §7.2) otherwise. It goes to mitigation
/// (`SelectionParams::phi`), every association's clock filter
/// (`PeerState::set_phi`) and the dispersion of each sample.
pub fn tinker_phi(tinker: &[TinkerOption]) -> f64 {
    tinker
        .iter()
        .rev()
        .find_map(|t| match *t {
            TinkerOption::Dispersion(ppm) if ppm.is_finite() && ppm >= 0.0 => Some(ppm * 1e-6),
            _ => None,
        })
        .unwrap_or(clock::constants::PHI)
}

/// The system peer's newest clock filter sample as the loop sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeerSample {
    /// Local (monotonic) time of the sample.
    pub time: f64,
    /// Its round-trip delay, seconds (for `tinker huffpuff` and the
    /// delay-weighted start-up frequency fit).
    pub delay: f64,
}

impl<C: Clock> ClockDriver<C> {
    /// A driver for `clock`, starting at monotonic time `now`; applies the
    /// drift file's frequency (unless `disable ntp`).
    pub fn new(
        clock: C,
        cfg: DisciplineConfig,
        flags: LoopFlags,
        drift_path: Option<PathBuf>,
        now: f64,
    ) -> Self {
        let drift = drift_path.as_deref().and_then(read_drift);
        let disc = Discipline::new(cfg, drift, now);
        let mode = if flags.kernel {
            LoopMode::Kernel
        } else {
            LoopMode::Daemon
        };
        let mut ctl = ClockController::new(mode, flags.ntp);
        let mut clock = clock;
        if let Err(e) = ctl.start(&mut clock, &disc) {
            tracing::warn!("cannot initialise the clock: {e}");
        }
        ClockDriver {
            clock,
            disc,
            ctl,
            last_fed: None,
            drift_path,
            drift: DriftWriter::new(drift),
            last_offset: 0.0,
        }
    }

    /// Whether the clock is disciplined (`enable ntp`, the default).
    pub fn ntp_enabled(&self) -> bool {
        self.ctl.ntp_enabled()
    }

    /// The discipline.
    pub fn discipline(&self) -> &Discipline {
        &self.disc
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Feed a mitigation outcome at monotonic time `now`; `peer` is the
    /// system peer's newest filter output. Only a newer sample of the
    /// system peer reaches the loop (RFC 5905 `clock_update()`), with its
    /// delay (`Discipline::update_with_delay`).
    pub fn update(&mut self, m: &Mitigation, peer: Option<PeerSample>, now: f64) -> Applied {
        let peer_time = peer.map(|p| p.time);
        let delay = peer.map_or(f64::NAN, |p| p.delay);
        let Mitigation::Synchronized {
            offset,
            peer_offset,
            ..
        } = m
        else {
            return Applied::Nothing;
        };
        if peer_time.is_none() || peer_time <= self.last_fed {
            return Applied::Nothing;
        }
        self.last_fed = peer_time;
        let (offset, when) = match peer_time {
            Some(pt) if self.disc.frequency_uncertainty() > clock::constants::PHI => {
                (*peer_offset, pt)
            }
            _ => (*offset, now),
        };
        self.last_offset = offset;
        let before = self.disc.frequency();
        let decision = self.disc.update_with_delay(offset, delay, when);
        if let Decision::Panic { offset } = decision {
            return Applied::Panic(offset);
        }
        match self.ctl.apply(&mut self.clock, &mut self.disc, decision) {
            Ok(step) if step != 0.0 => Applied::Stepped(step),
            Ok(_) => Applied::Frequency(self.disc.frequency() - before),
            Err(e) => {
                tracing::warn!("clock adjustment failed: {e}");
                Applied::Nothing
            }
        }
    }

    /// Report synchronisation to the kernel.
    pub fn report(
        &mut self,
        synced: bool,
        leap: clock::select::LeapIndicator,
        jitter: f64,
        distance: f64,
    ) {
        if let Err(e) = self
            .ctl
            .report(&mut self.clock, synced, leap, jitter, distance)
        {
            tracing::debug!("kernel status: {e}");
        }
    }

    /// Once a second: the phase slew; returns the phase change for the
    /// filters, seconds.
    pub fn tick(&mut self) -> f64 {
        self.ctl
            .tick(&mut self.clock, &mut self.disc, 1.0)
            .unwrap_or_else(|e| {
                tracing::warn!("clock slew failed: {e}");
                0.0
            })
    }

    /// The hourly drift check: the drift file's path and new content
    /// when it is due to be written (the caller writes it, with
    /// [`write_atomic`]).
    pub fn drift_to_save(&mut self) -> Option<(PathBuf, String)> {
        let path = self.drift_path.clone()?;
        let text = self.drift.check(self.disc.drift_to_save())?;
        Some((path, text))
    }

    /// A loopstats line: `MJD SECONDS OFFSET FREQ_PPM JITTER WANDER_PPM POLL`.
    pub fn loopstats_line(&self, unix_secs: i64, nanos: u32) -> String {
        let (day, sod) = crate::stats::mjd(unix_secs, nanos);
        format!(
            "{day} {sod:.3} {:.9} {:.3} {:.9} {:.6} {}",
            self.last_offset,
            self.disc.frequency() * 1e6,
            self.disc.jitter(),
            self.disc.wander() * 1e6,
            self.disc.poll()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clock::sim::clock::{Oscillator, SimClock};

    fn synced(offset: f64) -> Mitigation {
        Mitigation::Synchronized {
            offset,
            jitter: 1e-6,
            sys_peer: 1,
            pps_peer: false,
            prefer_peer: None,
            peer_offset: offset,
            survivors: vec![1],
            falsetickers: vec![],
        }
    }

    fn at(time: f64) -> Option<PeerSample> {
        Some(PeerSample { time, delay: 0.001 })
    }

    fn sim() -> SimClock {
        SimClock::new(
            Oscillator {
                freq_error: 0.0,
                wander: 0.0,
            },
            0.0,
            0.0,
        )
    }

    fn flags(ntp: bool) -> LoopFlags {
        LoopFlags {
            ntp,
            ..LoopFlags::default()
        }
    }

    #[test]
    fn only_new_samples_of_the_system_peer_reach_the_loop() {
        let cfg = discipline_config(&[], flags(true), 1e-6, 4, 4);
        let mut d = ClockDriver::new(sim(), cfg, flags(true), None, 0.0);
        assert_ne!(d.update(&synced(0.001), at(1.0), 1.0), Applied::Nothing);
        assert_eq!(
            d.update(&synced(0.001), at(1.0), 2.0),
            Applied::Nothing,
            "same sample"
        );
        assert_eq!(
            d.update(&Mitigation::Orphan, at(3.0), 3.0),
            Applied::Nothing
        );
    }

    #[test]
    fn a_large_offset_steps_a_simulated_clock_and_disable_ntp_never_does() {
        let cfg = discipline_config(&[], flags(true), 1e-6, 4, 4);
        let mut d = ClockDriver::new(sim(), cfg, flags(true), None, 0.0);
        let before = d.clock().now().unwrap();
        assert_eq!(d.update(&synced(2.0), at(1.0), 1.0), Applied::Stepped(2.0));
        let after = d.clock().now().unwrap();
        assert!((after.seconds_since(before) - 2.0).abs() < 1e-6);
        // The same with `disable ntp`: the clock is not touched.
        let cfg = discipline_config(&[], flags(false), 1e-6, 4, 4);
        let mut d = ClockDriver::new(sim(), cfg, flags(false), None, 0.0);
        let before = d.clock().now().unwrap();
        assert!(!matches!(
            d.update(&synced(2.0), at(1.0), 1.0),
            Applied::Stepped(_)
        ));
        assert!(d.clock().now().unwrap().seconds_since(before).abs() < 1e-9);
        assert_eq!(d.tick(), 0.0);
    }

    #[test]
    fn drift_file_is_read_and_written_atomically() {
        let dir = std::env::temp_dir().join(format!("ntpd-drift-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("ntp.drift");
        fs::write(&p, "12.500\n").unwrap();
        assert!((read_drift(&p).unwrap() - 12.5e-6).abs() < 1e-15);
        fs::write(&p, "garbage\n").unwrap();
        assert_eq!(read_drift(&p), None);
        assert_eq!(read_drift(&dir.join("absent")), None);
        write_atomic(&p, "-3.250\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "-3.250\n");
        assert!(!dir.join("ntp.drift.TEMP").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tinker_and_flags_reach_the_discipline_config() {
        let c = discipline_config(
            &[
                TinkerOption::Step(0.5),
                TinkerOption::Panic(0.0),
                TinkerOption::Stepout(60.0),
            ],
            LoopFlags {
                panic_gate: true,
                slew_only: true,
                ..LoopFlags::default()
            },
            1e-7,
            4,
            8,
        );
        assert_eq!(
            (c.step_threshold, c.panic_threshold, c.stepout),
            (0.5, 0.0, 60.0)
        );
        assert!(c.allow_first_panic && c.slew_only && !c.set_once);
        assert_eq!((c.minpoll, c.maxpoll, c.precision), (4, 8, 1e-7));
        assert_eq!(c.huffpuff, None);
    }

    #[test]
    fn tinker_huffpuff_and_dispersion_are_mapped() {
        let tinker = [
            TinkerOption::Huffpuff(7200.0),
            TinkerOption::Dispersion(100.0),
        ];
        let c = discipline_config(&tinker, flags(true), 1e-6, 4, 8);
        assert_eq!(c.huffpuff, Some(7200.0));
        assert!((tinker_phi(&tinker) - 100e-6).abs() < 1e-15);
        assert_eq!(tinker_phi(&[]), clock::constants::PHI);
        assert_eq!(
            tinker_phi(&[TinkerOption::Dispersion(-1.0)]),
            clock::constants::PHI,
            "a negative tolerance is ignored"
        );
    }

    /// With `tinker huffpuff` the loop sees the offset corrected by the
    /// excess delay: a sample 40 ms slower than the minimum moves the
    /// offset towards zero, so the frequency changes less than without.
    #[test]
    fn huffpuff_acts_through_the_delay_passed_with_the_offset() {
        let run = |tinker: &[TinkerOption]| {
            let cfg = discipline_config(tinker, flags(true), 1e-6, 4, 4);
            let mut d = ClockDriver::new(sim(), cfg, flags(true), None, 0.0);
            d.disc.set_frequency(0.0);
            for i in 1..=3 {
                let t = f64::from(i) * 16.0;
                d.update(
                    &synced(0.0),
                    Some(PeerSample {
                        time: t,
                        delay: 0.001,
                    }),
                    t,
                );
            }
            let t = 64.0;
            d.update(
                &synced(0.020),
                Some(PeerSample {
                    time: t,
                    delay: 0.041,
                }),
                t,
            );
            (d.disc.huffpuff_min_delay(), d.disc.residual())
        };
        let (plain_min, plain) = run(&[]);
        let (hp_min, hp) = run(&[TinkerOption::Huffpuff(900.0)]);
        assert_eq!(plain_min, None);
        assert_eq!(hp_min, Some(0.001));
        assert!(
            hp.abs() < plain.abs(),
            "huffpuff residual {hp} vs plain {plain}"
        );
    }
}
