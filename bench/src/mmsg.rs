//! Batched datagram I/O with `recvmmsg(2)` and `sendmmsg(2)`.
//!
//! A [`Batch`] owns `n` fixed-size buffers with their lengths and peer
//! addresses. The kernel's `mmsghdr`/`iovec` arrays point into those
//! buffers; they are rebuilt before every call so the batch can move
//! freely between calls.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::RawFd;

/// Largest datagram a batch slot holds (NTP header + extension fields +
/// MAC fit comfortably).
pub const SLOT_LEN: usize = 1024;

/// `n` datagram slots for one batched system call.
pub struct Batch {
    bufs: Vec<[u8; SLOT_LEN]>,
    lens: Vec<usize>,
    addrs: Vec<libc::sockaddr_storage>,
    addr_lens: Vec<libc::socklen_t>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl Batch {
    /// A batch of `n` slots (at least 1).
    pub fn new(n: usize) -> Batch {
        let n = n.max(1);
        Batch {
            bufs: vec![[0u8; SLOT_LEN]; n],
            lens: vec![0; n],
            // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
            addrs: vec![unsafe { zeroed() }; n],
            addr_lens: vec![0; n],
            iovs: Vec::with_capacity(n),
            hdrs: Vec::with_capacity(n),
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.bufs.len()
    }

    /// Slot `i`'s buffer (the whole slot).
    pub fn slot_mut(&mut self, i: usize) -> &mut [u8; SLOT_LEN] {
        &mut self.bufs[i]
    }

    /// Slot `i`'s datagram (after a receive, or as set with `set_len`).
    pub fn datagram(&self, i: usize) -> &[u8] {
        &self.bufs[i][..self.lens[i]]
    }

    /// Sets how many octets of slot `i` are sent.
    pub fn set_len(&mut self, i: usize, len: usize) {
        self.lens[i] = len.min(SLOT_LEN);
    }

    /// Copies the peer address of slot `src` (as received) into slot `dst`
    /// of `other`, so a reply goes back where the request came from.
    pub fn copy_peer_to(&self, src: usize, other: &mut Batch, dst: usize) {
        other.addrs[dst] = self.addrs[src];
        other.addr_lens[dst] = self.addr_lens[src];
    }

    /// Points the kernel headers at the first `n` slots. `with_addr`
    /// attaches the address slots (receive: filled in; send: used as
    /// destination); otherwise the socket must be connected.
    fn prepare(&mut self, n: usize, receiving: bool, with_addr: bool) {
        self.iovs.clear();
        self.hdrs.clear();
        for i in 0..n {
            let len = if receiving { SLOT_LEN } else { self.lens[i] };
            self.iovs.push(libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: len,
            });
        }
        for i in 0..n {
            // SAFETY: mmsghdr is plain old data; all-zero is valid.
            let mut h: libc::mmsghdr = unsafe { zeroed() };
            h.msg_hdr.msg_iov = &mut self.iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            if with_addr {
                h.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
                h.msg_hdr.msg_namelen = if receiving {
                    size_of::<libc::sockaddr_storage>() as libc::socklen_t
                } else {
                    self.addr_lens[i]
                };
            }
            self.hdrs.push(h);
        }
    }

    /// One `recvmmsg(2)` into all slots. Returns how many datagrams
    /// arrived; their lengths and sources are recorded per slot.
    pub fn recv(&mut self, fd: RawFd, flags: libc::c_int) -> io::Result<usize> {
        let n = self.capacity();
        self.prepare(n, true, true);
        // SAFETY: hdrs[..n] point at live iovecs, buffers and address slots
        // owned by self, which outlive the call.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                n as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let got = r as usize;
        for i in 0..got {
            self.lens[i] = self.hdrs[i].msg_len as usize;
            self.addr_lens[i] = self.hdrs[i].msg_hdr.msg_namelen;
        }
        Ok(got)
    }

    /// One `sendmmsg(2)` of the first `n` slots (their lengths as set).
    /// `to_peers` sends each slot to its recorded address; otherwise the
    /// socket must be connected. Returns how many were sent.
    pub fn send(&mut self, fd: RawFd, n: usize, to_peers: bool) -> io::Result<usize> {
        let n = n.min(self.capacity());
        if n == 0 {
            return Ok(0);
        }
        self.prepare(n, false, to_peers);
        // SAFETY: hdrs[..n] point at live iovecs, buffers and address slots
        // owned by self, which outlive the call.
        let r = unsafe { libc::sendmmsg(fd, self.hdrs.as_mut_ptr(), n as libc::c_uint, 0) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(r as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    #[test]
    fn batch_round_trip_on_loopback() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        let mut out = Batch::new(4);
        for i in 0..3 {
            out.slot_mut(i)[..2].copy_from_slice(&[i as u8, 7]);
            out.set_len(i, 2);
        }
        assert_eq!(out.send(a.as_raw_fd(), 3, false).unwrap(), 3);
        let mut got = 0;
        let mut inb = Batch::new(8);
        while got < 3 {
            let n = inb.recv(b.as_raw_fd(), libc::MSG_WAITFORONE).unwrap();
            for i in 0..n {
                assert_eq!(inb.datagram(i), &[(got + i) as u8, 7]);
            }
            got += n;
        }
    }
}
