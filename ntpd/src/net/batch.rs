//! Batched datagram I/O: `recvmmsg`/`sendmmsg` with a fallback to
//! `recvmsg`/`sendmsg` (one datagram per call) when the batched calls fail
//! for lack of support — as under a libc-level simulator such as
//! clknetsim, which wraps `recvmmsg` but not `sendmmsg`.
//!
//! A reply costs two system calls without batching; under load the
//! kernel's UDP path dominates the server's CPU time, so taking up to
//! [`BATCH`] datagrams per call is where the daemon's reply path gets
//! close to a bare echo server.
//!
//! The buffers are allocated once ([`RecvBatch::new`], [`SendBatch::new`])
//! and reused for every call: the receive and reply path allocates
//! nothing per datagram.
//!
//! This module holds the daemon's only socket `unsafe`: the `mmsghdr`
//! arrays point into buffers owned by the same struct, and every pointer
//! is refreshed just before the call that uses it.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;
use std::ptr;

use proto::NtpTimestamp;

use super::socket::Received;

/// Datagrams taken or sent per system call.
pub const BATCH: usize = 32;

/// Octets of one datagram buffer: one more than the largest datagram the
/// protocol processes, so that an oversized one is recognised.
pub const SLOT: usize = proto::MAX_DATAGRAM_LEN + 1;

/// Control-message space of one received datagram: `SCM_TIMESTAMPING`
/// (three timespecs) plus `IPV6_PKTINFO`, with room to spare; as `u64`
/// words so the buffer is aligned for `cmsghdr`.
const RX_CMSG_WORDS: usize = 32;

/// Control-message space of one sent datagram: one `IP(V6)_PKTINFO`.
const TX_CMSG_WORDS: usize = 8;

fn empty_msghdr() -> libc::msghdr {
    // SAFETY: `msghdr` is a plain C struct for which all-zero is a valid
    // value (null pointers, zero lengths).
    unsafe { mem::zeroed() }
}

fn empty_storage() -> libc::sockaddr_storage {
    // SAFETY: as above, a zeroed `sockaddr_storage` is AF_UNSPEC.
    unsafe { mem::zeroed() }
}

/// Whether `err` says the call itself is not available on this socket
/// (rather than "nothing to read" or a per-datagram error).
fn unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOSYS | libc::EBADF | libc::ENOTSOCK | libc::EINVAL | libc::EOPNOTSUPP)
    )
}

fn would_block(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EAGAIN | libc::EINTR) // EWOULDBLOCK == EAGAIN on Linux
    )
}

/// Receive buffers for up to [`BATCH`] datagrams.
pub struct RecvBatch {
    bufs: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    ctrl: Vec<[u64; RX_CMSG_WORDS]>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    len: usize,
    use_mmsg: bool,
    /// Headers the kernel may have changed since they were last reset.
    dirty: usize,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("len", &self.len)
            .field("use_mmsg", &self.use_mmsg)
            .finish()
    }
}

impl Default for RecvBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvBatch {
    /// Buffers for [`BATCH`] datagrams.
    pub fn new() -> RecvBatch {
        let mut b = RecvBatch {
            bufs: vec![0; BATCH * SLOT],
            names: vec![empty_storage(); BATCH],
            ctrl: vec![[0; RX_CMSG_WORDS]; BATCH],
            iovs: vec![
                libc::iovec {
                    iov_base: ptr::null_mut(),
                    iov_len: 0
                };
                BATCH
            ],
            hdrs: (0..BATCH)
                .map(|_| libc::mmsghdr {
                    msg_hdr: empty_msghdr(),
                    msg_len: 0,
                })
                .collect(),
            len: 0,
            use_mmsg: true,
            dirty: 0,
        };
        b.point_all();
        b
    }

    /// Point every header at its own buffers. The buffers are heap
    /// allocations that never move, so this is done once; after a receive
    /// only the lengths the kernel shortened need resetting ([`prepare`]).
    ///
    /// [`prepare`]: Self::prepare
    fn point_all(&mut self) {
        let bufs = self.bufs.as_mut_ptr();
        for i in 0..BATCH {
            // SAFETY: `i * SLOT + SLOT <= bufs.len()`.
            self.iovs[i].iov_base = unsafe { bufs.add(i * SLOT) }.cast();
            self.iovs[i].iov_len = SLOT;
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = ptr::addr_of_mut!(self.names[i]).cast();
            h.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = ptr::addr_of_mut!(self.iovs[i]);
            h.msg_iovlen = 1;
            h.msg_control = self.ctrl[i].as_mut_ptr().cast();
            h.msg_controllen = mem::size_of::<[u64; RX_CMSG_WORDS]>();
            h.msg_flags = 0;
            self.hdrs[i].msg_len = 0;
        }
        self.dirty = 0;
    }

    /// Reset what the kernel changed in the headers of the last receive:
    /// `msg_namelen`, `msg_controllen` (shortened on return) and the flags.
    fn prepare(&mut self) {
        for m in &mut self.hdrs[..self.dirty.min(BATCH)] {
            m.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_hdr.msg_controllen = mem::size_of::<[u64; RX_CMSG_WORDS]>();
            m.msg_hdr.msg_flags = 0;
            m.msg_len = 0;
        }
        self.dirty = 0;
    }

    /// Take the datagrams waiting on `fd` (non-blocking): up to [`BATCH`]
    /// with `recvmmsg`, or one with `recvmsg` where `recvmmsg` is not
    /// supported. `Ok(0)` when none is waiting.
    pub fn receive(&mut self, fd: RawFd) -> io::Result<usize> {
        self.len = 0;
        self.prepare();
        if self.use_mmsg {
            // Whatever happens, assume every header was touched until the
            // call says how many it filled.
            self.dirty = BATCH;
            // SAFETY: `hdrs` holds BATCH headers pointing at live buffers
            // of the sizes given (set once; lengths reset above).
            let n = unsafe {
                libc::recvmmsg(
                    fd,
                    self.hdrs.as_mut_ptr(),
                    BATCH as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    ptr::null_mut(),
                )
            };
            if n >= 0 {
                self.len = n as usize;
                self.dirty = self.len;
                return Ok(self.len);
            }
            let err = io::Error::last_os_error();
            if would_block(&err) {
                return Ok(0);
            }
            if !unsupported(&err) {
                return Err(err);
            }
            self.prepare();
        }
        self.dirty = BATCH;
        // SAFETY: header 0 points at live buffers (prepare above).
        let n = unsafe { libc::recvmsg(fd, &mut self.hdrs[0].msg_hdr, libc::MSG_DONTWAIT) };
        if n < 0 {
            let err = io::Error::last_os_error();
            return if would_block(&err) { Ok(0) } else { Err(err) };
        }
        if self.use_mmsg {
            tracing::debug!("recvmmsg is not supported here; receiving one datagram per call");
            self.use_mmsg = false;
        }
        self.hdrs[0].msg_len = n as libc::c_uint;
        self.len = 1;
        Ok(1)
    }

    /// Datagrams taken by the last [`receive`](Self::receive).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the last receive took nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Datagram `i` of the last receive and its metadata; `None` past the
    /// end or when the sender's address is not IPv4/IPv6.
    pub fn get(&self, i: usize) -> Option<(&[u8], Received)> {
        if i >= self.len {
            return None;
        }
        let h = &self.hdrs[i];
        let len = h.msg_len as usize;
        let src = sockaddr_to_std(&self.names[i], h.msg_hdr.msg_namelen)?;
        let mut r = Received {
            len,
            truncated: h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 || len > SLOT,
            src,
            dst: None,
            rx_time: None,
        };
        read_cmsgs(&h.msg_hdr, &mut r);
        let data = self.bufs.get(i * SLOT..i * SLOT + len.min(SLOT))?;
        Some((data, r))
    }
}

/// The kernel receive timestamp and destination address from a received
/// header's control messages.
fn read_cmsgs(h: &libc::msghdr, r: &mut Received) {
    if h.msg_control.is_null() || h.msg_controllen == 0 {
        return;
    }
    // SAFETY: the header's control pointer/length describe the buffer the
    // kernel filled; CMSG_FIRSTHDR/CMSG_NXTHDR stay inside it, and every
    // payload read is bounded by the cmsg's own length and unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            let level = (*c).cmsg_level;
            let kind = (*c).cmsg_type;
            let payload = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
            let data = libc::CMSG_DATA(c);
            match (level, kind) {
                (libc::SOL_SOCKET, libc::SCM_TIMESTAMPING)
                    if payload >= mem::size_of::<libc::timespec>() =>
                {
                    // [0] software, [1] legacy, [2] raw hardware.
                    let ts: libc::timespec = ptr::read_unaligned(data.cast());
                    if ts.tv_sec != 0 || ts.tv_nsec != 0 {
                        r.rx_time = Some(timespec_to_ntp(&ts));
                    }
                }
                (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS)
                    if payload >= mem::size_of::<libc::timespec>() =>
                {
                    let ts: libc::timespec = ptr::read_unaligned(data.cast());
                    r.rx_time = Some(timespec_to_ntp(&ts));
                }
                (libc::IPPROTO_IP, libc::IP_PKTINFO)
                    if payload >= mem::size_of::<libc::in_pktinfo>() =>
                {
                    let pi: libc::in_pktinfo = ptr::read_unaligned(data.cast());
                    r.dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(pi.ipi_addr.s_addr))));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                    if payload >= mem::size_of::<libc::in6_pktinfo>() =>
                {
                    let pi: libc::in6_pktinfo = ptr::read_unaligned(data.cast());
                    r.dst = Some(IpAddr::V6(Ipv6Addr::from(pi.ipi6_addr.s6_addr)));
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
    }
}

fn timespec_to_ntp(ts: &libc::timespec) -> NtpTimestamp {
    let nanos = u32::try_from(ts.tv_nsec).unwrap_or(0).min(999_999_999);
    NtpTimestamp::from_unix(ts.tv_sec, nanos)
}

/// A `sockaddr_storage` the kernel filled, as a std address.
pub fn sockaddr_to_std(s: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match i32::from(s.ss_family) {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, and
            // sockaddr_storage is larger and at least as aligned.
            let a: libc::sockaddr_in = unsafe { ptr::read(ptr::from_ref(s).cast()) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let a: libc::sockaddr_in6 = unsafe { ptr::read(ptr::from_ref(s).cast()) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                u32::from_be(a.sin6_flowinfo),
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// A std address as a `sockaddr_storage` and its length.
pub fn std_to_sockaddr(a: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    let mut s = empty_storage();
    let len = match a {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger and at least as aligned.
            unsafe { ptr::write(ptr::from_mut(&mut s).cast(), sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo().to_be(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: as above.
            unsafe { ptr::write(ptr::from_mut(&mut s).cast(), sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (s, len as libc::socklen_t)
}

/// Write a `IP_PKTINFO`/`IPV6_PKTINFO` control message choosing `from` as
/// the source address into `buf`; returns the control length used (0 when
/// `from` is of the other family than `dst`).
fn write_pktinfo(buf: &mut [u64; TX_CMSG_WORDS], dst: SocketAddr, from: IpAddr) -> usize {
    let mut h = empty_msghdr();
    h.msg_control = buf.as_mut_ptr().cast();
    h.msg_controllen = mem::size_of::<[u64; TX_CMSG_WORDS]>();
    // SAFETY: CMSG_SPACE of either pktinfo (<= 40 octets) fits the 64-octet
    // buffer; the first header is inside it and the payload write is
    // bounded by CMSG_LEN of the payload's size.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&h);
        if c.is_null() {
            return 0;
        }
        match (dst, from) {
            (SocketAddr::V4(_), IpAddr::V4(f)) => {
                let pi = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(f).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                (*c).cmsg_level = libc::IPPROTO_IP;
                (*c).cmsg_type = libc::IP_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(mem::size_of_val(&pi) as u32) as usize;
                ptr::write_unaligned(libc::CMSG_DATA(c).cast(), pi);
                libc::CMSG_SPACE(mem::size_of_val(&pi) as u32) as usize
            }
            (SocketAddr::V6(_), IpAddr::V6(f)) => {
                let pi = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: f.octets(),
                    },
                    ipi6_ifindex: 0,
                };
                (*c).cmsg_level = libc::IPPROTO_IPV6;
                (*c).cmsg_type = libc::IPV6_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(mem::size_of_val(&pi) as u32) as usize;
                ptr::write_unaligned(libc::CMSG_DATA(c).cast(), pi);
                libc::CMSG_SPACE(mem::size_of_val(&pi) as u32) as usize
            }
            _ => 0,
        }
    }
}

/// Send one datagram with `sendmsg`, from `from` when given (a wildcard
/// socket's reply leaves from the address the request came to).
pub fn send_one(fd: RawFd, buf: &[u8], dst: SocketAddr, from: Option<IpAddr>) -> io::Result<usize> {
    let (mut name, namelen) = std_to_sockaddr(dst);
    let mut ctrl = [0u64; TX_CMSG_WORDS];
    let ctrl_len = from.map_or(0, |f| write_pktinfo(&mut ctrl, dst, f));
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr().cast_mut().cast(),
        iov_len: buf.len(),
    };
    let mut h = empty_msghdr();
    h.msg_name = ptr::addr_of_mut!(name).cast();
    h.msg_namelen = namelen;
    h.msg_iov = &mut iov;
    h.msg_iovlen = 1;
    if ctrl_len > 0 {
        h.msg_control = ctrl.as_mut_ptr().cast();
        h.msg_controllen = ctrl_len;
    }
    // SAFETY: every pointer in `h` refers to a local that outlives the
    // call; the kernel only reads the iovec's buffer.
    let n = unsafe { libc::sendmsg(fd, &h, libc::MSG_DONTWAIT) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Outgoing datagrams collected for one `sendmmsg`.
pub struct SendBatch {
    bufs: Vec<u8>,
    lens: Vec<usize>,
    names: Vec<libc::sockaddr_storage>,
    namelens: Vec<libc::socklen_t>,
    ctrl: Vec<[u64; TX_CMSG_WORDS]>,
    ctrl_lens: Vec<usize>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    queued: usize,
    use_mmsg: bool,
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch")
            .field("queued", &self.queued)
            .field("use_mmsg", &self.use_mmsg)
            .finish()
    }
}

impl Default for SendBatch {
    fn default() -> Self {
        Self::new()
    }
}

/// What a [`SendBatch::flush`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Datagrams the kernel took.
    pub sent: usize,
    /// Datagrams dropped (socket buffer full or a send error).
    pub failed: usize,
}

impl SendBatch {
    /// Room for [`BATCH`] datagrams.
    pub fn new() -> SendBatch {
        SendBatch {
            bufs: vec![0; BATCH * SLOT],
            lens: vec![0; BATCH],
            names: vec![empty_storage(); BATCH],
            namelens: vec![0; BATCH],
            ctrl: vec![[0; TX_CMSG_WORDS]; BATCH],
            ctrl_lens: vec![0; BATCH],
            iovs: vec![
                libc::iovec {
                    iov_base: ptr::null_mut(),
                    iov_len: 0
                };
                BATCH
            ],
            hdrs: (0..BATCH)
                .map(|_| libc::mmsghdr {
                    msg_hdr: empty_msghdr(),
                    msg_len: 0,
                })
                .collect(),
            queued: 0,
            use_mmsg: true,
        }
    }

    /// Datagrams waiting for [`flush`](Self::flush).
    pub fn len(&self) -> usize {
        self.queued
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Whether the batch is full (flush before queueing more).
    pub fn is_full(&self) -> bool {
        self.queued == BATCH
    }

    /// The buffer the next datagram is built in, `None` when full.
    pub fn next_buffer(&mut self) -> Option<&mut [u8]> {
        let i = self.queued;
        self.bufs.get_mut(i * SLOT..(i + 1) * SLOT)
    }

    /// Queue the `len` octets just built in [`next_buffer`](Self::next_buffer)
    /// for `dst`, leaving from `from` when given.
    pub fn commit(&mut self, len: usize, dst: SocketAddr, from: Option<IpAddr>) {
        let i = self.queued;
        if i >= BATCH || len > SLOT {
            return;
        }
        self.lens[i] = len;
        let (name, namelen) = std_to_sockaddr(dst);
        self.names[i] = name;
        self.namelens[i] = namelen;
        self.ctrl_lens[i] = from.map_or(0, |f| write_pktinfo(&mut self.ctrl[i], dst, f));
        self.queued += 1;
    }

    /// Queue a copy of `data`; false if full or too long.
    pub fn push(&mut self, data: &[u8], dst: SocketAddr, from: Option<IpAddr>) -> bool {
        let Some(buf) = self.next_buffer() else {
            return false;
        };
        let Some(slot) = buf.get_mut(..data.len()) else {
            return false;
        };
        slot.copy_from_slice(data);
        self.commit(data.len(), dst, from);
        true
    }

    fn prepare(&mut self) {
        let bufs = self.bufs.as_mut_ptr();
        for i in 0..self.queued {
            // SAFETY: `i * SLOT + lens[i] <= bufs.len()`.
            self.iovs[i].iov_base = unsafe { bufs.add(i * SLOT) }.cast();
            self.iovs[i].iov_len = self.lens[i];
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = ptr::addr_of_mut!(self.names[i]).cast();
            h.msg_namelen = self.namelens[i];
            h.msg_iov = ptr::addr_of_mut!(self.iovs[i]);
            h.msg_iovlen = 1;
            if self.ctrl_lens[i] > 0 {
                h.msg_control = self.ctrl[i].as_mut_ptr().cast();
                h.msg_controllen = self.ctrl_lens[i];
            } else {
                h.msg_control = ptr::null_mut();
                h.msg_controllen = 0;
            }
            h.msg_flags = 0;
        }
    }

    /// Send everything queued on `fd` (non-blocking) and empty the batch.
    /// Datagrams the socket cannot take now are dropped and counted, as
    /// a server under overload must.
    pub fn flush(&mut self, fd: RawFd) -> Flushed {
        let mut out = Flushed::default();
        if self.queued == 0 {
            return out;
        }
        self.prepare();
        let mut at = 0;
        while at < self.queued && self.use_mmsg {
            // SAFETY: headers at..queued point at live buffers (prepare).
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    self.hdrs[at..].as_mut_ptr(),
                    (self.queued - at) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if n > 0 {
                out.sent += n as usize;
                at += n as usize;
                continue;
            }
            let err = io::Error::last_os_error();
            if unsupported(&err) {
                tracing::debug!(
                    "sendmmsg is not supported here ({err}); sending one datagram per call"
                );
                self.use_mmsg = false;
                break;
            }
            if would_block(&err) {
                out.failed += self.queued - at;
                at = self.queued;
                break;
            }
            // This datagram failed (e.g. no route): skip it, send the rest.
            tracing::debug!("send: {err}");
            out.failed += 1;
            at += 1;
        }
        while at < self.queued {
            // SAFETY: header `at` points at live buffers (prepare).
            let n = unsafe { libc::sendmsg(fd, &self.hdrs[at].msg_hdr, libc::MSG_DONTWAIT) };
            if n < 0 {
                tracing::debug!("send: {}", io::Error::last_os_error());
                out.failed += 1;
            } else {
                out.sent += 1;
            }
            at += 1;
        }
        self.queued = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn sockaddr_conversion_round_trips() {
        for a in [
            "127.0.0.1:123".parse::<SocketAddr>().unwrap(),
            "[2001:db8::1]:4567".parse().unwrap(),
        ] {
            let (s, len) = std_to_sockaddr(a);
            assert_eq!(sockaddr_to_std(&s, len), Some(a));
        }
        assert_eq!(sockaddr_to_std(&empty_storage(), 128), None);
        let (s, _) = std_to_sockaddr("127.0.0.1:1".parse().unwrap());
        assert_eq!(sockaddr_to_std(&s, 4), None, "short length");
    }

    #[test]
    fn a_burst_is_taken_in_one_batch_and_answered_in_one() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        server.set_nonblocking(true).unwrap();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rx = RecvBatch::new();
        assert_eq!(rx.receive(server.as_raw_fd()).unwrap(), 0, "nothing yet");
        for i in 0..10u8 {
            client
                .send_to(&[i; 48], server.local_addr().unwrap())
                .unwrap();
        }
        let n = rx.receive(server.as_raw_fd()).unwrap();
        assert_eq!(n, 10);
        let mut tx = SendBatch::new();
        for i in 0..n {
            let (data, r) = rx.get(i).unwrap();
            assert_eq!(data, &[i as u8; 48][..]);
            assert_eq!(r.src, client.local_addr().unwrap());
            assert!(!r.truncated);
            let out = tx.next_buffer().unwrap();
            out[..4].copy_from_slice(&[0xaa, i as u8, 0, 0]);
            tx.commit(4, r.src, None);
        }
        assert_eq!(
            tx.flush(server.as_raw_fd()),
            Flushed {
                sent: 10,
                failed: 0
            }
        );
        let mut buf = [0u8; 16];
        for i in 0..10u8 {
            let (k, _) = client.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..k], &[0xaa, i, 0, 0]);
        }
    }

    #[test]
    fn lengths_the_kernel_shortened_are_reset_for_the_next_receive() {
        // A wildcard socket with PKTINFO: every datagram must come back
        // with its source and destination, batch after batch.
        let w = crate::net::socket::NtpSocket::bind("0.0.0.0:0".parse().unwrap(), "w").unwrap();
        let port = w.local_addr().port();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rx = RecvBatch::new();
        for round in 0..4u8 {
            let n = usize::from(round) * 3 + 1;
            for _ in 0..n {
                client.send_to(&[round; 48], ("127.0.0.3", port)).unwrap();
            }
            let mut got = 0;
            for _ in 0..100 {
                got += rx.receive(w.raw_fd()).unwrap();
                for i in 0..rx.len() {
                    let (data, r) = rx.get(i).unwrap();
                    assert_eq!(data, &[round; 48][..]);
                    assert_eq!(r.src, client.local_addr().unwrap());
                    assert_eq!(r.dst, Some(IpAddr::from([127, 0, 0, 3])));
                }
                if got == n {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert_eq!(got, n);
        }
    }

    #[test]
    fn an_oversized_datagram_is_marked_truncated() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .send_to(&vec![7u8; SLOT + 100], server.local_addr().unwrap())
            .unwrap();
        let mut rx = RecvBatch::new();
        assert_eq!(rx.receive(server.as_raw_fd()).unwrap(), 1);
        let (data, r) = rx.get(0).unwrap();
        assert!(r.truncated);
        assert_eq!(data.len(), SLOT);
    }

    #[test]
    fn a_full_batch_refuses_more_and_a_long_datagram_is_refused() {
        let mut tx = SendBatch::new();
        let dst: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(!tx.push(&vec![0; SLOT + 1], dst, None));
        for _ in 0..BATCH {
            assert!(tx.push(&[1, 2, 3], dst, None));
        }
        assert!(tx.is_full());
        assert!(!tx.push(&[1], dst, None));
        assert!(tx.next_buffer().is_none());
    }

    #[test]
    fn send_failures_on_a_bad_descriptor_are_counted_not_fatal() {
        let mut tx = SendBatch::new();
        let dst: SocketAddr = "127.0.0.1:9".parse().unwrap();
        tx.push(&[1, 2, 3], dst, None);
        tx.push(&[4, 5, 6], dst, None);
        // -1 is never a descriptor: sendmmsg fails with EBADF, the
        // fallback is taken and each datagram fails on its own.
        let f = tx.flush(-1);
        assert_eq!(f, Flushed { sent: 0, failed: 2 });
        assert!(tx.is_empty());
        assert!(!tx.use_mmsg);
    }
}
