//! One UDP socket: bound with socket2, driven by tokio, read with
//! `recvmsg` to get the kernel receive timestamp (`SO_TIMESTAMPNS`) and,
//! on wildcard sockets, the destination address (`IP_PKTINFO`,
//! `IPV6_RECVPKTINFO`), so that a reply leaves from the address the
//! request came to.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    recvmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
    SockaddrIn, SockaddrIn6, SockaddrStorage,
};
use proto::NtpTimestamp;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;

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

/// A bound NTP socket.
#[derive(Debug)]
pub struct NtpSocket {
    sock: UdpSocket,
    local: SocketAddr,
    wildcard: bool,
    name: String,
}

fn to_socket_addr(s: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = s.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    s.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

impl NtpSocket {
    /// Bind `addr` (a wildcard address binds the wildcard socket of its
    /// family). `name` is the interface name for logs. Must be called
    /// inside a tokio runtime.
    pub fn bind(addr: SocketAddr, name: &str) -> io::Result<NtpSocket> {
        let domain = if addr.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        };
        let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_reuse_address(true)?;
        if addr.is_ipv6() {
            s.set_only_v6(true)?;
        }
        let wildcard = addr.ip().is_unspecified();
        setsockopt(&s, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
        if wildcard {
            if addr.is_ipv4() {
                setsockopt(&s, sockopt::Ipv4PacketInfo, &true).map_err(io::Error::from)?;
            } else {
                setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
            }
        }
        if addr.is_ipv4() && !wildcard {
            // Sending broadcasts needs this; harmless otherwise.
            s.set_broadcast(true)?;
        }
        s.set_nonblocking(true)?;
        s.bind(&addr.into())?;
        let std_sock: std::net::UdpSocket = s.into();
        let local = std_sock.local_addr()?;
        Ok(NtpSocket {
            sock: UdpSocket::from_std(std_sock)?,
            local,
            wildcard,
            name: name.to_owned(),
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

    /// The underlying tokio socket (for multicast joins and TTL).
    pub fn socket(&self) -> &UdpSocket {
        &self.sock
    }

    /// Receive one datagram into `buf`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            self.sock.readable().await?;
            match self.sock.try_io(Interest::READABLE, || self.recv_now(buf)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }

    fn recv_now(&self, buf: &mut [u8]) -> io::Result<Received> {
        let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec, libc::in6_pktinfo);
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<SockaddrStorage>(
            self.sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .map_err(io::Error::from)?;
        let src = msg
            .address
            .as_ref()
            .and_then(to_socket_addr)
            .ok_or_else(|| io::Error::other("datagram without a source address"))?;
        let mut out = Received {
            len: msg.bytes,
            truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
            src,
            dst: None,
            rx_time: None,
        };
        for c in msg.cmsgs().map_err(io::Error::from)? {
            match c {
                ControlMessageOwned::ScmTimestampns(ts) => {
                    let nanos = u32::try_from(ts.tv_nsec()).unwrap_or(0);
                    out.rx_time = Some(NtpTimestamp::from_unix(ts.tv_sec(), nanos));
                }
                ControlMessageOwned::Ipv4PacketInfo(pi) => {
                    out.dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(pi.ipi_addr.s_addr))));
                }
                ControlMessageOwned::Ipv6PacketInfo(pi) => {
                    out.dst = Some(IpAddr::V6(Ipv6Addr::from(pi.ipi6_addr.s6_addr)));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Send `buf` to `dst`. On a wildcard socket, `from` picks the source
    /// address (the address the request came to).
    pub async fn send_to(
        &self,
        buf: &[u8],
        dst: SocketAddr,
        from: Option<IpAddr>,
    ) -> io::Result<usize> {
        loop {
            self.sock.writable().await?;
            match self
                .sock
                .try_io(Interest::WRITABLE, || self.send_now(buf, dst, from))
            {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }

    /// Try to send without waiting; `WouldBlock` when the socket is full.
    pub fn try_send_to(
        &self,
        buf: &[u8],
        dst: SocketAddr,
        from: Option<IpAddr>,
    ) -> io::Result<usize> {
        self.sock
            .try_io(Interest::WRITABLE, || self.send_now(buf, dst, from))
    }

    fn send_now(&self, buf: &[u8], dst: SocketAddr, from: Option<IpAddr>) -> io::Result<usize> {
        let iov = [IoSlice::new(buf)];
        let fd = self.sock.as_raw_fd();
        let from = if self.wildcard { from } else { None };
        let r = match (dst, from) {
            (SocketAddr::V4(d), Some(IpAddr::V4(f))) => {
                let pi = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(f).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                sendmsg(
                    fd,
                    &iov,
                    &[ControlMessage::Ipv4PacketInfo(&pi)],
                    MsgFlags::empty(),
                    Some(&SockaddrIn::from(d)),
                )
            }
            (SocketAddr::V6(d), Some(IpAddr::V6(f))) => {
                let pi = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: f.octets(),
                    },
                    ipi6_ifindex: 0,
                };
                sendmsg(
                    fd,
                    &iov,
                    &[ControlMessage::Ipv6PacketInfo(&pi)],
                    MsgFlags::empty(),
                    Some(&SockaddrIn6::from(d)),
                )
            }
            (SocketAddr::V4(d), _) => {
                sendmsg::<SockaddrIn>(fd, &iov, &[], MsgFlags::empty(), Some(&SockaddrIn::from(d)))
            }
            (SocketAddr::V6(d), _) => sendmsg::<SockaddrIn6>(
                fd,
                &iov,
                &[],
                MsgFlags::empty(),
                Some(&SockaddrIn6::from(d)),
            ),
        };
        r.map_err(io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn kernel_timestamp_and_source_on_a_specific_socket() {
        rt().block_on(async {
            let a = NtpSocket::bind("127.0.0.1:0".parse().unwrap(), "lo").unwrap();
            let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let before = NtpTimestamp::from_system_time(std::time::SystemTime::now());
            b.send_to(b"hello", a.local_addr()).unwrap();
            let mut buf = [0u8; 64];
            let r = a.recv(&mut buf).await.unwrap();
            let after = NtpTimestamp::from_system_time(std::time::SystemTime::now());
            assert_eq!(&buf[..r.len], b"hello");
            assert_eq!(r.src, b.local_addr().unwrap());
            let rx = r.rx_time.expect("SO_TIMESTAMPNS");
            assert!((rx - before).to_seconds_f64() >= 0.0);
            assert!((after - rx).to_seconds_f64() >= 0.0);
            assert!(!r.truncated);
        });
    }

    #[test]
    fn wildcard_socket_learns_the_destination_and_replies_from_it() {
        rt().block_on(async {
            let w = NtpSocket::bind("0.0.0.0:0".parse().unwrap(), "wildcard").unwrap();
            let port = w.local_addr().port();
            let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            b.send_to(b"ping", ("127.0.0.2", port)).unwrap();
            let mut buf = [0u8; 64];
            let r = w.recv(&mut buf).await.unwrap();
            assert_eq!(r.dst, Some(IpAddr::from([127, 0, 0, 2])));
            w.send_to(b"pong", r.src, r.dst).await.unwrap();
            let (n, from) = b.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"pong");
            assert_eq!(from, SocketAddr::from(([127, 0, 0, 2], port)));
        });
    }

    #[test]
    fn ipv6_loopback_works() {
        rt().block_on(async {
            let Ok(a) = NtpSocket::bind("[::1]:0".parse().unwrap(), "lo") else {
                eprintln!("skipped: no IPv6 loopback on this host");
                return;
            };
            let b = std::net::UdpSocket::bind("[::1]:0").unwrap();
            b.send_to(b"v6", a.local_addr()).unwrap();
            let mut buf = [0u8; 16];
            let r = a.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..r.len], b"v6");
            assert!(r.rx_time.is_some());
            a.send_to(b"ok", r.src, None).await.unwrap();
            let (n, _) = b.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"ok");
        });
    }
}
