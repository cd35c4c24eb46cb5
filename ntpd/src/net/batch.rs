//! Batched datagram I/O for the daemon: [`BATCH`] datagrams of up to
//! [`SLOT`] octets per `recvmmsg`/`sendmmsg`, with the fallback to
//! `recvmsg`/`sendmsg` (one datagram per call) when the batched calls fail
//! for lack of support — as under a libc-level simulator such as
//! clknetsim, which wraps `recvmmsg` but not `sendmmsg`.
//!
//! A reply costs two system calls without batching; under load the
//! kernel's UDP path dominates the server's CPU time, so taking up to
//! [`BATCH`] datagrams per call is where the daemon's reply path gets
//! close to a bare echo server.
//!
//! A thin layer over [`ntp_sys::mmsg`], which owns the `mmsghdr` arrays
//! (and their `unsafe`): this module fixes the sizes and turns what the
//! kernel said about a datagram into a [`Received`] on the NTP time scale.
//! The buffers are allocated once ([`RecvBatch::new`], [`SendBatch::new`])
//! and reused for every call: the receive and reply path allocates
//! nothing per datagram.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;

use ntp_sys::mmsg::{self, Wait};
use proto::NtpTimestamp;

use super::socket::Received;

pub use ntp_sys::mmsg::Flushed;

/// Datagrams taken or sent per system call.
pub const BATCH: usize = 32;

/// Octets of one datagram buffer: one more than the largest datagram the
/// protocol processes, so that an oversized one is recognised.
pub const SLOT: usize = proto::MAX_DATAGRAM_LEN + 1;

/// Receive buffers for up to [`BATCH`] datagrams.
#[derive(Debug)]
pub struct RecvBatch(mmsg::RecvBatch);

impl Default for RecvBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvBatch {
    /// Buffers for [`BATCH`] datagrams.
    pub fn new() -> RecvBatch {
        RecvBatch(mmsg::RecvBatch::new(BATCH, SLOT))
    }

    /// Take the datagrams waiting on `fd` (non-blocking): up to [`BATCH`]
    /// with `recvmmsg`, or one with `recvmsg` where `recvmmsg` is not
    /// supported. `Ok(0)` when none is waiting.
    pub fn receive(&mut self, fd: RawFd) -> io::Result<usize> {
        self.0.receive(fd, Wait::No)
    }

    /// Datagrams taken by the last [`receive`](Self::receive).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the last receive took nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Datagram `i` of the last receive and its metadata; `None` past the
    /// end or when the sender's address is not IPv4/IPv6.
    pub fn get(&self, i: usize) -> Option<(&[u8], Received)> {
        let d = self.0.get(i)?;
        let r = Received {
            len: d.len,
            truncated: d.truncated,
            src: d.src,
            dst: d.dst,
            rx_time: d.rx_time.map(|t| NtpTimestamp::from_unix(t.secs, t.nanos)),
        };
        Some((d.data, r))
    }
}

/// Send one datagram with `sendmsg`, from `from` when given (a wildcard
/// socket's reply leaves from the address the request came to).
pub fn send_one(fd: RawFd, buf: &[u8], dst: SocketAddr, from: Option<IpAddr>) -> io::Result<usize> {
    mmsg::send_one(fd, buf, Some(dst), from)
}

/// Outgoing datagrams collected for one `sendmmsg`.
#[derive(Debug)]
pub struct SendBatch(mmsg::SendBatch);

impl Default for SendBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl SendBatch {
    /// Room for [`BATCH`] datagrams.
    pub fn new() -> SendBatch {
        SendBatch(mmsg::SendBatch::new(BATCH, SLOT))
    }

    /// Datagrams waiting for [`flush`](Self::flush).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the batch is full (flush before queueing more).
    pub fn is_full(&self) -> bool {
        self.0.is_full()
    }

    /// The buffer the next datagram is built in, `None` when full.
    pub fn next_buffer(&mut self) -> Option<&mut [u8]> {
        self.0.next_buffer()
    }

    /// Queue the `len` octets just built in [`next_buffer`](Self::next_buffer)
    /// for `dst`, leaving from `from` when given.
    pub fn commit(&mut self, len: usize, dst: SocketAddr, from: Option<IpAddr>) {
        self.0.commit(len, Some(dst), from);
    }

    /// Queue a copy of `data`; false if full or too long.
    pub fn push(&mut self, data: &[u8], dst: SocketAddr, from: Option<IpAddr>) -> bool {
        self.0.push(data, Some(dst), from)
    }

    /// Send everything queued on `fd` (non-blocking) and empty the batch.
    /// Datagrams the socket cannot take now are dropped and counted, as
    /// a server under overload must.
    pub fn flush(&mut self, fd: RawFd) -> Flushed {
        self.0.flush(fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

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
        assert!(!tx.0.batched());
    }
}
