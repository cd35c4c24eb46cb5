//! `ntp.conf` (reference 4.2.8 ntp.conf(5)) and the symmetric keys file
//! (ntp.keys(5)) parsed into typed settings.
//!
//! No I/O beyond reading the files it is pointed at. Errors name
//! `FILE:LINE:COL`, say what is wrong and what was expected.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod conf;
pub mod keys;
