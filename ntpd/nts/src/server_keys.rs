//! The server's cookie master keys and their rotation (RFC 8915 §6).
//!
//! §6 asks a server to make a new master key periodically and to keep the
//! old ones long enough that clients holding cookies under them are not
//! cut off. [`ServerKeys`] holds the keys newest last, numbered by a key id
//! that only grows: a new key every [`RotationPolicy::rotate_every`]
//! seconds, each accepted for [`RotationPolicy::accept_for`] seconds after
//! it stopped being the current one. The keys survive a restart in a text
//! file ([`ServerKeys::to_file_text`] / [`ServerKeys::parse`]); the daemon
//! writes it atomically (temporary file, then rename).
//!
//! File format, one key a line, `#` comments:
//!
//! ```text
//! ntskey ID CREATED HEX
//! ```
//!
//! `ID` the key id (decimal u32), `CREATED` when it was made (seconds of
//! the Unix epoch), `HEX` the 32-octet key as 64 hex digits.

use thiserror::Error;

use crate::aead::{AeadKey, KEY_LEN};

/// How often keys change and how long old ones stay valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Seconds between new keys (a day by default).
    pub rotate_every: u64,
    /// Seconds a key stays accepted after the next key replaced it (a
    /// week by default: a client polling at the longest interval refills
    /// its cookies far sooner).
    pub accept_for: u64,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            rotate_every: 86_400,
            accept_for: 7 * 86_400,
        }
    }
}

/// One master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerKey {
    /// The key id written into every cookie made under the key.
    pub id: u32,
    /// When the key was made, seconds of the Unix epoch.
    pub created: u64,
    /// The key.
    pub key: AeadKey,
}

/// Why a key id is not usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum KeyLookupError {
    /// The id is older than every kept key: the key rotated out of the
    /// acceptance window.
    #[error("cookie key {id} has rotated out of the acceptance window")]
    Expired {
        /// The key id of the cookie.
        id: u32,
    },
    /// No such key was ever made here (forged, or from another server).
    #[error("cookie key {id} is not one of this server's keys")]
    Unknown {
        /// The key id of the cookie.
        id: u32,
    },
}

/// Why a key file was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KeyFileError {
    /// A line is not `ntskey ID CREATED HEX`.
    #[error("NTS key file line {line}: {reason}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Key ids do not increase by one from line to line (rotation only
    /// ever adds the next id and drops the oldest).
    #[error("NTS key file line {line}: key ids must increase by one from line to line")]
    Order {
        /// 1-based line number.
        line: usize,
    },
    /// No key at all.
    #[error("NTS key file holds no key")]
    Empty,
}

/// The master keys of an NTS server, newest last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerKeys {
    keys: Vec<ServerKey>,
    policy: RotationPolicy,
}

impl ServerKeys {
    /// One fresh key made at `now`.
    pub fn new(now: u64, policy: RotationPolicy, rng: &mut impl rand::Rng) -> Self {
        let first = ServerKey {
            id: rng.next_u32() >> 1,
            created: now,
            key: AeadKey::random(rng),
        };
        Self {
            keys: vec![first],
            policy,
        }
    }

    /// The key new cookies are made under.
    pub fn current(&self) -> &ServerKey {
        // Construction and parsing never leave the list empty.
        &self.keys[self.keys.len() - 1]
    }

    /// All kept keys, oldest first.
    pub fn keys(&self) -> &[ServerKey] {
        &self.keys
    }

    /// The rotation policy.
    pub fn policy(&self) -> RotationPolicy {
        self.policy
    }

    /// Makes a new key when the current one is `rotate_every` old, and
    /// drops keys replaced more than `accept_for` ago. Returns whether the
    /// set changed, so the caller knows to write the file again.
    pub fn rotate(&mut self, now: u64, rng: &mut impl rand::Rng) -> bool {
        let mut changed = false;
        while now
            >= self
                .current()
                .created
                .saturating_add(self.policy.rotate_every)
        {
            let next = ServerKey {
                id: self.current().id.wrapping_add(1),
                // After a long downtime, one key made now, not one per day missed.
                created: now.max(self.current().created + self.policy.rotate_every),
                key: AeadKey::random(rng),
            };
            self.keys.push(next);
            changed = true;
        }
        let before = self.keys.len();
        let policy = self.policy;
        let mut retained = Vec::with_capacity(before);
        for (i, key) in self.keys.iter().enumerate() {
            let replaced_at = self.keys.get(i + 1).map(|n| n.created);
            let keep = match replaced_at {
                None => true,
                Some(at) => now < at.saturating_add(policy.accept_for),
            };
            if keep {
                retained.push(key.clone());
            }
        }
        self.keys = retained;
        changed || self.keys.len() != before
    }

    /// The key with id `id`, if still accepted.
    pub fn find(&self, id: u32) -> Result<&ServerKey, KeyLookupError> {
        if let Some(k) = self.keys.iter().find(|k| k.id == id) {
            return Ok(k);
        }
        // Ids grow by one a rotation (modulo 2^32): an id a little below the
        // oldest kept one is a key that rotated out.
        let oldest = self.keys[0].id;
        let behind = oldest.wrapping_sub(id);
        if behind > 0 && behind < 1 << 20 {
            Err(KeyLookupError::Expired { id })
        } else {
            Err(KeyLookupError::Unknown { id })
        }
    }

    /// The key file text.
    pub fn to_file_text(&self) -> String {
        let mut out = String::from(
            "# NTS cookie master keys (RFC 8915 section 6), written by ntpd; keep secret.\n\
             # ntskey ID CREATED-UNIX-SECONDS KEY-HEX\n",
        );
        for k in &self.keys {
            let hex: String = k
                .key
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            out.push_str(&format!("ntskey {} {} {hex}\n", k.id, k.created));
        }
        out
    }

    /// Reads a key file written by [`Self::to_file_text`].
    pub fn parse(text: &str, policy: RotationPolicy) -> Result<Self, KeyFileError> {
        let mut keys: Vec<ServerKey> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line_no = n + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let syntax = |reason| KeyFileError::Syntax {
                line: line_no,
                reason,
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let [tag, id, created, hex] = words[..] else {
                return Err(syntax("expected: ntskey ID CREATED KEY-HEX"));
            };
            if tag != "ntskey" {
                return Err(syntax("expected a line starting with ntskey"));
            }
            let id: u32 = id
                .parse()
                .map_err(|_| syntax("key id is not a decimal u32"))?;
            let created: u64 = created
                .parse()
                .map_err(|_| syntax("creation time is not decimal seconds"))?;
            let key = parse_hex_key(hex).ok_or_else(|| syntax("key is not 64 hex digits"))?;
            if let Some(prev) = keys.last() {
                if prev.id.wrapping_add(1) != id {
                    return Err(KeyFileError::Order { line: line_no });
                }
            }
            keys.push(ServerKey { id, created, key });
        }
        if keys.is_empty() {
            return Err(KeyFileError::Empty);
        }
        Ok(Self { keys, policy })
    }
}

fn parse_hex_key(hex: &str) -> Option<AeadKey> {
    if hex.len() != 2 * KEY_LEN || !hex.is_ascii() {
        return None;
    }
    let mut k = [0; KEY_LEN];
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(AeadKey::new(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::rng;

    const DAY: u64 = 86_400;

    #[test]
    fn rotates_daily_and_keeps_old_keys_for_the_window() {
        let mut r = rng(1);
        let mut keys = ServerKeys::new(1_000, RotationPolicy::default(), &mut r);
        let first = keys.current().id;
        assert!(!keys.rotate(1_000 + DAY - 1, &mut r));
        assert!(keys.rotate(1_000 + DAY, &mut r));
        assert_eq!(keys.current().id, first.wrapping_add(1));
        assert!(keys.find(first).is_ok());
        // The first key was replaced at day 1; it stays until day 8.
        for day in 2..=7 {
            keys.rotate(1_000 + day * DAY, &mut r);
        }
        assert!(keys.find(first).is_ok());
        keys.rotate(1_000 + 8 * DAY, &mut r);
        assert_eq!(keys.find(first), Err(KeyLookupError::Expired { id: first }));
        assert_eq!(keys.keys().len(), 8);
    }

    #[test]
    fn one_new_key_after_a_long_downtime() {
        let mut r = rng(2);
        let mut keys = ServerKeys::new(0, RotationPolicy::default(), &mut r);
        let old = keys.current().id;
        assert!(keys.rotate(100 * DAY, &mut r));
        assert_eq!(keys.keys().len(), 2);
        // The old key's window starts when it was replaced, not when made.
        assert!(keys.find(old).is_ok());
        assert_eq!(keys.current().created, 100 * DAY);
    }

    #[test]
    fn unknown_ids_are_not_expired_ones() {
        let mut r = rng(3);
        let keys = ServerKeys::new(0, RotationPolicy::default(), &mut r);
        let id = keys.current().id.wrapping_add(5);
        assert_eq!(keys.find(id), Err(KeyLookupError::Unknown { id }));
    }

    #[test]
    fn file_round_trip() {
        let mut r = rng(4);
        let mut keys = ServerKeys::new(5, RotationPolicy::default(), &mut r);
        keys.rotate(5 + DAY, &mut r);
        let text = keys.to_file_text();
        assert_eq!(
            ServerKeys::parse(&text, RotationPolicy::default()),
            Ok(keys)
        );
    }

    #[test]
    fn refuses_bad_files() {
        let p = RotationPolicy::default();
        let hex = "00".repeat(32);
        assert_eq!(
            ServerKeys::parse("# nothing\n", p),
            Err(KeyFileError::Empty)
        );
        for (text, line) in [
            ("ntskey 1 2\n".to_string(), 1),
            (format!("key 1 2 {hex}\n"), 1),
            (format!("ntskey x 2 {hex}\n"), 1),
            (format!("ntskey 1 -2 {hex}\n"), 1),
            (format!("\nntskey 1 2 {}\n", "zz".repeat(32)), 2),
            (format!("ntskey 1 2 {}\n", "00".repeat(31)), 1),
        ] {
            assert!(
                matches!(ServerKeys::parse(&text, p), Err(KeyFileError::Syntax { line: l, .. }) if l == line),
                "{text}"
            );
        }
        let text = format!("ntskey 5 2 {hex}\nntskey 3 2 {hex}\n");
        assert_eq!(
            ServerKeys::parse(&text, p),
            Err(KeyFileError::Order { line: 2 })
        );
    }
}
