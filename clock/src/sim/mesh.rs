//! Multi-host simulation: several simulated NTP hosts, each running the
//! whole per-association → mitigation → discipline stack over its own
//! [`SimClock`], exchanging packets with simulated servers and with each
//! other in client/server (RFC 5905 modes 3/4), symmetric active (mode 1,
//! §8 on-wire protocol with origin/receive echo) and broadcast (mode 5,
//! with the delay calibration of §8) associations.  Used for orphan mode
//! (`tos orphan`, §11.2.2), symmetric peers and broadcast clients.
//! Deterministic for a given seed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::constants::{MAXSTRAT, PHI};
use crate::controller::{ClockController, LoopMode};
use crate::discipline::{Decision, Discipline, DisciplineConfig};
use crate::filter::{Estimator, FilterUpdate};
use crate::peer::{PeerState, SourceInfo};
use crate::sample::{BroadcastDelay, Sample};
use crate::select::{LeapIndicator, SelectionParams};
use crate::sim::clock::{Oscillator, SimClock};
use crate::sim::network::Path;
use crate::sim::scenario::ServerSpec;
use crate::system::{Mitigation, Source, SystemProcess};

/// Server processing time between receive and transmit, seconds.
const TURNAROUND: f64 = 20e-6;
/// Precision of every simulated host, log2 seconds.
const PRECISION_LOG2: i8 = -20;
/// Packets in a broadcast client's calibration volley.
const VOLLEY: usize = 4;
/// Spacing of the volley's exchanges, seconds.
const VOLLEY_SPACING: f64 = 2.0;

/// What an association talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A simulated reference server (index into [`MeshScenario::servers`]).
    Server(usize),
    /// Another simulated host (index into [`MeshScenario::hosts`]).
    Host(usize),
}

/// Association mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssocMode {
    /// We poll, the target answers at once (`server`, modes 3/4).
    Client,
    /// Symmetric active (`peer`, mode 1): both hosts send on their own
    /// poll schedule, each packet echoing the other's last transmit time
    /// and our receive time of it.  The target host needs the reverse
    /// association too.
    Symmetric,
    /// Broadcast client (`broadcastclient`, mode 5): the target broadcasts
    /// every `2^minpoll` seconds.  With `calibrate` the client runs a
    /// client/server volley when the first broadcast arrives and derives
    /// the path delay from it; without, it assumes `broadcastdelay`
    /// ([`crate::constants::BDELAY`]).
    BroadcastClient {
        /// Calibrate the delay with a unicast volley.
        calibrate: bool,
    },
}

/// One configured association of a host.
#[derive(Debug, Clone, PartialEq)]
pub struct AssocSpec {
    /// The host that owns it.
    pub host: usize,
    /// What it talks to.
    pub target: Target,
    /// How.
    pub mode: AssocMode,
    /// Path from `host` to the target ("outbound" is host → target).
    pub path: Path,
}

/// A simulated host running the full stack.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSpec {
    /// Its oscillator.
    pub oscillator: Oscillator,
    /// Initial phase error (local − true), seconds.
    pub initial_offset: f64,
    /// Drift-file frequency, s/s.
    pub drift: Option<f64>,
    /// `tos orphan` stratum.
    pub orphan: Option<u8>,
    /// `tos orphanwait`, seconds.
    pub orphan_wait: f64,
    /// The reference ID its address maps to (used by others to name it,
    /// for loop detection and as the orphan tie-break key).
    pub address: u32,
    /// Discipline configuration.
    pub discipline: DisciplineConfig,
    /// `tos` parameters.
    pub selection: SelectionParams,
    /// minpoll / maxpoll of its associations.
    pub minpoll: i8,
    /// See `minpoll`.
    pub maxpoll: i8,
}

impl Default for HostSpec {
    fn default() -> Self {
        HostSpec {
            oscillator: Oscillator::default(),
            initial_offset: 0.0,
            drift: None,
            orphan: None,
            orphan_wait: crate::constants::ORPHAN_WAIT,
            address: 0x0a00_0001,
            discipline: DisciplineConfig::default(),
            selection: SelectionParams::default(),
            minpoll: 6,
            maxpoll: 10,
        }
    }
}

/// A multi-host scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshScenario {
    /// Reference servers (their `path` is unused: paths belong to the
    /// associations).
    pub servers: Vec<ServerSpec>,
    /// Hosts.
    pub hosts: Vec<HostSpec>,
    /// Associations.
    pub assocs: Vec<AssocSpec>,
    /// Simulated seconds.
    pub duration: f64,
    /// RNG seed.
    pub seed: u64,
    /// Record a [`MeshSnapshot`] every this many seconds.
    pub record_every: f64,
}

/// What one host looked like at a recorded instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostSnapshot {
    /// Phase error (local − true), seconds.
    pub phase: f64,
    /// Stratum it advertises (16: unsynchronised).
    pub stratum: u8,
    /// Reference ID it advertises.
    pub refid: u32,
    /// Target of its system peer, if synchronised to a source.
    pub sys_peer: Option<Target>,
    /// Whether it is acting as orphan parent.
    pub orphan_parent: bool,
}

/// All hosts at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshSnapshot {
    /// True time, seconds.
    pub time: f64,
    /// One entry per host.
    pub hosts: Vec<HostSnapshot>,
}

/// Results of a multi-host run.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshResult {
    /// Periodic snapshots.
    pub snapshots: Vec<MeshSnapshot>,
    /// Steps applied per host.
    pub steps: Vec<u32>,
    /// Round-trip delay each broadcast client association settled on,
    /// seconds (index: association; `None` for other modes).
    pub broadcast_delay: Vec<Option<f64>>,
    /// Valid samples each association produced.
    pub samples: Vec<u32>,
}

impl MeshResult {
    /// Snapshots from true time `t0` on.
    pub fn after(&self, t0: f64) -> impl Iterator<Item = &MeshSnapshot> {
        self.snapshots.iter().filter(move |s| s.time >= t0)
    }

    /// RMS phase of `host` from `t0` on, seconds.
    pub fn rms_phase(&self, host: usize, t0: f64) -> f64 {
        let v: Vec<f64> = self.after(t0).map(|s| s.hosts[host].phase).collect();
        (v.iter().map(|p| p * p).sum::<f64>() / v.len().max(1) as f64).sqrt()
    }

    /// Mean phase of `host` from `t0` on, seconds.
    pub fn mean_phase(&self, host: usize, t0: f64) -> f64 {
        let v: Vec<f64> = self.after(t0).map(|s| s.hosts[host].phase).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }

    /// Largest |phase(a) − phase(b)| from `t0` on, seconds.
    pub fn max_separation(&self, a: usize, b: usize, t0: f64) -> f64 {
        self.after(t0)
            .map(|s| (s.hosts[a].phase - s.hosts[b].phase).abs())
            .fold(0.0, f64::max)
    }
}

/// Per-association run-time state.
#[derive(Debug, Clone)]
struct Assoc {
    spec: usize,
    peer: PeerState,
    /// Symmetric: our last transmit timestamp not yet echoed back.
    aorg: Option<f64>,
    /// Symmetric: the peer's last transmit timestamp (echoed as origin).
    peer_xmt: Option<f64>,
    /// Symmetric: our receive time of it (echoed as receive timestamp).
    peer_rec: f64,
    /// Broadcast: next true time the target broadcasts.
    next_broadcast: f64,
    /// Broadcast: delay estimate.
    bdelay: BroadcastDelay,
    /// Broadcast delay calibration in progress; `None` once done or
    /// not wanted.
    calibration: Option<Calibration>,
    /// Valid samples produced.
    samples: u32,
}

/// A broadcast client's delay calibration.
#[derive(Debug, Clone, Default)]
struct Calibration {
    /// (T3, T4) of the first broadcast received.
    first: Option<(f64, f64)>,
    /// The volley's (offset, delay) pairs (NaN offset: lost).
    volley: Vec<(f64, f64)>,
    /// True time of the next volley exchange.
    next: f64,
}

/// Per-host run-time state.
#[derive(Debug, Clone)]
struct Host {
    clock: SimClock,
    disc: Discipline,
    ctl: ClockController,
    system: SystemProcess,
    /// Indices into the association table.
    assocs: Vec<usize>,
    last_fed: Option<f64>,
    synchronized: bool,
    orphan_parent: bool,
    phi: f64,
}

/// What a packet header says about its sender.
#[derive(Debug, Clone, Copy)]
struct Header {
    info: SourceInfo,
    refid: u32,
    precision: f64,
}

impl Host {
    /// Header fields this host sends at true time `t`: its system
    /// variables while synchronised or orphan parent, else LI=3/stratum 16.
    fn header(&self, t: f64) -> Header {
        let v = self.system.variables();
        let live = self.synchronized || self.orphan_parent;
        let local = self.clock.read_at(t);
        Header {
            info: SourceInfo {
                stratum: if live { v.stratum } else { MAXSTRAT },
                leap: if live {
                    v.leap
                } else {
                    LeapIndicator::Unsynchronized
                },
                root_delay: v.root_delay,
                root_dispersion: v.root_dispersion + self.phi * (local - v.reference_time).max(0.0),
                loops_to_us: false,
            },
            refid: v.refid,
            precision: 2f64.powi(PRECISION_LOG2 as i32),
        }
    }
}

fn server_header(s: &ServerSpec) -> Header {
    Header {
        info: SourceInfo {
            stratum: s.stratum,
            leap: LeapIndicator::NoWarning,
            root_delay: s.root_delay,
            root_dispersion: s.root_dispersion,
            loops_to_us: false,
        },
        refid: 0x4750_5300, // "GPS\0"
        precision: 2f64.powi(s.precision as i32),
    }
}

/// The reference ID that names `target` in our system variables.
fn target_refid(sc: &MeshScenario, target: Target) -> u32 {
    match target {
        Target::Server(i) => 0xc000_0200 + i as u32, // 192.0.2.x
        Target::Host(h) => sc.hosts[h].address,
    }
}

struct Mesh<'a> {
    sc: &'a MeshScenario,
    hosts: Vec<Host>,
    assocs: Vec<Assoc>,
    rng: ChaCha8Rng,
}

impl Mesh<'_> {
    fn server_up(&self, i: usize, at: f64) -> bool {
        !self.sc.servers[i]
            .outages
            .iter()
            .any(|&(s, e)| at >= s && at < e)
    }

    /// A sample for association `a` arrived at true time `t`: filter,
    /// mitigation and discipline of its host.
    fn deliver(&mut self, a: usize, sample: Sample, header: Header, t: f64) {
        let sc = self.sc;
        let spec = &sc.assocs[self.assocs[a].spec];
        let h = spec.host;
        let me = sc.hosts[h].address;
        let mut info = header.info;
        info.loops_to_us = header.refid == me;
        let host = &mut self.hosts[h];
        let uncertainty = host.disc.frequency_uncertainty();
        let assoc = &mut self.assocs[a];
        assoc.samples += 1;
        let update = assoc.peer.on_sample(sample, info, t, uncertainty);
        if !matches!(update, FilterUpdate::Updated(_)) {
            return;
        }
        let sources: Vec<Source> = host
            .assocs
            .iter()
            .filter_map(|&i| {
                let s = &self.assocs[i];
                Some(Source {
                    candidate: s.peer.candidate()?,
                    refid: target_refid(sc, sc.assocs[s.spec].target),
                })
            })
            .collect();
        host.system.set_frequency_uncertainty(uncertainty);
        match host.system.mitigate(&sources, t) {
            Mitigation::Synchronized {
                offset,
                sys_peer,
                peer_offset,
                ..
            } => {
                host.synchronized = true;
                host.orphan_parent = false;
                let peer_assoc = host.assocs[sys_peer];
                let out = self.assocs[peer_assoc].peer.filter().output();
                let peer_time = out.map(|o| o.time);
                if peer_time > host.last_fed {
                    host.last_fed = peer_time;
                    let (offset, when) = match peer_time {
                        Some(pt) if uncertainty > PHI => (peer_offset, pt),
                        _ => (offset, t),
                    };
                    let before = host.disc.frequency();
                    let delay = out.map_or(0.0, |o| o.delay);
                    let decision = host.disc.update_with_delay(offset, delay, when);
                    if !matches!(decision, Decision::Panic { .. }) {
                        let stepped = host
                            .ctl
                            .apply(&mut host.clock, &mut host.disc, decision)
                            .unwrap_or(0.0);
                        let dfreq = host.disc.frequency() - before;
                        for &i in &host.assocs {
                            if stepped != 0.0 {
                                self.assocs[i].peer.on_step();
                            } else {
                                self.assocs[i].peer.on_frequency_change(dfreq, t);
                            }
                        }
                    }
                }
            }
            Mitigation::Orphan => {
                host.synchronized = false;
                host.orphan_parent = true;
            }
            Mitigation::Unsynchronized(_) => {
                host.synchronized = false;
                host.orphan_parent = false;
            }
        }
        let poll = host.disc.poll();
        for &i in &host.assocs {
            self.assocs[i].peer.update_poll(poll, t);
        }
    }

    /// Client/server exchange of association `a` started at true time
    /// `t`: (sample, header) unless lost or unanswered.
    fn exchange(&mut self, a: usize, t: f64) -> Option<(Sample, Header)> {
        let sc = self.sc;
        let spec = &sc.assocs[self.assocs[a].spec];
        let h = spec.host;
        let d1 = spec.path.delay(t, true, &mut self.rng)?;
        let (t2, header) = match spec.target {
            Target::Server(i) => {
                if !self.server_up(i, t + d1) {
                    return None;
                }
                let s = &sc.servers[i];
                (t + d1 + s.offset, server_header(s))
            }
            Target::Host(o) => {
                let peer = &self.hosts[o];
                (peer.clock.read_at(t + d1), peer.header(t + d1))
            }
        };
        let d2 = spec.path.delay(t + d1, false, &mut self.rng)?;
        let clock = &self.hosts[h].clock;
        let t1 = clock.read_at(t);
        let t4 = clock.read_at(t + d1 + TURNAROUND + d2);
        let mut s = Sample::from_timestamps_phi(
            t1,
            t2,
            t2 + TURNAROUND,
            t4,
            header.precision + 2f64.powi(PRECISION_LOG2 as i32),
            self.hosts[h].phi,
        );
        s.time = t;
        Some((s, header))
    }

    /// Symmetric association `a` sends a packet at true time `t` to the
    /// reverse association of its target host.
    fn symmetric_send(&mut self, a: usize, t: f64) {
        let sc = self.sc;
        let spec = &sc.assocs[self.assocs[a].spec];
        let (h, Target::Host(o)) = (spec.host, spec.target) else {
            return;
        };
        let xmt = self.hosts[h].clock.read_at(t);
        let (org, rec) = (self.assocs[a].peer_xmt, self.assocs[a].peer_rec);
        self.assocs[a].aorg = Some(xmt);
        let header = self.hosts[h].header(t);
        let Some(d) = spec.path.delay(t, true, &mut self.rng) else {
            return;
        };
        // The target's association for us.
        let Some(&b) = self.hosts[o].assocs.iter().find(|&&i| {
            let s = &sc.assocs[self.assocs[i].spec];
            s.target == Target::Host(h) && s.mode == AssocMode::Symmetric
        }) else {
            return;
        };
        let dst = self.hosts[o].clock.read_at(t + d);
        let valid = org.is_some() && org == self.assocs[b].aorg;
        self.assocs[b].peer_xmt = Some(xmt);
        self.assocs[b].peer_rec = dst;
        if !valid {
            return;
        }
        // T1 = org (its transmit), T2 = rec (our receive of it),
        // T3 = xmt (our transmit), T4 = dst: RFC 5905 §8.
        let t1 = org.unwrap_or(0.0);
        self.assocs[b].aorg = None; // each origin is used once
        let mut s = Sample::from_timestamps_phi(
            t1,
            rec,
            xmt,
            dst,
            header.precision + 2f64.powi(PRECISION_LOG2 as i32),
            self.hosts[o].phi,
        );
        s.time = t + d;
        self.deliver(b, s, header, t + d);
    }

    /// The target of broadcast client association `a` broadcasts at true
    /// time `t`.
    fn broadcast(&mut self, a: usize, t: f64) {
        let sc = self.sc;
        let spec = &sc.assocs[self.assocs[a].spec];
        let h = spec.host;
        let (t3, header) = match spec.target {
            Target::Server(i) => {
                if !self.server_up(i, t) {
                    return;
                }
                let s = &sc.servers[i];
                (t + s.offset, server_header(s))
            }
            Target::Host(o) => {
                let p = &self.hosts[o];
                if !(p.synchronized || p.orphan_parent) {
                    return; // ntpd broadcasts only when synchronised
                }
                (p.clock.read_at(t), p.header(t))
            }
        };
        let Some(d) = spec.path.delay(t, false, &mut self.rng) else {
            return;
        };
        let t4 = self.hosts[h].clock.read_at(t + d);
        if let Some(c) = self.assocs[a].calibration.as_mut() {
            if c.first.is_none() {
                c.first = Some((t3, t4));
                c.volley.clear();
                c.next = t;
            }
            return; // not used until calibrated
        }
        let precision = header.precision + 2f64.powi(PRECISION_LOG2 as i32);
        let bdelay = self.assocs[a].bdelay.delay();
        let mut s = Sample::broadcast_phi(t3, t4, bdelay, precision, self.hosts[h].phi);
        s.time = t + d;
        self.assocs[a].peer.on_poll_sent(t + d);
        self.deliver(a, s, header, t + d);
    }

    /// Broadcast calibration volley step for association `a` at `t`:
    /// one client/server exchange, or, after [`VOLLEY`] of them,
    /// calibrate from the lowest-delay one and the first broadcast.
    fn calibration_step(&mut self, a: usize, t: f64) {
        let done = match &self.assocs[a].calibration {
            Some(c) if c.first.is_some() && t >= c.next => c.volley.len() >= VOLLEY,
            _ => return,
        };
        if !done {
            let got = self.exchange(a, t).map(|(s, _)| (s.offset, s.delay));
            if let Some(c) = self.assocs[a].calibration.as_mut() {
                c.volley.push(got.unwrap_or((f64::NAN, f64::INFINITY)));
                c.next = t + VOLLEY_SPACING;
            }
            return;
        }
        let Some(c) = self.assocs[a].calibration.take() else {
            return;
        };
        let best = c
            .volley
            .iter()
            .filter(|p| p.0.is_finite())
            .min_by(|x, y| x.1.total_cmp(&y.1))
            .copied();
        match (best, c.first) {
            (Some((theta, _)), Some((t3, t4))) => self.assocs[a].bdelay.calibrate(theta, t3, t4),
            // Every volley packet lost: start again with the next broadcast.
            _ => self.assocs[a].calibration = Some(Calibration::default()),
        }
    }
}

/// Run a multi-host scenario.
pub fn run_mesh(sc: &MeshScenario) -> MeshResult {
    let mut hosts: Vec<Host> = sc
        .hosts
        .iter()
        .map(|hs| {
            let mut system = SystemProcess::new(hs.selection, PRECISION_LOG2, hs.orphan, 0.0);
            system.set_orphan_key(hs.address);
            system.set_orphan_wait(hs.orphan_wait);
            // The loop's poll bounds are the associations' (as the daemon
            // sets them): RFC 5905 §A.5.5.6 keeps the time constant within
            // [minpoll, maxpoll], so pinned 64 s polls mean a 64 s time
            // constant, not the 1024 s of the default bounds.
            let cfg = DisciplineConfig {
                minpoll: hs.minpoll,
                maxpoll: hs.maxpoll,
                ..hs.discipline
            };
            let disc = Discipline::new(cfg, hs.drift, 0.0);
            let mut clock = SimClock::new(hs.oscillator, 0.0, hs.initial_offset);
            let mut ctl = ClockController::new(LoopMode::Daemon, true);
            let _ = ctl.start(&mut clock, &disc);
            Host {
                clock,
                disc,
                ctl,
                system,
                assocs: Vec::new(),
                last_fed: None,
                synchronized: false,
                orphan_parent: false,
                phi: hs.selection.phi,
            }
        })
        .collect();
    let mut assocs = Vec::new();
    for (i, spec) in sc.assocs.iter().enumerate() {
        let Some(host) = hosts.get_mut(spec.host) else {
            continue;
        };
        let hs = &sc.hosts[spec.host];
        let local_id = host.assocs.len();
        let start = 1.0 + i as f64 * 0.37;
        let iburst = spec.mode == AssocMode::Client;
        let mut peer = PeerState::new(
            local_id,
            hs.minpoll,
            hs.maxpoll,
            iburst,
            2f64.powi(PRECISION_LOG2 as i32),
            start,
        );
        peer.set_estimator(Estimator::DelayWeighted);
        peer.set_phi(hs.selection.phi);
        let calibration = match spec.mode {
            AssocMode::BroadcastClient { calibrate: true } => Some(Calibration::default()),
            _ => None,
        };
        host.assocs.push(assocs.len());
        assocs.push(Assoc {
            spec: i,
            peer,
            aorg: None,
            peer_xmt: None,
            peer_rec: 0.0,
            next_broadcast: start,
            bdelay: BroadcastDelay::default(),
            calibration,
            samples: 0,
        });
    }
    let mut mesh = Mesh {
        sc,
        hosts,
        assocs,
        rng: ChaCha8Rng::seed_from_u64(sc.seed),
    };
    let mut result = MeshResult {
        snapshots: Vec::new(),
        steps: Vec::new(),
        broadcast_delay: Vec::new(),
        samples: Vec::new(),
    };
    let steps = sc.duration.max(0.0).ceil() as u64;
    let record = sc.record_every.max(1.0);
    let mut next_record = 0.0;
    for step in 0..steps {
        let t = step as f64;
        for a in 0..mesh.assocs.len() {
            let spec = &sc.assocs[mesh.assocs[a].spec];
            match spec.mode {
                AssocMode::Client => {
                    if mesh.assocs[a].peer.poll_due(t) {
                        mesh.assocs[a].peer.on_poll_sent(t);
                        if let Some((s, header)) = mesh.exchange(a, t) {
                            mesh.deliver(a, s, header, t);
                        }
                    }
                }
                AssocMode::Symmetric => {
                    if mesh.assocs[a].peer.poll_due(t) {
                        mesh.assocs[a].peer.on_poll_sent(t);
                        mesh.symmetric_send(a, t);
                    }
                }
                AssocMode::BroadcastClient { .. } => {
                    if t >= mesh.assocs[a].next_broadcast {
                        let interval = 2f64.powi(sc.hosts[spec.host].minpoll as i32);
                        mesh.assocs[a].next_broadcast += interval;
                        mesh.broadcast(a, t);
                    }
                    mesh.calibration_step(a, t);
                }
            }
        }
        for h in 0..mesh.hosts.len() {
            let host = &mut mesh.hosts[h];
            let slewed = host
                .ctl
                .tick(&mut host.clock, &mut host.disc, 1.0)
                .unwrap_or(0.0);
            for &i in &host.assocs {
                mesh.assocs[i].peer.on_slew(slewed);
            }
            host.clock.advance(1.0, &mut mesh.rng);
        }
        let now = t + 1.0;
        if now >= next_record {
            next_record += record;
            let hosts = mesh
                .hosts
                .iter()
                .map(|host| {
                    let v = host.system.variables();
                    let live = host.synchronized || host.orphan_parent;
                    HostSnapshot {
                        phase: host.clock.phase(),
                        stratum: if live { v.stratum } else { MAXSTRAT },
                        refid: v.refid,
                        sys_peer: v
                            .sys_peer
                            .filter(|_| host.synchronized)
                            .and_then(|p| host.assocs.get(p))
                            .map(|&i| sc.assocs[mesh.assocs[i].spec].target),
                        orphan_parent: host.orphan_parent,
                    }
                })
                .collect();
            result.snapshots.push(MeshSnapshot { time: now, hosts });
        }
    }
    result.steps = mesh.hosts.iter().map(|h| h.ctl.steps()).collect();
    result.broadcast_delay = mesh
        .assocs
        .iter()
        .map(|a| match sc.assocs[a.spec].mode {
            AssocMode::BroadcastClient { .. } => Some(a.bdelay.delay()),
            _ => None,
        })
        .collect();
    result.samples = mesh.assocs.iter().map(|a| a.samples).collect();
    result
}
