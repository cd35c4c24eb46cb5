//! A minimal `epoll(7)` wrapper (which of many sockets have datagrams)
//! and the periodic `timerfd` that paces the load generator.

use std::io;
use std::os::fd::RawFd;

/// An epoll instance watching sockets for readability. Each socket is
/// registered with a caller-chosen index, returned by [`Poller::wait`].
pub struct Poller {
    epfd: RawFd,
    events: Vec<libc::epoll_event>,
}

impl Poller {
    /// A poller returning at most `max_events` ready sockets per wait.
    pub fn new(max_events: usize) -> io::Result<Poller> {
        // SAFETY: plain system call.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Poller {
            epfd,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; max_events.max(1)],
        })
    }

    /// Watches `fd` for input; it is reported as `index`.
    pub fn add(&mut self, fd: RawFd, index: usize) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: index as u64,
        };
        // SAFETY: ev is a valid epoll_event for the duration of the call.
        let r = unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout_ms` (0: just look) and calls `ready` with the
    /// index of each readable socket. Returns how many were ready.
    pub fn wait(&mut self, timeout_ms: i32, mut ready: impl FnMut(usize)) -> io::Result<usize> {
        // SAFETY: events has room for len entries, owned by self.
        let n = unsafe {
            libc::epoll_wait(
                self.epfd,
                self.events.as_mut_ptr(),
                self.events.len() as libc::c_int,
                timeout_ms,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            };
        }
        for ev in &self.events[..n as usize] {
            ready(ev.u64 as usize);
        }
        Ok(n as usize)
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        // SAFETY: epfd is owned by self and closed once.
        unsafe { libc::close(self.epfd) };
    }
}

/// A periodic `CLOCK_MONOTONIC` timerfd (timerfd_create(2)), readable
/// whenever a period has passed.
pub struct PacingTimer {
    fd: RawFd,
}

impl PacingTimer {
    /// Fires every `period_ns` nanoseconds, first after one period.
    pub fn new(period_ns: u64) -> io::Result<PacingTimer> {
        // SAFETY: plain system call.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let timer = PacingTimer { fd };
        let period = libc::timespec {
            tv_sec: (period_ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (period_ns % 1_000_000_000).max(1) as libc::c_long,
        };
        let spec = libc::itimerspec {
            it_interval: period,
            it_value: period,
        };
        // SAFETY: spec is valid for the call; the old value is not wanted.
        let r = unsafe { libc::timerfd_settime(fd, 0, &spec, std::ptr::null_mut()) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(timer)
    }

    /// The descriptor, for [`Poller::add`].
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// Consumes the expiration count so the timer stops being readable.
    pub fn clear(&self) {
        let mut n = 0u64;
        // SAFETY: reads 8 octets into n.
        unsafe { libc::read(self.fd, (&mut n as *mut u64).cast(), 8) };
    }
}

impl Drop for PacingTimer {
    fn drop(&mut self) {
        // SAFETY: fd is owned by self and closed once.
        unsafe { libc::close(self.fd) };
    }
}
