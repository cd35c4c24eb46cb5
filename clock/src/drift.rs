//! The drift (frequency) file value: parsing what the daemon read from
//! `driftfile`, formatting what it writes, and when to write it.  The file
//! I/O itself (read at start, write to a temporary file and rename) belongs
//! to the daemon.  The format is reference ntpd's: one line, the frequency
//! in PPM with three decimals.

use crate::constants::MAXFREQ;

/// Reference ntpd's default write threshold (`wander_threshold`), s/s.
pub const WANDER_THRESHOLD: f64 = 1e-7;

/// Errors in a drift file's contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriftError {
    /// Not a number.
    #[error("frequency {0:?} is not a number; delete the drift file to start afresh")]
    Format(String),
}

/// Parse a drift file's contents into a frequency in s/s.  Values beyond
/// ±500 PPM are clamped, as the reference implementation does.
pub fn parse_drift(text: &str) -> Result<f64, DriftError> {
    let first = text.split_whitespace().next().unwrap_or("");
    let ppm: f64 = first
        .parse()
        .map_err(|_| DriftError::Format(first.chars().take(40).collect()))?;
    if !ppm.is_finite() {
        return Err(DriftError::Format(first.chars().take(40).collect()));
    }
    Ok((ppm * 1e-6).clamp(-MAXFREQ, MAXFREQ))
}

/// Format a frequency (s/s) as the drift file's contents.
pub fn format_drift(freq: f64) -> String {
    format!("{:.3}\n", freq * 1e6)
}

/// When to write the drift file: checked once per statistics interval
/// (hourly).  A value is written when the loop is synchronised and the
/// frequency moved by more than a threshold since the last write; the
/// threshold halves at every check without a write, so that a slow
/// change is saved eventually.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftWriter {
    last_written: Option<f64>,
    threshold: f64,
}

impl Default for DriftWriter {
    fn default() -> Self {
        DriftWriter {
            last_written: None,
            threshold: WANDER_THRESHOLD,
        }
    }
}

impl DriftWriter {
    /// A writer that knows the value read at start-up, if any.
    pub fn new(initial: Option<f64>) -> Self {
        DriftWriter {
            last_written: initial,
            threshold: WANDER_THRESHOLD,
        }
    }

    /// The periodic check.  `freq` is the discipline's value worth saving
    /// ([`crate::discipline::Discipline::drift_to_save`]); returns the file
    /// contents to write atomically, if any.
    pub fn check(&mut self, freq: Option<f64>) -> Option<String> {
        let f = freq?;
        if let Some(prev) = self.last_written {
            if (f - prev).abs() < self.threshold {
                self.threshold /= 2.0;
                return None;
            }
        }
        self.last_written = Some(f);
        self.threshold = WANDER_THRESHOLD;
        Some(format_drift(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        assert_eq!(format_drift(-12.3456e-6), "-12.346\n");
        assert!((parse_drift("-12.346\n").unwrap() + 12.346e-6).abs() < 1e-15);
        assert!((parse_drift("  7.5 trailing").unwrap() - 7.5e-6).abs() < 1e-15);
        assert_eq!(parse_drift("900").unwrap(), 500e-6);
        assert_eq!(parse_drift("-1e9").unwrap(), -500e-6);
        assert!(matches!(parse_drift("abc"), Err(DriftError::Format(_))));
        assert!(parse_drift("").is_err());
        assert!(parse_drift("NaN").is_err());
    }

    #[test]
    fn writes_only_when_synchronised_and_changed() {
        let mut w = DriftWriter::new(Some(10e-6));
        assert_eq!(w.check(None), None);
        assert_eq!(w.check(Some(10.05e-6)), None); // below 0.1 PPM
                                                   // The threshold halved to 0.05 PPM: a 0.06 PPM change is saved.
        assert_eq!(w.check(Some(10.06e-6)), Some("10.060\n".into()));
        assert_eq!(w.check(Some(10.1e-6)), None);
        let mut fresh = DriftWriter::default();
        assert_eq!(fresh.check(Some(0.0)), Some("0.000\n".into()));
    }
}
