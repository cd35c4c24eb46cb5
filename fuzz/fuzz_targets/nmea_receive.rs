//! Fuzz the NMEA reference clock driver (type 20, `refclock::nmea`) with
//! what a serial line may deliver: the input is cut into reads (each first
//! octet says how long the read is and how far the system clock moves),
//! fed to `Driver::receive` and followed by a poll. Never a panic, and:
//! the counters only grow, a sample's offset is finite and its dispersion
//! not negative, and the timecode `ntpq -c cv` and `clockstats` show is
//! printable ASCII no longer than a line. Every complete line is also
//! parsed on its own (`nmea::sentence::parse`): a sentence it accepts
//! names a time of day within 0..=86 400 s and a fraction below one
//! second.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use refclock::nmea::{sentence, Nmea, MAX_LINE};
use refclock::{Driver, Fudge, WallTime};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let fudge = Fudge {
        time2: Some(0.05),
        flags: [None, None, None, Some(mode & 0x80 != 0)],
        ..Fudge::default()
    };
    let mut nmea = Nmea::new(0, u32::from(mode & 0x7f), &fudge);
    let mut now = WallTime {
        seconds: 1_796_600_000,
        nanos: 0,
    };
    let mut before = nmea.status();
    while let Some((&head, tail)) = rest.split_first() {
        let len = usize::from(head & 0x3f).min(tail.len());
        let (read, next) = tail.split_at(len);
        rest = next;
        now.seconds += i64::from(head >> 6);
        nmea.receive(read, now);
        if let Some(s) = nmea.poll(now) {
            // Zero dispersion is the reference's for NMEA (the filter adds
            // the precision); never negative or NaN.
            assert!(s.offset.is_finite() && s.dispersion >= 0.0, "{s:?}");
        }
        let st = nmea.status();
        assert!(st.badformat >= before.badformat && st.baddata >= before.baddata);
        assert!(st.codes >= before.codes);
        assert!(st.timecode.len() <= MAX_LINE);
        assert!(st.timecode.bytes().all(|b| (0x20..0x7f).contains(&b)));
        before = st;
    }
    for line in data.split(|&b| b == b'\n') {
        if let Ok(s) = sentence::parse(line) {
            assert!(s.second_of_day <= 86_400 && s.nanos < 1_000_000_000, "{s:?}");
        }
    }
});
