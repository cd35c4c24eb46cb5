//! Errors met while reading or writing Autokey key files.
//!
//! Every variant renders as one line that names the file and says what the
//! operator can do about it.

use std::path::PathBuf;

/// Identity scheme named in messages.
pub use crate::identity::Scheme;

/// An error loading, validating or writing a key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file (or the directory) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A key file or link could not be written.
    #[error("cannot write {path}: {source}; run ntp-keygen in a writable keys directory (e.g. cd /etc/ntp as root)")]
    WriteFailed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// None of the names a key is looked up under exists in the keys directory.
    #[error("{what} not found: none of {tried} exists in {dir}; run ntp-keygen there (see ntp-keygen --help)")]
    NotFound {
        what: &'static str,
        dir: PathBuf,
        tried: String,
    },
    /// A symbolic link whose target does not exist.
    #[error("{link} is a dangling symlink to {target}; recreate it with ln -sf <existing file> {link} or rerun ntp-keygen")]
    DanglingLink { link: PathBuf, target: PathBuf },
    /// The file is empty.
    #[error("{path}: empty file; regenerate it with ntp-keygen")]
    Empty { path: PathBuf },
    /// The first line has no `.` (reference: "no filestamp").
    #[error("{path}: no filestamp in the first line (expected \"# ntpkey_<type>_<name>.<filestamp>\"); regenerate it with ntp-keygen")]
    NoFilestamp { path: PathBuf },
    /// The text after the last `.` of the first line is not a number.
    #[error(
        "{path}: invalid filestamp in the first line \"{line}\"; regenerate it with ntp-keygen"
    )]
    InvalidFilestamp { path: PathBuf, line: String },
    /// An encrypted private key did not decrypt with the password given.
    #[error("{path}: wrong password or corrupt file; give the password it was written with (ntp-keygen -p PW, ntp.conf crypto pw PW)")]
    WrongPassword { path: PathBuf },
    /// Client identity parameters that do not decrypt with this host's
    /// `crypto pw` (nor load unencrypted).
    #[error("{path}: the {scheme} client parameters do not decrypt with this host's `crypto pw`: they were exported for another password; on the server export them for this client's password (ntp-keygen -e -q SERVERPASSWORD -p CLIENTPASSWORD) or unencrypted (ntp-keygen -e -p SERVERPASSWORD){gq}")]
    ClientPassword {
        path: PathBuf,
        scheme: Scheme,
        /// A hint for a copied GQ key file.
        gq: &'static str,
    },
    /// The file does not contain what its name says.
    #[error("{path}: corrupt or unreadable key file ({detail}); regenerate it with ntp-keygen")]
    Corrupt { path: PathBuf, detail: String },
    /// The key is of another algorithm than the file must hold.
    #[error("{path}: holds a {found} key, expected {expected}; check the link or regenerate with ntp-keygen")]
    WrongKeyType {
        path: PathBuf,
        expected: &'static str,
        found: String,
    },
    /// A stock 4.2.8 IFF or MV file: PKCS#8 dropped the DSA public value.
    #[error("{path}: the {scheme} public value was lost (the reference 4.2.8 ntp-keygen wrote this file as PKCS#8, which cannot hold it); regenerate with this ntp-keygen ({regen}) and re-export the client files")]
    PublicValueLost {
        path: PathBuf,
        scheme: Scheme,
        regen: &'static str,
    },
    /// The identity parameters do not satisfy the scheme's equations.
    #[error(
        "{path}: {scheme} parameters are inconsistent ({what}); regenerate them with ntp-keygen"
    )]
    Algebra {
        path: PathBuf,
        scheme: Scheme,
        what: &'static str,
    },
    /// The certificate's public key is not the sign key.
    #[error("{cert}: certificate public key does not match the key in {key}; regenerate the certificate with ntp-keygen")]
    KeyCertMismatch { cert: PathBuf, key: PathBuf },
    /// A certificate is not usable as a host certificate.
    #[error("{path}: {what}")]
    BadCertificate { path: PathBuf, what: String },
    /// An OpenSSL failure while generating or encoding keys.
    #[error("{context}: {source}")]
    Crypto {
        context: String,
        #[source]
        source: openssl::error::ErrorStack,
    },
}

impl KeyError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        KeyError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        KeyError::Corrupt {
            path: path.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn crypto(context: impl Into<String>, source: openssl::error::ErrorStack) -> Self {
        KeyError::Crypto {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, KeyError>;
