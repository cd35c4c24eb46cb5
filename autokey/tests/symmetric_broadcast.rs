//! Our engines against each other, in memory, in symmetric mode (TC, IFF,
//! GQ, MV; both peers trusted hosts as `runs/p10-sym-tc` requires) and in
//! broadcast mode (volley against the fast path, then broadcasts checked
//! by the key chain), with the reference fixture keys.

mod common;

use std::net::IpAddr;
use std::path::Path;

use autokey::association::{AssocEvent, AssocKind, Association, AssociationConfig, IdentitySource};
use autokey::broadcast::BroadcastServer;
use autokey::host::{HostCredentials, LocalHost};
use autokey::identity::ServerIdentity;
use autokey::packet::seal;
use autokey::server::{fast_path, ServerReply};
use autokey::{status, AutokeyError};
use common::{client_server, header, rng, symmetric_peers, Rng};
use keystore::cert::{build_certificate, CertRole, CertificateSpec};
use keystore::Certificate;
use proto::exten::AutokeyCode;
use proto::header::Mode;
use proto::PacketRef;

const T0: u32 = 4_004_770_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The two `p10-sym-tc` peers' credentials, with `scheme_run`'s server
/// identity keys given to both (the group key is shared by the group's
/// servers) and its client's parameters for its group (see
/// [`scheme_group`]).
fn sym_hosts(
    scheme_run: Option<&str>,
) -> (
    HostCredentials,
    HostCredentials,
    Vec<IdentitySource>,
    Vec<IdentitySource>,
) {
    let (first, second) = symmetric_peers("p10-sym-tc");
    let (mut a, mut b) = (first.credentials(), second.credentials());
    let (mut pa, mut pb) = (Vec::new(), Vec::new());
    if let Some(run) = scheme_run {
        let scheme = client_server(run);
        let group = scheme_group(run);
        a.identities = scheme.server.credentials().identities;
        b.identities = scheme.server.credentials().identities;
        pa = scheme.client.identity_sources(&group);
        pb = scheme.client.identity_sources(&group);
        // GQ: the public key v travels in each host's certificate (the
        // symmetric run's certificates need not carry it).
        if let Some(ServerIdentity::Gq { key, .. }) = b.identities.first() {
            let v = key.public_octets();
            for c in [&mut a, &mut b] {
                c.cert = with_gq_key(&c.cert, &c.sign_key, &v);
            }
        }
    }
    (a, b, pa, pb)
}

/// The identity group of the client/server run `run`: its client's
/// `ident`.
fn scheme_group(run: &str) -> String {
    client_server(run)
        .client
        .client_group()
        .unwrap_or_else(|| panic!("{run}: the client has no ident"))
}

fn with_gq_key(
    cert: &Certificate,
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
    v: &[u8],
) -> Certificate {
    let spec = CertificateSpec {
        subject: &cert.subject,
        issuer: &cert.subject,
        serial: cert.serial as u32,
        not_before_unix: cert.not_before,
        lifetime_days: 365,
        role: CertRole::TrustRoot,
        gq_public: Some(v),
        digest: openssl::hash::MessageDigest::md5(),
    };
    let x = build_certificate(&spec, key, key).unwrap();
    Certificate::from_x509(Path::new("test"), x, cert.filestamp).unwrap()
}

struct Side {
    host: LocalHost,
    assoc: Association,
    addr: IpAddr,
}

fn side(
    creds: HostCredentials,
    ids: Vec<IdentitySource>,
    id: u32,
    addr: IpAddr,
    peer: IpAddr,
    ident: Option<String>,
    rng: &mut Rng,
) -> Side {
    let mut host = LocalHost::new(creds, T0, 17, rng).unwrap();
    host.update(T0);
    let assoc = Association::new(
        AssociationConfig {
            assoc_id: id,
            local: addr,
            remote: peer,
            ident,
            identities: ids,
            poll: 4,
            automax: 12,
            kind: AssocKind::Symmetric,
        },
        T0,
    );
    Side { host, assoc, addr }
}

/// One packet from `a` to `b`; returns b's events.
fn send(
    a: &mut Side,
    b: &mut Side,
    now: u32,
    rng: &mut Rng,
) -> (Vec<AutokeyCode>, Result<Vec<AssocEvent>, AutokeyError>) {
    let tx = a.assoc.poll(&a.host, now, rng).unwrap();
    let codes: Vec<AutokeyCode> = tx
        .fields
        .iter()
        .map(|f| f.autokey().unwrap().header().code)
        .collect();
    let bytes = seal(header(Mode::SymmetricActive, now), tx.fields, &tx.key).unwrap();
    let pkt = PacketRef::parse(&bytes).unwrap();
    let ev = b.assoc.receive(&mut b.host, &pkt, a.addr, b.addr, now, rng);
    (codes, ev)
}

fn symmetric(scheme_run: Option<&str>, scheme_bit: u32) {
    let mut rng = rng(11);
    let (ca, cb, pa, pb) = sym_hosts(scheme_run);
    let (aa, ba) = (ip("10.0.0.1"), ip("10.0.0.2"));
    let ident = scheme_run.map(scheme_group);
    let mut a = side(ca, pa, 101, aa, ba, ident.clone(), &mut rng);
    let mut b = side(cb, pb, 202, ba, aa, ident, &mut rng);
    let mut now = T0 + 5;
    for round in 0..30 {
        for dir in 0..2 {
            let (_, ev) = if dir == 0 {
                send(&mut a, &mut b, now, &mut rng)
            } else {
                send(&mut b, &mut a, now, &mut rng)
            };
            let ev = ev.unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert!(
                ev.iter()
                    .all(|e| !matches!(e, AssocEvent::Rejected(_) | AssocEvent::Restarted(_))),
                "round {round}: {ev:?}"
            );
            now += 8;
        }
        if a.assoc.is_complete() && b.assoc.is_complete() {
            break;
        }
    }
    for s in [&a, &b] {
        assert!(s.assoc.is_complete(), "{:#x}", s.assoc.flags());
        assert_eq!(s.assoc.flags(), 0x0008_0003 | scheme_bit | status::ALL);
    }
    // Both ends hold hcookie(A) XOR hcookie(B).
    assert_eq!(a.assoc.cookie(), b.assoc.cookie());
    assert_ne!(a.assoc.cookie(), 0);
    // Plain packets (cookie in the MAC) pass the key-ID chain both ways.
    for _ in 0..5 {
        let (codes, ev) = send(&mut a, &mut b, now, &mut rng);
        assert!(codes.iter().all(|c| *c == AutokeyCode::Auto), "{codes:?}");
        assert!(ev
            .unwrap()
            .iter()
            .all(|e| !matches!(e, AssocEvent::Rejected(_))));
        let (_, ev) = send(&mut b, &mut a, now, &mut rng);
        assert!(ev
            .unwrap()
            .iter()
            .all(|e| !matches!(e, AssocEvent::Rejected(_))));
        now += 16;
    }
    // A forged packet (cookie known) with a key ID off the chain fails
    // §5.6 step 4 and drops AUTO until the values are fetched again.
    let key = autokey::SessionKey::derive(
        autokey::SessionDigest::Md5,
        aa,
        ba,
        0x1234_5678,
        a.assoc.cookie(),
    )
    .unwrap();
    let forged = seal(header(Mode::SymmetricActive, now), Vec::new(), &key).unwrap();
    let r = b.assoc.receive(
        &mut b.host,
        &PacketRef::parse(&forged).unwrap(),
        aa,
        ba,
        now,
        &mut rng,
    );
    assert!(matches!(r, Err(AutokeyError::KeyChain { .. })), "{r:?}");
    assert_eq!(b.assoc.flags() & status::AUTO, 0);
}

#[test]
fn symmetric_tc_completes() {
    symmetric(None, 0);
}

#[test]
fn symmetric_iff_completes() {
    symmetric(Some("iff"), status::IFF);
}

#[test]
fn symmetric_gq_completes() {
    symmetric(Some("gq"), status::GQ);
}

#[test]
fn symmetric_mv_completes() {
    symmetric(Some("mv"), status::MV);
}

#[test]
fn symmetric_identity_on_one_side_only_is_refused() {
    let mut rng = rng(12);
    let (ca, mut cb, pa, pb) = sym_hosts(Some("iff"));
    cb.identities.clear();
    let (aa, ba) = (ip("10.0.0.1"), ip("10.0.0.2"));
    let ident = Some(scheme_group("iff"));
    let mut a = side(ca, pa, 101, aa, ba, ident.clone(), &mut rng);
    let mut b = side(cb, pb, 202, ba, aa, ident, &mut rng);
    let (_, ev) = send(&mut a, &mut b, T0 + 5, &mut rng);
    let ev = ev.unwrap();
    assert!(
        matches!(
            ev.as_slice(),
            [AssocEvent::Rejected(AutokeyError::Scheme { .. })]
        ),
        "{ev:?}"
    );
    assert_eq!(b.assoc.flags(), 0);
}

fn broadcast(run: &str, scheme_bit: u32) {
    let mut rng = rng(21);
    let hosts = client_server(run);
    let (aa, ba, group) = (ip("10.0.0.1"), ip("10.0.0.2"), ip("224.0.1.1"));
    let mut server = hosts.server.local_host(T0, &mut rng);
    server.update(T0);
    let mut bcast = BroadcastServer::new(777, aa, group, 4, 12);
    let mut client_host = hosts.client.local_host(T0, &mut rng);
    client_host.update(T0);
    let mut cfg = hosts.client.client_config(888, ba, aa);
    cfg.kind = AssocKind::BroadcastClient;
    let mut assoc = Association::new(cfg, T0);
    let mut now = T0 + 16;
    // Broadcasts: the first carries the new list's AUTO response; the
    // association mobilises on an ASSOC response.
    let mut first = true;
    let mut mobilised = false;
    let mut codes = Vec::new();
    for _ in 0..40 {
        let tx = bcast.transmit(&server, now, &mut rng).unwrap();
        let code = tx.fields[0].autokey().unwrap().header().code;
        assert_eq!(
            code,
            if first {
                AutokeyCode::Auto
            } else {
                AutokeyCode::Assoc
            }
        );
        first = false;
        let bytes = seal(header(Mode::Broadcast, now), tx.fields, &tx.key).unwrap();
        let pkt = PacketRef::parse(&bytes).unwrap();
        if !mobilised {
            let ev = assoc.mobilise_broadcast(&mut client_host, &pkt, aa, group, now, &mut rng);
            if code == AutokeyCode::Auto {
                assert!(matches!(ev, Err(AutokeyError::Unexpected { .. })), "{ev:?}");
                now += 16;
                continue;
            }
            assert!(ev.unwrap().is_empty());
            mobilised = true;
        } else if assoc.is_complete() {
            let ev = assoc
                .receive_broadcast(&mut client_host, &pkt, aa, group, now, &mut rng)
                .unwrap();
            assert!(ev.is_empty(), "{ev:?}");
        }
        // The volley: client mode against the broadcaster's fast path.
        if !assoc.is_complete() {
            let tx = assoc.poll(&client_host, now, &mut rng).unwrap();
            codes.extend(tx.request);
            let req = seal(header(Mode::Client, now), tx.fields, &tx.key).unwrap();
            let reply = fast_path(
                &server,
                &PacketRef::parse(&req).unwrap(),
                ba,
                aa,
                now,
                &bcast,
                &mut rng,
            )
            .unwrap();
            let ServerReply::Reply { fields, key } = reply else {
                panic!("NAK")
            };
            let rb = seal(header(Mode::Server, now), fields, &key).unwrap();
            let ev = assoc
                .receive(
                    &mut client_host,
                    &PacketRef::parse(&rb).unwrap(),
                    aa,
                    ba,
                    now,
                    &mut rng,
                )
                .unwrap();
            assert!(
                ev.iter()
                    .all(|e| !matches!(e, AssocEvent::Rejected(_) | AssocEvent::Restarted(_))),
                "{ev:?}"
            );
        }
        now += 16;
    }
    let mut expect = vec![AutokeyCode::Cert];
    if scheme_bit != 0 {
        expect.push(match scheme_bit {
            status::IFF => AutokeyCode::Iff,
            status::GQ => AutokeyCode::Gq,
            _ => AutokeyCode::Mv,
        });
    }
    expect.extend([
        AutokeyCode::Cook,
        AutokeyCode::Auto,
        AutokeyCode::Sign,
        AutokeyCode::Leap,
    ]);
    assert_eq!(codes, expect);
    assert_eq!(assoc.flags(), 0x0008_0003 | scheme_bit | status::ALL);
    // A forged broadcast: anyone can MAC with cookie 0, but its key ID is
    // not on the broadcaster's chain.
    let key = autokey::SessionKey::derive(autokey::SessionDigest::Md5, aa, group, 0x0bad_cafe, 0)
        .unwrap();
    let forged = seal(header(Mode::Broadcast, now), Vec::new(), &key).unwrap();
    let r = assoc.receive_broadcast(
        &mut client_host,
        &PacketRef::parse(&forged).unwrap(),
        aa,
        group,
        now,
        &mut rng,
    );
    assert!(matches!(r, Err(AutokeyError::KeyChain { .. })), "{r:?}");
}

#[test]
fn broadcast_tc_completes_and_follows_the_chain() {
    broadcast("p10-bcast-tc", 0);
}

#[test]
fn broadcast_iff_completes_and_follows_the_chain() {
    broadcast("p10-bcast-iff", status::IFF);
}

#[test]
fn broadcast_gq_completes() {
    broadcast("gq", status::GQ);
}

#[test]
fn broadcast_mv_completes() {
    broadcast("mv", status::MV);
}

/// Exchanges packets both ways until both associations are complete (at
/// most `rounds` rounds); panics on any rejected field.
fn run_symmetric(a: &mut Side, b: &mut Side, now: &mut u32, rounds: usize, rng: &mut Rng) {
    for round in 0..rounds {
        for dir in 0..2 {
            let (_, ev) = if dir == 0 {
                send(a, b, *now, rng)
            } else {
                send(b, a, *now, rng)
            };
            let ev = ev.unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert!(
                ev.iter()
                    .all(|e| !matches!(e, AssocEvent::Rejected(_) | AssocEvent::Restarted(_))),
                "round {round}: {ev:?}"
            );
            *now += 8;
        }
        if a.assoc.is_complete() && b.assoc.is_complete() {
            return;
        }
    }
}

#[test]
fn symmetric_wrong_association_id_restarts_and_recovers() {
    let mut rng = rng(13);
    let (ca, cb, pa, pb) = sym_hosts(None);
    let (aa, ba) = (ip("10.0.0.1"), ip("10.0.0.2"));
    let mut a = side(ca, pa, 101, aa, ba, None, &mut rng);
    let mut b = side(cb, pb, 202, ba, aa, None, &mut rng);
    let mut now = T0 + 5;
    // Run until a's next packet answers b's CERT request.
    for _ in 0..10 {
        let tx = a.assoc.poll(&a.host, now, &mut rng).unwrap();
        let cert_resp = tx.fields.iter().position(|f| {
            let h = f.autokey().unwrap().header();
            h.response && h.code == AutokeyCode::Cert
        });
        if let Some(i) = cert_resp {
            // The response carries b's association ID (202): flip one bit.
            let mut fields: Vec<Vec<u8>> =
                tx.fields.iter().map(|f| f.as_bytes().to_vec()).collect();
            assert_eq!(&fields[i][4..8], &202u32.to_be_bytes());
            fields[i][7] ^= 1;
            let fields = fields
                .iter()
                .map(|f| proto::exten::ExtensionField::parse(f).unwrap())
                .collect();
            let bytes = seal(header(Mode::SymmetricActive, now), fields, &tx.key).unwrap();
            assert_ne!(b.assoc.flags(), 0);
            let ev = b
                .assoc
                .receive(
                    &mut b.host,
                    &PacketRef::parse(&bytes).unwrap(),
                    aa,
                    ba,
                    now,
                    &mut rng,
                )
                .unwrap();
            assert!(
                matches!(
                    ev.first(),
                    Some(AssocEvent::Restarted(AutokeyError::AssociationId {
                        expected: 202,
                        got: 203,
                        ..
                    }))
                ),
                "{ev:?}"
            );
            assert_eq!(b.assoc.flags(), 0, "restart clears b");
            assert_eq!(b.assoc.server_name(), None);
            // Nothing left behind: b's new ASSOC request tells a that its
            // peer restarted (a protocol error at a, brief §2.3), a restarts
            // too, and the pair completes again.
            let mut a_restarted = false;
            for _ in 0..40 {
                now += 8;
                send(&mut a, &mut b, now, &mut rng).1.unwrap();
                now += 8;
                let ev = send(&mut b, &mut a, now, &mut rng).1.unwrap();
                a_restarted |= ev.iter().any(|e| matches!(e, AssocEvent::Restarted(_)));
                if a.assoc.is_complete() && b.assoc.is_complete() {
                    break;
                }
            }
            assert!(a_restarted);
            assert!(a.assoc.is_complete() && b.assoc.is_complete());
            assert_eq!(a.assoc.cookie(), b.assoc.cookie());
            return;
        }
        let bytes = seal(header(Mode::SymmetricActive, now), tx.fields, &tx.key).unwrap();
        b.assoc
            .receive(
                &mut b.host,
                &PacketRef::parse(&bytes).unwrap(),
                aa,
                ba,
                now,
                &mut rng,
            )
            .unwrap();
        now += 8;
        let (_, ev) = send(&mut b, &mut a, now, &mut rng);
        ev.unwrap();
        now += 8;
    }
    panic!("a never answered a CERT request");
}

#[test]
fn symmetric_private_certificates_complete() {
    // PC scheme (brief §7.6) in symmetric mode: both peers hold the first
    // peer's key and the same private certificate.
    let mut rng = rng(14);
    let pc = || {
        let (mut c, _, _, _) = sym_hosts(None);
        c.identities.clear();
        let name = symmetric_peers("p10-sym-tc").0.name().to_string();
        common::recertified(c, &name, CertRole::Private)
    };
    let (aa, ba) = (ip("10.0.0.1"), ip("10.0.0.2"));
    let mut a = side(pc(), Vec::new(), 101, aa, ba, None, &mut rng);
    let mut b = side(pc(), Vec::new(), 202, ba, aa, None, &mut rng);
    let mut now = T0 + 5;
    run_symmetric(&mut a, &mut b, &mut now, 20, &mut rng);
    for s in [&a, &b] {
        assert!(s.assoc.is_complete() && s.assoc.is_proventic());
        assert_eq!(s.assoc.flags(), 0x0008_0013 | status::ALL);
        assert!(s.assoc.certificates().is_empty());
    }
    assert_eq!(a.assoc.cookie(), b.assoc.cookie());
    assert_ne!(a.assoc.cookie(), 0);
}

#[test]
fn one_pending_request_per_association() {
    // Two requests arrive before we transmit: only one answer is queued
    // (brief §11.3 rule 15), to the later request.
    let mut rng = rng(15);
    let (ca, cb, pa, pb) = sym_hosts(None);
    let (aa, ba) = (ip("10.0.0.1"), ip("10.0.0.2"));
    let mut a = side(ca, pa, 101, aa, ba, None, &mut rng);
    let mut b = side(cb, pb, 202, ba, aa, None, &mut rng);
    let now = T0 + 5;
    let (codes, ev) = send(&mut a, &mut b, now, &mut rng);
    assert_eq!(codes, [AutokeyCode::Assoc]);
    ev.unwrap();
    // Then a LEAP request from a, in a second packet.
    let leap =
        autokey::message::Message::Request(autokey::message::Request::Leap { assoc_id: 101 })
            .to_field()
            .unwrap();
    let ev = b
        .assoc
        .receive_fields(&mut b.host, &[leap.as_bytes()], now + 8, &mut rng);
    assert!(ev.is_empty(), "{ev:?}");
    let tx = b.assoc.poll(&b.host, now + 16, &mut rng).unwrap();
    let responses: Vec<AutokeyCode> = tx
        .fields
        .iter()
        .map(|f| f.autokey().unwrap().header())
        .filter(|h| h.response)
        .map(|h| h.code)
        .collect();
    assert_eq!(responses, [AutokeyCode::Leap]);
}

#[test]
fn a_replayed_older_auto_response_is_rejected() {
    // Rule 5 (brief §5.6): AUTO values are checked against the last ones
    // accepted; a's first list's values, replayed after its later list,
    // are refused and b keeps the newer anchor.
    let mut rng = rng(16);
    let (ca, cb, pa, pb) = sym_hosts(None);
    let (aa, ba) = (ip("10.0.0.1"), ip("10.0.0.2"));
    let mut a = side(ca, pa, 101, aa, ba, None, &mut rng);
    let mut b = side(cb, pb, 202, ba, aa, None, &mut rng);
    let mut now = T0 + 5;
    let mut autos: Vec<Vec<u8>> = Vec::new();
    // A key list lasts 100 packets; run until a has announced a second one.
    for _ in 0..130 {
        let tx = a.assoc.poll(&a.host, now, &mut rng).unwrap();
        for f in &tx.fields {
            let h = f.autokey().unwrap().header();
            if h.response && h.code == AutokeyCode::Auto {
                autos.push(f.as_bytes().to_vec());
            }
        }
        let bytes = seal(header(Mode::SymmetricActive, now), tx.fields, &tx.key).unwrap();
        b.assoc
            .receive(
                &mut b.host,
                &PacketRef::parse(&bytes).unwrap(),
                aa,
                ba,
                now,
                &mut rng,
            )
            .unwrap();
        now += 8;
        send(&mut b, &mut a, now, &mut rng).1.unwrap();
        now += 8;
        let distinct = autos.first() != autos.last();
        if a.assoc.is_complete() && b.assoc.is_complete() && distinct {
            break;
        }
    }
    assert!(b.assoc.is_complete());
    assert_ne!(autos.first(), autos.last(), "a sent a second key list");
    let flags = b.assoc.flags();
    let ev = b
        .assoc
        .receive_fields(&mut b.host, &[autos[0].as_slice()], now, &mut rng);
    assert!(
        matches!(
            ev.as_slice(),
            [AssocEvent::Rejected(AutokeyError::Timestamp {
                code: AutokeyCode::Auto,
                ..
            })]
        ),
        "{ev:?}"
    );
    assert_eq!(b.assoc.flags(), flags);
    // The newest one is still acceptable.
    let last = autos.last().unwrap();
    let ev = b
        .assoc
        .receive_fields(&mut b.host, &[last.as_slice()], now, &mut rng);
    assert!(
        ev.iter().all(|e| !matches!(e, AssocEvent::Rejected(_))),
        "{ev:?}"
    );
}
