//! Receiving up to a batch of datagrams with one `recvmmsg(2)`.

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::ptr;

use super::addr::{empty_storage, sockaddr_to_std, STORAGE_LEN};
use super::cmsg::{self, empty_msghdr, RX_CMSG_WORDS};
use super::{check, unsupported, would_block, UnixTime};

/// Whether a receive may wait for the first datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Never wait (`MSG_DONTWAIT`): `Ok(0)` when nothing is queued.
    No,
    /// Block until one datagram is there (or the socket's receive
    /// timeout expires), then take what else is queued without waiting
    /// (`MSG_WAITFORONE`).
    ForOne,
}

impl Wait {
    /// Flags for `recvmmsg`.
    fn batch_flags(self) -> libc::c_int {
        match self {
            Wait::No => libc::MSG_DONTWAIT,
            Wait::ForOne => libc::MSG_WAITFORONE,
        }
    }

    /// Flags for the one-datagram `recvmsg` fallback.
    fn single_flags(self) -> libc::c_int {
        match self {
            Wait::No => libc::MSG_DONTWAIT,
            Wait::ForOne => 0,
        }
    }
}

/// One datagram of the last receive, with what the kernel said about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// The octets received (at most the slot length).
    pub data: &'a [u8],
    /// Octets the kernel reported for the datagram.
    pub len: usize,
    /// Whether the datagram was longer than the slot and was cut.
    pub truncated: bool,
    /// The sender.
    pub src: SocketAddr,
    /// The address it was sent to (from `IP_PKTINFO`/`IPV6_PKTINFO`, on
    /// sockets that ask for it).
    pub dst: Option<IpAddr>,
    /// The kernel receive timestamp (`SO_TIMESTAMPING` or
    /// `SO_TIMESTAMPNS`, on sockets that ask for one).
    pub rx_time: Option<UnixTime>,
}

/// Receive buffers for up to `slots` datagrams of `slot_len` octets each.
pub struct RecvBatch {
    slot_len: usize,
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
            .field("slots", &self.hdrs.len())
            .field("slot_len", &self.slot_len)
            .field("len", &self.len)
            .field("use_mmsg", &self.use_mmsg)
            .finish()
    }
}

impl RecvBatch {
    /// Buffers for `slots` datagrams (at least one) of up to `slot_len`
    /// octets each. Make `slot_len` one more than the longest datagram
    /// wanted, so that a longer one is recognised as truncated.
    pub fn new(slots: usize, slot_len: usize) -> RecvBatch {
        let slots = slots.max(1);
        let mut b = RecvBatch {
            slot_len,
            bufs: vec![0; slots * slot_len],
            names: vec![empty_storage(); slots],
            ctrl: vec![[0; RX_CMSG_WORDS]; slots],
            iovs: vec![
                libc::iovec {
                    iov_base: ptr::null_mut(),
                    iov_len: 0
                };
                slots
            ],
            hdrs: (0..slots)
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

    /// Datagrams one receive can take.
    pub fn capacity(&self) -> usize {
        self.hdrs.len()
    }

    /// Point every header at its own buffers. The buffers are heap
    /// allocations that never move, so this is done once; after a receive
    /// only the lengths the kernel shortened need resetting ([`prepare`]).
    ///
    /// [`prepare`]: Self::prepare
    fn point_all(&mut self) {
        for i in 0..self.hdrs.len() {
            let slot = &mut self.bufs[i * self.slot_len..(i + 1) * self.slot_len];
            self.iovs[i].iov_base = slot.as_mut_ptr().cast();
            self.iovs[i].iov_len = self.slot_len;
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = ptr::addr_of_mut!(self.names[i]).cast();
            h.msg_namelen = STORAGE_LEN;
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
        let dirty = self.dirty.min(self.hdrs.len());
        for m in &mut self.hdrs[..dirty] {
            m.msg_hdr.msg_namelen = STORAGE_LEN;
            m.msg_hdr.msg_controllen = mem::size_of::<[u64; RX_CMSG_WORDS]>();
            m.msg_hdr.msg_flags = 0;
            m.msg_len = 0;
        }
        self.dirty = 0;
    }

    /// Take the datagrams waiting on `fd`: up to [`capacity`] with
    /// `recvmmsg`, or one with `recvmsg` where `recvmmsg` is not supported
    /// (then for good: later receives go straight to `recvmsg`). `Ok(0)`
    /// when none is waiting (`EAGAIN`, also a receive timeout) or a signal
    /// interrupted the wait.
    ///
    /// [`capacity`]: Self::capacity
    pub fn receive(&mut self, fd: RawFd, wait: Wait) -> io::Result<usize> {
        self.len = 0;
        self.prepare();
        let slots = self.hdrs.len();
        if self.use_mmsg {
            // Whatever happens, assume every header was touched until the
            // call says how many it filled.
            self.dirty = slots;
            // SAFETY: `hdrs` holds `slots` headers pointing at live buffers
            // of the sizes given (set once in `point_all`, lengths reset by
            // `prepare`), all owned by `self` and not moved during the call.
            let n = unsafe {
                libc::recvmmsg(
                    fd,
                    self.hdrs.as_mut_ptr(),
                    slots as libc::c_uint,
                    wait.batch_flags(),
                    ptr::null_mut(),
                )
            };
            match check(n as isize) {
                Ok(n) => {
                    self.len = n;
                    self.dirty = n;
                    return Ok(n);
                }
                Err(err) if would_block(&err) => return Ok(0),
                Err(err) if !unsupported(&err) => return Err(err),
                Err(_) => self.prepare(),
            }
        }
        self.dirty = slots;
        // SAFETY: header 0 points at live buffers owned by `self` (set in
        // `point_all`, lengths reset by `prepare`).
        let n = unsafe { libc::recvmsg(fd, &mut self.hdrs[0].msg_hdr, wait.single_flags()) };
        let n = match check(n) {
            Ok(n) => n,
            Err(err) if would_block(&err) => return Ok(0),
            Err(err) => return Err(err),
        };
        if self.use_mmsg {
            tracing::debug!("recvmmsg is not supported here; receiving one datagram per call");
            self.use_mmsg = false;
        }
        self.hdrs[0].msg_len = n as libc::c_uint;
        self.len = 1;
        Ok(1)
    }

    /// Whether receives use `recvmmsg` (false once it proved unsupported).
    pub fn batched(&self) -> bool {
        self.use_mmsg
    }

    /// Datagrams taken by the last [`receive`](Self::receive).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the last receive took nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Datagram `i` of the last receive; `None` past the end or when the
    /// sender's address is not IPv4/IPv6.
    pub fn get(&self, i: usize) -> Option<Datagram<'_>> {
        if i >= self.len {
            return None;
        }
        let h = &self.hdrs[i];
        let len = h.msg_len as usize;
        let src = sockaddr_to_std(&self.names[i], h.msg_hdr.msg_namelen)?;
        let info = cmsg::read(&h.msg_hdr);
        let start = i * self.slot_len;
        let data = self.bufs.get(start..start + len.min(self.slot_len))?;
        Some(Datagram {
            data,
            len,
            truncated: h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 || len > self.slot_len,
            src,
            dst: info.dst,
            rx_time: info.rx_time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    #[test]
    fn a_burst_is_taken_in_one_call_with_its_sources() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rx = RecvBatch::new(16, 64);
        assert_eq!(rx.receive(server.as_raw_fd(), Wait::No).unwrap(), 0);
        for i in 0..5u8 {
            client
                .send_to(&[i; 48], server.local_addr().unwrap())
                .unwrap();
        }
        assert_eq!(rx.receive(server.as_raw_fd(), Wait::No).unwrap(), 5);
        assert!(rx.batched());
        for i in 0..5 {
            let d = rx.get(i).unwrap();
            assert_eq!(d.data, &[i as u8; 48][..]);
            assert_eq!((d.len, d.truncated), (48, false));
            assert_eq!(d.src, client.local_addr().unwrap());
            assert_eq!((d.dst, d.rx_time), (None, None), "nothing asked for");
        }
        assert!(rx.get(5).is_none());
    }

    #[test]
    fn wait_for_one_blocks_until_the_socket_timeout() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let mut rx = RecvBatch::new(4, 64);
        assert_eq!(rx.receive(server.as_raw_fd(), Wait::ForOne).unwrap(), 0);
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.send_to(b"x", server.local_addr().unwrap()).unwrap();
        assert_eq!(rx.receive(server.as_raw_fd(), Wait::ForOne).unwrap(), 1);
        assert_eq!(rx.get(0).unwrap().data, b"x");
    }

    #[test]
    fn a_datagram_longer_than_its_slot_is_marked_truncated() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .send_to(&[7u8; 100], server.local_addr().unwrap())
            .unwrap();
        let mut rx = RecvBatch::new(2, 49);
        assert_eq!(rx.receive(server.as_raw_fd(), Wait::No).unwrap(), 1);
        let d = rx.get(0).unwrap();
        assert!(d.truncated);
        assert_eq!(d.data.len(), 49);
    }

    #[test]
    fn timestampns_gives_a_kernel_receive_time() {
        use nix::sys::socket::{setsockopt, sockopt};
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        setsockopt(&server, sockopt::ReceiveTimestampns, &true).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        client.send_to(b"t", server.local_addr().unwrap()).unwrap();
        let mut rx = RecvBatch::new(2, 64);
        let mut got = 0;
        for _ in 0..100 {
            got = rx.receive(server.as_raw_fd(), Wait::No).unwrap();
            if got > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(got, 1);
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let t = rx.get(0).unwrap().rx_time.expect("SCM_TIMESTAMPNS");
        let t = Duration::new(t.secs as u64, t.nanos);
        assert!(
            before <= t && t <= after,
            "{before:?} <= {t:?} <= {after:?}"
        );
    }

    #[test]
    fn a_bad_descriptor_is_an_error_not_a_datagram() {
        let mut rx = RecvBatch::new(2, 64);
        // EBADF from recvmmsg counts as "unsupported", and the recvmsg
        // fallback then reports it.
        let e = rx.receive(-1, Wait::No).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
        assert!(rx.is_empty());
    }
}
