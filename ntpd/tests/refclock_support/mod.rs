//! NMEA 0183 sentences a test feeds to gpsd or to our NMEA driver, made
//! from a Unix time: `$GPRMC`, `$GPGGA`, `$GPZDA` and `$GPGLL` with their
//! checksums (the XOR of the octets between `$` and `*`), as a receiver
//! with a valid fix sends them.

#![allow(dead_code)]

/// `(year, month, day)` of the day `days` after 1970-01-01 (proleptic
/// Gregorian, the civil-from-days algorithm).
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `$body*CS\r\n`.
pub fn sentence(body: &str) -> String {
    let cs = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{cs:02X}\r\n")
}

fn hms(t: i64) -> String {
    let s = t.rem_euclid(86_400);
    format!("{:02}{:02}{:02}.00", s / 3600, s / 60 % 60, s % 60)
}

/// `$GPRMC` for Unix time `t`, status A (valid).
pub fn rmc(t: i64) -> String {
    let (y, m, d) = civil(t.div_euclid(86_400));
    sentence(&format!(
        "GPRMC,{},A,4807.038,N,01131.000,E,000.0,000.0,{d:02}{m:02}{:02},,,A",
        hms(t),
        y % 100
    ))
}

/// `$GPGGA` for Unix time `t`, fix quality 1 (GPS), 8 satellites.
pub fn gga(t: i64) -> String {
    sentence(&format!(
        "GPGGA,{},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
        hms(t)
    ))
}

/// `$GPZDA` for Unix time `t`.
pub fn zda(t: i64) -> String {
    let (y, m, d) = civil(t.div_euclid(86_400));
    sentence(&format!("GPZDA,{},{d:02},{m:02},{y:04},00,00", hms(t)))
}

/// `$GPGLL` for Unix time `t`, status A.
pub fn gll(t: i64) -> String {
    sentence(&format!("GPGLL,4807.038,N,01131.000,E,{},A,A", hms(t)))
}

/// The system clock, whole Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
