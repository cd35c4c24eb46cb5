//! `crypto randfile FILE` (reference ntp.conf(5) "Authentication
//! Commands"; RFC 5906 §6 cookies and keys need good randomness): the
//! file's contents are mixed with the system's random bytes into the seed
//! of the daemon's generator (cookies, key IDs, private values, identity
//! challenges). A configured file that cannot be read stops the daemon,
//! naming it, as the reference stops ("random seed file … not found").

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::SeedableRng;

/// Why the `randfile` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RandfileError {
    /// The file is missing or unreadable.
    #[error("crypto randfile {path}: cannot read the random seed file: {source}; create it (e.g. `dd if=/dev/urandom of={path} bs=1024 count=1`) or remove `randfile` from the crypto line")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is empty: it adds nothing to the seed.
    #[error("crypto randfile {path}: the random seed file is empty; fill it (e.g. `dd if=/dev/urandom of={path} bs=1024 count=1`)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The system's random bytes could not be read.
    #[error("cannot read random bytes from the system: {0}")]
    System(#[from] openssl::error::ErrorStack),
}

/// The daemon's generator: seeded from the system alone, or, with
/// `randfile`, from SHA-256 of the system's bytes and the file's.
pub fn seeded(randfile: Option<&Path>) -> Result<StdRng, RandfileError> {
    let Some(path) = randfile else {
        return Ok(rand::make_rng());
    };
    let file = std::fs::read(path).map_err(|source| RandfileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if file.is_empty() {
        return Err(RandfileError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut material = vec![0u8; 32];
    openssl::rand::rand_bytes(&mut material)?;
    material.extend_from_slice(&file);
    tracing::info!(
        "crypto randfile {}: {} octets mixed into the random seed",
        path.display(),
        file.len()
    );
    Ok(StdRng::from_seed(openssl::sha::sha256(&material)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_randfile_is_named_and_a_good_one_seeds() {
        let e = seeded(Some(Path::new("/nonexistent/.rnd"))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("crypto randfile /nonexistent/.rnd: cannot read the random seed file"),
            "{e}"
        );
        let dir = std::env::temp_dir().join(format!("ntpd-randfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join(".rnd");
        std::fs::write(&f, b"").unwrap();
        assert!(matches!(seeded(Some(&f)), Err(RandfileError::Empty { .. })));
        std::fs::write(&f, [7u8; 64]).unwrap();
        assert!(seeded(Some(&f)).is_ok());
        assert!(seeded(None).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
