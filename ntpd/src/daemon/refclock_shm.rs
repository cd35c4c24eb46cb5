//! The SHM driver's segments on this machine: System V shared memory
//! through `ntp_sys::shm` (the one place with `unsafe`); the same
//! [`Attach`] opens the PPS driver's devices (`refclock_pps`).

use ntp_sys::shm::SharedSegment;
use refclock::shm::{offset, Segment, SIZE};
use refclock::table::Attach;
use refclock::DriverError;

/// Attaches System V segments.
#[derive(Debug, Default)]
pub struct SystemV;

/// One attached segment as the driver reads it.
#[derive(Debug)]
struct Attached(SharedSegment);

impl Segment for Attached {
    fn read(&mut self, out: &mut [u8; SIZE]) {
        self.0.read(out);
    }

    fn count(&mut self) -> i32 {
        let mut b = [0u8; 8];
        self.0.read(&mut b);
        i32::from_ne_bytes([b[offset::COUNT], b[5], b[6], b[7]])
    }

    fn clear_valid(&mut self) {
        self.0.write(offset::VALID, &0i32.to_ne_bytes());
    }
}

impl Attach for SystemV {
    fn attach(&mut self, key: u32, perm: u32) -> Result<Box<dyn Segment>, DriverError> {
        let k = i32::from_ne_bytes(key.to_ne_bytes());
        SharedSegment::attach(k, SIZE, perm)
            .map(|s| Box::new(Attached(s)) as Box<dyn Segment>)
            .map_err(|e| DriverError::Attach {
                key,
                reason: e.to_string(),
            })
    }

    fn open_pps(
        &mut self,
        unit: u8,
        clear: bool,
    ) -> Result<Box<dyn refclock::pps::PpsSource>, DriverError> {
        super::refclock_pps::open(unit, clear)
    }
}
