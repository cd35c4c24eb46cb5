//! Typed errors for parsing and building NTP wire formats.
//!
//! Every variant carries the context needed to explain the failure: the
//! octet offset inside the datagram (or extension field) and the lengths
//! that did not agree. Untrusted input never panics; it yields one of these.

use thiserror::Error;

/// Why a datagram, an extension field or a value structure was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// Fewer octets than the structure needs.
    #[error("{what} too short: {len} octets, need at least {needed}")]
    TooShort {
        /// What was being parsed ("NTP header", "extension field", ...).
        what: &'static str,
        len: usize,
        needed: usize,
    },

    /// The datagram is longer than the reference's receive buffer
    /// (48 + 2048 + 24 = 2120 octets, brief §1.1).
    #[error("datagram of {len} octets exceeds the {max}-octet receive limit")]
    TooLong { len: usize, max: usize },

    /// Version number outside 1..=4 (RFC 5905 §7.3; the reference accepts
    /// NTP_OLDVERSION 1 up to NTP_VERSION 4).
    #[error("unsupported NTP version {version} (accepted: 1 to 4)")]
    BadVersion { version: u8 },

    /// Mode 6: an RFC 9327 control message, parsed by `proto::control`.
    #[error("mode 6 control message (parse with proto::control)")]
    ControlMode,

    /// Mode 7: a private (ntpdc) request, recognised by `proto::mode7`.
    #[error("mode 7 private message (see proto::mode7)")]
    PrivateMode,

    /// The octets after the current offset are not a multiple of 4, or
    /// fewer than 4 (brief §1.2 step 2: "bad length").
    #[error("bad length after offset {offset}: {remaining} octets remain (must be 0, or a multiple of 4 and at least 4)")]
    BadTrailerLength { offset: usize, remaining: usize },

    /// An extension field length word is not a multiple of 4, smaller than
    /// 4, or runs past the end of the datagram (brief §1.2 step 4).
    #[error("extension field at offset {offset}: length {length} invalid ({remaining} octets remain; must be a multiple of 4, at least 4 and fit)")]
    BadFieldLength {
        offset: usize,
        length: usize,
        remaining: usize,
    },

    /// Autokey field shorter than its 8-octet header (brief §11.3 rule 2).
    #[error("Autokey field of {length} octets is shorter than the 8-octet header")]
    AutokeyFieldTooShort { length: usize },

    /// Autokey field header with a version other than 2 (`CRYPTO_VN`).
    #[error("Autokey field version {version}, expected 2")]
    AutokeyVersion { version: u8 },

    /// The length word of an Autokey field disagrees with the octets given.
    #[error("Autokey field length word says {declared} octets but {actual} octets were given")]
    AutokeyLengthMismatch { declared: usize, actual: usize },

    /// `vallen` is 0 or larger than 65511 (brief §1.4, §11.3 rule 3).
    #[error("value length {vallen} out of range (1 to 65511)")]
    ValueLength { vallen: u32 },

    /// The padded value does not fit: `24 + pad4(vallen) > L`.
    #[error("value of {vallen} octets (padded {padded}) does not fit a field of {length} octets")]
    ValueOverrun {
        vallen: u32,
        padded: usize,
        length: usize,
    },

    /// `siglen` larger than 65511 (brief §1.4, §11.3 rule 3).
    #[error("signature length {siglen} out of range (0 to 65511)")]
    SignatureLength { siglen: u32 },

    /// The padded signature does not fit:
    /// `24 + pad4(vallen) + pad4(siglen) > L`.
    #[error("signature of {siglen} octets (padded {padded}) does not fit: {available} octets left in a field of {length}")]
    SignatureOverrun {
        siglen: u32,
        padded: usize,
        available: usize,
        length: usize,
    },

    /// A MAC trailer of a size the framing rule does not allow
    /// (must be 4..=24 octets, a multiple of 4).
    #[error("MAC of {len} octets (must be 4 to 24 octets, a multiple of 4)")]
    MacLength { len: usize },

    /// A MAC with an Autokey key ID (> 65535) shorter than 20 octets
    /// (brief §1.2 step 3, "digest too short").
    #[error("MAC with Autokey key ID {key_id:#010x} is {len} octets, at least 20 needed")]
    AutokeyDigestTooShort { key_id: u32, len: usize },
}

/// Why a value could not be built or serialised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BuildError {
    /// The caller's output buffer is too small.
    #[error("output buffer of {available} octets is too small, {needed} needed")]
    BufferTooSmall { needed: usize, available: usize },

    /// An extension field body is not a multiple of 4 octets, or the whole
    /// field would exceed the 16-bit length word.
    #[error("extension field body of {len} octets: must be a multiple of 4 and at most 65528")]
    FieldBody { len: usize },

    /// A value structure whose `vallen` is 0 or above 65511.
    #[error("value length {len} out of range (1 to 65511)")]
    ValueLength { len: usize },

    /// A signature longer than 65511 octets.
    #[error("signature length {len} out of range (0 to 65511)")]
    SignatureLength { len: usize },

    /// Header + value + signature would not fit the 16-bit field length.
    #[error("Autokey field of {len} octets exceeds 65532 (largest multiple of 4 in 16 bits)")]
    FieldTooLong { len: usize },

    /// A MAC digest length other than 0..=20 octets in steps of 4.
    #[error("MAC digest of {len} octets (must be 0, 4, 8, 12, 16 or 20)")]
    DigestLength { len: usize },

    /// Autokey version must fit the 6-bit field.
    #[error("Autokey version {version} does not fit 6 bits")]
    AutokeyVersion { version: u8 },
}
