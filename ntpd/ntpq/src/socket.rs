//! The query socket, opened the way the daemon opens its own: a plain
//! `socket()` call with no `SOCK_CLOEXEC`/`SOCK_NONBLOCK` type flags, then
//! `fcntl` for close-on-exec and non-blocking, and `poll(2)` to wait. A
//! libc-level simulator (clknetsim) refuses the type flags and wraps `poll`
//! but not `SO_RCVTIMEO`, so this is what lets `ntpq` run under it.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{bind, socket, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6};

/// Why the query socket could not be set up; `Display` names the step.
#[derive(Debug)]
pub enum SocketError {
    /// `socket()` or its `fcntl` flags.
    Open(io::Error),
    /// `bind()` to the wildcard address.
    Bind(io::Error),
    /// `connect()` to the server.
    Connect(io::Error),
}

impl std::fmt::Display for SocketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketError::Open(e) => write!(f, "socket: {e}"),
            SocketError::Bind(e) => write!(f, "bind: {e}"),
            SocketError::Connect(e) => write!(f, "connect: {e}"),
        }
    }
}

/// A UDP socket of `addr`'s family: plain `socket()`, then close-on-exec
/// and non-blocking set with `fcntl`.
fn udp_socket(v6: bool) -> io::Result<OwnedFd> {
    let family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let fd = socket(family, SockType::Datagram, SockFlag::empty(), None)?;
    fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    fcntl(&fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok(fd)
}

/// A non-blocking UDP socket bound to `bind_addr` and connected to `server`.
pub fn query_socket(bind_addr: SocketAddr, server: SocketAddr) -> Result<UdpSocket, SocketError> {
    let fd = udp_socket(server.is_ipv6()).map_err(SocketError::Open)?;
    match bind_addr {
        SocketAddr::V4(a) => bind(fd.as_raw_fd(), &SockaddrIn::from(a)),
        SocketAddr::V6(a) => bind(fd.as_raw_fd(), &SockaddrIn6::from(a)),
    }
    .map_err(|e| SocketError::Bind(e.into()))?;
    let socket = UdpSocket::from(fd);
    socket.connect(server).map_err(SocketError::Connect)?;
    Ok(socket)
}

/// Whether `socket` has a datagram (or an error) to read within `wait`,
/// asked with `poll(2)`.
pub fn readable(socket: &UdpSocket, wait: Duration) -> bool {
    let ms = u16::try_from(wait.as_millis().max(1)).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) => return n > 0,
            Err(Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_is_nonblocking_and_close_on_exec() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let s = query_socket(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            server.local_addr().unwrap(),
        )
        .unwrap();
        let fl = OFlag::from_bits_truncate(fcntl(&s, FcntlArg::F_GETFL).unwrap());
        assert!(fl.contains(OFlag::O_NONBLOCK));
        let fd = FdFlag::from_bits_truncate(fcntl(&s, FcntlArg::F_GETFD).unwrap());
        assert!(fd.contains(FdFlag::FD_CLOEXEC));
        assert!(!readable(&s, Duration::from_millis(1)));
        server.send_to(b"x", s.local_addr().unwrap()).unwrap();
        assert!(readable(&s, Duration::from_secs(5)));
    }
}
