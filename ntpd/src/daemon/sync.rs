//! The daemon's one door to the `clock` crate: mitigation (select,
//! cluster, combine, orphan mode) turned into the [`SystemState`] the
//! server advertises. Kept small so that changes of the `clock` API stay
//! local to this file.

use clock::select::{LeapIndicator as ClockLeap, SelectionParams};
use clock::system::{Mitigation, Source, SystemProcess};
use proto::{LeapIndicator, NtpDuration, NtpTimestamp, ReferenceId};

use super::settings::Tos;
use crate::system::SystemState;

/// Convert the `clock` crate's leap indicator to the wire one.
pub fn leap_to_wire(l: ClockLeap) -> LeapIndicator {
    LeapIndicator::from_bits(l.bits())
}

/// Convert a wire leap indicator to the `clock` crate's.
pub fn leap_to_clock(l: LeapIndicator) -> ClockLeap {
    ClockLeap::from_bits(l.to_bits())
}

/// Mitigation plus the system variables.
#[derive(Debug)]
pub struct SyncEngine {
    process: SystemProcess,
    min_poll: i8,
}

impl SyncEngine {
    /// A new engine at monotonic time `now` with the `tos` settings and
    /// the frequency tolerance `phi` (s/s, `tinker dispersion`).
    pub fn new(tos: &Tos, precision: i8, min_poll: i8, phi: f64, now: f64) -> Self {
        let mut params = SelectionParams {
            phi,
            ..SelectionParams::default()
        };
        if let Some(v) = tos.minsane {
            params.minsane = v as usize;
        }
        if let Some(v) = tos.minclock {
            params.minclock = v as usize;
        }
        if let Some(v) = tos.maxclock {
            params.maxclock = v as usize;
        }
        if let Some(v) = tos.mindist {
            params.mindist = v;
        }
        if let Some(v) = tos.maxdist {
            params.maxdist = v;
        }
        let mut process = SystemProcess::new(params, precision, tos.orphan, now);
        if let Some(w) = tos.orphan_wait {
            process.set_orphan_wait(f64::from(w));
        }
        SyncEngine { process, min_poll }
    }

    /// Run mitigation over `sources` at monotonic time `now` (when the
    /// real-time clock reads `now_ntp`) and return the outcome and the
    /// system state to advertise.
    pub fn mitigate(
        &mut self,
        sources: &[Source],
        now: f64,
        now_ntp: NtpTimestamp,
    ) -> (Mitigation, SystemState) {
        let m = self.process.mitigate(sources, now);
        (m, self.state(now, now_ntp))
    }

    /// Say that the association with ID `id` is a PPS driver (the PPS
    /// rule of `clock::pps_peer`).
    pub fn add_pps_driver(&mut self, id: u16) {
        self.process.add_pps_driver(usize::from(id));
    }

    /// Pass on the discipline's frequency uncertainty, s/s.
    pub fn set_frequency_uncertainty(&mut self, u: f64) {
        self.process.set_frequency_uncertainty(u);
    }

    /// Whether the local clock is disciplined (`enable ntp`): see
    /// `clock::system::SystemProcess::set_disciplined`.
    pub fn set_disciplined(&mut self, disciplined: bool) {
        self.process.set_disciplined(disciplined);
    }

    /// After a step: unsynchronised until the next update.
    pub fn set_unsynchronized(&mut self) {
        self.process.set_unsynchronized();
    }

    /// The selection parameters in force.
    pub fn params(&self) -> &SelectionParams {
        self.process.params()
    }

    /// System jitter and root distance, seconds (for the kernel's error
    /// estimates).
    pub fn errors(&self) -> (f64, f64) {
        let v = self.process.variables();
        (v.jitter, v.root_distance())
    }

    /// The system peer's `Candidate::id`, if synchronised to a source.
    pub fn sys_peer(&self) -> Option<usize> {
        self.process.variables().sys_peer
    }

    /// The system state at monotonic time `now`.
    pub fn state(&self, now: f64, now_ntp: NtpTimestamp) -> SystemState {
        let v = self.process.variables();
        let reftime = if v.stratum >= crate::system::MAXSTRAT {
            NtpTimestamp::ZERO
        } else {
            now_ntp - NtpDuration::from_seconds_f64(now - v.reference_time)
        };
        SystemState {
            leap: leap_to_wire(v.leap),
            stratum: v.stratum,
            precision: v.precision,
            refid: if v.stratum >= crate::system::MAXSTRAT && v.refid == 0 {
                ReferenceId::from_bytes(*b"INIT")
            } else {
                ReferenceId(v.refid)
            },
            reftime,
            root_delay: v.root_delay,
            root_dispersion: v.root_dispersion,
            min_poll: self.min_poll,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphan_parent_after_orphanwait() {
        let tos = Tos {
            orphan: Some(5),
            orphan_wait: Some(1),
            ..Tos::default()
        };
        let mut e = SyncEngine::new(&tos, -23, 3, clock::constants::PHI, 0.0);
        let t = NtpTimestamp::from_parts(0xe900_0000, 0);
        let (_, s) = e.mitigate(&[], 0.5, t);
        assert_eq!(s.stratum, 16);
        assert_eq!(s.refid.to_bytes(), *b"INIT");
        assert_eq!(s.reftime, NtpTimestamp::ZERO);
        let (m, s) = e.mitigate(&[], 1.5, t);
        assert_eq!(m, Mitigation::Orphan);
        assert_eq!(s.stratum, 5);
        assert_eq!(s.leap, LeapIndicator::NoWarning);
        assert_eq!(s.refid.to_bytes(), [127, 0, 0, 1]);
        assert_eq!(s.reftime, t);
        assert_eq!(s.precision, -23);
        let later = e.state(3.5, t + NtpDuration::from_seconds_f64(2.0));
        assert_eq!(later.reftime, t, "reference time stays at the update");
    }

    #[test]
    fn without_orphan_stays_unsynchronised() {
        let mut e = SyncEngine::new(&Tos::default(), -20, 3, 1e-4, 0.0);
        assert_eq!(e.params().phi, 1e-4, "tinker dispersion reaches selection");
        let (_, s) = e.mitigate(&[], 1000.0, NtpTimestamp::ZERO);
        assert_eq!(s.wire_stratum(), 0);
        assert_eq!(s.leap, LeapIndicator::Unsynchronized);
    }
}
