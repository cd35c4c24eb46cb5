use std::sync::{Arc, Mutex};

use super::*;

/// Pulses a test queues; each fetch returns the latest queued reading.
#[derive(Debug, Clone)]
struct Simulated {
    now: Arc<Mutex<Result<PpsInfo, DriverError>>>,
}

impl Default for Simulated {
    fn default() -> Simulated {
        Simulated {
            now: Arc::new(Mutex::new(Ok(PpsInfo::default()))),
        }
    }
}

impl Simulated {
    fn set(&self, info: PpsInfo) {
        *self.now.lock().unwrap() = Ok(info);
    }

    fn fail(&self) {
        *self.now.lock().unwrap() = Err(DriverError::Pps {
            device: "/dev/pps0".into(),
            reason: "PPS_FETCH: No such device".into(),
        });
    }
}

impl PpsSource for Simulated {
    fn fetch(&mut self) -> Result<PpsInfo, DriverError> {
        self.now.lock().unwrap().clone()
    }
}

fn at(seconds: i64, nanos: u32) -> WallTime {
    WallTime { seconds, nanos }
}

fn assert_pulse(seq: u32, t: WallTime) -> PpsInfo {
    PpsInfo {
        assert_sequence: seq,
        assert: Some(t),
        ..PpsInfo::default()
    }
}

fn driver(fudge: Fudge) -> (Simulated, Pps) {
    let s = Simulated::default();
    let p = Pps::new(Box::new(s.clone()), &fudge);
    (s, p)
}

const T0: i64 = 1_796_600_000;

#[test]
fn offset_is_to_the_nearest_second() {
    assert!((pulse_offset(at(T0, 10_000)) + 10e-6).abs() < 1e-12);
    assert!((pulse_offset(at(T0, 999_990_000)) - 10e-6).abs() < 1e-12);
    assert!((pulse_offset(at(T0, 500_000_000)) + 0.5).abs() < 1e-12);
    assert_eq!(pulse_offset(at(T0, 0)), 0.0);
}

#[test]
fn the_first_pulse_arms_the_gate_and_a_repeat_is_no_sample() {
    let (s, mut p) = driver(Fudge {
        time1: Some(0.000_2),
        ..Fudge::default()
    });
    let now = at(T0, 0);
    assert_eq!(p.poll(now), None, "nothing fetched yet");
    s.set(assert_pulse(1, at(T0, 20_000)));
    assert_eq!(p.poll(now), None, "the first pulse only arms the gate");
    s.set(assert_pulse(2, at(T0 + 1, 21_000)));
    let sample = p.poll(now).expect("the second pulse");
    assert!(
        (sample.offset - (-21e-6 + 0.000_2)).abs() < 1e-12,
        "{sample:?}"
    );
    assert_eq!(sample.dispersion, 2f64.powi(-20));
    assert_eq!(p.poll(now), None, "the same pulse again");
    assert_eq!(p.status().codes, 1);
    assert_eq!(p.status().timecode, format!("{}.000021000", T0 + 1));
}

#[test]
fn a_pulse_outside_the_range_gate_is_refused() {
    let (s, mut p) = driver(Fudge::default());
    let now = at(T0, 0);
    s.set(assert_pulse(1, at(T0, 100_000)));
    p.poll(now);
    // 0.6 ms later in its second than the previous pulse: noise.
    s.set(assert_pulse(2, at(T0 + 1, 700_000)));
    assert_eq!(p.poll(now), None);
    assert_eq!(p.status().baddata, 1);
    // The gate follows the latest pulse, as the reference's does.
    s.set(assert_pulse(3, at(T0 + 2, 710_000)));
    assert!(p.poll(now).is_some());
    // A sequence number that moved on with a second that did not.
    s.set(assert_pulse(4, at(T0 + 2, 711_000)));
    assert_eq!(p.poll(now), None);
}

#[test]
fn pulses_either_side_of_the_second_are_within_the_gate() {
    // Once PPS disciplines the clock its pulses sit on the second: 1 µs
    // before one second and 1 µs after the next are 2 µs apart.
    let (s, mut p) = driver(Fudge::default());
    let now = at(T0, 0);
    s.set(assert_pulse(1, at(T0, 999_999_000)));
    p.poll(now);
    s.set(assert_pulse(2, at(T0 + 2, 1_000)));
    let sample = p.poll(now).expect("the pulse after the boundary");
    assert!((sample.offset + 1e-6).abs() < 1e-12, "{sample:?}");
    assert_eq!(p.status().baddata, 0);
    s.set(assert_pulse(3, at(T0 + 3, 999_998_000)));
    assert!(p.poll(now).is_some(), "and back before the boundary");
    assert_eq!(p.status().baddata, 0);
}

#[test]
fn flag2_uses_the_clear_edge() {
    let (s, mut p) = driver(Fudge {
        flags: [None, Some(true), None, None],
        ..Fudge::default()
    });
    let now = at(T0, 0);
    let both = |seq, sec| PpsInfo {
        assert_sequence: seq,
        assert: Some(at(sec, 300_000_000)),
        clear_sequence: seq,
        clear: Some(at(sec, 999_000_000)),
    };
    s.set(both(1, T0));
    p.poll(now);
    s.set(both(2, T0 + 1));
    let sample = p.poll(now).expect("a clear edge sample");
    assert!((sample.offset - 0.001).abs() < 1e-9, "{sample:?}");
}

#[test]
fn a_failed_fetch_is_no_sample_and_is_reported() {
    let (s, mut p) = driver(Fudge::default());
    s.fail();
    assert_eq!(p.poll(at(T0, 0)), None);
    assert!(p.fault().unwrap().contains("PPS_FETCH"));
    s.set(assert_pulse(1, at(T0, 0)));
    p.poll(at(T0, 0));
    assert_eq!(p.fault(), None);
}

#[test]
fn samples_only_with_a_prefer_peer_within_0_4_s() {
    assert!(!prefer_gate(None));
    assert!(prefer_gate(Some(0.0)));
    assert!(prefer_gate(Some(-0.399)));
    assert!(!prefer_gate(Some(0.4)));
    assert!(!prefer_gate(Some(-1.2)));
}

/// A reproducible normal variate (xorshift and Box–Muller).
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

#[test]
fn a_pps_with_1_us_jitter_gives_samples_within_2_us_rms() {
    // The system clock is 37 µs behind true time: each true second
    // boundary is stamped 37 µs early (at x.999963), with 1 µs of jitter.
    let (s, mut p) = driver(Fudge::default());
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let (behind, jitter) = (37e-6, 1e-6);
    let mut errors = Vec::new();
    for k in 0..600u32 {
        let stamp = -behind + jitter * noise.normal();
        let nanos = (stamp.rem_euclid(1.0) * 1e9).round() as u32;
        let second = T0 + i64::from(k) + stamp.floor() as i64;
        s.set(assert_pulse(k + 1, at(second, nanos)));
        if let Some(sample) = p.poll(at(second, nanos)) {
            errors.push(sample.offset - behind);
        }
    }
    assert!(errors.len() >= 598, "{} samples", errors.len());
    let rms = (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt();
    assert!(rms < 2e-6 && rms > 0.5e-6, "RMS {rms:e} s");
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    assert!(mean.abs() < 0.2e-6, "mean {mean:e} s");
}
