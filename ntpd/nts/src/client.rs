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
//!
//! An NTS NAK is not authenticated (§5.7): anyone who saw the request's
//! unique identifier can forge one. So a NAK drops nothing: the keys and
//! cookies stay, the request stays outstanding (a genuine authenticated
//! reply to it still counts), and only when the next poll comes with the
//! NAKed request still unanswered does the association run NTS-KE again
//! (§5.7: "wait until the next poll for a valid NTS-protected response
//! and if none is received, initiate a fresh NTS-KE handshake").
//!
//! Requests stay within [`MAX_REQUEST_LEN`] octets, and placeholders are
//! sent only while the request stays within [`PLACEHOLDER_BUDGET`]: with
//! long cookies fewer are sent ([`placeholders_that_fit`]), down to none.

use std::collections::VecDeque;

use thiserror::Error;

use crate::aead::{self, AeadError, NONCE_LEN};
use crate::exten::{self, field_type, FieldError, NTP_HEADER_LEN, UNIQUE_ID_LEN};
use crate::keys::SessionKeys;

/// Cookies a client keeps (§5.7: enough for eight requests).
pub const MAX_COOKIES: usize = 8;
/// The kiss code of an NTS NAK (§5.7).
pub const NTS_NAK_KISS: [u8; 4] = *b"NTSN";
/// The largest request the client sends: the daemon's largest NTP
/// datagram, 48 octets of header, 2048 of extension fields and a 24-octet
/// MAC (`proto::MAX_DATAGRAM_LEN`, the reference's `NTP_MAXEXTEN`). The
/// server's reply carries one cookie per cookie or placeholder sent and is
/// about as long as the request (§5.7: placeholders make the request as
/// long as the reply), so it too fits the daemon's receive buffer.
pub const MAX_REQUEST_LEN: usize = 2120;
/// Octets a request may grow to with placeholders: the 1280-octet IPv6
/// minimum MTU less the IPv6 and UDP headers, so that neither the request
/// nor its reply (as long as the request, §5.7) is fragmented on any
/// path. Only the cookie itself may take a request past it.
pub const PLACEHOLDER_BUDGET: usize = 1232;
/// The unique identifier field: 4 octets of header and the identifier.
const UNIQUE_ID_FIELD_LEN: usize = 4 + UNIQUE_ID_LEN;
/// The authenticator field as this client sends it: 4 octets of header,
/// the two lengths, a 16-octet nonce and the 16-octet tag over an empty
/// plaintext (§5.6).
const AUTHENTICATOR_FIELD_LEN: usize = 4 + 4 + NONCE_LEN + aead::TAG_LEN;
/// Octets of a request besides its cookie and placeholder fields.
const REQUEST_OVERHEAD: usize = NTP_HEADER_LEN + UNIQUE_ID_FIELD_LEN + AUTHENTICATOR_FIELD_LEN;
/// The longest cookie a request can carry at all (with no placeholder);
/// longer ones are not kept.
pub const MAX_COOKIE_LEN: usize = MAX_REQUEST_LEN - REQUEST_OVERHEAD - 4;

/// The length of a Cookie or Cookie Placeholder field for a cookie of
/// `cookie_len` octets (padded to four, at least 16 octets in all).
fn cookie_field_len(cookie_len: usize) -> usize {
    ((4 + cookie_len + 3) & !3).max(exten::MIN_SENT_FIELD_LEN)
}

/// How many Cookie Placeholder fields (each as long as the cookie, §5.7)
/// fit in a request carrying a cookie of `cookie_len` octets without
/// passing [`PLACEHOLDER_BUDGET`]. With the 100-octet cookies of this
/// daemon's server that is 9 (more than the 7 ever wanted); cookies over
/// 132 octets leave room for fewer than 7, and over 548 for none.
pub fn placeholders_that_fit(cookie_len: usize) -> usize {
    let field = cookie_field_len(cookie_len);
    PLACEHOLDER_BUDGET
        .saturating_sub(REQUEST_OVERHEAD + field)
        .checked_div(field)
        .unwrap_or(0)
}

/// The shape of the last request made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestShape {
    /// Length of the cookie sent.
    pub cookie_len: usize,
    /// Placeholders the cookie jar lacked.
    pub wanted: usize,
    /// Placeholders sent (fewer than wanted when the cookies are long).
    pub placeholders: usize,
    /// The request's length in octets.
    pub len: usize,
}

/// Why no request could be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum RequestError {
    /// All cookies are spent: run NTS-KE again.
    #[error("no NTS cookie left; NTS-KE must run again")]
    OutOfCookies,
    /// The last request was answered with an NTS NAK and never by an
    /// authentic reply: run NTS-KE again (§5.7).
    #[error("the last NTS request got an NTS NAK and no authentic reply; NTS-KE must run again")]
    NakUnanswered,
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
    /// The request stays outstanding (a NAK is not authenticated).
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
    /// The outstanding request got an NTS NAK (and no authentic reply).
    naked: bool,
    /// Cookies refused for being longer than [`MAX_COOKIE_LEN`].
    oversized: usize,
    last_request: RequestShape,
}

impl NtsClient {
    /// Starts from an NTS-KE session's keys and cookies (at most
    /// [`MAX_COOKIES`] are kept; any longer than [`MAX_COOKIE_LEN`] are
    /// left out, as no request could carry them).
    pub fn new(keys: SessionKeys, cookies: Vec<Vec<u8>>) -> Self {
        let mut c = Self {
            keys,
            cookies: VecDeque::with_capacity(MAX_COOKIES),
            pending: None,
            naked: false,
            oversized: 0,
            last_request: RequestShape::default(),
        };
        for cookie in cookies {
            c.store(cookie);
        }
        c
    }

    /// Keeps `cookie` if there is room and a request can carry it.
    fn store(&mut self, cookie: Vec<u8>) -> bool {
        if cookie.len() > MAX_COOKIE_LEN {
            self.oversized += 1;
            return false;
        }
        if self.cookies.len() >= MAX_COOKIES {
            return false;
        }
        self.cookies.push_back(cookie);
        true
    }

    /// Cookies held.
    pub fn cookies(&self) -> usize {
        self.cookies.len()
    }

    /// Cookies refused for being too long for any request.
    pub fn oversized_cookies(&self) -> usize {
        self.oversized
    }

    /// The shape of the last request made (all zero before the first).
    pub fn last_request(&self) -> RequestShape {
        self.last_request
    }

    /// Whether the outstanding request got an NTS NAK and no authentic
    /// reply yet.
    pub fn nak_unanswered(&self) -> bool {
        self.naked && self.pending.is_some()
    }

    /// Whether the association must run NTS-KE before its next request:
    /// no cookie is left, or the last request got an NTS NAK and no
    /// authentic reply came before this poll (§5.7).
    pub fn needs_key_exchange(&self) -> bool {
        self.cookies.is_empty() || self.nak_unanswered()
    }

    /// Appends the NTS fields to `header` (the 48-octet NTP request the
    /// association built) and returns the datagram to send, at most
    /// [`MAX_REQUEST_LEN`] octets. A request still outstanding is
    /// forgotten: its reply will be refused. While the client holds a
    /// cookie and no NAK is unanswered this never fails.
    pub fn request(
        &mut self,
        header: &[u8; NTP_HEADER_LEN],
        rng: &mut impl rand::Rng,
    ) -> Result<Vec<u8>, RequestError> {
        if self.nak_unanswered() {
            return Err(RequestError::NakUnanswered);
        }
        let cookie = self.cookies.pop_front().ok_or(RequestError::OutOfCookies)?;
        let mut unique_id = [0; UNIQUE_ID_LEN];
        rng.fill_bytes(&mut unique_id);
        let mut packet = header.to_vec();
        exten::push_field(&mut packet, field_type::UNIQUE_IDENTIFIER, &unique_id);
        exten::push_field(&mut packet, field_type::COOKIE, &cookie);
        // The reply brings one cookie per cookie or placeholder sent; as
        // many as the jar lacks, if they fit.
        let wanted = MAX_COOKIES - 1 - self.cookies.len();
        let placeholders = wanted.min(placeholders_that_fit(cookie.len()));
        let zeros = vec![0; cookie.len()];
        for _ in 0..placeholders {
            exten::push_field(&mut packet, field_type::COOKIE_PLACEHOLDER, &zeros);
        }
        let mut nonce = [0; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let tag = aead::seal(&self.keys.c2s, &nonce, &packet, &[]);
        exten::push_authenticator(&mut packet, &nonce, &tag);
        debug_assert!(packet.len() <= MAX_REQUEST_LEN);
        self.pending = Some(unique_id);
        self.naked = false;
        self.last_request = RequestShape {
            cookie_len: cookie.len(),
            wanted,
            placeholders,
            len: packet.len(),
        };
        Ok(packet)
    }

    /// Checks a reply to the outstanding request and stores its cookies.
    /// The NTP checks (origin timestamp, mode, stratum) stay the caller's.
    /// An NTS NAK for the outstanding request is reported and remembered
    /// but leaves the request outstanding, the keys and the cookies as
    /// they were (§5.7).
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
                self.naked = true;
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
        self.naked = false;
        // Cookies count only from the encrypted part (§5.7); any in the
        // clear are ignored.
        let mut new_cookies = 0;
        for f in exten::parse_fields(&plain, 0)? {
            if f.field_type == field_type::COOKIE && self.store(f.body.to_vec()) {
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

    /// An NTS NAK for the outstanding request: header with stratum 0 and
    /// kiss code NTSN, and the request's unique identifier.
    fn nak_to(request: &[u8]) -> Vec<u8> {
        let uid = exten::packet_fields(request).unwrap()[0].body.to_vec();
        let mut p = vec![0; 48];
        p[0] = 0x24;
        p[12..16].copy_from_slice(b"NTSN");
        exten::push_field(&mut p, field_type::UNIQUE_IDENTIFIER, &uid);
        p
    }

    #[test]
    fn recognises_a_nak_and_missing_authenticator() {
        let mut r = rng(24);
        let mut c = NtsClient::new(keys(), vec![vec![1; 100], vec![2; 100]]);
        let req = c.request(&header(), &mut r).unwrap();
        let mut p = nak_to(&req);
        p[12..16].copy_from_slice(&[0; 4]);
        assert_eq!(c.reply(&p), Err(ReplyError::NoAuthenticator));
        assert!(!c.nak_unanswered());
        let nak = nak_to(&req);
        assert_eq!(c.reply(&nak), Err(ReplyError::Nak));
        // A second copy is a NAK again: the request is still outstanding.
        assert_eq!(c.reply(&nak), Err(ReplyError::Nak));
        assert!(c.nak_unanswered());
    }

    #[test]
    fn a_nak_keeps_keys_cookies_and_the_request() {
        let mut r = rng(27);
        let mut c = NtsClient::new(keys(), vec![vec![1; 100], vec![2; 100]]);
        let req = c.request(&header(), &mut r).unwrap();
        // A forged NAK (it needs only the unique identifier) comes first.
        assert_eq!(c.reply(&nak_to(&req)), Err(ReplyError::Nak));
        assert_eq!(c.cookies(), 1);
        assert!(
            c.needs_key_exchange(),
            "unanswered at the next poll: re-key"
        );
        // The genuine reply to the same request still counts.
        let good = reply_to(&req, &keys().s2c, &[vec![7; 100], vec![8; 100]]);
        assert_eq!(c.reply(&good), Ok(ReplyOutcome { new_cookies: 2 }));
        assert!(!c.nak_unanswered());
        assert!(!c.needs_key_exchange());
        assert_eq!(c.cookies(), 3);
        // And the next poll goes out with the kept keys and cookies.
        let req2 = c.request(&header(), &mut r).unwrap();
        assert_eq!(exten::packet_fields(&req2).unwrap()[1].body, [2; 100]);
    }

    #[test]
    fn an_unanswered_nak_asks_for_nts_ke_at_the_next_poll() {
        let mut r = rng(28);
        let mut c = NtsClient::new(keys(), vec![vec![1; 100]; 4]);
        let req = c.request(&header(), &mut r).unwrap();
        assert!(!c.needs_key_exchange());
        assert_eq!(c.reply(&nak_to(&req)), Err(ReplyError::Nak));
        // No authentic reply by the next poll: NTS-KE, no request.
        assert!(c.needs_key_exchange());
        assert_eq!(
            c.request(&header(), &mut r),
            Err(RequestError::NakUnanswered)
        );
        assert_eq!(c.cookies(), 3, "the cookies were not spent");
    }

    #[test]
    fn a_nak_for_another_request_is_refused() {
        let mut r = rng(29);
        let mut c = NtsClient::new(keys(), vec![vec![1; 100]; 4]);
        let old = c.request(&header(), &mut r).unwrap();
        let _current = c.request(&header(), &mut r).unwrap();
        assert_eq!(c.reply(&nak_to(&old)), Err(ReplyError::UniqueId));
        assert!(!c.needs_key_exchange());
    }

    /// Whether a request with a cookie of `len` octets and no placeholder
    /// is within the placeholder budget.
    fn shape_placeholders_possible(len: usize) -> bool {
        REQUEST_OVERHEAD + cookie_field_len(len) <= PLACEHOLDER_BUDGET
    }

    #[test]
    fn placeholders_shrink_with_long_cookies() {
        assert_eq!(placeholders_that_fit(100), 9);
        assert_eq!(placeholders_that_fit(132), 7);
        assert_eq!(placeholders_that_fit(133), 6);
        assert_eq!(placeholders_that_fit(548), 1);
        assert_eq!(placeholders_that_fit(549), 0);
        assert_eq!(placeholders_that_fit(MAX_COOKIE_LEN), 0);
        let mut r = rng(30);
        for len in [100, 132, 133, 300, 548, 549, 1500, MAX_COOKIE_LEN] {
            let mut c = NtsClient::new(keys(), vec![vec![5; len]]);
            let req = c.request(&header(), &mut r).expect("a cookie is held");
            assert!(req.len() <= MAX_REQUEST_LEN, "{len}: {} octets", req.len());
            if shape_placeholders_possible(len) {
                assert!(
                    req.len() <= PLACEHOLDER_BUDGET,
                    "{len}: {} octets",
                    req.len()
                );
            }
            let shape = c.last_request();
            assert_eq!(shape.cookie_len, len);
            assert_eq!(shape.wanted, 7);
            assert_eq!(shape.placeholders, placeholders_that_fit(len).min(7));
            assert_eq!(shape.len, req.len());
            let fields = exten::packet_fields(&req).unwrap();
            let sent = fields
                .iter()
                .filter(|f| f.field_type == field_type::COOKIE_PLACEHOLDER)
                .count();
            assert_eq!(sent, shape.placeholders);
            // The request still authenticates under C2S.
            let auth = fields.last().unwrap();
            let a = exten::parse_authenticator(auth.body).unwrap();
            aead::open(&keys().c2s, a.nonce, &req[..auth.start], a.ciphertext).unwrap();
        }
        // 140-octet cookies: 6 placeholders, as many as fit.
        let mut c = NtsClient::new(keys(), vec![vec![5; 140]]);
        let req = c.request(&header(), &mut r).unwrap();
        assert_eq!(c.last_request().placeholders, 6);
        assert!(req.len() <= PLACEHOLDER_BUDGET);
        assert!(req.len() + 144 > PLACEHOLDER_BUDGET);
    }

    #[test]
    fn cookies_too_long_for_any_request_are_not_kept() {
        let mut r = rng(31);
        let mut c = NtsClient::new(
            keys(),
            vec![vec![1; MAX_COOKIE_LEN + 1], vec![2; 100], vec![3; 65_000]],
        );
        assert_eq!(c.cookies(), 1);
        assert_eq!(c.oversized_cookies(), 2);
        let req = c.request(&header(), &mut r).unwrap();
        let rep = reply_to(
            &req,
            &keys().s2c,
            &[vec![4; MAX_COOKIE_LEN + 1], vec![5; 120]],
        );
        assert_eq!(c.reply(&rep), Ok(ReplyOutcome { new_cookies: 1 }));
        assert_eq!(c.oversized_cookies(), 3);
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
