//! Type 1, the undisciplined local clock `LOCAL(u)` (reference driver1
//! page, `refclock_local.c`): the system clock taken as its own reference,
//! so that a host keeps serving at a chosen stratum when every other
//! source is gone (e.g. the trusted host of an isolated Autokey group).
//! Its offset is zero; `fudge time1` is a one-time adjustment, as the
//! reference's `local_poll()` has it: the samples of the first poll carry
//! it, then the reference sets time1 to zero (so `ntpq -p` shows +0.000
//! as soon as later samples are in the filter; `cv` still lists the
//! configured `fudgetime1`). The reference's defaults are stratum 5, refid `LOCL`, precision −7 (about 10 ms) and a
//! dispersion of 10 ms per sample. Not built: `time2`, the reference's
//! frequency adjustment in PPM.

use proto::LeapIndicator;

use crate::{Driver, DriverInfo, Fudge, RefSample, WallTime};

/// The LOCAL driver's defaults (reference `refclock_local.c`).
pub const INFO: DriverInfo = DriverInfo {
    refid: *b"LOCL",
    stratum: 5,
    precision: -7,
    description: "Undisciplined local clock",
};

/// Dispersion of each sample, seconds (the reference's `DISPERSION`).
pub const DISPERSION: f64 = 0.01;

/// One LOCAL clock.
#[derive(Debug, Clone)]
pub struct Local {
    /// `fudge time1` until the first sample has carried it.
    time1: f64,
}

impl Local {
    /// A LOCAL clock with the fudge factors `fudge`.
    pub fn new(fudge: &Fudge) -> Local {
        Local {
            time1: fudge.time1(),
        }
    }
}

impl Driver for Local {
    fn info(&self) -> DriverInfo {
        INFO
    }

    fn poll(&mut self, _now: WallTime) -> Option<RefSample> {
        Some(RefSample {
            offset: self.time1,
            dispersion: DISPERSION,
            leap: LeapIndicator::NoWarning,
        })
    }

    fn samples_used(&mut self) {
        self.time1 = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time1_is_a_one_time_adjustment() {
        let f = Fudge {
            time1: Some(0.25),
            ..Fudge::default()
        };
        let now = WallTime {
            seconds: 1_700_000_000,
            nanos: 0,
        };
        let mut local = Local::new(&f);
        let s = local.poll(now).unwrap();
        assert_eq!(s.offset, 0.25);
        assert_eq!(s.leap, LeapIndicator::NoWarning);
        assert_eq!(local.poll(now).unwrap().offset, 0.25, "until a poll");
        local.samples_used();
        assert_eq!(local.poll(now).unwrap().offset, 0.0, "then zero");
        assert_eq!(Local::new(&Fudge::default()).info().refid, *b"LOCL");
    }
}
