//! The eight-stage clock filter with the popcorn spike suppressor
//! (RFC 5905 §10 and Appendix A.5.2 `clock_filter()`).

use crate::constants::{ALLAN_LOG2, MAXDISP, MAXDIST, NSTAGE, PHI, SGATE, STEPT};
use crate::sample::Sample;

/// One stage of the filter shift register.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stage {
    offset: f64,
    delay: f64,
    dispersion: f64,
    time: f64,
}

impl Stage {
    /// The placeholder a stage holds before any sample arrives, and the
    /// "missing sample" the poll process shifts in for an unanswered poll.
    const EMPTY: Stage = Stage {
        offset: 0.0,
        delay: MAXDISP,
        dispersion: MAXDISP,
        time: f64::NEG_INFINITY,
    };
}

/// Peer statistics produced by the filter: the values the selection
/// algorithms use (RFC 5905 §11 peer variables θ, δ, ε, ψ and t).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterOutput {
    /// Peer offset θ, seconds.
    pub offset: f64,
    /// Peer delay δ, seconds.
    pub delay: f64,
    /// Peer dispersion ε, seconds (as of `time`).
    pub dispersion: f64,
    /// Peer jitter ψ, seconds.
    pub jitter: f64,
    /// Local time of the chosen sample.
    pub time: f64,
}

/// What the filter did with a new sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FilterUpdate {
    /// A newer best sample was chosen: the peer variables changed.
    Updated(FilterOutput),
    /// The best sample is not newer than the one already used (RFC 5905
    /// §10: a sample is used at most once).
    NotNewer,
    /// The popcorn spike suppressor rejected the best sample.
    Spike {
        /// Offset of the rejected sample.
        offset: f64,
    },
}

/// The clock filter of one association.
#[derive(Debug, Clone)]
pub struct ClockFilter {
    /// Shift register, newest first.
    stages: [Stage; NSTAGE],
    /// Peer variables from the last update.
    output: Option<FilterOutput>,
    /// Our own precision, seconds: the floor of the jitter.
    precision: f64,
    /// Frequency uncertainty of the local clock, s/s: how fast an old
    /// sample's offset goes stale.  See [`ClockFilter::set_age_weight`].
    age_weight: f64,
    /// How the peer offset is estimated from the stages.
    estimator: Estimator,
    /// Delays of the most recent samples (up to [`DELAY_HISTORY`]), for
    /// the long-term minimum delay.
    delay_history: std::collections::VecDeque<f64>,
    /// Frequency tolerance used to age the stages' dispersion, s/s
    /// (`tinker dispersion`, default PHI).
    phi: f64,
    /// The RFC 5905 §10 peer dispersion of the last update, every empty
    /// stage counted at MAXDISP: it opens the popcorn gate only once the
    /// register holds enough samples for the jitter to mean something.
    gate_dispersion: f64,
    /// Whether a sample arrived since the filter was created or cleared.
    reached: bool,
    /// `iburst`: stages not yet reached leave the peer dispersion once
    /// [`START_SAMPLES`] are in (see [`peer_dispersion`]).
    quick_start: bool,
}

/// Real samples a clock filter must hold before the stages that never
/// held one stop counting at MAXDISP (see [`peer_dispersion`]).
///
/// Two is the fewest that measure anything about the path: with one
/// sample the peer jitter is only the precision floor, with two it is
/// their spread.  The reference implementation's `clock_filter()` keeps
/// the same minimum of two samples "so that we can compute jitter".
pub const START_SAMPLES: usize = 2;

/// Number of recent delays kept to find the path's minimum delay.
pub const DELAY_HISTORY: usize = 64;

/// How the clock filter turns its stages into the peer offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Estimator {
    /// RFC 5905: the offset of the lowest-delay stage, each sample used at
    /// most once (so most polls of a noisy path produce no update).
    #[default]
    MinDelay,
    /// A delay-weighted mean of all stages, reported on every poll, while
    /// the eight stages span at most the Allan intercept (8 polls ≤
    /// 2^[`crate::constants::ALLAN_LOG2`] s, i.e. polls up to 256 s); at
    /// longer polls the filter falls back to the [`Estimator::MinDelay`]
    /// choice, each sample used once.
    ///
    /// A sample whose delay exceeds the path's minimum by `e` has an
    /// offset error of at most ±e/2 (the excess is split unknown between
    /// the two directions), so its weight is `1 / (e/2 + f + a·u)²`, `f`
    /// being a quarter of the mean excess (a floor so that one sample does
    /// not take all the weight) and `a·u` the sample's age times the
    /// clock's frequency uncertainty ([`ClockFilter::set_age_weight`]).  The minimum delay is taken over the last
    /// [`DELAY_HISTORY`] samples.  Reporting every poll is sound because
    /// the stored offsets follow the clock's corrections
    /// ([`ClockFilter::adjust`]) and the discipline replaces rather than
    /// accumulates the phase error.
    DelayWeighted,
}

impl ClockFilter {
    /// An empty filter; `precision` is the system precision in seconds.
    pub fn new(precision: f64) -> Self {
        ClockFilter {
            stages: [Stage::EMPTY; NSTAGE],
            output: None,
            precision: precision.max(0.0),
            age_weight: 0.0,
            estimator: Estimator::MinDelay,
            delay_history: std::collections::VecDeque::with_capacity(DELAY_HISTORY),
            phi: PHI,
            gate_dispersion: MAXDISP,
            reached: false,
            quick_start: false,
        }
    }

    /// Set the frequency tolerance (s/s, `tinker dispersion`) at which the
    /// stages' dispersion grows with age (RFC 5905 §10: ε += PHI·Δt).
    pub fn set_phi(&mut self, phi: f64) {
        self.phi = if phi.is_finite() { phi.max(0.0) } else { PHI };
    }

    /// The frequency tolerance in use, s/s.
    pub fn phi(&self) -> f64 {
        self.phi
    }

    /// Set the local clock's frequency uncertainty (s/s).  The filter then
    /// orders samples by `delay/2 + age · uncertainty` instead of delay
    /// alone: while the frequency is unknown (start-up) a low-delay sample
    /// soon stops being the best one, because the clock has drifted away
    /// from it since.  With 0 this is the RFC 5905 ordering by delay.
    pub fn set_age_weight(&mut self, uncertainty: f64) {
        self.age_weight = if uncertainty.is_finite() {
            uncertainty.max(0.0)
        } else {
            0.0
        };
    }

    /// For an `iburst` association: once the register holds
    /// [`START_SAMPLES`] real samples, the stages it has not reached yet
    /// no longer count at MAXDISP (see [`peer_dispersion`]).  Off, the
    /// peer dispersion is the RFC 5905 §10 sum throughout.
    pub fn set_quick_start(&mut self, on: bool) {
        self.quick_start = on;
    }

    /// Choose the estimator (default [`Estimator::MinDelay`]).
    pub fn set_estimator(&mut self, estimator: Estimator) {
        self.estimator = estimator;
    }

    /// Reset to the initial state (RFC 5905 `clear()` of an association).
    pub fn clear(&mut self) {
        self.stages = [Stage::EMPTY; NSTAGE];
        self.output = None;
        self.delay_history.clear();
        self.gate_dispersion = MAXDISP;
        self.reached = false;
    }

    /// The peer variables from the last accepted update.
    pub fn output(&self) -> Option<FilterOutput> {
        self.output
    }

    /// Shift in a "missing" sample for a poll whose reply never came
    /// (RFC 5905 A.5.7.2 `poll()`: offset 0, delay and dispersion MAXDISP).
    ///
    /// Before the association's first reply (since it was mobilised or
    /// cleared) the placeholder stays an unreached stage: no reply was
    /// missed, the register is only still empty (see [`peer_dispersion`]).
    pub fn add_missing(&mut self, now: f64) {
        let time = if self.reached { now } else { f64::NEG_INFINITY };
        self.shift(Stage {
            time,
            ..Stage::EMPTY
        });
    }

    /// Account for a phase correction of the local clock: after the clock
    /// was moved by `delta` seconds (positive: forward), every stored
    /// offset is `delta` smaller.  Keeping the stages consistent with the
    /// corrected clock stops a low-delay but old sample from steering the
    /// loop with an offset the loop has already removed.
    pub fn adjust(&mut self, delta: f64) {
        if delta == 0.0 || !delta.is_finite() {
            return;
        }
        for s in self.stages.iter_mut() {
            if s.time.is_finite() && s.delay < MAXDISP {
                s.offset -= delta;
            }
        }
        if let Some(o) = self.output.as_mut() {
            o.offset -= delta;
        }
    }

    /// Account for a change of the frequency correction by `delta` s/s at
    /// time `now`.  Between a stored sample and `now` the clock drifted at
    /// the old rate; taking the new correction as the better estimate of
    /// the clock's true rate, the stored offset is re-based to what it
    /// would read now: `offset += delta · (now − time)`.
    pub fn adjust_frequency(&mut self, delta: f64, now: f64) {
        if delta == 0.0 || !delta.is_finite() {
            return;
        }
        for s in self.stages.iter_mut() {
            if s.time.is_finite() && s.delay < MAXDISP {
                s.offset += delta * (now - s.time).max(0.0);
            }
        }
        if let Some(o) = self.output.as_mut() {
            o.offset += delta * (now - o.time).max(0.0);
        }
    }

    /// The shift register, newest stage first, as `(offset, delay,
    /// dispersion)` in seconds (the reference's `filtoffset`, `filtdelay`,
    /// `filtdisp` peer variables, RFC 5905 §10). A stage that holds no
    /// sample yet, or a missing one, reads `(0, 0, MAXDISP)` as in the
    /// reference.
    pub fn stages(&self) -> [(f64, f64, f64); NSTAGE] {
        self.stages.map(|s| {
            if s.delay >= MAXDISP {
                (0.0, 0.0, MAXDISP)
            } else {
                (s.offset, s.delay, s.dispersion)
            }
        })
    }

    /// Number of stages holding a real (non-placeholder) sample.
    pub fn valid_stages(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| s.dispersion < MAXDISP && s.delay < MAXDISP)
            .count()
    }

    /// Delay-weighted mean offset of `valid` (see [`Estimator::DelayWeighted`]).
    fn weighted_offset(&self, valid: &[&Stage], now: f64) -> f64 {
        let dmin = self
            .delay_history
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let n = self.delay_history.len().max(1) as f64;
        let mean_excess = self.delay_history.iter().map(|d| d - dmin).sum::<f64>() / n;
        let floor = (mean_excess / 8.0).max(self.precision).max(1e-9);
        // Only stages consistent with the newest one: across a
        // discontinuity larger than the step threshold (a leap second, a
        // server fault) older samples describe a different clock.
        let newest = valid
            .iter()
            .max_by(|a, b| a.time.total_cmp(&b.time))
            .map(|s| s.offset)
            .unwrap_or(0.0);
        let (mut wsum, mut osum) = (0.0, 0.0);
        for s in valid
            .iter()
            .filter(|s| (s.offset - newest).abs() <= STEPT / 2.0)
        {
            // Error scale: half the delay excess, the floor, and how far
            // the clock may have drifted since the sample was taken.
            let excess =
                (s.delay - dmin).max(0.0) / 2.0 + floor + self.age_weight * (now - s.time).max(0.0);
            let w = 1.0 / (excess * excess);
            wsum += w;
            osum += w * s.offset;
        }
        if wsum > 0.0 {
            osum / wsum
        } else {
            valid.first().map(|s| s.offset).unwrap_or(0.0)
        }
    }

    fn shift(&mut self, stage: Stage) {
        self.stages.rotate_right(1);
        self.stages[0] = stage;
    }

    /// Add a new sample at local time `now`. `poll_interval` (seconds) is
    /// the current host poll interval, used by the popcorn gate.
    pub fn add(&mut self, sample: Sample, now: f64, poll_interval: f64) -> FilterUpdate {
        if self.delay_history.len() == DELAY_HISTORY {
            self.delay_history.pop_front();
        }
        self.delay_history.push_back(sample.delay);
        self.reached = true;
        self.shift(Stage {
            offset: sample.offset,
            delay: sample.delay,
            dispersion: sample.dispersion,
            time: sample.time,
        });

        // Age the dispersion of every stage to `now`, then order by
        // delay (plus the staleness term); placeholders sort last.
        let mut aged: [Stage; NSTAGE] = self.stages;
        for s in aged.iter_mut() {
            if s.time.is_finite() {
                s.dispersion = (s.dispersion + self.phi * (now - s.time).max(0.0)).min(MAXDISP);
            }
        }
        let w = self.age_weight;
        let key = |s: &Stage| {
            if s.delay >= MAXDISP || !s.time.is_finite() {
                f64::INFINITY
            } else {
                s.delay / 2.0 + w * (now - s.time).max(0.0)
            }
        };
        aged.sort_by(|a, b| key(a).total_cmp(&key(b)));

        // Peer dispersion: ε = Σ εᵢ / 2^(i+1) over the stages, see
        // [`peer_dispersion`] for the stages that never held a sample.
        let (dispersion, gate_dispersion) = peer_dispersion(&aged, self.quick_start);

        let valid: Vec<&Stage> = aged
            .iter()
            .filter(|s| s.delay < MAXDISP && s.dispersion < MAXDISP)
            .collect();
        let Some(best) = valid.first().copied() else {
            return FilterUpdate::NotNewer;
        };

        // The delay-weighted mean only while the eight stages span no
        // more than the Allan intercept: over longer spans the clock's own
        // wander outweighs the measurement noise that averaging removes
        // (RFC 5905 §A.5.5.6 hands over from phase to frequency locking
        // there for the same reason), and each sample is better used once,
        // as RFC 5905 §10 does.
        let reuse = self.estimator == Estimator::DelayWeighted
            && NSTAGE as f64 * poll_interval <= 2f64.powi(i32::from(ALLAN_LOG2));
        let (offset, time) = if reuse {
            (
                self.weighted_offset(&valid, now),
                valid
                    .iter()
                    .map(|s| s.time)
                    .fold(f64::NEG_INFINITY, f64::max),
            )
        } else {
            (best.offset, best.time)
        };

        // Peer jitter: RMS of the offsets' differences from the estimate.
        let jitter = if valid.len() > 1 {
            let sum: f64 = valid.iter().map(|s| (s.offset - offset).powi(2)).sum();
            (sum / (valid.len() - 1) as f64).sqrt()
        } else {
            0.0
        }
        .max(self.precision);

        if let Some(prev) = self.output {
            if !reuse && best.time <= prev.time {
                return FilterUpdate::NotNewer;
            }
            // Popcorn spike suppressor: a sudden offset jump, larger than
            // SGATE times the jitter known so far and arriving within two
            // poll intervals of the previous update, is discarded once.
            // The gate only acts once the filter holds enough samples for
            // the jitter to mean something (peer dispersion below maxdist).
            // A clock whose frequency is still uncertain may legitimately
            // have drifted since: that much change is allowed on top.
            let drift_allowance = self.age_weight * (time - prev.time);
            if self.gate_dispersion < MAXDIST
                && (offset - prev.offset).abs() > SGATE * prev.jitter + drift_allowance
                && time - prev.time < 2.0 * poll_interval
            {
                // The peer variables keep the last accepted sample, so an
                // offset change that persists beyond two poll intervals is
                // accepted eventually.
                return FilterUpdate::Spike { offset };
            }
        }

        let out = FilterOutput {
            offset,
            delay: best.delay,
            dispersion,
            jitter,
            time,
        };
        self.output = Some(out);
        self.gate_dispersion = gate_dispersion;
        FilterUpdate::Updated(out)
    }
}

/// The peer dispersion ε of RFC 5905 §10 over `sorted` (the aged stages
/// in filter order, placeholders last), and the same sum as the RFC
/// writes it, every empty stage at MAXDISP.
///
/// The RFC counts a stage without a sample at MAXDISP whether it was a
/// poll that went unanswered or a stage the association has not reached
/// yet.  The first is evidence (the source is going away: its distance
/// must grow); the second is only start-up.  Counting the unreached
/// stages at MAXDISP makes a source's distance 16·(2^−k − 2^−8) s after
/// k samples, so at `tos maxdist` 1.5 s it is unfit until its fourth
/// sample — with `iburst`'s 2 s spacing, 6 s after start — however
/// consistent its samples are.  Here, once the register holds
/// [`START_SAMPLES`] real samples, the stages it has not reached yet are
/// left out and the remaining weights scaled to the RFC's total
/// (1 − 2^−8), so ε is the same weighted mean of the stages the RFC
/// would give a register full of such samples.  The distance the
/// selection algorithms see is then what the samples show: half the
/// delay (the bound of RFC 5905 §11.2.1's correctness interval), the
/// samples' dispersion and their jitter.  A poll that went unanswered
/// still counts at MAXDISP, and a full register is exactly the RFC sum.
///
/// Only with `iburst` (`quick_start`), the option RFC 5905 §13 gives for
/// a quick start: its volley brings the second sample 2 s after the
/// first.  Without it the samples come a poll apart and the register
/// fills in four polls as the RFC has it; the start-up frequency
/// measurement then starts on a source whose samples span several polls
/// (under clknetsim, starting it on two samples 64 s apart left one seed
/// of three servers with a 5 PPM start-up error).
fn peer_dispersion(sorted: &[Stage; NSTAGE], quick_start: bool) -> (f64, f64) {
    let real = sorted.iter().filter(|s| s.delay < MAXDISP).count();
    let skip_unreached = quick_start && real >= START_SAMPLES;
    let (mut rfc, mut sum, mut weights) = (0.0, 0.0, 0.0);
    let mut weight = 0.5;
    for s in sorted.iter() {
        rfc += s.dispersion * weight;
        let unreached = !s.time.is_finite();
        if !(unreached && skip_unreached) {
            sum += s.dispersion * weight;
            weights += weight;
        }
        weight /= 2.0;
    }
    let full = 1.0 - 0.5f64.powi(NSTAGE as i32);
    let dispersion = if weights > 0.0 {
        (sum * full / weights).min(MAXDISP)
    } else {
        rfc
    };
    (dispersion, rfc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(offset: f64, delay: f64, time: f64) -> Sample {
        Sample {
            offset,
            delay,
            dispersion: 1e-5,
            time,
        }
    }

    #[test]
    fn picks_lowest_delay_sample() {
        let mut f = ClockFilter::new(1e-7);
        let offsets = [0.002, 0.001, 0.003];
        let delays = [0.030, 0.010, 0.050];
        let mut last = None;
        for i in 0..3 {
            let t = i as f64 * 64.0;
            last = Some(f.add(sample(offsets[i], delays[i], t), t, 64.0));
        }
        // After the third sample the best (delay 10 ms) is the second one,
        // already used: not newer.
        assert_eq!(last, Some(FilterUpdate::NotNewer));
        let out = f.output().unwrap();
        assert_eq!(out.offset, 0.001);
        assert_eq!(out.delay, 0.010);
        assert_eq!(f.valid_stages(), 3);
        let st = f.stages();
        assert_eq!((st[0].0, st[0].1), (0.003, 0.050), "newest first");
        assert_eq!((st[2].0, st[2].1), (0.002, 0.030));
        assert!(st[0].2 < MAXDISP && st[2].2 < MAXDISP);
        assert_eq!(
            st[3],
            (0.0, 0.0, MAXDISP),
            "empty stage as the reference shows it"
        );
    }

    #[test]
    fn jitter_is_rms_of_differences_to_best() {
        let mut f = ClockFilter::new(1e-9);
        f.add(sample(0.004, 0.020, 0.0), 0.0, 16.0);
        let u = f.add(sample(0.001, 0.010, 1.0), 1.0, 1e9);
        let FilterUpdate::Updated(out) = u else {
            panic!("expected update, got {u:?}")
        };
        assert!((out.jitter - 0.003).abs() < 1e-12);
        // Dispersion: 8 stages, best two real, the others MAXDISP.
        let expect = (1e-5 + PHI * 0.0) / 2.0
            + (1e-5 + PHI * 1.0) / 4.0
            + MAXDISP
                * (1.0 / 8.0 + 1.0 / 16.0 + 1.0 / 32.0 + 1.0 / 64.0 + 1.0 / 128.0 + 1.0 / 256.0);
        assert!((out.dispersion - expect).abs() < 1e-9, "{}", out.dispersion);
    }

    #[test]
    fn tinker_dispersion_ages_the_stages() {
        // The same two samples as above with PHI = 100 PPM: the older
        // stage's dispersion grew by 100e-6 · 1 s instead of 15e-6.
        let mut f = ClockFilter::new(1e-9);
        f.set_phi(100e-6);
        assert_eq!(f.phi(), 100e-6);
        f.add(sample(0.004, 0.020, 0.0), 0.0, 16.0);
        let FilterUpdate::Updated(out) = f.add(sample(0.001, 0.010, 1.0), 1.0, 1e9) else {
            panic!()
        };
        let expect = 1e-5 / 2.0
            + (1e-5 + 100e-6 * 1.0) / 4.0
            + MAXDISP
                * (1.0 / 8.0 + 1.0 / 16.0 + 1.0 / 32.0 + 1.0 / 64.0 + 1.0 / 128.0 + 1.0 / 256.0);
        assert!(
            (out.dispersion - expect).abs() < 1e-12,
            "{}",
            out.dispersion
        );
        f.set_phi(f64::NAN);
        assert_eq!(f.phi(), PHI);
    }

    #[test]
    fn popcorn_spike_is_suppressed_then_accepted_later() {
        let mut f = ClockFilter::new(1e-7);
        // Eight quiet samples with offsets ±10 µs.
        for i in 0..8 {
            let off = if i % 2 == 0 { 10e-6 } else { -10e-6 };
            f.add(sample(off, 0.001, i as f64 * 16.0), i as f64 * 16.0, 16.0);
        }
        let jitter = f.output().unwrap().jitter;
        assert!(jitter < 30e-6);
        // A spike of 10 ms with the lowest delay is rejected...
        let t = 8.0 * 16.0;
        let u = f.add(sample(0.010, 0.0005, t), t, 16.0);
        assert_eq!(u, FilterUpdate::Spike { offset: 0.010 });
        assert!(f.output().unwrap().offset.abs() <= 10e-6);
        // ...and if it persists beyond two poll intervals it is accepted.
        let t = t + 40.0;
        let u = f.add(sample(0.0101, 0.0004, t), t, 16.0);
        match u {
            FilterUpdate::Updated(o) => assert_eq!(o.offset, 0.0101),
            other => panic!("expected update, got {other:?}"),
        }
    }

    #[test]
    fn adjust_shifts_stored_offsets() {
        let mut f = ClockFilter::new(1e-7);
        f.add(sample(0.005, 0.001, 0.0), 0.0, 64.0);
        f.adjust(0.002);
        assert!((f.output().unwrap().offset - 0.003).abs() < 1e-15);
        // The stored stage moved too: a worse-delay newer sample does not
        // bring the old offset back.
        let u = f.add(sample(0.0031, 0.002, 64.0), 64.0, 64.0);
        assert_eq!(u, FilterUpdate::NotNewer);
        let u = f.add(sample(0.0029, 0.0005, 128.0), 128.0, 64.0);
        assert!(matches!(u, FilterUpdate::Updated(o) if o.offset == 0.0029));
    }

    #[test]
    fn age_weight_prefers_fresh_samples_when_frequency_is_unknown() {
        let mut f = ClockFilter::new(1e-7);
        f.add(sample(0.0, 0.001, 0.0), 0.0, 64.0);
        // 64 s later, a sample with twice the delay.
        assert_eq!(
            f.add(sample(0.003, 0.002, 64.0), 64.0, 64.0),
            FilterUpdate::NotNewer
        );
        let mut f = ClockFilter::new(1e-7);
        f.set_age_weight(500e-6);
        f.add(sample(0.0, 0.001, 0.0), 0.0, 64.0);
        let u = f.add(sample(0.003, 0.002, 64.0), 64.0, 64.0);
        assert!(matches!(u, FilterUpdate::Updated(o) if o.offset == 0.003));
    }

    #[test]
    fn frequency_change_rebases_stored_offsets() {
        // Clock 50 PPM fast, uncorrected: offsets fall 50 µs per second.
        let mut f = ClockFilter::new(1e-7);
        f.add(sample(0.0, 0.001, 0.0), 0.0, 64.0);
        f.add(sample(-0.0032, 0.002, 64.0), 64.0, 64.0);
        // The discipline now corrects −50 PPM: the old low-delay sample
        // is re-based to the current offset.
        f.adjust_frequency(-50e-6, 64.0);
        let u = f.add(sample(-0.0032, 0.003, 64.5), 64.5, 64.0);
        assert_eq!(u, FilterUpdate::NotNewer);
        assert!((f.output().unwrap().offset + 0.0032).abs() < 1e-9);
    }

    #[test]
    fn delay_weighted_estimator_favours_low_delay_and_reports_every_poll() {
        let mut f = ClockFilter::new(1e-7);
        f.set_estimator(Estimator::DelayWeighted);
        // Path minimum 10 ms; offsets err by half the excess delay.
        let data = [
            (0.0100, 0.0),
            (0.0140, 0.002),
            (0.0120, -0.001),
            (0.0180, 0.004),
        ];
        let mut outs = vec![];
        for (i, &(d, o)) in data.iter().enumerate() {
            let t = i as f64 * 64.0;
            match f.add(sample(o, d, t), t, 64.0) {
                FilterUpdate::Updated(out) => outs.push(out),
                other => panic!("poll {i}: {other:?}"),
            }
        }
        let last = outs.last().unwrap();
        // Dominated by the 10 ms sample, pulled slightly by the others.
        assert!(last.offset.abs() < 0.0005, "{}", last.offset);
        assert_eq!(last.delay, 0.010);
        assert_eq!(last.time, 192.0);
    }

    #[test]
    fn delay_weighted_estimator_ignores_samples_across_a_discontinuity() {
        let mut f = ClockFilter::new(1e-7);
        f.set_estimator(Estimator::DelayWeighted);
        for i in 0..6 {
            let t = i as f64 * 64.0;
            f.add(sample(0.0, 0.001, t), t, 64.0);
        }
        // The server jumps by a second (higher delay so it is not "best").
        let u = f.add(sample(-1.0, 0.002, 400.0), 400.0, 64.0);
        let offset = match u {
            FilterUpdate::Updated(o) => o.offset,
            FilterUpdate::Spike { offset } => offset,
            FilterUpdate::NotNewer => panic!("weighted mode reports every poll"),
        };
        assert_eq!(offset, -1.0);
    }

    #[test]
    fn unreached_stages_count_at_maxdisp_until_two_samples() {
        let rfc_empty = |k: i32| MAXDISP * (0.5f64.powi(k) - 0.5f64.powi(NSTAGE as i32));
        let mut f = ClockFilter::new(1e-7);
        f.set_quick_start(true);
        let FilterUpdate::Updated(one) = f.add(sample(0.0, 0.001, 0.0), 0.0, 64.0) else {
            panic!()
        };
        // One sample: the RFC 5905 sum, seven stages at MAXDISP (7.94 s),
        // unfit at any sane `tos maxdist`.
        assert!((one.dispersion - (1e-5 / 2.0 + rfc_empty(1))).abs() < 1e-9);
        assert!(one.dispersion > MAXDIST);
        let FilterUpdate::Updated(two) = f.add(sample(1e-5, 0.001, 2.0), 2.0, 64.0) else {
            panic!()
        };
        // Two: the samples' own dispersion (RFC: 3.94 s).
        assert!(two.dispersion < 1e-4, "{}", two.dispersion);
        // A full register of equal samples gives the RFC sum exactly.
        let mut g = ClockFilter::new(1e-7);
        g.set_quick_start(true);
        g.set_phi(0.0);
        let mut last = None;
        for i in 0..NSTAGE {
            let t = i as f64;
            last = Some(g.add(sample(0.0, 0.001 - t * 1e-5, t), t, 64.0));
            assert_eq!(g.valid_stages(), i + 1);
        }
        let Some(FilterUpdate::Updated(full)) = last else {
            panic!("{last:?}")
        };
        assert!((full.dispersion - 1e-5 * (1.0 - 1.0 / 256.0)).abs() < 1e-15);
    }

    #[test]
    fn without_iburst_the_rfc_sum_holds_from_the_first_sample() {
        for quick in [false, true] {
            let mut f = ClockFilter::new(1e-7);
            f.set_quick_start(quick);
            f.add_missing(0.0); // the first poll, before any reply
            f.add(sample(0.0, 0.001, 0.0), 0.0, 64.0);
            let FilterUpdate::Updated(o) = f.add(sample(0.0, 0.0009, 64.0), 64.0, 64.0) else {
                panic!()
            };
            if quick {
                // The first poll's dummy was no missed reply.
                assert!(o.dispersion < 1e-3, "{}", o.dispersion);
            } else {
                // Two samples, the dummy and five empty stages: 3.94 s.
                assert!((3.9..4.0).contains(&o.dispersion), "{}", o.dispersion);
            }
        }
    }

    #[test]
    fn popcorn_gate_waits_for_the_rfc_dispersion() {
        // Two quiet samples give a small distance but say little about the
        // jitter: a third sample 1 ms away is not taken for a spike.
        let mut f = ClockFilter::new(1e-7);
        f.set_quick_start(true);
        f.add(sample(0.0, 0.001, 0.0), 0.0, 64.0);
        f.add(sample(1e-6, 0.001, 2.0), 2.0, 64.0);
        let u = f.add(sample(0.001, 0.0009, 4.0), 4.0, 64.0);
        assert!(
            matches!(u, FilterUpdate::Updated(o) if o.offset == 0.001),
            "{u:?}"
        );
    }

    #[test]
    fn missing_samples_raise_dispersion() {
        let mut f = ClockFilter::new(1e-7);
        let FilterUpdate::Updated(a) = f.add(sample(0.0, 0.001, 0.0), 0.0, 64.0) else {
            panic!()
        };
        for i in 1..4 {
            f.add_missing(i as f64 * 64.0);
        }
        assert_eq!(f.valid_stages(), 1);
        let u = f.add(sample(0.0, 0.002, 256.0), 256.0, 64.0);
        // Best is still the first sample (lower delay): not newer.
        assert_eq!(u, FilterUpdate::NotNewer);
        assert!(
            a.dispersion > 7.0,
            "placeholders dominate: {}",
            a.dispersion
        );
        // Past the start-up minimum an unanswered poll still counts at
        // MAXDISP: three of them make the source unfit again.
        let mut g = ClockFilter::new(1e-7);
        g.set_quick_start(true);
        g.add(sample(0.0, 0.001, 0.0), 0.0, 64.0);
        g.add(sample(0.0, 0.001, 64.0), 64.0, 64.0);
        for i in 2..5 {
            g.add_missing(i as f64 * 64.0);
        }
        let FilterUpdate::Updated(b) = g.add(sample(0.0, 0.0009, 320.0), 320.0, 64.0) else {
            panic!()
        };
        let missing = MAXDISP * (1.0 / 16.0 + 1.0 / 32.0 + 1.0 / 64.0);
        assert!(
            b.dispersion > missing && b.dispersion > MAXDIST,
            "{}",
            b.dispersion
        );
    }
}
