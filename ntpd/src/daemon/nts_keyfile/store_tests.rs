//! The store's ordering: the keys mutex is free while the file is written,
//! and a reload racing a rotation keeps the newest key.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use nts::server_keys::{RotationPolicy, ServerKeys};
use rand::SeedableRng;

use super::{CookieStore, KeySink};
use crate::daemon::nts_keyfile::Reloaded;

const DAY: u64 = 86_400;

/// A key file in memory whose reads or writes can be held at a gate, as a
/// slow disk would hold them.
#[derive(Default)]
struct GatedFile {
    text: Mutex<Option<String>>,
    gate: Mutex<Gate>,
    moved: Condvar,
    path: PathBuf,
}

#[derive(Default)]
struct Gate {
    hold_reads: bool,
    hold_writes: bool,
    waiting: usize,
}

impl GatedFile {
    fn pass(&self, held: impl Fn(&Gate) -> bool) {
        let mut g = self.gate.lock().unwrap();
        if !held(&g) {
            return;
        }
        g.waiting += 1;
        self.moved.notify_all();
        while held(&g) {
            g = self.moved.wait(g).unwrap();
        }
        g.waiting -= 1;
    }

    fn set(&self, f: impl FnOnce(&mut Gate)) {
        f(&mut self.gate.lock().unwrap());
        self.moved.notify_all();
    }

    /// Waits until `n` callers wait at the gate.
    fn await_waiting(&self, n: usize) {
        let mut g = self.gate.lock().unwrap();
        while g.waiting < n {
            let (next, timeout) = self.moved.wait_timeout(g, Duration::from_secs(10)).unwrap();
            assert!(!timeout.timed_out(), "nobody reached the gate");
            g = next;
        }
    }

    fn keys(&self) -> ServerKeys {
        let text = self.text.lock().unwrap().clone().unwrap();
        ServerKeys::parse(&text, RotationPolicy::default()).unwrap()
    }
}

impl KeySink for GatedFile {
    fn read(&self) -> std::io::Result<Option<String>> {
        self.pass(|g| g.hold_reads);
        Ok(self.text.lock().unwrap().clone())
    }
    fn write(&self, text: &str) -> std::io::Result<()> {
        self.pass(|g| g.hold_writes);
        *self.text.lock().unwrap() = Some(text.to_owned());
        Ok(())
    }
    fn path(&self) -> &Path {
        &self.path
    }
}

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// A store with a first key made at 0 and written, and the shared keys.
fn started() -> (Arc<CookieStore<GatedFile>>, Arc<Mutex<ServerKeys>>) {
    let store = Arc::new(CookieStore::new(GatedFile::default()));
    let keys = store
        .load_or_create(0, RotationPolicy::default(), &mut rng(1))
        .unwrap();
    (store, Arc::new(Mutex::new(keys)))
}

fn finish(h: std::thread::JoinHandle<()>) {
    h.join().expect("the thread panicked");
}

#[test]
fn rotation_writes_with_the_keys_mutex_free_and_a_reload_waits_for_it() {
    let (store, keys) = started();
    let first = keys.lock().unwrap().current().id;
    store.sink.set(|g| g.hold_writes = true);
    let rotating = {
        let (store, keys) = (Arc::clone(&store), Arc::clone(&keys));
        std::thread::spawn(move || {
            assert_eq!(
                store.rotate(&keys, DAY, &mut rng(2)).unwrap(),
                Some(first + 1)
            );
        })
    };
    store.sink.await_waiting(1);
    // The write is stalled; the receive path still gets the keys, and
    // already seals under the new key.
    let k = keys
        .try_lock()
        .expect("keys mutex held across the file write");
    assert_eq!(k.current().id, first + 1);
    drop(k);
    // A reload now must wait for the write, then read the new key back.
    let reloading = {
        let (store, keys) = (Arc::clone(&store), Arc::clone(&keys));
        std::thread::spawn(move || {
            assert_eq!(
                store.reload(&keys, DAY + 1, &mut rng(3)).unwrap(),
                Reloaded::Unchanged
            );
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(!reloading.is_finished(), "the reload did not wait");
    store.sink.set(|g| g.hold_writes = false);
    finish(rotating);
    finish(reloading);
    assert_eq!(keys.lock().unwrap().current().id, first + 1);
    assert_eq!(store.sink.keys(), *keys.lock().unwrap());
}

#[test]
fn rotation_during_a_reload_rotates_the_reloaded_keys() {
    let (store, keys) = started();
    let first = keys.lock().unwrap().current().id;
    store.sink.set(|g| g.hold_reads = true);
    // The reload has read nothing yet when the rotation comes.
    let reloading = {
        let (store, keys) = (Arc::clone(&store), Arc::clone(&keys));
        std::thread::spawn(move || {
            assert_eq!(
                store.reload(&keys, 5, &mut rng(3)).unwrap(),
                Reloaded::Unchanged
            );
        })
    };
    store.sink.await_waiting(1);
    let rotating = {
        let (store, keys) = (Arc::clone(&store), Arc::clone(&keys));
        std::thread::spawn(move || {
            assert_eq!(
                store.rotate(&keys, DAY, &mut rng(2)).unwrap(),
                Some(first + 1)
            );
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    // The rotation waits for the reload, changing nothing meanwhile.
    assert_eq!(keys.lock().unwrap().current().id, first);
    store.sink.set(|g| g.hold_reads = false);
    finish(reloading);
    finish(rotating);
    let newest = keys.lock().unwrap().clone();
    assert_eq!(newest.current().id, first + 1, "the rotation was lost");
    assert_eq!(store.sink.keys(), newest, "the file is not the keys in use");
}

#[test]
fn racing_reloads_and_rotations_on_disk_keep_the_newest_key() {
    let dir = std::env::temp_dir().join(format!("nts-store-race-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cookies");
    let store = Arc::new(CookieStore::new(super::CookieDir::open(&path).unwrap()));
    let keys = store
        .load_or_create(0, RotationPolicy::default(), &mut rng(1))
        .unwrap();
    let first = keys.current().id;
    let keys = Arc::new(Mutex::new(keys));
    const ROUNDS: u64 = 20;
    let rotating = {
        let (store, keys) = (Arc::clone(&store), Arc::clone(&keys));
        std::thread::spawn(move || {
            for day in 1..=ROUNDS {
                store.rotate(&keys, day * DAY, &mut rng(day)).unwrap();
            }
        })
    };
    let reloading = {
        let (store, keys) = (Arc::clone(&store), Arc::clone(&keys));
        std::thread::spawn(move || {
            for i in 0..ROUNDS {
                // Before any rotation this reload is due: it must not rotate.
                store.reload(&keys, 1, &mut rng(100 + i)).unwrap();
            }
        })
    };
    finish(rotating);
    finish(reloading);
    let held = keys.lock().unwrap().clone();
    assert_eq!(held.current().id, first + ROUNDS as u32);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        ServerKeys::parse(&text, RotationPolicy::default()).unwrap(),
        held
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
