//! Value formats of mode 6 variables, as the reference ntpd writes them
//! (RFC 9327 §3.2 leaves formats to the implementation; these are the ones
//! ntpq and monitoring scripts parse): integers in decimal or `0x` hex,
//! fixed-point decimals, NTP timestamps as `0xSSSSSSSS.FFFFFFFF`, refids,
//! clock filter arrays and `YYYYMMDDHHMM` file stamps.

use std::net::{IpAddr, SocketAddr};

use proto::NtpTimestamp;

/// `name=value`.
pub fn bare(name: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1 + value.len());
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value.as_bytes());
    out
}

/// `name="value"` (`name=""` when empty); the value is not escaped, as in
/// the reference.
pub fn quoted(name: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 3 + value.len());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
    out
}

/// A fixed-point decimal with `digits` fraction digits (`%.Nf`).
pub fn fixed(value: f64, digits: usize) -> String {
    if value.is_nan() {
        return "nan".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    format!("{value:.digits$}")
}

/// A decimal in the shortest of fixed and exponent notation with six
/// significant digits and trailing zeros removed (C's `%g`).
pub fn general(value: f64) -> String {
    const PRECISION: i32 = 6;
    if value.is_nan() || value.is_infinite() {
        return fixed(value, 0);
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rounded to PRECISION significant digits, in exponent form.
    let e_form = format!("{:.*e}", (PRECISION - 1) as usize, value);
    let (mantissa, exp) = e_form.split_once('e').unwrap_or((&e_form, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..PRECISION).contains(&exp) {
        let digits = (PRECISION - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{value:.digits$}"))
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(mantissa), exp.unsigned_abs())
    }
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// An NTP timestamp in hex, `0x%08x.%08x`.
pub fn timestamp(ts: NtpTimestamp) -> String {
    format!("0x{:08x}.{:08x}", ts.seconds(), ts.fraction())
}

/// A reference ID as the reference writes it: the four octets as a dotted
/// quad, or for stratum 0/1 (`text`) the ASCII code up to the first NUL,
/// with unprintable octets, white space and commas shown as `.`.
pub fn refid(octets: [u8; 4], text: bool) -> String {
    if !text {
        return IpAddr::from(octets).to_string();
    }
    octets
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| {
            if b.is_ascii_graphic() && b != b',' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

/// An address as `stoa` writes it (no port; IPv6 without brackets).
pub fn address(addr: IpAddr) -> String {
    addr.to_string()
}

/// An address and port as `sptoa` writes it (`1.2.3.4:123`, `[::1]:123`).
pub fn address_port(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// A clock filter array: each value in milliseconds as ` %.2f` (so the
/// value starts with a space), in the order given (newest first).
pub fn filter_array(seconds: &[f64; 8]) -> String {
    seconds
        .iter()
        .map(|v| format!(" {}", fixed(v * 1e3, 2)))
        .collect()
}

/// A UTC file stamp `YYYYMMDDHHMM` from Unix seconds.
pub fn filestamp(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (y, m, d) = proto::time::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}",
        secs / 3600,
        (secs % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_like_printf() {
        assert_eq!(fixed(0.104, 3), "0.104");
        assert_eq!(fixed(-0.0001, 3), "-0.000");
        assert_eq!(fixed(0.0, 6), "0.000000");
        assert_eq!(fixed(39.4, 3), "39.400");
        assert_eq!(fixed(f64::NAN, 3), "nan");
    }

    #[test]
    fn general_like_printf_g() {
        assert_eq!(general(0.0), "0");
        assert_eq!(general(1.5), "1.5");
        assert_eq!(general(500.0), "500");
        assert_eq!(general(123456.0), "123456");
        assert_eq!(general(1234567.0), "1.23457e+06");
        assert_eq!(general(0.0001), "0.0001");
        assert_eq!(general(0.00001234), "1.234e-05");
        assert_eq!(general(-2.25), "-2.25");
        assert_eq!(general(16.0), "16");
    }

    #[test]
    fn timestamps_refids_and_stamps() {
        assert_eq!(
            timestamp(NtpTimestamp::from_parts(0xeeb3_c3ad, 0x12db_b005)),
            "0xeeb3c3ad.12dbb005"
        );
        assert_eq!(timestamp(NtpTimestamp::ZERO), "0x00000000.00000000");
        assert_eq!(refid([127, 0, 0, 1], false), "127.0.0.1");
        assert_eq!(refid(*b"GPS\0", true), "GPS");
        assert_eq!(refid(*b"A,B\x01", true), "A.B.");
        assert_eq!(refid(*b"INIT", true), "INIT");
        // runs/iff/alice: certificate valid until 2027-11-27 08:42 UTC.
        assert_eq!(filestamp(1_827_304_920), "202711270842");
        assert_eq!(filestamp(0), "197001010000");
        assert_eq!(
            address_port("[::1]:123".parse().unwrap()),
            "[::1]:123".to_string()
        );
    }

    #[test]
    fn filter_arrays_have_leading_spaces() {
        let a = [
            0.0001, 0.00009, 0.00011, 0.00011, 0.00013, 0.0001, 0.00008, 0.00004,
        ];
        assert_eq!(filter_array(&a), " 0.10 0.09 0.11 0.11 0.13 0.10 0.08 0.04");
    }
}
