//! Symmetric-key authentication: the keys file (`keys`, `-k`), the trusted
//! key set (`trustedkey`, `-t`), `requestkey`/`controlkey`, and checking or
//! adding the MAC of a packet (RFC 5905 §7.3, reference ntp.keys(5)).

/// The MAC computation itself lives in the `ntp-mac` crate, shared with
/// `ntpq` and the benchmark.
pub use ntp_mac as mac;

mod counters;

pub use counters::{AuthCounters, AuthCounts};

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use config::keys::{KeysFile, SymmetricKey};
use proto::mac::{is_autokey_key_id, MacKind};
use proto::Mac;

pub use mac::{compute, verify, Digest20, MacError};

/// What the MAC of a received packet says (the reference's `AUTH_NONE`,
/// `AUTH_OK`, `AUTH_ERROR`, `AUTH_CRYPTO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// No MAC.
    None,
    /// The MAC verified with this trusted key.
    Ok(u32),
    /// A MAC with this key ID that did not verify: unknown or untrusted
    /// key, key not allowed for the sender, wrong digest.
    Error(u32),
    /// A crypto-NAK (a bare 4-octet key ID 0).
    CryptoNak,
    /// An Autokey session key ID (> 65535): only an association's Autokey
    /// engine can judge it.
    Autokey(u32),
}

impl AuthOutcome {
    /// The reference's `AUTH(required, outcome)`: acceptable outcomes are
    /// OK, and also NONE when authentication is not required.
    pub fn acceptable(self, required: bool) -> bool {
        match self {
            AuthOutcome::Ok(_) => true,
            AuthOutcome::None => !required,
            _ => false,
        }
    }
}

/// The daemon's symmetric keys.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: HashMap<u16, SymmetricKey>,
    trusted: BTreeSet<u16>,
    /// `requestkey`: kept for mode 7 (which this daemon drops) and shown
    /// by mode 6.
    pub request_key: Option<u16>,
    /// `controlkey`: the key mode 6 write requests must carry.
    pub control_key: Option<u16>,
    /// Lookups, MACs computed and verified (`ntpq -c authinfo`).
    counters: AuthCounters,
}

impl KeyRing {
    /// A ring holding the keys of a parsed keys file, none trusted yet.
    pub fn from_file(file: &KeysFile) -> Self {
        KeyRing {
            keys: file.keys.iter().map(|k| (k.id.get(), k.clone())).collect(),
            ..KeyRing::default()
        }
    }

    /// Mark `id` trusted (`trustedkey`, `-t`). Keys named but not in the
    /// keys file stay unusable, as in the reference.
    pub fn trust(&mut self, id: u16) {
        self.trusted.insert(id);
    }

    /// Whether `id` names a trusted key present in the keys file.
    pub fn is_trusted(&self, id: u16) -> bool {
        self.trusted.contains(&id) && self.keys.contains_key(&id)
    }

    /// The trusted key IDs, ascending.
    pub fn trusted_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.trusted.iter().copied()
    }

    /// Number of keys loaded.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is loaded.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The counters `ntpq -c authinfo` shows.
    pub fn counts(&self) -> AuthCounts {
        self.counters.read()
    }

    /// A trusted key usable with `peer` (a lookup, counted).
    fn usable(&self, id: u32, peer: IpAddr) -> Option<&SymmetricKey> {
        let key = u16::try_from(id)
            .ok()
            .and_then(|id16| Some((id16, self.keys.get(&id16)?)));
        self.counters.lookup(key.is_some());
        let (id16, key) = key?;
        (self.trusted.contains(&id16) && key.allows(peer)).then_some(key)
    }

    /// Check the MAC of a received packet: `authenticated` are the octets
    /// it covers (header and extension fields), `mac` its trailer.
    pub fn check(&self, authenticated: &[u8], mac: Option<&Mac>, peer: IpAddr) -> AuthOutcome {
        let Some(mac) = mac else {
            return AuthOutcome::None;
        };
        let id = mac.key_id();
        match mac.kind() {
            MacKind::CryptoNak => return AuthOutcome::CryptoNak,
            MacKind::BareKeyId | MacKind::ShortDigest => return AuthOutcome::Error(id),
            MacKind::Digest16 | MacKind::Digest20 => {}
        }
        if is_autokey_key_id(id) {
            return AuthOutcome::Autokey(id);
        }
        self.counters.decryption();
        match self.usable(id, peer) {
            Some(key) if verify(key.kind, &key.secret, authenticated, mac.digest()) => {
                AuthOutcome::Ok(id)
            }
            _ => AuthOutcome::Error(id),
        }
    }

    /// Append the MAC of `buf[..len]` with key `id` to `buf` and return the
    /// new length. `None` when the key is not trusted, not allowed for
    /// `peer`, of an unbuilt type, or `buf` has no room.
    pub fn sign(&self, id: u32, buf: &mut [u8], len: usize, peer: IpAddr) -> Option<usize> {
        self.counters.encryption();
        let key = self.usable(id, peer)?;
        mac::append(key.kind, &key.secret, id, buf, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn ring() -> KeyRing {
        let file = config::keys::parse_str(
            "1 MD5 md5secret\n2 SHA1 sha1secret\n3 MD5 notrusted\n4 SHA1 onlylocal 127.0.0.1\n",
            Path::new("test.keys"),
        )
        .unwrap();
        let mut r = KeyRing::from_file(&file);
        r.trust(1);
        r.trust(2);
        r.trust(4);
        r.trust(9); // not in the file
        r
    }

    fn lo() -> IpAddr {
        IpAddr::from([127, 0, 0, 1])
    }

    fn signed(r: &KeyRing, id: u32, peer: IpAddr) -> Vec<u8> {
        let mut buf = [0u8; 72];
        buf[0] = 0x23;
        let n = r.sign(id, &mut buf, 48, peer).expect("signs");
        buf[..n].to_vec()
    }

    fn check(r: &KeyRing, pkt: &[u8], peer: IpAddr) -> AuthOutcome {
        let p = proto::PacketRef::parse(pkt).unwrap();
        r.check(p.authenticated_bytes(), p.mac(), peer)
    }

    #[test]
    fn signed_packets_verify_with_their_key() {
        let r = ring();
        let md5 = signed(&r, 1, lo());
        assert_eq!(md5.len(), 68);
        assert_eq!(check(&r, &md5, lo()), AuthOutcome::Ok(1));
        let sha = signed(&r, 2, lo());
        assert_eq!(sha.len(), 72);
        assert_eq!(check(&r, &sha, lo()), AuthOutcome::Ok(2));
    }

    #[test]
    fn tampered_untrusted_and_foreign_keys_fail() {
        let r = ring();
        let mut md5 = signed(&r, 1, lo());
        md5[40] ^= 1;
        assert_eq!(check(&r, &md5, lo()), AuthOutcome::Error(1));
        assert!(r.sign(3, &mut [0u8; 72], 48, lo()).is_none(), "untrusted");
        assert!(r.sign(9, &mut [0u8; 72], 48, lo()).is_none(), "missing");
        let other = IpAddr::from([10, 0, 0, 1]);
        assert!(
            r.sign(4, &mut [0u8; 72], 48, other).is_none(),
            "not allowed"
        );
        let local = signed(&r, 4, lo());
        assert_eq!(check(&r, &local, other), AuthOutcome::Error(4));
        // The same digest under another key ID fails.
        let mut swapped = signed(&r, 1, lo());
        swapped[48..52].copy_from_slice(&3u32.to_be_bytes());
        assert_eq!(check(&r, &swapped, lo()), AuthOutcome::Error(3));
    }

    /// `authinfo`'s counters: every MAC checked or computed, every key
    /// looked up, and the IDs the keys file lacks.
    #[test]
    fn lookups_and_macs_are_counted() {
        let r = ring();
        let md5 = signed(&r, 1, lo());
        assert_eq!(check(&r, &md5, lo()), AuthOutcome::Ok(1));
        assert!(r.sign(9, &mut [0u8; 72], 48, lo()).is_none());
        let mut unknown = md5.clone();
        unknown[48..52].copy_from_slice(&7u32.to_be_bytes());
        assert_eq!(check(&r, &unknown, lo()), AuthOutcome::Error(7));
        // No MAC, or an Autokey one: no symmetric key is involved.
        assert_eq!(check(&r, &md5[..48], lo()), AuthOutcome::None);
        let c = r.counts();
        assert_eq!(
            c,
            AuthCounts {
                lookups: 4,
                not_found: 2,
                encryptions: 2,
                decryptions: 2,
            }
        );
    }

    #[test]
    fn nak_none_and_autokey_are_told_apart() {
        let r = ring();
        let mut pkt = vec![0x23u8; 48];
        assert_eq!(check(&r, &pkt, lo()), AuthOutcome::None);
        pkt.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(check(&r, &pkt, lo()), AuthOutcome::CryptoNak);
        pkt.truncate(48);
        pkt.extend_from_slice(&70000u32.to_be_bytes());
        pkt.extend_from_slice(&[0u8; 16]);
        assert_eq!(check(&r, &pkt, lo()), AuthOutcome::Autokey(70000));
        assert!(AuthOutcome::None.acceptable(false));
        assert!(!AuthOutcome::None.acceptable(true));
        assert!(AuthOutcome::Ok(1).acceptable(true));
        assert!(!AuthOutcome::CryptoNak.acceptable(false));
    }
}
