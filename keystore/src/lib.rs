//! Autokey key files (RFC 5906) as written by the reference `ntp-keygen`
//! 4.2.8p18 and by our own `ntp-keygen`: RSA host and sign keys, X.509
//! host certificates, IFF/GQ/MV identity parameters, and the keys
//! directory that links them under the names `ntpd` looks for.
//!
//! See `docs/autokey-protocol.md` §6–§8 for the formats, and the crate
//! README for the reference defects this crate detects and avoids.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub(crate) mod bn;
pub mod cert;
pub mod check;
pub mod der;
pub mod error;
pub mod export;
pub mod header;
pub mod hostkey;
pub mod identity;
pub mod keygen;
pub mod keysdir;
pub mod pem;
pub mod perms;
pub mod symkeys;
pub mod write;

pub use cert::{CertRole, Certificate};
pub use error::{KeyError, Result};
pub use hostkey::{HostKey, SignKey, SignKeyType};
pub use identity::gq::{GqKey, GqLayout, GqParams};
pub use identity::iff::{IffKey, IffParams};
pub use identity::mv::{MvAuthority, MvClientKey, MvServerKey};
pub use identity::proof::{MvResponse, SchnorrResponse};
pub use identity::{Protection, Scheme};
pub use keysdir::{ClientLink, HostSet, Keysdir, Loaded};
