//! The RFC 2783 PPS API on Linux (`/dev/ppsN`, `linux/pps.h`): the
//! `PPS_GETCAP`, `PPS_GETPARAMS`, `PPS_SETPARAMS` and `PPS_FETCH` ioctls
//! the reference's ATOM driver reaches through `time_pps_*()` (RFC 2783
//! §3.4: `time_pps_getcap`, `time_pps_getparams`, `time_pps_setparams`,
//! `time_pps_fetch`). Linux numbers these ioctls with the size of a
//! pointer, not of the structure passed, as its header declares them.
//! `PPS_SETPARAMS` needs `CAP_SYS_TIME`; the others only read access.
//!
//! `unsafe` here: `ioctl(2)` with pointers to the `#[repr(C)]` copies of
//! the kernel's structures.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// `PPS_CAPTUREASSERT`: time stamps of the assert edge (RFC 2783 §3.3).
pub const CAPTURE_ASSERT: i32 = 0x01;
/// `PPS_CAPTURECLEAR`: time stamps of the clear edge.
pub const CAPTURE_CLEAR: i32 = 0x02;
/// `PPS_TSFMT_TSPEC`: time stamps as `struct timespec`.
pub const TSFMT_TSPEC: i32 = 0x1000;
/// `PPS_TIME_INVALID`: a time stamp (or timeout) that is not set.
const TIME_INVALID: u32 = 1;
/// `PPS_API_VERS_1`.
const API_VERSION: i32 = 1;

/// `struct pps_ktime`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct KTime {
    sec: i64,
    nsec: i32,
    flags: u32,
}

/// `struct pps_kinfo`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct KInfo {
    assert_sequence: u32,
    clear_sequence: u32,
    assert_tu: KTime,
    clear_tu: KTime,
    current_mode: i32,
}

/// `struct pps_fdata`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct FData {
    info: KInfo,
    timeout: KTime,
}

/// `struct pps_kparams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct KParams {
    api_version: i32,
    mode: i32,
    assert_off_tu: KTime,
    clear_off_tu: KTime,
}

/// `_IOC(dir, 'p', nr, sizeof(void *))`.
const fn request(dir: u64, nr: u64) -> u64 {
    (dir << DIR_SHIFT) | ((std::mem::size_of::<usize>() as u64) << 16) | ((b'p' as u64) << 8) | nr
}

/// `_IOC_READ`, `_IOC_WRITE` and `_IOC_DIRSHIFT`: PowerPC, MIPS and SPARC
/// number ioctls their own way, the others in the generic layout.
#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
mod dir {
    pub const READ: u64 = 2;
    pub const WRITE: u64 = 4;
    pub const SHIFT: u64 = 29;
}
#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
)))]
mod dir {
    pub const READ: u64 = 2;
    pub const WRITE: u64 = 1;
    pub const SHIFT: u64 = 30;
}
use dir::{READ, SHIFT as DIR_SHIFT, WRITE};
const PPS_GETPARAMS: u64 = request(READ, 0xa1);
const PPS_SETPARAMS: u64 = request(WRITE, 0xa2);
const PPS_GETCAP: u64 = request(READ, 0xa3);
const PPS_FETCH: u64 = request(READ | WRITE, 0xa4);

/// Why the PPS device could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PpsError {
    /// `open(2)` failed.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The device.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// An ioctl failed.
    #[error("{call} on {path} failed: {source}")]
    Ioctl {
        /// `PPS_FETCH`, …
        call: &'static str,
        /// The device.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The device cannot stamp the edge asked for.
    #[error("{path} cannot capture the {edge} edge (capabilities 0x{caps:x})")]
    Edge {
        /// The device.
        path: PathBuf,
        /// `assert` or `clear`.
        edge: &'static str,
        /// What `PPS_GETCAP` said.
        caps: i32,
    },
}

/// The latest pulses (RFC 2783 `pps_info_t`): sequence numbers and the
/// system clock at each edge as seconds and nanoseconds since 1970, `None`
/// before the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PpsFetch {
    /// Assert edges so far.
    pub assert_sequence: u32,
    /// The latest assert edge.
    pub assert: Option<(i64, u32)>,
    /// Clear edges so far.
    pub clear_sequence: u32,
    /// The latest clear edge.
    pub clear: Option<(i64, u32)>,
}

fn stamp(t: KTime, seq: u32) -> Option<(i64, u32)> {
    let valid = seq != 0 && t.flags & TIME_INVALID == 0 && (0..1_000_000_000).contains(&t.nsec);
    valid.then_some((t.sec, t.nsec as u32))
}

/// An open PPS device (RFC 2783 `pps_handle_t`).
#[derive(Debug)]
pub struct PpsDevice {
    file: File,
    path: PathBuf,
}

impl PpsDevice {
    /// Open `path` (`/dev/ppsN`) and check it can stamp the assert edge,
    /// or the clear edge if `clear`; if its mode does not capture that edge
    /// yet, set it (`PPS_SETPARAMS`, which needs `CAP_SYS_TIME`).
    pub fn open(path: &Path, clear: bool) -> Result<PpsDevice, PpsError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .or_else(|_| std::fs::File::open(path))
            .map_err(|source| PpsError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let d = PpsDevice {
            file,
            path: path.to_path_buf(),
        };
        let (edge, bit) = if clear {
            ("clear", CAPTURE_CLEAR)
        } else {
            ("assert", CAPTURE_ASSERT)
        };
        let caps = d.capabilities()?;
        if caps & bit == 0 {
            return Err(PpsError::Edge {
                path: d.path,
                edge,
                caps,
            });
        }
        let mut params = d.params()?;
        if params.mode & bit == 0 {
            params.api_version = API_VERSION;
            params.mode |= bit | TSFMT_TSPEC;
            d.call("PPS_SETPARAMS", PPS_SETPARAMS, &mut params)?;
        }
        Ok(d)
    }

    fn call<T>(&self, name: &'static str, request: u64, arg: &mut T) -> Result<(), PpsError> {
        // SAFETY: `arg` is a live, exclusively borrowed `#[repr(C)]` copy
        // of the structure the kernel reads or writes for `request` (or an
        // `i32` for PPS_GETCAP), and the descriptor is open for the call.
        let r = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                request as libc::Ioctl,
                std::ptr::from_mut(arg),
            )
        };
        if r < 0 {
            return Err(PpsError::Ioctl {
                call: name,
                path: self.path.clone(),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// `time_pps_getcap()`: the `PPS_*` capability bits.
    pub fn capabilities(&self) -> Result<i32, PpsError> {
        let mut caps = 0i32;
        self.call("PPS_GETCAP", PPS_GETCAP, &mut caps)?;
        Ok(caps)
    }

    fn params(&self) -> Result<KParams, PpsError> {
        let mut p = KParams::default();
        self.call("PPS_GETPARAMS", PPS_GETPARAMS, &mut p)?;
        Ok(p)
    }

    /// `time_pps_getparams()`: the current mode bits.
    pub fn mode(&self) -> Result<i32, PpsError> {
        Ok(self.params()?.mode)
    }

    /// `time_pps_fetch()` with a zero timeout: the latest pulses, without
    /// waiting.
    pub fn fetch(&self) -> Result<PpsFetch, PpsError> {
        let mut f = FData::default();
        self.call("PPS_FETCH", PPS_FETCH, &mut f)?;
        Ok(PpsFetch {
            assert_sequence: f.info.assert_sequence,
            assert: stamp(f.info.assert_tu, f.info.assert_sequence),
            clear_sequence: f.info.clear_sequence,
            clear: stamp(f.info.clear_tu, f.info.clear_sequence),
        })
    }

    /// The device's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_layouts_are_linux_pps_h() {
        // As <linux/pps.h> numbers them on a 64-bit target.
        if std::mem::size_of::<usize>() == 8 {
            assert_eq!(PPS_GETPARAMS, 0x8008_70a1);
            assert_eq!(PPS_SETPARAMS, 0x4008_70a2);
            assert_eq!(PPS_GETCAP, 0x8008_70a3);
            assert_eq!(PPS_FETCH, 0xc008_70a4);
        }
        assert_eq!(std::mem::size_of::<KTime>(), 16);
        assert_eq!(std::mem::size_of::<KInfo>(), 48);
        assert_eq!(std::mem::size_of::<FData>(), 64);
        assert_eq!(std::mem::size_of::<KParams>(), 40);
    }

    #[test]
    fn unset_stamps_are_none() {
        let t = KTime {
            sec: 1_796_600_000,
            nsec: 5,
            flags: 0,
        };
        assert_eq!(stamp(t, 3), Some((1_796_600_000, 5)));
        assert_eq!(stamp(t, 0), None, "no pulse yet");
        let invalid = KTime {
            flags: TIME_INVALID,
            ..t
        };
        assert_eq!(stamp(invalid, 3), None);
    }

    #[test]
    fn a_missing_device_names_its_path() {
        let e = PpsDevice::open(Path::new("/nonexistent/pps0"), false).unwrap_err();
        assert!(e.to_string().starts_with("cannot open /nonexistent/pps0"));
    }

    /// The kernel path on a machine that has a PPS source: `modprobe
    /// pps-ktimer` gives `/dev/pps0`, a pulse a second from a kernel
    /// timer. A manual check (`cargo test -p ntp-sys --lib pps --
    /// --ignored`), out of CI's set because CI machines have no PPS
    /// device; without `/dev/pps0` it fails, it never passes.
    #[test]
    #[ignore = "needs /dev/pps0 (modprobe pps-ktimer); run by hand with --ignored"]
    fn pps_ktimer_pulses_once_a_second() {
        let d = PpsDevice::open(Path::new("/dev/pps0"), false).expect("/dev/pps0");
        assert!(d.capabilities().unwrap() & CAPTURE_ASSERT != 0);
        let first = d.fetch().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2500));
        let later = d.fetch().unwrap();
        let n = later.assert_sequence.wrapping_sub(first.assert_sequence);
        assert!((2..=3).contains(&n), "{n} pulses in 2.5 s");
        let (s0, _) = first.assert.expect("a first pulse");
        let (s1, _) = later.assert.expect("a later pulse");
        assert_eq!(i64::from(n), s1 - s0);
    }
}
