//! Serial lines of the reference clocks (the NMEA driver's `/dev/gpsN`,
//! reference `refclock_open()`): opened read-only without becoming the
//! controlling terminal, raw 8N1 at the driver's speed, modem lines
//! ignored (`CLOCAL`), as the reference's `LDISC_RAW` line set-up.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::termios::{self, BaudRate, ControlFlags, SetArg};

/// Why a serial line could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SerialError {
    /// `open(2)` failed.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The device.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The speed is not one the reference drivers use.
    #[error("{0} bps is not a supported line speed (4800 to 115200)")]
    Speed(u32),
    /// `tcgetattr(3)`/`tcsetattr(3)` failed (not a terminal?).
    #[error("cannot set the line of {path} to raw {baud} bps: {source}")]
    Termios {
        /// The device.
        path: PathBuf,
        /// The speed asked for.
        baud: u32,
        /// What the system said.
        source: nix::Error,
    },
}

fn rate(baud: u32) -> Option<BaudRate> {
    Some(match baud {
        4800 => BaudRate::B4800,
        9600 => BaudRate::B9600,
        19_200 => BaudRate::B19200,
        38_400 => BaudRate::B38400,
        57_600 => BaudRate::B57600,
        115_200 => BaudRate::B115200,
        _ => return None,
    })
}

/// Open `path` for reading at `baud` bits per second, raw 8N1.
///
/// The device is opened non-blocking, as the reference's
/// `refclock_open()` does: on a serial port whose `CLOCAL` is still off,
/// a blocking `open(2)` waits for carrier (DCD), which a GPS receiver may
/// never raise. Once `CLOCAL` is set the descriptor is made blocking
/// again for the reader thread.
pub fn open_serial(path: &Path, baud: u32) -> Result<File, SerialError> {
    let speed = rate(baud).ok_or(SerialError::Speed(baud))?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| SerialError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    let termios_err = |source| SerialError::Termios {
        path: path.to_path_buf(),
        baud,
        source,
    };
    let mut t = termios::tcgetattr(file.as_fd()).map_err(termios_err)?;
    termios::cfmakeraw(&mut t);
    t.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
    termios::cfsetspeed(&mut t, speed).map_err(termios_err)?;
    termios::tcsetattr(file.as_fd(), SetArg::TCSANOW, &t).map_err(termios_err)?;
    fcntl(file.as_fd(), FcntlArg::F_SETFL(OFlag::empty())).map_err(termios_err)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pty_slave_is_set_raw_at_the_speed() {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let name = std::fs::read_link(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&pty.slave)
        ))
        .expect("the slave's name");
        let f = open_serial(&name, 9600).expect("a pty slave takes termios");
        let t = termios::tcgetattr(f.as_fd()).unwrap();
        assert_eq!(termios::cfgetispeed(&t), BaudRate::B9600);
        assert!(matches!(
            open_serial(&name, 1200),
            Err(SerialError::Speed(1200))
        ));
        assert!(matches!(
            open_serial(Path::new("/nonexistent/gps0"), 4800),
            Err(SerialError::Open { .. })
        ));
    }
}
