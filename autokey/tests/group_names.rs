//! `host@group` names on incoming ASSOC fields (brief §2.3 "Group names",
//! §11.3 rule 6), with the reference fixture host keys recertified under
//! group names: the name must carry `@`, be shorter than 257 octets and
//! name our group (or the association's `ident`) when we have a group; the
//! server fast path only checks for the `@`; ASSOC values stay within
//! 1..=512 octets; a second ASSOC is ignored unless its association ID
//! changed, which restarts the association.

mod common;

use autokey::association::{AssocEvent, AssociationConfig};
use autokey::host::HostCredentials;
use autokey::message::{Message, Response};
use autokey::value::SignedValue;
use autokey::{status, AutokeyError};
use common::{client_server, recertified, Link};
use keystore::cert::CertRole;
use proto::exten::AutokeyCode::{Assoc, Cert, Cook, Leap, Sign};

const T0: u32 = 4_004_762_000;

/// The `tc` run's server (`crypto host`) name, or `name@group`.
fn server_name(group: Option<&str>) -> String {
    let s = client_server("tc").server;
    group.map_or_else(|| s.name().to_string(), |g| s.in_group(g))
}

/// The `tc` run's client name, or `name@group`.
fn client_name(group: Option<&str>) -> String {
    let c = client_server("tc").client;
    group.map_or_else(|| c.name().to_string(), |g| c.in_group(g))
}

/// The server's credentials, recertified as a trusted `name@group`.
fn server(group: Option<&str>) -> HostCredentials {
    let c = client_server("tc").server.credentials();
    match group {
        Some(_) => recertified(c, &server_name(group), CertRole::TrustRoot),
        None => c,
    }
}

/// The client's credentials, recertified as `name@group`.
fn client(group: Option<&str>) -> HostCredentials {
    let c = client_server("tc").client.credentials();
    match group {
        Some(_) => recertified(c, &client_name(group), CertRole::Plain),
        None => c,
    }
}

fn cfg(ident: Option<&str>) -> AssociationConfig {
    let c = client_server("tc").client;
    let mut cfg = c.client_config(4711, "10.0.0.2".parse().unwrap(), c.server_addr());
    cfg.ident = ident.map(str::to_string);
    cfg.identities.clear();
    cfg
}

/// An ASSOC response naming `host`, with the server's status word.
fn assoc_field(l: &Link, assoc_id: u32, host: &str) -> Vec<u8> {
    let r = Response::Assoc {
        assoc_id,
        host: host.to_string(),
        value: SignedValue::unsigned(l.now, l.server_host.status().0, host.as_bytes().to_vec()),
    };
    Message::Response(r).to_field().unwrap().as_bytes().to_vec()
}

fn rejected_name(ev: &[AssocEvent]) -> bool {
    matches!(ev, [AssocEvent::Rejected(AutokeyError::HostName { .. })])
}

#[test]
fn hosts_of_the_same_group_complete() {
    let mut l = Link::new(client(Some("grp")), server(Some("grp")), cfg(None), T0, 41);
    assert_eq!(l.run_dance(10), [Assoc, Cert, Cook, Sign, Leap]);
    assert!(l.client.is_complete() && l.client.is_proventic());
    assert_eq!(
        l.client.server_name(),
        Some(server_name(Some("grp")).as_str())
    );
    // The certificate the server issued keeps the client's group name.
    let issued = &l.client_host.cert_cache().entries()[0];
    assert_eq!(
        (issued.subject.as_str(), issued.issuer.as_str()),
        (
            client_name(Some("grp")).as_str(),
            server_name(Some("grp")).as_str()
        )
    );
}

#[test]
fn a_name_without_group_is_dropped_when_we_have_one() {
    let mut l = Link::new(client(Some("grp")), server(None), cfg(None), T0, 42);
    let (_, reply) = l.exchange();
    let ev = l.deliver(&reply).unwrap();
    assert!(rejected_name(&ev), "{ev:?}");
    assert_eq!(l.client.flags(), 0);
    assert_eq!(l.client.server_name(), None);
    // Without a group of our own, no name check applies (the server, which
    // has a group, would drop our group-less request: see below).
    let mut l = Link::new(client(None), server(Some("grp")), cfg(None), T0, 42);
    assert!(l
        .deliver_fields(&[assoc_field(&l, 4711, &server_name(Some("grp")))])
        .is_empty());
    assert_eq!(
        l.client.server_name(),
        Some(server_name(Some("grp")).as_str())
    );
}

#[test]
fn another_group_is_accepted_only_as_the_associations_ident() {
    let mut l = Link::new(
        client(Some("grp")),
        server(Some("other")),
        cfg(None),
        T0,
        43,
    );
    let (_, reply) = l.exchange();
    assert!(rejected_name(&l.deliver(&reply).unwrap()));
    assert_eq!(l.client.flags(), 0);
    let mut l = Link::new(
        client(Some("grp")),
        server(Some("other")),
        cfg(Some("other")),
        T0,
        43,
    );
    let (_, reply) = l.exchange();
    assert!(l.deliver(&reply).unwrap().is_empty());
    assert_eq!(
        l.client.server_name(),
        Some(server_name(Some("other")).as_str())
    );
    assert_ne!(l.client.flags(), 0);
}

#[test]
fn name_lengths() {
    // With a group: up to 256 octets.
    let mut l = Link::new(client(Some("grp")), server(Some("grp")), cfg(None), T0, 44);
    let long = format!("{}@grp", "a".repeat(253));
    assert_eq!(long.len(), 257);
    assert!(rejected_name(
        &l.deliver_fields(&[assoc_field(&l, 4711, &long)])
    ));
    assert_eq!(l.client.flags(), 0);
    let ok = &long[1..];
    assert!(l.deliver_fields(&[assoc_field(&l, 4711, ok)]).is_empty());
    assert_eq!(l.client.server_name(), Some(ok));
    // Without a group: 1..=512 octets.
    let mut l = Link::new(client(None), server(None), cfg(None), T0, 44);
    let huge = "h".repeat(513);
    let ev = l.deliver_fields(&[assoc_field(&l, 4711, &huge)]);
    assert!(
        matches!(
            ev.as_slice(),
            [AssocEvent::Rejected(AutokeyError::ValueLength {
                got: 513,
                max: 512,
                ..
            })]
        ),
        "{ev:?}"
    );
    assert_eq!(l.client.flags(), 0);
    assert!(l
        .deliver_fields(&[assoc_field(&l, 4711, &huge[1..])])
        .is_empty());
    assert_eq!(l.client.server_name().map(str::len), Some(512));
}

#[test]
fn the_fast_path_only_requires_an_at_sign() {
    // A client without a group asking a server that has one: dropped, no
    // reply.
    let mut l = Link::new(client(None), server(Some("grp")), cfg(None), T0, 45);
    let (code, req) = l.request();
    assert_eq!(code, Some(Assoc));
    assert!(matches!(l.serve(&req), Err(AutokeyError::HostName { .. })));
    // A client of another group is answered (no group test on unicast
    // client requests); the client, whose group differs, drops the reply.
    let mut l = Link::new(
        client(Some("other")),
        server(Some("grp")),
        cfg(None),
        T0,
        45,
    );
    let (_, req) = l.request();
    let reply = l.serve(&req).unwrap();
    assert_eq!(Link::fields(&reply).len(), 1);
    assert!(rejected_name(&l.deliver(&reply).unwrap()));
}

#[test]
fn a_second_assoc_is_ignored_unless_its_id_changed() {
    let mut l = Link::new(client(None), server(None), cfg(None), T0, 46);
    let (_, reply) = l.exchange();
    assert!(l.deliver(&reply).unwrap().is_empty());
    let flags = l.client.flags();
    assert_ne!(flags, 0);
    // The same ASSOC response again (even naming someone else): ignored.
    let again = Link::fields(&reply);
    assert!(l.deliver_fields(&again).is_empty());
    assert!(l
        .deliver_fields(&[assoc_field(&l, 4711, "mallory")])
        .is_empty());
    assert_eq!(l.client.flags(), flags);
    assert_eq!(l.client.server_name(), Some(server_name(None).as_str()));
    // A new association ID: the peer restarted; so do we (protocol error).
    let ev = l.deliver_fields(&[assoc_field(&l, 4712, &server_name(None))]);
    assert!(
        matches!(
            ev.as_slice(),
            [AssocEvent::Restarted(AutokeyError::AssociationId {
                expected: 4711,
                got: 4712,
                ..
            })]
        ),
        "{ev:?}"
    );
    assert_eq!(l.client.flags(), 0);
    assert_eq!(l.client.server_name(), None);
    assert!(l.client.flags() & status::CERT == 0);
}
