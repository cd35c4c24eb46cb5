//! Process duties: detaching from the terminal, the start-up pipe to the
//! waiting parent, the pid file, dropping root (ntpd(8) `-n`, `-w`, `-p`,
//! `-u`).

use std::fs;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{self, ForkResult};

/// Why a process step failed. `Display` is the one-line message.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The pid file could not be written.
    #[error("cannot write the pid file {}: {source}; expected a writable path (check `pidfile` or -p)", path.display())]
    PidFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// setsid failed.
    #[error("cannot detach from the terminal: {0}; run with -n to stay in the foreground")]
    Detach(nix::Error),
    /// fork failed or was refused (other threads running).
    #[error("cannot detach from the terminal: {0}; run with -n to stay in the foreground")]
    Fork(ntp_sys::process::ForkError),
    /// The user or group of `-u` does not exist.
    #[error("-u {0}: no such user or group; expected an existing USER[:GROUP] or numeric ids")]
    UnknownUser(String),
    /// Changing ids failed.
    #[error("-u {who}: cannot switch to it: {source}")]
    Switch {
        /// The argument.
        who: String,
        /// Why.
        source: nix::Error,
    },
    /// Keeping the capabilities failed.
    #[error("-u {who}: {what} failed: {source}; expected to run as root with CAP_SETUID, CAP_SETGID and CAP_SETPCAP")]
    Privileges {
        /// The argument (`root` without -u).
        who: String,
        /// The call.
        what: &'static str,
        /// Why.
        source: io::Error,
    },
    /// `-i DIR`: the chroot failed.
    #[error("-i {}: cannot chroot to it: {source}; expected an existing directory (and root)", dir.display())]
    Jail {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: nix::Error,
    },
    /// The pipe to the waiting parent (`-w`, start-up) could not be made.
    #[error("cannot create the start-up pipe: {0}")]
    Pipe(nix::Error),
}

/// How long the parent waits for "ready" without `-w` (the reference's
/// start-up monitoring), seconds.
pub const STARTUP_WAIT: u64 = 30;

/// Exit status of the parent when `-w` times out (`EX_PROTOCOL`).
pub const EXIT_WAIT_SYNC_TIMEOUT: u8 = 76;
/// Exit status of the parent when reading the pipe fails (`EX_IOERR`).
pub const EXIT_IO: u8 = 74;
/// Exit status of the parent when the daemon died of a signal
/// (`EX_SOFTWARE`).
pub const EXIT_SOFTWARE: u8 = 70;

/// The daemon's end of the start-up pipe: the parent that detached it
/// waits (ntpd(8) `-w SECONDS`, `--wait-sync`) until the daemon says it is
/// ready, or with `-w` until the clock is first synchronised, and exits 0
/// then; if the daemon exits first, the parent exits with its status.
///
/// Call [`SyncWaiter::notify_ready`] once start-up is over (sockets bound,
/// privileges dropped) and [`SyncWaiter::notify_synchronised`] whenever
/// the system leap indicator is not "unsynchronised" (later calls are
/// free and do nothing).
#[derive(Debug)]
pub struct SyncWaiter {
    pipe: Option<OwnedFd>,
    wait_for_sync: bool,
    detached: bool,
}

impl SyncWaiter {
    /// Nobody waits (`-n` without `-w`).
    pub fn none() -> SyncWaiter {
        SyncWaiter {
            pipe: None,
            wait_for_sync: false,
            detached: false,
        }
    }

    /// Whether the process detached from the terminal (log to syslog).
    pub fn detached(&self) -> bool {
        self.detached
    }

    /// Whether a parent still waits.
    pub fn parent_waiting(&self) -> bool {
        self.pipe.is_some()
    }

    /// Start-up is over: without `-w` the parent exits 0 now.
    pub fn notify_ready(&mut self) {
        if !self.wait_for_sync {
            self.send(b'R');
        }
    }

    /// The clock is synchronised (leap indicator not 3): with `-w` the
    /// parent exits 0 now.
    pub fn notify_synchronised(&mut self) {
        if self.wait_for_sync {
            self.send(b'S');
        }
    }

    fn send(&mut self, what: u8) {
        if let Some(fd) = self.pipe.take() {
            if nix::unistd::write(&fd, &[what, b'\n']).is_err() {
                tracing::error!("daemon failed to notify the parent ntpd");
            }
        }
    }
}

/// Detach unless `-n`, with the start-up pipe: the parent waits as
/// described on [`SyncWaiter`] and never returns. `-w N` with N > 0
/// forces the fork even with `-n`, as in the reference. Call before any
/// thread is started.
pub fn detach(no_fork: bool, wait_sync: Option<i64>) -> Result<SyncWaiter, ProcessError> {
    let wait_sync = wait_sync
        .filter(|&n| n > 0)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    if no_fork && wait_sync == 0 {
        return Ok(SyncWaiter::none());
    }
    let (read, write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(ProcessError::Pipe)?;
    // fork checks that the process is still single-threaded (no runtime
    // yet), which the child needs to run on as normal.
    match ntp_sys::process::fork().map_err(ProcessError::Fork)? {
        ForkResult::Parent { child } => {
            drop(write);
            let (code, message) = wait_for_child(&read, child, wait_sync);
            if let Some(m) = message {
                eprintln!("ntpd: {m}");
            }
            std::process::exit(i32::from(code))
        }
        ForkResult::Child => drop(read),
    }
    unistd::setsid().map_err(ProcessError::Detach)?;
    if let Ok(null) = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = unistd::dup2_stdin(&null);
        let _ = unistd::dup2_stdout(&null);
        let _ = unistd::dup2_stderr(&null);
    }
    Ok(SyncWaiter {
        pipe: Some(write),
        wait_for_sync: wait_sync > 0,
        detached: true,
    })
}

/// The parent's side of the start-up pipe: wait up to `wait_sync`
/// seconds for `S` (or, with `wait_sync` 0, up to [`STARTUP_WAIT`] s for
/// `R`). Returns the exit status and a message for stderr: 0 when told;
/// the daemon's own status when the pipe closes first; on time-out
/// [`EXIT_WAIT_SYNC_TIMEOUT`] with `-w`, else 0.
pub fn wait_for_child(
    read: &OwnedFd,
    child: nix::unistd::Pid,
    wait_sync: u32,
) -> (u8, Option<String>) {
    let wait = if wait_sync > 0 {
        u64::from(wait_sync)
    } else {
        STARTUP_WAIT
    };
    let end = Instant::now() + Duration::from_secs(wait);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let mut pfd = [PollFd::new(read.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        match poll(&mut pfd, timeout) {
            Ok(0) => break,
            Ok(_) => {}
            Err(nix::Error::EINTR) => continue,
            Err(e) => return (EXIT_IO, Some(format!("daemon start-up: poll failed: {e}"))),
        }
        let mut ch = [0u8; 1];
        match nix::unistd::read(read, &mut ch) {
            Ok(0) => return child_status(child),
            Ok(_) => {
                if (ch[0] == b'S' && wait_sync > 0) || (ch[0] == b'R' && wait_sync == 0) {
                    return (0, None);
                }
            }
            Err(nix::Error::EINTR) => {}
            Err(e) => {
                return (
                    EXIT_IO,
                    Some(format!("daemon control: read 1 char failed: {e}")),
                )
            }
        }
    }
    if wait_sync > 0 {
        (
            EXIT_WAIT_SYNC_TIMEOUT,
            Some(format!("-w/--wait-sync {wait_sync} timed out.")),
        )
    } else {
        (0, Some("daemon startup monitoring timed out.".to_owned()))
    }
}

/// The exit status of the daemon whose pipe closed: its own, or
/// [`EXIT_SOFTWARE`] when it died of a signal.
fn child_status(child: nix::unistd::Pid) -> (u8, Option<String>) {
    use nix::sys::wait::{waitpid, WaitStatus};
    match waitpid(child, None) {
        Ok(WaitStatus::Exited(_, code)) => (
            u8::try_from(code).unwrap_or(EXIT_SOFTWARE),
            (code != 0).then(|| format!("daemon child exited with code {code}")),
        ),
        Ok(WaitStatus::Signaled(_, sig, _)) => (
            EXIT_SOFTWARE,
            Some(format!("daemon child died with signal {sig}")),
        ),
        _ => (
            EXIT_SOFTWARE,
            Some("daemon child died with unknown cause".to_owned()),
        ),
    }
}

/// The pid file: written at start, removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Write our pid (decimal, newline) to `path`, atomically.
    pub fn create(path: &Path) -> Result<PidFile, ProcessError> {
        let err = |source| ProcessError::PidFile {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("tmp-ntpd");
        let mut f = fs::File::create(&tmp).map_err(err)?;
        writeln!(f, "{}", std::process::id()).map_err(err)?;
        f.sync_all().map_err(err)?;
        fs::rename(&tmp, path).map_err(err)?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_holds_our_pid_and_goes_away() {
        let dir = std::env::temp_dir().join(format!("ntpd-pid-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("ntpd.pid");
        {
            let _f = PidFile::create(&p).unwrap();
            assert_eq!(
                fs::read_to_string(&p).unwrap(),
                format!("{}\n", std::process::id())
            );
        }
        assert!(!p.exists());
        let e = PidFile::create(&dir.join("missing/ntpd.pid")).unwrap_err();
        assert!(e.to_string().contains("missing/ntpd.pid"));
        fs::remove_dir_all(&dir).unwrap();
    }

    fn pipe() -> (OwnedFd, OwnedFd) {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap()
    }

    fn child(script: &str) -> (std::process::Child, nix::unistd::Pid) {
        let c = std::process::Command::new("sh")
            .args(["-c", script])
            .spawn()
            .unwrap();
        let pid = nix::unistd::Pid::from_raw(c.id() as i32);
        (c, pid)
    }

    #[test]
    fn wait_sync_returns_0_on_sync_and_ignores_ready() {
        let (r, w) = pipe();
        let (_c, pid) = child("sleep 5");
        let mut waiter = SyncWaiter {
            pipe: Some(w),
            wait_for_sync: true,
            detached: true,
        };
        waiter.notify_ready(); // not what -w waits for: nothing sent
        assert!(waiter.parent_waiting());
        waiter.notify_synchronised();
        assert!(!waiter.parent_waiting());
        waiter.notify_synchronised(); // later calls are free
        assert_eq!(wait_for_child(&r, pid, 5), (0, None));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
    }

    #[test]
    fn without_w_ready_releases_the_parent() {
        let (r, w) = pipe();
        let (_c, pid) = child("sleep 5");
        let mut waiter = SyncWaiter {
            pipe: Some(w),
            wait_for_sync: false,
            detached: true,
        };
        waiter.notify_synchronised(); // nobody waits for it
        assert!(waiter.parent_waiting());
        waiter.notify_ready();
        assert_eq!(wait_for_child(&r, pid, 0), (0, None));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
    }

    #[test]
    fn wait_sync_times_out_with_status_76() {
        let (r, _w) = pipe();
        let (_c, pid) = child("sleep 5");
        let t0 = Instant::now();
        let (code, msg) = wait_for_child(&r, pid, 1);
        assert!(t0.elapsed() >= Duration::from_millis(900));
        assert_eq!(code, EXIT_WAIT_SYNC_TIMEOUT);
        assert_eq!(msg.as_deref(), Some("-w/--wait-sync 1 timed out."));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
    }

    #[test]
    fn a_daemon_that_dies_first_passes_on_its_status() {
        let (r, w) = pipe();
        let (_c, pid) = child("exit 3");
        drop(w); // the daemon's end closes when it exits
        let (code, msg) = wait_for_child(&r, pid, 10);
        assert_eq!(code, 3);
        assert_eq!(msg.as_deref(), Some("daemon child exited with code 3"));
    }

    #[test]
    fn no_fork_without_w_does_not_detach() {
        let w = detach(true, None).unwrap();
        assert!(!w.detached() && !w.parent_waiting());
        let w = detach(true, Some(0)).unwrap();
        assert!(!w.detached());
    }
}
