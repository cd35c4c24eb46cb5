//! Reference clock statements (reference ntp.conf(5) "Reference Clock
//! Support": `server 127.127.t.u` and `fudge 127.127.t.u …`).

use super::ast::AssocOptions;

/// The driver types the daemon builds (type number, `ntpq` name); the
/// `refclock` crate's table has the same entries.
pub const REFCLOCK_TYPES: &[(u8, &str)] =
    &[(1, "LOCAL"), (20, "GPS_NMEA"), (22, "PPS"), (28, "SHM")];

/// The supported types as messages list them: `1 (LOCAL), 20 (GPS_NMEA), 22 (PPS), 28 (SHM)`.
pub fn refclock_types_text() -> String {
    REFCLOCK_TYPES
        .iter()
        .map(|(t, n)| format!("{t} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `server 127.127.t.u [prefer] [minpoll N] [maxpoll N] [noselect] [mode N] …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefclockServer {
    /// Driver type `t`.
    pub driver_type: u8,
    /// Unit `u`.
    pub unit: u8,
    /// `mode N`: driver-specific (SHM: 0 or 1).
    pub mode: Option<u32>,
    /// The association options (`prefer`, `minpoll`, `maxpoll`,
    /// `noselect`, `true`, …).
    pub options: AssocOptions,
}

/// `fudge 127.127.t.u [time1 S] [time2 S] [stratum N] [refid ID] [flag1..4 0|1] [minjitter S]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FudgeLine {
    /// Driver type `t`.
    pub driver_type: u8,
    /// Unit `u`.
    pub unit: u8,
    /// `time1 SECONDS`.
    pub time1: Option<f64>,
    /// `time2 SECONDS`.
    pub time2: Option<f64>,
    /// `stratum N` (0..16).
    pub stratum: Option<u8>,
    /// `refid NAME` (up to four characters are used).
    pub refid: Option<String>,
    /// `flag1`..`flag4`.
    pub flags: [Option<bool>; 4],
    /// `minjitter SECONDS`.
    pub minjitter: Option<f64>,
}
