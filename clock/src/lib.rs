//! NTPv4 mitigation and discipline (RFC 5905 §10–12 and Appendix A), a
//! [`Clock`](clock::Clock) abstraction with a kernel and a simulated
//! implementation, and a deterministic simulator.
//!
//! All algorithms are sans-IO: time (seconds as `f64` on the caller's local
//! time scale) and randomness are passed in.  The `clock_adjtime` call of
//! [`kernel`] is made through `ntp_sys`, the workspace's one crate with
//! `unsafe`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod clock;
pub mod cluster;
pub mod combine;
pub mod constants;
pub mod controller;
pub mod discipline;
pub mod drift;
pub mod filter;
pub mod huffpuff;
#[cfg(target_os = "linux")]
pub mod kernel;
pub mod leap;
pub mod peer;
pub mod pps_peer;
pub mod reach;
pub mod sample;
pub mod select;
pub mod sim;
pub mod system;
