//! Type 28, the shared memory driver `SHM(u)` (reference driver28 page,
//! `refclock_shm.c`), the segment gpsd, chrony's tools and others write.
//!
//! The segment is a System V shared memory segment of key `0x4E545030 +
//! unit` ("NTP0"); units 0 and 1 are created with mode 0600 (only root
//! writes), units 2 and above with 0666. Its layout is the reference's
//! `struct shmTime` on this platform ([`SegmentView`]). The writer fills in
//! a reference time stamp ("clock") and the system time at which it took
//! it ("receive"), and sets `valid`:
//!
//! - mode 0: the reader uses the values when `valid` is set, then clears it;
//! - mode 1: as mode 0, but the writer increments `count` before and after
//!   writing; a reader that sees `count` change while it reads drops the
//!   sample.
//!
//! A sample whose receive time is more than 5 s before (or after) the
//! reader's clock is stale and refused (the reference's `max_delay`); one
//! whose clock and receive times differ by more than `time2` seconds
//! (default 4 h, values outside 1..86400 ignored) is refused unless
//! `flag1` is set.

use proto::LeapIndicator;

use crate::{Driver, DriverInfo, Fudge, RefSample, WallTime};

/// The key of unit 0 ("NTP0").
pub const KEY_BASE: u32 = 0x4E54_5030;
/// Size of `struct shmTime` with 64-bit `time_t` (x86_64, aarch64).
pub const SIZE: usize = 96;
/// A receive time older (or newer) than this is stale, seconds.
pub const MAX_DELAY: i64 = 5;
/// Default largest |clock − receive|, seconds (4 h).
pub const DEFAULT_MAX_DELTA: f64 = 14_400.0;

/// The SHM driver's defaults (reference `refclock_shm.c`).
pub const INFO: DriverInfo = DriverInfo {
    refid: *b"SHM\0",
    stratum: 0,
    precision: -1,
    description: "SHM/Shared memory interface",
};

/// Offsets of the fields of `struct shmTime` (64-bit `time_t`).
pub mod offset {
    /// `int mode`.
    pub const MODE: usize = 0;
    /// `volatile int count`.
    pub const COUNT: usize = 4;
    /// `time_t clockTimeStampSec`.
    pub const CLOCK_SEC: usize = 8;
    /// `int clockTimeStampUSec`.
    pub const CLOCK_USEC: usize = 16;
    /// `time_t receiveTimeStampSec`.
    pub const RECEIVE_SEC: usize = 24;
    /// `int receiveTimeStampUSec`.
    pub const RECEIVE_USEC: usize = 32;
    /// `int leap`.
    pub const LEAP: usize = 36;
    /// `int precision`.
    pub const PRECISION: usize = 40;
    /// `int nsamples`.
    pub const NSAMPLES: usize = 44;
    /// `volatile int valid`.
    pub const VALID: usize = 48;
    /// `unsigned clockTimeStampNSec`.
    pub const CLOCK_NSEC: usize = 52;
    /// `unsigned receiveTimeStampNSec`.
    pub const RECEIVE_NSEC: usize = 56;
}

/// The key and creation mode of unit `unit`.
pub fn key_and_perm(unit: u8) -> (u32, u32) {
    (
        KEY_BASE + u32::from(unit),
        if unit < 2 { 0o600 } else { 0o666 },
    )
}

/// Access to one attached segment.
pub trait Segment: std::fmt::Debug + Send {
    /// Copy the whole segment into `out`.
    fn read(&mut self, out: &mut [u8; SIZE]);
    /// Read `count` again (mode 1).
    fn count(&mut self) -> i32;
    /// Clear `valid`: the sample is taken.
    fn clear_valid(&mut self);
}

/// The fields of one segment snapshot, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentView {
    /// `mode` as written (the reader's mode comes from the configuration).
    pub mode: i32,
    /// `count`.
    pub count: i32,
    /// The reference's time.
    pub clock: WallTime,
    /// The system time when the reference's time was taken.
    pub receive: WallTime,
    /// `leap` (0..3, the NTP leap indicator).
    pub leap: i32,
    /// `precision`, log2 seconds.
    pub precision: i32,
    /// `valid`.
    pub valid: bool,
}

fn i32_at(b: &[u8; SIZE], at: usize) -> i32 {
    i32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i64_at(b: &[u8; SIZE], at: usize) -> i64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    i64::from_ne_bytes(w)
}

/// The nanoseconds of a stamp: the `NSec` field when it agrees with the
/// `USec` one (a writer that knows of it), else microseconds × 1000 (the
/// reference's rule).
fn nanos(usec: i32, nsec: u32) -> u32 {
    let usec = u32::try_from(usec).unwrap_or(0).min(999_999);
    if nsec / 1000 == usec && nsec < 1_000_000_000 {
        nsec
    } else {
        usec * 1000
    }
}

impl SegmentView {
    /// Decode a snapshot.
    pub fn parse(b: &[u8; SIZE]) -> SegmentView {
        let u = |at| u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        SegmentView {
            mode: i32_at(b, offset::MODE),
            count: i32_at(b, offset::COUNT),
            clock: WallTime {
                seconds: i64_at(b, offset::CLOCK_SEC),
                nanos: nanos(i32_at(b, offset::CLOCK_USEC), u(offset::CLOCK_NSEC)),
            },
            receive: WallTime {
                seconds: i64_at(b, offset::RECEIVE_SEC),
                nanos: nanos(i32_at(b, offset::RECEIVE_USEC), u(offset::RECEIVE_NSEC)),
            },
            leap: i32_at(b, offset::LEAP),
            precision: i32_at(b, offset::PRECISION),
            valid: i32_at(b, offset::VALID) != 0,
        }
    }

    /// Encode (writers in tests; the layout a gpsd writes).
    pub fn write(&self, b: &mut [u8; SIZE]) {
        let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
        put(offset::MODE, &self.mode.to_ne_bytes());
        put(offset::COUNT, &self.count.to_ne_bytes());
        put(offset::CLOCK_SEC, &self.clock.seconds.to_ne_bytes());
        put(
            offset::CLOCK_USEC,
            &((self.clock.nanos / 1000) as i32).to_ne_bytes(),
        );
        put(offset::RECEIVE_SEC, &self.receive.seconds.to_ne_bytes());
        put(
            offset::RECEIVE_USEC,
            &((self.receive.nanos / 1000) as i32).to_ne_bytes(),
        );
        put(offset::LEAP, &self.leap.to_ne_bytes());
        put(offset::PRECISION, &self.precision.to_ne_bytes());
        put(offset::NSAMPLES, &3i32.to_ne_bytes());
        put(offset::VALID, &i32::from(self.valid).to_ne_bytes());
        put(offset::CLOCK_NSEC, &self.clock.nanos.to_ne_bytes());
        put(offset::RECEIVE_NSEC, &self.receive.nanos.to_ne_bytes());
    }
}

/// Why a poll gave no sample (the reference's SHM counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `valid` not set: nothing new.
    NotReady,
    /// Mode 1: `count` changed during the read.
    Clash,
    /// The receive time is more than [`MAX_DELAY`] from now.
    Stale,
    /// |clock − receive| beyond the limit (`time2`, default 4 h).
    TooFar,
    /// A mode other than 0 or 1.
    BadMode,
}

/// Counters of one SHM clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShmCounters {
    /// Samples taken.
    pub ok: u64,
    /// Polls with nothing new.
    pub not_ready: u64,
    /// Samples refused (clash, stale, too far, bad mode).
    pub bad: u64,
}

/// One SHM clock.
#[derive(Debug)]
pub struct Shm {
    segment: Box<dyn Segment>,
    mode: u32,
    time1: f64,
    max_delta: Option<f64>,
    /// What happened so far.
    pub counters: ShmCounters,
}

impl Shm {
    /// A driver reading `segment` in `mode` (0 or 1) with `fudge`.
    pub fn new(segment: Box<dyn Segment>, mode: u32, fudge: &Fudge) -> Shm {
        let max_delta = if fudge.flags[0] == Some(true) {
            None
        } else {
            Some(match fudge.time2 {
                Some(t) if (1.0..=86_400.0).contains(&t) => t,
                _ => DEFAULT_MAX_DELTA,
            })
        };
        Shm {
            segment,
            mode,
            time1: fudge.time1(),
            max_delta,
            counters: ShmCounters::default(),
        }
    }

    /// One read of the segment at `now`.
    pub fn read(&mut self, now: WallTime) -> Result<RefSample, Refusal> {
        let mut b = [0u8; SIZE];
        self.segment.read(&mut b);
        let v = SegmentView::parse(&b);
        if !v.valid {
            return Err(Refusal::NotReady);
        }
        let clash = match self.mode {
            0 => false,
            1 => self.segment.count() != v.count,
            _ => {
                return Err(Refusal::BadMode);
            }
        };
        self.segment.clear_valid();
        if clash {
            return Err(Refusal::Clash);
        }
        let age = now.seconds - v.receive.seconds;
        if !(-MAX_DELAY..=MAX_DELAY).contains(&age) {
            return Err(Refusal::Stale);
        }
        let offset = v.clock.since(v.receive);
        if self.max_delta.is_some_and(|m| offset.abs() > m) {
            return Err(Refusal::TooFar);
        }
        let leap = match v.leap {
            1 => LeapIndicator::AddSecond,
            2 => LeapIndicator::DeleteSecond,
            3 => LeapIndicator::Unsynchronized,
            _ => LeapIndicator::NoWarning,
        };
        let precision = v.precision.clamp(-30, 0);
        Ok(RefSample {
            offset: offset + self.time1,
            dispersion: 2f64.powi(precision),
            leap,
        })
    }
}

impl Driver for Shm {
    fn info(&self) -> DriverInfo {
        INFO
    }

    fn poll(&mut self, now: WallTime) -> Option<RefSample> {
        match self.read(now) {
            Ok(s) => {
                self.counters.ok += 1;
                Some(s)
            }
            Err(Refusal::NotReady) => {
                self.counters.not_ready += 1;
                None
            }
            Err(_) => {
                self.counters.bad += 1;
                None
            }
        }
    }
}

/// A segment in memory (tests; a writer that shares it through an
/// `Arc<Mutex<…>>`).
#[derive(Debug, Clone, Default)]
pub struct MemorySegment(pub std::sync::Arc<std::sync::Mutex<MemoryBytes>>);

/// The bytes of a [`MemorySegment`], and a count bump to apply between
/// the reader's two looks at `count` (a writer racing the reader).
#[derive(Debug, Clone)]
pub struct MemoryBytes {
    /// The segment.
    pub bytes: [u8; SIZE],
    /// Added to `count` when the reader re-reads it.
    pub race: i32,
}

impl Default for MemoryBytes {
    fn default() -> Self {
        MemoryBytes {
            bytes: [0; SIZE],
            race: 0,
        }
    }
}

impl Segment for MemorySegment {
    fn read(&mut self, out: &mut [u8; SIZE]) {
        if let Ok(g) = self.0.lock() {
            *out = g.bytes;
        }
    }

    fn count(&mut self) -> i32 {
        self.0
            .lock()
            .map(|g| i32_at(&g.bytes, offset::COUNT).wrapping_add(g.race))
            .unwrap_or(0)
    }

    fn clear_valid(&mut self) {
        if let Ok(mut g) = self.0.lock() {
            g.bytes[offset::VALID..offset::VALID + 4].copy_from_slice(&0i32.to_ne_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: WallTime = WallTime {
        seconds: 1_800_000_000,
        nanos: 500_000_000,
    };

    fn view(clock: WallTime, receive: WallTime) -> SegmentView {
        SegmentView {
            mode: 1,
            count: 7,
            clock,
            receive,
            leap: 0,
            precision: -20,
            valid: true,
        }
    }

    fn segment_with(v: SegmentView) -> MemorySegment {
        let m = MemorySegment::default();
        v.write(&mut m.0.lock().unwrap().bytes);
        m
    }

    #[test]
    fn keys_and_modes_as_the_reference() {
        assert_eq!(key_and_perm(0), (0x4E54_5030, 0o600));
        assert_eq!(key_and_perm(1), (0x4E54_5031, 0o600));
        assert_eq!(key_and_perm(2), (0x4E54_5032, 0o666));
    }

    #[test]
    fn layout_round_trips() {
        let v = view(NOW, NOW);
        let mut b = [0u8; SIZE];
        v.write(&mut b);
        assert_eq!(SegmentView::parse(&b), v);
        assert_eq!(i32_at(&b, 48), 1, "valid at offset 48");
    }

    #[test]
    fn microseconds_when_nsec_disagrees() {
        let mut b = [0u8; SIZE];
        view(NOW, NOW).write(&mut b);
        b[offset::CLOCK_NSEC..offset::CLOCK_NSEC + 4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(SegmentView::parse(&b).clock.nanos, 500_000_000);
    }

    #[test]
    fn mode_0_takes_a_sample_once() {
        let clock = WallTime {
            seconds: NOW.seconds,
            nanos: NOW.nanos + 3_000_000,
        };
        let seg = segment_with(view(clock, NOW));
        let mut d = Shm::new(Box::new(seg.clone()), 0, &Fudge::default());
        let s = d.poll(NOW).unwrap();
        assert!((s.offset - 0.003).abs() < 1e-9, "{}", s.offset);
        assert_eq!(d.poll(NOW), None, "valid was cleared");
        assert_eq!((d.counters.ok, d.counters.not_ready), (1, 1));
    }

    #[test]
    fn mode_1_drops_a_sample_written_during_the_read() {
        let seg = segment_with(view(NOW, NOW));
        seg.0.lock().unwrap().race = 1;
        let mut d = Shm::new(Box::new(seg.clone()), 1, &Fudge::default());
        assert_eq!(d.read(NOW), Err(Refusal::Clash));
        let seg = segment_with(view(NOW, NOW));
        let mut d = Shm::new(Box::new(seg), 1, &Fudge::default());
        assert!(d.read(NOW).is_ok());
    }

    #[test]
    fn stale_and_distant_samples_are_refused() {
        let old = WallTime {
            seconds: NOW.seconds - 6,
            nanos: 0,
        };
        let mut d = Shm::new(Box::new(segment_with(view(old, old))), 0, &Fudge::default());
        assert_eq!(d.read(NOW), Err(Refusal::Stale));
        let far = WallTime {
            seconds: NOW.seconds + 20_000,
            nanos: 0,
        };
        let mut d = Shm::new(Box::new(segment_with(view(far, NOW))), 0, &Fudge::default());
        assert_eq!(d.read(NOW), Err(Refusal::TooFar));
        let flag1 = Fudge {
            flags: [Some(true), None, None, None],
            ..Fudge::default()
        };
        let mut d = Shm::new(Box::new(segment_with(view(far, NOW))), 0, &flag1);
        assert!(d.read(NOW).is_ok());
    }

    #[test]
    fn time1_is_added() {
        let f = Fudge {
            time1: Some(0.003),
            ..Fudge::default()
        };
        let mut d = Shm::new(Box::new(segment_with(view(NOW, NOW))), 0, &f);
        assert!((d.poll(NOW).unwrap().offset - 0.003).abs() < 1e-12);
    }
}
