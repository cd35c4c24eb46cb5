//! Crash-safe writing of key files and links: write a temporary file in the
//! same directory, fsync it, rename it over the target, fsync the
//! directory. Symlinks are replaced the same way, so a reader sees either
//! the old or the new link, never none.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{symlink, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{KeyError, Result};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn temp_name(dir: &Path, name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| KeyError::WriteFailed {
            path: dir.to_path_buf(),
            source: e,
        })
}

/// Atomically creates or replaces `dir/name` with `contents`, created with
/// permission bits `mode`.
pub fn atomic_write(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<PathBuf> {
    let target = dir.join(name);
    let tmp = temp_name(dir, name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, &target)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(KeyError::WriteFailed {
            path: target,
            source: e,
        });
    }
    sync_dir(dir)?;
    Ok(target)
}

/// Atomically creates or replaces the symlink `dir/link` pointing at the
/// relative name `target`.
pub fn atomic_symlink(dir: &Path, link: &str, target: &str) -> Result<PathBuf> {
    let path = dir.join(link);
    if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
        return Err(KeyError::WriteFailed {
            path,
            source: std::io::Error::other("is a directory"),
        });
    }
    let tmp = temp_name(dir, link);
    let result = symlink(target, &tmp).and_then(|()| fs::rename(&tmp, &path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(KeyError::WriteFailed { path, source: e });
    }
    sync_dir(dir)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_replaces_and_links() {
        let d = tempfile::tempdir().unwrap();
        let p = atomic_write(d.path(), "f.1", b"one", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        atomic_write(d.path(), "f.1", b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        atomic_symlink(d.path(), "l", "f.1").unwrap();
        assert_eq!(fs::read_link(d.path().join("l")).unwrap(), Path::new("f.1"));
        atomic_write(d.path(), "f.2", b"three", 0o640).unwrap();
        atomic_symlink(d.path(), "l", "f.2").unwrap();
        assert_eq!(fs::read(d.path().join("l")).unwrap(), b"three");
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    }

    #[test]
    fn unwritable_directory_names_the_file() {
        let err = atomic_write(Path::new("/nonexistent-dir"), "f", b"x", 0o600).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/f"));
    }
}
