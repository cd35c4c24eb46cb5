//! Server cookies in the format RFC 8915 §6 suggests.
//!
//! A cookie is `I ‖ N ‖ C`: the 4-octet id `I` of the master key, a
//! 16-octet nonce `N`, and `C`, the AEAD_AES_SIV_CMAC_256 encryption under
//! master key `I` with nonce `N` and associated data `I` of the session's
//! C2S key followed by its S2C key. The server keeps no per-client state:
//! a request's cookie gives back the keys of its NTS-KE session. A cookie
//! is [`COOKIE_LEN`] octets, a multiple of four, so it fills an NTS Cookie
//! field without padding.

use thiserror::Error;

use crate::aead::{self, AeadKey, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::keys::SessionKeys;
use crate::server_keys::{KeyLookupError, ServerKeys};

/// Octets of the key id.
const ID_LEN: usize = 4;
/// Octets of a cookie made here.
pub const COOKIE_LEN: usize = ID_LEN + NONCE_LEN + TAG_LEN + 2 * KEY_LEN;

/// Why a cookie was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum CookieError {
    /// Not the length of a cookie made here (beyond up to three octets of
    /// zero padding).
    #[error("NTS cookie of {len} octets is not one this server makes")]
    Length {
        /// The length received.
        len: usize,
    },
    /// The master key is gone or never existed.
    #[error(transparent)]
    Key(#[from] KeyLookupError),
    /// The cookie does not decrypt under its master key: forged or altered.
    #[error("NTS cookie under key {id} fails authentication (forged or altered)")]
    Forged {
        /// The key id in the cookie.
        id: u32,
    },
}

/// Makes a cookie holding `keys` under the current master key.
pub fn seal(server: &ServerKeys, keys: &SessionKeys, rng: &mut impl rand::Rng) -> Vec<u8> {
    let mut out = [0; COOKIE_LEN];
    seal_into(server, keys, rng, &mut out);
    out.to_vec()
}

/// [`seal`] into `out` without allocating (the server's reply path).
pub fn seal_into(
    server: &ServerKeys,
    keys: &SessionKeys,
    rng: &mut impl rand::Rng,
    out: &mut [u8; COOKIE_LEN],
) {
    let master = server.current();
    let (id, rest) = out.split_at_mut(ID_LEN);
    id.copy_from_slice(&master.id.to_be_bytes());
    let (nonce, rest) = rest.split_at_mut(NONCE_LEN);
    rng.fill_bytes(nonce);
    let (tag, plain) = rest.split_at_mut(TAG_LEN);
    plain[..KEY_LEN].copy_from_slice(keys.c2s.as_bytes());
    plain[KEY_LEN..].copy_from_slice(keys.s2c.as_bytes());
    tag.copy_from_slice(&aead::seal_in_place(&master.key, nonce, id, plain));
}

/// Gets the session keys back from a cookie (body of an NTS Cookie field,
/// which may carry up to three zero octets of padding).
pub fn open(server: &ServerKeys, cookie: &[u8]) -> Result<SessionKeys, CookieError> {
    let len = cookie.len();
    let (body, pad) = cookie.split_at(len.min(COOKIE_LEN));
    if body.len() != COOKIE_LEN || pad.len() > 3 || pad.iter().any(|&b| b != 0) {
        return Err(CookieError::Length { len });
    }
    let (id, rest) = body.split_at(ID_LEN);
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (tag, sealed) = rest.split_at(TAG_LEN);
    let key_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    let master = server.find(key_id)?;
    let mut tag_octets = [0; TAG_LEN];
    tag_octets.copy_from_slice(tag);
    let mut plain = [0; 2 * KEY_LEN];
    plain.copy_from_slice(sealed);
    aead::open_in_place(&master.key, nonce, id, &tag_octets, &mut plain)
        .map_err(|_| CookieError::Forged { id: key_id })?;
    let mut c2s = [0; KEY_LEN];
    let mut s2c = [0; KEY_LEN];
    c2s.copy_from_slice(&plain[..KEY_LEN]);
    s2c.copy_from_slice(&plain[KEY_LEN..]);
    Ok(SessionKeys {
        c2s: AeadKey::new(c2s),
        s2c: AeadKey::new(s2c),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server_keys::RotationPolicy;
    use crate::test_rng::rng;

    fn session() -> SessionKeys {
        SessionKeys {
            c2s: AeadKey::new([1; 32]),
            s2c: AeadKey::new([2; 32]),
        }
    }

    #[test]
    fn round_trip_and_fresh_nonce_each_time() {
        let mut r = rng(10);
        let server = ServerKeys::new(0, RotationPolicy::default(), &mut r);
        let a = seal(&server, &session(), &mut r);
        let b = seal(&server, &session(), &mut r);
        assert_eq!(a.len(), COOKIE_LEN);
        assert_eq!(COOKIE_LEN % 4, 0);
        assert_ne!(a, b);
        assert_eq!(open(&server, &a).unwrap(), session());
        let mut padded = a.clone();
        padded.extend_from_slice(&[0, 0]);
        assert_eq!(open(&server, &padded).unwrap(), session());
    }

    #[test]
    fn refuses_forged_cookies() {
        let mut r = rng(11);
        let server = ServerKeys::new(0, RotationPolicy::default(), &mut r);
        let good = seal(&server, &session(), &mut r);
        for at in [4, 20, COOKIE_LEN - 1] {
            let mut bad = good.clone();
            bad[at] ^= 1;
            assert_eq!(
                open(&server, &bad),
                Err(CookieError::Forged {
                    id: server.current().id
                })
            );
        }
        // Same key id, but from another server.
        let other = ServerKeys::parse(
            &server.to_file_text().replace(
                &server
                    .current()
                    .key
                    .as_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
                &"ab".repeat(32),
            ),
            RotationPolicy::default(),
        )
        .unwrap();
        assert!(matches!(
            open(&other, &good),
            Err(CookieError::Forged { .. })
        ));
    }

    #[test]
    fn refuses_wrong_lengths() {
        let mut r = rng(12);
        let server = ServerKeys::new(0, RotationPolicy::default(), &mut r);
        let good = seal(&server, &session(), &mut r);
        assert_eq!(
            open(&server, &good[..50]),
            Err(CookieError::Length { len: 50 })
        );
        let mut long = good.clone();
        long.extend_from_slice(&[0; 4]);
        assert_eq!(
            open(&server, &long),
            Err(CookieError::Length {
                len: COOKIE_LEN + 4
            })
        );
        let mut dirty = good;
        dirty.push(1);
        assert_eq!(
            open(&server, &dirty),
            Err(CookieError::Length {
                len: COOKIE_LEN + 1
            })
        );
    }

    #[test]
    fn refuses_cookies_from_before_the_rotation_window() {
        let mut r = rng(13);
        let policy = RotationPolicy {
            rotate_every: 10,
            accept_for: 20,
        };
        let mut server = ServerKeys::new(0, policy, &mut r);
        let old = seal(&server, &session(), &mut r);
        let old_id = server.current().id;
        server.rotate(10, &mut r);
        assert_eq!(open(&server, &old).unwrap(), session());
        server.rotate(29, &mut r);
        assert_eq!(open(&server, &old).unwrap(), session());
        server.rotate(30, &mut r);
        assert_eq!(
            open(&server, &old),
            Err(CookieError::Key(KeyLookupError::Expired { id: old_id }))
        );
    }

    #[test]
    fn refuses_unknown_key_ids() {
        let mut r = rng(14);
        let server = ServerKeys::new(0, RotationPolicy::default(), &mut r);
        let mut c = seal(&server, &session(), &mut r);
        let id = server.current().id.wrapping_add(100);
        c[..4].copy_from_slice(&id.to_be_bytes());
        assert_eq!(
            open(&server, &c),
            Err(CookieError::Key(KeyLookupError::Unknown { id }))
        );
    }
}
