//! Replays every reference capture in the fixtures folder (or in
//! `$AUTOKEY_FIXTURES`) through the `autokey` crate: every signature
//! verifies with the sender's certificate key and digest, every session-key
//! MAC recomputes, every COOK response decrypts with the receiver's host key
//! (and equals the reference's private-value-0 cookie in client/server
//! mode, or gives the XOR session cookie in symmetric mode), every identity
//! response verifies — or fails with `XEVNT_ID` exactly where the receiving
//! reference logged that failure — every SIGN response is a certificate for
//! the requester issued by the server — octet for octet the certificate
//! our SIGN issuing makes from the same request at the same second — and
//! the senders' key-ID chains and
//! AUTO anchors recompute and pass the receive-side chain check.
//!
//! Hosts, passwords, addresses, modes, digests and identity groups come from
//! each run's `ntp.conf` files and key folders, never from constants.

mod autokey_common;

use std::collections::HashMap;
use std::net::IpAddr;

use autokey::cert::{check_signed_certificate, issue_certificate, parse_certificate, peer_key};
use autokey::cookie::decrypt_cookie;
use autokey::host::{LocalHost, RespondContext};
use autokey::keylist::chain_check;
use autokey::message::{AutokeyValues, Message, Request, Response};
use autokey::server::{fast_path, ServerReply};
use autokey::session::{next_key_id, ServerSecret, SessionKey};
use autokey::value::Signer;
use autokey::Xevnt;
use autokey_common::{load_run, run_dirs, Run};
use keystore::cert::CertRole;
use keystore::{Certificate, KeyError};
use ntp_tests::fixtures_dir;
use proto::exten::AutokeyCode;
use proto::{Mode, PacketRef};
use rand::SeedableRng;

#[derive(Default, Debug)]
struct Report {
    packets: usize,
    macs: usize,
    signatures: usize,
    cookies: usize,
    signs: usize,
    proofs_ok: usize,
    proofs_failed_as_reference: usize,
    chain_links: usize,
    new_lists: usize,
    auto_anchors: usize,
    accepted_by_chain: usize,
    accepted_by_field: usize,
    identical_responses: usize,
    fast_path_keys: usize,
}

/// Our responder for a host of the run, with the reference's server
/// private value 0 so that its cookies match the capture (brief §5.3);
/// `None` when we refuse the host's key files (stock MV server key).
fn responder(h: &autokey_common::RunHost) -> Option<LocalHost> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let creds = h.try_credentials().ok()?;
    let mut host = LocalHost::new(creds, 0, 17, &mut rng).ok()?;
    host.set_secret(ServerSecret::with_private(0, 0, 17));
    Some(host)
}

#[derive(Default)]
struct SenderStream {
    prev: Option<u32>,
    prev_cookie: u32,
    prev_unsynced: bool,
}

#[derive(Default)]
struct ReceiverChain {
    anchor: Option<AutokeyValues>,
    last: Option<u32>,
}

fn pair(a: IpAddr, b: IpAddr) -> (IpAddr, IpAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

fn replay(run: &Run) -> Report {
    let mut r = Report::default();
    let mut pair_cookie: HashMap<(IpAddr, IpAddr), u32> = HashMap::new();
    let mut hcookie: HashMap<(IpAddr, IpAddr), u32> = HashMap::new();
    let mut challenges: HashMap<(IpAddr, IpAddr), Vec<u8>> = HashMap::new();
    let mut sign_requests: HashMap<(IpAddr, IpAddr), Vec<u8>> = HashMap::new();
    let mut last_request: HashMap<(IpAddr, IpAddr, AutokeyCode), Request> = HashMap::new();
    let mut responders: HashMap<usize, Option<LocalHost>> = HashMap::new();
    let mut reply_keys: HashMap<(IpAddr, IpAddr), SessionKey> = HashMap::new();
    let mut trusted: HashMap<usize, Certificate> = HashMap::new();
    let mut senders: HashMap<(IpAddr, IpAddr), SenderStream> = HashMap::new();
    let mut receivers: HashMap<(IpAddr, IpAddr), ReceiverChain> = HashMap::new();
    let name = run.dir.display().to_string();

    for d in &run.datagrams {
        let (src, dst) = (d.src.ip(), d.dst.ip());
        let at = format!("{name} frame {}", d.frame);
        let si = run
            .host_at(src)
            .unwrap_or_else(|| panic!("{at}: unknown sender {src}"));
        let sender = &run.hosts[si];
        let di = run.host_at(dst);
        let pkt = PacketRef::parse(&d.payload).unwrap_or_else(|e| panic!("{at}: {e}"));
        r.packets += 1;
        let mode = pkt.header().mode;
        let Some(mac) = pkt.mac() else { continue };
        if mac.is_crypto_nak() {
            continue;
        }
        let key_id = mac.key_id();
        let has_fields = pkt.field_count() > 0;
        let multicast = dst.is_multicast() || sender.broadcast.contains(&dst);
        let session_cookie = |pc: &HashMap<(IpAddr, IpAddr), u32>| {
            if multicast {
                0
            } else {
                pc.get(&pair(src, dst)).copied().unwrap_or(0)
            }
        };
        // Session-key MAC (brief §5.1, §5.2): cookie 0 with fields.
        let mac_cookie = if has_fields {
            0
        } else {
            session_cookie(&pair_cookie)
        };
        SessionKey::derive(sender.digest, src, dst, key_id, mac_cookie)
            .and_then(|k| k.verify(pkt.authenticated_bytes(), mac))
            .unwrap_or_else(|e| panic!("{at}: {e}"));
        r.macs += 1;

        // Our server fast path (with the reference's private value 0)
        // accepts every captured client request and derives the very key
        // the reference server MAC'd its reply with (brief §5.5).
        if mode == Mode::Client {
            if let Some(di) = di {
                let slot = responders
                    .entry(di)
                    .or_insert_with(|| responder(&run.hosts[di]));
                if let Some(server) = slot.as_mut() {
                    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
                    match fast_path(server, &pkt, src, dst, 0, &(), &mut rng) {
                        Ok(ServerReply::Reply { key, .. }) => {
                            reply_keys.insert((dst, src), key);
                        }
                        other => panic!("{at}: fast path: {other:?}"),
                    }
                }
            }
        }
        if mode == Mode::Server {
            if let Some(key) = reply_keys.remove(&(src, dst)) {
                key.verify(pkt.authenticated_bytes(), mac)
                    .unwrap_or_else(|e| panic!("{at}: reference reply vs our fast-path key: {e}"));
                r.fast_path_keys += 1;
            }
        }

        let mut signed_response = false;
        let mut auto_values = None;
        let mut unsynced = false;
        for f in pkt.fields() {
            let msg = Message::parse(f.as_bytes()).unwrap_or_else(|e| panic!("{at}: {e}"));
            let word = u32::from_be_bytes(f.as_bytes()[..4].try_into().unwrap());
            let value = match &msg {
                Message::Request(q) => q.value(),
                Message::Response(p) => p.value(),
            };
            if let Some(v) = value {
                unsynced |= v.timestamp == 0;
                if !v.signature.is_empty() {
                    let key = peer_key(&sender.cert).unwrap_or_else(|e| panic!("{at}: {e}"));
                    key.verify_signature(msg.code(), v)
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                    r.signatures += 1;
                    signed_response |= matches!(msg, Message::Response(_));
                }
            }
            let receiver = di.map(|i| &run.hosts[i]);
            // Our responder, given the reference's request and its clock,
            // answers ASSOC, CERT, LEAP and SIGN with the same octets.
            if let Message::Request(q) = &msg {
                last_request.insert((src, dst, q.code()), q.clone());
            }
            if let (Message::Response(resp), Mode::Server) = (&msg, mode) {
                let code = resp.code();
                let deterministic = matches!(
                    code,
                    AutokeyCode::Assoc | AutokeyCode::Cert | AutokeyCode::Leap | AutokeyCode::Sign
                );
                if let (true, Some(v), Some(q)) = (
                    deterministic,
                    resp.value(),
                    last_request.get(&(dst, src, code)),
                ) {
                    // A host whose key files we refuse to load (stock MV key)
                    // has no responder to compare.
                    let slot = responders.entry(si).or_insert_with(|| responder(sender));
                    let Some(ours) = slot.as_mut() else { continue };
                    let last_update = if code == AutokeyCode::Sign {
                        v.filestamp.max(1)
                    } else {
                        v.timestamp
                    };
                    if code != AutokeyCode::Sign {
                        ours.update(last_update);
                    } else if !ours.synchronised() {
                        ours.update(1);
                    }
                    let ctx = RespondContext {
                        assoc_id: resp.assoc_id(),
                        client: dst,
                        server: src,
                        now: v.timestamp,
                        cookie: None,
                        auto: None,
                    };
                    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
                    let field = Message::Response(ours.respond(q, &ctx, &mut rng))
                        .to_field()
                        .unwrap();
                    assert_eq!(
                        field.as_bytes(),
                        f.as_bytes(),
                        "{at}: our {code:?} response differs"
                    );
                    r.identical_responses += 1;
                }
            }
            match msg {
                Message::Request(Request::Identity { value, .. }) => {
                    challenges.insert((src, dst), value.value);
                }
                Message::Request(Request::Sign { value, .. }) => {
                    sign_requests.insert((src, dst), value.value);
                }
                Message::Response(Response::Cert { value, .. }) => {
                    let rc = receiver.expect("CERT response to a host");
                    let cert = parse_certificate(&value.value, value.filestamp, &rc.cert.subject)
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                    if cert.role == CertRole::TrustRoot && cert.subject == cert.issuer {
                        trusted.insert(di.unwrap(), cert);
                    }
                }
                Message::Response(Response::Cook { value, .. }) => {
                    let rc = receiver.expect("COOK response to a host");
                    let cookie = decrypt_cookie(&rc.host_key.pkey, &value.value)
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                    r.cookies += 1;
                    if mode == Mode::Server {
                        // The reference's never-initialised private value 0 (brief §5.3).
                        let expect = ServerSecret::with_private(0, 0, 17)
                            .cookie(sender.digest, dst, src)
                            .unwrap();
                        assert_eq!(cookie, expect, "{at}: server cookie");
                        pair_cookie.insert(pair(src, dst), cookie);
                    } else {
                        hcookie.insert((src, dst), cookie);
                        if let Some(other) = hcookie.get(&(dst, src)) {
                            pair_cookie.insert(pair(src, dst), cookie ^ other);
                        }
                    }
                }
                Message::Response(Response::Sign { value, .. }) => {
                    let rc = receiver.expect("SIGN response to a host");
                    let key = peer_key(&sender.cert).unwrap();
                    check_signed_certificate(
                        &value.value,
                        value.filestamp,
                        &rc.cert,
                        &sender.cert.subject,
                        &key,
                    )
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
                    // Issuing the same request at the same second gives the
                    // reference's certificate octet for octet (brief §7.4).
                    let request = sign_requests
                        .remove(&(dst, src))
                        .expect("SIGN request before its response");
                    let signer = Signer::new(sender.host_key.pkey.clone(), key.digest());
                    let ours = issue_certificate(&request, &signer, &sender.cert, value.timestamp)
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                    assert_eq!(
                        ours, value.value,
                        "{at}: issued certificate differs from the reference's"
                    );
                    r.signs += 1;
                }
                Message::Response(Response::Identity {
                    scheme,
                    assoc_id,
                    value,
                }) => {
                    let rc = receiver.expect("identity response to a host");
                    let group = rc.group_for(src).expect("ident configured");
                    let ch = challenges
                        .remove(&(dst, src))
                        .unwrap_or_else(|| panic!("{at}: no outstanding challenge"));
                    let reference_failed = rc.logged_event(word, assoc_id, 0x10e);
                    let ci = match rc.client_identity(scheme, &group, trusted.get(&di.unwrap())) {
                        Ok(ci) => ci,
                        Err(e @ KeyError::PublicValueLost { .. }) => {
                            assert!(reference_failed, "{at}: {e}, but the reference verified");
                            rc.client_identity_as_reference_loads(scheme, &group)
                        }
                        Err(e) => panic!("{at}: {e}"),
                    };
                    let challenge = ci.challenge_from_octets(&ch).unwrap();
                    let result = ci.verify(challenge, value.filestamp, &value.value);
                    if reference_failed {
                        let e = result.expect_err(&format!("{at}: the reference logged 10e"));
                        assert_eq!(e.event(), Xevnt::Id, "{at}: {e}");
                        r.proofs_failed_as_reference += 1;
                    } else {
                        result.unwrap_or_else(|e| panic!("{at}: {e}"));
                        r.proofs_ok += 1;
                    }
                }
                Message::Response(Response::Auto { values, .. }) => auto_values = Some(values),
                _ => {}
            }
        }

        let cookie_now = session_cookie(&pair_cookie);
        // Sender side (brief §5.4): consecutive key IDs of a sender form a
        // reverse hash chain; a new list only starts at the first packet,
        // after a cookie change, with a fresh AUTO announcement, or after an
        // unsynchronised (one-entry) list.
        if mode != Mode::Server {
            let s = senders.entry((src, dst)).or_default();
            if let Some(prev) = s.prev {
                if next_key_id(sender.digest, src, dst, key_id, cookie_now).unwrap() == prev {
                    r.chain_links += 1;
                } else {
                    assert!(
                        s.prev_cookie != cookie_now || auto_values.is_some() || s.prev_unsynced,
                        "{at}: key ID {key_id:#010x} breaks the chain of {src}"
                    );
                    r.new_lists += 1;
                }
            }
            s.prev = Some(key_id);
            s.prev_cookie = cookie_now;
            s.prev_unsynced = unsynced;
        }
        // Receive side (brief §5.6 step 4) for symmetric and broadcast
        // packets; AUTO values unicast in a broadcast volley anchor the
        // broadcaster's broadcast stream.
        if let Some(values) = auto_values {
            let stream = match (mode, sender.broadcast.first()) {
                (Mode::Server, Some(b)) => (src, *b),
                _ => (src, dst),
            };
            receivers.entry(stream).or_default().anchor = Some(values);
            r.auto_anchors += 1;
            if stream == (src, dst) {
                chain_check(
                    sender.digest,
                    src,
                    dst,
                    key_id,
                    cookie_now,
                    &[values.key],
                    values.seq as u32 + 1,
                )
                .unwrap_or_else(|e| panic!("{at}: AUTO anchor not reached: {e}"));
            }
        }
        if matches!(
            mode,
            Mode::SymmetricActive | Mode::SymmetricPassive | Mode::Broadcast
        ) {
            let rx = receivers.entry((src, dst)).or_default();
            if signed_response {
                rx.last = Some(key_id);
                r.accepted_by_field += 1;
            } else if let Some(anchor) = rx.anchor {
                let mut targets = vec![anchor.key];
                targets.extend(rx.last);
                chain_check(
                    sender.digest,
                    src,
                    dst,
                    key_id,
                    cookie_now,
                    &targets,
                    anchor.seq as u32 + 1,
                )
                .unwrap_or_else(|e| panic!("{at}: {e}"));
                rx.last = Some(key_id);
                r.accepted_by_chain += 1;
            }
        }
    }
    r
}

#[test]
fn every_reference_capture_replays() {
    let fixtures = fixtures_dir();
    let runs = run_dirs(&fixtures);
    assert!(!runs.is_empty(), "no runs under {}", fixtures.display());
    let mut total = Report::default();
    for dir in runs {
        let run = load_run(&dir);
        let r = replay(&run);
        println!(
            "{}: {} packets, {} signatures, {} MACs, {} cookies, {} SIGN certificates, {} server responses rebuilt octet for octet, {} reply MACs from our fast-path keys, identity proofs {} verified + {} failing as the reference logged, key IDs {} chained / {} new lists, {} AUTO anchors, {} accepted by chain",
            dir.display(),
            r.packets,
            r.signatures,
            r.macs,
            r.cookies,
            r.signs,
            r.identical_responses,
            r.fast_path_keys,
            r.proofs_ok,
            r.proofs_failed_as_reference,
            r.chain_links,
            r.new_lists,
            r.auto_anchors,
            r.accepted_by_chain
        );
        assert_eq!(
            r.macs,
            r.packets,
            "{}: every packet carries a MAC",
            dir.display()
        );
        // Cross-check with the independent decoder's count, when present.
        let decoded = std::fs::read_to_string(dir.join("decode.txt")).unwrap_or_default();
        if let Some(n) = decoded
            .lines()
            .find_map(|l| l.strip_prefix("signatures ok="))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<usize>().ok())
        {
            assert_eq!(
                r.signatures,
                n,
                "{}: signatures verified vs decode.txt",
                dir.display()
            );
        }
        assert!(r.signatures > 0, "{}", dir.display());
        total.packets += r.packets;
        total.signatures += r.signatures;
        total.proofs_ok += r.proofs_ok;
        total.proofs_failed_as_reference += r.proofs_failed_as_reference;
        total.accepted_by_chain += r.accepted_by_chain;
        total.auto_anchors += r.auto_anchors;
    }
    if std::env::var_os("AUTOKEY_FIXTURES").is_none() {
        // The committed fixtures hold IFF, GQ and MV successes and their
        // three stock-file failures, and complete p10 symmetric/broadcast runs.
        assert!(total.proofs_ok >= 3, "{total:?}");
        assert!(total.proofs_failed_as_reference >= 3, "{total:?}");
        assert!(
            total.auto_anchors >= 4 && total.accepted_by_chain >= 10,
            "{total:?}"
        );
    }
}
