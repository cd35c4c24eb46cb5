//! Errors and warnings of the symmetric keys file reader.
//!
//! Every syntax error names `FILE:LINE:COL`, what is wrong and what was
//! expected, like the `ntp.conf` errors.

use std::path::PathBuf;

/// A keys file that cannot be used. The reference ntpd rejects the whole
/// file after any such error (and keeps no key from it), so one error is
/// enough to refuse the file.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The file could not be read.
    #[error("{}: cannot read the keys file: {source}; expected a readable file (check the path given to `keys` or -k)", path.display())]
    Io {
        /// The keys file as named in `keys` or `-k`.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`crate::keys::MAX_KEYS_FILE_BYTES`].
    #[error("{}: the keys file is larger than {limit} octets; expected at most 65535 keys of a line each", path.display())]
    TooLarge {
        /// The keys file as named in `keys` or `-k`.
        path: PathBuf,
        /// The limit, octets.
        limit: u64,
    },
    /// A line is malformed.
    #[error("{}:{line}:{col}: {kind}", file.display())]
    Syntax {
        /// The keys file the line is in.
        file: PathBuf,
        /// 1-based line number.
        line: u32,
        /// 1-based byte column.
        col: u32,
        /// What is wrong at that place.
        kind: KeysErrorKind,
    },
}

impl KeysError {
    /// The kind of a syntax error, `None` for I/O errors.
    pub fn kind(&self) -> Option<&KeysErrorKind> {
        match self {
            KeysError::Io { .. } | KeysError::TooLarge { .. } => None,
            KeysError::Syntax { kind, .. } => Some(kind),
        }
    }
}

/// What is wrong on a line. `Display` gives "what is wrong; expected WHAT".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysErrorKind {
    /// The KEYID column has a non-digit.
    #[error("key id `{text}` is not a decimal number; expected a key id from 1 to 65535 at the start of the line")]
    KeyIdNotNumber {
        /// The KEYID column as written.
        text: String,
    },
    /// Key id 0, which RFC 5905 §7.3 reserves for "no key".
    #[error("key id 0 cannot be set (it means \"no key\"); expected a key id from 1 to 65535")]
    KeyIdZero,
    /// A key id above 65535: those are Autokey session keys (RFC 5906 §4).
    #[error("key id {text} is above 65535 (those ids are reserved for Autokey); expected a key id from 1 to 65535")]
    KeyIdTooLarge {
        /// The KEYID column as written (decimal digits).
        text: String,
    },
    /// The line ends after the key id.
    #[error(
        "key {id} has no type; expected `KEYID TYPE KEY`, TYPE one of {}",
        crate::keys::KeyType::valid_names()
    )]
    MissingType {
        /// The key id of the line.
        id: u16,
    },
    /// The TYPE column names no digest the reference accepts.
    #[error(
        "unknown key type `{name}` for key {id}; expected one of {}",
        crate::keys::KeyType::valid_names()
    )]
    UnknownType {
        /// The key id of the line.
        id: u16,
        /// The TYPE column as written.
        name: String,
    },
    /// The line ends after the type.
    #[error("key {id} has no secret; expected `KEYID TYPE KEY`, KEY being 1 to 20 ASCII characters or 21 to 128 hex digits")]
    MissingKey {
        /// The key id of the line.
        id: u16,
    },
    /// A KEY of more than 20 characters (so hex) with a non-hex character.
    #[error("key {id} is longer than 20 characters, so it is read as hex, but `{ch}` is not a hex digit; expected only 0-9, a-f, A-F (or an ASCII key of at most 20 characters)")]
    BadHexDigit {
        /// The key id of the line.
        id: u16,
        /// The first character that is not a hex digit.
        ch: char,
    },
    /// A hex KEY that decodes to more than 64 octets.
    #[error(
        "key {id} has {digits} hex digits, more than 64 octets; expected at most 128 hex digits"
    )]
    HexTooLong {
        /// The key id of the line.
        id: u16,
        /// Hex digits in the KEY column (more than 128).
        digits: usize,
    },
    /// An address-list element that is not an IPv4 or IPv6 address.
    #[error("`{text}` in the address list of key {id} is not an IP address; expected IPv4 or IPv6 addresses (with an optional /PREFIX) separated by commas, no spaces")]
    BadAddress {
        /// The key id of the line.
        id: u16,
        /// The element as written.
        text: String,
    },
    /// A `/PREFIX` that is not decimal digits.
    #[error("bad subnet `/{text}` in the address list of key {id}; expected a prefix length in decimal digits, e.g. 192.0.2.0/24")]
    BadPrefix {
        /// The key id of the line.
        id: u16,
        /// The text after the `/`.
        text: String,
    },
    /// A NUL byte anywhere in the file.
    #[error("NUL byte in the keys file; expected a text file")]
    NulByte,
}

/// A line the reference accepts but that is probably not what the operator
/// meant, or that behaves differently from what it looks like. The same type
/// as the `ntp.conf` warnings; `Display` is `FILE:LINE:COL: warning: MESSAGE`.
pub type KeysWarning = crate::conf::Warning;

/// A key that the keys file syntax cannot express (see
/// [`crate::keys::KeysFile::to_keys_string`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysWriteError {
    /// A secret that is neither at most 20 printable ASCII characters
    /// (without `#`) nor 11 to 64 octets to write as hex.
    #[error("key {id}: a secret of {len} octets that is not printable ASCII cannot be written (hex keys need 11 to 64 octets)")]
    Unrepresentable {
        /// The key's id.
        id: u16,
        /// Secret length in octets.
        len: usize,
    },
    /// A secret of 0 octets.
    #[error("key {id}: an empty secret cannot be written")]
    EmptySecret {
        /// The key's id.
        id: u16,
    },
    /// An address-list scope that would not read back: on an IPv4 address,
    /// empty, longer than 64 characters, or with characters other than
    /// letters, digits and `.-_@:`.
    #[error("key {id}: IPv6 scope `{scope}` cannot be written")]
    BadScope {
        /// The key's id.
        id: u16,
        /// The scope (zone) as stored.
        scope: String,
    },
}
