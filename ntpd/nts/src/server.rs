//! The server's NTS side of an NTP exchange (RFC 8915 §5.7).
//!
//! [`check_request`] finds the request's cookie, opens it with the master
//! keys to get the session's C2S and S2C keys, and verifies the
//! authenticator under C2S. [`reply`] then appends to the NTP reply header
//! the request's unique identifier and an authenticator under S2C whose
//! encrypted part holds one fresh cookie per cookie or placeholder the
//! request carried. A request whose cookie cannot be used is answered,
//! when the caller chooses, by [`nak`] (kiss code NTSN).

use thiserror::Error;

use crate::aead::{self, AeadError, NONCE_LEN, TAG_LEN};
use crate::client::MAX_COOKIES;
use crate::cookie::{self, CookieError, COOKIE_LEN};
use crate::exten::{self, field_type, FieldError, NTP_HEADER_LEN};
use crate::keys::SessionKeys;
use crate::server_keys::ServerKeys;

/// Smallest unique identifier accepted (§5.3: at least 32 octets).
pub const MIN_UNIQUE_ID_LEN: usize = 32;

/// Why a request was refused. [`RequestRefusal::wants_nak`] tells which
/// ones §5.7 answers with an NTS NAK.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RequestRefusal {
    /// The extension fields do not parse.
    #[error("NTS request has malformed extension fields: {0}")]
    Fields(#[from] FieldError),
    /// No unique identifier, two of them, or one shorter than 32 octets.
    #[error("NTS request lacks a single unique identifier of at least 32 octets")]
    UniqueId,
    /// No cookie field, or more than one.
    #[error("NTS request carries {count} cookies instead of one")]
    CookieCount {
        /// Cookie fields found.
        count: usize,
    },
    /// The cookie could not be opened.
    #[error("NTS request cookie refused: {0}")]
    Cookie(#[from] CookieError),
    /// No authenticator field.
    #[error("NTS request carries no authenticator")]
    NoAuthenticator,
    /// The authenticator does not verify under the cookie's C2S key.
    #[error("NTS request fails authentication: {0}")]
    Authentication(#[from] AeadError),
    /// Fields other than the authenticator after it, or an authenticator
    /// before the unique identifier or cookie.
    #[error("NTS request has fields outside its authenticated part")]
    Unauthenticated,
}

impl RequestRefusal {
    /// Whether to answer with an NTS NAK: when the cookie cannot be used
    /// or the request does not authenticate (§5.7), and the request was
    /// well-formed enough to carry a unique identifier to echo.
    pub fn wants_nak(&self) -> bool {
        matches!(self, Self::Cookie(_) | Self::Authentication(_))
    }
}

/// A request that authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NtsRequest {
    /// The unique identifier to echo.
    pub unique_id: Vec<u8>,
    /// The session keys from the cookie.
    pub keys: SessionKeys,
    /// Cookies to send back: one per cookie or placeholder of the cookie's
    /// length or longer, at most [`MAX_COOKIES`].
    pub cookies_wanted: usize,
}

/// The unique identifier of a request, to echo in a NAK even when the
/// request did not authenticate.
pub fn unique_id(packet: &[u8]) -> Option<Vec<u8>> {
    exten::packet_fields(packet)
        .ok()?
        .into_iter()
        .find(|f| {
            f.field_type == field_type::UNIQUE_IDENTIFIER && f.body.len() >= MIN_UNIQUE_ID_LEN
        })
        .map(|f| f.body.to_vec())
}

/// Checks an NTS request datagram (the NTP header and its fields).
pub fn check_request(packet: &[u8], keys: &ServerKeys) -> Result<NtsRequest, RequestRefusal> {
    let fields = exten::packet_fields(packet)?;
    let Some(auth_at) = fields
        .iter()
        .position(|f| f.field_type == field_type::AUTHENTICATOR)
    else {
        return Err(RequestRefusal::NoAuthenticator);
    };
    // §5.7 lets unknown fields follow the authenticator unauthenticated;
    // this server accepts none, so nothing it acts on is unauthenticated.
    if auth_at + 1 != fields.len() {
        return Err(RequestRefusal::Unauthenticated);
    }
    let signed = &fields[..auth_at];
    let of_type = |t: u16| signed.iter().filter(move |f| f.field_type == t);
    let mut uids = of_type(field_type::UNIQUE_IDENTIFIER);
    let (Some(uid), None) = (uids.next(), uids.next()) else {
        return Err(RequestRefusal::UniqueId);
    };
    if uid.body.len() < MIN_UNIQUE_ID_LEN {
        return Err(RequestRefusal::UniqueId);
    }
    let mut cookies = of_type(field_type::COOKIE);
    let (Some(cookie_field), None) = (cookies.next(), cookies.next()) else {
        return Err(RequestRefusal::CookieCount {
            count: of_type(field_type::COOKIE).count(),
        });
    };
    let session = cookie::open(keys, cookie_field.body)?;
    let auth = &fields[auth_at];
    let a = exten::parse_authenticator(auth.body)?;
    let signed_octets = &packet[..auth.start];
    let (tag, encrypted) = a.ciphertext.split_at(TAG_LEN);
    if encrypted.is_empty() {
        // The usual request: the tag alone, checked without a copy.
        let mut tag_octets = [0; TAG_LEN];
        tag_octets.copy_from_slice(tag);
        aead::open_in_place(&session.c2s, a.nonce, signed_octets, &tag_octets, &mut [])?;
    } else {
        // Encrypted fields this server has no use for; they must still
        // authenticate.
        aead::open(&session.c2s, a.nonce, signed_octets, a.ciphertext)?;
    }
    // §5.5: a placeholder shorter than the cookie would let the reply grow
    // past the request (amplification); such placeholders get nothing.
    let placeholders = of_type(field_type::COOKIE_PLACEHOLDER)
        .filter(|f| f.body.len() >= cookie_field.body.len())
        .count();
    Ok(NtsRequest {
        unique_id: uid.body.to_vec(),
        keys: session,
        cookies_wanted: (1 + placeholders).min(MAX_COOKIES),
    })
}

/// Octets of one NTS Cookie field made here.
const COOKIE_FIELD_LEN: usize = 4 + COOKIE_LEN;

/// Appends to `header` (the NTP reply the server built) the unique
/// identifier and an authenticator under S2C carrying fresh cookies.
///
/// The packet is built in one buffer of its final size: the cookies are
/// sealed where they lie in the plaintext, and the plaintext is then
/// encrypted where it lies in the authenticator (§5.6 layout: nonce
/// length, ciphertext length, nonce, synthetic IV, ciphertext).
pub fn reply(
    request: &NtsRequest,
    header: &[u8; NTP_HEADER_LEN],
    keys: &ServerKeys,
    rng: &mut impl rand::Rng,
) -> Vec<u8> {
    let plain_len = request.cookies_wanted * COOKIE_FIELD_LEN;
    let ciphertext_len = TAG_LEN + plain_len;
    let auth_len = 4 + 4 + NONCE_LEN + ciphertext_len;
    let mut packet =
        Vec::with_capacity(NTP_HEADER_LEN + 4 + request.unique_id.len() + 3 + auth_len);
    packet.extend_from_slice(header);
    exten::push_field(
        &mut packet,
        field_type::UNIQUE_IDENTIFIER,
        &request.unique_id,
    );
    let auth_start = packet.len();
    for word in [
        field_type::AUTHENTICATOR,
        auth_len as u16,
        NONCE_LEN as u16,
        ciphertext_len as u16,
    ] {
        packet.extend_from_slice(&word.to_be_bytes());
    }
    let mut nonce = [0; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    packet.extend_from_slice(&nonce);
    let tag_at = packet.len();
    packet.resize(tag_at + ciphertext_len, 0);
    let (signed, sealed) = packet.split_at_mut(tag_at);
    let (tag, plain) = sealed.split_at_mut(TAG_LEN);
    for field in plain.chunks_exact_mut(COOKIE_FIELD_LEN) {
        let (head, body) = field.split_at_mut(4);
        head[..2].copy_from_slice(&field_type::COOKIE.to_be_bytes());
        head[2..].copy_from_slice(&(COOKIE_FIELD_LEN as u16).to_be_bytes());
        let body: &mut [u8; COOKIE_LEN] = body.try_into().expect("a cookie's room");
        cookie::seal_into(keys, &request.keys, rng, body);
    }
    tag.copy_from_slice(&aead::seal_in_place(
        &request.keys.s2c,
        &nonce,
        &signed[..auth_start],
        plain,
    ));
    packet
}

/// An NTS NAK (§5.7): `header` with stratum 0 and reference id NTSN, and
/// the request's unique identifier, unauthenticated.
pub fn nak(unique_id: &[u8], header: &[u8; NTP_HEADER_LEN]) -> Vec<u8> {
    let mut packet = header.to_vec();
    packet[1] = 0;
    packet[12..16].copy_from_slice(&crate::client::NTS_NAK_KISS);
    exten::push_field(&mut packet, field_type::UNIQUE_IDENTIFIER, unique_id);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aead::AeadKey;
    use crate::client::{NtsClient, ReplyError, ReplyOutcome};
    use crate::server_keys::{KeyLookupError, RotationPolicy};
    use crate::test_rng::rng;

    fn setup(seed: u64, cookies: usize) -> (ServerKeys, NtsClient, rand_chacha::ChaCha8Rng) {
        let mut r = rng(seed);
        let server = ServerKeys::new(0, RotationPolicy::default(), &mut r);
        let session = SessionKeys {
            c2s: AeadKey::random(&mut r),
            s2c: AeadKey::random(&mut r),
        };
        let jar = (0..cookies)
            .map(|_| cookie::seal(&server, &session, &mut r))
            .collect();
        (server, NtsClient::new(session, jar), r)
    }

    fn header(mode: u8) -> [u8; 48] {
        let mut h = [0; 48];
        h[0] = 0x20 | mode;
        h[1] = 2;
        h
    }

    #[test]
    fn round_trip_refills_the_jar() {
        let (server, mut client, mut r) = setup(30, 1);
        let req = client.request(&header(3), &mut r).unwrap();
        let checked = check_request(&req, &server).unwrap();
        assert_eq!(checked.cookies_wanted, 8);
        let rep = reply(&checked, &header(4), &server, &mut r);
        assert!(
            rep.len() <= req.len(),
            "reply {} > request {}",
            rep.len(),
            req.len()
        );
        assert_eq!(client.reply(&rep), Ok(ReplyOutcome { new_cookies: 8 }));
        // The new cookies work too, each only once, across a key rotation.
        let mut server = server;
        server.rotate(86_400, &mut r);
        for _ in 0..8 {
            let req = client.request(&header(3), &mut r).unwrap();
            let checked = check_request(&req, &server).unwrap();
            assert_eq!(checked.cookies_wanted, 1);
            let rep = reply(&checked, &header(4), &server, &mut r);
            assert_eq!(client.reply(&rep), Ok(ReplyOutcome { new_cookies: 1 }));
        }
        assert_eq!(client.cookies(), 8);
    }

    #[test]
    fn refuses_forged_and_expired_cookies() {
        let (server, mut client, mut r) = setup(31, 2);
        let req = client.request(&header(3), &mut r).unwrap();
        let other = ServerKeys::new(0, RotationPolicy::default(), &mut r);
        let e = check_request(&req, &other).unwrap_err();
        assert!(matches!(e, RequestRefusal::Cookie(_)), "{e}");
        assert!(e.wants_nak());
        let mut rotated = server.clone();
        let id = server.current().id;
        for day in 1..=8 {
            rotated.rotate(day * 86_400, &mut r);
        }
        assert_eq!(
            check_request(&req, &rotated),
            Err(RequestRefusal::Cookie(CookieError::Key(
                KeyLookupError::Expired { id }
            )))
        );
    }

    #[test]
    fn refuses_altered_requests() {
        let (server, mut client, mut r) = setup(32, 2);
        let mut req = client.request(&header(3), &mut r).unwrap();
        req[40] ^= 1;
        let e = check_request(&req, &server).unwrap_err();
        assert_eq!(e, RequestRefusal::Authentication(AeadError::Authentication));
        assert!(e.wants_nak());
        assert!(unique_id(&req).is_some());
    }

    #[test]
    fn refuses_missing_or_repeated_fields() {
        let (server, _, mut r) = setup(33, 0);
        let mut p = header(3).to_vec();
        exten::push_field(&mut p, field_type::UNIQUE_IDENTIFIER, &[1; 32]);
        assert_eq!(
            check_request(&p, &server),
            Err(RequestRefusal::NoAuthenticator)
        );
        let mut q = p.clone();
        exten::push_authenticator(&mut q, &[0; 16], &[0; 16]);
        assert_eq!(
            check_request(&q, &server),
            Err(RequestRefusal::CookieCount { count: 0 })
        );
        let mut q = p.clone();
        exten::push_field(&mut q, field_type::COOKIE, &[0; 100]);
        exten::push_field(&mut q, field_type::COOKIE, &[0; 100]);
        exten::push_authenticator(&mut q, &[0; 16], &[0; 16]);
        assert_eq!(
            check_request(&q, &server),
            Err(RequestRefusal::CookieCount { count: 2 })
        );
        let mut q = header(3).to_vec();
        exten::push_field(&mut q, field_type::UNIQUE_IDENTIFIER, &[1; 16]);
        exten::push_authenticator(&mut q, &[0; 16], &[0; 16]);
        assert_eq!(check_request(&q, &server), Err(RequestRefusal::UniqueId));
        let mut q = p.clone();
        exten::push_authenticator(&mut q, &[0; 16], &[0; 16]);
        exten::push_field(&mut q, field_type::COOKIE, &[0; 100]);
        assert_eq!(
            check_request(&q, &server),
            Err(RequestRefusal::Unauthenticated)
        );
        let _ = &mut r;
    }

    #[test]
    fn short_placeholders_get_no_cookie() {
        let (server, mut client, mut r) = setup(34, 8);
        let req = client.request(&header(3), &mut r).unwrap();
        // Rebuild the request with one short placeholder, re-signed.
        let fields = exten::packet_fields(&req).unwrap();
        let mut p = header(3).to_vec();
        exten::push_field(&mut p, field_type::UNIQUE_IDENTIFIER, fields[0].body);
        exten::push_field(&mut p, field_type::COOKIE, fields[1].body);
        exten::push_field(&mut p, field_type::COOKIE_PLACEHOLDER, &[0; 8]);
        let keys = cookie::open(&server, fields[1].body).unwrap();
        let tag = aead::seal(&keys.c2s, &[5; 16], &p, &[]);
        exten::push_authenticator(&mut p, &[5; 16], &tag);
        assert_eq!(check_request(&p, &server).unwrap().cookies_wanted, 1);
    }

    #[test]
    fn nak_is_recognised_by_the_client() {
        let (server, mut client, mut r) = setup(35, 2);
        let req = client.request(&header(3), &mut r).unwrap();
        let other = ServerKeys::new(0, RotationPolicy::default(), &mut r);
        assert!(check_request(&req, &other).unwrap_err().wants_nak());
        let n = nak(&unique_id(&req).unwrap(), &header(4));
        assert_eq!(client.reply(&n), Err(ReplyError::Nak));
        let _ = server;
    }

    #[test]
    fn garbage_never_panics() {
        let (server, _, _) = setup(36, 0);
        for len in 0..200 {
            for fill in [0u8, 0x04, 0xff] {
                let p = vec![fill; len];
                assert!(check_request(&p, &server).is_err());
            }
        }
    }
}
