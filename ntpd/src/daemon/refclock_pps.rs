//! The PPS driver's devices on this machine: `/dev/ppsN` through the
//! RFC 2783 ioctls of `ntp_sys::pps` (the one place with `unsafe`),
//! opened at start-up, while the daemon still has `CAP_SYS_TIME` for
//! `PPS_SETPARAMS`. The device directory follows the serial lines'
//! (`refclock_serial::device_dir`, `/dev` unless the test override says
//! otherwise).

use ntp_sys::pps::{PpsDevice, PpsError};
use refclock::pps::{PpsInfo, PpsSource};
use refclock::{DriverError, WallTime};

/// One open PPS device as the driver reads it.
#[derive(Debug)]
struct Kernel(PpsDevice);

fn wall((seconds, nanos): (i64, u32)) -> WallTime {
    WallTime { seconds, nanos }
}

impl PpsSource for Kernel {
    fn fetch(&mut self) -> Result<PpsInfo, DriverError> {
        let f = self.0.fetch().map_err(|e| DriverError::Pps {
            device: self.0.path().display().to_string(),
            reason: reason(&e),
        })?;
        Ok(PpsInfo {
            assert_sequence: f.assert_sequence,
            assert: f.assert.map(wall),
            clear_sequence: f.clear_sequence,
            clear: f.clear.map(wall),
        })
    }
}

/// Open `ppsN` for unit `unit`, stamping the clear edge if `clear`
/// (`fudge flag2 1`), else the assert edge.
pub fn open(unit: u8, clear: bool) -> Result<Box<dyn PpsSource>, DriverError> {
    let path = super::refclock_serial::device_dir().join(format!("pps{unit}"));
    PpsDevice::open(&path, clear)
        .map(|d| Box::new(Kernel(d)) as Box<dyn PpsSource>)
        .map_err(|e| DriverError::Pps {
            device: path.display().to_string(),
            reason: reason(&e),
        })
}

/// What went wrong, without the path (the message names the device).
fn reason(e: &PpsError) -> String {
    match e {
        PpsError::Open { source, .. } => format!("cannot open: {source}"),
        PpsError::Ioctl { call, source, .. } => format!("{call} failed: {source}"),
        PpsError::Edge { edge, caps, .. } => {
            format!("cannot capture the {edge} edge (capabilities 0x{caps:x})")
        }
    }
}
