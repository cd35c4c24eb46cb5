//! The private-certificate (PC) scheme (brief §7.6, §2.3 step 3, §11.3
//! rule 7), with the reference fixture host keys: both hosts hold the same
//! host key and a certificate whose extended key usage is `private`
//! (`ntp-keygen -P`). ASSOC pre-sets CERT, VRFY and SIGN, signatures verify
//! with the host's own key, the dance is ASSOC → COOK → LEAP; the private
//! certificate is never sent, a PC host refuses a non-PC peer, and a peer
//! that lacks the shared key cannot complete.

mod common;

use autokey::association::AssocEvent;
use autokey::host::HostCredentials;
use autokey::message::{Message, Request, Response};
use autokey::value::SignedValue;
use autokey::{status, AutokeyError};
use common::{client_server, recertified, Link};
use keystore::cert::CertRole;
use proto::exten::AutokeyCode::{self, Assoc, Cook, Leap};

const T0: u32 = 4_004_761_000;

/// The `tc` server's host key with a private certificate in its own
/// name: what both hosts of a PC group hold.
fn shared_pc() -> HostCredentials {
    let server = client_server("tc").server;
    recertified(server.credentials(), server.name(), CertRole::Private)
}

/// The `tc` client's own host key with a private certificate in the
/// server's name: a PC host without the shared key.
fn own_key_pc() -> HostCredentials {
    let run = client_server("tc");
    recertified(
        run.client.credentials(),
        run.server.name(),
        CertRole::Private,
    )
}

fn pc_link(client: HostCredentials, server: HostCredentials) -> Link {
    let c = client_server("tc").client;
    let mut cfg = c.client_config(4711, "10.0.0.2".parse().unwrap(), c.server_addr());
    cfg.ident = None;
    cfg.identities.clear();
    Link::new(client, server, cfg, T0, 31)
}

#[test]
fn pc_client_and_server_complete_with_the_shared_key() {
    let mut l = pc_link(shared_pc(), shared_pc());
    assert!(l.server_host.status().has(status::PRIV));
    let codes = l.run_dance(8);
    assert_eq!(codes, [Assoc, Cook, Leap]);
    assert!(l.client.is_complete() && l.client.is_proventic());
    // NID 8, ENAB, TAI, PRIV and every client bit.
    assert_eq!(l.client.flags(), 0x0008_0013 | status::ALL);
    assert_eq!(
        l.client.cookie(),
        l.server_host.cookie_for(l.caddr, l.saddr).unwrap()
    );
    // No certificate trail was walked: nothing cached but our own.
    assert!(l.client.certificates().is_empty());
    assert_eq!(l.client_host.cert_cache().entries().len(), 1);
    let (code, reply) = l.exchange();
    assert_eq!(code, None);
    assert!(l.deliver(&reply).unwrap().is_empty());
}

#[test]
fn a_private_certificate_is_never_served() {
    let mut l = pc_link(shared_pc(), shared_pc());
    let name = client_server("tc").server.name().to_string();
    assert!(l.server_host.cert_cache().lookup(&name).is_none());
    // An explicit CERT request for the server's name, MAC'd like any
    // request carrying a field (cookie 0), gets the 8-octet empty response.
    let (_, first) = l.request();
    let mut fields = Link::fields(&first);
    let cert_req = Request::Cert {
        assoc_id: 4711,
        subject: name.clone(),
        value: SignedValue::unsigned(l.now, l.client_host.last_update(), name.into_bytes()),
    };
    fields[0] = Message::Request(cert_req)
        .to_field()
        .unwrap()
        .as_bytes()
        .to_vec();
    let req = reseal(&first, &fields, l.caddr, l.saddr);
    let reply = l.serve(&req).unwrap();
    let out = Link::fields(&reply);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 8, "empty CERT response");
    assert!(matches!(
        Message::parse(&out[0]).unwrap(),
        Message::Response(Response::EmptyCert { assoc_id: 4711 })
    ));
    // A non-PC (TC) client of a PC server: the server advertises PRIV, the
    // client walks the trail and is never given the certificate.
    let client = client_server("tc").client;
    let mut tc = pc_link(client.credentials(), shared_pc());
    let mut codes = Vec::new();
    for _ in 0..6 {
        let (code, reply) = tc.exchange();
        codes.extend(code);
        let ev = tc.deliver(&reply).unwrap();
        assert!(ev.is_empty(), "{ev:?}");
        tc.now += 16;
    }
    assert!(tc.client.flags() & status::PRIV != 0);
    assert_eq!(tc.client.flags() & status::CERT, 0);
    assert_eq!(codes[0], Assoc);
    assert!(
        codes[1..].iter().all(|c| *c == AutokeyCode::Cert),
        "{codes:?}"
    );
}

#[test]
fn a_pc_client_refuses_a_non_pc_server() {
    let server = client_server("tc").server;
    let mut l = pc_link(shared_pc(), server.credentials());
    let (code, reply) = l.exchange();
    assert_eq!(code, Some(Assoc));
    let ev = l.deliver(&reply).unwrap();
    assert!(
        matches!(
            ev.as_slice(),
            [AssocEvent::Rejected(AutokeyError::Scheme { .. })]
        ),
        "{ev:?}"
    );
    assert_eq!(l.client.flags(), 0);
    assert_eq!(l.client.server_name(), None);
}

#[test]
fn a_server_without_the_shared_key_fails_the_signature_check() {
    // The server holds a private certificate too, but for its own key:
    // its COOK response does not verify with the client's key.
    let mut l = pc_link(shared_pc(), own_key_pc());
    let (code, reply) = l.exchange();
    assert_eq!(code, Some(Assoc));
    assert!(l.deliver(&reply).unwrap().is_empty());
    l.now += 16;
    let (code, reply) = l.exchange();
    assert_eq!(code, Some(Cook));
    let before = l.client.flags();
    let ev = l.deliver(&reply).unwrap();
    assert!(
        matches!(
            ev.as_slice(),
            [AssocEvent::Rejected(AutokeyError::BadSignature { .. })]
        ),
        "{ev:?}"
    );
    assert_eq!(l.client.flags(), before);
    assert!(!l.client.is_proventic());
}

/// `bytes` with its fields replaced, MAC'd again with its key ID and
/// cookie 0 (client → server).
fn reseal(
    bytes: &[u8],
    fields: &[Vec<u8>],
    from: std::net::IpAddr,
    to: std::net::IpAddr,
) -> Vec<u8> {
    let pkt = proto::Packet::parse(bytes).unwrap();
    let key_id = pkt.mac.unwrap().key_id();
    let key =
        autokey::SessionKey::derive(autokey::SessionDigest::Md5, from, to, key_id, 0).unwrap();
    let fields = fields
        .iter()
        .map(|f| proto::exten::ExtensionField::parse(f).unwrap())
        .collect();
    autokey::packet::seal(pkt.header, fields, &key).unwrap()
}
