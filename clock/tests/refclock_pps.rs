//! A stratum-1 server disciplined by reference clocks in the simulator:
//! an NMEA receiver (`server 127.127.20.0 prefer`, coarse: its serial end
//! of line wanders by a millisecond) and the PPS signal of the same
//! receiver (`server 127.127.22.0`, 1 µs of jitter). The real filter →
//! select → cluster → PPS rule → discipline code runs over a `SimClock`;
//! the drivers are modelled as the daemon runs them (ntpd/refclock and
//! `ntpd/src/daemon/refclock.rs`):
//!
//! - once a second each driver gives one offset: the NMEA driver the
//!   sentence's second plus `fudge time2` minus the local time its end of
//!   line arrived; the PPS driver the distance of the pulse's local time
//!   stamp to the nearest second;
//! - at each poll of a clock (both at 2^4 s, never backing off) the median of its samples since the previous poll goes
//!   into its clock filter with delay 0, the NMEA driver's dispersion 0,
//!   the PPS driver's 2^-20 s;
//! - the PPS clock's samples are dropped at its poll unless the last
//!   mitigation had a `prefer` survivor (the reference's `atom_poll()`).

use clock::constants::PHI;
use clock::controller::{ClockController, LoopMode};
use clock::discipline::{Discipline, DisciplineConfig};
use clock::filter::FilterUpdate;
use clock::peer::{PeerState, SourceInfo};
use clock::sample::Sample;
use clock::select::{LeapIndicator, SelectionParams};
use clock::sim::clock::{Oscillator, SimClock};
use clock::system::{Mitigation, Source, SystemProcess};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The PPS signal's jitter, seconds (the figure).
const PPS_SIGMA: f64 = 1e-6;
/// The NMEA sentence's end-of-line jitter, seconds.
const NMEA_SIGMA: f64 = 1e-3;
/// The mean time from the start of a second to the end of line of its
/// sentence (a 70-octet RMC at 4800 bps), compensated by `fudge time2`.
const END_OF_LINE: f64 = 0.146;
/// System precision, log2 seconds.
const PRECISION_LOG2: i8 = -20;
/// The poll exponent of both clocks, `minpoll 4 maxpoll 4`, as PPS
/// clocks are usually configured (the refclock default, 6, measures
/// 6.2 µs here with seed 1: the loop's time constant grows with the poll and the
/// oscillator's wander outruns it, see the bound below).
const POLL: i8 = 4;

/// The two clocks, in association order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Driver {
    Nmea,
    Pps,
}

struct Assoc {
    driver: Driver,
    peer: PeerState,
    /// Offsets since the previous poll.
    pending: Vec<f64>,
}

/// What a run gives.
struct Run {
    /// (true time, local − true) once a second.
    trace: Vec<(f64, f64)>,
    /// Mitigations after which the PPS clock was the system peer, and all
    /// that synchronised.
    pps_sys_peer: (u32, u32),
    steps: u32,
}

impl Run {
    fn rms_after(&self, t0: f64) -> f64 {
        clock::sim::engine::rms_after(&self.trace, t0)
    }
}

fn median(v: &mut Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v[v.len() / 2];
    v.clear();
    Some(m)
}

/// A day of the server: +10 PPM, a random walk of 0.001 PPM/√s (as the
/// crate's anchor scenario), 5 ms off at start without a drift file; the
/// PPS clock configured only if `with_pps`.
fn run(seed: u64, with_pps: bool) -> Run {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = |rng: &mut ChaCha8Rng| clock::sim::random::normal(rng);
    let osc = Oscillator {
        freq_error: 10e-6,
        wander: 1e-9,
    };
    let mut clock = SimClock::new(osc, 0.0, 0.005);
    let precision = 2f64.powi(i32::from(PRECISION_LOG2));
    // The discipline's poll bounds are the associations' (the reference
    // clamps the system poll to the system peer's minpoll and maxpoll).
    let cfg = DisciplineConfig {
        precision,
        minpoll: POLL,
        maxpoll: POLL,
        ..DisciplineConfig::default()
    };
    let mut disc = Discipline::new(cfg, None, 0.0);
    let mut ctl = ClockController::new(LoopMode::Daemon, true);
    ctl.start(&mut clock, &disc).expect("simulated clock");
    let mut system = SystemProcess::new(SelectionParams::default(), PRECISION_LOG2, None, 0.0);
    let mut drivers = vec![Driver::Nmea];
    if with_pps {
        drivers.push(Driver::Pps);
        system.add_pps_driver(1);
    }
    let mut assocs: Vec<Assoc> = drivers
        .into_iter()
        .enumerate()
        .map(|(id, driver)| {
            let mut peer = PeerState::new(id, POLL, POLL, false, precision, 1.0);
            peer.set_prefer(driver == Driver::Nmea);
            Assoc {
                driver,
                peer,
                pending: Vec::new(),
            }
        })
        .collect();
    let mut out = Run {
        trace: Vec::with_capacity(86_400),
        pps_sys_peer: (0, 0),
        steps: 0,
    };
    let mut prefer_survived = false;
    let mut last_fed: Option<f64> = None;
    for _ in 0..86_400 {
        let t = clock.true_time();
        for a in &mut assocs {
            let offset = match a.driver {
                Driver::Nmea => {
                    let arrival = clock.read_at(t + END_OF_LINE + NMEA_SIGMA * normal(&mut rng));
                    t + END_OF_LINE - arrival
                }
                Driver::Pps => {
                    let stamp = clock.read_at(t + PPS_SIGMA * normal(&mut rng));
                    stamp.round() - stamp
                }
            };
            a.pending.push(offset);
        }
        let mut updated = false;
        for a in &mut assocs {
            if !a.peer.poll_due(t) {
                continue;
            }
            a.peer.on_poll_sent(t);
            if a.driver == Driver::Pps && !prefer_survived {
                a.pending.clear();
            }
            let Some(offset) = median(&mut a.pending) else {
                continue;
            };
            let info = SourceInfo {
                stratum: 0,
                leap: LeapIndicator::NoWarning,
                root_delay: 0.0,
                root_dispersion: match a.driver {
                    Driver::Nmea => 0.0,
                    Driver::Pps => precision,
                },
                loops_to_us: false,
            };
            let sample = Sample {
                offset,
                delay: 0.0,
                dispersion: precision,
                time: t,
            };
            let u = a
                .peer
                .on_sample(sample, info, t, disc.frequency_uncertainty());
            updated |= matches!(u, FilterUpdate::Updated(_));
        }
        if updated {
            let sources: Vec<Source> = assocs
                .iter()
                .filter_map(|a| {
                    Some(Source {
                        candidate: a.peer.candidate()?,
                        refid: a.peer.id() as u32,
                    })
                })
                .collect();
            system.set_frequency_uncertainty(disc.frequency_uncertainty());
            let m = system.mitigate(&sources, t);
            // The PPS gate of the next poll: a prefer survivor whose own
            // offset is within 0.4 s.
            prefer_survived = match &m {
                Mitigation::Synchronized {
                    prefer_peer: Some(p),
                    ..
                } => assocs[*p]
                    .peer
                    .filter()
                    .output()
                    .is_some_and(|o| o.offset.abs() < 0.4),
                _ => false,
            };
            if let Mitigation::Synchronized {
                offset,
                peer_offset,
                sys_peer,
                pps_peer,
                ..
            } = m
            {
                out.pps_sys_peer.1 += 1;
                if pps_peer {
                    out.pps_sys_peer.0 += 1;
                }
                // clock_update(): only a new sample of the system peer.
                let peer_time = assocs[sys_peer].peer.filter().output().map(|o| o.time);
                if peer_time > last_fed {
                    last_fed = peer_time;
                    let (offset, when) = match peer_time {
                        Some(pt) if disc.frequency_uncertainty() > PHI => (peer_offset, pt),
                        _ => (offset, t),
                    };
                    let before = disc.frequency();
                    let decision = disc.update_with_delay(offset, 0.0, when);
                    let stepped = ctl.apply(&mut clock, &mut disc, decision).unwrap_or(0.0);
                    let df = disc.frequency() - before;
                    for a in &mut assocs {
                        if stepped != 0.0 {
                            a.peer.on_step();
                        } else {
                            a.peer.on_frequency_change(df, t);
                        }
                    }
                    let v = *system.variables();
                    let _ = ctl.report(&mut clock, true, v.leap, v.jitter, v.root_distance());
                }
                let poll = disc.poll();
                for a in &mut assocs {
                    a.peer.update_poll(poll, t);
                }
            }
        }
        let slewed = ctl.tick(&mut clock, &mut disc, 1.0).unwrap_or(0.0);
        for a in &mut assocs {
            a.peer.on_slew(slewed);
        }
        clock.advance(1.0, &mut rng);
        out.trace.push((clock.true_time(), clock.phase()));
    }
    out.steps = ctl.steps();
    out
}

/// The bound. The disciplined clock's error is the loop's response to
/// two inputs, added in quadrature:
///
/// - the PPS samples' noise: each 16 s poll takes the median of 16
///   samples of σ = 1 µs, σ_m = 1.2533 · 1 µs / √16 = 0.31 µs, which the
///   loop does not amplify (its phase time constant, 4 · 2^4 = 64 s,
///   averages about four of them);
/// - the oscillator's random walk of w = 1e-9/√s, which the loop follows
///   only after its frequency time constant T = 2 · 64 s = 128 s: a phase
///   error of about w · T^{3/2} / √3 = 1e-9 · 1448 / 1.732 = 0.84 µs.
///
/// √(0.31² + 0.84²) = 0.9 µs; the 2 µs leaves more than twice
/// that for what the estimate leaves out (the filter's and the median's
/// lag). The NMEA clock alone cannot do it: its 1 ms end-of-line jitter
/// gives σ_m = 313 µs a poll, so the same loop stays above 50 µs —
/// within 2 µs the clock follows the PPS clock, as the PPS rule says.
const PPS_NMEA_BOUND: f64 = 2e-6;

#[test]
fn pps_and_nmea_keep_the_clock_within_2_us() {
    for seed in [1, 2, 3] {
        let r = run(seed, true);
        // After the start-up frequency measurement and the 5 ms slew.
        let rms = r.rms_after(7200.0);
        let (pps, all) = r.pps_sys_peer;
        eprintln!("seed {seed}: RMS {rms:.3e} s, PPS system peer {pps}/{all}");
        assert_eq!(r.steps, 0);
        assert!(rms <= PPS_NMEA_BOUND, "seed {seed}: RMS {rms}");
        // Only the first mitigations, before the prefer peer opened
        // the PPS gate, have another system peer.
        assert!(all - pps <= 5, "seed {seed}: PPS system peer {pps}/{all}");
        let nmea = run(seed, false).rms_after(7200.0);
        eprintln!("seed {seed}: NMEA alone RMS {nmea:.3e} s");
        assert!(nmea > 50e-6, "seed {seed}: NMEA alone {nmea}");
    }
}
