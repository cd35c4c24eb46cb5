//! The hybrid PLL/FLL clock discipline (RFC 5905 §12 and Appendix A.5.5.6
//! `local_clock()`, A.5.5.7 `rstclock()`, A.5.6 `clock_adjust()`), with the
//! step/stepout/panic state machine, the `-g`/`-q`/`-x` semantics, the
//! `tinker` parameters and poll-interval adaptation.

use crate::constants::{
    AVG, DEFAULT_MAXPOLL, DEFAULT_MINPOLL, FLL_GAIN, LIMIT, MAXFREQ, PANICT, PGATE, PHI,
    SLEW_ONLY_STEPT, STEPOUT, STEPT,
};
use crate::huffpuff::HuffPuff;

/// Loop configuration: command-line flags and `tinker` parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisciplineConfig {
    /// `tinker step`: offsets above this are stepped, seconds; 0 never steps.
    pub step_threshold: f64,
    /// `tinker stepback`: threshold for backward steps (negative offsets),
    /// seconds, overriding `step_threshold` when set.
    pub step_back: Option<f64>,
    /// `tinker stepfwd`: threshold for forward steps (positive offsets),
    /// seconds, overriding `step_threshold` when set.
    pub step_forward: Option<f64>,
    /// `tinker stepout`: how long an over-threshold offset must persist
    /// before it is acted upon, seconds.
    pub stepout: f64,
    /// `tinker panic`: offsets above this stop the daemon, seconds; 0 disables.
    pub panic_threshold: f64,
    /// `-g`: allow the first correction to exceed the panic threshold.
    pub allow_first_panic: bool,
    /// `-x`: slew instead of stepping (step threshold raised to 600 s).
    pub slew_only: bool,
    /// `-q`: set the clock once, then report completion.
    pub set_once: bool,
    /// System poll exponent bounds (from the associations' minpoll/maxpoll).
    pub minpoll: i8,
    /// Upper bound of the system poll exponent.
    pub maxpoll: i8,
    /// `tinker allan`: log2 of the Allan intercept, seconds.
    pub allan_log2: i8,
    /// `tinker freq`-style limit of the frequency correction, s/s.
    pub max_frequency: f64,
    /// Precision of the system clock, seconds: the floor of the clock jitter.
    pub precision: f64,
    /// Phase time constant in poll intervals: the daemon loop slews the
    /// phase error with time constant `pll_gain · 2^tc` seconds.  Reference
    /// ntpd uses [`crate::constants::PLL_GAIN`] (16) with an overdamped
    /// frequency loop; this loop defaults to 4 with a critically damped
    /// one (`damping` 2), which the simulator shows converging faster and
    /// tracking wander better (see the crate README).
    pub pll_gain: f64,
    /// Ratio of the frequency (integral) time constant to the phase time
    /// constant; 2 makes the second-order loop critically damped.
    pub damping: f64,
    /// Standard error, s/s, at which the start-up frequency measurement is
    /// good enough to leave the FREQ state before the stepout.
    pub freq_target: f64,
    /// Longest start-up frequency measurement, seconds (at least the
    /// stepout).  Interim estimates are applied meanwhile, so a noisy path
    /// can be measured longer without the phase running away.  The
    /// default, 1200 s, is where a 64 s poll over a path with 1 ms of
    /// delay noise leaves a frequency error the loop removes without a
    /// visible excursion (the fit's error falls as the span to the power
    /// 3/2; at 600 s it was 0.5 PPM on some paths).
    pub freq_window: f64,
    /// Lowest ceiling of the loop time constant exponent: when `maxpoll`
    /// is below this (a pinned short poll), the loop may still average
    /// over up to `2^tc_ceiling` seconds of samples once the clock is
    /// quiet; above it the ceiling is `maxpoll`.  The default, 0, is the
    /// RFC 5905 §A.5.5.6 rule: the time constant stays within
    /// `[minpoll, maxpoll]`.
    pub tc_ceiling: i8,
    /// `tinker huffpuff`: span of the huff-n'-puff filter's minimum-delay
    /// window, seconds (at least 900); `None` (the default) disables it.
    /// Only offsets passed with their delay
    /// ([`Discipline::update_with_delay`]) are corrected.
    pub huffpuff: Option<f64>,
    /// During the start-up frequency measurement, also correct the phase
    /// to the fitted offset at each interim estimate (and use the fitted
    /// rather than the last sample's offset when the measurement ends),
    /// instead of letting the phase accrue until the measurement is done.
    pub freq_hold_phase: bool,
}

impl Default for DisciplineConfig {
    fn default() -> Self {
        DisciplineConfig {
            step_threshold: STEPT,
            step_back: None,
            step_forward: None,
            stepout: STEPOUT,
            panic_threshold: PANICT,
            allow_first_panic: false,
            slew_only: false,
            set_once: false,
            minpoll: DEFAULT_MINPOLL,
            maxpoll: DEFAULT_MAXPOLL,
            allan_log2: crate::constants::ALLAN_LOG2,
            max_frequency: MAXFREQ,
            precision: 1e-6,
            pll_gain: 4.0,
            damping: 2.0,
            freq_target: 0.2e-6,
            freq_window: 1200.0,
            tc_ceiling: 0,
            huffpuff: None,
            freq_hold_phase: true,
        }
    }
}

impl DisciplineConfig {
    /// The step threshold in force for an offset of this sign: `tinker
    /// stepfwd`/`stepback` when set, else `tinker step`; `-x` raises it to
    /// at least 600 s.  0 means never step.
    pub fn effective_step_threshold(&self, offset: f64) -> f64 {
        let base = if offset >= 0.0 {
            self.step_forward.unwrap_or(self.step_threshold)
        } else {
            self.step_back.unwrap_or(self.step_threshold)
        };
        if self.slew_only {
            SLEW_ONLY_STEPT.max(base)
        } else {
            base
        }
    }
}

/// Discipline states (RFC 5905 A.5.5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopState {
    /// Clock never set, no frequency known.
    Nset,
    /// Frequency set from the drift file, clock not yet set.
    Fset,
    /// An over-threshold offset was seen; waiting for the stepout.
    Spike,
    /// Measuring the frequency directly after the first update.
    Freq,
    /// Normal operation.
    Sync,
}

/// What the caller must do with the clock after an update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// The offset was not used (spike hold, frequency measurement running).
    Ignored,
    /// Slew: the offset is now being corrected gradually (daemon loop or
    /// kernel PLL).
    Slew {
        /// Offset, seconds.
        offset: f64,
    },
    /// Only the frequency changed (an interim start-up estimate): apply
    /// it; the phase is left alone.
    Frequency,
    /// Step the clock by `offset` seconds.
    Step {
        /// Offset, seconds.
        offset: f64,
    },
    /// The offset exceeds the panic threshold: the daemon must exit
    /// (reference ntpd logs "set clock manually" and exits).
    Panic {
        /// Offset, seconds.
        offset: f64,
    },
}

/// The clock discipline loop state.
#[derive(Debug, Clone)]
pub struct Discipline {
    cfg: DisciplineConfig,
    state: LoopState,
    /// Residual phase still to be slewed by the daemon loop, seconds.
    residual: f64,
    /// Frequency correction, s/s (positive speeds the clock up).
    freq: f64,
    /// Local time of the last accepted update.
    last_update: f64,
    /// Offset of the last accepted update.
    last_offset: f64,
    /// Loop time constant exponent; the poll exponent is this clamped to
    /// `maxpoll`.
    tc: i8,
    tc_counter: i32,
    /// Part of the residual that is a known start-up phase error (the
    /// offset accrued while the frequency was measured): it is slewed out
    /// like any residual but not integrated into the frequency, so the
    /// loop does not overshoot after the start-up.
    known_phase: f64,
    /// How much of the known phase was slewed since the last update,
    /// seconds: a change of the offset the loop made on purpose.
    known_slewed: f64,
    /// Whether the known phase was still being slewed when the last
    /// update came (the slew outlasted a poll interval, as a 1 s phase
    /// slewed at 500 PPM under `-x` does).
    known_slew_outlasted: bool,
    jitter: f64,
    wander: f64,
    allow_panic: bool,
    set_done: bool,
    started: bool,
    /// Start-up frequency measurement (FREQ state).
    freq_fit: FreqFit,
    /// The huff-n'-puff filter, with `tinker huffpuff`.
    huffpuff: Option<HuffPuff>,
    /// Round-trip delay of the offset being processed (NaN: unknown).
    pending_delay: f64,
}

/// Least-squares fit of the offsets seen in the FREQ state, each
/// corrected for the phase the loop slewed meanwhile, against time: its
/// slope is the frequency error.
///
/// When the round-trip delays are known ([`Discipline::update_with_delay`])
/// the fit is weighted: a sample whose delay exceeds the smallest seen by
/// `e` has an offset error of at most `e/2` (RFC 5905 §8), so its weight is
/// `1/(e/2 + f)²`, `f` being a quarter of the mean excess (so that one
/// sample does not take all the weight).  Without delays every sample
/// weighs the same.
#[derive(Debug, Clone, Default)]
struct FreqFit {
    /// (time, offset had nothing been slewed, round-trip delay or NaN).
    points: Vec<(f64, f64, f64)>,
    /// Phase corrected since the fit started (slews plus the integral of
    /// interim frequency corrections), seconds.
    slewed: f64,
    /// Frequency correction in force when the fit started, s/s.
    f0: f64,
    /// Seconds the daemon loop has run since the first point (counted by
    /// [`Discipline::phase_adjustment`]).  A point's time is its sample's,
    /// which can be older than the update that brings it: a source that
    /// becomes system peer hands over the sample it took a poll ago.
    elapsed: f64,
}

/// A weighted line fit: (weighted mean time, weighted mean value, slope,
/// standard error of the slope).
struct Line {
    tm: f64,
    ym: f64,
    slope: f64,
    se: f64,
}

impl FreqFit {
    fn clear(&mut self) {
        self.points.clear();
        self.slewed = 0.0;
        self.elapsed = 0.0;
    }

    /// The time now on the points' scale: `t`, the time of the sample
    /// being processed, or later when the loop has run longer since the
    /// first point.
    fn now(&self, t: f64) -> f64 {
        match self.points.first() {
            Some(p) => t.max(p.0 + self.elapsed),
            None => t,
        }
    }

    fn start(&mut self, f0: f64) {
        self.clear();
        self.f0 = f0;
    }

    /// Add the offset of a sample taken at `t`, with the frequency
    /// correction `freq` in force.
    fn add(&mut self, t: f64, offset: f64, delay: f64, freq: f64) {
        // The offset the clock would show had nothing been slewed.  The
        // clock filter re-bases a stored offset for the phase slewed since
        // its sample (`ClockFilter::adjust`), not for the frequency
        // correction that ran meanwhile: that part of `slewed` came after
        // the sample and is taken off again (RFC 5905 §A.5.5.6 measures the
        // frequency from offsets at the times they were taken).
        let lag = self.now(t) - t;
        let value = offset + self.slewed - (freq - self.f0) * lag;
        self.points.push((t, value, delay));
    }

    /// Time covered by the points, seconds.
    fn span(&self) -> f64 {
        match (self.points.first(), self.points.last()) {
            (Some(a), Some(b)) => b.0 - a.0,
            _ => 0.0,
        }
    }

    /// Weight of each point (see the type's documentation).
    fn weights(&self) -> Vec<f64> {
        let delays: Vec<f64> = self
            .points
            .iter()
            .map(|p| p.2)
            .filter(|d| d.is_finite())
            .collect();
        if delays.len() != self.points.len() || delays.is_empty() {
            return vec![1.0; self.points.len()];
        }
        let dmin = delays.iter().copied().fold(f64::INFINITY, f64::min);
        let mean_excess = delays.iter().map(|d| d - dmin).sum::<f64>() / delays.len() as f64;
        let floor = (mean_excess / 4.0).max(1e-7);
        delays
            .iter()
            .map(|d| {
                let e = (d - dmin).max(0.0) / 2.0 + floor;
                1.0 / (e * e)
            })
            .collect()
    }

    /// The weighted line through the points, once three exist.
    fn line(&self) -> Option<Line> {
        let n = self.points.len();
        if n < 3 {
            return None;
        }
        let w = self.weights();
        let wsum: f64 = w.iter().sum();
        if wsum <= 0.0 || !wsum.is_finite() {
            return None;
        }
        let pts = || self.points.iter().zip(w.iter());
        let tm = pts().map(|(p, w)| w * p.0).sum::<f64>() / wsum;
        let ym = pts().map(|(p, w)| w * p.1).sum::<f64>() / wsum;
        let sxx: f64 = pts().map(|(p, w)| w * (p.0 - tm).powi(2)).sum();
        if sxx <= 0.0 {
            return None;
        }
        let sxy: f64 = pts().map(|(p, w)| w * (p.0 - tm) * (p.1 - ym)).sum();
        let slope = sxy / sxx;
        let sse: f64 = pts()
            .map(|(p, w)| w * (p.1 - ym - slope * (p.0 - tm)).powi(2))
            .sum();
        // Weighted residual variance scaled to the effective sample size.
        let se = (sse / (wsum * (n as f64 - 2.0) / n as f64) / (sxx / wsum) / n as f64).sqrt();
        Some(Line { tm, ym, slope, se })
    }

    /// The current offset the fit predicts at `t`: the fitted line's value
    /// (offset had nothing been slewed) minus what was slewed since the
    /// start.  Less noisy than the newest sample.
    fn predict(&self, t: f64) -> Option<f64> {
        let l = self.line()?;
        Some(l.ym + l.slope * (self.now(t) - l.tm) - self.slewed)
    }

    /// (slope, standard error of the slope), once three points exist.
    fn estimate(&self) -> Option<(f64, f64)> {
        self.line().map(|l| (l.slope, l.se))
    }
}

impl Discipline {
    /// A new loop.  `drift` is the frequency (s/s) read from the drift file,
    /// if any: the loop then starts in FSET instead of NSET.
    pub fn new(cfg: DisciplineConfig, drift: Option<f64>, now: f64) -> Self {
        let (state, freq) = match drift {
            Some(f) if f.is_finite() => (
                LoopState::Fset,
                f.clamp(-cfg.max_frequency, cfg.max_frequency),
            ),
            _ => (LoopState::Nset, 0.0),
        };
        Discipline {
            cfg,
            state,
            residual: 0.0,
            freq,
            last_update: now,
            last_offset: 0.0,
            tc: cfg.minpoll,
            known_phase: 0.0,
            known_slewed: 0.0,
            known_slew_outlasted: false,
            tc_counter: 0,
            jitter: cfg.precision,
            wander: 0.0,
            allow_panic: cfg.allow_first_panic,
            set_done: false,
            started: false,
            freq_fit: FreqFit::default(),
            huffpuff: cfg
                .huffpuff
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(|s| HuffPuff::new(s, now)),
            pending_delay: f64::NAN,
        }
    }

    /// Current state.
    pub fn state(&self) -> LoopState {
        self.state
    }

    /// Frequency correction, s/s.
    pub fn frequency(&self) -> f64 {
        self.freq
    }

    /// Replace the frequency (kernel mode reads it back from the kernel).
    pub fn set_frequency(&mut self, freq: f64) {
        self.freq = freq.clamp(-self.cfg.max_frequency, self.cfg.max_frequency);
    }

    /// System poll exponent chosen by the loop.
    pub fn poll(&self) -> i8 {
        self.tc.min(self.cfg.maxpoll)
    }

    /// Loop time constant exponent (≥ the poll exponent).
    pub fn time_constant(&self) -> i8 {
        self.tc
    }

    /// Clock jitter, seconds (exponential average of offset differences).
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Clock wander (frequency stability), s/s.
    pub fn wander(&self) -> f64 {
        self.wander
    }

    /// How uncertain the frequency correction is, s/s: the full tolerance
    /// until the start-up measurement is done, then the measured wander
    /// (at least 0.01 PPM).  Used as the clock filter's age weight.
    pub fn frequency_uncertainty(&self) -> f64 {
        match self.state {
            LoopState::Nset | LoopState::Freq => self.cfg.max_frequency,
            LoopState::Fset => PHI * 2.0,
            LoopState::Spike | LoopState::Sync => self.wander.max(3e-7),
        }
    }

    /// Residual phase not yet slewed (daemon loop), seconds.
    pub fn residual(&self) -> f64 {
        self.residual
    }

    /// With `-q`: whether the clock has been set and the daemon may exit.
    pub fn set_once_complete(&self) -> bool {
        self.cfg.set_once && self.set_done
    }

    /// The frequency worth saving to the drift file: only once the loop is
    /// synchronised (a value measured before is not trusted).
    pub fn drift_to_save(&self) -> Option<f64> {
        (self.state == LoopState::Sync).then_some(self.freq)
    }

    /// The configuration in force.
    pub fn config(&self) -> &DisciplineConfig {
        &self.cfg
    }

    fn reset_after_step(&mut self, now: f64) {
        self.residual = 0.0;
        self.last_offset = 0.0;
        self.last_update = now;
        self.tc_counter = 0;
        self.tc = self.cfg.minpoll;
        self.known_phase = 0.0;
        self.known_slewed = 0.0;
        self.known_slew_outlasted = false;
        self.jitter = self.cfg.precision;
        self.freq_fit.clear();
    }

    /// Process a new system offset (seconds) together with the system
    /// peer's round-trip `delay` (seconds) at local time `now`.  With
    /// `tinker huffpuff` the offset is first corrected for asymmetric
    /// congestion ([`HuffPuff::correct`]) once it passed the panic check,
    /// as the reference loop filter does; otherwise this is
    /// [`Discipline::update`].
    pub fn update_with_delay(&mut self, offset: f64, delay: f64, now: f64) -> Decision {
        let panics = self.cfg.panic_threshold > 0.0
            && offset.abs() > self.cfg.panic_threshold
            && !self.allow_panic;
        let offset = match self.huffpuff.as_mut() {
            Some(h) if !panics => h.correct(offset, delay, now),
            _ => offset,
        };
        self.pending_delay = if delay.is_finite() && delay >= 0.0 {
            delay
        } else {
            f64::NAN
        };
        let d = self.update(offset, now);
        self.pending_delay = f64::NAN;
        d
    }

    /// The huff-n'-puff filter's window minimum delay, seconds, when
    /// `tinker huffpuff` is configured and a delay has been seen.
    pub fn huffpuff_min_delay(&self) -> Option<f64> {
        self.huffpuff.as_ref().and_then(HuffPuff::min_delay)
    }

    /// Process a new system offset (seconds) at local time `now`.
    pub fn update(&mut self, offset: f64, now: f64) -> Decision {
        if !offset.is_finite() {
            return Decision::Ignored;
        }
        let abs = offset.abs();
        if self.cfg.panic_threshold > 0.0 && abs > self.cfg.panic_threshold {
            if !self.allow_panic {
                tracing::error!(offset, "offset exceeds panic threshold; set clock manually");
                return Decision::Panic { offset };
            }
            tracing::warn!(offset, "panic threshold overridden by -g");
        }
        // -g only covers the first correction.
        self.allow_panic = false;

        let mu = now - self.last_update;
        // A known phase left from the last update: its slew outlasts the
        // poll interval (see the clock jitter below).
        let slew_outlasts = self.known_phase != 0.0;
        let step = self.cfg.effective_step_threshold(offset);
        if step > 0.0 && abs > step {
            match self.state {
                LoopState::Sync => {
                    tracing::info!(offset, "spike detected, waiting for stepout");
                    self.state = LoopState::Spike;
                    return Decision::Ignored;
                }
                LoopState::Freq | LoopState::Spike if self.started && mu < self.cfg.stepout => {
                    return Decision::Ignored;
                }
                _ => {}
            }
            let was_nset = self.state == LoopState::Nset;
            if self.state == LoopState::Freq && self.started && mu > 0.0 {
                // The direct frequency measurement is still usable.
                self.freq_fit
                    .add(now, offset, self.pending_delay, self.freq);
                match self.freq_fit.estimate() {
                    Some((slope, _)) => self.set_frequency(self.freq_fit.f0 + slope),
                    None => self.set_frequency(self.freq + (offset - self.residual) / mu),
                }
            }
            self.reset_after_step(now);
            if was_nset {
                self.freq_fit.start(self.freq);
                self.freq_fit.add(now, 0.0, self.pending_delay, self.freq);
            }
            self.state = if was_nset {
                LoopState::Freq
            } else {
                LoopState::Sync
            };
            self.started = true;
            self.set_done = true;
            tracing::info!(offset, "step");
            return Decision::Step { offset };
        }

        let offset = match self.state {
            LoopState::Nset => {
                // First sample: slew it out and start measuring frequency.
                self.freq_fit.start(self.freq);
                self.freq_fit
                    .add(now, offset, self.pending_delay, self.freq);
                self.residual = offset;
                self.last_offset = offset;
                self.last_update = now;
                self.state = LoopState::Freq;
                self.started = true;
                self.set_done = true;
                return Decision::Slew { offset };
            }
            LoopState::Fset => {
                self.residual = offset;
                self.last_offset = offset;
                self.last_update = now;
                self.state = LoopState::Sync;
                self.started = true;
                self.set_done = true;
                return Decision::Slew { offset };
            }
            LoopState::Freq => {
                // Direct frequency measurement: fit the offsets (as they
                // would be without the slew) against time.  Leave FREQ
                // once the estimate is good enough, at the latest after
                // the stepout interval.
                self.freq_fit
                    .add(now, offset, self.pending_delay, self.freq);
                let estimate = self.freq_fit.estimate();
                // At least one minimum poll interval of data: a few
                // closely spaced burst samples can agree by chance.
                let span = self.freq_fit.span();
                let spans_a_poll = span >= 2f64.powi(self.cfg.minpoll as i32);
                let good =
                    spans_a_poll && matches!(estimate, Some((_, se)) if se < self.cfg.freq_target);
                if !good && mu < self.cfg.freq_window.max(self.cfg.stepout) {
                    return match estimate {
                        // Apply the estimate so far, so that the phase does
                        // not run away while the measurement goes on.
                        Some((slope, _)) if spans_a_poll => {
                            self.set_frequency(self.freq_fit.f0 + slope);
                            if self.cfg.freq_hold_phase {
                                // Hold the phase too: the pending
                                // correction becomes the fitted offset now.
                                if let Some(p) = self.freq_fit.predict(now) {
                                    self.residual = p;
                                    self.known_phase = p;
                                }
                            }
                            Decision::Frequency
                        }
                        _ => Decision::Ignored,
                    };
                }
                let (slope, se) = match estimate {
                    Some(e) => e,
                    None => ((offset - self.residual) / mu.max(1.0), PHI),
                };
                self.wander = se;
                tracing::debug!(freq_ppm = slope * 1e6, "initial frequency measured");
                let predicted = self.freq_fit.predict(now);
                self.set_frequency(self.freq_fit.f0 + slope);
                self.freq_fit.clear();
                self.state = LoopState::Sync;
                // With the phase held, the fitted offset is the better
                // estimate of the phase error than this one sample.
                let offset = match predicted {
                    Some(p) if self.cfg.freq_hold_phase => p,
                    _ => offset,
                };
                // The offsets seen while measuring say nothing about the
                // jitter of the disciplined clock: start afresh.
                self.last_offset = offset;
                self.known_phase = offset;
                self.known_slewed = 0.0;
                offset
            }
            LoopState::Spike | LoopState::Sync => {
                self.state = LoopState::Sync;
                self.pll_fll(offset, mu);
                offset
            }
        };

        // Clock jitter (RFC 5905 §A.5.5.6): exponential average of the
        // offset differences.  The RFC's loop corrects each offset within
        // the next poll interval, and that correction counts in the
        // difference as it does there.  A known phase whose slew outlasts
        // the interval is different: the offsets follow its slew, a
        // trajectory the loop set, not noise — with -x a 1 s phase slews at
        // 500 PPM, 32 ms per 64 s poll, and counted it made the jitter
        // 30 ms, so every offset after the slew passed the poll gate and
        // the poll reached 1024 s with the start-up's frequency error
        // still in the loop.  While such a slew lasts (and at the first
        // update after it) the difference is taken against the last offset
        // less what was slewed of the known phase since.
        let expected = if slew_outlasts || self.known_slew_outlasted {
            self.last_offset - self.known_slewed
        } else {
            self.last_offset
        };
        self.known_slewed = 0.0;
        self.known_slew_outlasted = slew_outlasts;
        let diff2 = (offset - expected).powi(2);
        self.jitter = (self.jitter.powi(2) + (diff2 - self.jitter.powi(2)) / AVG)
            .sqrt()
            .max(self.cfg.precision);
        self.adapt_poll(offset);
        self.residual = offset;
        self.last_offset = offset;
        self.last_update = now;
        self.set_done = true;
        Decision::Slew { offset }
    }

    /// Frequency update from the hybrid loop: PLL below the Allan
    /// intercept, FLL above it.
    fn pll_fll(&mut self, offset: f64, mu: f64) {
        let mu = mu.max(1.0);
        let poll_interval = 2f64.powi(self.poll() as i32);
        let allan = 2f64.powi(self.cfg.allan_log2 as i32);
        let mut delta = 0.0;
        if self.poll() > self.cfg.allan_log2 {
            // FLL: frequency error from the offset change since last time.
            delta += FLL_GAIN * (offset - self.residual) / mu.max(poll_interval);
        }
        // PLL: the frequency integrates the phase error with time
        // constant `damping` times the phase time constant; the known
        // start-up phase still being slewed is not an error to integrate,
        // but what the offset differs from it by is, in either direction
        // (with -x a 1 s slew lasts 2000 s, and a frequency error left by
        // the start-up fit shows only as that difference).
        let span = mu.min(allan);
        let tc = self.cfg.damping * self.cfg.pll_gain * 2f64.powi(self.tc as i32);
        let error = if self.known_phase != 0.0 && self.known_phase.signum() == offset.signum() {
            offset - self.known_phase
        } else {
            offset
        };
        delta += error * span / (tc * tc);
        let old = self.freq;
        self.set_frequency(self.freq + delta);
        let dfreq = self.freq - old;
        self.wander = (self.wander.powi(2) + (dfreq * dfreq - self.wander.powi(2)) / AVG).sqrt();
    }

    /// Poll-interval adaptation (RFC 5905 A.5.5.6 `local_clock()`): an
    /// offset below `PGATE` times the clock jitter adds the time constant
    /// to the hysteresis counter, a larger one takes twice that away; at
    /// ±`LIMIT` the time constant moves one step.  Nothing else gates it:
    /// an extra "average offset small against the jitter" condition kept
    /// the poll at a third of the reference's (issue 18).
    fn adapt_poll(&mut self, offset: f64) {
        let max_tc = self.cfg.maxpoll.max(self.cfg.tc_ceiling);
        let quiet = offset.abs() < PGATE * self.jitter;
        if quiet {
            self.tc_counter += self.tc as i32;
            if self.tc_counter > LIMIT {
                self.tc_counter = LIMIT;
                if self.tc < max_tc {
                    self.tc_counter = 0;
                    self.tc += 1;
                }
            }
        } else {
            self.tc_counter -= 2 * self.tc as i32;
            if self.tc_counter < -LIMIT {
                self.tc_counter = -LIMIT;
                if self.tc > self.cfg.minpoll {
                    self.tc_counter = 0;
                    self.tc -= 1;
                }
            }
        }
    }

    /// Daemon-loop phase adjustment for an interval of `dt` seconds
    /// (RFC 5905 A.5.6 `clock_adjust()`): the part of the residual offset
    /// to slew now, at most `max_slew` seconds (the kernel's slew rate).
    pub fn phase_adjustment(&mut self, dt: f64, max_slew: f64) -> f64 {
        // The known start-up phase error goes first, as fast as the kernel
        // slews: it is a measurement, not noise to be averaged.
        let mut adj = 0.0;
        if self.known_phase != 0.0 {
            let k = self.known_phase.clamp(-max_slew, max_slew);
            self.known_phase -= k;
            self.known_slewed += k;
            adj += k;
        }
        let tc = self.cfg.pll_gain * 2f64.powi(self.tc as i32);
        let room = (max_slew - adj.abs()).max(0.0);
        adj += ((self.residual - adj) * (dt / tc).min(1.0)).clamp(-room, room);
        self.residual -= adj;
        if self.state == LoopState::Freq {
            self.freq_fit.elapsed += dt;
            self.freq_fit.slewed += adj + (self.freq - self.freq_fit.f0) * dt;
        }
        adj
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> DisciplineConfig {
        DisciplineConfig::default()
    }

    /// A noise-free plant: a clock with frequency error `err` (s/s,
    /// positive = fast) disciplined by `d`, measured every `poll` seconds
    /// for `duration` seconds.  Returns the final phase (local − true).
    fn run_plant(d: &mut Discipline, err: f64, phase0: f64, poll: f64, duration: f64) -> f64 {
        let mut phase = phase0;
        let mut t = 0.0;
        while t < duration {
            match d.update(-phase, t) {
                Decision::Step { offset } => phase += offset,
                Decision::Panic { .. } => panic!("unexpected panic"),
                _ => {}
            }
            let mut s = 0.0;
            while s < poll {
                phase += err + d.frequency() + d.phase_adjustment(1.0, 1.0);
                s += 1.0;
                t += 1.0;
            }
        }
        phase
    }

    #[test]
    fn a_phase_error_against_the_slew_of_a_known_phase_is_integrated() {
        // 0.5 s still to slew (-x): an offset 100 µs short of it means the
        // clock ran slow meanwhile, an error like one 100 µs beyond it.
        for (offset, sign) in [(0.4999, -1.0), (0.5001, 1.0)] {
            let mut d = Discipline::new(cfg(), Some(0.0), 0.0);
            d.known_phase = 0.5;
            d.pll_fll(offset, 64.0);
            assert_eq!(d.frequency().signum(), sign, "offset {offset}");
            assert!(d.frequency().abs() > 0.0);
        }
    }

    #[test]
    fn a_known_phase_slewed_over_many_polls_is_not_clock_jitter() {
        // -x, no drift file, a noise-free clock 1 s behind, 64 s polls, the
        // kernel's 500 PPM slew: the start-up phase takes 2000 s, 32 ms a
        // poll.  When the slew is over the jitter is still the offsets'
        // (here the precision), not the slew's 32 ms steps, and the poll
        // is still the minimum: the slewed offsets never passed the gate.
        let c = DisciplineConfig {
            slew_only: true,
            ..cfg()
        };
        let mut d = Discipline::new(c, None, 0.0);
        let (mut phase, mut t, mut checked) = (-1.0, 0.0, false);
        while t < 3000.0 {
            let decision = d.update(-phase, t);
            assert!(!matches!(
                decision,
                Decision::Step { .. } | Decision::Panic { .. }
            ));
            if d.state() == LoopState::Sync && phase.abs() < 1e-3 && !checked {
                checked = true;
                assert!(d.jitter() < 1e-4, "jitter {}", d.jitter());
                assert_eq!(d.poll(), c.minpoll);
            }
            for _ in 0..64 {
                phase += d.frequency() + d.phase_adjustment(1.0, 500e-6);
                t += 1.0;
            }
        }
        assert!(checked, "the slew did not end: phase {phase}");
        assert!(phase.abs() < 1e-4, "{phase}");
    }

    /// Start-up of a noise-free clock 50 PPM fast, 64 s polls, the fit
    /// running its whole 1200 s window.  With `late`, every fourth update
    /// brings the sample of a source that became system peer, taken 63 s
    /// before: its offset re-based for the phase slewed since, as the
    /// clock filter stores it, at its own time.  Returns the frequency.
    fn start_with_late_samples(late: bool) -> f64 {
        let c = DisciplineConfig {
            freq_target: 0.0,
            ..cfg()
        };
        let mut d = Discipline::new(c, None, 0.0);
        let (mut phase, mut t, mut k) = (0.0, 0.0, 0);
        // (time, offset then, phase slewed since) of the sample a poll ago.
        let mut older = (0.0, 0.0, 0.0);
        while d.state() != LoopState::Sync {
            let (when, offset) = if late && k % 4 == 3 {
                (older.0, older.1 - older.2)
            } else {
                (t, -phase)
            };
            d.update(offset, when);
            for s in 0..64 {
                if s == 1 {
                    older = (t, -phase, 0.0);
                }
                let adj = d.phase_adjustment(1.0, 500e-6);
                older.2 += adj;
                phase += 50e-6 + d.frequency() + adj;
                t += 1.0;
            }
            k += 1;
            assert!(t < 2000.0, "the measurement did not end");
        }
        d.frequency()
    }

    #[test]
    fn a_sample_handed_over_late_is_fit_at_its_own_time() {
        // The frequency correction that ran after the sample is not in its
        // offset (only the phase slews are): counted, each late point sat
        // 50 PPM · 63 s = 3 ms off the line.
        for late in [false, true] {
            let f = start_with_late_samples(late);
            assert!((f + 50e-6).abs() < 0.01e-6, "late {late}: {f}");
        }
    }

    #[test]
    fn first_small_offset_is_slewed_and_frequency_measured() {
        let mut d = Discipline::new(cfg(), None, 0.0);
        assert_eq!(d.state(), LoopState::Nset);
        assert_eq!(d.update(0.010, 0.0), Decision::Slew { offset: 0.010 });
        assert_eq!(d.state(), LoopState::Freq);
        // Within the stepout and with two points the measurement runs on.
        assert_eq!(d.update(0.009, 16.0), Decision::Ignored);
        assert_eq!(d.state(), LoopState::Freq);

        // A clock 20 PPM slow, 10 ms behind, polled every 16 s: the fit
        // finds the frequency long before the 300 s stepout.
        let mut d = Discipline::new(cfg(), None, 0.0);
        run_plant(&mut d, -20e-6, -0.010, 16.0, 160.0);
        assert_eq!(d.state(), LoopState::Sync);
        assert!((d.frequency() - 20e-6).abs() < 0.1e-6, "{}", d.frequency());
    }

    #[test]
    fn interim_frequency_is_applied_until_the_window_ends() {
        // A target no fit can reach: the measurement runs for the whole
        // window, applying its running estimate meanwhile.
        let c = DisciplineConfig {
            freq_target: 0.0,
            freq_window: 600.0,
            ..cfg()
        };
        let mut d = Discipline::new(c, None, 0.0);
        assert!(matches!(d.update(0.0, 0.0), Decision::Slew { .. }));
        assert_eq!(d.update(-0.0016, 32.0), Decision::Ignored); // span < 64 s
                                                                // Clock 50 PPM fast: offsets fall 50 µs per second.
        assert_eq!(d.update(-0.0032, 64.0), Decision::Frequency);
        assert!((d.frequency() + 50e-6).abs() < 1e-9, "{}", d.frequency());
        assert_eq!(d.state(), LoopState::Freq);
        // With the correction applied the clock holds its phase; the fit
        // (which adds back what was corrected) still sees the raw slope.
        d.freq_fit.slewed = -50e-6 * (300.0 - 64.0);
        assert_eq!(d.update(-0.0032, 300.0), Decision::Frequency);
        d.freq_fit.slewed = -50e-6 * (600.0 - 64.0);
        let d2 = d.update(-0.0032, 600.0);
        assert!(matches!(d2, Decision::Slew { .. }), "{d2:?}");
        assert_eq!(d.state(), LoopState::Sync);
        assert!((d.frequency() + 50e-6).abs() < 0.5e-6, "{}", d.frequency());
    }

    /// Start-up on a path where every third reply queued 4 ms on the way
    /// back (its offset 2 ms off): clock 20 PPM slow, 1 ms behind, 64 s
    /// polls, a 600 s measurement window.  Returns (frequency, phase,
    /// state) after `duration` seconds.
    fn noisy_start(with_delay: bool, duration: f64) -> (f64, f64, LoopState) {
        let c = DisciplineConfig {
            freq_window: 600.0,
            ..cfg()
        };
        let mut d = Discipline::new(c, None, 0.0);
        let (mut phase, mut t, mut k) = (-0.001, 0.0, 0);
        while t < duration {
            let bad = k % 3 == 1;
            let offset = -phase - if bad { 0.002 } else { 0.0 };
            let delay = if bad { 0.005 } else { 0.001 };
            let decision = if with_delay {
                d.update_with_delay(offset, delay, t)
            } else {
                d.update(offset, t)
            };
            assert!(!matches!(
                decision,
                Decision::Step { .. } | Decision::Panic { .. }
            ));
            for _ in 0..64 {
                phase += -20e-6 + d.frequency() + d.phase_adjustment(1.0, 500e-6);
                t += 1.0;
            }
            k += 1;
        }
        (d.frequency(), phase, d.state())
    }

    #[test]
    fn start_up_fit_weights_samples_by_delay_and_holds_the_phase() {
        // Mid-measurement (FREQ, 5 polls in): the phase is held near zero
        // although the clock drifts 1.3 ms per poll.
        let (_, phase, state) = noisy_start(true, 320.0);
        assert_eq!(state, LoopState::Freq);
        assert!(phase.abs() < 300e-6, "{phase}");
        // After the 600 s window: the delay-weighted fit found the
        // frequency; the unweighted one is pulled by the queued replies.
        let (f, phase, state) = noisy_start(true, 700.0);
        assert_eq!(state, LoopState::Sync);
        assert!((f - 20e-6).abs() < 0.05e-6, "weighted {f}");
        assert!(phase.abs() < 100e-6, "{phase}");
        let (g, _, _) = noisy_start(false, 700.0);
        assert!((g - 20e-6).abs() > 0.1e-6, "unweighted {g}");
    }

    #[test]
    fn large_first_offset_is_stepped() {
        let mut d = Discipline::new(cfg(), None, 0.0);
        assert_eq!(d.update(1.0, 0.0), Decision::Step { offset: 1.0 });
        assert_eq!(d.state(), LoopState::Freq);
        let mut d = Discipline::new(cfg(), Some(1e-5), 0.0);
        assert_eq!(d.state(), LoopState::Fset);
        assert_eq!(d.update(-0.5, 0.0), Decision::Step { offset: -0.5 });
        assert_eq!(d.state(), LoopState::Sync);
    }

    #[test]
    fn slew_only_raises_step_threshold() {
        let c = DisciplineConfig {
            slew_only: true,
            ..cfg()
        };
        let mut d = Discipline::new(c, Some(0.0), 0.0);
        assert_eq!(d.update(1.0, 0.0), Decision::Slew { offset: 1.0 });
        assert_eq!(d.update(700.0, 10.0), Decision::Ignored); // spike in SYNC
    }

    #[test]
    fn spike_then_stepout_steps() {
        let mut d = Discipline::new(cfg(), Some(0.0), 0.0);
        d.update(0.001, 0.0);
        assert_eq!(d.state(), LoopState::Sync);
        assert_eq!(d.update(0.5, 64.0), Decision::Ignored);
        assert_eq!(d.state(), LoopState::Spike);
        // Back under the threshold: spike forgotten.
        assert!(matches!(d.update(0.002, 128.0), Decision::Slew { .. }));
        assert_eq!(d.state(), LoopState::Sync);
        // Persistent offset: ignored until the stepout expires, then stepped.
        assert_eq!(d.update(0.5, 192.0), Decision::Ignored);
        assert_eq!(d.update(0.5, 256.0), Decision::Ignored);
        assert_eq!(d.update(0.5, 128.0 + 301.0), Decision::Step { offset: 0.5 });
        assert_eq!(d.state(), LoopState::Sync);
        assert_eq!(d.poll(), cfg().minpoll);
    }

    #[test]
    fn panic_exit_unless_g_and_only_once() {
        let mut d = Discipline::new(cfg(), None, 0.0);
        assert_eq!(d.update(5000.0, 0.0), Decision::Panic { offset: 5000.0 });
        let c = DisciplineConfig {
            allow_first_panic: true,
            ..cfg()
        };
        let mut d = Discipline::new(c, None, 0.0);
        assert_eq!(d.update(5000.0, 0.0), Decision::Step { offset: 5000.0 });
        assert_eq!(
            d.update(-5000.0, 400.0),
            Decision::Panic { offset: -5000.0 }
        );
        let c = DisciplineConfig {
            panic_threshold: 0.0,
            ..cfg()
        };
        let mut d = Discipline::new(c, None, 0.0);
        assert!(matches!(d.update(1e6, 0.0), Decision::Step { .. }));
    }

    #[test]
    fn set_once_reports_completion() {
        let c = DisciplineConfig {
            set_once: true,
            ..cfg()
        };
        let mut d = Discipline::new(c, None, 0.0);
        assert!(!d.set_once_complete());
        d.update(0.05, 0.0);
        assert!(d.set_once_complete());
    }

    #[test]
    fn tinker_stepback_and_stepfwd_are_per_direction() {
        let c = DisciplineConfig {
            step_back: Some(0.0),
            step_forward: Some(0.5),
            ..cfg()
        };
        assert_eq!(c.effective_step_threshold(0.2), 0.5);
        assert_eq!(c.effective_step_threshold(-0.2), 0.0);
        // Never step backwards: a −2 s offset is slewed.
        let mut d = Discipline::new(c, Some(0.0), 0.0);
        assert_eq!(d.update(-2.0, 0.0), Decision::Slew { offset: -2.0 });
        // Forward: 0.3 s is below stepfwd, 0.8 s above.
        let mut d = Discipline::new(c, Some(0.0), 0.0);
        assert_eq!(d.update(0.3, 0.0), Decision::Slew { offset: 0.3 });
        let mut d = Discipline::new(c, Some(0.0), 0.0);
        assert_eq!(d.update(0.8, 0.0), Decision::Step { offset: 0.8 });
    }

    #[test]
    fn tinker_huffpuff_corrects_offsets_for_congestion() {
        let c = DisciplineConfig {
            huffpuff: Some(7200.0),
            ..cfg()
        };
        let mut d = Discipline::new(c, Some(0.0), 0.0);
        assert_eq!(d.huffpuff_min_delay(), None);
        // First sample: 10 ms is the minimum, no correction.
        assert_eq!(
            d.update_with_delay(0.001, 0.010, 0.0),
            Decision::Slew { offset: 0.001 }
        );
        // 16 ms: the 6 ms excess was one-way, 3 ms of offset error.
        match d.update_with_delay(0.004, 0.016, 64.0) {
            Decision::Slew { offset } => assert!((offset - 0.001).abs() < 1e-15, "{offset}"),
            other => panic!("{other:?}"),
        }
        match d.update_with_delay(-0.0045, 0.016, 128.0) {
            Decision::Slew { offset } => assert!((offset + 0.0015).abs() < 1e-15, "{offset}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(d.huffpuff_min_delay(), Some(0.010));
        // Without `tinker huffpuff` the delay is ignored.
        let mut d = Discipline::new(cfg(), Some(0.0), 0.0);
        d.update_with_delay(0.001, 0.010, 0.0);
        assert_eq!(
            d.update_with_delay(0.004, 0.016, 64.0),
            Decision::Slew { offset: 0.004 }
        );
        assert_eq!(d.huffpuff_min_delay(), None);
        // A panic offset is not corrected (and still panics).
        let mut d = Discipline::new(c, Some(0.0), 0.0);
        d.update_with_delay(0.0, 0.010, 0.0);
        assert_eq!(
            d.update_with_delay(2000.0, 1.0, 64.0),
            Decision::Panic { offset: 2000.0 }
        );
    }

    #[test]
    fn zero_step_threshold_never_steps() {
        let c = DisciplineConfig {
            step_threshold: 0.0,
            ..cfg()
        };
        let mut d = Discipline::new(c, Some(0.0), 0.0);
        assert_eq!(d.update(3.0, 0.0), Decision::Slew { offset: 3.0 });
    }

    #[test]
    fn poll_increases_when_quiet_and_decreases_when_noisy() {
        let c = DisciplineConfig {
            minpoll: 4,
            maxpoll: 8,
            ..cfg()
        };
        let mut d = Discipline::new(c, Some(0.0), 0.0);
        let mut t = 0.0;
        d.update(0.0, t);
        // Quiet: tiny alternating offsets with jitter established.
        for i in 0..200 {
            t += 2f64.powi(d.poll() as i32);
            let off = if i % 2 == 0 { 1e-6 } else { -1e-6 };
            d.update(off, t);
        }
        assert_eq!(d.poll(), 8);
        // Noisy: offsets far above the jitter drive the poll down.
        for _ in 0..200 {
            t += 2f64.powi(d.poll() as i32);
            d.update(0.05, t);
        }
        assert_eq!(d.poll(), 4);
    }

    #[test]
    fn pll_converges_frequency_on_a_simple_plant() {
        // Clock 30 PPM fast from a known-wrong drift value of 0; offsets
        // measured exactly every 64 s for a day.
        let c = DisciplineConfig {
            minpoll: 6,
            maxpoll: 6,
            ..cfg()
        };
        let mut d = Discipline::new(c, Some(0.0), 0.0);
        let phase = run_plant(&mut d, 30e-6, 0.0, 64.0, 86400.0);
        assert!(
            (d.frequency() + 30e-6).abs() < 0.05e-6,
            "freq {}",
            d.frequency()
        );
        assert!(phase.abs() < 20e-6, "phase {phase}");
        // Starting without a drift file the start-up measurement gets there
        // much faster.
        let mut d = Discipline::new(c, None, 0.0);
        let phase = run_plant(&mut d, 30e-6, 0.0, 64.0, 4.0 * 3600.0);
        assert!(
            (d.frequency() + 30e-6).abs() < 0.05e-6,
            "freq {}",
            d.frequency()
        );
        assert!(phase.abs() < 20e-6, "phase {phase}");
    }
}
