//! The calling thread's scheduling policy and nice value:
//! `sched_setscheduler(2)`, `sched_get_priority_min/max(2)`,
//! `setpriority(2)` and their getters, for ntpd(8) `-N`/`-P` (the
//! reference runs under `SCHED_FIFO`, else at nice -12).
//!
//! On Linux the policy is per thread and inherited by threads created
//! afterwards; the nice value set with `PRIO_PROCESS` and id 0 is the
//! calling thread's too.

use std::io;

/// A scheduling policy (sched(7)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `SCHED_OTHER`, the normal time-sharing policy.
    Normal,
    /// `SCHED_FIFO`, real-time first in, first out.
    Fifo,
    /// `SCHED_RR`, real-time round robin.
    RoundRobin,
    /// `SCHED_BATCH`.
    Batch,
    /// `SCHED_IDLE`.
    Idle,
    /// Any other number the kernel reports.
    Other(i32),
}

impl Policy {
    fn from_raw(p: libc::c_int) -> Policy {
        match p {
            libc::SCHED_OTHER => Policy::Normal,
            libc::SCHED_FIFO => Policy::Fifo,
            libc::SCHED_RR => Policy::RoundRobin,
            libc::SCHED_BATCH => Policy::Batch,
            libc::SCHED_IDLE => Policy::Idle,
            n => Policy::Other(n),
        }
    }
}

/// The `SCHED_FIFO` priority range `(min, max)`, `None` when the kernel
/// does not say.
pub fn fifo_range() -> Option<(i32, i32)> {
    // SAFETY: plain integer calls.
    let (min, max) = unsafe {
        (
            libc::sched_get_priority_min(libc::SCHED_FIFO),
            libc::sched_get_priority_max(libc::SCHED_FIFO),
        )
    };
    (min >= 0 && max >= min).then_some((min, max))
}

fn set_scheduler(policy: libc::c_int, priority: i32) -> io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `param` is a valid sched_param that outlives the call.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Run the calling thread under `SCHED_FIFO` at `priority` (needs
/// `CAP_SYS_NICE` or a fitting `RLIMIT_RTPRIO`).
pub fn set_fifo(priority: i32) -> io::Result<()> {
    set_scheduler(libc::SCHED_FIFO, priority)
}

/// Back to the normal policy (`SCHED_OTHER`, priority 0).
pub fn set_normal() -> io::Result<()> {
    set_scheduler(libc::SCHED_OTHER, 0)
}

/// The calling thread's policy.
pub fn policy() -> io::Result<Policy> {
    // SAFETY: plain integer call.
    let p = unsafe { libc::sched_getscheduler(0) };
    if p < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Policy::from_raw(p))
}

/// Set the nice value (`setpriority(PRIO_PROCESS, 0, nice)`; lowering it
/// needs `CAP_SYS_NICE` or a fitting `RLIMIT_NICE`).
pub fn set_nice(nice: i32) -> io::Result<()> {
    // SAFETY: plain integer call.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The nice value (`getpriority(PRIO_PROCESS, 0)`).
pub fn nice() -> io::Result<i32> {
    // -1 is a valid nice value, so errno tells an error apart.
    nix::errno::Errno::clear();
    // SAFETY: plain integer call.
    let n = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    if n == -1 && nix::errno::Errno::last_raw() != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifo_range_is_linux_s() {
        assert_eq!(fifo_range(), Some((1, 99)));
    }

    /// On a thread of its own (the policy and nice value are per thread).
    #[test]
    fn what_is_set_is_what_is_read() {
        std::thread::spawn(|| {
            assert_eq!(policy().unwrap(), Policy::Normal);
            let before = nice().unwrap();
            match set_fifo(1) {
                Ok(()) => {
                    assert_eq!(policy().unwrap(), Policy::Fifo);
                    set_normal().unwrap();
                    assert_eq!(policy().unwrap(), Policy::Normal);
                }
                Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}"),
            }
            // Raising the nice value is always allowed.
            set_nice(before + 1).unwrap();
            assert_eq!(nice().unwrap(), before + 1);
        })
        .join()
        .unwrap();
    }
}
