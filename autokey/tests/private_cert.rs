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
use common::{fixture_host, recertified, Link};
use keystore::cert::CertRole;
use proto::exten::AutokeyCode::{self, Assoc, Cook, Leap};

const T0: u32 = 4_004_761_000;

/// alice's fixture host key with a private certificate for `name`.
fn pc(run: &str, host: &str, name: &str) -> HostCredentials {
    recertified(
        fixture_host(run, host).credentials(),
        name,
        CertRole::Private,
    )
}

fn pc_link(client: HostCredentials, server: HostCredentials) -> Link {
    let bob = fixture_host("tc", "bob");
    let saddr = bob.server.as_ref().expect("server line").0;
    let mut cfg = bob.client_config(4711, "10.0.0.2".parse().unwrap(), saddr);
    cfg.ident = None;
    cfg.identities.clear();
    Link::new(client, server, cfg, T0, 31)
}

#[test]
fn pc_client_and_server_complete_with_the_shared_key() {
    let mut l = pc_link(pc("tc", "alice", "alice"), pc("tc", "alice", "alice"));
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
    let mut l = pc_link(pc("tc", "alice", "alice"), pc("tc", "alice", "alice"));
    assert!(l.server_host.cert_cache().lookup("alice").is_none());
    // An explicit CERT request for the server's name, MAC'd like any
    // request carrying a field (cookie 0), gets the 8-octet empty response.
    let (_, first) = l.request();
    let mut fields = Link::fields(&first);
    let cert_req = Request::Cert {
        assoc_id: 4711,
        subject: "alice".into(),
        value: SignedValue::unsigned(l.now, l.client_host.last_update(), b"alice".to_vec()),
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
    let bob = fixture_host("tc", "bob");
    let mut tc = pc_link(bob.credentials(), pc("tc", "alice", "alice"));
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
    let alice = fixture_host("tc", "alice");
    let mut l = pc_link(pc("tc", "alice", "alice"), alice.credentials());
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
    let mut l = pc_link(pc("tc", "alice", "alice"), pc("tc", "bob", "alice"));
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
