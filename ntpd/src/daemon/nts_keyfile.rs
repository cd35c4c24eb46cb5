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

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nts::server_keys::{KeyFileError, RotationPolicy, ServerKeys};
use thiserror::Error;

/// Why the key file could not be used.
#[derive(Debug, Error)]
pub enum KeyFileIoError {
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

/// Reads the keys at `path`, or makes a first key when the file does not
/// exist (and writes it). Keys due for rotation at `now` are rotated and
/// the file rewritten.
pub fn load_or_create(
    path: &Path,
    now: u64,
    policy: RotationPolicy,
    rng: &mut impl rand::Rng,
) -> Result<ServerKeys, KeyFileIoError> {
    let mut keys = match fs::read_to_string(path) {
        Ok(text) => ServerKeys::parse(&text, policy).map_err(|source| KeyFileIoError::Parse {
            path: path.to_path_buf(),
            source,
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keys = ServerKeys::new(now, policy, rng);
            save(path, &keys)?;
            keys
        }
        Err(e) => {
            return Err(KeyFileIoError::Read {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
    };
    if keys.rotate(now, rng) {
        save(path, &keys)?;
    }
    Ok(keys)
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
pub fn reload(
    path: &Path,
    keys: &std::sync::Mutex<ServerKeys>,
    now: u64,
    rng: &mut impl rand::Rng,
) -> Result<Reloaded, KeyFileIoError> {
    let text = fs::read_to_string(path).map_err(|e| KeyFileIoError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut held = keys.lock().unwrap_or_else(|p| p.into_inner());
    let mut fresh =
        ServerKeys::parse(&text, held.policy()).map_err(|source| KeyFileIoError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    if fresh.rotate(now, rng) {
        save(path, &fresh)?;
    }
    if fresh == *held {
        return Ok(Reloaded::Unchanged);
    }
    *held = fresh;
    Ok(Reloaded::Replaced {
        current: held.current().id,
        accepted: held.keys().len(),
    })
}

/// Replaces the file at `path` with `keys`, atomically.
pub fn save(path: &Path, keys: &ServerKeys) -> Result<(), KeyFileIoError> {
    let err = |e: std::io::Error| KeyFileIoError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // A new file of our own, mode 0600 from its creation: a stale
    // temporary file (or a link planted there) never receives the keys.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(keys.to_file_text().as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    fs::rename(&tmp, path).map_err(err)?;
    // The rename itself is durable once the directory is synced.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
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
