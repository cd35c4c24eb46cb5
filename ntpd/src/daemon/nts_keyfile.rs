//! The NTS server's cookie master keys on disk (`nts cookie FILE`, RFC
//! 8915 §6): read at start, made when missing, written again after each
//! rotation. The file is replaced atomically (a temporary file in the same
//! directory, mode 0600, synced, then renamed over the old one) so a crash
//! never leaves a half-written key file.
//!
//! SIGHUP reads the file again ([`reload`]): an operator who rotates keys
//! by hand (or from a central key store) writes the new set into it, and
//! new cookies are sealed under its newest key from then on while cookies
//! under the older keys it keeps stay accepted; a key left out of the file
//! is refused (RFC 8915 §6). A file that does not read or parse changes
//! nothing.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nts::server_keys::{KeyFileError, RotationPolicy, ServerKeys};
use thiserror::Error;

mod cookie_dir;
mod store;

pub use cookie_dir::CookieDir;
pub use store::{CookieStore, KeySink};

/// Why the key file could not be used.
#[derive(Debug, Error)]
pub enum KeyFileIoError {
    /// The file's directory could not be opened.
    #[error("cannot open the directory of NTS cookie key file {path}: {reason}")]
    Directory {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        reason: String,
    },
    /// Reading failed (other than the file being absent).
    #[error("cannot read NTS cookie key file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        reason: String,
    },
    /// The file does not parse.
    #[error("NTS cookie key file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: KeyFileError,
    },
    /// Writing failed.
    #[error("cannot write NTS cookie key file {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        reason: String,
    },
}

/// The store of the key file at `path`: its directory opened now, or the
/// store opened by an earlier call for the same path.
pub fn store(path: &Path) -> Result<std::sync::Arc<CookieStore>, KeyFileIoError> {
    store::open(path)
}

/// Reads the keys at `path`, or makes a first key when the file does not
/// exist (and writes it). Keys due for rotation at `now` are rotated and
/// the file rewritten. The file's directory is opened here and kept for
/// later writes, so call it before any chroot.
pub fn load_or_create(
    path: &Path,
    now: u64,
    policy: RotationPolicy,
    rng: &mut impl rand::Rng,
) -> Result<ServerKeys, KeyFileIoError> {
    store::open(path)?.load_or_create(now, policy, rng)
}

/// What a SIGHUP reload of the key file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The file holds the keys already in use.
    Unchanged,
    /// The file's keys replaced those in use.
    Replaced {
        /// The key new cookies are sealed under now.
        current: u32,
        /// Keys whose cookies are accepted.
        accepted: usize,
    },
}

/// Reads the key file at `path` again and, when it differs, puts its keys
/// in place of those in `keys` (after the rotation due at `now`, written
/// back when it changed anything). On an error `keys` is left as it was.
/// Ordered with the daily rotation ([`CookieStore::rotate`]) by the
/// file's store; `keys` is not held while the file is read or written.
pub fn reload(
    path: &Path,
    keys: &Mutex<ServerKeys>,
    now: u64,
    rng: &mut impl rand::Rng,
) -> Result<Reloaded, KeyFileIoError> {
    store::open(path)?.reload(keys, now, rng)
}

/// Replaces the file at `path` with `keys`, atomically.
pub fn save(path: &Path, keys: &ServerKeys) -> Result<(), KeyFileIoError> {
    store::open(path)?.save(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_rotates_and_reloads() {
        let dir = std::env::temp_dir().join(format!("nts-keyfile-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cookies");
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let policy = RotationPolicy::default();
        let first = load_or_create(&path, 100, policy, &mut rng).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load_or_create(&path, 200, policy, &mut rng).unwrap(), first);
        let rotated = load_or_create(&path, 100 + 86_400, policy, &mut rng).unwrap();
        assert_eq!(rotated.keys().len(), 2);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(ServerKeys::parse(&text, policy).unwrap(), rotated);
        // SIGHUP: the file as it is, then a set written by the operator.
        let held = std::sync::Mutex::new(rotated.clone());
        let now = 100 + 86_400 + 5;
        assert_eq!(
            reload(&path, &held, now, &mut rng).unwrap(),
            Reloaded::Unchanged
        );
        let mut next = rotated.clone();
        next.rotate(100 + 2 * 86_400, &mut rng);
        save(&path, &next).unwrap();
        assert_eq!(
            reload(&path, &held, now, &mut rng).unwrap(),
            Reloaded::Replaced {
                current: next.current().id,
                accepted: 3
            }
        );
        assert_eq!(*held.lock().unwrap(), next);
        fs::write(&path, "garbage\n").unwrap();
        assert!(matches!(
            reload(&path, &held, now, &mut rng),
            Err(KeyFileIoError::Parse { .. })
        ));
        assert_eq!(*held.lock().unwrap(), next, "a bad file changes nothing");
        assert!(matches!(
            load_or_create(&path, 0, policy, &mut rng),
            Err(KeyFileIoError::Parse { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
