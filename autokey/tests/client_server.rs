//! Our client against our server, in memory, with the reference fixture
//! keys: TC, IFF, GQ and MV complete in client/server mode and reach
//! proventic; tampered replies are rejected with the expected error and
//! leave the association's state unchanged.

mod common;

use std::net::IpAddr;

use autokey::association::{AssocEvent, Association};
use autokey::host::LocalHost;
use autokey::packet::seal;
use autokey::server::{fast_path, ServerReply};
use autokey::status;
use autokey::AutokeyError;
use common::{client_server, header, rng, Rng};
use proto::exten::AutokeyCode;
use proto::header::Mode;
use proto::PacketRef;

const T0: u32 = 4_004_760_000;

struct Pair {
    client_host: LocalHost,
    server_host: LocalHost,
    client: Association,
    caddr: IpAddr,
    saddr: IpAddr,
    now: u32,
    rng: Rng,
}

fn pair(run: &str, caddr: IpAddr, saddr_override: Option<IpAddr>) -> Pair {
    pair_with(run, caddr, saddr_override, |_| {})
}

fn pair_with(
    run: &str,
    caddr: IpAddr,
    saddr_override: Option<IpAddr>,
    edit: impl Fn(&mut autokey::host::HostCredentials),
) -> Pair {
    let mut rng = rng(5);
    let common::ClientServer { client, server } = client_server(run);
    let saddr = saddr_override.unwrap_or_else(|| client.server_addr());
    let mut creds = server.credentials();
    edit(&mut creds);
    let mut server_host = LocalHost::new(creds, T0, 17, &mut rng).unwrap();
    server_host.update(T0);
    let mut client_host = client.local_host(T0, &mut rng);
    client_host.update(T0);
    let cfg = client.client_config(4711, caddr, saddr);
    Pair {
        client_host,
        server_host,
        client: Association::new(cfg, T0),
        caddr,
        saddr,
        now: T0 + 10,
        rng,
    }
}

impl Pair {
    /// One poll: client request → server fast path → reply bytes.
    fn exchange(&mut self) -> (Option<AutokeyCode>, Vec<u8>) {
        let tx = self
            .client
            .poll(&self.client_host, self.now, &mut self.rng)
            .unwrap();
        let req = seal(header(Mode::Client, self.now), tx.fields, &tx.key).unwrap();
        let pkt = PacketRef::parse(&req).unwrap();
        let reply = fast_path(
            &self.server_host,
            &pkt,
            self.caddr,
            self.saddr,
            self.now,
            &(),
            &mut self.rng,
        )
        .unwrap();
        let ServerReply::Reply { fields, key } = reply else {
            panic!("crypto-NAK for our own request")
        };
        (
            tx.request,
            seal(header(Mode::Server, self.now), fields, &key).unwrap(),
        )
    }

    fn deliver(&mut self, bytes: &[u8]) -> Result<Vec<AssocEvent>, AutokeyError> {
        let pkt = PacketRef::parse(bytes).map_err(AutokeyError::Field)?;
        self.client.receive(
            &mut self.client_host,
            &pkt,
            self.saddr,
            self.caddr,
            self.now,
            &mut self.rng,
        )
    }

    fn run_dance(&mut self, max: usize) -> Vec<AutokeyCode> {
        let mut codes = Vec::new();
        for _ in 0..max {
            let (code, reply) = self.exchange();
            codes.extend(code);
            let events = self.deliver(&reply).unwrap();
            assert!(
                events
                    .iter()
                    .all(|e| !matches!(e, AssocEvent::Rejected(_) | AssocEvent::Restarted(_))),
                "{events:?}"
            );
            self.now += 16;
            if code.is_none() {
                break;
            }
        }
        codes
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn complete(run: &str, scheme_bit: u32, expect: &[AutokeyCode], v6: bool) {
    let mut p = if v6 {
        pair(run, ip("fd00::2"), Some(ip("fd00::1")))
    } else {
        pair(run, ip("10.0.0.2"), None)
    };
    let codes = p.run_dance(12);
    assert_eq!(codes, expect, "{run}");
    assert!(
        p.client.is_complete() && p.client.is_proventic(),
        "{run}: {:#x}",
        p.client.flags()
    );
    // NID 8 (md5WithRSAEncryption), ENAB, TAI, the scheme, all client bits.
    assert_eq!(
        p.client.flags(),
        0x0008_0003 | scheme_bit | status::ALL,
        "{run}"
    );
    let server = client_server(run).server;
    assert_eq!(p.client.server_name(), Some(server.name()));
    assert_eq!(p.client.signature_name(), Some("md5WithRSAEncryption"));
    // The cookie is our server's random one, not the reference's constant.
    assert_eq!(
        p.client.cookie(),
        p.server_host.cookie_for(p.caddr, p.saddr).unwrap()
    );
    // Plain packets now verify with the cookie in the MAC.
    let (code, reply) = p.exchange();
    assert_eq!(code, None);
    assert!(p.deliver(&reply).unwrap().is_empty());
}

use AutokeyCode::{Assoc, Cert, Cook, Gq, Iff, Leap, Mv, Sign};

#[test]
fn tc_completes() {
    complete("tc", 0, &[Assoc, Cert, Cook, Sign, Leap], false);
}

#[test]
fn tc_completes_over_ipv6() {
    complete("tc", 0, &[Assoc, Cert, Cook, Sign, Leap], true);
}

#[test]
fn iff_completes() {
    complete(
        "iff",
        status::IFF,
        &[Assoc, Cert, Iff, Cook, Sign, Leap],
        false,
    );
}

#[test]
fn gq_completes() {
    complete(
        "gq",
        status::GQ,
        &[Assoc, Cert, Gq, Cook, Sign, Leap],
        false,
    );
}

#[test]
fn mv_completes() {
    complete(
        "mv",
        status::MV,
        &[Assoc, Cert, Mv, Cook, Sign, Leap],
        false,
    );
}

/// Runs the dance until the client is about to send `code`, returns the
/// genuine reply to it.
fn reply_to(p: &mut Pair, code: AutokeyCode) -> Vec<u8> {
    for _ in 0..10 {
        let (c, reply) = p.exchange();
        if c == Some(code) {
            return reply;
        }
        p.deliver(&reply).unwrap();
    }
    panic!("{code:?} never requested")
}

/// Re-MACs a tampered reply so that only the tampered part is at fault.
fn remac(p: &Pair, bytes: &[u8]) -> Vec<u8> {
    let pkt = proto::Packet::parse(bytes).unwrap();
    let key_id = pkt.mac.unwrap().key_id();
    let key = autokey::SessionKey::derive(autokey::SessionDigest::Md5, p.saddr, p.caddr, key_id, 0)
        .unwrap();
    seal(pkt.header, pkt.fields, &key).unwrap()
}

fn tampered(
    run: &str,
    code: AutokeyCode,
    edit: impl Fn(&mut Vec<u8>),
    expect: impl Fn(&AutokeyError) -> bool,
) {
    let mut p = pair(run, ip("10.0.0.2"), None);
    let good = reply_to(&mut p, code);
    let before = p.client.flags();
    let mut bad = good.clone();
    edit(&mut bad);
    let bad = remac(&p, &bad);
    let events = p.deliver(&bad).unwrap();
    match events.as_slice() {
        [AssocEvent::Rejected(e)] | [AssocEvent::Restarted(e)] => {
            assert!(expect(e), "{run} {code:?}: {e:?}")
        }
        other => panic!("{run} {code:?}: {other:?}"),
    }
    if !matches!(events[0], AssocEvent::Restarted(_)) {
        assert_eq!(
            p.client.flags(),
            before,
            "state changed by a rejected field"
        );
        // The genuine reply still works afterwards.
        let ev = p.deliver(&good).unwrap();
        assert!(
            ev.iter().all(|e| !matches!(e, AssocEvent::Rejected(_))),
            "{ev:?}"
        );
        assert_ne!(p.client.flags(), before);
    } else {
        assert_eq!(p.client.flags(), 0, "restart clears the association");
    }
}

// Field offsets: 48 header, +8 ts, +12 fs, +16 vallen, +20 value.
const F: usize = 48;

#[test]
fn flipped_value_bit_is_a_bad_signature() {
    tampered(
        "tc",
        Cook,
        |b| b[F + 20] ^= 1,
        |e| {
            matches!(
                e,
                AutokeyError::BadSignature { .. } | AutokeyError::Cookie { .. }
            )
        },
    );
    tampered(
        "tc",
        Leap,
        |b| b[F + 21] ^= 0x80,
        |e| matches!(e, AutokeyError::BadSignature { .. }),
    );
}

#[test]
fn flipped_signature_bit_is_rejected() {
    tampered(
        "iff",
        Iff,
        |b| {
            let n = b.len();
            b[n - 20 - 5] ^= 1
        },
        |e| matches!(e, AutokeyError::BadSignature { .. }),
    );
}

#[test]
fn wrong_association_id_restarts() {
    tampered(
        "tc",
        Leap,
        |b| b[F + 7] ^= 1,
        |e| matches!(e, AutokeyError::AssociationId { .. }),
    );
}

#[test]
fn stale_filestamp_is_rejected() {
    // A server whose IFF key file is older than the client's parameters:
    // correctly signed responses with fs != the client's filestamp (§6.1).
    let mut p = pair_with("iff", ip("10.0.0.2"), None, |c| {
        for id in &mut c.identities {
            if let autokey::identity::ServerIdentity::Iff { filestamp, .. } = id {
                *filestamp -= 1;
            }
        }
    });
    let reply = reply_to(&mut p, Iff);
    let before = p.client.flags();
    let ev = p.deliver(&reply).unwrap();
    assert!(
        matches!(
            ev.as_slice(),
            [AssocEvent::Rejected(AutokeyError::Filestamp { .. })]
        ),
        "{ev:?}"
    );
    assert_eq!(p.client.flags(), before);
    // Tampering with the filestamp word itself breaks the signature.
    tampered(
        "iff",
        Iff,
        |b| b[F + 15] ^= 1,
        |e| matches!(e, AutokeyError::BadSignature { .. }),
    );
}

#[test]
fn zero_timestamp_is_rejected() {
    tampered(
        "tc",
        Leap,
        |b| b[F + 8..F + 12].copy_from_slice(&[0; 4]),
        |e| matches!(e, AutokeyError::ZeroTimestamp { .. }),
    );
}

#[test]
fn oversize_vallen_is_rejected() {
    tampered(
        "tc",
        Leap,
        |b| b[F + 16..F + 20].copy_from_slice(&0x100u32.to_be_bytes()),
        |e| matches!(e, AutokeyError::Field(_)),
    );
}

#[test]
fn truncated_signature_length_is_rejected() {
    tampered(
        "tc",
        Leap,
        |b| {
            // siglen 64 → 60: signature no longer the key size.
            b[F + 20 + 12 + 3] = 60;
        },
        |e| matches!(e, AutokeyError::SignatureLength { .. }),
    );
}

#[test]
fn flipped_mac_is_rejected_without_state_change() {
    let mut p = pair("tc", ip("10.0.0.2"), None);
    let mut good = reply_to(&mut p, Cook);
    let before = p.client.flags();
    let n = good.len();
    good[n - 1] ^= 1;
    assert!(matches!(p.deliver(&good), Err(AutokeyError::BadMac { .. })));
    assert_eq!(p.client.flags(), before);
}

#[test]
fn replayed_reply_is_rejected() {
    // A reply to an earlier request carries an old key ID (§5.6 step 4).
    let mut p = pair("tc", ip("10.0.0.2"), None);
    let (_, assoc_reply) = p.exchange();
    p.deliver(&assoc_reply).unwrap();
    let (_, cert_reply) = p.exchange();
    assert!(matches!(
        p.deliver(&assoc_reply),
        Err(AutokeyError::KeyChain { .. })
    ));
    p.deliver(&cert_reply).unwrap();
    assert!(p.client.flags() & status::CERT != 0);
}

#[test]
fn server_naks_a_bad_mac_and_rotates_its_secret() {
    let mut p = pair("tc", ip("10.0.0.2"), None);
    let tx = p.client.poll(&p.client_host, p.now, &mut p.rng).unwrap();
    let mut req = seal(header(Mode::Client, p.now), tx.fields, &tx.key).unwrap();
    let n = req.len();
    req[n - 3] ^= 4;
    let pkt = PacketRef::parse(&req).unwrap();
    let r = fast_path(
        &p.server_host,
        &pkt,
        p.caddr,
        p.saddr,
        p.now,
        &(),
        &mut p.rng,
    )
    .unwrap();
    assert!(matches!(
        r,
        ServerReply::CryptoNak(AutokeyError::BadMac { .. })
    ));
    let c1 = p.server_host.cookie_for(p.caddr, p.saddr).unwrap();
    assert!(!p.server_host.refresh_secret(p.now + 100, &mut p.rng));
    assert!(p.server_host.refresh_secret(p.now + (1 << 17), &mut p.rng));
    assert_ne!(c1, p.server_host.cookie_for(p.caddr, p.saddr).unwrap());
}

#[test]
fn identity_response_without_challenge_is_rejected() {
    let mut p = pair("iff", ip("10.0.0.2"), None);
    let reply = reply_to(&mut p, Iff);
    let fields: Vec<Vec<u8>> = PacketRef::parse(&reply)
        .unwrap()
        .fields()
        .map(|f| f.as_bytes().to_vec())
        .collect();
    let refs: Vec<&[u8]> = fields.iter().map(|f| f.as_slice()).collect();
    let ev = p
        .client
        .receive_fields(&mut p.client_host, &refs, p.now, &mut p.rng);
    assert!(
        matches!(ev.as_slice(), [AssocEvent::IdentityVerified(_)]),
        "{ev:?}"
    );
    let flags = p.client.flags();
    // The same proof again: the challenge was single-use (rule 10).
    let ev = p
        .client
        .receive_fields(&mut p.client_host, &refs, p.now, &mut p.rng);
    assert!(
        matches!(
            ev.as_slice(),
            [AssocEvent::Rejected(AutokeyError::NoChallenge { .. })]
        ),
        "{ev:?}"
    );
    assert_eq!(p.client.flags(), flags);
}

#[test]
fn crypto_nak_restarts_only_an_association_with_state() {
    let mut p = pair("tc", ip("10.0.0.2"), None);
    assert!(!p.client.crypto_nak(p.now));
    p.run_dance(12);
    assert!(p.client.is_complete());
    assert!(p.client.crypto_nak(p.now));
    assert_eq!(p.client.flags(), 0);
    // The dance starts again from ASSOC and completes.
    let codes = p.run_dance(12);
    assert_eq!(codes.first(), Some(&Assoc));
    assert!(p.client.is_complete());
}

#[test]
fn refresh_restarts_the_dance_after_2_pow_19_seconds() {
    let mut p = pair("tc", ip("10.0.0.2"), None);
    p.run_dance(12);
    assert!(p.client.is_complete());
    // Just before the refresh interval nothing changes; at it, the next
    // poll clears the association and starts again with ASSOC (§4.5).
    let t = T0 + (1 << 19);
    let tx = p.client.poll(&p.client_host, t - 1, &mut p.rng).unwrap();
    assert_eq!(tx.request, None);
    let tx = p.client.poll(&p.client_host, t, &mut p.rng).unwrap();
    assert_eq!(tx.request, Some(Assoc));
    assert_eq!(p.client.flags(), 0);
}

// ---- brief §11.3 rules without a test elsewhere ----

/// `good` with its fields replaced by `fields`, MAC'd like the server's
/// reply (its key ID, cookie 0).
fn forge(p: &Pair, good: &[u8], fields: Vec<proto::exten::ExtensionField>) -> Vec<u8> {
    let mut pkt = proto::Packet::parse(good).unwrap();
    pkt.fields = fields;
    remac(p, &pkt.serialize())
}

/// A response field of `code` with `value` signed by the genuine server.
fn signed_response(
    p: &Pair,
    code: AutokeyCode,
    ts: u32,
    value: Vec<u8>,
) -> proto::exten::ExtensionField {
    let v = autokey::SignedValue::signed(
        ts,
        p.server_host.last_update(),
        value,
        p.server_host.signer(),
    )
    .unwrap();
    proto::exten::ExtensionField::new_autokey(
        proto::exten::AutokeyHeader::response(code, 4711),
        Some(&v.as_ref()),
    )
    .unwrap()
}

#[test]
fn rule_1_framing() {
    let mut p = pair("tc", ip("10.0.0.2"), None);
    let good = reply_to(&mut p, Leap);
    // Post-header length not a multiple of 4.
    let mut odd = good.clone();
    odd.extend_from_slice(&[0, 0]);
    assert!(matches!(p.deliver(&odd), Err(AutokeyError::Field(_))));
    // A field length running past the end of the datagram.
    let mut over = good.clone();
    over[F + 2..F + 4].copy_from_slice(&0x0200u16.to_be_bytes());
    assert!(matches!(p.deliver(&over), Err(AutokeyError::Field(_))));
    // An Autokey MAC shorter than 20 octets (key ID + 12).
    let short = good[..good.len() - 8].to_vec();
    assert!(p.deliver(&short).is_err());
    assert_eq!(p.client.flags() & status::LEAP, 0);
    p.deliver(&good).unwrap();
    assert!(p.client.flags() & status::LEAP != 0);
}

#[test]
fn rule_2_bad_version_restarts() {
    tampered(
        "tc",
        Leap,
        |b| b[F] = 0x83,
        |e| matches!(e, AutokeyError::Version { version: 3 }),
    );
}

#[test]
fn rule_4_error_bit_short_field_and_unsigned() {
    // E bit: protocol error, the association restarts (brief §2.10).
    tampered(
        "tc",
        Leap,
        |b| b[F] |= 0x40,
        |e| matches!(e, AutokeyError::ErrorResponse { code: Leap }),
    );
    // A LEAP response of 8 octets (no value structure).
    tampered(
        "tc",
        Leap,
        |b| {
            let mac = b[b.len() - 20..].to_vec();
            b.truncate(F + 8);
            b[F + 2..F + 4].copy_from_slice(&8u16.to_be_bytes());
            b.extend_from_slice(&mac);
        },
        |e| matches!(e, AutokeyError::MissingValue { code: Leap, .. }),
    );
    // siglen 0: the signature stripped.
    tampered(
        "tc",
        Leap,
        |b| {
            let mac = b[b.len() - 20..].to_vec();
            b.truncate(F + 32);
            b.extend_from_slice(&[0; 4]);
            b[F + 2..F + 4].copy_from_slice(&36u16.to_be_bytes());
            b.extend_from_slice(&mac);
        },
        |e| matches!(e, AutokeyError::Unsigned { code: Leap }),
    );
}

#[test]
fn rule_5_timestamp_before_filestamp() {
    tampered(
        "tc",
        Leap,
        |b| {
            let ts = u32::from_be_bytes(b[F + 8..F + 12].try_into().unwrap());
            b[F + 12..F + 16].copy_from_slice(&(ts + 1).to_be_bytes());
        },
        |e| matches!(e, AutokeyError::Timestamp { .. }),
    );
}

#[test]
fn rule_7_cert_request_subject_length() {
    let mut p = pair("tc", ip("10.0.0.2"), None);
    let tx = p.client.poll(&p.client_host, p.now, &mut p.rng).unwrap();
    for subject in [vec![b'a'; 513], vec![b'a'; 512]] {
        let v = autokey::SignedValue::unsigned(p.now, 0, subject.clone());
        let f = proto::exten::ExtensionField::new_autokey(
            proto::exten::AutokeyHeader::request(Cert, 4711),
            Some(&v.as_ref()),
        )
        .unwrap();
        let req = seal(header(Mode::Client, p.now), vec![f], &tx.key).unwrap();
        let ServerReply::Reply { fields, .. } = fast_path(
            &p.server_host,
            &PacketRef::parse(&req).unwrap(),
            p.caddr,
            p.saddr,
            p.now,
            &(),
            &mut p.rng,
        )
        .unwrap() else {
            panic!("NAK")
        };
        let h = fields[0].autokey().unwrap().header();
        // 513 octets: an error response; 512: a valid name nobody has,
        // answered with the empty CERT response.
        assert_eq!(h.error, subject.len() > 512, "{}", subject.len());
        assert_eq!(fields[0].as_bytes().len(), 8);
    }
}

#[test]
fn rule_8_cookie_rules() {
    // Server: a COOK request whose value is no RSA public key gets the
    // 8-octet error response.
    let mut p = pair("tc", ip("10.0.0.2"), None);
    let tx = p.client.poll(&p.client_host, p.now, &mut p.rng).unwrap();
    let v = autokey::SignedValue::unsigned(p.now, 0, b"not a key".to_vec());
    let f = proto::exten::ExtensionField::new_autokey(
        proto::exten::AutokeyHeader::request(Cook, 4711),
        Some(&v.as_ref()),
    )
    .unwrap();
    let req = seal(header(Mode::Client, p.now), vec![f], &tx.key).unwrap();
    let ServerReply::Reply { fields, .. } = fast_path(
        &p.server_host,
        &PacketRef::parse(&req).unwrap(),
        p.caddr,
        p.saddr,
        p.now,
        &(),
        &mut p.rng,
    )
    .unwrap() else {
        panic!("NAK")
    };
    let h = fields[0].autokey().unwrap().header();
    assert!(h.response && h.error && h.code == Cook);
    // Client: a correctly signed COOK response whose ciphertext is not
    // the size of our modulus.
    let mut p = pair("tc", ip("10.0.0.2"), None);
    let good = reply_to(&mut p, Cook);
    let before = p.client.flags();
    let bad = forge(
        &p,
        &good,
        vec![signed_response(&p, Cook, p.now, vec![7; 32])],
    );
    let ev = p.deliver(&bad).unwrap();
    assert!(
        matches!(
            ev.as_slice(),
            [AssocEvent::Rejected(AutokeyError::Cookie { .. })]
        ),
        "{ev:?}"
    );
    assert_eq!(p.client.flags(), before);
    p.deliver(&good).unwrap();
    assert!(p.client.flags() & status::COOK != 0);
}

#[test]
fn rule_9_leap_value_length() {
    let mut p = pair("tc", ip("10.0.0.2"), None);
    let good = reply_to(&mut p, Leap);
    let before = p.client.flags();
    let bad = forge(
        &p,
        &good,
        vec![signed_response(&p, Leap, p.now, vec![0; 8])],
    );
    let ev = p.deliver(&bad).unwrap();
    assert!(
        matches!(
            ev.as_slice(),
            [AssocEvent::Rejected(AutokeyError::ValueLength {
                got: 8,
                ..
            })]
        ),
        "{ev:?}"
    );
    assert_eq!(p.client.flags(), before);
}

#[test]
fn rule_13_symmetric_key_ids_are_refused() {
    let mut p = pair("tc", ip("10.0.0.2"), None);
    let good = reply_to(&mut p, Cert);
    let pkt = proto::Packet::parse(&good).unwrap();
    let key = autokey::SessionKey::derive(autokey::SessionDigest::Md5, p.saddr, p.caddr, 65535, 0)
        .unwrap();
    let bad = seal(pkt.header, pkt.fields, &key).unwrap();
    assert!(matches!(
        p.deliver(&bad),
        Err(AutokeyError::KeySpace { key_id: 65535 })
    ));
    // No MAC at all on an Autokey association (CVE-2015-1798).
    let bare = good[..good.len() - 20].to_vec();
    assert!(matches!(p.deliver(&bare), Err(AutokeyError::NoMac)));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Rule 16: arbitrary octets, and genuine fields with random octets
    /// overwritten, never panic the client or the fast path.
    #[test]
    fn rule_16_arbitrary_fields_never_panic(
        junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        edits in proptest::collection::vec((0usize..600, proptest::prelude::any::<u8>()), 1..8),
    ) {
        let mut p = pair("iff", ip("10.0.0.2"), None);
        let good = reply_to(&mut p, Iff);
        let mut fields: Vec<Vec<u8>> = PacketRef::parse(&good)
            .unwrap()
            .fields()
            .map(|f| f.as_bytes().to_vec())
            .collect();
        for (i, b) in &edits {
            let n = fields[0].len();
            fields[0][i % n] = *b;
        }
        fields.push(junk.clone());
        let refs: Vec<&[u8]> = fields.iter().map(|f| f.as_slice()).collect();
        let _ = p.client.receive_fields(&mut p.client_host, &refs, p.now, &mut p.rng);
        let mut req = header(Mode::Client, p.now).to_bytes().to_vec();
        req.extend_from_slice(&junk);
        if let Ok(pkt) = PacketRef::parse(&req) {
            let _ = fast_path(&p.server_host, &pkt, p.caddr, p.saddr, p.now, &(), &mut p.rng);
        }
        let _ = p.deliver(&req);
    }
}

#[test]
fn rule_12_a_crypto_nak_never_authenticates() {
    // 48 + 4 zero octets reaching the association's receive path (not
    // validated as a NAK by the caller) is dropped: key ID 0 is no
    // Autokey key, and nothing changes.
    let mut p = pair("tc", ip("10.0.0.2"), None);
    let good = reply_to(&mut p, Cert);
    let before = p.client.flags();
    let mut nak = good[..48].to_vec();
    nak.extend_from_slice(&[0; 4]);
    assert!(matches!(
        p.deliver(&nak),
        Err(AutokeyError::KeySpace { key_id: 0 })
    ));
    assert_eq!(p.client.flags(), before);
    p.deliver(&good).unwrap();
    assert!(p.client.flags() & status::CERT != 0);
}
