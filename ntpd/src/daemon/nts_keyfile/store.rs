//! The one writer of the cookie master keys (RFC 8915 §6): the daily
//! rotation, the SIGHUP reload and the start-up load all change the keys
//! and the `nts cookie` file through a [`CookieStore`].
//!
//! Two locks, taken in this order: the store's file lock, held for a whole
//! read-modify-write of the file, and the keys mutex the NTP receive path
//! and NTS-KE share, held only while the keys in memory are read or
//! changed, never across a read, write or fsync of the file. Every change
//! of the keys in memory happens under the file lock, so the file is
//! written in the order the changes were made: a rotation and a reload
//! cannot interleave so that an older key set replaces a newer one, in
//! memory or on disk.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use nts::server_keys::{RotationPolicy, ServerKeys};

use super::cookie_dir::CookieDir;
use super::{KeyFileIoError, Reloaded};

/// Where the key file's text is read from and written to.
pub trait KeySink: Send + Sync {
    /// The file's text, `None` when it does not exist.
    fn read(&self) -> std::io::Result<Option<String>>;
    /// Replaces the file with `text`, atomically and durably.
    fn write(&self, text: &str) -> std::io::Result<()>;
    /// The file's path as configured, for messages.
    fn path(&self) -> &Path;
}

impl KeySink for CookieDir {
    fn read(&self) -> std::io::Result<Option<String>> {
        CookieDir::read(self)
    }
    fn write(&self, text: &str) -> std::io::Result<()> {
        CookieDir::write(self, text)
    }
    fn path(&self) -> &Path {
        CookieDir::path(self)
    }
}

/// The cookie key file and the lock that orders its writers.
#[derive(Debug)]
pub struct CookieStore<S = CookieDir> {
    sink: S,
    file: Mutex<()>,
}

/// The store of the file at `path`, its directory opened now: call it
/// before any chroot, and keep the store for every later read and write.
pub fn open(path: &Path) -> Result<Arc<CookieStore>, KeyFileIoError> {
    let dir = CookieDir::open(path).map_err(|e| KeyFileIoError::Directory {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(CookieStore::new(dir)))
}

fn held<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<S: KeySink> CookieStore<S> {
    /// The file's path as configured, for messages.
    pub fn path(&self) -> &Path {
        self.sink.path()
    }

    /// A store writing through `sink`.
    pub fn new(sink: S) -> Self {
        Self {
            sink,
            file: Mutex::new(()),
        }
    }

    fn read_err(&self, e: std::io::Error) -> KeyFileIoError {
        KeyFileIoError::Read {
            path: self.sink.path().to_path_buf(),
            reason: e.to_string(),
        }
    }

    fn write(&self, keys: &ServerKeys) -> Result<(), KeyFileIoError> {
        self.sink
            .write(&keys.to_file_text())
            .map_err(|e| KeyFileIoError::Write {
                path: self.sink.path().to_path_buf(),
                reason: e.to_string(),
            })
    }

    fn parse(&self, text: &str, policy: RotationPolicy) -> Result<ServerKeys, KeyFileIoError> {
        ServerKeys::parse(text, policy).map_err(|source| KeyFileIoError::Parse {
            path: self.sink.path().to_path_buf(),
            source,
        })
    }

    /// Reads the keys, or makes a first key when the file does not exist;
    /// keys due for rotation at `now` are rotated. The file is written
    /// when anything changed.
    pub fn load_or_create(
        &self,
        now: u64,
        policy: RotationPolicy,
        rng: &mut impl rand::Rng,
    ) -> Result<ServerKeys, KeyFileIoError> {
        let _file = held(&self.file);
        let (mut keys, mut changed) = match self.sink.read().map_err(|e| self.read_err(e))? {
            Some(text) => (self.parse(&text, policy)?, false),
            None => (ServerKeys::new(now, policy, rng), true),
        };
        changed |= keys.rotate(now, rng);
        if changed {
            self.write(&keys)?;
        }
        Ok(keys)
    }

    /// The rotation due at `now` (RFC 8915 §6): made under the keys mutex,
    /// written after it is released. Returns the new current key id when
    /// the set changed; an `Err` means the change is in use but was not
    /// written.
    pub fn rotate(
        &self,
        keys: &Mutex<ServerKeys>,
        now: u64,
        rng: &mut impl rand::Rng,
    ) -> Result<Option<u32>, KeyFileIoError> {
        let _file = held(&self.file);
        let snapshot = {
            let mut k = held(keys);
            if !k.rotate(now, rng) {
                return Ok(None);
            }
            k.clone()
        };
        self.write(&snapshot)?;
        Ok(Some(snapshot.current().id))
    }

    /// SIGHUP: the file read again and, when it differs, put in place of
    /// `keys` (after the rotation due at `now`, written back when it
    /// changed anything). On an error `keys` is left as it was.
    pub fn reload(
        &self,
        keys: &Mutex<ServerKeys>,
        now: u64,
        rng: &mut impl rand::Rng,
    ) -> Result<Reloaded, KeyFileIoError> {
        let _file = held(&self.file);
        let text = self
            .sink
            .read()
            .map_err(|e| self.read_err(e))?
            .ok_or_else(|| self.read_err(std::io::ErrorKind::NotFound.into()))?;
        let policy = held(keys).policy();
        let mut fresh = self.parse(&text, policy)?;
        if fresh.rotate(now, rng) {
            self.write(&fresh)?;
        }
        let mut k = held(keys);
        if fresh == *k {
            return Ok(Reloaded::Unchanged);
        }
        *k = fresh;
        Ok(Reloaded::Replaced {
            current: k.current().id,
            accepted: k.keys().len(),
        })
    }

    /// Writes `keys` as they are.
    pub fn save(&self, keys: &ServerKeys) -> Result<(), KeyFileIoError> {
        let _file = held(&self.file);
        self.write(keys)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
