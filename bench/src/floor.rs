//! The floor server: the least work a UDP server can do per NTP request.
//! Receives up to 32 datagrams with one `recvmmsg(2)`, answers each mode 3
//! request with a fixed 48-octet mode 4 reply (origin = the request's
//! transmit timestamp, one clock reading per batch, no MAC, no state) and
//! sends the replies with one `sendmmsg(2)`. Anything else is dropped.

use crate::mmsg::Batch;
use crate::wire::{self, HEADER_LEN};
use proto::NtpTimestamp;
use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// Datagrams per system call.
pub const BATCH: usize = 32;

/// Counters of a floor server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FloorStats {
    pub received: u64,
    pub answered: u64,
}

/// Serves on `sock` until `stop` is set (checked whenever the socket's
/// read timeout expires; without a timeout it serves forever).
pub fn serve(sock: &UdpSocket, stop: &AtomicBool) -> io::Result<FloorStats> {
    let fd = sock.as_raw_fd();
    let mut inb = Batch::new(BATCH);
    let mut out = Batch::new(BATCH);
    let mut stats = FloorStats::default();
    while !stop.load(Ordering::Relaxed) {
        let n = match inb.recv(fd, libc::MSG_WAITFORONE) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(e) => return Err(e),
        };
        stats.received += n as u64;
        let now = NtpTimestamp::from_system_time(SystemTime::now());
        let mut m = 0;
        for i in 0..n {
            if let Some(reply) = wire::floor_reply(inb.datagram(i), now) {
                out.slot_mut(m)[..HEADER_LEN].copy_from_slice(&reply);
                out.set_len(m, HEADER_LEN);
                inb.copy_peer_to(i, &mut out, m);
                m += 1;
            }
        }
        // One call; on loopback sendmmsg only stops early on an error,
        // and a reply lost that way is simply not counted.
        let done = if m > 0 {
            out.send(fd, m, true).unwrap_or(0)
        } else {
            0
        };
        stats.answered += done as u64;
    }
    Ok(stats)
}
