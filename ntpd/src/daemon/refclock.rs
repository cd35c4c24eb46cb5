//! Reference clocks in the daemon (reference `refclock.html`): the
//! configured `server 127.127.t.u` lines become associations of the
//! [`Core`] like network sources, while their drivers live outside it, in
//! a [`RefclockSet`] the event loop owns. Once a second the loop asks each
//! driver for a sample ([`RefclockSet::poll`]) and hands what it gets to
//! the core ([`Core::refclock_sample`]); at each poll of the association
//! the core puts the median of those samples into its clock filter
//! (`assoc::refclock`), so selection, clustering and the discipline treat
//! a clock like any other source.

use std::net::{IpAddr, SocketAddr};

use config::conf::{FudgeLine, Origin, RefclockServer};
use proto::ReferenceId;
use refclock::table::Attach;
use refclock::{ClockStatus, Driver, DriverInfo, Fudge, RefSample, RefclockAddress, WallTime};

use super::{Core, Running};
use crate::assoc::refclock::{ClockIdentity, PendingSamples};
use crate::assoc::{AssocConfig, Association, HostMode};

/// The reference clock lines of the configuration.
#[derive(Debug, Clone, Default)]
pub struct RefclockSettings {
    /// `server 127.127.t.u …`, in file order.
    pub servers: Vec<(RefclockServer, Origin)>,
    /// `fudge 127.127.t.u …`, in file order.
    pub fudges: Vec<FudgeLine>,
}

impl RefclockSettings {
    /// The fudge factors of clock `a`: every `fudge` line for it, a later
    /// one overriding what it sets.
    pub fn fudge_of(&self, a: RefclockAddress) -> Fudge {
        self.fudges
            .iter()
            .filter(|f| (f.driver_type, f.unit) == (a.driver_type, a.unit))
            .fold(Fudge::default(), |acc, f| {
                acc.merged(&Fudge {
                    time1: f.time1,
                    time2: f.time2,
                    stratum: f.stratum,
                    refid: f.refid.as_deref().map(Fudge::refid_from),
                    flags: f.flags,
                })
            })
    }
}

impl RefclockSettings {
    /// Each clock's (minpoll, maxpoll), as its association polls
    /// ([`clock_config`]).
    pub fn poll_bounds(&self) -> impl Iterator<Item = (i8, i8)> + '_ {
        self.servers.iter().map(|(s, _)| {
            let a = RefclockAddress {
                driver_type: s.driver_type,
                unit: s.unit,
            };
            let cfg = clock_config(a, s);
            (cfg.minpoll, cfg.maxpoll)
        })
    }
}

/// A reference clock association inside the core.
#[derive(Debug, Clone)]
pub struct ClockState {
    /// The association's ID.
    pub id: u16,
    /// Type and unit.
    pub address: RefclockAddress,
    /// Stratum, refid and precision after `fudge`.
    pub identity: ClockIdentity,
    /// Samples since the association's last poll.
    pub pending: PendingSamples,
    /// LOCAL only: monotonic time before which it is not selectable
    /// (start-up plus `tos orphanwait`).
    pub held_until: Option<f64>,
    /// The fudge factors as configured (`ntpq -c cv` shows those set).
    pub fudge: Fudge,
    /// The driver's description (`device`).
    pub description: &'static str,
    /// The driver's report, copied once a second.
    pub status: ClockStatus,
    /// Polls of the association (`poll`).
    pub polls: u64,
    /// Polls without a sample since the previous one (`noreply`).
    pub noreply: u64,
    /// The clock status code of the last poll (reference `CEVNT_*`: 0
    /// nominal, 1 no reply).
    pub current: u8,
    /// The last non-nominal code.
    pub last_event: u8,
    /// `status.codes` when a timecode was last written to `clockstats`.
    pub recorded: u64,
}

/// The association defaults of a clock: the reference polls a reference
/// clock every `minpoll` (default 6, 64 s) and never backs off.
fn clock_config(a: RefclockAddress, s: &RefclockServer) -> AssocConfig {
    let remote = SocketAddr::new(IpAddr::V4(a.to_ipv4()), 123);
    let mut cfg = AssocConfig::new(remote, HostMode::Client);
    let o = &s.options;
    cfg.minpoll = o
        .minpoll
        .map_or(clock::constants::DEFAULT_MINPOLL, |v| v as i8);
    cfg.maxpoll = o.maxpoll.map_or(cfg.minpoll, |v| v as i8).max(cfg.minpoll);
    cfg.prefer = o.prefer;
    cfg.noselect = o.noselect;
    cfg.truechimer = o.truechimer;
    cfg
}

impl Core {
    /// Mobilise the association of clock `s` whose driver says `info`,
    /// with `fudge` applied; its ID. A LOCAL clock waits `orphan_wait`
    /// seconds (`tos orphanwait`, default 300) before it can be selected.
    pub fn mobilize_refclock(
        &mut self,
        s: &RefclockServer,
        info: DriverInfo,
        fudge: &Fudge,
        orphan_wait: f64,
    ) -> Option<u16> {
        let address = RefclockAddress {
            driver_type: s.driver_type,
            unit: s.unit,
        };
        let cfg = clock_config(address, s);
        let assocs = &self.assocs;
        let id = self
            .next_id
            .allocate(|id| assocs.iter().any(|r| r.assoc.id == id))?;
        let precision = 2f64.powi(i32::from(self.sys.precision));
        if address.driver_type == PPS_TYPE {
            self.sync.add_pps_driver(id);
        }
        let mut assoc = Association::new(id, cfg, precision, self.env.monotonic());
        assoc.set_phi(self.sync.params().phi);
        self.assocs.push(Running {
            assoc,
            socket: None,
            our_refid: ReferenceId(0),
            manycast_parent: None,
            xleave: 0.0,
        });
        self.refclocks.push(ClockState {
            id,
            address,
            identity: ClockIdentity {
                stratum: fudge.stratum.unwrap_or(info.stratum).min(15),
                refid: fudge.refid.unwrap_or(info.refid),
                // As the reference's `rv` shows it: the driver's (NMEA
                // −9), but the system's for LOCAL, the system clock itself.
                precision: if address.driver_type == 1 {
                    self.sys.precision
                } else {
                    info.precision
                },
            },
            pending: PendingSamples::default(),
            held_until: (address.driver_type == 1).then_some(self.started + orphan_wait),
            fudge: *fudge,
            description: info.description,
            status: ClockStatus::default(),
            polls: 0,
            noreply: 0,
            current: 0,
            last_event: 0,
            recorded: 0,
        });
        Some(id)
    }

    /// A driver's sample for association `id` (the one new input of the
    /// core for reference clocks).
    pub fn refclock_sample(&mut self, id: u16, s: RefSample) {
        if let Some(c) = self.refclocks.iter_mut().find(|c| c.id == id) {
            // At most one poll interval of samples is kept (a 2^17 s poll
            // at one a second would otherwise grow without bound).
            if c.pending.0.len() < 1 << 10 {
                c.pending.0.push(s);
            }
        }
    }

    /// The reference's rule for the LOCAL clock (`clock_select()`, the
    /// `REFCLK_LOCALCLOCK` case): not selectable until `orphanwait` after
    /// start-up, and afterwards only when no other source is a candidate
    /// (a fallback, never competing with real sources).
    pub(super) fn hold_local_clocks(&self, sources: &mut Vec<clock::system::Source>, now: f64) {
        let local: Vec<(usize, bool)> = self
            .refclocks
            .iter()
            .filter_map(|c| c.held_until.map(|t| (usize::from(c.id), now < t)))
            .collect();
        if local.is_empty() {
            return;
        }
        let others = sources
            .iter()
            .any(|s| !local.iter().any(|(id, _)| *id == s.candidate.id));
        sources.retain(
            |s| match local.iter().find(|(id, _)| *id == s.candidate.id) {
                Some((_, held)) => !held && !others,
                None => true,
            },
        );
    }

    /// The polls of reference clock associations that are due at `now`:
    /// the filter update, the `poll`/`noreply` counters, and the
    /// `clockstats` line of a timecode received since the previous poll
    /// (the reference drivers' `record_clock_stats()` at their poll).
    pub(super) fn refclock_polls(&mut self, now: f64) {
        let pps_open = refclock::pps::prefer_gate(self.prefer_offset());
        let precision = 2f64.powi(i32::from(self.sys.precision));
        let wall = self.env.wall();
        let mut updated = Vec::new();
        let mut timecodes = Vec::new();
        for c in &mut self.refclocks {
            let Some(r) = self.assocs.iter_mut().find(|r| r.assoc.id == c.id) else {
                continue;
            };
            r.assoc.set_frequency_uncertainty(self.sync.params().phi);
            let sent = r.assoc.stats.sent;
            if c.address.driver_type == PPS_TYPE && !pps_open {
                // The reference's `atom_poll()`: pulses are dropped while
                // no prefer peer names the second.
                c.pending.0.clear();
            }
            // After the gate: a poll whose pulses were dropped is no reply.
            let had_samples = !c.pending.0.is_empty();
            let update = r
                .assoc
                .refclock_poll(&mut c.pending, c.identity, precision, now, wall);
            if r.assoc.stats.sent != sent {
                c.polls += 1;
                c.current = if had_samples { 0 } else { 1 };
                if !had_samples {
                    c.noreply += 1;
                    c.last_event = 1;
                }
                if c.status.codes != c.recorded {
                    c.recorded = c.status.codes;
                    timecodes.push((c.address, c.status.timecode.clone()));
                }
            }
            if let Some(clock::filter::FilterUpdate::Updated(out)) = update {
                updated.push((c.id, out));
            }
        }
        for (id, out) in updated {
            self.record_peerstats(id, &out);
        }
        if self.out.clockstats {
            let (secs, nanos) = self.wall_unix();
            for (address, code) in timecodes {
                self.out.actions.push(super::Action::Statistics {
                    file: config::conf::StatsFile::Clockstats,
                    unix_seconds: secs,
                    line: super::refclock_stats::clockstats_line(secs, nanos, address, &code),
                });
            }
        }
    }
}

/// The PPS (ATOM) driver's type number.
const PPS_TYPE: u8 = 22;

impl Core {
    /// The offset of a `prefer` peer among the last mitigation's
    /// survivors (the reference's `sys_prefer`), if there is one.
    fn prefer_offset(&self) -> Option<f64> {
        let Some(clock::system::Mitigation::Synchronized {
            prefer_peer: Some(id),
            ..
        }) = &self.last_mitigation
        else {
            return None;
        };
        // The one selection chose (the last in merit order, as the
        // reference's `sys_prefer`), not the first configured.
        self.assocs
            .iter()
            .find(|r| usize::from(r.assoc.id) == *id)
            .and_then(|r| r.assoc.peer.filter().output().map(|o| o.offset))
    }
}

/// One running driver and, for a serial clock, its input.
#[derive(Debug)]
struct RunningClock {
    id: u16,
    driver: Box<dyn Driver>,
    serial: Option<super::refclock_serial::SerialInput>,
    /// Polls of the association that took samples, as last told to the
    /// driver (`Driver::samples_used`).
    used: u64,
}

/// The drivers of the configured clocks, owned by the event loop.
#[derive(Debug, Default)]
pub struct RefclockSet {
    clocks: Vec<RunningClock>,
}

impl RefclockSet {
    /// Start a driver for every configured clock (opening its serial
    /// device, if it reads one) and mobilise its association in `core`; a
    /// clock whose driver cannot start is logged and left out (as the
    /// reference does).
    pub fn start(
        core: &mut Core,
        s: &RefclockSettings,
        orphan_wait: f64,
        attach: &mut dyn Attach,
    ) -> RefclockSet {
        let mut clocks = Vec::new();
        for (server, at) in &s.servers {
            let a = RefclockAddress {
                driver_type: server.driver_type,
                unit: server.unit,
            };
            let name = refclock::name_of(a);
            let fudge = s.fudge_of(a);
            let driver = match refclock::create(a, server.mode.unwrap_or(0), &fudge, attach) {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!("{at}: reference clock {name}: {e}; clock not started");
                    continue;
                }
            };
            let serial = match driver.serial() {
                Some(line) => match super::refclock_serial::SerialInput::open(&line, &name) {
                    Ok(input) => Some(input),
                    Err(e) => {
                        tracing::error!("{at}: reference clock {name}: {e}; clock not started");
                        continue;
                    }
                },
                None => None,
            };
            let info = driver.info();
            match core.mobilize_refclock(server, info, &fudge, orphan_wait) {
                Some(id) => {
                    tracing::info!(
                        "reference clock {name} ({}) started, stratum {}",
                        info.description,
                        fudge.stratum.unwrap_or(info.stratum)
                    );
                    clocks.push(RunningClock {
                        id,
                        driver,
                        serial,
                        used: 0,
                    });
                }
                None => tracing::error!("reference clock {name}: no association ID left"),
            }
        }
        RefclockSet { clocks }
    }

    /// Whether no clock runs.
    pub fn is_empty(&self) -> bool {
        self.clocks.is_empty()
    }

    /// Once a second: feed every driver what its serial line brought, ask
    /// it, with the system clock's time `now`, and hand its samples and
    /// report to `core`.
    pub fn poll(&mut self, core: &mut Core, now: WallTime) {
        for c in &mut self.clocks {
            if let Some(input) = &mut c.serial {
                let driver = &mut c.driver;
                input.drain(|bytes, at| driver.receive(bytes, at));
            }
            if let Some(s) = c.driver.poll(now) {
                core.refclock_sample(c.id, s);
            }
            let status = c.driver.status();
            if let Some(state) = core.refclocks.iter_mut().find(|s| s.id == c.id) {
                state.status = status;
                let used = state.polls - state.noreply;
                if used != c.used {
                    c.used = used;
                    c.driver.samples_used();
                }
            }
        }
    }
}

/// Whether `ip` is a `127.127.t.u` reference clock address.
pub fn is_clock_address(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v) if v.octets()[..2] == [127, 127])
}

/// The system clock now, for the drivers.
pub fn wall_now() -> WallTime {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    WallTime {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos(),
    }
}

#[cfg(test)]
#[path = "refclock_tests.rs"]
mod tests;
