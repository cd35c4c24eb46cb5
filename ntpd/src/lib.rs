//! The NTP daemon (drop-in for the reference ntpd 4.2.8p18, including
//! Autokey later): command line, configuration, sockets, access control,
//! symmetric-key authentication and the server fast path.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod access;
pub mod assoc;
pub mod auth;
pub mod cli;
pub mod daemon;
pub mod leapfile;
pub mod logging;
pub mod mode6;
pub mod net;
pub mod saveconfig;
pub mod server;
pub mod stats;
pub mod system;
pub mod timing;
