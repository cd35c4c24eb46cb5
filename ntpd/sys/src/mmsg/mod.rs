//! Batched datagram I/O: `recvmmsg(2)`/`sendmmsg(2)` with a fallback to
//! `recvmsg`/`sendmsg` (one datagram per call) when the batched calls fail
//! for lack of support — as under a libc-level simulator such as
//! clknetsim, which wraps `recvmmsg` but not `sendmmsg`.
//!
//! A reply costs two system calls without batching; under load the
//! kernel's UDP path dominates a server's CPU time, so taking many
//! datagrams per call is what brings an NTP server (RFC 5905 §9, the peer
//! process) close to a bare echo server.
//!
//! Received datagrams come with what the kernel says about them in
//! control messages: the receive timestamp (`SCM_TIMESTAMPING` software
//! stamp, or `SCM_TIMESTAMPNS`, whichever the socket asked for) and, on a
//! wildcard socket with `IP_PKTINFO`/`IPV6_RECVPKTINFO`, the destination
//! address, so a reply can leave from it (`IP_PKTINFO`/`IPV6_PKTINFO` on
//! send).
//!
//! The buffers are allocated once ([`RecvBatch::new`], [`SendBatch::new`])
//! and reused for every call: the receive and reply path allocates
//! nothing per datagram.
//!
//! Why `unsafe`: the `mmsghdr` arrays hold raw pointers into buffers
//! owned by the same batch (heap allocations that never move while the
//! batch lives; every pointer is refreshed before the call that uses it),
//! and control messages are walked with `CMSG_FIRSTHDR`/`CMSG_NXTHDR`.
//! Descriptors are plain [`RawFd`](std::os::fd::RawFd)s: the kernel checks
//! them, so a wrong one is an error (`EBADF`, `ENOTSOCK`), never a memory
//! error.

mod addr;
mod cmsg;
mod recv;
mod send;

use std::io;

pub use recv::{Datagram, RecvBatch, Wait};
pub use send::{send_one, Flushed, SendBatch};

/// A kernel timestamp: seconds and nanoseconds since the Unix epoch
/// (1970-01-01 00:00:00 UTC, the `CLOCK_REALTIME` scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime {
    /// Whole seconds since the epoch.
    pub secs: i64,
    /// Nanoseconds within the second, `0..=999_999_999`.
    pub nanos: u32,
}

impl UnixTime {
    fn from_timespec(ts: &libc::timespec) -> UnixTime {
        UnixTime {
            #[allow(clippy::useless_conversion)] // time_t is i32 on some targets
            secs: i64::from(ts.tv_sec),
            nanos: u32::try_from(ts.tv_nsec).unwrap_or(0).min(999_999_999),
        }
    }
}

/// Whether `err` says the call itself is not available on this socket
/// (rather than "nothing to read" or a per-datagram error).
fn unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOSYS | libc::EBADF | libc::ENOTSOCK | libc::EINVAL | libc::EOPNOTSUPP)
    )
}

/// Whether `err` means "try again later" (`EWOULDBLOCK` is `EAGAIN` on
/// Linux; a signal interrupted a blocking call).
fn would_block(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EAGAIN | libc::EINTR))
}

/// A system call's `ssize_t`/`int` result as a count, or the `errno` it
/// left.
fn check(n: isize) -> io::Result<usize> {
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}
