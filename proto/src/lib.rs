//! NTPv4 wire formats (RFC 5905, RFC 5906, RFC 7822, RFC 9327).
//!
//! Pure data: bytes in, typed values out, and back. No I/O, no clock reads.
//! Every parser checks every length and returns a typed error; serialising
//! is the exact inverse of parsing.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod control;
pub mod error;
pub mod exten;
pub mod header;
pub mod mac;
pub mod mode7;
pub mod packet;
pub mod time;

pub use error::{BuildError, ParseError};
pub use exten::{
    walk_fields, AutokeyCode, AutokeyField, AutokeyHeader, AutokeyValue, ExtensionField,
    ExtensionFieldRef, FieldChain,
};
pub use header::{Header, KissCode, LeapIndicator, Mode, ReferenceId};
pub use mac::{Mac, MacKind};
pub use packet::{Packet, PacketRef, MAX_DATAGRAM_LEN};
pub use time::{NtpDate, NtpDuration, NtpShort, NtpTimestamp};
