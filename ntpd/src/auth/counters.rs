//! The symmetric-key counters of `ntpq -c authinfo` (RFC 9327 system
//! variables `authklookups` … `authdecrypts`, the reference's counters of
//! `libntp/authkeys.c`), kept by [`super::KeyRing`] where a key is looked
//! up, a MAC computed (`sign`) or a MAC verified (`check`), RFC 5905 §7.3.
//!
//! What each means for this daemon:
//! * lookups: key IDs of the keys file looked up to sign or verify a MAC
//!   (the reference's `authhavekey()` calls);
//! * not found: lookups of a key ID the keys file does not hold (the
//!   reference counts the same; an untrusted key that is present is
//!   refused without being "not found", as there);
//! * encryptions: MACs computed for packets and mode 6 answers we send;
//! * decryptions: MACs of received packets checked with a symmetric key
//!   (Autokey session keys are judged by the association's Autokey engine,
//!   not here, so they are not counted).
//!
//! The counters are atomics only so that a [`super::KeyRing`] stays
//! `Sync`; the daemon's single thread updates them with relaxed ordering.

use std::sync::atomic::{AtomicU64, Ordering};

/// The running counters.
#[derive(Debug, Default)]
pub struct AuthCounters {
    lookups: AtomicU64,
    not_found: AtomicU64,
    encryptions: AtomicU64,
    decryptions: AtomicU64,
}

/// A reading of [`AuthCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthCounts {
    /// `authklookups`: key lookups.
    pub lookups: u64,
    /// `authknotfound`: lookups of a key ID not in the keys file.
    pub not_found: u64,
    /// `authencrypts`: MACs computed.
    pub encryptions: u64,
    /// `authdecrypts`: MACs verified (successfully or not).
    pub decryptions: u64,
}

impl AuthCounters {
    /// A key was looked up; `found`: the keys file holds its ID.
    pub fn lookup(&self, found: bool) {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        if !found {
            self.not_found.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A MAC is being computed.
    pub fn encryption(&self) {
        self.encryptions.fetch_add(1, Ordering::Relaxed);
    }

    /// A received MAC is being verified.
    pub fn decryption(&self) {
        self.decryptions.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn read(&self) -> AuthCounts {
        AuthCounts {
            lookups: self.lookups.load(Ordering::Relaxed),
            not_found: self.not_found.load(Ordering::Relaxed),
            encryptions: self.encryptions.load(Ordering::Relaxed),
            decryptions: self.decryptions.load(Ordering::Relaxed),
        }
    }
}

impl Clone for AuthCounters {
    /// A copy carries the counts so far (a cloned key ring continues them).
    fn clone(&self) -> Self {
        let c = self.read();
        AuthCounters {
            lookups: AtomicU64::new(c.lookups),
            not_found: AtomicU64::new(c.not_found),
            encryptions: AtomicU64::new(c.encryptions),
            decryptions: AtomicU64::new(c.decryptions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_survive_a_clone() {
        let c = AuthCounters::default();
        c.lookup(true);
        c.lookup(false);
        c.encryption();
        c.decryption();
        c.decryption();
        let want = AuthCounts {
            lookups: 2,
            not_found: 1,
            encryptions: 1,
            decryptions: 2,
        };
        assert_eq!(c.read(), want);
        assert_eq!(c.clone().read(), want);
    }
}
