//! The serial lines of reference clocks (the NMEA driver's `/dev/gpsN`):
//! the device is opened and set up at start-up (before privileges are
//! dropped), then a thread of its own blocks in `read(2)` and hands each
//! read, stamped with the system clock when it returned, to the event
//! loop through a channel; the loop feeds the driver once a second. The
//! stamp, not the hand-over, is the sample's local time, so the
//! once-a-second hand-over costs no accuracy.
//!
//! The device directory is `/dev`, as the reference fixes it; the
//! environment variable `NTPD_REFCLOCK_DEVDIR`, a test override
//! (docs/architecture.md, "Reference clocks"), replaces it: the tests
//! point it at a scratch directory holding `gpsN` links to ptys, so they
//! never touch `/dev`.

use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, TryRecvError};

use refclock::{SerialLine, WallTime};

/// The test override of the device directory.
pub const DEVDIR_ENV: &str = "NTPD_REFCLOCK_DEVDIR";

/// Where the clocks' devices are: `/dev`, or the test override.
pub fn device_dir() -> PathBuf {
    std::env::var_os(DEVDIR_ENV).map_or_else(|| PathBuf::from("/dev"), PathBuf::from)
}

/// The path of `line`'s device.
pub fn device_path(line: &SerialLine) -> PathBuf {
    device_dir().join(&line.device)
}

/// What the reader thread has read and not yet handed over.
#[derive(Debug)]
pub struct SerialInput {
    reads: Receiver<(Vec<u8>, WallTime)>,
    closed: bool,
}

impl SerialInput {
    /// Open `line` and start its reader thread, `name` (`GPS_NMEA(0)`)
    /// naming it in the log.
    pub fn open(
        line: &SerialLine,
        name: &str,
    ) -> Result<SerialInput, ntp_sys::serial::SerialError> {
        let path = device_path(line);
        let mut file = ntp_sys::serial::open_serial(&path, line.baud)?;
        let (tx, reads) = channel();
        let label = format!("{name} on {}", path.display());
        let spawned = std::thread::Builder::new()
            .name(format!("refclock-{}", line.device))
            .spawn(move || {
                let mut buf = [0u8; 512];
                loop {
                    match file.read(&mut buf) {
                        Ok(0) => {
                            tracing::warn!("reference clock {label}: end of input");
                            return;
                        }
                        Ok(n) => {
                            let at = super::refclock::wall_now();
                            if tx.send((buf[..n].to_vec(), at)).is_err() {
                                return;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            tracing::error!("reference clock {label}: read failed: {e}");
                            return;
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("reference clock {name}: cannot start its reader: {e}");
        }
        Ok(SerialInput {
            reads,
            closed: false,
        })
    }

    /// Every read since the last call, oldest first.
    pub fn drain(&mut self, mut each: impl FnMut(&[u8], WallTime)) {
        while !self.closed {
            match self.reads.try_recv() {
                Ok((bytes, at)) => each(&bytes, at),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => self.closed = true,
            }
        }
    }
}
