//! The discrete-event simulator: advances true time in one-second steps,
//! runs the client's polls over the simulated paths to the simulated
//! servers, and drives the real filter → select → cluster → combine →
//! discipline code over a [`SimClock`].  Deterministic for a given seed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::clock::Clock;
use crate::constants::PHI;
use crate::controller::ClockController;
use crate::discipline::{Decision, Discipline};
use crate::filter::{Estimator, FilterUpdate};
use crate::leap::majority_leap;
use crate::peer::{PeerState, SourceInfo};
use crate::sample::Sample;
use crate::select::LeapIndicator;
use crate::sim::clock::SimClock;
use crate::sim::scenario::Scenario;
use crate::system::{Mitigation, Source, SystemProcess};

/// Server processing time between receive and transmit, seconds.
const SERVER_TURNAROUND: f64 = 20e-6;
/// Client precision used in samples, seconds (2^-20).
const CLIENT_PRECISION_LOG2: i8 = -20;

/// Results of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResult {
    /// First time after which |offset| stayed below the threshold, s.
    pub converge_s: Option<f64>,
    /// RMS offset after convergence (whole run if never converged), s.
    pub rms_offset_s: f64,
    /// Maximum |offset| after convergence (whole run if never), s.
    pub max_offset_s: f64,
    /// RMS offset over the whole run, s.
    pub rms_offset_all_s: f64,
    /// Residual frequency error at the end, PPM.
    pub freq_error_ppm: f64,
    /// Clock steps applied.
    pub steps: u32,
    /// Mitigation rounds in which a falseticker was among the survivors.
    pub falseticker_selected: u32,
    /// Mitigation rounds run.
    pub mitigations: u32,
    /// Whether the discipline asked to exit on a panic offset.
    pub panicked: bool,
    /// Final system poll exponent.
    pub final_poll: i8,
    /// (true time, offset local − true) once per second.
    pub trace: Vec<(f64, f64)>,
}

/// RMS offset of a trace of (true time, offset) from true time `t0` on,
/// seconds (0 when nothing is that late).
pub fn rms_after(trace: &[(f64, f64)], t0: f64) -> f64 {
    let tail: Vec<f64> = trace.iter().filter(|p| p.0 >= t0).map(|p| p.1).collect();
    (tail.iter().map(|o| o * o).sum::<f64>() / tail.len().max(1) as f64).sqrt()
}

impl SimResult {
    /// RMS offset over the trace from true time `t0` on, seconds.
    pub fn rms_after(&self, t0: f64) -> f64 {
        rms_after(&self.trace, t0)
    }

    /// Maximum |offset| over `[t0, t1)`, seconds.
    pub fn max_between(&self, t0: f64, t1: f64) -> f64 {
        self.trace
            .iter()
            .filter(|p| p.0 >= t0 && p.0 < t1)
            .map(|p| p.1.abs())
            .fold(0.0, f64::max)
    }
}

/// Run `scenario` to completion.
pub fn run(scenario: &Scenario) -> SimResult {
    let mut rng = ChaCha8Rng::seed_from_u64(scenario.seed);
    let mut clock = SimClock::new(scenario.oscillator, 0.0, scenario.initial_offset);
    let precision = 2f64.powi(CLIENT_PRECISION_LOG2 as i32);
    let mut disc = Discipline::new(scenario.discipline, scenario.drift, 0.0);
    let mut ctl = ClockController::new(scenario.mode, true);
    let mut system = SystemProcess::new(scenario.selection, CLIENT_PRECISION_LOG2, None, 0.0);
    // The simulated clock never fails.
    let _ = ctl.start(&mut clock, &disc);

    let mut assocs: Vec<PeerState> = scenario
        .servers
        .iter()
        .enumerate()
        .map(|(i, _)| {
            // Stagger first polls a little, as a daemon starting up would.
            let mut p = PeerState::new(
                i,
                scenario.minpoll,
                scenario.maxpoll,
                scenario.iburst,
                precision,
                1.0 + i as f64 * 0.1,
            );
            p.set_estimator(if scenario.filter_reuse {
                Estimator::DelayWeighted
            } else {
                Estimator::MinDelay
            });
            p.set_phi(scenario.selection.phi);
            p
        })
        .collect();

    let mut result = SimResult {
        converge_s: None,
        rms_offset_s: 0.0,
        max_offset_s: 0.0,
        rms_offset_all_s: 0.0,
        freq_error_ppm: 0.0,
        steps: 0,
        falseticker_selected: 0,
        mitigations: 0,
        panicked: false,
        final_poll: scenario.minpoll,
        trace: Vec::with_capacity(scenario.duration as usize + 1),
    };
    let mut leap_done = false;
    let mut last_fed: Option<f64> = None;
    let steps = scenario.duration.max(0.0).ceil() as u64;
    for _ in 0..steps {
        let t = clock.true_time();
        for (i, spec) in scenario.servers.iter().enumerate() {
            let a = &mut assocs[i];
            if !a.poll_due(t) {
                continue;
            }
            a.on_poll_sent(t);
            let up = |at: f64| !spec.outages.iter().any(|&(s, e)| at >= s && at < e);
            // Server clock: true time + its offset, minus a second once an
            // inserted leap second has happened (UTC repeats a second).
            let utc = |at: f64| {
                let leap = match scenario.leap_at {
                    Some(l) if at >= l => 1.0,
                    _ => 0.0,
                };
                at + spec.offset - leap
            };
            let Some(d1) = spec.path.delay(t, true, &mut rng) else {
                continue;
            };
            if !up(t + d1) {
                continue;
            }
            let Some(d2) = spec.path.delay(t + d1, false, &mut rng) else {
                continue;
            };
            let t1 = clock.read_at(t);
            let t2 = utc(t + d1);
            let t3 = t2 + SERVER_TURNAROUND;
            let t4 = clock.read_at(t + d1 + SERVER_TURNAROUND + d2);
            let sample = Sample::from_timestamps_phi(
                t1,
                t2,
                t3,
                t4,
                precision + 2f64.powi(spec.precision as i32),
                scenario.selection.phi,
            );
            let mut sample = sample;
            sample.time = t; // the daemon's monotonic time scale
            let leap = match scenario.leap_at {
                Some(l) if t < l && t >= l - scenario.leap_warning => LeapIndicator::Insert,
                _ => LeapIndicator::NoWarning,
            };
            let info = SourceInfo {
                stratum: spec.stratum,
                leap,
                root_delay: spec.root_delay,
                root_dispersion: spec.root_dispersion,
                loops_to_us: false,
            };
            let update = a.on_sample(sample, info, t, disc.frequency_uncertainty());
            if !matches!(update, FilterUpdate::Updated(_)) {
                continue;
            }

            // A peer was updated: run the system process.
            let sources: Vec<Source> = assocs
                .iter()
                .filter_map(|p| {
                    Some(Source {
                        candidate: p.candidate()?,
                        refid: p.id() as u32,
                    })
                })
                .collect();
            result.mitigations += 1;
            system.set_frequency_uncertainty(disc.frequency_uncertainty());
            match system.mitigate(&sources, t) {
                Mitigation::Synchronized {
                    offset,
                    survivors,
                    sys_peer,
                    peer_offset,
                    ..
                } => {
                    if survivors.iter().any(|&id| scenario.servers[id].falseticker) {
                        result.falseticker_selected += 1;
                    }
                    // As in RFC 5905 clock_update(): the discipline only
                    // sees a new offset when the system peer has a new
                    // sample (not on every other peer's update).
                    let peer_out = assocs[sys_peer].filter().output();
                    let peer_time = peer_out.map(|o| o.time);
                    let peer_delay = peer_out.map_or(0.0, |o| o.delay);
                    if peer_time <= last_fed {
                        continue;
                    }
                    last_fed = peer_time;
                    // While the frequency is being measured use the system
                    // peer's own sample, at the time it was taken.
                    let (offset, when) = match peer_time {
                        Some(pt) if disc.frequency_uncertainty() > PHI => (peer_offset, pt),
                        _ => (offset, t),
                    };
                    let freq_before = disc.frequency();
                    let decision = disc.update_with_delay(offset, peer_delay, when);
                    if let Decision::Panic { .. } = decision {
                        result.panicked = true;
                    }
                    let stepped = ctl.apply(&mut clock, &mut disc, decision).unwrap_or(0.0);
                    let dfreq = disc.frequency() - freq_before;
                    for a in assocs.iter_mut() {
                        if stepped != 0.0 {
                            // As reference ntpd does after a step: the
                            // stored samples may straddle whatever caused
                            // it (a leap, a server fault), so start afresh.
                            a.on_step();
                        } else {
                            a.on_frequency_change(dfreq, t);
                        }
                    }
                    // Believe a leap only when most survivors announce it.
                    let votes: Vec<LeapIndicator> = survivors
                        .iter()
                        .filter_map(|&id| assocs[id].candidate().map(|c| c.leap))
                        .collect();
                    system.set_leap(majority_leap(&votes));
                    let vars = *system.variables();
                    let _ = ctl.report(
                        &mut clock,
                        true,
                        vars.leap,
                        vars.jitter,
                        vars.root_distance(),
                    );
                }
                Mitigation::Orphan | Mitigation::Unsynchronized(_) => {}
            }
            if result.panicked {
                break;
            }
            let sys_poll = disc.poll();
            for a in assocs.iter_mut() {
                a.update_poll(sys_poll, t);
            }
        }
        if result.panicked {
            break;
        }
        let slewed = ctl.tick(&mut clock, &mut disc, 1.0).unwrap_or(0.0);
        for a in assocs.iter_mut() {
            a.on_slew(slewed);
        }
        clock.advance(1.0, &mut rng);
        // Kernel leap insertion at the end of the day, if armed.
        if let Some(l) = scenario.leap_at {
            if !leap_done && clock.true_time() >= l {
                leap_done = true;
                if clock
                    .state()
                    .map(|s| s.status & 0x0010 != 0)
                    .unwrap_or(false)
                {
                    clock.inject_step(-1.0);
                    let _ = clock.set_sync_status(true, LeapIndicator::NoWarning, 0.0, 0.0);
                }
            }
        }
        let truth = scenario
            .leap_at
            .map(|l| if clock.true_time() >= l { 1.0 } else { 0.0 })
            .unwrap_or(0.0);
        result
            .trace
            .push((clock.true_time(), clock.phase() + truth));
    }

    result.steps = ctl.steps();
    result.freq_error_ppm = clock.residual_frequency() * 1e6;
    result.final_poll = disc.poll();
    summarise(&mut result, scenario.converge_threshold);
    result
}

/// Compute convergence time and offset statistics from the trace.
fn summarise(r: &mut SimResult, threshold: f64) {
    if r.trace.is_empty() {
        return;
    }
    let last_bad = r.trace.iter().rposition(|&(_, o)| o.abs() >= threshold);
    let start = match last_bad {
        None => {
            r.converge_s = Some(0.0);
            0
        }
        Some(i) if i + 1 < r.trace.len() => {
            r.converge_s = Some(r.trace[i].0);
            i + 1
        }
        Some(_) => {
            r.converge_s = None;
            0
        }
    };
    let rms = |s: &[(f64, f64)]| {
        (s.iter().map(|p| p.1 * p.1).sum::<f64>() / s.len().max(1) as f64).sqrt()
    };
    let tail = &r.trace[start..];
    r.rms_offset_s = rms(tail);
    r.max_offset_s = tail.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
    r.rms_offset_all_s = rms(&r.trace);
}
