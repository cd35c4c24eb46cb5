//! `--saveconfigquit FILE`: read the configuration (and the `-k` keys file),
//! write the configuration in canonical ntp.conf form to FILE, exit.
//!
//! The write is atomic for regular files: a temporary file in the same
//! directory is written, fsynced and renamed over FILE (then the directory
//! is fsynced), so FILE is either the old or the complete new text, and an
//! existing FILE keeps its permissions. A FILE that exists and is not a
//! regular file (a FIFO, a terminal), or any existing name under `/dev` or
//! `/proc` (`/dev/stdout` even when the shell redirected it to a regular
//! file), is truncated and written in place, as the reference does with
//! `fopen(FILE, "w")`; `-` is an ordinary file name, as for the reference.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where the reference reads its configuration when `-c` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/ntp.conf";

/// Why `--saveconfigquit` failed. `Display` is the one-line message.
#[derive(Debug, thiserror::Error)]
pub enum SaveConfigError {
    /// The configuration is wrong (already `FILE:LINE:COL: ...`).
    #[error("{0}")]
    Config(#[from] config::conf::ConfigError),
    /// The `-k` keys file is wrong (already `FILE:LINE:COL: ...`).
    #[error("{0}")]
    Keys(#[from] config::keys::KeysError),
    /// FILE could not be written.
    #[error("cannot write the saved configuration to {}: {source}; expected a writable path (check the directory exists and permissions)", path.display())]
    Write {
        /// The `--saveconfigquit` FILE.
        path: PathBuf,
        /// The error from creating or writing it.
        #[source]
        source: io::Error,
    },
}

/// Run `--saveconfigquit OUT` for the configuration at `config_path` and
/// the optional keys file. Warnings are logged; the caller prints the error.
pub fn save_config_quit(
    config_path: &Path,
    key_file: Option<&Path>,
    out: &Path,
) -> Result<(), SaveConfigError> {
    let loaded = config::conf::load(config_path)?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    if let Some(keys_path) = key_file {
        let keys = config::keys::load(keys_path)?;
        for w in &keys.warnings {
            tracing::warn!("{w}");
        }
        tracing::info!(
            "{}: {} symmetric keys",
            keys_path.display(),
            keys.keys.len()
        );
    }
    let text = loaded.config.to_conf_string();
    write_atomically(out, text.as_bytes()).map_err(|source| SaveConfigError::Write {
        path: out.to_path_buf(),
        source,
    })
}

/// Replace `path` with `bytes` atomically (see the module comment).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let existing = match fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(meta) = &existing {
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a directory",
            ));
        }
        // Special files, and names under /dev and /proc such as
        // /dev/stdout (a symlink to whatever the shell opened, possibly a
        // regular file that must not be replaced under it), are written in
        // place like fopen(FILE, "w").
        if !meta.is_file() || path.starts_with("/dev") || path.starts_with("/proc") {
            let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
            f.write_all(bytes)?;
            return f.flush();
        }
    }
    // A symlink to a regular file: replace the target and keep the link,
    // as writing through fopen() would.
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() && existing.is_some() => fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        if let Some(meta) = &existing {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &target)?;
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ntpd-saveconfig-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn replaces_keeping_permissions_and_leaves_no_temp_file() {
        let dir = scratch("replace");
        let path = dir.join("out.conf");
        fs::write(&path, "old\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_through_a_symlink() {
        let dir = scratch("symlink");
        let real = dir.join("real.conf");
        let link = dir.join("link.conf");
        fs::write(&real, "old\n").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, b"new\n").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new\n");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_directory_and_directories_are_errors() {
        let dir = scratch("errors");
        assert!(write_atomically(&dir.join("absent/out.conf"), b"x").is_err());
        assert!(write_atomically(&dir, b"x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
