//! Session keys, MACs and the server cookie (brief §5.1–§5.3).
//!
//! ```text
//! session_input = src ‖ dst ‖ BE32(keyid) ‖ BE32(cookie)   (IPv4: 16 octets, IPv6: 40)
//! session key   = D(session_input)          next key ID = first 4 octets
//! MAC           = BE32(keyid) ‖ D(key ‖ packet[0..authlen)), at most 20 octets
//! ```

use std::net::IpAddr;

use openssl::hash::{Hasher, MessageDigest};
use proto::mac::Mac;

use crate::error::{AutokeyError, Result};

/// Largest digest used for session keys (SHA-1, RIPEMD-160), brief §5.7.
pub const MAX_SESSION_DIGEST: usize = 20;

/// The Autokey digest (`crypto digest`, default MD5). Only digests of at
/// most 20 octets interoperate (brief §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SessionDigest {
    /// MD5, the default: 16-octet session key value, 20-octet MAC (brief §5.1, §5.7).
    #[default]
    Md5,
    /// SHA-1: 20-octet session key value, 24-octet MAC (brief §5.1, §5.7).
    Sha1,
}

impl SessionDigest {
    /// From the `crypto digest` name (OpenSSL short name, case-sensitive as
    /// the reference).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "MD5" => Some(SessionDigest::Md5),
            "SHA1" => Some(SessionDigest::Sha1),
            _ => None,
        }
    }

    fn md(self) -> MessageDigest {
        match self {
            SessionDigest::Md5 => MessageDigest::md5(),
            SessionDigest::Sha1 => MessageDigest::sha1(),
        }
    }

    /// Digest length in octets.
    pub fn len(self) -> usize {
        match self {
            SessionDigest::Md5 => 16,
            SessionDigest::Sha1 => 20,
        }
    }

    /// Never zero; for clippy.
    pub fn is_empty(self) -> bool {
        false
    }

    fn hash(self, parts: &[&[u8]]) -> Result<([u8; MAX_SESSION_DIGEST], usize)> {
        let err = |e| AutokeyError::crypto("session digest", e);
        let mut h = Hasher::new(self.md()).map_err(err)?;
        for p in parts {
            h.update(p).map_err(err)?;
        }
        let d = h.finish().map_err(err)?;
        let mut out = [0u8; MAX_SESSION_DIGEST];
        let n = d.len().min(MAX_SESSION_DIGEST);
        out[..n].copy_from_slice(&d[..n]);
        Ok((out, n))
    }
}

fn addr_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// The MAC of a packet that must be Autokey-authenticated and its key ID:
/// a MAC must be present (brief §5.6 step 1) and its key ID must lie in the
/// Autokey space above 65535 (§11.3 rule 13).
pub fn autokey_mac<'p>(pkt: &'p proto::PacketRef<'_>) -> Result<(&'p Mac, u32)> {
    let mac = pkt.mac().ok_or(AutokeyError::NoMac)?;
    let key_id = mac.key_id();
    if !proto::mac::is_autokey_key_id(key_id) {
        return Err(AutokeyError::KeySpace { key_id });
    }
    Ok((mac, key_id))
}

/// The session-key hash input (brief §5.1); `Err` for mixed families.
pub fn session_input(src: IpAddr, dst: IpAddr, key_id: u32, cookie: u32) -> Result<Vec<u8>> {
    if src.is_ipv4() != dst.is_ipv4() {
        return Err(AutokeyError::AddressFamily);
    }
    let mut v = addr_bytes(&src);
    v.extend_from_slice(&addr_bytes(&dst));
    v.extend_from_slice(&key_id.to_be_bytes());
    v.extend_from_slice(&cookie.to_be_bytes());
    Ok(v)
}

/// One session key: its ID and value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SessionKey {
    key_id: u32,
    digest: SessionDigest,
    value: [u8; MAX_SESSION_DIGEST],
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKey({:#010x})", self.key_id)
    }
}

impl SessionKey {
    /// Derives the key for `(src, dst, key_id, cookie)`; src/dst are
    /// always (sender, receiver).
    pub fn derive(
        digest: SessionDigest,
        src: IpAddr,
        dst: IpAddr,
        key_id: u32,
        cookie: u32,
    ) -> Result<Self> {
        let input = session_input(src, dst, key_id, cookie)?;
        let (value, _) = digest.hash(&[&input])?;
        Ok(SessionKey {
            key_id,
            digest,
            value,
        })
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The key value (16 or 20 octets).
    pub fn value(&self) -> &[u8] {
        &self.value[..self.digest.len()]
    }

    /// First 4 octets of the session digest: the *previous* key ID of a
    /// chain in transmission order (brief §5.4).
    pub fn next_key_id(&self) -> u32 {
        u32::from_be_bytes([self.value[0], self.value[1], self.value[2], self.value[3]])
    }

    /// The MAC over the authenticated octets (header + fields).
    pub fn mac(&self, authenticated: &[u8]) -> Result<Mac> {
        let (d, n) = self.digest.hash(&[self.value(), authenticated])?;
        Mac::new(self.key_id, &d[..n]).map_err(|e| AutokeyError::Crypto {
            context: "building MAC",
            detail: e.to_string(),
        })
    }

    /// Verifies a MAC in constant time (CVE-2016-1550): the key ID must be
    /// ours and the digest equal over its full length.
    pub fn verify(&self, authenticated: &[u8], mac: &Mac) -> Result<()> {
        let bad = AutokeyError::BadMac {
            key_id: mac.key_id(),
        };
        if mac.key_id() != self.key_id || mac.digest().len() != self.digest.len() {
            return Err(bad);
        }
        let expect = self.mac(authenticated)?;
        if openssl::memcmp::eq(expect.digest(), mac.digest()) {
            Ok(())
        } else {
            Err(bad)
        }
    }
}

/// `next_keyid(src, dst, key_id, cookie)` (brief §5.1).
pub fn next_key_id(
    digest: SessionDigest,
    src: IpAddr,
    dst: IpAddr,
    key_id: u32,
    cookie: u32,
) -> Result<u32> {
    Ok(SessionKey::derive(digest, src, dst, key_id, cookie)?.next_key_id())
}

/// The server's private value and the cookies derived from it (brief
/// §5.3). Unlike the reference (whose value stays 0 forever), this value
/// is drawn from a CSPRNG and re-drawn every `2^revoke` seconds.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSecret {
    private: u32,
    drawn_at: u64,
    revoke_log2: u8,
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ServerSecret(drawn at {}, revoke 2^{})",
            self.drawn_at, self.revoke_log2
        )
    }
}

/// Default `revoke` (log2 seconds, `KEY_REVOKE`).
pub const KEY_REVOKE: u8 = 17;

impl ServerSecret {
    /// A fresh random private value at `now` (NTP seconds).
    pub fn new<R: rand::CryptoRng + ?Sized>(rng: &mut R, now: u64, revoke_log2: u8) -> Self {
        ServerSecret {
            private: rng.next_u32(),
            drawn_at: now,
            revoke_log2: revoke_log2.min(31),
        }
    }

    /// A given private value; `with_private(0, ..)` is the reference
    /// 4.2.8p18's (never initialised) value, for replaying its captures.
    pub fn with_private(private: u32, now: u64, revoke_log2: u8) -> Self {
        ServerSecret {
            private,
            drawn_at: now,
            revoke_log2: revoke_log2.min(31),
        }
    }

    /// Re-draws the private value when `2^revoke` seconds have passed;
    /// returns true if it changed (clients then get crypto-NAKs and fetch a
    /// new cookie).
    pub fn refresh<R: rand::CryptoRng + ?Sized>(&mut self, rng: &mut R, now: u64) -> bool {
        if now.saturating_sub(self.drawn_at) >= 1u64 << self.revoke_log2 {
            self.private = rng.next_u32();
            self.drawn_at = now;
            true
        } else {
            false
        }
    }

    /// The cookie for `client` talking to `server`:
    /// `next_keyid(client, server, 0, private)`.
    pub fn cookie(&self, digest: SessionDigest, client: IpAddr, server: IpAddr) -> Result<u32> {
        next_key_id(digest, client, server, 0, self.private)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::net::Ipv6Addr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn brief_walkthrough_values() {
        // brief §13.4: cookie of 127.0.0.2 → 127.0.0.1 with private value 0.
        let s = ServerSecret::with_private(0, 0, KEY_REVOKE);
        let c = s
            .cookie(SessionDigest::Md5, ip("127.0.0.2"), ip("127.0.0.1"))
            .unwrap();
        assert_eq!(c, 0x1518_9171);
        // brief §13.6: key for packet 11 and its chain predecessor.
        let k = SessionKey::derive(
            SessionDigest::Md5,
            ip("127.0.0.2"),
            ip("127.0.0.1"),
            0x44e5_8600,
            c,
        )
        .unwrap();
        assert_eq!(k.next_key_id(), 0x2f97_4a6a);
        // brief §13.2: session key of the ASSOC request.
        let k = SessionKey::derive(
            SessionDigest::Md5,
            ip("127.0.0.2"),
            ip("127.0.0.1"),
            0x0ec8_5556,
            0,
        )
        .unwrap();
        assert_eq!(k.value()[..4], [0xe2, 0x47, 0x11, 0xd2]);
    }

    #[test]
    fn ipv6_layout_and_mixed_family() {
        let a = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let b = ip("2001:db8::1");
        assert_eq!(session_input(a, b, 1, 2).unwrap().len(), 40);
        assert_eq!(
            session_input(ip("10.0.0.1"), ip("10.0.0.2"), 1, 2)
                .unwrap()
                .len(),
            16
        );
        assert_eq!(
            session_input(a, ip("10.0.0.1"), 1, 2),
            Err(AutokeyError::AddressFamily)
        );
        let k = SessionKey::derive(SessionDigest::Sha1, a, b, 0x10000, 7).unwrap();
        assert_eq!(k.value().len(), 20);
        let m = k.mac(b"packet").unwrap();
        assert_eq!(m.len(), 24);
        k.verify(b"packet", &m).unwrap();
    }

    #[test]
    fn mac_rejects_flips() {
        let k = SessionKey::derive(
            SessionDigest::Md5,
            ip("10.0.0.2"),
            ip("10.0.0.1"),
            0x1234_5678,
            9,
        )
        .unwrap();
        let data = [7u8; 48];
        let m = k.mac(&data).unwrap();
        k.verify(&data, &m).unwrap();
        let mut bad = data;
        bad[3] ^= 1;
        assert!(k.verify(&bad, &m).is_err());
        let mut d = m.digest().to_vec();
        d[15] ^= 0x80;
        let m2 = Mac::new(m.key_id(), &d).unwrap();
        assert!(k.verify(&data, &m2).is_err());
        let other = Mac::new(0x1234_5679, m.digest()).unwrap();
        assert!(k.verify(&data, &other).is_err());
    }

    #[test]
    fn private_value_is_random_and_refreshed() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut s = ServerSecret::new(&mut rng, 1000, 17);
        let c1 = s
            .cookie(SessionDigest::Md5, ip("10.0.0.2"), ip("10.0.0.1"))
            .unwrap();
        assert_ne!(
            c1, 0x0024_788d,
            "must not be the reference's predictable cookie"
        );
        assert!(!s.refresh(&mut rng, 1000 + (1 << 17) - 1));
        assert!(s.refresh(&mut rng, 1000 + (1 << 17)));
        let c2 = s
            .cookie(SessionDigest::Md5, ip("10.0.0.2"), ip("10.0.0.1"))
            .unwrap();
        assert_ne!(c1, c2);
    }
}
