//! What the daemon's core asks of the world it runs in: the two clocks and
//! the kernel's routing table. The core reads no clock and opens no socket
//! itself; the event loop hands it a [`SystemEnvironment`], and tests or a
//! simulation hand it a [`SimEnvironment`] whose time they move.
//!
//! Time comes in through a trait rather than as one argument per call
//! because RFC 5905 §8 wants the transmit timestamp read as late as
//! possible — after the reply is built — so the core must be able to read
//! the wall clock at that moment.

use std::cell::Cell;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;

use proto::{NtpDuration, NtpTimestamp};

use crate::timing::{self, Monotonic};

/// The clocks and routes the core depends on.
pub trait Environment: fmt::Debug {
    /// The system clock (CLOCK_REALTIME) as an NTP timestamp: receive
    /// times when the kernel gave none, transmit timestamps, reference
    /// times.
    fn wall(&self) -> NtpTimestamp;

    /// Seconds on a monotonic scale that starts near zero: poll timers,
    /// ages, rate limits.
    fn monotonic(&self) -> f64;

    /// The local address the kernel would send from towards `remote`,
    /// if it has a route there.
    fn route_to(&self, remote: SocketAddr) -> Option<IpAddr>;
}

/// The real machine: CLOCK_REALTIME, CLOCK_MONOTONIC and the kernel's
/// routing decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEnvironment {
    mono: Monotonic,
}

impl SystemEnvironment {
    /// Monotonic time counts from now.
    pub fn start() -> Self {
        SystemEnvironment {
            mono: Monotonic::start(),
        }
    }
}

impl Environment for SystemEnvironment {
    fn wall(&self) -> NtpTimestamp {
        timing::now_ntp()
    }

    fn monotonic(&self) -> f64 {
        self.mono.now()
    }

    fn route_to(&self, remote: SocketAddr) -> Option<IpAddr> {
        route_source(remote)
    }
}

/// The local address the kernel would send from to reach `remote`: a UDP
/// socket connected to it (which sends nothing) reports its bound address.
pub fn route_source(remote: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = if remote.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = crate::net::socket::udp_socket(remote.is_ipv6()).ok()?;
    crate::net::socket::bind_to(&s, any).ok()?;
    crate::net::socket::connect_to(&s, remote).ok()?;
    crate::net::socket::bound_addr(&s).ok().map(|a| a.ip())
}

/// A simulated world for tests: time stands still until [`SimClock::advance`]
/// moves it, and every destination is reached from one local address.
/// Clones share the same clock, so several cores (and the test driving
/// them) see one time.
#[derive(Debug, Clone)]
pub struct SimEnvironment {
    clock: SimClock,
    local: Option<IpAddr>,
    /// The wall-clock time at simulated time zero, NTP seconds.
    epoch: u32,
    /// This host's wall clock minus true time, seconds.
    wall_error: f64,
}

/// The shared true time of a simulation.
#[derive(Debug, Clone, Default)]
pub struct SimClock(Rc<Cell<f64>>);

impl SimClock {
    /// A clock at monotonic time zero.
    pub fn new() -> Self {
        SimClock::default()
    }

    /// Seconds since the simulation started.
    pub fn now(&self) -> f64 {
        self.0.get()
    }

    /// Move time forward by `seconds`.
    pub fn advance(&self, seconds: f64) {
        self.0.set(self.0.get() + seconds.max(0.0));
    }
}

/// The wall-clock time at which a simulation starts unless told
/// otherwise (2026-01-01 00:00:00 UTC, NTP era 0).
pub const SIM_EPOCH_NTP_SECONDS: u32 = 3_976_214_400;

impl SimEnvironment {
    /// A host on `clock` that reaches every destination from `local`.
    pub fn new(clock: SimClock, local: Option<IpAddr>) -> Self {
        SimEnvironment {
            clock,
            local,
            epoch: SIM_EPOCH_NTP_SECONDS,
            wall_error: 0.0,
        }
    }

    /// The same host with true time zero at wall-clock `ntp_seconds`
    /// (e.g. inside the validity of the certificates it loads).
    pub fn with_epoch(mut self, ntp_seconds: u32) -> Self {
        self.epoch = ntp_seconds;
        self
    }

    /// The same host with its system clock off true time by `seconds`.
    pub fn with_wall_error(mut self, seconds: f64) -> Self {
        self.wall_error = seconds;
        self
    }
}

impl Environment for SimEnvironment {
    fn wall(&self) -> NtpTimestamp {
        NtpTimestamp::from_parts(self.epoch, 0)
            + NtpDuration::from_seconds_f64(self.clock.now() + self.wall_error)
    }

    fn monotonic(&self) -> f64 {
        self.clock.now()
    }

    fn route_to(&self, _remote: SocketAddr) -> Option<IpAddr> {
        self.local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_hosts_share_one_time_and_keep_their_own_error() {
        let clock = SimClock::new();
        let a = SimEnvironment::new(clock.clone(), None);
        let b = SimEnvironment::new(clock.clone(), None).with_wall_error(0.25);
        clock.advance(10.0);
        assert_eq!(a.monotonic(), 10.0);
        assert_eq!(b.monotonic(), 10.0);
        let d = (b.wall() - a.wall()).to_seconds_f64();
        assert!((d - 0.25).abs() < 1e-6, "{d}");
        assert_eq!(a.wall().seconds(), SIM_EPOCH_NTP_SECONDS + 10);
    }

    #[test]
    fn the_real_route_to_loopback_is_loopback() {
        let local = SystemEnvironment::start().route_to("127.0.0.1:123".parse().unwrap());
        assert_eq!(local, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }
}
