//! Key lists (sender side, brief §5.4) and the receive-side key-ID chain
//! check (brief §5.6 step 4).

use std::net::IpAddr;

use crate::error::{AutokeyError, Result};
use crate::message::AutokeyValues;
use crate::session::{next_key_id, SessionDigest};

/// Largest key list (`NTP_MAXSESSION`).
pub const NTP_MAXSESSION: usize = 100;
/// Default `automax` (log2 seconds).
pub const NTP_AUTOMAX: u8 = 12;

/// A key list: key IDs used in reverse order of generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyList {
    /// `list[0..=n]` in generation order.
    ids: Vec<u32>,
    /// How many keys have been used (from the end).
    used: usize,
    /// The list's autokey values.
    values: AutokeyValues,
    /// The cookie the chain was hashed with.
    cookie: u32,
}

/// Parameters of a new key list.
#[derive(Debug, Clone, Copy)]
pub struct KeyListParams {
    /// The session-key hash, MD5 or SHA-1 (brief §5.1).
    pub digest: SessionDigest,
    /// Our address: the source address of the session keys (brief §5.2).
    pub local: IpAddr,
    /// Peer address, or the broadcast/multicast address for a broadcaster.
    pub remote: IpAddr,
    /// `pcookie`, or 0 for a broadcast server.
    pub cookie: u32,
    /// `min(ppoll, hpoll)`, log2 seconds.
    pub poll: u8,
    /// List lifetime bound, log2 s: the list spans at most 2^automax s (brief §5.4).
    pub automax: u8,
    /// Unsynchronised hosts build one-entry lists.
    pub synchronised: bool,
}

impl KeyList {
    /// Builds a list (brief §5.4): random start > 65535, up to 100 entries,
    /// stopping at a collision (`in_use`), an ID ≤ 65535, the lifetime or
    /// when unsynchronised.
    pub fn generate<R: rand::CryptoRng + ?Sized>(
        p: &KeyListParams,
        rng: &mut R,
        in_use: impl Fn(u32) -> bool,
    ) -> Result<KeyList> {
        let mpoll: i64 = 1 << p.poll.min(17);
        let mut lifetime: i64 = (1i64 << p.automax.min(31)).min(100 * mpoll);
        let mut k = loop {
            let k = rng.next_u32();
            if k > 65535 && !in_use(k) {
                break k;
            }
        };
        let mut ids = Vec::with_capacity(NTP_MAXSESSION);
        loop {
            ids.push(k);
            let next = next_key_id(p.digest, p.local, p.remote, k, p.cookie)?;
            lifetime -= mpoll;
            let stop = ids.len() >= NTP_MAXSESSION
                || in_use(next)
                || ids.contains(&next)
                || next <= 65535
                || lifetime < 0
                || !p.synchronised;
            k = next;
            if stop {
                break;
            }
        }
        let values = AutokeyValues {
            key: k,
            seq: (ids.len() - 1) as i32,
        };
        Ok(KeyList {
            ids,
            used: 0,
            values,
            cookie: p.cookie,
        })
    }

    /// Every key ID of the list, in generation order.
    pub fn key_ids(&self) -> &[u32] {
        &self.ids
    }

    /// The list's lifetime in seconds, as the reference installs its keys:
    /// `min(2^automax, 100 · 2^poll)` plus one poll interval.
    pub fn lifetime(p: &KeyListParams) -> u32 {
        let mpoll: u32 = 1 << p.poll.min(17);
        (1u32 << p.automax.min(30))
            .min(NTP_MAXSESSION as u32 * mpoll)
            .saturating_add(mpoll)
    }

    /// The autokey values (sent, signed, in AUTO responses).
    pub fn values(&self) -> AutokeyValues {
        self.values
    }

    /// The cookie the list was hashed with.
    pub fn cookie(&self) -> u32 {
        self.cookie
    }

    /// Number of keys left.
    pub fn remaining(&self) -> usize {
        self.ids.len() - self.used
    }

    /// The next key ID to send (`list[n]`, `list[n-1]`, …), or `None` when
    /// the list is used up.
    pub fn next_key(&mut self) -> Option<u32> {
        let idx = self.ids.len().checked_sub(self.used + 1)?;
        self.used += 1;
        self.ids.get(idx).copied()
    }
}

/// Receive-side key-ID chain check (brief §5.6 step 4): hash the received
/// key ID forward up to `max_steps` times looking for the last accepted key
/// ID or the AUTO anchor. Returns the number of hashes that reached it.
pub fn chain_check(
    digest: SessionDigest,
    src: IpAddr,
    dst: IpAddr,
    received: u32,
    cookie: u32,
    targets: &[u32],
    max_steps: u32,
) -> Result<u32> {
    let mut k = received;
    for step in 1..=max_steps.max(1) {
        k = next_key_id(digest, src, dst, k, cookie)?;
        if targets.contains(&k) {
            return Ok(step);
        }
    }
    Err(AutokeyError::KeyChain { key_id: received })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn list_is_a_reverse_hash_chain() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let p = KeyListParams {
            digest: SessionDigest::Md5,
            local: "10.0.0.1".parse().unwrap(),
            remote: "224.0.1.1".parse().unwrap(),
            cookie: 0,
            poll: 4,
            automax: NTP_AUTOMAX,
            synchronised: true,
        };
        let mut l = KeyList::generate(&p, &mut rng, |_| false).unwrap();
        // poll 4: min(4096, 1600) = 1600 s, 100 entries fit.
        assert_eq!(l.values().seq, 99);
        let first = l.next_key().unwrap();
        // AUTO key = hash of the first key sent.
        assert_eq!(
            next_key_id(p.digest, p.local, p.remote, first, 0).unwrap(),
            l.values().key
        );
        let second = l.next_key().unwrap();
        assert_eq!(
            next_key_id(p.digest, p.local, p.remote, second, 0).unwrap(),
            first
        );
        assert_eq!(
            chain_check(
                p.digest,
                p.local,
                p.remote,
                second,
                0,
                &[l.values().key],
                100
            )
            .unwrap(),
            2
        );
        assert!(chain_check(p.digest, p.local, p.remote, 0x12345678, 0, &[first], 5).is_err());
        let mut n = 2;
        while l.next_key().is_some() {
            n += 1;
        }
        assert_eq!(n, 100);
        let unsync = KeyListParams {
            synchronised: false,
            ..p
        };
        assert_eq!(
            KeyList::generate(&unsync, &mut rng, |_| false)
                .unwrap()
                .remaining(),
            1
        );
        let poll6 = KeyListParams { poll: 6, ..p };
        assert_eq!(
            KeyList::generate(&poll6, &mut rng, |_| false)
                .unwrap()
                .remaining(),
            65
        );
    }
}
