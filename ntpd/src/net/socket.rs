//! One UDP socket, made with socket2 and read through libc's batch calls:
//! bound to one local address or the wildcard, non-blocking,
//! close-on-exec, with kernel receive timestamps
//! (`SO_TIMESTAMPING` software receive stamps, falling back to
//! `SO_TIMESTAMPNS`, then to reading the clock) and, on wildcard sockets,
//! the destination address (`IP_PKTINFO`, `IPV6_RECVPKTINFO`), so that a
//! reply leaves from the address the request came to.
//!
//! Datagrams are read and written in batches by [`super::batch`]; the
//! event loop waits for all sockets through tokio's reactor. (Under the
//! clknetsim simulator, `shared/tools/clknetsim_tokio_shim.c` strips the
//! `SOCK_NONBLOCK`/`SOCK_CLOEXEC` type flags socket2 passes, which
//! clknetsim refuses.)

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::socket::{setsockopt, sockopt, TimestampingFlag};
use proto::NtpTimestamp;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::batch;
#[cfg(test)]
use super::batch::RecvBatch;

/// A received datagram's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Octets received (the datagram may have been longer if it filled the
    /// buffer: see `truncated`).
    pub len: usize,
    /// Whether the kernel cut the datagram to fit the buffer.
    pub truncated: bool,
    /// The sender.
    pub src: SocketAddr,
    /// The destination address (from PKTINFO), when known.
    pub dst: Option<IpAddr>,
    /// The kernel receive timestamp, when the kernel gave one.
    pub rx_time: Option<NtpTimestamp>,
}

/// How receive timestamps are obtained on a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxTimestamps {
    /// `SO_TIMESTAMPING` with software receive stamps.
    Timestamping,
    /// `SO_TIMESTAMPNS`.
    Timestampns,
    /// None: the clock is read when the datagram is processed.
    None,
}

/// Who holds a socket's descriptor.
#[derive(Debug)]
enum SocketFd {
    /// Made and configured, not yet waited on.
    Plain(OwnedFd),
    /// Registered with the tokio reactor of the event loop.
    Reactor(tokio::io::unix::AsyncFd<OwnedFd>),
}

impl AsFd for SocketFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            SocketFd::Plain(fd) => fd.as_fd(),
            SocketFd::Reactor(s) => s.as_fd(),
        }
    }
}

/// A bound NTP socket.
#[derive(Debug)]
pub struct NtpSocket {
    fd: SocketFd,
    local: SocketAddr,
    wildcard: bool,
    name: String,
    rx_timestamps: RxTimestamps,
}

/// A non-blocking, close-on-exec UDP socket of the IPv6 family if `v6`,
/// else IPv4.
pub fn udp_socket(v6: bool) -> io::Result<OwnedFd> {
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Bind `fd` to `addr`.
pub fn bind_to(fd: &OwnedFd, addr: SocketAddr) -> io::Result<()> {
    socket2::SockRef::from(fd).bind(&SockAddr::from(addr))
}

/// Connect `fd` to `addr` (for a UDP socket: fix its peer; nothing is
/// sent).
pub fn connect_to(fd: &OwnedFd, addr: SocketAddr) -> io::Result<()> {
    socket2::SockRef::from(fd).connect(&SockAddr::from(addr))
}

/// The address `fd` is bound to.
pub fn bound_addr(fd: &OwnedFd) -> io::Result<SocketAddr> {
    socket2::SockRef::from(fd)
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("socket has no IP address"))
}

/// Ask for kernel receive timestamps: `SO_TIMESTAMPING` (software
/// receive stamps), else `SO_TIMESTAMPNS`.
fn enable_rx_timestamps(fd: &OwnedFd) -> RxTimestamps {
    let flags = TimestampingFlag::SOF_TIMESTAMPING_RX_SOFTWARE
        | TimestampingFlag::SOF_TIMESTAMPING_SOFTWARE;
    if setsockopt(fd, sockopt::Timestamping, &flags).is_ok() {
        RxTimestamps::Timestamping
    } else if setsockopt(fd, sockopt::ReceiveTimestampns, &true).is_ok() {
        RxTimestamps::Timestampns
    } else {
        RxTimestamps::None
    }
}

impl NtpSocket {
    /// Bind `addr` (a wildcard address binds the wildcard socket of its
    /// family). `name` is the interface name for logs.
    pub fn bind(addr: SocketAddr, name: &str) -> io::Result<NtpSocket> {
        let fd = udp_socket(addr.is_ipv6())?;
        let sock = socket2::SockRef::from(&fd);
        sock.set_reuse_address(true)?;
        if addr.is_ipv6() {
            sock.set_only_v6(true)?;
        }
        let wildcard = addr.ip().is_unspecified();
        let rx_timestamps = enable_rx_timestamps(&fd);
        if wildcard {
            if addr.is_ipv4() {
                setsockopt(&fd, sockopt::Ipv4PacketInfo, &true)?;
            } else {
                setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true)?;
            }
        }
        if addr.is_ipv4() && !wildcard {
            // Sending broadcasts needs this; harmless otherwise.
            sock.set_broadcast(true)?;
        }
        bind_to(&fd, addr)?;
        let local = bound_addr(&fd)?;
        Ok(NtpSocket {
            fd: SocketFd::Plain(fd),
            local,
            wildcard,
            name: name.to_owned(),
            rx_timestamps,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Whether this is a wildcard socket.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The interface name given at bind time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How this socket gets receive timestamps.
    pub fn rx_timestamps(&self) -> RxTimestamps {
        self.rx_timestamps
    }

    /// The descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The raw descriptor, for the batch calls.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_fd().as_raw_fd()
    }

    /// The same socket registered with the current tokio runtime's
    /// reactor (call it inside the runtime), so that
    /// [`NtpSocket::reactor`] can wait for it.
    pub fn register(self) -> io::Result<NtpSocket> {
        let fd = match self.fd {
            SocketFd::Plain(fd) => SocketFd::Reactor(ntp_sys::reactor::register_readable(fd)?),
            registered => registered,
        };
        Ok(NtpSocket { fd, ..self })
    }

    /// The reactor's handle of a [registered](NtpSocket::register)
    /// socket: its readiness guard.
    pub fn reactor(&self) -> Option<&tokio::io::unix::AsyncFd<OwnedFd>> {
        match &self.fd {
            SocketFd::Reactor(s) => Some(s),
            SocketFd::Plain(_) => None,
        }
    }

    /// Multicast TTL of datagrams sent from this socket (IPv4 TTL or
    /// IPv6 hop limit).
    pub fn set_multicast_ttl(&self, ttl: u8) -> io::Result<()> {
        let sock = socket2::SockRef::from(&self.fd);
        if self.local.is_ipv4() {
            sock.set_multicast_ttl_v4(u32::from(ttl))
        } else {
            sock.set_multicast_hops_v6(u32::from(ttl))
        }
    }

    /// Join the multicast `group` on this (wildcard) socket.
    pub fn join_multicast(&self, group: IpAddr) -> io::Result<()> {
        let sock = socket2::SockRef::from(&self.fd);
        match group {
            IpAddr::V4(g) => sock.join_multicast_v4(&g, &Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(g) => sock.join_multicast_v6(&g, 0),
        }
    }

    /// Take one waiting datagram into `buf` (non-blocking; `WouldBlock`
    /// when none is waiting). The daemon reads in batches.
    #[cfg(test)]
    fn recv_one(&self, batch: &mut RecvBatch, buf: &mut [u8]) -> io::Result<Received> {
        if batch.receive(self.raw_fd())? == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let (data, r) = batch
            .get(0)
            .ok_or_else(|| io::Error::other("datagram without an IP source address"))?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(r)
    }

    /// Send `buf` to `dst` without waiting (`WouldBlock` when the socket
    /// buffer is full). On a wildcard socket, `from` picks the source
    /// address (the address the request came to).
    pub fn send_to(&self, buf: &[u8], dst: SocketAddr, from: Option<IpAddr>) -> io::Result<usize> {
        let from = if self.wildcard { from } else { None };
        batch::send_one(self.raw_fd(), buf, dst, from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wait (briefly) for a datagram: loopback delivery is immediate, but
    /// the socket is non-blocking.
    fn recv(s: &NtpSocket, buf: &mut [u8]) -> Received {
        let mut batch = RecvBatch::new();
        for _ in 0..1000 {
            match s.recv_one(&mut batch, buf) {
                Ok(r) => return r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("no datagram");
    }

    /// Send `data` from `from` to `to` until a datagram arrives with a
    /// kernel timestamp: the kernel turns receive timestamping on
    /// system-wide only after a deferred static-key switch, so the first
    /// datagrams after the first timestamping socket appears may carry
    /// none (the daemon then reads the clock).
    fn recv_stamped(
        from: &std::net::UdpSocket,
        to: SocketAddr,
        s: &NtpSocket,
        data: &[u8],
        buf: &mut [u8],
    ) -> Received {
        for _ in 0..100 {
            from.send_to(data, to).unwrap();
            let r = recv(s, buf);
            if r.rx_time.is_some() {
                return r;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no datagram with a kernel receive timestamp");
    }

    #[test]
    fn kernel_timestamp_and_source_on_a_specific_socket() {
        let a = NtpSocket::bind("127.0.0.1:0".parse().unwrap(), "lo").unwrap();
        assert_eq!(a.rx_timestamps(), RxTimestamps::Timestamping);
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = NtpTimestamp::from_system_time(std::time::SystemTime::now());
        let mut buf = [0u8; 64];
        let r = recv_stamped(&b, a.local_addr(), &a, b"hello", &mut buf);
        let after = NtpTimestamp::from_system_time(std::time::SystemTime::now());
        assert_eq!(&buf[..r.len], b"hello");
        assert_eq!(r.src, b.local_addr().unwrap());
        let rx = r.rx_time.expect("SO_TIMESTAMPING");
        assert!((rx - before).to_seconds_f64() >= 0.0);
        assert!((after - rx).to_seconds_f64() >= 0.0);
        assert!(!r.truncated);
    }

    #[test]
    fn wildcard_socket_learns_the_destination_and_replies_from_it() {
        let w = NtpSocket::bind("0.0.0.0:0".parse().unwrap(), "wildcard").unwrap();
        let port = w.local_addr().port();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 64];
        let to = SocketAddr::from(([127, 0, 0, 2], port));
        let r = recv_stamped(&b, to, &w, b"ping", &mut buf);
        assert_eq!(r.dst, Some(IpAddr::from([127, 0, 0, 2])));
        w.send_to(b"pong", r.src, r.dst).unwrap();
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"pong");
        assert_eq!(from, SocketAddr::from(([127, 0, 0, 2], port)));
    }

    #[test]
    fn ipv6_loopback_works() {
        let a = match NtpSocket::bind("[::1]:0".parse().unwrap(), "lo") {
            Ok(a) => a,
            // A host without IPv6 is no failure of ours, except in CI,
            // whose machine has ::1 (a prerequisite is never skipped there).
            Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("skipped: ipv6_loopback_works: no IPv6 loopback on this host ({e})");
                return;
            }
            Err(e) => panic!("no IPv6 loopback ([::1]) under CI=true: {e}"),
        };
        let b = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let mut buf = [0u8; 16];
        let r = recv_stamped(&b, a.local_addr(), &a, b"v6", &mut buf);
        assert_eq!(&buf[..r.len], b"v6");
        a.send_to(b"ok", r.src, None).unwrap();
        let (n, _) = b.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ok");
    }

    #[test]
    fn sockets_are_non_blocking_and_close_on_exec() {
        let a = NtpSocket::bind("127.0.0.1:0".parse().unwrap(), "lo").unwrap();
        use nix::fcntl::{fcntl, FcntlArg};
        let fl = fcntl(&a.fd, FcntlArg::F_GETFL).unwrap();
        assert_ne!(fl & libc::O_NONBLOCK, 0);
        let fd = fcntl(&a.fd, FcntlArg::F_GETFD).unwrap();
        assert_ne!(fd & libc::FD_CLOEXEC, 0);
        let mut batch = RecvBatch::new();
        let e = a.recv_one(&mut batch, &mut [0u8; 8]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn multicast_ttl_and_join_on_a_wildcard_socket() {
        let w = NtpSocket::bind("0.0.0.0:0".parse().unwrap(), "wildcard").unwrap();
        w.set_multicast_ttl(7).unwrap();
        // Joining needs a multicast-capable interface; loopback-only
        // namespaces have none, which is an error, not a panic.
        let _ = w.join_multicast(IpAddr::from([224, 0, 1, 1]));
    }
}
