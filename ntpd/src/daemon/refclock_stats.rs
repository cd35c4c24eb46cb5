//! What reference clocks show outside the daemon: the `clockstats` file
//! (reference `record_clock_stats()`: `MJD SECONDS ADDRESS TIMECODE`, the
//! last timecode a driver received, written at the clock's poll) and the
//! clock variables of `ntpq -c cv` (mode 6 READCLOCK, reference
//! `ctl_putclock()`).

use std::net::IpAddr;

use refclock::RefclockAddress;

use super::refclock::ClockState;
use crate::mode6::ClockVars;

/// A clockstats line (without the newline), e.g. `61381 30463.250
/// 127.127.20.0 $GPRMC,…`.
pub fn clockstats_line(unix_secs: i64, nanos: u32, clock: RefclockAddress, code: &str) -> String {
    let (day, sod) = crate::stats::mjd(unix_secs, nanos);
    let addr = IpAddr::V4(clock.to_ipv4());
    format!("{day} {sod:.3} {addr} {code}")
}

/// The clock variables of association `id` (`0`: the system peer if it
/// is a clock, else the first clock).
pub fn clock_vars(clocks: &[ClockState], id: u16, sys_peer: Option<u16>) -> Option<ClockVars> {
    let c = if id == 0 {
        sys_peer
            .and_then(|p| clocks.iter().find(|c| c.id == p))
            .or_else(|| clocks.first())?
    } else {
        clocks.iter().find(|c| c.id == id)?
    };
    let flags = c
        .fudge
        .flags
        .iter()
        .enumerate()
        .filter(|(_, f)| **f == Some(true))
        .fold(0u8, |acc, (i, _)| acc | 1 << i);
    Some(ClockVars {
        status: u16::from(c.current) << 8 | u16::from(c.last_event),
        device: c.description.to_string(),
        timecode: c.status.timecode.clone(),
        polls: c.polls,
        noreply: c.noreply,
        badformat: c.status.badformat,
        baddata: c.status.baddata,
        fudgetime1: c.fudge.time1,
        fudgetime2: c.fudge.time2,
        stratum: c.identity.stratum,
        refid: c.identity.refid,
        flags,
        driver_type: c.address.driver_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clockstats_line_as_the_reference() {
        let a = RefclockAddress {
            driver_type: 20,
            unit: 0,
        };
        // 2026-12-07 08:37:43.25 UTC = MJD 61381.
        let line = clockstats_line(1_796_632_663, 250_000_000, a, "$GPRMC,083743.00,A*57");
        assert_eq!(line, "61381 31063.250 127.127.20.0 $GPRMC,083743.00,A*57");
    }
}
