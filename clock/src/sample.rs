//! On-wire computation of offset, delay and dispersion (RFC 5905 §8 and
//! Appendix A.5.1.1 `packet()`), including the broadcast case and its
//! delay calibration.

use crate::constants::{BDELAY, PHI};

/// One measurement of a source, ready for the clock filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Clock offset θ of the source relative to us, seconds (positive: we are behind).
    pub offset: f64,
    /// Round-trip delay δ, seconds (never below the combined precisions).
    pub delay: f64,
    /// Dispersion ε of this sample, seconds.
    pub dispersion: f64,
    /// Local time of the sample (T4), seconds on the caller's time scale.
    pub time: f64,
}

impl Sample {
    /// Client/server or symmetric exchange from the four timestamps
    /// (origin T1, receive T2, transmit T3, destination T4), all in seconds.
    ///
    /// `precision` is the sum of the peer's and our own precision in seconds
    /// (`2^peer.precision + 2^sys.precision`).  RFC 5905 §8:
    /// θ = ((T2 − T1) + (T3 − T4)) / 2, δ = (T4 − T1) − (T3 − T2),
    /// ε = precisions + PHI·(T4 − T1).
    pub fn from_timestamps(t1: f64, t2: f64, t3: f64, t4: f64, precision: f64) -> Sample {
        Self::from_intervals(t2 - t1, t3 - t4, t4 - t1, precision, t4)
    }

    /// [`Sample::from_timestamps`] with the frequency tolerance `phi` (s/s,
    /// `tinker dispersion`) instead of the default PHI.
    pub fn from_timestamps_phi(
        t1: f64,
        t2: f64,
        t3: f64,
        t4: f64,
        precision: f64,
        phi: f64,
    ) -> Sample {
        Self::from_intervals_phi(t2 - t1, t3 - t4, t4 - t1, precision, t4, phi)
    }

    /// The same computation from the two half-exchange differences, which
    /// the caller can compute exactly in 64-bit NTP arithmetic before
    /// converting to seconds: `a = T2 − T1`, `b = T3 − T4`, plus the local
    /// round-trip span `T4 − T1` (for the dispersion) and the local time T4.
    pub fn from_intervals(a: f64, b: f64, local_span: f64, precision: f64, t4: f64) -> Sample {
        Self::from_intervals_phi(a, b, local_span, precision, t4, PHI)
    }

    /// [`Sample::from_intervals`] with the frequency tolerance `phi` (s/s,
    /// `tinker dispersion`) instead of the default PHI: ε = precisions +
    /// phi·(T4 − T1).
    pub fn from_intervals_phi(
        a: f64,
        b: f64,
        local_span: f64,
        precision: f64,
        t4: f64,
        phi: f64,
    ) -> Sample {
        let offset = (a + b) / 2.0;
        // δ = (T4 − T1) − (T3 − T2) = a − b.  Clamp to the precision floor
        // so that a negative delay (only possible from bad clocks) cannot
        // produce a negative distance.
        let delay = (a - b).max(precision);
        let dispersion = precision + phi * local_span.abs();
        Sample {
            offset,
            delay,
            dispersion,
            time: t4,
        }
    }

    /// Broadcast sample: only the server's transmit time T3 and our receive
    /// time T4 exist.  The one-way delay is half of `calibrated_delay`
    /// (RFC 5905 §8: θ = T3 − T4 + δ/2).
    pub fn broadcast(t3: f64, t4: f64, calibrated_delay: f64, precision: f64) -> Sample {
        Self::broadcast_phi(t3, t4, calibrated_delay, precision, PHI)
    }

    /// [`Sample::broadcast`] with the frequency tolerance `phi` (s/s,
    /// `tinker dispersion`).
    pub fn broadcast_phi(
        t3: f64,
        t4: f64,
        calibrated_delay: f64,
        precision: f64,
        phi: f64,
    ) -> Sample {
        Sample {
            offset: t3 - t4 + calibrated_delay / 2.0,
            delay: calibrated_delay.max(precision),
            dispersion: precision + phi * calibrated_delay,
            time: t4,
        }
    }
}

/// Round-trip delay used for a broadcast association.
///
/// It starts at the configured `broadcastdelay` (default [`BDELAY`]).  A
/// broadcast client first runs a client/server volley with the server; the
/// calibration then picks the delay that makes the broadcast offset agree
/// with the unicast one, as reference ntpd does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BroadcastDelay {
    delay: f64,
    calibrated: bool,
}

impl Default for BroadcastDelay {
    fn default() -> Self {
        Self::new(BDELAY)
    }
}

impl BroadcastDelay {
    /// A delay configured with `broadcastdelay` (seconds, negative values clamp to 0).
    pub fn new(configured: f64) -> Self {
        BroadcastDelay {
            delay: configured.max(0.0),
            calibrated: false,
        }
    }

    /// Current round-trip delay estimate, seconds.
    pub fn delay(&self) -> f64 {
        self.delay
    }

    /// Whether a calibration volley has completed.
    pub fn is_calibrated(&self) -> bool {
        self.calibrated
    }

    /// Calibrate from a unicast sample and a broadcast packet received close
    /// in time: `unicast_offset` is θ of the client/server exchange,
    /// `t3`/`t4` the broadcast packet's transmit and receive times.  The raw
    /// broadcast offset `T3 − T4` lacks the one-way delay, so the round trip
    /// is twice the difference.
    pub fn calibrate(&mut self, unicast_offset: f64, t3: f64, t4: f64) {
        let raw = t3 - t4;
        self.delay = 2.0 * (unicast_offset - raw).abs();
        self.calibrated = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_path_offset_and_delay() {
        // Server 0.25 s ahead, 10 ms each way, 1 ms processing.
        let t1 = 100.0;
        let t2 = t1 + 0.010 + 0.25;
        let t3 = t2 + 0.001;
        let t4 = t1 + 0.021;
        let s = Sample::from_timestamps(t1, t2, t3, t4, 2e-6);
        assert!((s.offset - 0.25).abs() < 1e-12);
        assert!((s.delay - 0.020).abs() < 1e-12);
        assert!((s.dispersion - (2e-6 + PHI * 0.021)).abs() < 1e-15);
        assert_eq!(s.time, t4);
    }

    #[test]
    fn tinker_dispersion_sets_the_dispersion_rate() {
        // 21 ms round trip, tolerance 500 PPM instead of 15 PPM.
        let t1 = 100.0;
        let s = Sample::from_timestamps_phi(t1, t1 + 0.010, t1 + 0.011, t1 + 0.021, 2e-6, 500e-6);
        assert!((s.dispersion - (2e-6 + 500e-6 * 0.021)).abs() < 1e-15);
        assert!((s.offset - 0.0).abs() < 1e-12);
        let d = Sample::from_timestamps(t1, t1 + 0.010, t1 + 0.011, t1 + 0.021, 2e-6);
        assert!((d.dispersion - (2e-6 + 15e-6 * 0.021)).abs() < 1e-15);
        let b = Sample::broadcast_phi(10.0, 10.0, 0.004, 0.0, 100e-6);
        assert!((b.dispersion - 100e-6 * 0.004).abs() < 1e-18);
        assert!((b.offset - 0.002).abs() < 1e-15);
    }

    #[test]
    fn asymmetry_shows_as_half_the_difference() {
        // 30 ms out, 10 ms back, true offset 0: θ = (30 − 10)/2 = +10 ms.
        let s = Sample::from_timestamps(0.0, 0.030, 0.030, 0.040, 0.0);
        assert!((s.offset - 0.010).abs() < 1e-12);
        assert!((s.delay - 0.040).abs() < 1e-12);
    }

    #[test]
    fn negative_delay_is_clamped_to_precision() {
        let s = Sample::from_timestamps(0.0, -0.5, -0.49, 0.001, 1e-6);
        assert_eq!(s.delay, 1e-6);
    }

    #[test]
    fn broadcast_calibration_matches_unicast() {
        // Server 0.1 s ahead; true one-way delay 3 ms.
        let mut bd = BroadcastDelay::default();
        assert_eq!(bd.delay(), BDELAY);
        let t3 = 50.0 + 0.1;
        let t4 = 50.003;
        bd.calibrate(0.1, t3, t4);
        assert!(bd.is_calibrated());
        assert!((bd.delay() - 0.006).abs() < 1e-12);
        let s = Sample::broadcast(t3, t4, bd.delay(), 0.0);
        assert!((s.offset - 0.1).abs() < 1e-12);
    }
}
