//! Protocol and discipline constants of RFC 5905 (§7.2 and Appendix A.1.1),
//! with the defaults reference ntpd 4.2.8 uses where it departs from the RFC.

/// Frequency tolerance, the maximum rate a clock may drift: 15 PPM (RFC 5905 §7.2, `PHI`).
pub const PHI: f64 = 15e-6;
/// Number of clock filter stages (RFC 5905 §10, `NSTAGE`).
pub const NSTAGE: usize = 8;
/// Maximum dispersion, seconds (RFC 5905 §7.2, `MAXDISP`).
pub const MAXDISP: f64 = 16.0;
/// Minimum dispersion increment, seconds (reference ntpd `MINDISPERSE`).
pub const MINDISP: f64 = 0.001;
/// Default distance threshold for selection, seconds (ntpd `tos maxdist` default).
pub const MAXDIST: f64 = 1.5;
/// Default minimum distance used by the intersection algorithm (ntpd `tos mindist`).
pub const MINDIST: f64 = 0.001;
/// Maximum stratum; a source at this stratum is unsynchronised (RFC 5905 §7.3).
pub const MAXSTRAT: u8 = 16;
/// Popcorn spike gate: a sample is a spike when its offset change exceeds
/// `SGATE` times the peer jitter (RFC 5905 §10).
pub const SGATE: f64 = 3.0;
/// Default broadcast delay, seconds (RFC 5905 §7.2, `BDELAY`).
pub const BDELAY: f64 = 0.004;
/// Minimum poll exponent (RFC 5905 §7.2, `MINPOLL`; ntpd allows 3).
pub const MINPOLL: i8 = 3;
/// Maximum poll exponent (RFC 5905 §7.2, `MAXPOLL`).
pub const MAXPOLL: i8 = 17;
/// Default minimum poll exponent (64 s).
pub const DEFAULT_MINPOLL: i8 = 6;
/// Default maximum poll exponent (1024 s).
pub const DEFAULT_MAXPOLL: i8 = 10;
/// Default `tos minsane`: minimum survivors for the system to be synchronised.
pub const MINSANE: usize = 1;
/// Default `tos minclock`: minimum survivors the cluster algorithm keeps.
pub const MINCLOCK: usize = 3;
/// Default `tos maxclock`: maximum candidates passed to clustering.
pub const MAXCLOCK: usize = 10;
/// Step threshold, seconds (RFC 5905 A.1.1 `STEPT`).
pub const STEPT: f64 = 0.128;
/// Stepout (watchdog) interval, seconds (ntpd `tinker stepout` default).
pub const STEPOUT: f64 = 300.0;
/// Panic threshold, seconds (RFC 5905 A.1.1 `PANICT`).
pub const PANICT: f64 = 1000.0;
/// Step threshold in effect with `-x`, seconds (ntpd behaviour).
pub const SLEW_ONLY_STEPT: f64 = 600.0;
/// Maximum frequency correction, seconds per second (500 PPM).
pub const MAXFREQ: f64 = 500e-6;
/// Reference ntpd's PLL loop gain (`CLOCK_PLL`); see
/// [`crate::discipline::DisciplineConfig::pll_gain`] for the default used here.
pub const PLL_GAIN: f64 = 16.0;
/// FLL loop gain (ntpd `CLOCK_FLL`).
pub const FLL_GAIN: f64 = 0.25;
/// Averaging constant for clock jitter and wander (ntpd `CLOCK_AVG`).
pub const AVG: f64 = 8.0;
/// Log2 of the Allan intercept, seconds (ntpd `tinker allan` default 11, 2048 s).
pub const ALLAN_LOG2: i8 = 11;
/// Poll-adjust hysteresis limit (RFC 5905 A.1.1 `LIMIT`).
pub const LIMIT: i32 = 30;
/// Poll-adjust gate: the loop is "quiet" when |offset| < PGATE * jitter.
pub const PGATE: f64 = 4.0;
/// Number of unanswered polls after which the poll interval backs off.
pub const UNREACH: u32 = 12;
/// Packets sent by `iburst` when the source is unreachable.
pub const IBURST_COUNT: u8 = 6;
/// Spacing of burst packets, seconds.
pub const BURST_INTERVAL: f64 = 2.0;
/// Default orphan wait before the local clock takes the orphan role, seconds.
pub const ORPHAN_WAIT: f64 = 300.0;
