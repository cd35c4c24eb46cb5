//! The driver table: type number → name and constructor (the reference's
//! `refclock_conf.c`; chrony's `refclock.c` driver list is the model).

use crate::pps::{Pps, PpsSource};
use crate::shm::{Segment, Shm};
use crate::{local::Local, Driver, DriverError, Fudge, RefclockAddress};

/// The driver types built, with their `ntpq` names.
pub const SUPPORTED: &[(u8, &str)] = &[(1, "LOCAL"), (20, "GPS_NMEA"), (22, "PPS"), (28, "SHM")];

/// Which driver a type number names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    /// Type 1, `LOCAL`.
    Local,
    /// Type 20, `GPS_NMEA`.
    Nmea,
    /// Type 22, `PPS` (ATOM).
    Pps,
    /// Type 28, `SHM`.
    Shm,
}

impl DriverKind {
    /// The driver of type `t`, if it is built.
    pub fn of(t: u8) -> Option<DriverKind> {
        match t {
            1 => Some(DriverKind::Local),
            20 => Some(DriverKind::Nmea),
            22 => Some(DriverKind::Pps),
            28 => Some(DriverKind::Shm),
            _ => None,
        }
    }
}

/// The supported types for messages: `1 (LOCAL), 20 (GPS_NMEA), 22 (PPS),
/// 28 (SHM)`.
pub fn supported_list() -> String {
    SUPPORTED
        .iter()
        .map(|(t, n)| format!("{t} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `ntpq` name of a clock, `LOCAL(0)`, `SHM(1)` (the reference's
/// `refnumtoa()`); `REFCLK(t,u)` for a type not in the table.
pub fn name_of(a: RefclockAddress) -> String {
    match SUPPORTED.iter().find(|(t, _)| *t == a.driver_type) {
        Some((_, n)) => format!("{n}({})", a.unit),
        None => format!("REFCLK({},{})", a.driver_type, a.unit),
    }
}

/// What the daemon gives a constructor: how to reach a shared memory
/// segment (System V `shmget`/`shmat` in the daemon, memory in tests) and
/// a PPS device (the RFC 2783 API on `/dev/ppsN`).
pub trait Attach {
    /// Attach (creating it if missing) the segment of `key` with
    /// permission bits `perm`.
    fn attach(&mut self, key: u32, perm: u32) -> Result<Box<dyn Segment>, DriverError>;

    /// Open PPS unit `unit` to stamp the assert edge, or the clear edge if
    /// `clear`; by default there is no PPS API.
    fn open_pps(&mut self, unit: u8, _clear: bool) -> Result<Box<dyn PpsSource>, DriverError> {
        Err(DriverError::Pps {
            device: format!("/dev/pps{unit}"),
            reason: "no PPS API here".into(),
        })
    }
}

/// A driver for the clock `a` with `mode` (the `server … mode N` option)
/// and `fudge`.
pub fn create(
    a: RefclockAddress,
    mode: u32,
    fudge: &Fudge,
    attach: &mut dyn Attach,
) -> Result<Box<dyn Driver>, DriverError> {
    match DriverKind::of(a.driver_type) {
        Some(DriverKind::Local) => Ok(Box::new(Local::new(fudge))),
        Some(DriverKind::Nmea) => Ok(Box::new(crate::nmea::Nmea::new(a.unit, mode, fudge))),
        Some(DriverKind::Pps) => {
            let source = attach.open_pps(a.unit, fudge.flags[1] == Some(true))?;
            Ok(Box::new(Pps::new(source, fudge)))
        }
        Some(DriverKind::Shm) => {
            let (key, perm) = crate::shm::key_and_perm(a.unit);
            let seg = attach.attach(key, perm)?;
            Ok(Box::new(Shm::new(seg, mode, fudge)))
        }
        None => Err(DriverError::Unsupported(a.driver_type)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_ntpq_prints_them() {
        let a = |t, u| RefclockAddress {
            driver_type: t,
            unit: u,
        };
        assert_eq!(name_of(a(1, 0)), "LOCAL(0)");
        assert_eq!(name_of(a(28, 2)), "SHM(2)");
        assert_eq!(name_of(a(20, 0)), "GPS_NMEA(0)");
        assert_eq!(name_of(a(22, 0)), "PPS(0)");
        assert_eq!(name_of(a(8, 0)), "REFCLK(8,0)");
        assert_eq!(
            supported_list(),
            "1 (LOCAL), 20 (GPS_NMEA), 22 (PPS), 28 (SHM)"
        );
    }
}
