//! The system process (RFC 5905 §11) and the once-a-second timer: polls
//! that are due, mitigation and the discipline after each clock-filter
//! update, system events, the Autokey host's timers, and the statistics
//! and drift lines they produce (as [`Action`]s).

use super::{clockctl, control, sync, Action, Core, Outgoing};
use crate::assoc::{AuthContext, Authenticator, HostMode};

impl Core {
    pub(super) fn record_peerstats(&mut self, id: u16, out: &clock::filter::FilterOutput) {
        if !self.out.peerstats {
            return;
        }
        let status = self.peer_status(id);
        let Some(addr) = self
            .assocs
            .iter()
            .find(|r| r.assoc.id == id)
            .map(|r| r.assoc.remote().ip())
        else {
            return;
        };
        let (secs, nanos) = self.wall_unix();
        let line = crate::stats::peerstats_line(
            secs,
            nanos,
            addr,
            status,
            out.offset,
            out.delay,
            out.dispersion,
            out.jitter,
        );
        self.out.actions.push(Action::Statistics {
            file: config::conf::StatsFile::Peerstats,
            unix_seconds: secs,
            line,
        });
    }

    /// Run mitigation over the associations and refresh the advertised
    /// state (RFC 5905 §11.2, `clock_select()` after a clock filter update).
    pub(super) fn update_system(&mut self, now: f64) {
        let mut sources: Vec<_> = self
            .assocs
            .iter()
            .filter_map(|r| r.assoc.source())
            .collect();
        self.hold_local_clocks(&mut sources, now);
        self.sync
            .set_frequency_uncertainty(self.frequency_uncertainty());
        let (m, sys) = self.sync.mitigate(&sources, now, self.env.wall());
        let was_synced = self.sync_peer_of(self.last_mitigation.as_ref());
        match (was_synced, Self::sync_peer_of_m(&m)) {
            (None, Some(_)) => self.system_event(control::system_event::CLOCK_SYNC),
            (Some(_), None) => self.system_event(control::system_event::NO_SYS_PEER),
            _ => {}
        }
        self.sys = sys;
        self.discipline(&m, now);
        self.last_mitigation = Some(m);
    }

    /// How uncertain the local clock's frequency is, s/s: the discipline's
    /// estimate while it steers the clock; with `disable ntp` it never
    /// measures anything, so the RFC 5905 tolerance PHI (`tinker
    /// dispersion`) — not the start-up 500 PPM, which would age the root
    /// dispersion 0.5 ms a second.
    pub(super) fn frequency_uncertainty(&self) -> f64 {
        if self.driver.ntp_enabled() {
            self.driver.discipline().frequency_uncertainty()
        } else {
            self.sync.params().phi
        }
    }

    /// Feed the discipline and let the associations follow what it did.
    pub(super) fn discipline(&mut self, m: &clock::system::Mitigation, now: f64) {
        use clockctl::Applied;
        let peer = match m {
            clock::system::Mitigation::Synchronized { sys_peer, .. } => self
                .assocs
                .iter()
                .find(|r| usize::from(r.assoc.id) == *sys_peer)
                .and_then(|r| r.assoc.peer.filter().output())
                .map(|o| clockctl::PeerSample {
                    time: o.time,
                    delay: o.delay,
                }),
            _ => None,
        };
        let applied = self.driver.update(m, peer, now);
        match applied {
            Applied::Nothing => return,
            Applied::Stepped(step) => {
                tracing::info!("clock stepped by {step:.6} s");
                self.system_event(control::system_event::CLOCK_STEP);
                for r in &mut self.assocs {
                    r.assoc.peer.on_step();
                }
                self.sync.set_unsynchronized();
                self.sys = self.sync.state(now, self.env.wall());
            }
            Applied::Frequency(df) => {
                for r in &mut self.assocs {
                    r.assoc.peer.on_frequency_change(df, now);
                }
            }
            Applied::Panic(offset) => {
                tracing::error!(
                    "time correction of {offset:.0} s exceeds the panic threshold: set the clock manually (or start with -g)"
                );
                self.out.actions.push(Action::Exit(1));
                return;
            }
        }
        let poll = self.driver.discipline().poll();
        for r in &mut self.assocs {
            r.assoc.peer.update_poll(poll, now);
        }
        let (jitter, distance) = self.sync.errors();
        let leap = sync::leap_to_clock(self.sys.leap);
        self.driver.report(
            !matches!(applied, Applied::Stepped(_)),
            leap,
            jitter,
            distance,
        );
        if self.out.loopstats {
            let (secs, nanos) = self.wall_unix();
            let line = self.driver.loopstats_line(secs, nanos);
            self.out.actions.push(Action::Statistics {
                file: config::conf::StatsFile::Loopstats,
                unix_seconds: secs,
                line,
            });
        }
        if self.set_once && self.driver.discipline().set_once_complete() {
            tracing::info!("-q: the clock is set, exiting");
            self.out.actions.push(Action::Exit(0));
        }
    }

    /// Count system event `code` (mode 6 status word) and log it under
    /// `logconfig` class `sysevents`.
    pub(super) fn system_event(&mut self, code: u8) {
        self.sys_events.raise(code);
        tracing::info!(
            target: crate::logging::SYS_EVENT,
            "system event {} ({} events)",
            proto::control::SystemEvent::from_code(code).name(),
            self.sys_events.count
        );
    }

    pub(super) fn sync_peer_of(&self, m: Option<&clock::system::Mitigation>) -> Option<usize> {
        m.and_then(Self::sync_peer_of_m)
    }

    pub(super) fn sync_peer_of_m(m: &clock::system::Mitigation) -> Option<usize> {
        match m {
            clock::system::Mitigation::Synchronized { sys_peer, .. } => Some(*sys_peer),
            _ => None,
        }
    }

    /// Once a second: polls that are due, then mitigation (which also ages
    /// the system into orphan mode); the drift file hourly. What is to be
    /// sent or written is queued in [`Core::actions`].
    pub fn tick(&mut self) {
        let now = self.env.monotonic();
        self.ticks += 1;
        if self.ticks % 3600 == 0 {
            self.save_drift();
        }
        self.autokey_timers();
        self.adopt_leap_values();
        self.flush_cryptostats();
        let before = self.assocs.len();
        self.assocs.retain(|r| !r.assoc.is_stale());
        self.expire_unproven();
        if self.assocs.len() != before {
            tracing::info!(
                "demobilized {} unreachable ephemeral association(s)",
                before - self.assocs.len()
            );
        }
        let slewed = self.driver.tick();
        if slewed != 0.0 {
            for r in &mut self.assocs {
                r.assoc.peer.on_slew(slewed);
            }
        }
        // Room for the largest datagram: an Autokey poll may carry a
        // response with certificates (brief §4.2).
        let mut buf = vec![0u8; proto::MAX_DATAGRAM_LEN];
        self.refclock_polls(now);
        let found = self.manycast_found();
        let env = &self.env;
        let maxclock = self.sync.params().maxclock;
        let mut host = self.autokey.as_mut().map(|a| &mut a.host);
        for r in &mut self.assocs {
            // Due at the tick nearest the scheduled time (clock::reach).
            if !r.assoc.poll_due(now + clock::reach::POLL_TICK_SLACK) {
                continue;
            }
            if r.assoc.cfg.mode == HostMode::ManycastClient {
                let n = found.iter().filter(|&&parent| parent == r.assoc.id).count();
                if n >= maxclock {
                    // Enough servers: no solicitation until some go
                    // (RFC 5905 §3 manycast; the reference's `maxclock`).
                    r.assoc.skip_poll(now);
                    continue;
                }
            }
            let Some(socket) = r.socket else { continue };
            // The wall clock is read for the Autokey key lists only.
            let autokey = matches!(
                r.assoc.auth,
                Authenticator::Autokey(_) | Authenticator::Broadcaster { .. }
            );
            let mut ctx = AuthContext {
                keys: &self.policy.keys,
                host: host.as_deref_mut(),
                now: if autokey { env.wall().seconds() } else { 0 },
                rng: &mut self.rng,
                events: Vec::new(),
            };
            match r
                .assoc
                .poll(&self.sys, &mut ctx, &mut buf, now, || env.wall())
            {
                Ok(Some(n)) => self.out.actions.push(Action::Send(Outgoing {
                    socket,
                    dst: r.assoc.send_addr(),
                    bytes: buf[..n].to_vec(),
                    ttl: r.assoc.manycast_ttl(),
                    association: Some(r.assoc.id),
                })),
                Ok(None) => {}
                // NTS-KE still running: expected at start, not a fault.
                Err(
                    e @ crate::assoc::SealError::Nts(
                        super::nts_peer::NtsSealError::AwaitingKeyExchange(_),
                    ),
                ) => tracing::info!("association {}: {e}", r.assoc.remote()),
                Err(e) => tracing::warn!("association {}: {e}", r.assoc.remote()),
            }
        }
        self.update_system(now);
    }

    /// Queue the drift file's new content, when the discipline has a
    /// frequency worth saving (hourly, and when the daemon stops).
    pub fn save_drift(&mut self) {
        if let Some((path, text)) = self.driver.drift_to_save() {
            self.out.actions.push(Action::SaveDrift { path, text });
        }
    }

    /// The wall clock as Unix seconds and nanoseconds (statistics lines).
    pub(super) fn wall_unix(&self) -> (i64, u32) {
        // Any date within 68 years resolves to its era.
        let pivot = proto::NtpDate::from_unix(1_767_225_600, 0);
        self.env.wall().resolve(pivot).to_unix()
    }

    /// Once a second: the server private value is refreshed when due
    /// (brief §5.3) and, while the system is synchronised, the host's
    /// signatures are refreshed every `2^automax` seconds (the reference's
    /// `crypto_update()`; the first one makes the host's values signed).
    pub(super) fn autokey_timers(&mut self) {
        let Some(ak) = self.autokey.as_mut() else {
            return;
        };
        let now = self.env.wall().seconds();
        ak.host.refresh_secret(now, &mut self.rng);
        if self.sys.leap == proto::LeapIndicator::Unsynchronized {
            return;
        }
        let last = ak.host.last_update();
        if last == 0 || now.wrapping_sub(last) >= 1u32 << ak.automax.min(31) {
            ak.host.update(now);
            tracing::info!(
                "crypto: signatures refreshed, status 0x{:x}",
                ak.host.status().0
            );
        }
    }
}
