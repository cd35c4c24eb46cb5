//! Key rollover without a signal (issue 13): the event loop looks at the
//! `ntpkey_*` entries of `keysdir` every [`CHECK_EVERY`] ticks — each
//! entry's name, link target, and the size, modification time and inode
//! of what it points to — and when they differ from what the keys were
//! last loaded from, and have stayed the same for one more check (the
//! guide's updates run `ntp-keygen`, which writes several files and then
//! moves the links), reloads them as SIGHUP does
//! ([`super::rollover::reload`]). A plain `stat` of the directory's
//! entries, no inotify: the event loop owns the files and the system call
//! filter allows what this needs.

use std::cell::RefCell;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::rollover::{self, Cause};
use super::settings::AutokeySettings;
use super::Core;

/// Ticks (seconds) between two looks at the keys directory.
pub const CHECK_EVERY: u32 = 5;

/// One `ntpkey_*` entry as seen by `lstat`, `readlink` and `stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    target: Option<PathBuf>,
    /// Size, modification time (s, ns) and inode of the file it names;
    /// `None` for a dangling link.
    file: Option<(u64, i64, i64, u64)>,
}

/// The keys directory's state the keys were last loaded from.
#[derive(Debug)]
pub struct KeysWatch {
    dir: PathBuf,
    loaded: Vec<Entry>,
    /// A differing state seen at the last check, waiting to settle.
    settling: Option<Vec<Entry>>,
    ticks: u32,
}

/// The `ntpkey_*` entries of `dir`, sorted; empty if it cannot be read.
fn snapshot(dir: &Path) -> Vec<Entry> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Entry> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if !name.starts_with("ntpkey_") {
                return None;
            }
            let path = e.path();
            Some(Entry {
                target: std::fs::read_link(&path).ok(),
                file: std::fs::metadata(&path)
                    .ok()
                    .map(|m| (m.len(), m.mtime(), m.mtime_nsec(), m.ino())),
                name,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

impl KeysWatch {
    /// Watches `dir`, whose keys were just loaded.
    pub fn new(dir: PathBuf) -> KeysWatch {
        KeysWatch {
            loaded: snapshot(&dir),
            dir,
            settling: None,
            ticks: 0,
        }
    }

    /// The keys were (re)loaded now (start-up, SIGHUP): the current state
    /// is the one to compare with.
    pub fn rebase(&mut self) {
        self.loaded = snapshot(&self.dir);
        self.settling = None;
    }

    /// Once a tick: true when the entries changed and have settled, i.e.
    /// when the keys should be reloaded (the state is taken as loaded).
    pub fn tick(&mut self) -> bool {
        self.ticks += 1;
        if self.ticks % CHECK_EVERY != 0 {
            return false;
        }
        let now = snapshot(&self.dir);
        if now == self.loaded {
            self.settling = None;
            return false;
        }
        if self.settling.as_ref() == Some(&now) {
            self.loaded = now;
            self.settling = None;
            return true;
        }
        self.settling = Some(now);
        false
    }
}

/// The event loop's SIGHUP and tick hooks for key rollover: both reload
/// through [`rollover::reload`] with the start-up `settings`, and a
/// SIGHUP reload counts as loaded for the watch. Without `crypto` the
/// tick hook does nothing.
pub fn hooks(
    core: &Core,
    settings: AutokeySettings,
) -> (impl FnMut(&mut Core), impl FnMut(&mut Core)) {
    let watch = core
        .autokey
        .as_ref()
        .map(|a| KeysWatch::new(a.keysdir.path().to_path_buf()));
    let watch = Rc::new(RefCell::new(watch));
    let settings = Rc::new(settings);
    let (w, s) = (Rc::clone(&watch), Rc::clone(&settings));
    let hangup = move |c: &mut Core| {
        rollover::reload(c, &s, crate::timing::now_ntp().seconds(), Cause::Hangup);
        if let Some(w) = w.borrow_mut().as_mut() {
            w.rebase();
        }
    };
    let tick = move |c: &mut Core| {
        let changed = watch.borrow_mut().as_mut().is_some_and(KeysWatch::tick);
        if changed {
            let now = crate::timing::now_ntp().seconds();
            rollover::reload(c, &settings, now, Cause::KeysChanged);
        }
    };
    (hangup, tick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_link_reloads_once_it_has_settled() {
        let dir = std::env::temp_dir().join(format!("ntpd-keys-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ntpkey_RSAhost_bob.1"), "one").unwrap();
        std::os::unix::fs::symlink("ntpkey_RSAhost_bob.1", dir.join("ntpkey_host_bob")).unwrap();
        std::fs::write(dir.join("other"), "not a key").unwrap();
        let mut w = KeysWatch::new(dir.clone());
        let checks = |w: &mut KeysWatch| (0..CHECK_EVERY).fold(false, |seen, _| w.tick() || seen);
        assert!(!checks(&mut w), "nothing changed");
        std::fs::write(dir.join("other"), "still not a key").unwrap();
        assert!(!checks(&mut w), "not an ntpkey_ entry");
        // ntp-keygen: a new file, the link moved to it.
        std::fs::write(dir.join("ntpkey_RSAhost_bob.2"), "two").unwrap();
        std::fs::remove_file(dir.join("ntpkey_host_bob")).unwrap();
        std::os::unix::fs::symlink("ntpkey_RSAhost_bob.2", dir.join("ntpkey_host_bob")).unwrap();
        assert!(!checks(&mut w), "first look: settling");
        assert!(checks(&mut w), "settled: reload");
        assert!(!checks(&mut w), "taken as loaded");
        // A change that SIGHUP already loaded is not loaded again.
        std::fs::write(dir.join("ntpkey_RSAhost_bob.2"), "two, rewritten").unwrap();
        w.rebase();
        assert!(!checks(&mut w) && !checks(&mut w));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
