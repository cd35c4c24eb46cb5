//! One association's peer process (RFC 5905 §9, §10 and §13): the
//! reachability register, the poll schedule, the clock filter and the
//! header values the source last reported, turned into a selection
//! [`Candidate`].

use crate::filter::{ClockFilter, Estimator, FilterUpdate};
use crate::reach::{PollState, Reachability};
use crate::sample::Sample;
use crate::select::{Candidate, LeapIndicator};

/// What the source's last packet header said about itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceInfo {
    /// Stratum.
    pub stratum: u8,
    /// Leap indicator.
    pub leap: LeapIndicator,
    /// Root delay, seconds.
    pub root_delay: f64,
    /// Root dispersion, seconds.
    pub root_dispersion: f64,
    /// Whether its reference ID names us (timing loop).
    pub loops_to_us: bool,
}

impl Default for SourceInfo {
    fn default() -> Self {
        SourceInfo {
            stratum: crate::constants::MAXSTRAT,
            leap: LeapIndicator::Unsynchronized,
            root_delay: 0.0,
            root_dispersion: 0.0,
            loops_to_us: false,
        }
    }
}

/// The state of one association.
#[derive(Debug, Clone)]
pub struct PeerState {
    id: usize,
    prefer: bool,
    truechimer: bool,
    filter: ClockFilter,
    reach: Reachability,
    poll: PollState,
    source: SourceInfo,
}

impl PeerState {
    /// A new association `id` first polled at `now`; `precision` is the
    /// system precision in seconds.  Its clock filter uses the
    /// delay-weighted estimator ([`Estimator::DelayWeighted`]), which the
    /// discipline is tuned for: it reports every poll, so the loop sees
    /// one update per poll interval as RFC 5905 §A.5.5.6 assumes, where
    /// the minimum-delay choice (`set_estimator(Estimator::MinDelay)`)
    /// passes on only the polls whose sample has the least delay.
    pub fn new(
        id: usize,
        minpoll: i8,
        maxpoll: i8,
        iburst: bool,
        precision: f64,
        now: f64,
    ) -> Self {
        PeerState {
            id,
            prefer: false,
            truechimer: false,
            filter: {
                let mut f = ClockFilter::new(precision);
                f.set_estimator(Estimator::DelayWeighted);
                // With iburst a source is fit on its second sample
                // (`ClockFilter::set_quick_start`).
                f.set_quick_start(iburst);
                f
            },
            reach: Reachability::default(),
            poll: PollState::new(minpoll, maxpoll, iburst, now),
            source: SourceInfo::default(),
        }
    }

    /// Mark the association `prefer`.
    pub fn set_prefer(&mut self, prefer: bool) {
        self.prefer = prefer;
    }

    /// Mark the association `true`: it always survives the intersection
    /// algorithm (the reference's `FLAG_TRUE`).
    pub fn set_truechimer(&mut self, truechimer: bool) {
        self.truechimer = truechimer;
    }

    /// Set the frequency tolerance (s/s, `tinker dispersion`) the clock
    /// filter ages its samples with.
    pub fn set_phi(&mut self, phi: f64) {
        self.filter.set_phi(phi);
    }

    /// Choose the clock filter's estimator.
    pub fn set_estimator(&mut self, e: Estimator) {
        self.filter.set_estimator(e);
    }

    /// The identifier.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Reachability register.
    pub fn reach(&self) -> &Reachability {
        &self.reach
    }

    /// Poll schedule.
    pub fn poll(&self) -> &PollState {
        &self.poll
    }

    /// Clock filter.
    pub fn filter(&self) -> &ClockFilter {
        &self.filter
    }

    /// Whether a poll is due at `now`.
    pub fn poll_due(&self, now: f64) -> bool {
        self.poll.is_due(now)
    }

    /// A poll is being sent at `now` (RFC 5905 A.5.7.2 `poll()`): shift
    /// the reachability register, feed the filter a "missing" sample when
    /// the last three polls went unanswered, schedule the next poll. The
    /// further packets of an `iburst` volley are one poll: they shift
    /// nothing (as the reference's `transmit()`), so `ntpq` shows reach 1
    /// after the volley and 377 after eight polls.
    pub fn on_poll_sent(&mut self, now: f64) {
        if !self.poll.in_burst() {
            self.reach.on_poll();
            if self.reach.last_three_missed() {
                self.filter.add_missing(now);
            }
        }
        self.poll.on_poll_sent(&self.reach, now);
    }

    /// A valid reply arrived: `sample.time` must be on the caller's
    /// monotonic time scale (`now`); `freq_uncertainty` is the discipline's
    /// ([`crate::discipline::Discipline::frequency_uncertainty`]).
    pub fn on_sample(
        &mut self,
        sample: Sample,
        source: SourceInfo,
        now: f64,
        freq_uncertainty: f64,
    ) -> FilterUpdate {
        self.reach.on_reply();
        self.source = source;
        self.filter.set_age_weight(freq_uncertainty);
        self.filter.add(sample, now, self.poll.interval())
    }

    /// Follow the system poll exponent.
    pub fn update_poll(&mut self, sys_poll: i8, now: f64) {
        self.poll.update(sys_poll, now);
    }

    /// The clock was stepped: stored samples are void.
    pub fn on_step(&mut self) {
        self.filter.clear();
    }

    /// The clock was slewed by `delta` seconds.
    pub fn on_slew(&mut self, delta: f64) {
        self.filter.adjust(delta);
    }

    /// The frequency correction changed by `delta` s/s at `now`.
    pub fn on_frequency_change(&mut self, delta: f64, now: f64) {
        self.filter.adjust_frequency(delta, now);
    }

    /// Mitigation input, once the filter has produced peer variables.
    pub fn candidate(&self) -> Option<Candidate> {
        let o = self.filter.output()?;
        Some(Candidate {
            id: self.id,
            offset: o.offset,
            delay: o.delay,
            dispersion: o.dispersion,
            jitter: o.jitter,
            time: o.time,
            root_delay: self.source.root_delay,
            root_dispersion: self.source.root_dispersion,
            stratum: self.source.stratum,
            leap: self.source.leap,
            reachable: self.reach.is_reachable(),
            loops_to_us: self.source.loops_to_us,
            prefer: self.prefer,
            truechimer: self.truechimer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> SourceInfo {
        SourceInfo {
            stratum: 2,
            leap: LeapIndicator::NoWarning,
            root_delay: 0.01,
            root_dispersion: 0.02,
            loops_to_us: false,
        }
    }

    #[test]
    fn candidate_appears_after_a_reply_and_carries_header_values() {
        let mut p = PeerState::new(3, 6, 10, false, 1e-6, 0.0);
        assert!(p.poll_due(0.0));
        p.on_poll_sent(0.0);
        assert!(!p.poll_due(1.0));
        assert!(p.candidate().is_none());
        let s = Sample {
            offset: 0.002,
            delay: 0.004,
            dispersion: 1e-5,
            time: 0.01,
        };
        assert!(matches!(
            p.on_sample(s, src(), 0.01, 1e-8),
            FilterUpdate::Updated(_)
        ));
        let c = p.candidate().unwrap();
        assert_eq!((c.id, c.stratum, c.offset, c.delay), (3, 2, 0.002, 0.004));
        assert_eq!((c.root_delay, c.root_dispersion), (0.01, 0.02));
        assert!(c.reachable && !c.prefer);
        p.on_slew(0.001);
        assert!((p.candidate().unwrap().offset - 0.001).abs() < 1e-15);
        p.on_step();
        assert!(p.candidate().is_none());
    }

    #[test]
    fn an_iburst_volley_is_one_poll_of_the_reach_register() {
        // minpoll 3 (8 s) with iburst: six packets 2 s apart, each
        // answered, then one packet per poll.
        let mut p = PeerState::new(0, 3, 3, true, 1e-6, 0.0);
        let mut now = 0.0;
        let mut seen = vec![];
        for _ in 0..13 {
            assert!(p.poll_due(now));
            p.on_poll_sent(now);
            let s = Sample {
                offset: 0.0,
                delay: 0.001,
                dispersion: 1e-5,
                time: now + 0.001,
            };
            p.on_sample(s, src(), now + 0.001, 1e-8);
            seen.push(p.reach().register());
            now = p.poll().next_poll();
        }
        assert_eq!(seen[..6], [1, 1, 1, 1, 1, 1], "the volley is one poll");
        assert_eq!(seen[6..], [0o3, 0o7, 0o17, 0o37, 0o77, 0o177, 0o377]);
        assert_eq!(
            now,
            10.0 + 8.0 * 8.0,
            "eight polls after the volley's first"
        );
    }

    /// Replies needed before the candidate is fit at `tos maxdist` 1.5 s,
    /// the volley's packets (or polls) answered 1 ms after they are sent.
    fn replies_until_fit(iburst: bool) -> usize {
        let params = crate::select::SelectionParams::default();
        let mut p = PeerState::new(0, 6, 10, iburst, 1e-6, 0.0);
        let mut now = 0.0;
        for n in 1..=8 {
            assert!(p.poll_due(now));
            p.on_poll_sent(now);
            let s = Sample {
                offset: 0.001 * n as f64 % 0.003,
                delay: 0.001,
                dispersion: 1e-5,
                time: now + 0.001,
            };
            p.on_sample(s, src(), now + 0.001, 500e-6);
            let c = p.candidate().expect("a reply arrived");
            if c.unfit_reason(now + 0.001, &params).is_none() {
                return n;
            }
            now = p.poll().next_poll();
        }
        panic!("never fit");
    }

    #[test]
    fn an_iburst_source_is_fit_on_its_second_reply() {
        // With iburst the reply to the volley's second packet (2 s); the
        // RFC 5905 §10 sum otherwise, the fourth (three polls later).
        assert_eq!(replies_until_fit(true), 2);
        assert_eq!(replies_until_fit(false), 4);
    }

    #[test]
    fn unanswered_polls_make_it_unreachable() {
        let mut p = PeerState::new(0, 4, 4, false, 1e-6, 0.0);
        let s = Sample {
            offset: 0.0,
            delay: 0.001,
            dispersion: 1e-5,
            time: 0.0,
        };
        p.on_poll_sent(0.0);
        p.on_sample(s, src(), 0.0, 1e-8);
        for i in 1..=8 {
            p.on_poll_sent(i as f64 * 16.0);
        }
        assert!(!p.reach().is_reachable());
        assert!(!p.candidate().unwrap().reachable);
        // The missing samples pushed the dispersion up.
        assert!(p.filter().valid_stages() <= 1);
    }
}
