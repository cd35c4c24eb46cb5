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
        /// The key file or keys directory involved.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A key file or link could not be written.
    #[error("cannot write {path}: {source}; run ntp-keygen in a writable keys directory (e.g. cd /etc/ntp as root)")]
    WriteFailed {
        /// The file or link that could not be written.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// None of the names a key is looked up under exists in the keys directory.
    #[error("{what} not found: none of {tried} exists in {dir}; run ntp-keygen there (see ntp-keygen --help)")]
    NotFound {
        /// What was looked for, e.g. "host key" or "IFF client parameters".
        what: &'static str,
        /// The keys directory searched (`crypto keysdir`).
        dir: PathBuf,
        /// The file names tried, in lookup order, comma-separated.
        tried: String,
    },
    /// A symbolic link whose target does not exist.
    #[error("{link} is a dangling symlink to {target}; recreate it with ln -sf <existing file> {link} or rerun ntp-keygen")]
    DanglingLink {
        /// The symbolic link.
        link: PathBuf,
        /// The missing file it points to.
        target: PathBuf,
    },
    /// The file is empty.
    #[error("{path}: empty file; regenerate it with ntp-keygen")]
    Empty {
        /// The empty key file.
        path: PathBuf,
    },
    /// The first line has no `.` (reference: "no filestamp").
    #[error("{path}: no filestamp in the first line (expected \"# ntpkey_<type>_<name>.<filestamp>\"); regenerate it with ntp-keygen")]
    NoFilestamp {
        /// The key file without a filestamp (brief §8.3).
        path: PathBuf,
    },
    /// The text after the last `.` of the first line is not a number.
    #[error(
        "{path}: invalid filestamp in the first line \"{line}\"; regenerate it with ntp-keygen"
    )]
    InvalidFilestamp {
        /// The key file whose filestamp is not a number.
        path: PathBuf,
        /// The first line as read.
        line: String,
    },
    /// An encrypted private key did not decrypt with the password given.
    #[error("{path}: wrong password or corrupt file; give the password it was written with (ntp-keygen -p PW, ntp.conf crypto pw PW)")]
    WrongPassword {
        /// The encrypted private-key file.
        path: PathBuf,
    },
    /// Client identity parameters that do not decrypt with this host's
    /// `crypto pw` (nor load unencrypted).
    #[error("{path}: the {scheme} client parameters do not decrypt with this host's `crypto pw`: they were exported for another password; on the server export them for this client's password (ntp-keygen -e -q SERVERPASSWORD -p CLIENTPASSWORD) or unencrypted (ntp-keygen -e -p SERVERPASSWORD){gq}")]
    ClientPassword {
        /// The client parameter file (`ntpkey_<scheme>par_<group>` or its link).
        path: PathBuf,
        /// The identity scheme of the file (IFF, GQ or MV, brief §6).
        scheme: Scheme,
        /// A hint for a copied GQ key file.
        gq: &'static str,
    },
    /// The file does not contain what its name says.
    #[error("{path}: corrupt or unreadable key file ({detail}); regenerate it with ntp-keygen")]
    Corrupt {
        /// The corrupt key file.
        path: PathBuf,
        /// What is wrong with it, for the operator.
        detail: String,
    },
    /// The key is of another algorithm than the file must hold.
    #[error("{path}: holds a {found} key, expected {expected}; check the link or regenerate with ntp-keygen")]
    WrongKeyType {
        /// The key file.
        path: PathBuf,
        /// The algorithm the file must hold, e.g. "RSA".
        expected: &'static str,
        /// The algorithm found in the file.
        found: String,
    },
    /// A stock 4.2.8 IFF or MV file: PKCS#8 dropped the DSA public value.
    #[error("{path}: the {scheme} public value was lost (the reference 4.2.8 ntp-keygen wrote this file as PKCS#8, which cannot hold it); regenerate with this ntp-keygen ({regen}) and re-export the client files")]
    PublicValueLost {
        /// The stock 4.2.8 IFF or MV file.
        path: PathBuf,
        /// IFF or MV (brief §6.2, §6.4).
        scheme: Scheme,
        /// The `ntp-keygen` command line that regenerates the files.
        regen: &'static str,
    },
    /// The identity parameters do not satisfy the scheme's equations.
    #[error(
        "{path}: {scheme} parameters are inconsistent ({what}); regenerate them with ntp-keygen"
    )]
    Algebra {
        /// The identity parameter file.
        path: PathBuf,
        /// The identity scheme whose equations fail (brief §6).
        scheme: Scheme,
        /// Which relation failed, e.g. "v * u^b != 1 mod n".
        what: &'static str,
    },
    /// The certificate's public key is not the sign key.
    #[error("{cert}: certificate public key does not match the key in {key}; regenerate the certificate with ntp-keygen")]
    KeyCertMismatch {
        /// The host certificate (`ntpkey_cert_<host>`).
        cert: PathBuf,
        /// The sign key (or host key) file it should match.
        key: PathBuf,
    },
    /// A certificate is not usable as a host certificate.
    #[error("{path}: {what}")]
    BadCertificate {
        /// The certificate file.
        path: PathBuf,
        /// Why it cannot be used (brief §7.2).
        what: String,
    },
    /// An OpenSSL failure while generating or encoding keys.
    #[error("{context}: {source}")]
    Crypto {
        /// What was being done, e.g. the file being written.
        context: String,
        /// The OpenSSL error queue.
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
