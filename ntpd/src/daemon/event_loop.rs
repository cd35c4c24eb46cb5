//! The daemon's event loop: one thread waiting on every NTP socket
//! ([`Readiness`]: epoll, or `poll(2)` where the kernel does not know our
//! sockets), the one-second system timer as the wait's timeout,
//! SIGTERM/SIGINT as a flag (RFC 5905 §9 "peer process" for datagrams, §11
//! "system process" and the clock-adjust process once a second).
//!
//! ```text
//! loop:
//!   SIGTERM/SIGINT seen → save the drift, stop
//!   timer due           → Core::tick → polls sent; next second
//!   wait(sockets, time to the next tick)
//!   each readable socket → up to DRAIN batches:
//!       recvmmsg (≤ BATCH) → Core::handle each → replies queued → sendmmsg
//! ```
//!
//! Why not tokio: its reactor needs epoll, which libc-level simulators
//! (clknetsim wraps `poll`/`select`, `recvmsg`/`recvmmsg`, the clocks and
//! timers, but not `epoll_*`) cannot drive; this loop falls back to `poll`
//! there by itself, and the daemon's work is synchronous anyway. Everything
//! here reaches the kernel through libc: `epoll_wait`/`poll`,
//! `recvmmsg`/`recvmsg`, `sendmmsg`/`sendmsg`, `clock_gettime`
//! (CLOCK_MONOTONIC for the timer, CLOCK_REALTIME for timestamps). Only
//! socket descriptors are waited on: a simulator treats any other
//! descriptor as always readable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ntp_sys::signal::Signal;

use super::{Core, DaemonError};
use crate::net::batch::{RecvBatch, SendBatch, BATCH};
use crate::net::readiness::Readiness;
use crate::net::socket::NtpSocket;

/// Batches read from one socket before the others (and the timer) get
/// their turn: fairness under a flood on one address.
pub const DRAIN: usize = 8;

/// The system timer's period (RFC 5905 §12: the clock-adjust process runs
/// once a second).
const TICK: Duration = Duration::from_secs(1);

static TERMINATE: AtomicBool = AtomicBool::new(false);

/// Catch SIGTERM and SIGINT: the handler only sets a flag, which
/// interrupts `poll` (no `SA_RESTART`) and is checked every turn.
pub fn install_signal_handlers() -> Result<(), DaemonError> {
    ntp_sys::signal::set_flag_on(&TERMINATE, &[Signal::SIGTERM, Signal::SIGINT]).map_err(|e| {
        DaemonError::Io {
            what: "cannot install the signal handlers",
            source: e,
        }
    })
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM or SIGINT.
    Signal,
    /// The daemon stopped itself (`-q` done, panic threshold) with this
    /// exit status.
    Exit(u8),
}

/// The event loop's buffers and sockets.
pub struct EventLoop<'a> {
    core: &'a mut Core,
    sockets: &'a [NtpSocket],
    readiness: Readiness<'a>,
    ready: Vec<bool>,
    rx: RecvBatch,
    tx: SendBatch,
    next_tick: Instant,
    seconds: u64,
    on_tick: Option<TickHook<'a>>,
}

/// Called after every system tick.
type TickHook<'a> = Box<dyn FnMut(&Core) + 'a>;

impl<'a> EventLoop<'a> {
    /// A loop over `sockets` driving `core`; the first tick is due at
    /// once (initial polls and iburst leave immediately).
    pub fn new(core: &'a mut Core, sockets: &'a [NtpSocket]) -> EventLoop<'a> {
        EventLoop {
            core,
            sockets,
            readiness: Readiness::new(sockets),
            ready: vec![false; sockets.len()],
            rx: RecvBatch::new(),
            tx: SendBatch::new(),
            next_tick: Instant::now(),
            seconds: 0,
            on_tick: None,
        }
    }

    /// Call `f` after every system tick (e.g. to tell a waiting parent
    /// process that the clock is synchronised).
    pub fn on_tick(&mut self, f: impl FnMut(&Core) + 'a) {
        self.on_tick = Some(Box::new(f));
    }

    /// Run until a signal or the daemon's own exit.
    pub fn run(&mut self) -> Stop {
        loop {
            if TERMINATE.load(Ordering::SeqCst) {
                return Stop::Signal;
            }
            let now = Instant::now();
            if now >= self.next_tick {
                if let Some(code) = self.tick() {
                    return Stop::Exit(code);
                }
                self.next_tick += TICK;
                if self.next_tick <= now {
                    // Suspended or starved: do not catch up in a burst.
                    self.next_tick = now + TICK;
                }
                continue;
            }
            let wait = self.next_tick - now;
            // Round up so the loop does not spin in the last millisecond.
            let ms = u16::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(u16::MAX);
            match self.readiness.wait(ms, &mut self.ready) {
                Ok(()) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    tracing::warn!("poll: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            for i in 0..self.ready.len() {
                if self.ready[i] {
                    self.drain(i);
                }
            }
        }
    }

    /// The once-a-second system work; `Some(status)` when the daemon
    /// stops itself.
    fn tick(&mut self) -> Option<u8> {
        self.seconds += 1;
        if self.seconds % 3600 == 0 {
            self.core.driver.save_drift();
        }
        let out = self.core.tick();
        if let Some(code) = self.core.exit {
            return Some(code);
        }
        for o in out {
            let Some(sock) = self.sockets.get(o.socket) else {
                continue;
            };
            if let Some(ttl) = o.ttl {
                if let Err(e) = sock.set_multicast_ttl(ttl) {
                    tracing::debug!("ttl {ttl} on {}: {e}", sock.local_addr());
                }
            }
            if let Err(e) = sock.send_to(&o.bytes, o.dst, None) {
                self.core.stats.send_errors += 1;
                tracing::debug!("poll to {}: {e}", o.dst);
            }
        }
        if let Some(f) = &mut self.on_tick {
            f(self.core);
        }
        None
    }

    /// Read, answer and send what waits on socket `index`.
    fn drain(&mut self, index: usize) {
        let Some(sock) = self.sockets.get(index) else {
            return;
        };
        let fd = sock.raw_fd();
        let wildcard = sock.is_wildcard();
        for _ in 0..DRAIN {
            let n = match self.rx.receive(fd) {
                Ok(n) => n,
                Err(e) => {
                    tracing::debug!("receive on {}: {e}", sock.local_addr());
                    return;
                }
            };
            for i in 0..n {
                let Some((data, r)) = self.rx.get(i) else {
                    continue;
                };
                let from = if wildcard { reply_source(&r) } else { None };
                if self.tx.is_full() {
                    flush(&mut self.tx, self.core, fd);
                }
                if let Some(out) = self.tx.next_buffer() {
                    if let Some(len) = self.core.handle(index, wildcard, data, &r, out) {
                        self.tx.commit(len, r.src, from);
                    }
                }
                // Mode 6 answers leave from the socket and address the
                // request came to.
                for d in self.core.take_control_replies() {
                    if self.tx.is_full() {
                        flush(&mut self.tx, self.core, fd);
                    }
                    self.tx.push(&d, r.src, from);
                }
            }
            flush(&mut self.tx, self.core, fd);
            if n < BATCH {
                return;
            }
        }
    }
}

/// The source address of a reply from a wildcard socket: the address the
/// request came to — unless that was a multicast group (a manycast
/// solicitation), which is never a source: then the address the kernel
/// routes from towards the requester.
fn reply_source(r: &crate::net::socket::Received) -> Option<std::net::IpAddr> {
    match r.dst {
        Some(d) if d.is_multicast() => super::route_source(r.src),
        d => d,
    }
}

/// Send what `tx` holds; failures count as send errors.
fn flush(tx: &mut SendBatch, core: &mut Core, fd: std::os::fd::RawFd) {
    let f = tx.flush(fd);
    core.stats.send_errors += f.failed as u64;
}
