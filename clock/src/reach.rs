//! Reachability register and per-association poll interval
//! (RFC 5905 §13 and Appendix A.5.7 `poll()` / `poll_update()`).

use crate::constants::{BURST_INTERVAL, IBURST_COUNT, UNREACH};

/// The 8-bit reachability shift register of an association plus the count
/// of polls since it last went to zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reachability {
    register: u8,
    unreach: u32,
}

impl Reachability {
    /// The register value, newest poll in bit 0 (as shown by `ntpq`).
    pub fn register(&self) -> u8 {
        self.register
    }

    /// A source is reachable when any of the last eight polls was answered.
    pub fn is_reachable(&self) -> bool {
        self.register != 0
    }

    /// Polls sent since the register was last non-zero.
    pub fn unreach(&self) -> u32 {
        self.unreach
    }

    /// Whether none of the last three polls was answered: the poll process
    /// then shifts a "missing" sample into the clock filter.
    pub fn last_three_missed(&self) -> bool {
        self.register & 0x07 == 0
    }

    /// Record a poll being sent: shift the register left.
    pub fn on_poll(&mut self) {
        self.register <<= 1;
        if self.register == 0 {
            self.unreach = self.unreach.saturating_add(1);
        }
    }

    /// Record a valid reply: set the low bit.
    pub fn on_reply(&mut self) {
        self.register |= 1;
        self.unreach = 0;
    }
}

/// How early a poll may go, seconds: half the daemon's one-second timer.
///
/// Polls are sent from a once-a-second timer (the reference's
/// `current_time` counts whole seconds, RFC 5905 §A.5.7 `poll()` runs
/// from it).  A poll scheduled at its send time + 2 s (an `iburst`
/// packet) is checked by ticks that drift a few milliseconds against
/// that time; without slack a tick 1 ms early left the poll to the next
/// tick, and an `iburst` volley came out 2–3 s apart, costing start-up
/// up to 3 s.  Half a tick makes the poll go at the tick nearest its
/// time.  The simulators poll at exact times and do not use it.
pub const POLL_TICK_SLACK: f64 = 0.5;

/// Per-association poll interval management: host poll exponent clamped
/// to `[minpoll, maxpoll]`, following the system poll while reachable and
/// backing off while unreachable, and `iburst` volleys.
#[derive(Debug, Clone, PartialEq)]
pub struct PollState {
    minpoll: i8,
    maxpoll: i8,
    hpoll: i8,
    iburst: bool,
    burst_left: u8,
    /// Local time at which the next poll is due.
    next_poll: f64,
}

impl PollState {
    /// A new association first polling at `now`.
    pub fn new(minpoll: i8, maxpoll: i8, iburst: bool, now: f64) -> Self {
        let maxpoll = maxpoll.max(minpoll);
        PollState {
            minpoll,
            maxpoll,
            hpoll: minpoll,
            iburst,
            burst_left: 0,
            next_poll: now,
        }
    }

    /// Host poll exponent.
    pub fn hpoll(&self) -> i8 {
        self.hpoll
    }

    /// Host poll interval, seconds.
    pub fn interval(&self) -> f64 {
        2f64.powi(self.hpoll as i32)
    }

    /// Local time of the next poll.
    pub fn next_poll(&self) -> f64 {
        self.next_poll
    }

    /// Whether an `iburst` volley is under way (packets after its first
    /// are still to be sent).
    pub fn in_burst(&self) -> bool {
        self.burst_left > 0
    }

    /// Whether a poll is due at `now`.  A caller that checks from a
    /// periodic timer passes `now + POLL_TICK_SLACK` (see there).
    pub fn is_due(&self, now: f64) -> bool {
        now >= self.next_poll
    }

    /// Called when a poll is sent at `now`; starts an iburst volley when
    /// the source is unreachable and schedules the next poll.
    pub fn on_poll_sent(&mut self, reach: &Reachability, now: f64) {
        if self.burst_left > 0 {
            self.burst_left -= 1;
        } else if self.iburst && !reach.is_reachable() {
            self.burst_left = IBURST_COUNT - 1;
        }
        if !reach.is_reachable() && reach.unreach() >= UNREACH {
            // Back off towards maxpoll while nobody answers.
            self.hpoll = (self.hpoll + 1).min(self.maxpoll);
        }
        self.schedule(now);
    }

    /// Track the system poll exponent (RFC 5905 `poll_update()`): the host
    /// poll is the system poll clamped to this association's bounds.
    pub fn update(&mut self, sys_poll: i8, now: f64) {
        let new = sys_poll.clamp(self.minpoll, self.maxpoll);
        if new != self.hpoll {
            self.hpoll = new;
            self.schedule(now);
        }
    }

    fn schedule(&mut self, now: f64) {
        let step = if self.burst_left > 0 {
            BURST_INTERVAL
        } else {
            self.interval()
        };
        // Never move a pending poll later than one interval from now.
        self.next_poll = now + step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_shifts_and_counts_unreach() {
        let mut r = Reachability::default();
        r.on_poll();
        r.on_reply();
        assert_eq!(r.register(), 1);
        for _ in 0..3 {
            r.on_poll();
        }
        assert_eq!(r.register(), 0b1000);
        assert!(r.last_three_missed());
        assert!(r.is_reachable());
        for _ in 0..5 {
            r.on_poll();
        }
        assert!(!r.is_reachable());
        assert_eq!(r.unreach(), 1);
        r.on_reply();
        assert_eq!(r.unreach(), 0);
        assert_eq!(r.register(), 1);
    }

    #[test]
    fn iburst_sends_six_packets_two_seconds_apart() {
        let r = Reachability::default();
        let mut p = PollState::new(6, 10, true, 0.0);
        let mut t = 0.0;
        let mut times = vec![];
        for _ in 0..6 {
            times.push(t);
            p.on_poll_sent(&r, t);
            t = p.next_poll();
        }
        assert_eq!(times, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        // After the volley the host poll interval applies.
        assert_eq!(t, 10.0 + 64.0);
        // A reachable source is polled at the host poll interval.
        let mut r2 = Reachability::default();
        r2.on_reply();
        let mut p2 = PollState::new(6, 10, true, 0.0);
        p2.on_poll_sent(&r2, 0.0);
        assert_eq!(p2.next_poll(), 64.0);
    }

    #[test]
    fn a_tick_slightly_early_still_sends_the_burst_packet() {
        let r = Reachability::default();
        let mut p = PollState::new(6, 10, true, 0.0);
        p.on_poll_sent(&r, 0.004);
        assert!(
            !p.is_due(1.003 + POLL_TICK_SLACK),
            "one tick after: not yet"
        );
        assert!(!p.is_due(2.002), "2 ms early without slack: missed");
        assert!(
            p.is_due(2.002 + POLL_TICK_SLACK),
            "the tick 2 ms early sends it"
        );
    }

    #[test]
    fn follows_system_poll_within_bounds_and_backs_off() {
        let mut p = PollState::new(6, 8, false, 0.0);
        p.update(10, 0.0);
        assert_eq!(p.hpoll(), 8);
        p.update(4, 0.0);
        assert_eq!(p.hpoll(), 6);
        let mut r = Reachability::default();
        for _ in 0..(UNREACH + 3) {
            r.on_poll();
            p.on_poll_sent(&r, 0.0);
        }
        assert_eq!(p.hpoll(), 8);
    }
}
