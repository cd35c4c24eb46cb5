//! The on-wire protocol of a client or symmetric association (RFC 5905
//! §8, §9.2 and Appendix A.5.1 `receive()`/`packet()`): building the
//! poll, and validating a reply against what we sent before it becomes a
//! sample.
//!
//! Checks on a reply, in order (the reference's flash bits):
//! * transmit timestamp zero, or equal to the last one seen: duplicate or
//!   replay (TEST1), dropped;
//! * origin timestamp not the transmit timestamp of our outstanding
//!   request, or no request outstanding: bogus (TEST2), dropped. A reply
//!   is accepted once: the outstanding request is then cleared;
//! * only after these, a kiss-o'-death or an unsynchronised server
//!   (leap 3 or stratum ≥ 16) is reported without a sample (TEST6).

use proto::{Header, KissCode, LeapIndicator, Mode, NtpDuration, NtpTimestamp, ReferenceId};

use crate::system::SystemState;

/// Why a reply was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Transmit timestamp zero or repeated (replay).
    Duplicate,
    /// Origin does not match our outstanding request.
    Bogus,
    /// Server unsynchronised (leap 3 or stratum 16 and above).
    Unsynchronized,
}

/// What a valid reply says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reply {
    /// A kiss-o'-death with this code.
    Kiss(KissCode),
    /// A measurement: the four timestamps as differences (exact 64-bit
    /// arithmetic before conversion to seconds).
    Measurement {
        /// T2 − T1.
        a: f64,
        /// T3 − T4.
        b: f64,
        /// T4 − T1 (local span, for the dispersion).
        span: f64,
    },
}

/// The on-wire state of one association (RFC 5905 §9.1 peer variables
/// `org`, `rec`, `xmt`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OnWire {
    /// Transmit timestamp of the peer's last accepted packet.
    pub org: NtpTimestamp,
    /// Our receive time of that packet.
    pub rec: NtpTimestamp,
    /// Transmit timestamp of our outstanding request (zero: none).
    pub xmt: NtpTimestamp,
}

/// After the timestamp checks: a stratum-0 packet is a kiss-o'-death, and
/// an unsynchronised or stratum-16 sender gives no sample (RFC 5905 §8).
fn kiss_or_unsynchronised(h: &Header) -> Result<Option<Reply>, Reject> {
    if h.stratum == 0 {
        return Ok(Some(Reply::Kiss(h.reference_id.kiss_code())));
    }
    if h.leap == LeapIndicator::Unsynchronized || h.stratum >= crate::system::MAXSTRAT {
        return Err(Reject::Unsynchronized);
    }
    Ok(None)
}

impl OnWire {
    /// Fill a request header in `out` (48 octets) with our system state,
    /// `mode`, `version` and poll exponent; the transmit timestamp is
    /// read from `now` last and remembered as outstanding.
    pub fn build_request(
        &mut self,
        sys: &SystemState,
        mode: Mode,
        version: u8,
        poll: i8,
        out: &mut [u8; 48],
        now: impl FnOnce() -> NtpTimestamp,
    ) {
        let h = Header {
            leap: sys.leap,
            version,
            mode,
            stratum: sys.wire_stratum(),
            poll,
            precision: sys.precision,
            root_delay: sys.wire_root_delay(),
            root_dispersion: sys.wire_root_dispersion(),
            reference_id: sys.refid,
            reference_timestamp: sys.reftime,
            origin_timestamp: self.org,
            receive_timestamp: self.rec,
            transmit_timestamp: NtpTimestamp::ZERO,
        };
        h.write(out);
        let mut t = now();
        if t.is_zero() {
            t = NtpTimestamp::from_bits(1);
        }
        out[40..48].copy_from_slice(&t.to_bytes());
        self.xmt = t;
    }

    /// Validate a server reply `h` received at `rx` (T4).
    pub fn receive(&mut self, h: &Header, rx: NtpTimestamp) -> Result<Reply, Reject> {
        self.receive_in(h, rx, false)
    }

    /// Validate a packet of a symmetric peer. As RFC 5905 A.5.1 says, the
    /// peer's transmit time and our receive time are kept even when the
    /// origin does not match (the peer may have sent before hearing from
    /// us), so our next packet carries them; only a matching origin gives
    /// a sample. The caller has already authenticated the packet when the
    /// association has a key.
    pub fn receive_symmetric(&mut self, h: &Header, rx: NtpTimestamp) -> Result<Reply, Reject> {
        self.receive_in(h, rx, true)
    }

    /// A broadcast packet (mode 5): only the replay check applies; the
    /// result carries T3 − T4 in `b` (no T1, T2: `a` and `span` are 0).
    pub fn receive_broadcast(&mut self, h: &Header, rx: NtpTimestamp) -> Result<Reply, Reject> {
        let t3 = h.transmit_timestamp;
        if t3.is_zero() || t3 == self.org {
            return Err(Reject::Duplicate);
        }
        self.org = t3;
        self.rec = rx;
        if let Some(kiss) = kiss_or_unsynchronised(h)? {
            return Ok(kiss);
        }
        Ok(Reply::Measurement {
            a: 0.0,
            b: (t3 - rx).to_seconds_f64(),
            span: 0.0,
        })
    }

    fn receive_in(
        &mut self,
        h: &Header,
        rx: NtpTimestamp,
        symmetric: bool,
    ) -> Result<Reply, Reject> {
        let t3 = h.transmit_timestamp;
        if t3.is_zero() || t3 == self.org {
            return Err(Reject::Duplicate);
        }
        if self.xmt.is_zero() || h.origin_timestamp != self.xmt {
            if symmetric {
                self.org = t3;
                self.rec = rx;
            }
            return Err(Reject::Bogus);
        }
        let t1 = self.xmt;
        self.xmt = NtpTimestamp::ZERO;
        self.org = t3;
        self.rec = rx;
        if let Some(kiss) = kiss_or_unsynchronised(h)? {
            return Ok(kiss);
        }
        let secs = |d: NtpDuration| d.to_seconds_f64();
        Ok(Reply::Measurement {
            a: secs(h.receive_timestamp - t1),
            b: secs(t3 - rx),
            span: secs(rx - t1),
        })
    }
}

/// The reference ID naming a source: its IPv4 address, or the first four
/// octets of the MD5 of its IPv6 address (RFC 5905 §7.3).
pub fn refid_of(addr: std::net::IpAddr) -> ReferenceId {
    match addr {
        std::net::IpAddr::V4(v4) => ReferenceId::from_ipv4(v4),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => ReferenceId::from_ipv4(v4),
            None => ReferenceId::from_ipv6(v6),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: u32, f: u32) -> NtpTimestamp {
        NtpTimestamp::from_parts(s, f)
    }

    fn reply_to(req: &[u8; 48], t2: NtpTimestamp, t3: NtpTimestamp, stratum: u8) -> Header {
        let mut h = Header::parse(req).unwrap();
        h.mode = Mode::Server;
        h.leap = LeapIndicator::NoWarning;
        h.stratum = stratum;
        h.origin_timestamp = NtpTimestamp::from_bytes(req[40..48].try_into().unwrap());
        h.receive_timestamp = t2;
        h.transmit_timestamp = t3;
        h
    }

    #[test]
    fn request_then_reply_gives_offset_and_delay() {
        let mut w = OnWire::default();
        let sys = SystemState::unsynchronized(-20);
        let mut req = [0u8; 48];
        w.build_request(&sys, Mode::Client, 4, 6, &mut req, || ts(1000, 0));
        let h = Header::parse(&req).unwrap();
        assert_eq!((h.mode, h.version, h.poll), (Mode::Client, 4, 6));
        assert_eq!(h.transmit_timestamp, ts(1000, 0));
        // Server 0.25 s ahead, 10 ms each way.
        let t2 = ts(1000, 0) + NtpDuration::from_seconds_f64(0.260);
        let t3 = t2 + NtpDuration::from_seconds_f64(0.001);
        let t4 = ts(1000, 0) + NtpDuration::from_seconds_f64(0.021);
        let r = w.receive(&reply_to(&req, t2, t3, 2), t4).unwrap();
        let Reply::Measurement { a, b, span } = r else {
            panic!("{r:?}")
        };
        assert!(((a + b) / 2.0 - 0.25).abs() < 1e-6);
        assert!(((a - b) - 0.020).abs() < 1e-6);
        assert!((span - 0.021).abs() < 1e-6);
        // The same reply again: a replay.
        assert_eq!(
            w.receive(&reply_to(&req, t2, t3, 2), t4),
            Err(Reject::Duplicate)
        );
        // The next request carries the peer's transmit time as origin.
        let mut req2 = [0u8; 48];
        w.build_request(&sys, Mode::Client, 4, 6, &mut req2, || ts(1064, 0));
        assert_eq!(Header::parse(&req2).unwrap().origin_timestamp, t3);
    }

    #[test]
    fn bogus_origin_and_unsolicited_replies_are_refused() {
        let mut w = OnWire::default();
        let sys = SystemState::unsynchronized(-20);
        let mut req = [0u8; 48];
        req[0] = 0x23;
        let mut h = reply_to(&req, ts(5, 0), ts(5, 1), 2);
        assert_eq!(
            w.receive(&h, ts(5, 2)),
            Err(Reject::Bogus),
            "nothing outstanding"
        );
        w.build_request(&sys, Mode::Client, 4, 6, &mut req, || ts(2000, 0));
        h.origin_timestamp = ts(1999, 0);
        assert_eq!(w.receive(&h, ts(2000, 5)), Err(Reject::Bogus));
        // A forged reply did not consume the outstanding request.
        let good = reply_to(&req, ts(2000, 1), ts(2000, 2), 2);
        assert!(w.receive(&good, ts(2000, 5)).is_ok());
    }

    #[test]
    fn kiss_codes_and_unsynchronised_servers_give_no_sample() {
        let mut w = OnWire::default();
        let sys = SystemState::unsynchronized(-20);
        let mut req = [0u8; 48];
        w.build_request(&sys, Mode::Client, 4, 6, &mut req, || ts(10, 0));
        let mut h = reply_to(&req, ts(10, 1), ts(10, 2), 0);
        h.reference_id = ReferenceId::from_bytes(*b"RATE");
        assert_eq!(w.receive(&h, ts(10, 3)), Ok(Reply::Kiss(KissCode::Rate)));
        w.build_request(&sys, Mode::Client, 4, 6, &mut req, || ts(11, 0));
        let mut h = reply_to(&req, ts(11, 1), ts(11, 2), 3);
        h.leap = LeapIndicator::Unsynchronized;
        assert_eq!(w.receive(&h, ts(11, 3)), Err(Reject::Unsynchronized));
    }

    #[test]
    fn symmetric_peers_keep_the_latest_timestamps_even_without_a_match() {
        let mut w = OnWire::default();
        let sys = SystemState::unsynchronized(-20);
        // The peer spoke first: no match, but its timestamps are kept.
        let mut first = Header::parse(&[0x21u8; 48]).unwrap();
        first.mode = Mode::SymmetricActive;
        first.stratum = 2;
        first.leap = LeapIndicator::NoWarning;
        first.origin_timestamp = NtpTimestamp::ZERO;
        first.transmit_timestamp = ts(50, 0);
        assert_eq!(w.receive_symmetric(&first, ts(50, 9)), Err(Reject::Bogus));
        let mut req = [0u8; 48];
        w.build_request(&sys, Mode::SymmetricPassive, 4, 6, &mut req, || ts(51, 0));
        let h = Header::parse(&req).unwrap();
        assert_eq!(
            (h.origin_timestamp, h.receive_timestamp),
            (ts(50, 0), ts(50, 9))
        );
        // Its next packet answers ours: a sample.
        let mut second = first;
        second.origin_timestamp = ts(51, 0);
        second.receive_timestamp = ts(51, 1);
        second.transmit_timestamp = ts(51, 2);
        assert!(matches!(
            w.receive_symmetric(&second, ts(51, 3)),
            Ok(Reply::Measurement { .. })
        ));
        // A client association would not have kept the first packet.
        let mut c = OnWire::default();
        assert_eq!(c.receive(&first, ts(50, 9)), Err(Reject::Bogus));
        assert_eq!(c.org, NtpTimestamp::ZERO);
    }

    #[test]
    fn broadcasts_need_no_request_but_are_not_replayed() {
        let mut w = OnWire::default();
        let mut b = Header::parse(&[0x25u8; 48]).unwrap();
        b.mode = Mode::Broadcast;
        b.stratum = 3;
        b.leap = LeapIndicator::NoWarning;
        b.transmit_timestamp = ts(100, 0);
        let r = w.receive_broadcast(&b, ts(100, 0) + NtpDuration::from_seconds_f64(0.002));
        let Ok(Reply::Measurement { b: t3_t4, .. }) = r else {
            panic!("{r:?}")
        };
        assert!((t3_t4 + 0.002).abs() < 1e-9);
        assert_eq!(w.receive_broadcast(&b, ts(100, 5)), Err(Reject::Duplicate));
    }

    #[test]
    fn refids() {
        assert_eq!(
            refid_of("192.0.2.1".parse().unwrap()).to_bytes(),
            [192, 0, 2, 1]
        );
        assert_eq!(
            refid_of("::ffff:192.0.2.1".parse().unwrap()).to_bytes(),
            [192, 0, 2, 1]
        );
        let v6 = refid_of("2001:db8::1".parse().unwrap());
        assert_eq!(v6, ReferenceId::from_ipv6("2001:db8::1".parse().unwrap()));
    }
}
