//! Waiting for the sockets to become readable: `epoll(7)` where the kernel
//! accepts our sockets, `poll(2)` otherwise.
//!
//! `epoll` registers the sockets once; `poll` adds and removes itself on
//! every socket's wait queue at every call, which under a request flood is
//! a measurable share of the server's CPU. A libc-level simulator
//! (clknetsim) wraps `poll` but not `epoll`: its sockets are descriptors
//! the kernel does not know, so `epoll_ctl` fails and the waiter falls back
//! to `poll` — the only path the simulator can drive.

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};

use super::socket::NtpSocket;

/// How the event loop waits.
pub enum Readiness<'a> {
    /// One epoll instance with every socket registered (its index as the
    /// event's data).
    Epoll {
        /// The instance.
        epoll: Epoll,
        /// Room for one event per socket.
        events: Vec<EpollEvent>,
    },
    /// `poll(2)` over every socket.
    Poll {
        /// One entry per socket.
        fds: Vec<PollFd<'a>>,
    },
}

impl std::fmt::Debug for Readiness<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Readiness::Epoll { .. } => "Readiness::Epoll",
            Readiness::Poll { .. } => "Readiness::Poll",
        })
    }
}

impl<'a> Readiness<'a> {
    /// epoll over `sockets` if every one can be registered, else poll.
    pub fn new(sockets: &'a [NtpSocket]) -> Readiness<'a> {
        match Self::epoll(sockets) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("epoll not usable here ({e}); waiting with poll(2)");
                Self::poll(sockets)
            }
        }
    }

    /// `poll(2)` over `sockets` (what a libc-level simulator can drive).
    pub fn poll(sockets: &'a [NtpSocket]) -> Readiness<'a> {
        Readiness::Poll {
            fds: sockets
                .iter()
                .map(|s| PollFd::new(s.fd(), PollFlags::POLLIN))
                .collect(),
        }
    }

    fn epoll(sockets: &[NtpSocket]) -> nix::Result<Readiness<'a>> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        for (i, s) in sockets.iter().enumerate() {
            epoll.add(s.fd(), EpollEvent::new(EpollFlags::EPOLLIN, i as u64))?;
        }
        Ok(Readiness::Epoll {
            epoll,
            events: vec![EpollEvent::empty(); sockets.len().max(1)],
        })
    }

    /// Wait at most `ms` milliseconds; mark in `ready` (one flag per
    /// socket, cleared first) the sockets with a datagram or an error to
    /// collect. `EINTR` (a signal) is returned as an error.
    pub fn wait(&mut self, ms: u16, ready: &mut [bool]) -> nix::Result<()> {
        ready.fill(false);
        match self {
            Readiness::Epoll { epoll, events } => {
                let n = epoll.wait(events, PollTimeout::from(ms))?;
                for e in events.iter().take(n) {
                    if let Some(r) = usize::try_from(e.data())
                        .ok()
                        .and_then(|i| ready.get_mut(i))
                    {
                        *r = true;
                    }
                }
            }
            Readiness::Poll { fds } => {
                poll(fds, PollTimeout::from(ms))?;
                for (f, r) in fds.iter().zip(ready.iter_mut()) {
                    *r = f
                        .revents()
                        .is_some_and(|e| e.intersects(PollFlags::POLLIN | PollFlags::POLLERR));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(sockets: &[NtpSocket]) -> [Readiness<'_>; 2] {
        let e = Readiness::new(sockets);
        assert!(matches!(e, Readiness::Epoll { .. }), "{e:?}");
        [e, Readiness::poll(sockets)]
    }

    #[test]
    fn a_datagram_makes_its_socket_ready_and_only_it() {
        let sockets = [
            NtpSocket::bind("127.0.0.1:0".parse().unwrap(), "lo").unwrap(),
            NtpSocket::bind("127.0.0.1:0".parse().unwrap(), "lo").unwrap(),
        ];
        let to = sockets[1].local_addr();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for mut r in both(&sockets) {
            let mut ready = [true; 2];
            r.wait(0, &mut ready).unwrap();
            assert_eq!(ready, [false, false], "{r:?}: nothing yet");
            client.send_to(b"x", to).unwrap();
            r.wait(1000, &mut ready).unwrap();
            assert_eq!(ready, [false, true], "{r:?}");
            // Level-triggered: still ready until read.
            r.wait(0, &mut ready).unwrap();
            assert_eq!(ready, [false, true], "{r:?}");
            let mut batch = crate::net::batch::RecvBatch::new();
            assert_eq!(batch.receive(sockets[1].raw_fd()).unwrap(), 1);
        }
    }
}
