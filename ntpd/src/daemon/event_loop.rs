//! The daemon's event loop on a tokio `current_thread` runtime: one thread
//! waits on every NTP socket (registered with tokio's reactor as an
//! `AsyncFd` that owns the descriptor: `ntp_sys::reactor`), the one-second
//! system
//! timer and the signals, and carries out the [`Action`]s the core queues
//! (RFC 5905 §9 "peer process" for datagrams, §11 "system process" and the
//! clock-adjust process once a second).
//!
//! ```text
//! select (biased):
//!   SIGTERM/SIGINT      → stop (the drift is saved by `finish`)
//!   SIGHUP              → the keys are reloaded (`rollover`); the daemon keeps running
//!   timer (1 s)         → Core::tick → actions: polls sent, stats written
//!   a readable socket   → up to DRAIN batches:
//!       recvmmsg (≤ BATCH) → Core::handle each → replies queued → sendmmsg
//! ```
//!
//! The datagram path is the same batched `recvmmsg`/`sendmmsg` one as
//! before tokio: tokio only says which socket is readable. Everything the
//! core asks for comes back as an [`Action`]; only this module (and
//! `serve`, which builds it) touches sockets and files. TCP services
//! (NTS-KE, metrics) can be spawned on the same runtime without touching
//! this path: the metrics endpoint ([`EventLoop::serve_metrics`]) reads a
//! snapshot this loop publishes after each tick.
//!
//! Under the clknetsim simulator the loop runs with
//! `shared/tools/clknetsim_tokio_shim.c` preloaded before clknetsim: it
//! emulates epoll and eventfd on clknetsim's `select`. Signals never
//! arrive there (their pipe is not a simulated descriptor), which a
//! simulation does not need.

use std::future::poll_fn;
use std::io;
use std::net::IpAddr;
use std::os::fd::{OwnedFd, RawFd};
use std::task::Poll;
use std::time::Duration;

use tokio::io::unix::AsyncFdReadyGuard;
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::{clockctl, Action, Core, DaemonError};
use crate::net::batch::{RecvBatch, SendBatch, BATCH};
use crate::net::socket::{NtpSocket, Received};
use crate::stats::FileGen;

/// Batches read from one socket before the others (and the timer) get
/// their turn: fairness under a flood on one address.
pub const DRAIN: usize = 8;

/// The system timer's period (RFC 5905 §12: the clock-adjust process runs
/// once a second).
const TICK: Duration = Duration::from_secs(1);

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A signal asked the daemon to stop: its name (`SIGTERM`, `SIGINT`).
    Signal(&'static str),
    /// The daemon stopped itself (`-q` done, panic threshold) with this
    /// exit status.
    Exit(u8),
}

/// Where [`Action::Statistics`] lines go: the `filegen` file sets that are
/// enabled.
#[derive(Debug, Default)]
pub struct Outputs {
    /// `statistics peerstats`.
    pub peerstats: Option<FileGen>,
    /// `statistics loopstats`.
    pub loopstats: Option<FileGen>,
    /// `statistics cryptostats`.
    pub cryptostats: Option<FileGen>,
    /// `statistics clockstats`.
    pub clockstats: Option<FileGen>,
}

impl Outputs {
    fn write(&mut self, file: config::conf::StatsFile, unix_seconds: i64, line: &str) {
        let target = match file {
            config::conf::StatsFile::Peerstats => self.peerstats.as_mut(),
            config::conf::StatsFile::Loopstats => self.loopstats.as_mut(),
            config::conf::StatsFile::Cryptostats => self.cryptostats.as_mut(),
            config::conf::StatsFile::Clockstats => self.clockstats.as_mut(),
            _ => None,
        };
        if let Some(g) = target {
            g.write_logged(unix_seconds, line);
        }
    }
}

/// The signals the daemon acts on; one that cannot be installed (as
/// under a simulator) is logged and never fires.
struct Signals {
    terminate: Option<Signal>,
    interrupt: Option<Signal>,
    hangup: Option<Signal>,
}

/// A signal that arrived.
enum Arrived {
    Stop(&'static str),
    Hangup,
}

impl Signals {
    fn install() -> Signals {
        let one = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(
                    "cannot catch {name} ({e}); it will end the daemon without saving the drift"
                );
                None
            }
        };
        Signals {
            terminate: one(SignalKind::terminate(), "SIGTERM"),
            interrupt: one(SignalKind::interrupt(), "SIGINT"),
            hangup: one(SignalKind::hangup(), "SIGHUP"),
        }
    }

    async fn recv(&mut self) -> Arrived {
        poll_fn(|cx| {
            let ready = |s: &mut Option<Signal>, cx: &mut std::task::Context<'_>| {
                s.as_mut()
                    .is_some_and(|s| matches!(s.poll_recv(cx), Poll::Ready(Some(()))))
            };
            if ready(&mut self.terminate, cx) {
                Poll::Ready(Arrived::Stop("SIGTERM"))
            } else if ready(&mut self.interrupt, cx) {
                Poll::Ready(Arrived::Stop("SIGINT"))
            } else if ready(&mut self.hangup, cx) {
                Poll::Ready(Arrived::Hangup)
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// Wait until one of the registered `sockets` is readable, starting the
/// search at `*next` (which then moves on, so that a flooded socket
/// cannot starve the others); its index and readiness guard.
async fn readable<'s>(
    sockets: &'s [NtpSocket],
    next: &mut usize,
) -> (usize, io::Result<AsyncFdReadyGuard<'s, OwnedFd>>) {
    poll_fn(|cx| {
        let n = sockets.len();
        for k in 0..n {
            let i = (*next + k) % n;
            let Some(r) = sockets[i].reactor() else {
                continue;
            };
            if let Poll::Ready(r) = r.poll_read_ready(cx) {
                *next = (i + 1) % n;
                return Poll::Ready((i, r));
            }
        }
        Poll::Pending
    })
    .await
}

/// The receive path's buffers: datagrams in, replies out, and the core's
/// actions for each datagram.
struct ReceivePath {
    rx: RecvBatch,
    tx: SendBatch,
    actions: Vec<Action>,
    /// Actions other than replies, carried out after the drain.
    deferred: Vec<Action>,
}

/// The event loop's runtime, buffers and sockets.
pub struct EventLoop<'a> {
    runtime: Option<tokio::runtime::Runtime>,
    signals: Signals,
    core: &'a mut Core,
    sockets: Vec<NtpSocket>,
    outputs: Outputs,
    path: ReceivePath,
    /// Actions taken from the core outside the receive path.
    actions: Vec<Action>,
    exit: Option<u8>,
    on_tick: Option<TickHook<'a>>,
    /// Called on SIGHUP (key rollover, `rollover::reload`).
    on_hangup: Option<HangupHook<'a>>,
    /// The reference clock drivers, asked once a second.
    refclocks: super::refclock::RefclockSet,
    /// The Prometheus endpoint's snapshot, refreshed after each tick.
    metrics: Option<super::metrics::MetricsPublisher>,
}

/// Called after every system tick.
type TickHook<'a> = Box<dyn FnMut(&mut Core) + 'a>;

/// Called on SIGHUP.
type HangupHook<'a> = Box<dyn FnMut(&mut Core) + 'a>;

impl<'a> EventLoop<'a> {
    /// A loop over `sockets` driving `core`, writing statistics to
    /// `outputs`. The runtime is built, the sockets registered with its
    /// reactor and the signals caught here, so that once this returns a
    /// SIGTERM is handled (the caller then reports the daemon ready). The
    /// first tick is due at once (initial polls and iburst leave
    /// immediately).
    pub fn new(
        core: &'a mut Core,
        sockets: Vec<NtpSocket>,
        outputs: Outputs,
    ) -> Result<EventLoop<'a>, DaemonError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|source| DaemonError::Io {
                what: "cannot start the event loop",
                source,
            })?;
        let (sockets, signals) = {
            let _context = runtime.enter();
            let sockets = sockets
                .into_iter()
                .map(NtpSocket::register)
                .collect::<io::Result<Vec<_>>>()
                .map_err(|source| DaemonError::Io {
                    what: "cannot register the sockets with the event loop",
                    source,
                })?;
            (sockets, Signals::install())
        };
        Ok(EventLoop {
            runtime: Some(runtime),
            signals,
            core,
            sockets,
            outputs,
            path: ReceivePath {
                rx: RecvBatch::new(),
                tx: SendBatch::new(),
                actions: Vec::with_capacity(BATCH),
                deferred: Vec::new(),
            },
            actions: Vec::new(),
            exit: None,
            on_tick: None,
            on_hangup: None,
            refclocks: Default::default(),
            metrics: None,
        })
    }

    /// Serve the Prometheus endpoint on `listener` (bound by
    /// [`super::metrics_http::bind`]) as a task of this loop's runtime,
    /// from a snapshot this loop refreshes after every tick.
    pub fn serve_metrics(&mut self, listener: std::net::TcpListener) -> Result<(), DaemonError> {
        let runtime = self.runtime.as_ref().ok_or(DaemonError::Io {
            what: "the metrics endpoint started after the event loop",
            source: io::ErrorKind::Other.into(),
        })?;
        let _context = runtime.enter();
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|source| DaemonError::Io {
                what: "cannot register the metrics listener with the event loop",
                source,
            })?;
        let (publisher, reader) = super::metrics::MetricsPublisher::new();
        publisher.publish(self.core);
        runtime.spawn(super::metrics_http::serve(listener, reader));
        self.metrics = Some(publisher);
        Ok(())
    }

    /// The reference clock drivers to poll before each tick.
    pub fn set_refclocks(&mut self, clocks: super::refclock::RefclockSet) {
        self.refclocks = clocks;
    }

    /// Runs `f` on SIGHUP instead of only logging it.
    pub fn on_hangup(&mut self, f: impl FnMut(&mut Core) + 'a) {
        self.on_hangup = Some(Box::new(f));
    }

    /// Call `f` after every system tick (e.g. to tell a waiting parent
    /// process that the clock is synchronised).
    pub fn on_tick(&mut self, f: impl FnMut(&mut Core) + 'a) {
        self.on_tick = Some(Box::new(f));
    }

    /// Run on the tokio `current_thread` runtime until a signal or the
    /// daemon's own exit.
    pub fn run(&mut self) -> Result<Stop, DaemonError> {
        let runtime = self.runtime.take().ok_or(DaemonError::Io {
            what: "the event loop ran twice",
            source: io::ErrorKind::Other.into(),
        })?;
        let stop = runtime.block_on(self.serve());
        self.runtime = Some(runtime);
        Ok(stop)
    }

    /// Save the drift file on the way out (and whatever else the core
    /// still has queued).
    pub fn finish(&mut self) {
        self.core.save_drift();
        self.perform_queued();
    }

    async fn serve(&mut self) -> Stop {
        let mut timer = tokio::time::interval(TICK);
        // Suspended or starved: do not catch up in a burst.
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next = 0;
        loop {
            tokio::select! {
                biased;
                arrived = self.signals.recv() => match arrived {
                    Arrived::Stop(name) => return Stop::Signal(name),
                    Arrived::Hangup => match &mut self.on_hangup {
                        Some(f) => f(self.core),
                        None => tracing::info!(
                            "SIGHUP received: the daemon keeps running with the configuration and keys it loaded at start"
                        ),
                    },
                },
                _ = timer.tick() => self.tick(),
                (index, ready) = readable(&self.sockets, &mut next) => match ready {
                    Ok(mut guard) => {
                        if self.path.drain(&self.sockets[index], index, self.core) {
                            guard.clear_ready();
                        }
                        drop(guard);
                        self.perform_deferred();
                    }
                    Err(e) => {
                        tracing::warn!("waiting for datagrams failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
            }
            if let Some(code) = self.exit {
                return Stop::Exit(code);
            }
        }
    }

    /// The once-a-second system work.
    fn tick(&mut self) {
        self.refclocks.poll(self.core, super::refclock::wall_now());
        self.core.tick();
        self.perform_queued();
        if let Some(m) = &self.metrics {
            m.publish(self.core);
        }
        if let Some(f) = &mut self.on_tick {
            f(self.core);
        }
    }

    /// Carry out what the core queued outside the receive path.
    fn perform_queued(&mut self) {
        let mut actions = std::mem::take(&mut self.actions);
        self.core.out.actions.take_into(&mut actions);
        for a in actions.drain(..) {
            self.perform(a);
        }
        self.actions = actions;
    }

    /// Carry out one action that is not a reply.
    fn perform(&mut self, action: Action) {
        match action {
            Action::Send(o) => {
                let Some(sock) = self.sockets.get(o.socket) else {
                    return;
                };
                if let Some(ttl) = o.ttl {
                    if let Err(e) = sock.set_multicast_ttl(ttl) {
                        tracing::debug!(
                            "cannot set multicast TTL {ttl} on {}: {e}",
                            sock.local_addr()
                        );
                    }
                }
                match sock.send_to(&o.bytes, o.dst, None) {
                    Ok(_) => {
                        if let Some(id) = o.association {
                            self.core.poll_transmitted(id, &o.bytes);
                        }
                    }
                    Err(e) => {
                        self.core.stats.send_errors += 1;
                        tracing::debug!("poll to {} not sent: {e}", o.dst);
                    }
                }
            }
            Action::Statistics {
                file,
                unix_seconds,
                line,
            } => self.outputs.write(file, unix_seconds, &line),
            Action::SaveDrift { path, text } => {
                if let Err(e) = clockctl::write_atomic(&path, &text) {
                    tracing::warn!("{}: cannot write the drift file: {e}", path.display());
                }
            }
            Action::Exit(code) => self.exit = Some(code),
            Action::ReplyInPlace { .. } | Action::Reply(_) => {
                tracing::debug!("a reply outside the receive path was dropped");
            }
        }
    }

    /// Carry out what the receive path queued besides replies.
    fn perform_deferred(&mut self) {
        let mut deferred = std::mem::take(&mut self.path.deferred);
        for a in deferred.drain(..) {
            self.perform(a);
        }
        self.path.deferred = deferred;
    }
}

impl ReceivePath {
    /// Read, answer and send what waits on `sock` (index `index`), up to
    /// [`DRAIN`] batches; whether the socket is now empty (a batch came
    /// back short, or nothing was waiting).
    fn drain(&mut self, sock: &NtpSocket, index: usize, core: &mut Core) -> bool {
        let fd = sock.raw_fd();
        let wildcard = sock.is_wildcard();
        core.stats.input_wakeups += 1;
        for round in 0..DRAIN {
            let n = match self.rx.receive(fd) {
                Ok(n) => n,
                Err(e) => {
                    tracing::debug!("receive on {} failed: {e}", sock.local_addr());
                    return true;
                }
            };
            if round == 0 && n > 0 {
                core.stats.useful_input_wakeups += 1;
            }
            for i in 0..n {
                core.stats.receive_waiting = (n - i - 1) as u64;
                let Some((data, r)) = self.rx.get(i) else {
                    continue;
                };
                let from = if wildcard { reply_source(&r) } else { None };
                if self.tx.is_full() {
                    flush(&mut self.tx, core, fd);
                }
                let Some(out) = self.tx.next_buffer() else {
                    continue;
                };
                core.handle(index, wildcard, data, &r, out);
                core.out.actions.take_into(&mut self.actions);
                for a in self.actions.drain(..) {
                    match a {
                        // The core writes a reply in place only when it
                        // queues nothing else for the datagram.
                        Action::ReplyInPlace { len } => self.tx.commit(len, r.src, from),
                        // Mode 6 answers leave from the socket and
                        // address the request came to.
                        Action::Reply(d) => {
                            if self.tx.is_full() {
                                flush(&mut self.tx, core, fd);
                            }
                            self.tx.push(&d, r.src, from);
                        }
                        other => self.deferred.push(other),
                    }
                }
            }
            core.stats.receive_waiting = 0;
            flush(&mut self.tx, core, fd);
            if n < BATCH {
                return true;
            }
        }
        false
    }
}

/// The source address of a reply from a wildcard socket: the address the
/// request came to — unless that was a multicast group (a manycast
/// solicitation), which is never a source: then the address the kernel
/// routes from towards the requester.
fn reply_source(r: &Received) -> Option<IpAddr> {
    match r.dst {
        Some(d) if d.is_multicast() => super::route_source(r.src),
        d => d,
    }
}

/// Send what `tx` holds; failures count as send errors.
fn flush(tx: &mut SendBatch, core: &mut Core, fd: RawFd) {
    let f = tx.flush(fd);
    core.stats.send_errors += f.failed as u64;
}
