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
        /// Octets present.
        len: usize,
        /// Smallest number of octets the structure can have.
        needed: usize,
    },

    /// The datagram is longer than the reference's receive buffer
    /// (48 + 2048 + 24 = 2120 octets, brief §1.1).
    #[error("datagram of {len} octets exceeds the {max}-octet receive limit")]
    TooLong {
        /// Datagram length in octets.
        len: usize,
        /// Receive limit in octets (2120).
        max: usize,
    },

    /// Version number outside 1..=4 (RFC 5905 §7.3; the reference accepts
    /// NTP_OLDVERSION 1 up to NTP_VERSION 4).
    #[error("unsupported NTP version {version} (accepted: 1 to 4)")]
    BadVersion {
        /// The 3-bit VN field as received (0, 5, 6 or 7 here).
        version: u8,
    },

    /// Mode 6: an RFC 9327 control message, parsed by `proto::control`.
    #[error("mode 6 control message (parse with proto::control)")]
    ControlMode,

    /// Mode 7: a private (ntpdc) request, recognised by `proto::mode7`.
    #[error("mode 7 private message (see proto::mode7)")]
    PrivateMode,

    /// The octets after the current offset are not a multiple of 4, or
    /// fewer than 4 (brief §1.2 step 2: "bad length").
    #[error("bad length after offset {offset}: {remaining} octets remain (must be 0, or a multiple of 4 and at least 4)")]
    BadTrailerLength {
        /// Octet offset from the start of the datagram where the rest
        /// begins (48 after the header, or the end of the last field).
        offset: usize,
        /// Octets from `offset` to the end of the datagram.
        remaining: usize,
    },

    /// An extension field length word is not a multiple of 4, smaller than
    /// 4, or runs past the end of the datagram (brief §1.2 step 4).
    #[error("extension field at offset {offset}: length {length} invalid ({remaining} octets remain; must be a multiple of 4, at least 4 and fit)")]
    BadFieldLength {
        /// Octet offset of the field's first word in the datagram.
        offset: usize,
        /// The field's 16-bit Length word (RFC 7822 §3), in octets.
        length: usize,
        /// Octets from `offset` to the end of the datagram.
        remaining: usize,
    },

    /// Autokey field shorter than its 8-octet header (brief §11.3 rule 2).
    #[error("Autokey field of {length} octets is shorter than the 8-octet header")]
    AutokeyFieldTooShort {
        /// The field's length in octets (less than 8).
        length: usize,
    },

    /// Autokey field header with a version other than 2 (`CRYPTO_VN`).
    #[error("Autokey field version {version}, expected 2")]
    AutokeyVersion {
        /// The 6-bit version of the Autokey field header as received.
        version: u8,
    },

    /// The length word of an Autokey field disagrees with the octets given.
    #[error("Autokey field length word says {declared} octets but {actual} octets were given")]
    AutokeyLengthMismatch {
        /// The field's 16-bit Length word, in octets.
        declared: usize,
        /// Octets actually handed to the parser.
        actual: usize,
    },

    /// `vallen` is 0 or larger than 65511 (brief §1.4, §11.3 rule 3).
    #[error("value length {vallen} out of range (1 to 65511)")]
    ValueLength {
        /// The value length word of the value structure, in octets.
        vallen: u32,
    },

    /// The padded value does not fit: `24 + pad4(vallen) > L`.
    #[error("value of {vallen} octets (padded {padded}) does not fit a field of {length} octets")]
    ValueOverrun {
        /// The value length word, in octets.
        vallen: u32,
        /// `vallen` rounded up to a multiple of 4 octets.
        padded: usize,
        /// The field length `L` in octets, header included.
        length: usize,
    },

    /// `siglen` larger than 65511 (brief §1.4, §11.3 rule 3).
    #[error("signature length {siglen} out of range (0 to 65511)")]
    SignatureLength {
        /// The signature length word of the value structure, in octets.
        siglen: u32,
    },

    /// The padded signature does not fit:
    /// `24 + pad4(vallen) + pad4(siglen) > L`.
    #[error("signature of {siglen} octets (padded {padded}) does not fit: {available} octets left in a field of {length}")]
    SignatureOverrun {
        /// The signature length word, in octets.
        siglen: u32,
        /// `siglen` rounded up to a multiple of 4 octets.
        padded: usize,
        /// Octets left in the field after the padded value.
        available: usize,
        /// The field length `L` in octets, header included.
        length: usize,
    },

    /// A MAC trailer of a size the framing rule does not allow
    /// (must be 4..=24 octets, a multiple of 4).
    #[error("MAC of {len} octets (must be 4 to 24 octets, a multiple of 4)")]
    MacLength {
        /// MAC length in octets, key ID included.
        len: usize,
    },

    /// A MAC with an Autokey key ID (> 65535) shorter than 20 octets
    /// (brief §1.2 step 3, "digest too short").
    #[error("MAC with Autokey key ID {key_id:#010x} is {len} octets, at least 20 needed")]
    AutokeyDigestTooShort {
        /// The MAC's key ID; above 65535 it names an Autokey session key
        /// (RFC 5906 §5).
        key_id: u32,
        /// MAC length in octets, key ID included.
        len: usize,
    },
}

/// Why a value could not be built or serialised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BuildError {
    /// The caller's output buffer is too small.
    #[error("output buffer of {available} octets is too small, {needed} needed")]
    BufferTooSmall {
        /// Octets the serialised value takes.
        needed: usize,
        /// Octets the caller's buffer has.
        available: usize,
    },

    /// An extension field body is not a multiple of 4 octets, or the whole
    /// field would exceed the 16-bit length word.
    #[error("extension field body of {len} octets: must be a multiple of 4 and at most 65528")]
    FieldBody {
        /// Body length in octets, excluding the 4-octet type/length word.
        len: usize,
    },

    /// A value structure whose `vallen` is 0 or above 65511.
    #[error("value length {len} out of range (1 to 65511)")]
    ValueLength {
        /// Value length in octets.
        len: usize,
    },

    /// A signature longer than 65511 octets.
    #[error("signature length {len} out of range (0 to 65511)")]
    SignatureLength {
        /// Signature length in octets.
        len: usize,
    },

    /// Header + value + signature would not fit the 16-bit field length.
    #[error("Autokey field of {len} octets exceeds 65532 (largest multiple of 4 in 16 bits)")]
    FieldTooLong {
        /// Length the whole field would have, in octets.
        len: usize,
    },

    /// A MAC digest length other than 0..=20 octets in steps of 4.
    #[error("MAC digest of {len} octets (must be 0, 4, 8, 12, 16 or 20)")]
    DigestLength {
        /// Digest length in octets, key ID excluded.
        len: usize,
    },

    /// Autokey version must fit the 6-bit field.
    #[error("Autokey version {version} does not fit 6 bits")]
    AutokeyVersion {
        /// The requested version (more than 63).
        version: u8,
    },
}
