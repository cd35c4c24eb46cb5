//! Network Time Security for NTPv4 (RFC 8915), without I/O.
//!
//! The crate holds every NTS rule that does not need a socket or a TLS
//! stack, so the daemon only moves bytes:
//!
//! * [`record`]: NTS Key Establishment records (§4), a whole message
//!   encoded or decoded with every length checked;
//! * [`negotiation`]: what an NTS-KE client asks and what a server answers
//!   (§4.1), on top of the records;
//! * [`keys`]: the C2S and S2C keys from the TLS exporter (§5.1), through
//!   a closure that performs the export;
//! * [`aead`]: AEAD_AES_SIV_CMAC_256 (RFC 5297) through RustCrypto's
//!   `aes-siv`;
//! * [`cookie`] and [`server_keys`]: the server's cookies (§6) under
//!   rotating master keys, persisted in a small text file;
//! * [`exten`]: the NTS extension fields of an NTP packet (§5.3–§5.7) in
//!   the RFC 7822 layout;
//! * [`client`] and [`server`]: the NTS side of one NTP request/response
//!   exchange (§5.7).
//!
//! Randomness comes in as a [`rand::Rng`] argument so tests are
//! deterministic; the daemon passes the operating system's generator.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod aead;
pub mod client;
pub mod cookie;
pub mod exten;
pub mod keys;
pub mod negotiation;
pub mod record;
pub mod server;
pub mod server_keys;

#[cfg(test)]
pub(crate) mod test_rng;
