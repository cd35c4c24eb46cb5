//! The floor server: the least work a UDP server can do per NTP request.
//! Receives up to 32 datagrams with one `recvmmsg(2)`, answers each mode 3
//! request with a fixed 48-octet mode 4 reply (origin = the request's
//! transmit timestamp, one clock reading per batch, no MAC, no state) and
//! sends the replies with one `sendmmsg(2)`. Anything else is dropped.

use crate::wire;
use ntp_sys::mmsg::{RecvBatch, SendBatch, Wait};
use proto::NtpTimestamp;
use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// Datagrams per system call.
pub const BATCH: usize = 32;

/// Octets of one datagram slot (NTP header + extension fields + MAC fit
/// comfortably).
pub const SLOT_LEN: usize = 1024;

/// Counters of a floor server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FloorStats {
    /// Datagrams read from the socket, NTP or not.
    pub received: u64,
    /// Mode 4 replies the kernel accepted for sending.
    pub answered: u64,
}

/// Serves on `sock` until `stop` is set (checked whenever the socket's
/// read timeout expires; without a timeout it serves forever).
pub fn serve(sock: &UdpSocket, stop: &AtomicBool) -> io::Result<FloorStats> {
    let fd = sock.as_raw_fd();
    let mut inb = RecvBatch::new(BATCH, SLOT_LEN);
    let mut out = SendBatch::new(BATCH, SLOT_LEN);
    let mut stats = FloorStats::default();
    while !stop.load(Ordering::Relaxed) {
        // Ok(0) when the socket's read timeout expired or a signal came.
        let n = match inb.receive(fd, Wait::ForOne) {
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
        for d in (0..n).filter_map(|i| inb.get(i)) {
            if let Some(reply) = wire::floor_reply(d.data, now) {
                out.push(&reply, Some(d.src), None);
            }
        }
        // One call; on loopback sendmmsg only stops early on an error,
        // and a reply lost that way is simply not counted.
        stats.answered += out.flush(fd).sent as u64;
    }
    Ok(stats)
}
