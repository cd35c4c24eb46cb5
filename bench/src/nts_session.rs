//! NTS (RFC 8915) for the load generator: one blocking NTS-KE session
//! (§4: TLS 1.3, ALPN `ntske/1`, keys from the exporter of §5.1) and the
//! NTS extension fields of each request and reply (§5.7), built with the
//! `nts` crate's record, key-export, field and AES-SIV code.
//!
//! Unlike a real client ([`nts::client::NtsClient`], which keeps one
//! request outstanding and never sends a cookie twice), the generator has
//! thousands of requests in flight and **reuses** the cookies of its one
//! NTS-KE session in turn: a server only decrypts a cookie and keeps no
//! record of cookies seen (§6), so the work per request is the same. Each
//! request asks for one cookie back (no placeholders), as a client with a
//! full cookie jar does. The unique identifier carries the request's
//! transmit timestamp, so each reply is matched to its request and its
//! authenticator checked under the S2C key.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use nts::aead::{self, NONCE_LEN};
use nts::exten::{self, field_type, UNIQUE_ID_LEN};
use nts::keys::SessionKeys;
use nts::negotiation;
use nts::record;
use openssl::ssl::{SslConnector, SslMethod, SslVersion};

/// ALPN `ntske/1` in the length-prefixed form openssl takes (§4).
const ALPN_NTSKE_WIRE: &[u8] = b"\x07ntske/1";

/// Keys and cookies from one NTS-KE session.
#[derive(Clone, Debug)]
pub struct NtsSession {
    keys: SessionKeys,
    cookies: Vec<Vec<u8>>,
}

/// What an NTS reply check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NtsCheck {
    /// Unique identifier of the request, authenticator valid under S2C.
    Valid,
    /// An NTS NAK (kiss code NTSN, §5.7): the cookie was refused.
    Nak,
    /// Anything else: wrong identifier, no or bad authenticator.
    Invalid,
}

fn ke_err(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("NTS-KE {what}: {e}"))
}

/// The TLS 1.3 connector with ALPN `ntske/1` trusting the PEM file `ca`.
pub fn connector(ca: &Path) -> io::Result<SslConnector> {
    let e = |x| ke_err("TLS setup", x);
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(e)?;
    b.set_min_proto_version(Some(SslVersion::TLS1_3))
        .map_err(e)?;
    b.set_alpn_protos(ALPN_NTSKE_WIRE).map_err(e)?;
    b.set_ca_file(ca).map_err(e)?;
    Ok(b.build())
}

/// Runs one NTS-KE session with `addr`, whose certificate must name
/// `server_name`; returns the keys and the cookies received.
pub fn key_exchange(
    connector: &SslConnector,
    addr: SocketAddr,
    server_name: &str,
) -> io::Result<NtsSession> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| ke_err(&format!("connect {addr}"), e))?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    tcp.set_nodelay(true)?;
    let mut tls = connector
        .connect(server_name, tcp)
        .map_err(|e| ke_err(&format!("TLS handshake with {addr}"), e))?;
    if tls.ssl().selected_alpn_protocol() != Some(&ALPN_NTSKE_WIRE[1..]) {
        return Err(ke_err("ALPN", format!("{addr} did not select ntske/1")));
    }
    tls.write_all(&negotiation::client_request())?;
    let mut message = Vec::new();
    let mut buf = [0u8; 4096];
    let len = loop {
        if let Some(n) = record::message_len(&message).map_err(|e| ke_err("response", e))? {
            break n;
        }
        let n = tls.read(&mut buf)?;
        if n == 0 {
            return Err(ke_err(
                "response",
                "connection closed before End of Message",
            ));
        }
        message.extend_from_slice(&buf[..n]);
    };
    let response =
        negotiation::parse_response(&message[..len]).map_err(|e| ke_err("response", e))?;
    let keys = nts::keys::export_session_keys(|label, context, out: &mut [u8]| {
        tls.ssl().export_keying_material(out, label, Some(context))
    })
    .map_err(|e| ke_err("key export", e))?;
    let _ = tls.shutdown();
    Ok(NtsSession {
        keys,
        cookies: response.cookies,
    })
}

/// The unique identifier of the request with transmit timestamp `xmt`.
fn unique_id(xmt: u64) -> [u8; UNIQUE_ID_LEN] {
    let mut id = [0x5a; UNIQUE_ID_LEN];
    id[..8].copy_from_slice(&xmt.to_be_bytes());
    id
}

impl NtsSession {
    /// Cookies received in the NTS-KE session.
    pub fn cookies(&self) -> usize {
        self.cookies.len()
    }

    /// Makes the NTS request whose 48-octet header is `header` (transmit
    /// timestamp `xmt`), spending cookie number `n` (modulo the cookies
    /// held): unique identifier, cookie, authenticator under C2S.
    pub fn request(&self, header: &[u8], xmt: u64, n: u64) -> Vec<u8> {
        let cookie = &self.cookies[(n % self.cookies.len() as u64) as usize];
        let mut packet = Vec::with_capacity(header.len() + 96 + cookie.len());
        packet.extend_from_slice(header);
        exten::push_field(&mut packet, field_type::UNIQUE_IDENTIFIER, &unique_id(xmt));
        exten::push_field(&mut packet, field_type::COOKIE, cookie);
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..8].copy_from_slice(&xmt.to_be_bytes());
        nonce[8..].copy_from_slice(&n.to_le_bytes());
        let sealed = aead::seal(&self.keys.c2s, &nonce, &packet, &[]);
        exten::push_authenticator(&mut packet, &nonce, &sealed);
        packet
    }

    /// Checks the reply to the request with transmit timestamp `xmt`:
    /// its unique identifier, inside the authenticated part, and its
    /// authenticator under the S2C key (§5.7).
    pub fn check(&self, reply: &[u8], xmt: u64) -> NtsCheck {
        let Ok(fields) = exten::packet_fields(reply) else {
            return NtsCheck::Invalid;
        };
        let id = unique_id(xmt);
        let Some(uid) = fields
            .iter()
            .find(|f| f.field_type == field_type::UNIQUE_IDENTIFIER && f.body == id)
        else {
            return NtsCheck::Invalid;
        };
        let Some(auth) = fields
            .iter()
            .find(|f| f.field_type == field_type::AUTHENTICATOR)
        else {
            let nak = reply.len() > 16 && reply[1] == 0 && reply[12..16] == *b"NTSN";
            return if nak {
                NtsCheck::Nak
            } else {
                NtsCheck::Invalid
            };
        };
        if uid.start > auth.start {
            return NtsCheck::Invalid;
        }
        let Ok(a) = exten::parse_authenticator(auth.body) else {
            return NtsCheck::Invalid;
        };
        match aead::open(&self.keys.s2c, a.nonce, &reply[..auth.start], a.ciphertext) {
            Ok(_) => NtsCheck::Valid,
            Err(_) => NtsCheck::Invalid,
        }
    }

    /// A session from given keys and cookies (tests).
    pub fn from_parts(keys: SessionKeys, cookies: Vec<Vec<u8>>) -> NtsSession {
        NtsSession { keys, cookies }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nts::aead::AeadKey;

    fn session() -> NtsSession {
        NtsSession::from_parts(
            SessionKeys {
                c2s: AeadKey::new([1; 32]),
                s2c: AeadKey::new([2; 32]),
            },
            vec![vec![7; 100], vec![8; 100]],
        )
    }

    /// A server's reply made by hand: the request's unique id, one
    /// encrypted cookie, sealed under `key`.
    fn reply(request: &[u8], key: &AeadKey) -> Vec<u8> {
        let uid = exten::packet_fields(request).unwrap()[0].body.to_vec();
        let mut p = vec![0x24; 48];
        exten::push_field(&mut p, field_type::UNIQUE_IDENTIFIER, &uid);
        let mut plain = Vec::new();
        exten::push_field(&mut plain, field_type::COOKIE, &[9; 100]);
        let sealed = aead::seal(key, &[3; 16], &p, &plain);
        exten::push_authenticator(&mut p, &[3; 16], &sealed);
        p
    }

    #[test]
    fn request_carries_id_cookie_and_c2s_authenticator() {
        let s = session();
        let req = s.request(&[0x23; 48], 0x1234, 1);
        let f = exten::packet_fields(&req).unwrap();
        let types: Vec<u16> = f.iter().map(|f| f.field_type).collect();
        assert_eq!(
            types,
            [
                field_type::UNIQUE_IDENTIFIER,
                field_type::COOKIE,
                field_type::AUTHENTICATOR
            ]
        );
        assert_eq!(f[1].body, [8; 100]);
        let a = exten::parse_authenticator(f[2].body).unwrap();
        let c2s = AeadKey::new([1; 32]);
        assert!(aead::open(&c2s, a.nonce, &req[..f[2].start], a.ciphertext).is_ok());
    }

    #[test]
    fn replies_are_checked_for_id_and_s2c() {
        let s = session();
        let req = s.request(&[0x23; 48], 77, 0);
        assert_eq!(
            s.check(&reply(&req, &AeadKey::new([2; 32])), 77),
            NtsCheck::Valid
        );
        assert_eq!(
            s.check(&reply(&req, &AeadKey::new([2; 32])), 78),
            NtsCheck::Invalid
        );
        assert_eq!(
            s.check(&reply(&req, &AeadKey::new([1; 32])), 77),
            NtsCheck::Invalid
        );
        let mut nak = vec![0x24; 48];
        nak[1] = 0;
        nak[12..16].copy_from_slice(b"NTSN");
        exten::push_field(&mut nak, field_type::UNIQUE_IDENTIFIER, &unique_id(77));
        assert_eq!(s.check(&nak, 77), NtsCheck::Nak);
        assert_eq!(s.check(&[0; 48], 77), NtsCheck::Invalid);
    }
}
