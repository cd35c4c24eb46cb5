//! The NMEA driver's sentence selection, time stamps and counters.

use super::*;

/// 2026-12-07 08:37:43 UTC.
const T: i64 = 1_796_632_663;

fn at(seconds: i64, millis: u32) -> WallTime {
    WallTime {
        seconds,
        nanos: millis * 1_000_000,
    }
}

fn with_cs(body: &str) -> Vec<u8> {
    let cs = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{cs:02X}\r\n").into_bytes()
}

fn rmc(hms: &str, status: char) -> Vec<u8> {
    with_cs(&format!(
        "GPRMC,{hms},{status},4807.038,N,01131.000,E,000.0,000.0,071226,,,A"
    ))
}

fn gga(hms: &str) -> Vec<u8> {
    with_cs(&format!(
        "GPGGA,{hms},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"
    ))
}

#[test]
fn dates_as_the_calendar() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2026, 12, 7) * 86_400, T - T % 86_400);
    assert_eq!(year_of(at(T, 0)), 2026);
    assert_eq!(baud_of(0), Some(4800));
    assert_eq!(baud_of(0x50), Some(115_200));
    assert_eq!(baud_of(0x60), None);
}

#[test]
fn rmc_offset_is_sentence_time_minus_end_of_line_plus_time2() {
    let f = Fudge {
        time2: Some(0.1),
        ..Fudge::default()
    };
    let mut d = Nmea::new(0, 0, &f);
    d.receive(&rmc("083743.00", 'A'), at(T, 250));
    let s = d.poll(at(T + 1, 0)).unwrap();
    assert!((s.offset - (-0.25 + 0.1)).abs() < 1e-9, "{}", s.offset);
    assert_eq!(d.poll(at(T + 1, 0)), None, "one sample per sentence");
    assert_eq!(d.status().codes, 1);
    assert!(d
        .status()
        .timecode
        .starts_with("$GPRMC,083743.00,A,4807.038"));
}

#[test]
fn the_first_sentence_of_a_second_makes_its_sample() {
    let mut d = Nmea::new(0, 0, &Fudge::default());
    d.receive(&rmc("083743.00", 'A'), at(T, 100));
    d.receive(&gga("083743.00"), at(T, 180));
    assert!((d.poll(at(T, 500)).unwrap().offset + 0.1).abs() < 1e-9);
    assert_eq!(d.status().codes, 1);
}

#[test]
fn a_sentence_with_a_wrong_date_does_not_lock_out_the_next() {
    let mut d = Nmea::new(0, 0, &Fudge::default());
    // A valid, checksummed RMC dated 2099 (a receiver's cold-start glitch).
    let future = with_cs("GPRMC,083743.00,A,4807.038,N,01131.000,E,000.0,000.0,071299,,,A");
    d.receive(&future, at(T, 100));
    assert!(d.poll(at(T, 500)).is_some());
    // The next second's sentence, correctly dated, is a sample again.
    d.receive(&rmc("083744.00", 'A'), at(T + 1, 100));
    let s = d
        .poll(at(T + 1, 500))
        .expect("the sentence after the glitch");
    assert!((s.offset + 0.1).abs() < 1e-9, "{s:?}");
    assert_eq!(d.status().codes, 2);
}

#[test]
fn mode_bits_select_the_sentence() {
    let mut d = Nmea::new(0, 2, &Fudge::default());
    d.receive(&rmc("083743.00", 'A'), at(T, 100));
    assert_eq!(d.poll(at(T, 500)), None, "mode 2: GGA only");
    d.receive(&gga("083744.00"), at(T + 1, 200));
    assert!((d.poll(at(T + 1, 500)).unwrap().offset + 0.2).abs() < 1e-9);
    assert_eq!(d.serial().unwrap().baud, 4800);
    assert_eq!(
        Nmea::new(3, 0x12, &Fudge::default()).serial().unwrap().baud,
        9600
    );
    assert_eq!(
        Nmea::new(3, 0, &Fudge::default()).serial().unwrap().device,
        "gps3"
    );
}

#[test]
fn invalid_status_and_broken_lines_are_counted_not_used() {
    let mut d = Nmea::new(0, 0, &Fudge::default());
    d.receive(&rmc("083743.00", 'V'), at(T, 100));
    let mut broken = rmc("083744.00", 'A');
    broken[10] = b'9';
    d.receive(&broken, at(T + 1, 100));
    d.receive(b"$GPRMC,083745.00,A,garbage\r\n", at(T + 2, 100));
    d.receive(&[b'x'; 300], at(T + 3, 0));
    d.receive(b"\r\n", at(T + 3, 100));
    assert_eq!(d.poll(at(T + 3, 500)), None);
    let st = d.status();
    assert_eq!((st.baddata, st.badformat, st.codes), (1, 3, 0));
}

#[test]
fn bytes_split_anywhere_give_the_same_sample() {
    let line = rmc("083743.00", 'A');
    for cut in 0..line.len() {
        let mut d = Nmea::new(0, 0, &Fudge::default());
        d.receive(&line[..cut], at(T, 10));
        d.receive(&line[cut..], at(T, 50));
        assert!((d.poll(at(T, 500)).unwrap().offset + 0.05).abs() < 1e-9);
    }
}

#[test]
fn a_day_boundary_without_date() {
    let mut d = Nmea::new(0, 0, &Fudge::default());
    let midnight = T - T % 86_400 + 86_400;
    d.receive(&gga("235959.00"), at(midnight, 200));
    assert!((d.poll(at(midnight, 500)).unwrap().offset + 1.2).abs() < 1e-9);
}

#[test]
fn flag4_obscures_the_position() {
    let f = Fudge {
        flags: [None, None, None, Some(true)],
        ..Fudge::default()
    };
    let mut d = Nmea::new(0, 0, &f);
    d.receive(&rmc("083743.00", 'A'), at(T, 100));
    let code = d.status().timecode;
    assert!(
        code.starts_with("$GPRMC,083743.00,A,________,_,_________,_,000.0"),
        "{code}"
    );
}

#[test]
fn any_bytes_never_panic() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut d = Nmea::new(0, 0, &Fudge::default());
    for n in 0..50_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const ALPHABET: &[u8] = b"$GPRMCGGAZDALL,.*0123456789AVNE\r\n\xff";
        let chunk: Vec<u8> = (0..(x % 40))
            .map(|i| ALPHABET[((x >> i) % ALPHABET.len() as u64) as usize])
            .collect();
        d.receive(&chunk, at(T + i64::from(n), 0));
        let _ = d.poll(at(T + i64::from(n), 1));
    }
}
