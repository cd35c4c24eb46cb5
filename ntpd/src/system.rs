//! The system variables a server advertises (RFC 5905 §9.1 "system
//! variables" as they appear in the header of every packet we send).

use proto::{LeapIndicator, NtpShort, NtpTimestamp, ReferenceId};

/// Stratum of an unsynchronised system; sent as 0 on the wire.
pub const MAXSTRAT: u8 = 16;

/// A snapshot of the system variables, refreshed by the system process
/// after each clock update and read by the server fast path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SystemState {
    /// Leap indicator.
    pub leap: LeapIndicator,
    /// Stratum, 1..=16 (16 = unsynchronised).
    pub stratum: u8,
    /// Precision, log2 seconds.
    pub precision: i8,
    /// Reference ID.
    pub refid: ReferenceId,
    /// Time of the last clock update.
    pub reftime: NtpTimestamp,
    /// Root delay, seconds.
    pub root_delay: f64,
    /// Root dispersion, seconds.
    pub root_dispersion: f64,
    /// `discard average`: the least poll exponent put in replies.
    pub min_poll: i8,
}

impl SystemState {
    /// Start-up values: unsynchronised, stratum 16, reference ID `INIT`.
    pub fn unsynchronized(precision: i8) -> Self {
        SystemState {
            leap: LeapIndicator::Unsynchronized,
            stratum: MAXSTRAT,
            precision,
            refid: ReferenceId::from_bytes(*b"INIT"),
            reftime: NtpTimestamp::ZERO,
            root_delay: 0.0,
            root_dispersion: 0.0,
            min_poll: 3,
        }
    }

    /// The stratum as sent: 16 and above become 0 ("unspecified").
    pub fn wire_stratum(&self) -> u8 {
        if self.stratum >= MAXSTRAT {
            0
        } else {
            self.stratum
        }
    }

    /// Root delay in the 16.16 wire format (saturating).
    pub fn wire_root_delay(&self) -> NtpShort {
        NtpShort::from_seconds_f64(self.root_delay.max(0.0))
    }

    /// Root dispersion in the 16.16 wire format (saturating).
    pub fn wire_root_dispersion(&self) -> NtpShort {
        NtpShort::from_seconds_f64(self.root_dispersion.max(0.0))
    }
}
