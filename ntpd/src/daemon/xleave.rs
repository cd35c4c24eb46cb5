//! The `xleave` peer variable as the reference 4.2.8 keeps it in basic
//! (not interleaved) mode: how long a poll took from the reading of its
//! transmit timestamp to the moment the socket took the datagram (its
//! `peer_xmit()` reads the clock again after `sendpkt()` and keeps the
//! difference). Here that spans sealing the packet (MAC, Autokey fields),
//! its wait in the action queue and the `sendto`, RFC 5905 §8 (the
//! transmit timestamp is only an estimate of when the packet left).

use proto::NtpTimestamp;

use super::Core;

/// Offset of the transmit timestamp in an NTP header (RFC 5905 §7.3).
const TRANSMIT_AT: usize = 40;

/// Latencies at or above this are not a measurement (a clock step between
/// the two readings), seconds.
const IMPLAUSIBLE: f64 = 1.0;

/// The latency of `datagram` sent at `now`: `now` less the transmit
/// timestamp it carries; `None` for a datagram too short or a difference
/// outside [0, 1) s.
pub fn transmit_latency(datagram: &[u8], now: NtpTimestamp) -> Option<f64> {
    let xmt: [u8; 8] = datagram
        .get(TRANSMIT_AT..TRANSMIT_AT + 8)?
        .try_into()
        .ok()?;
    let d = (now - NtpTimestamp::from_bytes(xmt)).to_seconds_f64();
    (0.0..IMPLAUSIBLE).contains(&d).then_some(d)
}

impl Core {
    /// The poll `datagram` of association `id` was handed to its socket:
    /// its latency becomes the association's `xleave`.
    pub fn poll_transmitted(&mut self, id: u16, datagram: &[u8]) {
        let now = self.env.wall();
        if let (Some(r), Some(d)) = (
            self.assocs.iter_mut().find(|r| r.assoc.id == id),
            transmit_latency(datagram, now),
        ) {
            r.xleave = d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::NtpDuration;

    #[test]
    fn latency_is_now_less_the_transmit_timestamp() {
        let xmt = NtpTimestamp::from_bits(0xe000_0000_8000_0000);
        let mut pkt = [0u8; 48];
        pkt[40..48].copy_from_slice(&xmt.to_bits().to_be_bytes());
        let later = xmt + NtpDuration::from_seconds_f64(0.000_125);
        let d = transmit_latency(&pkt, later).unwrap();
        assert!((d - 0.000_125).abs() < 1e-9, "{d}");
        assert_eq!(transmit_latency(&pkt[..44], later), None);
        let before = xmt - NtpDuration::from_seconds_f64(0.5);
        assert_eq!(transmit_latency(&pkt, before), None, "clock stepped back");
        let much_later = xmt + NtpDuration::from_seconds_f64(3.0);
        assert_eq!(transmit_latency(&pkt, much_later), None);
    }
}
