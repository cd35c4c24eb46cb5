//! The client's NTS side of an NTP exchange (RFC 8915 §5.7).
//!
//! An [`NtsClient`] holds the keys of one NTS-KE session and up to
//! [`MAX_COOKIES`] cookies. Each request spends one cookie (a cookie is
//! never sent twice, §5.7, so requests are unlinkable), asks for the
//! cookies it lacks with placeholders, carries a fresh unique identifier
//! and is authenticated under the C2S key. A reply is accepted only if it
//! answers the outstanding request's unique identifier and authenticates
//! under the S2C key; the new cookies come out of its encrypted part. When
//! no cookie is left, the association must run NTS-KE again
//! ([`NtsClient::needs_key_exchange`]).

use std::collections::VecDeque;

use thiserror::Error;

use crate::aead::{self, AeadError, NONCE_LEN};
use crate::exten::{self, field_type, FieldError, NTP_HEADER_LEN, UNIQUE_ID_LEN};
use crate::keys::SessionKeys;

/// Cookies a client keeps (§5.7: enough for eight requests).
pub const MAX_COOKIES: usize = 8;
/// The kiss code of an NTS NAK (§5.7).
pub const NTS_NAK_KISS: [u8; 4] = *b"NTSN";

/// Why no request could be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum RequestError {
    /// All cookies are spent: run NTS-KE again.
    #[error("no NTS cookie left; NTS-KE must run again")]
    OutOfCookies,
}

/// Why a reply was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ReplyError {
    /// No request is outstanding (a duplicate or a stray reply).
    #[error("NTS reply without an outstanding request")]
    NoRequest,
    /// The extension fields do not parse.
    #[error("NTS reply has malformed extension fields: {0}")]
    Fields(#[from] FieldError),
    /// No unique identifier, or not the one sent.
    #[error("NTS reply does not carry the unique identifier of the request")]
    UniqueId,
    /// The server answered with an NTS NAK: it could not use the cookie.
    #[error("NTS server sent an NTS NAK (cookie not accepted)")]
    Nak,
    /// No authenticator field (and not a NAK).
    #[error("NTS reply carries no authenticator")]
    NoAuthenticator,
    /// The authenticator does not verify under the S2C key.
    #[error("NTS reply fails authentication: {0}")]
    Authentication(#[from] AeadError),
    /// The unique identifier is not inside the authenticated part.
    #[error("NTS reply's unique identifier follows its authenticator")]
    UnauthenticatedUniqueId,
}

/// What an accepted reply brought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyOutcome {
    /// New cookies stored from the reply.
    pub new_cookies: usize,
}

/// The NTS state of one client association.
#[derive(Clone, Debug)]
pub struct NtsClient {
    keys: SessionKeys,
    cookies: VecDeque<Vec<u8>>,
    pending: Option<[u8; UNIQUE_ID_LEN]>,
}

impl NtsClient {
    /// Starts from an NTS-KE session's keys and cookies (at most
    /// [`MAX_COOKIES`] are kept).
    pub fn new(keys: SessionKeys, cookies: Vec<Vec<u8>>) -> Self {
        let cookies = cookies.into_iter().take(MAX_COOKIES).collect();
        Self {
            keys,
            cookies,
            pending: None,
        }
    }

    /// Cookies held.
    pub fn cookies(&self) -> usize {
        self.cookies.len()
    }

    /// Whether the association must run NTS-KE before its next request.
    pub fn needs_key_exchange(&self) -> bool {
        self.cookies.is_empty()
    }

    /// Appends the NTS fields to `header` (the 48-octet NTP request the
    /// association built) and returns the datagram to send. A request
    /// still outstanding is forgotten: its reply will be refused.
    pub fn request(
        &mut self,
        header: &[u8; NTP_HEADER_LEN],
        rng: &mut impl rand::Rng,
    ) -> Result<Vec<u8>, RequestError> {
        let cookie = self.cookies.pop_front().ok_or(RequestError::OutOfCookies)?;
        let mut unique_id = [0; UNIQUE_ID_LEN];
        rng.fill_bytes(&mut unique_id);
        let mut packet = header.to_vec();
        exten::push_field(&mut packet, field_type::UNIQUE_IDENTIFIER, &unique_id);
        exten::push_field(&mut packet, field_type::COOKIE, &cookie);
        // The reply brings one cookie per cookie or placeholder sent.
        let placeholders = MAX_COOKIES - 1 - self.cookies.len();
        let zeros = vec![0; cookie.len()];
        for _ in 0..placeholders {
            exten::push_field(&mut packet, field_type::COOKIE_PLACEHOLDER, &zeros);
        }
        let mut nonce = [0; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let tag = aead::seal(&self.keys.c2s, &nonce, &packet, &[]);
        exten::push_authenticator(&mut packet, &nonce, &tag);
        self.pending = Some(unique_id);
        Ok(packet)
    }

    /// Checks a reply to the outstanding request and stores its cookies.
    /// The NTP checks (origin timestamp, mode, stratum) stay the caller's.
    pub fn reply(&mut self, packet: &[u8]) -> Result<ReplyOutcome, ReplyError> {
        let Some(expected) = self.pending else {
            return Err(ReplyError::NoRequest);
        };
        let fields = exten::packet_fields(packet)?;
        let uid = fields
            .iter()
            .find(|f| f.field_type == field_type::UNIQUE_IDENTIFIER)
            .filter(|f| f.body == expected)
            .ok_or(ReplyError::UniqueId)?;
        let Some(auth) = fields
            .iter()
            .find(|f| f.field_type == field_type::AUTHENTICATOR)
        else {
            // §5.7: a NAK is a kiss-o'-death NTSN echoing the unique id.
            if packet[1] == 0 && packet[12..16] == NTS_NAK_KISS {
                self.pending = None;
                return Err(ReplyError::Nak);
            }
            return Err(ReplyError::NoAuthenticator);
        };
        if uid.start > auth.start {
            return Err(ReplyError::UnauthenticatedUniqueId);
        }
        let a = exten::parse_authenticator(auth.body)?;
        let plain = aead::open(&self.keys.s2c, a.nonce, &packet[..auth.start], a.ciphertext)?;
        self.pending = None;
        // Cookies count only from the encrypted part (§5.7); any in the
        // clear are ignored.
        let mut new_cookies = 0;
        for f in exten::parse_fields(&plain, 0)? {
            if f.field_type == field_type::COOKIE && self.cookies.len() < MAX_COOKIES {
                self.cookies.push_back(f.body.to_vec());
                new_cookies += 1;
            }
        }
        Ok(ReplyOutcome { new_cookies })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aead::AeadKey;
    use crate::test_rng::rng;

    fn keys() -> SessionKeys {
        SessionKeys {
            c2s: AeadKey::new([3; 32]),
            s2c: AeadKey::new([4; 32]),
        }
    }

    fn header() -> [u8; 48] {
        let mut h = [0; 48];
        h[0] = 0x23;
        h
    }

    /// A server reply made by hand: header, unique id, authenticator over
    /// `cookies` sealed under `key`.
    fn reply_to(request: &[u8], key: &AeadKey, cookies: &[Vec<u8>]) -> Vec<u8> {
        let fields = exten::packet_fields(request).unwrap();
        let uid = fields[0].body;
        let mut p = vec![0x24; 48];
        exten::push_field(&mut p, field_type::UNIQUE_IDENTIFIER, uid);
        let mut plain = Vec::new();
        for c in cookies {
            exten::push_field(&mut plain, field_type::COOKIE, c);
        }
        let sealed = aead::seal(key, &[9; 16], &p, &plain);
        exten::push_authenticator(&mut p, &[9; 16], &sealed);
        p
    }

    #[test]
    fn request_layout_and_cookie_never_sent_twice() {
        let mut r = rng(20);
        let cookies: Vec<Vec<u8>> = (1..=3).map(|i| vec![i; 100]).collect();
        let mut c = NtsClient::new(keys(), cookies);
        let req = c.request(&header(), &mut r).unwrap();
        let fields = exten::packet_fields(&req).unwrap();
        let types: Vec<u16> = fields.iter().map(|f| f.field_type).collect();
        // One cookie, two left: ask for five more with placeholders.
        let mut want = vec![field_type::UNIQUE_IDENTIFIER, field_type::COOKIE];
        want.extend([field_type::COOKIE_PLACEHOLDER; 5]);
        want.push(field_type::AUTHENTICATOR);
        assert_eq!(types, want);
        assert_eq!(fields[1].body, [1; 100]);
        assert_eq!(fields[2].body, [0; 100]);
        let req2 = c.request(&header(), &mut r).unwrap();
        assert_eq!(exten::packet_fields(&req2).unwrap()[1].body, [2; 100]);
        let req3 = c.request(&header(), &mut r).unwrap();
        assert_eq!(exten::packet_fields(&req3).unwrap()[1].body, [3; 100]);
        assert!(c.needs_key_exchange());
        assert_eq!(
            c.request(&header(), &mut r),
            Err(RequestError::OutOfCookies)
        );
    }

    #[test]
    fn request_authenticates_under_c2s() {
        let mut r = rng(21);
        let mut c = NtsClient::new(keys(), vec![vec![1; 100]]);
        let req = c.request(&header(), &mut r).unwrap();
        let fields = exten::packet_fields(&req).unwrap();
        let auth = fields.last().unwrap();
        let a = exten::parse_authenticator(auth.body).unwrap();
        assert_eq!(
            aead::open(&keys().c2s, a.nonce, &req[..auth.start], a.ciphertext).unwrap(),
            b""
        );
    }

    #[test]
    fn accepts_reply_and_stores_encrypted_cookies() {
        let mut r = rng(22);
        let mut c = NtsClient::new(keys(), vec![vec![1; 100]]);
        let req = c.request(&header(), &mut r).unwrap();
        let fresh: Vec<Vec<u8>> = (0..8).map(|i| vec![i + 10; 100]).collect();
        let rep = reply_to(&req, &keys().s2c, &fresh);
        assert_eq!(c.reply(&rep), Ok(ReplyOutcome { new_cookies: 8 }));
        assert_eq!(c.cookies(), 8);
        // The same reply again: nothing outstanding.
        assert_eq!(c.reply(&rep), Err(ReplyError::NoRequest));
        // A full jar asks for exactly one cookie (no placeholder).
        let req = c.request(&header(), &mut r).unwrap();
        let n = exten::packet_fields(&req).unwrap().len();
        assert_eq!(n, 3);
    }

    #[test]
    fn refuses_replies_with_wrong_key_or_unique_id() {
        let mut r = rng(23);
        let mut c = NtsClient::new(keys(), vec![vec![1; 100], vec![2; 100]]);
        let req = c.request(&header(), &mut r).unwrap();
        let forged = reply_to(&req, &AeadKey::new([5; 32]), &[vec![7; 100]]);
        assert_eq!(
            c.reply(&forged),
            Err(ReplyError::Authentication(AeadError::Authentication))
        );
        let mut other = reply_to(&req, &keys().s2c, &[vec![7; 100]]);
        other[52] ^= 1; // first octet of the unique id
        assert_eq!(c.reply(&other), Err(ReplyError::UniqueId));
        let mut tampered = reply_to(&req, &keys().s2c, &[vec![7; 100]]);
        tampered[40] ^= 1; // transmit timestamp
        assert_eq!(
            c.reply(&tampered),
            Err(ReplyError::Authentication(AeadError::Authentication))
        );
        assert_eq!(c.cookies(), 1);
        // The genuine reply is still accepted after the refusals.
        let good = reply_to(&req, &keys().s2c, &[vec![7; 100]]);
        assert_eq!(c.reply(&good), Ok(ReplyOutcome { new_cookies: 1 }));
    }

    #[test]
    fn recognises_a_nak_and_missing_authenticator() {
        let mut r = rng(24);
        let mut c = NtsClient::new(keys(), vec![vec![1; 100], vec![2; 100]]);
        let req = c.request(&header(), &mut r).unwrap();
        let uid = exten::packet_fields(&req).unwrap()[0].body.to_vec();
        let mut p = vec![0; 48];
        p[0] = 0x24;
        exten::push_field(&mut p, field_type::UNIQUE_IDENTIFIER, &uid);
        assert_eq!(c.reply(&p), Err(ReplyError::NoAuthenticator));
        p[12..16].copy_from_slice(b"NTSN");
        assert_eq!(c.reply(&p), Err(ReplyError::Nak));
        assert_eq!(c.reply(&p), Err(ReplyError::NoRequest));
    }

    #[test]
    fn ignores_cookies_outside_the_encrypted_part() {
        let mut r = rng(25);
        let mut c = NtsClient::new(keys(), vec![vec![1; 100]]);
        let req = c.request(&header(), &mut r).unwrap();
        let mut rep = reply_to(&req, &keys().s2c, &[]);
        exten::push_field(&mut rep, field_type::COOKIE, &[6; 100]);
        assert_eq!(c.reply(&rep), Ok(ReplyOutcome { new_cookies: 0 }));
        assert!(c.needs_key_exchange());
    }

    #[test]
    fn malformed_replies_never_panic() {
        let mut r = rng(26);
        let mut c = NtsClient::new(keys(), vec![vec![1; 100]; 8]);
        c.request(&header(), &mut r).unwrap();
        for len in 0..120 {
            let p = vec![0xff; len];
            assert!(c.reply(&p).is_err());
        }
    }
}
