//! The keys that authenticate mode 6 requests: the daemon's trusted
//! symmetric keys and its `controlkey` (reference `ntp_control.c`: a
//! request "wants authentication" when a MAC follows the data; commands
//! marked AUTH run only when that MAC verifies with the control key).

use std::net::IpAddr;

use crate::auth::{AuthOutcome, KeyRing};

/// MAC checking and signing for mode 6, keyed by key ID.
pub trait ControlKeys {
    /// The `controlkey`, if configured.
    fn control_key(&self) -> Option<u32>;

    /// Whether `digest` is the MAC of `data` under trusted key `key_id`,
    /// and the key may be used by `source`.
    fn verify(&self, key_id: u32, source: IpAddr, data: &[u8], digest: &[u8]) -> bool;

    /// The digest of `data` under `key_id`, `None` if the key is unusable.
    fn sign(&self, key_id: u32, destination: IpAddr, data: &[u8]) -> Option<Vec<u8>>;
}

/// No keys at all: nothing authenticates.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKeys;

impl ControlKeys for NoKeys {
    fn control_key(&self) -> Option<u32> {
        None
    }

    fn verify(&self, _: u32, _: IpAddr, _: &[u8], _: &[u8]) -> bool {
        false
    }

    fn sign(&self, _: u32, _: IpAddr, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

impl ControlKeys for KeyRing {
    fn control_key(&self) -> Option<u32> {
        self.control_key.map(u32::from)
    }

    fn verify(&self, key_id: u32, source: IpAddr, data: &[u8], digest: &[u8]) -> bool {
        let mut trailer = key_id.to_be_bytes().to_vec();
        trailer.extend_from_slice(digest);
        let Ok(mac) = proto::Mac::parse(&trailer) else {
            return false;
        };
        self.check(data, Some(&mac), source) == AuthOutcome::Ok(key_id)
    }

    fn sign(&self, key_id: u32, destination: IpAddr, data: &[u8]) -> Option<Vec<u8>> {
        let mut buf = data.to_vec();
        buf.resize(data.len() + 4 + crate::auth::mac::MAX_DIGEST, 0);
        let end = KeyRing::sign(self, key_id, &mut buf, data.len(), destination)?;
        buf.get(data.len() + 4..end).map(<[u8]>::to_vec)
    }
}
