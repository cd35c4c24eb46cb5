//! The directory of the `nts cookie` file, opened once at start-up, before
//! `-i` changes the root, and used for every read and write of the file
//! from then on (openat(2), renameat(2) relative to that directory). The
//! file can so be rewritten after each daily rotation (RFC 8915 §6) even
//! when it lies outside the chroot jail.
//!
//! A write replaces the file atomically: a new temporary file beside it
//! (mode 0600 from its creation, never following a link), written and
//! synced, renamed over the file, then the directory synced so the rename
//! itself survives a crash.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{self, UnlinkatFlags};

/// The cookie key file, reached through its directory.
#[derive(Debug)]
pub struct CookieDir {
    dir: OwnedFd,
    name: OsString,
    temporary: OsString,
    path: PathBuf,
}

impl CookieDir {
    /// Opens the directory of `path` (the current directory for a bare
    /// file name). Call it before any chroot.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("the path names no file"))?
            .to_owned();
        let parent = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = fcntl::open(
            parent,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let mut temporary = name.clone();
        temporary.push(".tmp");
        Ok(Self {
            dir,
            name,
            temporary,
            path: path.to_path_buf(),
        })
    }

    /// The file's path as configured, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's text, or `None` when there is no such file.
    pub fn read(&self) -> std::io::Result<Option<String>> {
        let fd = match self.open_at(&self.name, OFlag::O_RDONLY, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut text = String::new();
        File::from(fd).read_to_string(&mut text)?;
        Ok(Some(text))
    }

    /// Replaces the file with `text`, atomically.
    pub fn write(&self, text: &str) -> std::io::Result<()> {
        // A file of our own, made here: a stale temporary file, or a link
        // planted under its name, never receives the keys.
        match unistd::unlinkat(
            &self.dir,
            self.temporary.as_os_str(),
            UnlinkatFlags::NoRemoveDir,
        ) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(e.into()),
        }
        let fd = self.open_at(
            &self.temporary,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )?;
        let mut f = File::from(fd);
        let written = f
            .write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .and_then(|()| {
                drop(f);
                fcntl::renameat(
                    &self.dir,
                    self.temporary.as_os_str(),
                    &self.dir,
                    self.name.as_os_str(),
                )
                .map_err(std::io::Error::from)
            });
        if let Err(e) = written {
            // A half-written file of keys is not left lying about (a full
            // disk, say); the file in place is untouched.
            let _ = unistd::unlinkat(
                &self.dir,
                self.temporary.as_os_str(),
                UnlinkatFlags::NoRemoveDir,
            );
            return Err(e);
        }
        unistd::fsync(&self.dir)?;
        Ok(())
    }

    fn open_at(&self, name: &OsStr, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
        fcntl::openat(&self.dir, name, flags | OFlag::O_CLOEXEC, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_through_the_directory_after_it_was_moved() {
        let base = std::env::temp_dir().join(format!("nts-cookie-dir-{}", std::process::id()));
        let first = base.join("first");
        std::fs::create_dir_all(&first).unwrap();
        let path = first.join("cookies");
        let dir = CookieDir::open(&path).unwrap();
        assert_eq!(dir.read().unwrap(), None);
        dir.write("one\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A stale temporary file is replaced, not written through.
        std::fs::write(first.join("cookies.tmp"), "stale").unwrap();
        dir.write("two\n").unwrap();
        assert_eq!(dir.read().unwrap().as_deref(), Some("two\n"));
        assert!(!first.join("cookies.tmp").exists());
        // The path no longer leads there (as after a chroot): the
        // directory opened before still does.
        let moved = base.join("moved");
        std::fs::rename(&first, &moved).unwrap();
        dir.write("three\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(moved.join("cookies")).unwrap(),
            "three\n"
        );
        assert_eq!(dir.read().unwrap().as_deref(), Some("three\n"));
        assert!(CookieDir::open(&base.join("absent/cookies")).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file_and_the_old_file_in_place() {
        let base = std::env::temp_dir().join(format!("nts-cookie-fail-{}", std::process::id()));
        // The file's name taken by a directory with something in it: the
        // rename fails (EISDIR) after the keys were written and synced.
        let path = base.join("cookies");
        std::fs::create_dir_all(path.join("in-the-way")).unwrap();
        let dir = CookieDir::open(&path).unwrap();
        assert!(dir.write("keys\n").is_err());
        assert!(!base.join("cookies.tmp").exists());
        assert!(path.join("in-the-way").is_dir());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
