//! Type 22, the PPS clock discipline `PPS(u)` (reference driver22 page,
//! `refclock_atom.c`, and `refclock_pps()` in `ntp_refclock.c`): the
//! pulse-per-second signal of `/dev/ppsu`, read through the RFC 2783 PPS
//! API, tells where each second begins but not which second it is.
//!
//! - Once a second the driver fetches the latest pulse ([`PpsSource`],
//!   the kernel's `PPS_FETCH` in the daemon, simulated pulses in tests).
//!   It uses the assert edge, or the clear edge with `fudge flag2 1`
//!   (RFC 2783 §3.3 `PPS_CAPTUREASSERT`/`PPS_CAPTURECLEAR`).
//! - A pulse counts when it is newer than the one before (by its
//!   sequence number and a later second) and its fraction of the second
//!   is within [`RANGE_GATE`] of the previous pulse's: a pulse that jumps
//!   is noise, and the first pulse after a gap only arms the gate (the
//!   reference's range gate).
//! - Its offset is the distance to the nearest second: a pulse stamped
//!   `s + f` gives `−f` for `f ≤ 0.5`, else `1 − f`, plus `fudge time1`
//!   (cable and receiver delay).
//! - The second it names comes from elsewhere: the reference uses a PPS
//!   sample only while a `prefer` peer has survived selection within
//!   0.4 s of the system clock ([`prefer_gate`], `atom_poll()` and the
//!   PPS rule of `clock_select()`); the core applies that gate at the
//!   clock's poll.
//!
//! Not built: `flag3` (binding the kernel's `hardpps()` discipline,
//! `PPS_KC_BIND`), which would let the kernel steer the clock itself.

use proto::LeapIndicator;

use crate::{ClockStatus, Driver, DriverError, DriverInfo, Fudge, RefSample, WallTime};

/// The PPS driver's defaults (reference `refclock_atom.c`).
pub const INFO: DriverInfo = DriverInfo {
    refid: *b"PPS\0",
    stratum: 0,
    precision: -20,
    description: "PPS Clock Discipline",
};

/// How far, in nanoseconds, a pulse's fraction of the second may be from
/// the previous pulse's (the reference's `RANGEGATE`, 0.5 ms).
pub const RANGE_GATE: i64 = 500_000;

/// The largest offset of the `prefer` peer, seconds, at which PPS samples
/// are used: within it the prefer peer names the second unambiguously
/// (the reference's 0.4 s in `clock_select()`).
pub const PREFER_LIMIT: f64 = 0.4;

/// One reading of the PPS device (RFC 2783 §3.4.3 `pps_info_t`): the
/// latest pulse of each edge with its sequence number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PpsInfo {
    /// Pulses on the assert edge so far.
    pub assert_sequence: u32,
    /// The system clock at the latest assert edge.
    pub assert: Option<WallTime>,
    /// Pulses on the clear edge so far.
    pub clear_sequence: u32,
    /// The system clock at the latest clear edge.
    pub clear: Option<WallTime>,
}

/// Where the pulses come from: `/dev/ppsN` in the daemon, a simulation in
/// tests.
pub trait PpsSource: std::fmt::Debug + Send {
    /// The latest pulses, without waiting.
    fn fetch(&mut self) -> Result<PpsInfo, DriverError>;
}

/// Whether PPS samples may be used: only while there is a `prefer` peer
/// among the survivors and its offset is within [`PREFER_LIMIT`].
pub fn prefer_gate(prefer_offset: Option<f64>) -> bool {
    prefer_offset.is_some_and(|o| o.abs() < PREFER_LIMIT)
}

/// The offset a pulse stamped at `at` gives: to the nearest second.
pub fn pulse_offset(at: WallTime) -> f64 {
    let f = f64::from(at.nanos) * 1e-9;
    if f > 0.5 {
        1.0 - f
    } else {
        -f
    }
}

/// One PPS clock.
#[derive(Debug)]
pub struct Pps {
    source: Box<dyn PpsSource>,
    time1: f64,
    clear_edge: bool,
    last: Option<(u32, WallTime)>,
    status: ClockStatus,
    fault: Option<String>,
}

impl Pps {
    /// A PPS clock reading `source` with `fudge` (`time1`, `flag2`).
    pub fn new(source: Box<dyn PpsSource>, fudge: &Fudge) -> Pps {
        Pps {
            source,
            time1: fudge.time1(),
            clear_edge: fudge.flags[1] == Some(true),
            last: None,
            status: ClockStatus::default(),
            fault: None,
        }
    }

    /// Why the last fetch failed, if it did (for the log).
    pub fn fault(&self) -> Option<&str> {
        self.fault.as_deref()
    }

    /// The pulse of the edge in use, if it is new and passes the gate.
    fn accept(&mut self, info: PpsInfo) -> Option<WallTime> {
        let (seq, at) = if self.clear_edge {
            (info.clear_sequence, info.clear?)
        } else {
            (info.assert_sequence, info.assert?)
        };
        let previous = self.last.replace((seq, at));
        let (pseq, pat) = previous?;
        if seq == pseq || at.seconds <= pat.seconds {
            // No new pulse: keep the older one as the gate's reference.
            self.last = previous;
            return None;
        }
        // The pulses' distance within the second, taken round the second
        // boundary (x.999 999 and y.000 001 are 2 µs apart).
        let d = (i64::from(at.nanos) - i64::from(pat.nanos)).rem_euclid(1_000_000_000);
        if d.min(1_000_000_000 - d) > RANGE_GATE {
            self.status.baddata += 1;
            return None;
        }
        Some(at)
    }
}

impl Driver for Pps {
    fn info(&self) -> DriverInfo {
        INFO
    }

    fn poll(&mut self, _now: WallTime) -> Option<RefSample> {
        let info = match self.source.fetch() {
            Ok(i) => {
                self.fault = None;
                i
            }
            Err(e) => {
                self.fault = Some(e.to_string());
                return None;
            }
        };
        let at = self.accept(info)?;
        self.status.timecode = format!("{}.{:09}", at.seconds, at.nanos);
        self.status.codes += 1;
        Some(RefSample {
            offset: pulse_offset(at) + self.time1,
            dispersion: 2f64.powi(i32::from(INFO.precision)),
            leap: LeapIndicator::NoWarning,
        })
    }

    fn status(&self) -> ClockStatus {
        self.status.clone()
    }
}

#[cfg(test)]
mod tests;
