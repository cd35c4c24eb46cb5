//! Reference clock drivers (the reference ntpd's "Reference Clock Support",
//! 4.2.8 docs `refclock.html`), behind one sans-IO trait in the style of
//! chrony's driver table.
//!
//! A reference clock is configured as `server 127.127.t.u` (`t` the driver
//! type, `u` the unit) and adjusted with `fudge 127.127.t.u …`. A
//! [`Driver`] is asked once a second, with the wall clock's current time,
//! for what its reference says ([`Driver::poll`]); it answers with a
//! [`RefSample`]: the offset of the reference against the system clock, a
//! dispersion and the leap indicator. What a driver needs from the
//! operating system (a shared memory segment) is given to it as a trait
//! object at construction, so the drivers and their tests do no I/O.
//!
//! The [`table`] maps driver type numbers to constructors and names
//! (`LOCAL(u)`, `GPS_NMEA(u)`, `PPS(u)`, `SHM(u)`), as the reference's
//! `refclock_conf.c`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod address;
pub mod fudge;
pub mod local;
pub mod nmea;
pub mod pps;
pub mod shm;
pub mod table;

pub use address::RefclockAddress;
pub use fudge::Fudge;
pub use table::{create, name_of, DriverKind, SUPPORTED};

use proto::LeapIndicator;

/// A wall clock reading: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WallTime {
    /// Whole seconds since 1970-01-01 00:00:00 UTC.
    pub seconds: i64,
    /// Nanoseconds, 0..1_000_000_000.
    pub nanos: u32,
}

impl WallTime {
    /// `self − earlier` in seconds.
    pub fn since(self, earlier: WallTime) -> f64 {
        (self.seconds - earlier.seconds) as f64
            + (f64::from(self.nanos) - f64::from(earlier.nanos)) * 1e-9
    }
}

/// One measurement of a reference clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefSample {
    /// Offset of the reference against the system clock, seconds
    /// (positive: the system clock is behind), `time1` included.
    pub offset: f64,
    /// Dispersion of this sample, seconds.
    pub dispersion: f64,
    /// The reference's leap indicator.
    pub leap: LeapIndicator,
}

/// What a driver is, as shown by `ntpq` and sent in replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverInfo {
    /// Default reference ID (`fudge refid` overrides it).
    pub refid: [u8; 4],
    /// Default stratum (`fudge stratum` overrides it).
    pub stratum: u8,
    /// Precision, log2 seconds.
    pub precision: i8,
    /// The reference's description string.
    pub description: &'static str,
}

/// Why a driver produced no sample, or could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DriverError {
    /// The shared memory segment could not be attached.
    #[error("cannot attach shared memory segment key 0x{key:08x}: {reason}")]
    Attach {
        /// The System V IPC key.
        key: u32,
        /// What the operating system said.
        reason: String,
    },
    /// The PPS device could not be opened or read (RFC 2783 API).
    #[error("PPS device {device}: {reason}")]
    Pps {
        /// The device, `/dev/ppsN`.
        device: String,
        /// What the operating system said.
        reason: String,
    },
    /// The driver type is not built.
    #[error("driver type {0} is not supported; supported: {list}", list = table::supported_list())]
    Unsupported(u8),
}

/// One reference clock driver (the reference's `struct refclock`:
/// `start`, `poll`), sans-IO.
pub trait Driver: std::fmt::Debug + Send {
    /// Its defaults.
    fn info(&self) -> DriverInfo;

    /// Called once a second with the system clock's time `now`: the
    /// reference's reading, if it has a new one.
    fn poll(&mut self, now: WallTime) -> Option<RefSample>;

    /// What it last received and how often its input was unusable (the
    /// reference's `struct refclockstat`, shown by `ntpq -c cv`).
    fn status(&self) -> ClockStatus {
        ClockStatus::default()
    }

    /// The serial line it reads, if any: the daemon opens the device and
    /// hands what it reads to [`Driver::receive`].
    fn serial(&self) -> Option<SerialLine> {
        None
    }

    /// Octets read from the serial line, the last of them at `at` (the
    /// system clock when the read returned).
    fn receive(&mut self, _bytes: &[u8], _at: WallTime) {}

    /// The association's poll has taken the driver's samples into its
    /// clock filter (the reference's `refclock_receive()`).
    fn samples_used(&mut self) {}
}

/// What a driver reports about its input (reference `refclockstat`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClockStatus {
    /// The last timecode received, as text (`timecode`).
    pub timecode: String,
    /// Timecodes received so far (a new one is written to `clockstats`).
    pub codes: u64,
    /// Input that did not parse (`badformat`).
    pub badformat: u64,
    /// Input that parsed but was not usable (`baddata`).
    pub baddata: u64,
}

/// A serial device a driver reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialLine {
    /// The device's name in `/dev` (`gps0`, as the reference names it).
    pub device: String,
    /// Line speed, bits per second (8 bits, no parity).
    pub baud: u32,
}
