//! The NTS server's cookie master keys on disk (`nts cookie FILE`, RFC
//! 8915 §6): read at start, made when missing, written again after each
//! rotation. The file is replaced atomically (a temporary file in the same
//! directory, mode 0600, synced, then renamed over the old one) so a crash
//! never leaves a half-written key file.

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

/// Replaces the file at `path` with `keys`, atomically.
pub fn save(path: &Path, keys: &ServerKeys) -> Result<(), KeyFileIoError> {
    let err = |e: std::io::Error| KeyFileIoError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(keys.to_file_text().as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    fs::rename(&tmp, path).map_err(err)
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
        fs::write(&path, "garbage\n").unwrap();
        assert!(matches!(
            load_or_create(&path, 0, policy, &mut rng),
            Err(KeyFileIoError::Parse { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
