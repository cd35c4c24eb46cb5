//! Sockets: which local addresses to listen on ([`iface`]), the UDP
//! sockets with kernel receive timestamps ([`socket`]), batched reading
//! and writing ([`batch`]) and waiting for them ([`readiness`]).

pub mod batch;
pub mod iface;
pub mod socket;

/// The NTP port (RFC 5905 §7.2).
pub const NTP_PORT: u16 = 123;

/// Test-only: when this environment variable holds a port number, every
/// socket binds that port instead of 123 and associations send to it, so
/// tests can run daemons on loopback without privileges. Not for
/// production use; `ntpd` logs a warning when it is set.
pub const TEST_PORT_ENV: &str = "NTPD_AUTOKEY_TEST_PORT";

/// The port this process uses for NTP: [`NTP_PORT`] unless
/// [`TEST_PORT_ENV`] says otherwise.
pub fn service_port() -> u16 {
    std::env::var(TEST_PORT_ENV)
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|&p| p != 0)
        .unwrap_or(NTP_PORT)
}
