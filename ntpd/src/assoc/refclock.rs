//! A reference clock as an association (reference `refclock.c`,
//! `refclock_receive()`): the driver's samples of one poll interval are
//! reduced to their median (the reference's median filter, without its
//! outlier trimming) and go into the same clock filter as a network
//! source's, with delay zero and the driver's stratum, refid and
//! precision as if a server had sent them.

use clock::filter::FilterUpdate;
use clock::peer::SourceInfo;
use clock::sample::Sample;
use proto::{Header, Mode, NtpShort, NtpTimestamp, ReferenceId};
use refclock::RefSample;

use super::{peer_event, Association};

/// What a clock says about itself once its fudge factors are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockIdentity {
    /// Stratum (`fudge stratum`, else the driver's default).
    pub stratum: u8,
    /// Reference ID (`fudge refid`, else the driver's).
    pub refid: [u8; 4],
    /// Precision shown for the association, log2 seconds (the system's,
    /// as the reference shows it).
    pub precision: i8,
}

/// The samples of a clock since its last poll.
#[derive(Debug, Clone, Default)]
pub struct PendingSamples(pub Vec<RefSample>);

impl PendingSamples {
    /// The median sample by offset (the later one of an even count's two
    /// middle ones), emptying the list.
    pub fn take_median(&mut self) -> Option<RefSample> {
        if self.0.is_empty() {
            return None;
        }
        self.0.sort_by(|a, b| a.offset.total_cmp(&b.offset));
        let m = self.0[self.0.len() / 2];
        self.0.clear();
        Some(m)
    }
}

impl Association {
    /// The poll of a reference clock at monotonic time `now`, when due:
    /// the reachability register shifts, and the median of `pending` (if
    /// any arrived) becomes a clock filter sample. `precision` is the
    /// system precision in seconds, `wall` the wall clock (shown as the
    /// association's `rec`). The driver's dispersion becomes the
    /// association's root dispersion, as in the reference (`rootdisp` of
    /// a LOCAL clock is 10 ms).
    pub fn refclock_poll(
        &mut self,
        pending: &mut PendingSamples,
        id: ClockIdentity,
        precision: f64,
        now: f64,
        wall: NtpTimestamp,
    ) -> Option<FilterUpdate> {
        if !self.peer.poll_due(now) {
            return None;
        }
        self.peer.on_poll_sent(now);
        self.stats.sent += 1;
        let s = pending.take_median()?;
        self.stats.received += 1;
        self.stats.processed += 1;
        self.last_rx = Some(now);
        if !self.peer.reach().is_reachable() {
            self.event(peer_event::REACH);
            self.reach_since = Some(now);
        }
        self.last_header = Some(Header {
            leap: s.leap,
            version: 4,
            mode: Mode::Server,
            stratum: id.stratum,
            poll: self.cfg.minpoll,
            precision: id.precision,
            root_delay: NtpShort::ZERO,
            root_dispersion: NtpShort::from_seconds_f64(s.dispersion),
            reference_id: ReferenceId::from_bytes(id.refid),
            reference_timestamp: NtpTimestamp::ZERO,
            origin_timestamp: NtpTimestamp::ZERO,
            receive_timestamp: NtpTimestamp::ZERO,
            transmit_timestamp: NtpTimestamp::ZERO,
        });
        self.authentic = false;
        self.wire.rec = wall;
        let sample = Sample {
            offset: s.offset,
            delay: 0.0,
            dispersion: precision,
            time: now,
        };
        let info = SourceInfo {
            stratum: id.stratum,
            leap: crate::daemon::sync::leap_to_clock(s.leap),
            root_delay: 0.0,
            root_dispersion: s.dispersion,
            loops_to_us: false,
        };
        Some(
            self.peer
                .on_sample(sample, info, now, self.freq_uncertainty),
        )
    }
}

/// The system refid while `a` is the system peer, if `a` is a stratum 0
/// reference clock: the clock's own refid (`SHM`, `GPS`), as the
/// reference's `clock_update()` takes `peer->refid` for a stratum 0 peer
/// (a clock at a fudged stratum above 0, e.g. LOCAL, gives its address,
/// `127.127.1.0`, which ntpq shows as `LOCAL(0)`).
pub fn system_refid(a: &Association) -> Option<u32> {
    let std::net::IpAddr::V4(v4) = a.cfg.remote.ip() else {
        return None;
    };
    let h = a.last_header?;
    (v4.octets()[..2] == [127, 127] && h.stratum == 0).then_some(h.reference_id.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assoc::{AssocConfig, HostMode};
    use proto::LeapIndicator;

    fn sample(offset: f64) -> RefSample {
        RefSample {
            offset,
            dispersion: 0.01,
            leap: LeapIndicator::NoWarning,
        }
    }

    #[test]
    fn median_of_the_poll() {
        let mut p = PendingSamples(vec![sample(0.3), sample(0.1), sample(0.2)]);
        assert_eq!(p.take_median().unwrap().offset, 0.2);
        assert!(p.take_median().is_none(), "emptied");
    }

    #[test]
    fn a_poll_feeds_the_filter_and_shows_the_clock_as_a_server() {
        let remote = "127.127.1.0:123".parse().unwrap();
        let mut a = Association::new(1, AssocConfig::new(remote, HostMode::Client), 1e-7, 0.0);
        let id = ClockIdentity {
            stratum: 10,
            refid: *b"LOCL",
            precision: -7,
        };
        let mut p = PendingSamples(vec![sample(0.0)]);
        let up = a.refclock_poll(&mut p, id, 1e-7, 0.0, NtpTimestamp::ZERO);
        assert!(matches!(up, Some(FilterUpdate::Updated(_))), "{up:?}");
        assert!(a.peer.reach().is_reachable());
        let h = a.last_header.unwrap();
        assert_eq!((h.stratum, h.reference_id.to_bytes()), (10, *b"LOCL"));
        assert_eq!(a.peer.candidate().unwrap().stratum, 10);
        // Not due again at once.
        let mut p = PendingSamples(vec![sample(0.0)]);
        assert!(a
            .refclock_poll(&mut p, id, 1e-7, 1.0, NtpTimestamp::ZERO)
            .is_none());
    }
}
