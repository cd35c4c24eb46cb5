//! Sending a batch of datagrams with one `sendmmsg(2)`, and one datagram
//! with `sendmsg(2)`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::ptr;

use super::addr::{empty_storage, std_to_sockaddr};
use super::cmsg::{empty_msghdr, write_pktinfo, TX_CMSG_WORDS};
use super::{check, unsupported, would_block};

/// Send one datagram with `sendmsg` without waiting, to `dst` (`None` on a
/// connected socket), from `from` when given (a wildcard socket's reply
/// leaves from the address the request came to).
pub fn send_one(
    fd: RawFd,
    buf: &[u8],
    dst: Option<SocketAddr>,
    from: Option<IpAddr>,
) -> io::Result<usize> {
    let (mut name, namelen) = match dst {
        Some(a) => std_to_sockaddr(a),
        None => (empty_storage(), 0),
    };
    let mut ctrl = [0u64; TX_CMSG_WORDS];
    let ctrl_len = match (dst, from) {
        (Some(d), Some(f)) => write_pktinfo(&mut ctrl, d, f),
        _ => 0,
    };
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr().cast_mut().cast(),
        iov_len: buf.len(),
    };
    let mut h = empty_msghdr();
    if namelen > 0 {
        h.msg_name = ptr::addr_of_mut!(name).cast();
        h.msg_namelen = namelen;
    }
    h.msg_iov = &mut iov;
    h.msg_iovlen = 1;
    if ctrl_len > 0 {
        h.msg_control = ctrl.as_mut_ptr().cast();
        h.msg_controllen = ctrl_len;
    }
    // SAFETY: every pointer in `h` refers to a local that outlives the
    // call; the kernel only reads the iovec's buffer.
    check(unsafe { libc::sendmsg(fd, &h, libc::MSG_DONTWAIT) })
}

/// What a [`SendBatch::flush`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Datagrams the kernel took.
    pub sent: usize,
    /// Datagrams dropped (socket buffer full or a send error).
    pub failed: usize,
}

/// Outgoing datagrams collected for one `sendmmsg`: up to `slots` of
/// `slot_len` octets each.
pub struct SendBatch {
    slot_len: usize,
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
            .field("slots", &self.hdrs.len())
            .field("slot_len", &self.slot_len)
            .field("queued", &self.queued)
            .field("use_mmsg", &self.use_mmsg)
            .finish()
    }
}

impl SendBatch {
    /// Room for `slots` datagrams (at least one) of up to `slot_len`
    /// octets each.
    pub fn new(slots: usize, slot_len: usize) -> SendBatch {
        let slots = slots.max(1);
        SendBatch {
            slot_len,
            bufs: vec![0; slots * slot_len],
            lens: vec![0; slots],
            names: vec![empty_storage(); slots],
            namelens: vec![0; slots],
            ctrl: vec![[0; TX_CMSG_WORDS]; slots],
            ctrl_lens: vec![0; slots],
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
            queued: 0,
            use_mmsg: true,
        }
    }

    /// Datagrams one flush can send.
    pub fn capacity(&self) -> usize {
        self.hdrs.len()
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
        self.queued == self.hdrs.len()
    }

    /// Whether flushes use `sendmmsg` (false once it proved unsupported).
    pub fn batched(&self) -> bool {
        self.use_mmsg
    }

    /// The buffer the next datagram is built in, `None` when full.
    pub fn next_buffer(&mut self) -> Option<&mut [u8]> {
        if self.is_full() {
            return None;
        }
        let i = self.queued;
        self.bufs
            .get_mut(i * self.slot_len..(i + 1) * self.slot_len)
    }

    /// Queue the `len` octets just built in [`next_buffer`](Self::next_buffer)
    /// for `dst` (`None`: the socket's connected peer), leaving from `from`
    /// when given. Ignored when full or when `len` exceeds the slot.
    pub fn commit(&mut self, len: usize, dst: Option<SocketAddr>, from: Option<IpAddr>) {
        let i = self.queued;
        if self.is_full() || len > self.slot_len {
            return;
        }
        self.lens[i] = len;
        (self.names[i], self.namelens[i]) = match dst {
            Some(a) => std_to_sockaddr(a),
            None => (empty_storage(), 0),
        };
        self.ctrl_lens[i] = match (dst, from) {
            (Some(d), Some(f)) => write_pktinfo(&mut self.ctrl[i], d, f),
            _ => 0,
        };
        self.queued += 1;
    }

    /// Queue a copy of `data`; false if full or too long.
    pub fn push(&mut self, data: &[u8], dst: Option<SocketAddr>, from: Option<IpAddr>) -> bool {
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

    /// Point the headers of the queued datagrams at their buffers.
    fn prepare(&mut self) {
        for i in 0..self.queued {
            let start = i * self.slot_len;
            let data = &mut self.bufs[start..start + self.lens[i]];
            self.iovs[i].iov_base = data.as_mut_ptr().cast();
            self.iovs[i].iov_len = data.len();
            let h = &mut self.hdrs[i].msg_hdr;
            if self.namelens[i] > 0 {
                h.msg_name = ptr::addr_of_mut!(self.names[i]).cast();
                h.msg_namelen = self.namelens[i];
            } else {
                h.msg_name = ptr::null_mut();
                h.msg_namelen = 0;
            }
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

    /// Send everything queued on `fd` without waiting and empty the batch.
    /// Datagrams the socket cannot take now are dropped and counted, as a
    /// server under overload must; a datagram the kernel refuses (e.g. no
    /// route) is skipped and the rest are sent. Where `sendmmsg` is not
    /// supported (`ENOSYS`, `EBADF`, …) each datagram goes with `sendmsg`,
    /// then and from now on.
    pub fn flush(&mut self, fd: RawFd) -> Flushed {
        let mut out = Flushed::default();
        if self.queued == 0 {
            return out;
        }
        self.prepare();
        let mut at = 0;
        while at < self.queued && self.use_mmsg {
            let rest = &mut self.hdrs[at..self.queued];
            // SAFETY: headers at..queued point at live buffers owned by
            // `self` (set by `prepare` above, nothing moved since).
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    rest.as_mut_ptr(),
                    rest.len() as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            let err = match check(n as isize) {
                Ok(n) if n > 0 => {
                    out.sent += n;
                    at += n;
                    continue;
                }
                Ok(_) => io::Error::last_os_error(),
                Err(err) => err,
            };
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
            // SAFETY: header `at` points at live buffers owned by `self`
            // (set by `prepare` above).
            let n = unsafe { libc::sendmsg(fd, &self.hdrs[at].msg_hdr, libc::MSG_DONTWAIT) };
            match check(n) {
                Ok(_) => out.sent += 1,
                Err(err) => {
                    tracing::debug!("send: {err}");
                    out.failed += 1;
                }
            }
            at += 1;
        }
        self.queued = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RecvBatch, Wait};
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_batch_to_named_peers_arrives_in_order() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut tx = SendBatch::new(8, 16);
        for i in 0..6u8 {
            let out = tx.next_buffer().unwrap();
            out[..3].copy_from_slice(&[0xaa, i, 0]);
            tx.commit(3, Some(client.local_addr().unwrap()), None);
        }
        assert_eq!(tx.flush(server.as_raw_fd()), Flushed { sent: 6, failed: 0 });
        assert!(tx.is_empty() && tx.batched());
        let mut buf = [0u8; 16];
        for i in 0..6u8 {
            let (k, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..k], &[0xaa, i, 0]);
            assert_eq!(from, server.local_addr().unwrap());
        }
    }

    #[test]
    fn a_connected_socket_needs_no_addresses() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        let mut out = SendBatch::new(4, 8);
        for i in 0..3u8 {
            assert!(out.push(&[i, 7], None, None));
        }
        assert_eq!(out.flush(a.as_raw_fd()), Flushed { sent: 3, failed: 0 });
        let mut got = 0;
        let mut inb = RecvBatch::new(8, 8);
        while got < 3 {
            let n = inb.receive(b.as_raw_fd(), Wait::ForOne).unwrap();
            for i in 0..n {
                assert_eq!(inb.get(i).unwrap().data, &[(got + i) as u8, 7]);
            }
            got += n;
        }
        assert_eq!(send_one(a.as_raw_fd(), b"one", None, None).unwrap(), 3);
    }

    #[test]
    fn a_full_batch_refuses_more_and_a_long_datagram_is_refused() {
        let mut tx = SendBatch::new(4, 8);
        let dst = Some("127.0.0.1:9".parse().unwrap());
        assert!(!tx.push(&[0; 9], dst, None));
        tx.commit(9, dst, None);
        assert!(tx.is_empty(), "commit of more than a slot is ignored");
        for _ in 0..4 {
            assert!(tx.push(&[1, 2, 3], dst, None));
        }
        assert!(tx.is_full());
        assert!(!tx.push(&[1], dst, None));
        assert!(tx.next_buffer().is_none());
    }

    #[test]
    fn send_failures_on_a_bad_descriptor_are_counted_not_fatal() {
        let mut tx = SendBatch::new(4, 8);
        let dst = Some("127.0.0.1:9".parse().unwrap());
        tx.push(&[1, 2, 3], dst, None);
        tx.push(&[4, 5, 6], dst, None);
        // -1 is never a descriptor: sendmmsg fails with EBADF, the
        // fallback is taken and each datagram fails on its own.
        let f = tx.flush(-1);
        assert_eq!(f, Flushed { sent: 0, failed: 2 });
        assert!(tx.is_empty());
        assert!(!tx.batched());
        assert!(send_one(-1, b"x", dst, None).is_err());
    }
}
