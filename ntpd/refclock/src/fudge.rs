//! `fudge` settings of one clock (reference ntp.conf(5) "Reference Clock
//! Commands": `time1`, `time2`, `stratum`, `refid`, `flag1`..`flag4`).

/// The fudge factors of one reference clock; `None` keeps the driver's
/// default.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Fudge {
    /// `time1 SECONDS`: added to every offset (the reference's
    /// `fudgetime1`, a fixed calibration).
    pub time1: Option<f64>,
    /// `time2 SECONDS`: driver-specific (SHM: unused; NMEA: serial end of
    /// line delay).
    pub time2: Option<f64>,
    /// `stratum N` (0..15): the stratum the clock is given.
    pub stratum: Option<u8>,
    /// `refid NAME`: up to four ASCII characters.
    pub refid: Option<[u8; 4]>,
    /// `flag1`..`flag4`, driver-specific (`None`: not set).
    pub flags: [Option<bool>; 4],
}

impl Fudge {
    /// The offset calibration, seconds.
    pub fn time1(&self) -> f64 {
        self.time1.unwrap_or(0.0)
    }

    /// A refid text as four octets, padded with NULs (the reference copies
    /// at most four characters).
    pub fn refid_from(text: &str) -> [u8; 4] {
        let mut r = [0u8; 4];
        for (d, s) in r.iter_mut().zip(text.bytes()) {
            *d = s;
        }
        r
    }

    /// This fudge with `later`'s set values on top (a later `fudge` line
    /// for the same clock overrides what it sets).
    pub fn merged(mut self, later: &Fudge) -> Fudge {
        self.time1 = later.time1.or(self.time1);
        self.time2 = later.time2.or(self.time2);
        self.stratum = later.stratum.or(self.stratum);
        self.refid = later.refid.or(self.refid);
        for (a, b) in self.flags.iter_mut().zip(later.flags) {
            *a = b.or(*a);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refid_is_padded_and_cut() {
        assert_eq!(Fudge::refid_from("GPS"), *b"GPS\0");
        assert_eq!(Fudge::refid_from("TOOLONG"), *b"TOOL");
    }

    #[test]
    fn later_values_win() {
        let a = Fudge {
            stratum: Some(3),
            time1: Some(0.1),
            ..Fudge::default()
        };
        let b = Fudge {
            stratum: Some(10),
            ..Fudge::default()
        };
        let m = a.merged(&b);
        assert_eq!((m.stratum, m.time1), (Some(10), Some(0.1)));
    }
}
