//! The system process: mitigation (select → cluster → combine) and the
//! system variables it maintains (RFC 5905 §11.2 and Appendix A.5.5.1,
//! A.5.5.5 `clock_update()`), including orphan mode (`tos orphan`,
//! RFC 5905 §11.2.2 and the reference implementation's orphan parent).

use crate::cluster::{choose_system_peer, cluster};
use crate::combine::combine_phi;
use crate::constants::{MAXSTRAT, MINDISP, ORPHAN_WAIT, PHI};
use crate::pps_peer::{pps_takes_over, prefer_survivor, split_pps, PpsRule};
use crate::select::{select, Candidate, LeapIndicator, SelectError, SelectionParams};

/// Reference ID of a local clock acting as orphan parent: 127.0.0.1, as
/// the reference implementation advertises.
pub const ORPHAN_REFID: u32 = 0x7f00_0001;

/// The system variables (RFC 5905 §11.2 "System Process Variables").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SystemVariables {
    /// Leap indicator.
    pub leap: LeapIndicator,
    /// Stratum (16 when unsynchronised).
    pub stratum: u8,
    /// Precision, log2 seconds.
    pub precision: i8,
    /// Root delay, seconds.
    pub root_delay: f64,
    /// Root dispersion, seconds.
    pub root_dispersion: f64,
    /// Reference ID (IPv4 address of the system peer, a hash for IPv6,
    /// or a kiss code / orphan loopback address).
    pub refid: u32,
    /// Local time of the last clock update.
    pub reference_time: f64,
    /// System offset Θ from the combine algorithm, seconds.
    pub offset: f64,
    /// System jitter ϑ, seconds.
    pub jitter: f64,
    /// Identifier of the system peer, if synchronised to a source.
    pub sys_peer: Option<usize>,
}

impl SystemVariables {
    /// Unsynchronised start-up values.
    pub fn unsynchronized(precision: i8) -> Self {
        SystemVariables {
            leap: LeapIndicator::Unsynchronized,
            stratum: MAXSTRAT,
            precision,
            root_delay: 0.0,
            root_dispersion: 0.0,
            refid: 0,
            reference_time: 0.0,
            offset: 0.0,
            jitter: 0.0,
            sys_peer: None,
        }
    }

    /// Root synchronisation distance Λ = root delay / 2 + root dispersion.
    pub fn root_distance(&self) -> f64 {
        self.root_delay / 2.0 + self.root_dispersion
    }
}

/// A selectable source: the candidate data plus the reference ID we
/// would advertise when it becomes our system peer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Source {
    /// Mitigation inputs.
    pub candidate: Candidate,
    /// Reference ID naming this source (its IPv4 address, or hash).
    pub refid: u32,
}

/// Outcome of one run of the mitigation algorithms.
#[derive(Debug, Clone, PartialEq)]
pub enum Mitigation {
    /// A system peer was chosen; the discipline should be fed `offset`.
    Synchronized {
        /// Combined offset, seconds.
        offset: f64,
        /// System jitter, seconds.
        jitter: f64,
        /// Identifier (`Candidate::id`) of the system peer: the PPS
        /// driver when `pps_peer` says so.
        sys_peer: usize,
        /// The system peer is a PPS driver the PPS rule chose
        /// ([`crate::pps_peer`]; `ntpq -p` tally `o`).
        pps_peer: bool,
        /// Identifier of the `prefer` peer among the survivors, if one
        /// survived (the reference's `sys_prefer`; tally `*` even while
        /// the PPS peer is the system peer).
        prefer_peer: Option<usize>,
        /// The system peer's own offset, seconds.  While the discipline is
        /// still measuring the frequency (the clock may drift fast) this is
        /// the better input: the combined offset mixes in peers whose last
        /// update is older.
        peer_offset: f64,
        /// Identifiers of the survivors (never a PPS driver: those stay
        /// out of the cluster population).
        survivors: Vec<usize>,
        /// Identifiers of the falsetickers.
        falsetickers: Vec<usize>,
    },
    /// No source is selectable; the system is the orphan parent.
    Orphan,
    /// No source is selectable.
    Unsynchronized(SelectError),
}

/// Mitigation and the system variables.
#[derive(Debug, Clone)]
pub struct SystemProcess {
    params: SelectionParams,
    /// `tos orphan` stratum, if configured.
    orphan_stratum: Option<u8>,
    /// `tos orphanwait`, seconds.
    orphan_wait: f64,
    /// Our own tie-break key among orphan parents (the reference ID our
    /// address maps to); see [`SystemProcess::set_orphan_key`].
    orphan_key: u32,
    /// Local time at which sources were last selectable (or start-up).
    last_selectable: f64,
    vars: SystemVariables,
    /// Local clock frequency uncertainty, s/s (see `set_frequency_uncertainty`).
    freq_uncertainty: f64,
    /// Whether the local clock is disciplined (`enable ntp`); see
    /// [`SystemProcess::set_disciplined`].
    disciplined: bool,
    /// Orphan mode has synchronised this host (releases the leap
    /// indicator of an undisciplined clock).
    orphan_synchronised: bool,
    /// `Candidate::id`s of the PPS drivers (see [`crate::pps_peer`]).
    pps_ids: Vec<usize>,
}

impl SystemProcess {
    /// A new system process at local time `now`.
    pub fn new(
        params: SelectionParams,
        precision: i8,
        orphan_stratum: Option<u8>,
        now: f64,
    ) -> Self {
        SystemProcess {
            params,
            orphan_stratum: orphan_stratum.map(|s| s.clamp(1, MAXSTRAT - 1)),
            orphan_wait: ORPHAN_WAIT,
            orphan_key: u32::MAX,
            last_selectable: now,
            vars: SystemVariables::unsynchronized(precision),
            freq_uncertainty: PHI,
            disciplined: true,
            orphan_synchronised: false,
            pps_ids: Vec::new(),
        }
    }

    /// Say that the source with `Candidate::id` `id` is a PPS driver: the
    /// PPS rule of [`crate::pps_peer`] applies to it.
    pub fn add_pps_driver(&mut self, id: usize) {
        if !self.pps_ids.contains(&id) {
            self.pps_ids.push(id);
        }
    }

    /// Whether the local clock is disciplined (`disable ntp` says not).
    /// The leap indicator leaves "unsynchronised" when the discipline
    /// first adjusts the clock or when orphan mode makes this host the
    /// orphan parent (RFC 5905 `clock_update()`, the reference's timer):
    /// an undisciplined host is synchronised through its servers only
    /// once orphan mode has made it so — stratum, refid and root distance
    /// still follow the system peer.
    pub fn set_disciplined(&mut self, disciplined: bool) {
        self.disciplined = disciplined;
    }

    /// Tell mitigation how uncertain the local clock's frequency is (s/s,
    /// from [`crate::discipline::Discipline::frequency_uncertainty`]).
    /// RFC 5905 ages every peer's dispersion at PHI (15 PPM); while the
    /// frequency is still being measured the clock may drift much faster,
    /// so a peer whose last update is older has a wider correctness
    /// interval and less weight than one just updated.
    pub fn set_frequency_uncertainty(&mut self, u: f64) {
        self.freq_uncertainty = if u.is_finite() { u.max(0.0) } else { PHI };
    }

    /// Set our tie-break key among orphan parents: the reference ID our
    /// own address maps to.  When several servers of an orphan subnet act
    /// as orphan parent at the same stratum, each follows a parent with a
    /// lower key and only the lowest stays parent, so two parents never
    /// synchronise to each other.
    pub fn set_orphan_key(&mut self, key: u32) {
        self.orphan_key = key;
    }

    /// Override `tos orphanwait`, seconds.
    pub fn set_orphan_wait(&mut self, seconds: f64) {
        self.orphan_wait = seconds.max(0.0);
    }

    /// The system variables.
    pub fn variables(&self) -> &SystemVariables {
        &self.vars
    }

    /// The selection parameters.
    pub fn params(&self) -> &SelectionParams {
        &self.params
    }

    /// Run select → cluster → combine over `sources` at local time `now`
    /// and update the system variables from the chosen system peer
    /// (`clock_update()`).
    pub fn mitigate(&mut self, sources: &[Source], now: f64) -> Mitigation {
        let candidates: Vec<Candidate> = sources
            .iter()
            .map(|s| {
                let mut c = s.candidate;
                let extra = (self.freq_uncertainty - self.params.phi).max(0.0);
                c.dispersion += extra * (now - c.time).max(0.0);
                // In orphan mode sources deeper than the orphan stratum
                // (orphan children) are not selectable, and another
                // orphan parent only if its key is lower than ours.
                if let Some(o) = self.orphan_stratum {
                    if c.stratum > o || (c.stratum == o && s.refid >= self.orphan_key) {
                        c.reachable = false;
                    }
                }
                c
            })
            .collect();
        let selection = match select(&candidates, now, &self.params) {
            Ok(s) => s,
            Err(e) => return self.no_selection(e, now),
        };
        // The PPS driver survives the intersection but stays out of the
        // cluster population and the combine algorithm.
        let (pps, population) = split_pps(&candidates, &selection.truechimers, &self.pps_ids);
        let clustered = cluster(&candidates, &population, self.params.minclock);
        let survivors = &clustered.survivors;
        let prefer = prefer_survivor(&candidates, survivors);
        let previous = self.vars.sys_peer;
        let chosen = if !survivors.is_empty() && survivors.len() >= self.params.minsane {
            choose_system_peer(&candidates, survivors, previous)
        } else {
            None
        };
        // A prefer peer disciplines with its own offset; otherwise the
        // survivors' combined offset does.
        let chosen = chosen.map(|i| match prefer {
            Some(p) => (p, candidates[p].offset, candidates[p].jitter),
            None => {
                let c = combine_phi(
                    &candidates,
                    survivors,
                    i,
                    now,
                    self.params.mindist,
                    self.params.phi,
                );
                (i, c.offset, c.jitter)
            }
        });
        let pps_rule = PpsRule {
            system_offset: chosen.map_or(self.vars.offset, |(_, o, _)| o),
            prefer_survived: prefer.is_some(),
            has_system_peer: chosen.is_some(),
            minsane: self.params.minsane,
        };
        let (peer_idx, offset, jitter, pps_peer) = match (pps, chosen) {
            (Some(p), _) if pps_takes_over(pps_rule) => {
                (p, candidates[p].offset, candidates[p].jitter, true)
            }
            (_, Some((i, o, j))) => (i, o, j, false),
            (_, None) => {
                let e = SelectError::TooFewSurvivors {
                    found: survivors.len(),
                    required: self.params.minsane.max(1),
                };
                return self.no_selection(e, now);
            }
        };
        self.last_selectable = now;
        let peer = &candidates[peer_idx];
        // clock_update(): inherit from the system peer.
        self.vars.leap = if self.disciplined || self.orphan_synchronised {
            peer.leap
        } else {
            LeapIndicator::Unsynchronized
        };
        self.vars.stratum = peer.stratum.saturating_add(1).min(MAXSTRAT);
        self.vars.refid = sources[peer_idx].refid;
        // The time of the system peer's sample the clock was last updated
        // from (the reference's `sys_reftime = peer->dst`), not the time of
        // this mitigation: it stays put between updates.
        if previous != Some(peer.id) || peer.time > self.vars.reference_time {
            self.vars.reference_time = peer.time;
        }
        self.vars.root_delay = peer.root_delay + peer.delay;
        let dispersion = peer.root_dispersion
            + peer.dispersion
            + (peer.jitter.powi(2) + jitter.powi(2)).sqrt()
            + self.params.phi * (now - peer.time).max(0.0)
            + peer.offset.abs();
        self.vars.root_dispersion = dispersion.max(MINDISP);
        self.vars.offset = offset;
        self.vars.jitter = jitter;
        self.vars.sys_peer = Some(peer.id);
        Mitigation::Synchronized {
            offset,
            jitter,
            sys_peer: peer.id,
            pps_peer,
            prefer_peer: prefer.map(|i| candidates[i].id),
            peer_offset: peer.offset,
            survivors: survivors.iter().map(|&i| candidates[i].id).collect(),
            falsetickers: selection
                .falsetickers
                .iter()
                .map(|&i| candidates[i].id)
                .collect(),
        }
    }

    fn no_selection(&mut self, err: SelectError, now: f64) -> Mitigation {
        self.vars.sys_peer = None;
        if let Some(o) = self.orphan_stratum {
            if now - self.last_selectable >= self.orphan_wait {
                // Become the orphan parent: our own clock is the reference.
                self.vars.leap = LeapIndicator::NoWarning;
                self.orphan_synchronised = true;
                self.vars.stratum = o;
                self.vars.refid = ORPHAN_REFID;
                self.vars.root_delay = 0.0;
                self.vars.root_dispersion = MINDISP;
                self.vars.reference_time = now;
                self.vars.offset = 0.0;
                return Mitigation::Orphan;
            }
        }
        Mitigation::Unsynchronized(err)
    }

    /// Mark the system unsynchronised (e.g. after a step or when all
    /// sources are lost); `leap` and `stratum` return to the alarm values.
    pub fn set_unsynchronized(&mut self) {
        let p = self.vars.precision;
        self.vars = SystemVariables::unsynchronized(p);
    }

    /// Override the leap indicator (from a leap file or majority of
    /// sources, see [`crate::leap`]).
    pub fn set_leap(&mut self, leap: LeapIndicator) {
        if self.vars.stratum < MAXSTRAT {
            self.vars.leap = leap;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::tests::cand;

    fn src(id: usize, offset: f64) -> Source {
        Source {
            candidate: cand(id, offset, 0.001),
            refid: 0x0a00_0000 + id as u32,
        }
    }

    #[test]
    fn reference_time_is_the_sample_time_and_stays_between_updates() {
        let mut sp = SystemProcess::new(SelectionParams::default(), -20, None, 0.0);
        let sources = vec![src(0, 0.001), src(1, 0.0012), src(2, 0.0009)];
        let t = sources
            .iter()
            .map(|s| s.candidate.time)
            .fold(f64::MIN, f64::max);
        sp.mitigate(&sources, 10.0);
        let first = sp.variables().reference_time;
        assert!(first <= t, "a sample's time, not the mitigation's");
        sp.mitigate(&sources, 11.0);
        sp.mitigate(&sources, 12.0);
        assert_eq!(sp.variables().reference_time, first, "no new sample");
    }

    #[test]
    fn mitigation_sets_system_variables() {
        let mut sp = SystemProcess::new(SelectionParams::default(), -20, None, 0.0);
        assert_eq!(sp.variables().stratum, 16);
        let sources = vec![src(0, 0.001), src(1, 0.0012), src(2, 0.0009), src(3, 0.4)];
        let m = sp.mitigate(&sources, 10.0);
        let Mitigation::Synchronized {
            offset,
            sys_peer,
            falsetickers,
            survivors,
            ..
        } = m
        else {
            panic!("{m:?}")
        };
        assert_eq!(falsetickers, vec![3]);
        assert_eq!(survivors.len(), 3);
        assert!((offset - 0.00103).abs() < 0.0002);
        let v = sp.variables();
        assert_eq!(v.stratum, 3);
        assert_eq!(v.sys_peer, Some(sys_peer));
        assert_eq!(v.refid, 0x0a00_0000 + sys_peer as u32);
        assert!((v.root_delay - 0.020).abs() < 1e-12);
        assert!(v.root_dispersion > 0.015);
        assert_eq!(v.leap, LeapIndicator::NoWarning);
        assert!(v.root_distance() > 0.025);
    }

    #[test]
    fn tinker_dispersion_sets_root_dispersion_growth() {
        // The same source 100 s after its update, at 15 PPM and 500 PPM:
        // root dispersion differs by (500 − 15)e-6 · 100 s = 48.5 ms.
        let mut s = src(0, 0.0);
        s.candidate.time = 0.0;
        let mut a = SystemProcess::new(SelectionParams::default(), -20, None, 0.0);
        let params = SelectionParams {
            phi: 500e-6,
            ..SelectionParams::default()
        };
        let mut b = SystemProcess::new(params, -20, None, 0.0);
        assert!(matches!(
            a.mitigate(&[s], 100.0),
            Mitigation::Synchronized { .. }
        ));
        assert!(matches!(
            b.mitigate(&[s], 100.0),
            Mitigation::Synchronized { .. }
        ));
        let diff = b.variables().root_dispersion - a.variables().root_dispersion;
        assert!((diff - 0.0485).abs() < 1e-12, "{diff}");
    }

    #[test]
    fn an_undisciplined_clock_stays_unsynchronised_until_orphan_mode() {
        let sources = [src(0, 0.001), src(1, 0.0012), src(2, 0.0009)];
        let mut sp = SystemProcess::new(SelectionParams::default(), -20, None, 0.0);
        sp.set_disciplined(false);
        assert!(matches!(
            sp.mitigate(&sources, 10.0),
            Mitigation::Synchronized { .. }
        ));
        let v = sp.variables();
        assert_eq!((v.leap, v.stratum), (LeapIndicator::Unsynchronized, 3));
        // Once orphan mode has made it synchronised, it follows its peer.
        let mut sp = SystemProcess::new(SelectionParams::default(), -20, Some(10), 0.0);
        sp.set_disciplined(false);
        assert_eq!(sp.mitigate(&[], 300.0), Mitigation::Orphan);
        sp.mitigate(&sources, 400.0);
        let v = sp.variables();
        assert_eq!((v.leap, v.stratum), (LeapIndicator::NoWarning, 3));
    }

    #[test]
    fn orphan_mode_after_wait() {
        let mut sp = SystemProcess::new(SelectionParams::default(), -20, Some(10), 0.0);
        let m = sp.mitigate(&[], 100.0);
        assert_eq!(m, Mitigation::Unsynchronized(SelectError::NoCandidates));
        assert_eq!(sp.mitigate(&[], 300.0), Mitigation::Orphan);
        let v = sp.variables();
        assert_eq!(v.stratum, 10);
        assert_eq!(v.refid, ORPHAN_REFID);
        assert_eq!(v.leap, LeapIndicator::NoWarning);
        // A real source returns: synchronise to it again.
        let m = sp.mitigate(&[src(0, 0.0)], 400.0);
        assert!(matches!(m, Mitigation::Synchronized { .. }));
        assert_eq!(sp.variables().stratum, 3);
        // Sources deeper than the orphan stratum are not selectable.
        let mut deep = src(1, 0.0);
        deep.candidate.stratum = 12;
        let m = sp.mitigate(&[deep], 500.0);
        assert!(matches!(m, Mitigation::Unsynchronized(_)));
    }

    #[test]
    fn frequency_uncertainty_discounts_stale_peers() {
        // Three peers updated 64 s ago, one just now with a different
        // offset (the clock drifted 500 PPM meanwhile).
        let mut sources: Vec<Source> = (0..4).map(|i| src(i, 0.0)).collect();
        for s in sources.iter_mut().take(3) {
            s.candidate.time = 0.0;
        }
        sources[3].candidate.time = 64.0;
        sources[3].candidate.offset = -0.06;
        let mut sp = SystemProcess::new(SelectionParams::default(), -20, None, 0.0);
        let Mitigation::Synchronized { falsetickers, .. } = sp.mitigate(&sources, 64.0) else {
            panic!()
        };
        assert_eq!(falsetickers, vec![3]);
        // Keep all four through clustering to see the combine weights.
        let params = SelectionParams {
            minclock: 4,
            ..SelectionParams::default()
        };
        let mut sp = SystemProcess::new(params, -20, None, 0.0);
        sp.set_frequency_uncertainty(500e-6);
        let Mitigation::Synchronized {
            falsetickers,
            offset,
            ..
        } = sp.mitigate(&sources, 64.0)
        else {
            panic!()
        };
        assert!(falsetickers.is_empty());
        assert!(offset < -0.02, "fresh peer dominates: {offset}");
    }

    #[test]
    fn lowest_key_orphan_parent_wins() {
        // Two servers of an isolated subnet, both `tos orphan 10`.
        let mut a = SystemProcess::new(SelectionParams::default(), -20, Some(10), 0.0);
        let mut b = SystemProcess::new(SelectionParams::default(), -20, Some(10), 0.0);
        a.set_orphan_key(0x0a00_0001);
        b.set_orphan_key(0x0a00_0002);
        assert_eq!(a.mitigate(&[], 400.0), Mitigation::Orphan);
        assert_eq!(b.mitigate(&[], 400.0), Mitigation::Orphan);
        // Each now sees the other as a stratum-10 source.
        let as_seen = |key: u32| {
            let mut s = src(0, 0.0);
            s.candidate.stratum = 10;
            s.candidate.root_delay = 0.0;
            s.candidate.root_dispersion = MINDISP;
            s.refid = key;
            s
        };
        // b follows a (lower key) and becomes stratum 11; a stays parent.
        assert!(matches!(
            b.mitigate(&[as_seen(0x0a00_0001)], 401.0),
            Mitigation::Synchronized { .. }
        ));
        assert_eq!(b.variables().stratum, 11);
        assert_eq!(
            a.mitigate(&[as_seen(0x0a00_0002)], 401.0),
            Mitigation::Orphan
        );
        assert_eq!(a.variables().stratum, 10);
        assert_eq!(a.variables().refid, ORPHAN_REFID);
    }

    /// A PPS driver (id 9) 2 µs off with 1 µs jitter, as the PPS
    /// driver's samples give it (stratum 0, refid "PPS").
    fn pps(offset: f64) -> Source {
        let mut c = cand(9, offset, 1e-6);
        c.stratum = 0;
        c.delay = 0.0;
        c.dispersion = 1e-6;
        c.root_delay = 0.0;
        c.root_dispersion = 0.0;
        Source {
            candidate: c,
            refid: u32::from_be_bytes(*b"PPS\0"),
        }
    }

    /// An NMEA clock (id 8) with millisecond jitter, `prefer` if asked.
    fn nmea(offset: f64, prefer: bool) -> Source {
        let mut c = cand(8, offset, 2e-3);
        c.stratum = 0;
        c.delay = 0.0;
        c.root_delay = 0.0;
        c.root_dispersion = 0.0;
        c.prefer = prefer;
        Source {
            candidate: c,
            refid: u32::from_be_bytes(*b"GPS\0"),
        }
    }

    fn with_pps(params: SelectionParams) -> SystemProcess {
        let mut sp = SystemProcess::new(params, -20, None, 0.0);
        sp.add_pps_driver(9);
        sp
    }

    #[test]
    fn the_pps_driver_is_the_system_peer_beside_a_prefer_peer() {
        let mut sp = with_pps(SelectionParams::default());
        let sources = [nmea(0.0015, true), pps(2e-6), src(1, 0.001)];
        let m = sp.mitigate(&sources, 10.0);
        let Mitigation::Synchronized {
            offset,
            jitter,
            sys_peer,
            pps_peer,
            prefer_peer,
            survivors,
            ..
        } = m
        else {
            panic!("{m:?}")
        };
        assert_eq!((sys_peer, pps_peer, prefer_peer), (9, true, Some(8)));
        assert_eq!((offset, jitter), (2e-6, 1e-6), "the PPS clock's own");
        assert!(!survivors.contains(&9), "out of the cluster population");
        assert!(survivors.contains(&8));
        let v = sp.variables();
        assert_eq!((v.stratum, v.sys_peer), (1, Some(9)));
        assert_eq!(v.refid.to_be_bytes(), *b"PPS\0");
        assert!(v.root_dispersion < 0.0011, "{}", v.root_dispersion);
    }

    #[test]
    fn without_a_prefer_peer_the_pps_driver_is_not_used() {
        let mut sp = with_pps(SelectionParams::default());
        let sources = [nmea(0.0015, false), pps(2e-6), src(1, 0.001)];
        let Mitigation::Synchronized {
            sys_peer,
            pps_peer,
            prefer_peer,
            survivors,
            offset,
            ..
        } = sp.mitigate(&sources, 10.0)
        else {
            panic!()
        };
        assert!(!pps_peer);
        assert_ne!(sys_peer, 9);
        assert_eq!(prefer_peer, None);
        assert!(!survivors.contains(&9));
        assert!(offset > 0.0009, "combined without the PPS clock: {offset}");
        // Alone it names no second either, unless `tos minsane 0`.
        let m = sp.mitigate(&[pps(2e-6)], 20.0);
        assert!(matches!(m, Mitigation::Unsynchronized(_)), "{m:?}");
        let mut sp = with_pps(SelectionParams {
            minsane: 0,
            ..SelectionParams::default()
        });
        let m = sp.mitigate(&[pps(2e-6)], 20.0);
        assert!(
            matches!(
                m,
                Mitigation::Synchronized {
                    sys_peer: 9,
                    pps_peer: true,
                    ..
                }
            ),
            "{m:?}"
        );
    }

    #[test]
    fn a_prefer_peer_0_4_s_off_keeps_the_pps_driver_out() {
        let mut sp = with_pps(SelectionParams::default());
        // Wide enough for all three to be truechimers.
        let mut far = nmea(0.45, true);
        far.candidate.root_dispersion = 0.5;
        let mut other = src(1, 0.3);
        other.candidate.root_dispersion = 0.5;
        let Mitigation::Synchronized {
            sys_peer,
            pps_peer,
            offset,
            survivors,
            ..
        } = sp.mitigate(&[far, pps(2e-6), other], 10.0)
        else {
            panic!()
        };
        assert_eq!(
            survivors,
            vec![8, 1],
            "in merit order, without the PPS clock"
        );
        assert_eq!((sys_peer, pps_peer, offset), (8, false, 0.45));
    }

    #[test]
    fn a_prefer_peer_disciplines_with_its_own_offset() {
        let mut sp = SystemProcess::new(SelectionParams::default(), -20, None, 0.0);
        let mut sources = vec![src(0, 0.001), src(1, 0.0012), src(2, 0.0009)];
        sources[1].candidate.prefer = true;
        let Mitigation::Synchronized {
            offset,
            sys_peer,
            prefer_peer,
            pps_peer,
            ..
        } = sp.mitigate(&sources, 10.0)
        else {
            panic!()
        };
        assert_eq!((sys_peer, prefer_peer, pps_peer), (1, Some(1), false));
        assert_eq!(offset, 0.0012, "not the combined offset");
    }

    #[test]
    fn a_falseticking_pps_driver_is_not_used() {
        let mut sp = with_pps(SelectionParams::default());
        let sources = [nmea(0.0015, true), pps(0.3), src(1, 0.001), src(2, 0.0012)];
        let Mitigation::Synchronized {
            sys_peer,
            pps_peer,
            falsetickers,
            ..
        } = sp.mitigate(&sources, 10.0)
        else {
            panic!()
        };
        assert_eq!((sys_peer, pps_peer), (8, false));
        assert_eq!(falsetickers, vec![9]);
    }

    #[test]
    fn no_orphan_without_tos_orphan() {
        let mut sp = SystemProcess::new(SelectionParams::default(), -20, None, 0.0);
        assert!(matches!(
            sp.mitigate(&[], 1e6),
            Mitigation::Unsynchronized(_)
        ));
        assert_eq!(sp.variables().stratum, 16);
    }
}
