//! Which of many sockets have datagrams (`epoll(7)`), and the periodic
//! `timerfd` that paces the load generator: both through nix's safe
//! wrappers.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

/// An epoll instance watching sockets for readability. Each socket is
/// registered with a caller-chosen index, returned by [`Poller::wait`].
pub struct Poller {
    epoll: Epoll,
    events: Vec<EpollEvent>,
}

impl Poller {
    /// A poller returning at most `max_events` ready sockets per wait.
    pub fn new(max_events: usize) -> io::Result<Poller> {
        Ok(Poller {
            epoll: Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?,
            events: vec![EpollEvent::empty(); max_events.max(1)],
        })
    }

    /// Watches `fd` for input; it is reported as `index`.
    pub fn add(&mut self, fd: impl AsFd, index: usize) -> io::Result<()> {
        self.epoll
            .add(fd, EpollEvent::new(EpollFlags::EPOLLIN, index as u64))?;
        Ok(())
    }

    /// Waits up to `timeout_ms` (0: just look) and calls `ready` with the
    /// index of each readable socket. Returns how many were ready.
    pub fn wait(&mut self, timeout_ms: u16, mut ready: impl FnMut(usize)) -> io::Result<usize> {
        let n = match self
            .epoll
            .wait(&mut self.events, EpollTimeout::from(timeout_ms))
        {
            Ok(n) => n,
            Err(nix::Error::EINTR) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        for ev in &self.events[..n] {
            ready(ev.data() as usize);
        }
        Ok(n)
    }
}

/// A periodic `CLOCK_MONOTONIC` timerfd (timerfd_create(2)), readable
/// whenever a period has passed.
pub struct PacingTimer {
    timer: TimerFd,
}

impl PacingTimer {
    /// Fires every `period_ns` nanoseconds (at least 1), first after one
    /// period.
    pub fn new(period_ns: u64) -> io::Result<PacingTimer> {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        let period = TimeSpec::from_duration(Duration::from_nanos(period_ns.max(1)));
        timer.set(Expiration::Interval(period), TimerSetTimeFlags::empty())?;
        Ok(PacingTimer { timer })
    }

    /// The descriptor, for [`Poller::add`].
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.timer.as_fd()
    }

    /// Consumes the expiration count so the timer stops being readable.
    pub fn clear(&self) {
        // Nothing to consume (EAGAIN) is fine: the timer is non-blocking.
        let _ = nix::unistd::read(&self.timer, &mut [0u8; 8]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn a_readable_socket_and_the_timer_are_reported_by_index() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let timer = PacingTimer::new(1_000_000).unwrap();
        let mut p = Poller::new(4).unwrap();
        p.add(&a, 7).unwrap();
        p.add(timer.fd(), 99).unwrap();
        let mut seen = Vec::new();
        // Blocks up to 10 ms per wait; the timer fires every 1 ms.
        for _ in 0..100 {
            p.wait(10, |i| seen.push(i)).unwrap();
            if !seen.is_empty() {
                break;
            }
        }
        assert_eq!(seen, [99], "only the timer is readable");
        timer.clear();
        b.send_to(b"x", a.local_addr().unwrap()).unwrap();
        for _ in 0..100 {
            seen.clear();
            p.wait(10, |i| seen.push(i)).unwrap();
            if seen.contains(&7) {
                break;
            }
        }
        assert!(seen.contains(&7), "{seen:?}");
    }
}
