//! The `autokey` symmetric engine, standing in for each peer of the
//! reference symmetric captures (`peer … autokey` on both sides), fed the
//! other peer's captured extension fields, puts the same message codes
//! (responses and requests, in order) into each packet as the reference
//! peer did (brief §4.2). Hosts, keys and addresses come from the run's
//! `ntp.conf` files.
//!
//! The test stands in for the daemon's packet processing of the reference
//! that made the capture, 4.2.8p10 (`receive()`/`process_packet()` in
//! ntpd/ntp_proto.c; see [`p10_kod_dropped`] and
//! `autokey::association::Association::set_peer_synchronised`):
//!
//! * a packet whose stratum field is 0 is a kiss-o'-death to p10 in any
//!   mode and is dropped before Autokey unless its origin, receive and
//!   transmit timestamps are equal, non-zero and our last transmit
//!   timestamp (bob's first packet: "KoD packet from 10.0.0.2 has a zero
//!   org or rec timestamp. Ignoring." in alice's log). The leap indicator
//!   plays no part in that drop.
//! * the peer counts as synchronised for the symmetric COOK row once a
//!   packet of it passed the packet tests (origin = our last transmit
//!   timestamp, LI ≠ 3, stratum 1..15, and TEST8 "bad autokey", which
//!   stays lit until the association is proventic): only then does the
//!   reference copy the packet's LI into `peer->leap`.

mod autokey_common;

use autokey::association::{AssocKind, Association, AssociationConfig};
use autokey::host::LocalHost;
use autokey::message::{Message, Request};
use autokey_common::{load_run, run_dirs};
use ntp_tests::fixtures_dir;
use proto::exten::AutokeyField;
use proto::PacketRef;
use rand::SeedableRng;

/// 4.2.8p10's kiss-o'-death screen in `receive()`: a packet with stratum
/// field 0 (any mode) is dropped before `crypto_recv()` unless its origin
/// and receive timestamps are non-zero, equal to its transmit timestamp and
/// to our last transmit timestamp `aorg`. (4.2.8p18 applies this only to
/// server-mode packets with LI 3 and a kiss-code refid.)
fn p10_kod_dropped(h: &proto::Header, aorg: proto::NtpTimestamp) -> bool {
    if h.stratum != 0 {
        return false;
    }
    let (org, rec, xmt) = (
        h.origin_timestamp,
        h.receive_timestamp,
        h.transmit_timestamp,
    );
    org.is_zero() || rec.is_zero() || xmt != org || xmt != rec || org != aorg
}

/// The header tests after which the reference copies the packet's leap
/// indicator into `peer->leap` (`process_packet()`, TEST2 and TEST6 of the
/// basic symmetric mode): origin = our last transmit timestamp, not
/// unsynchronised, stratum 1..15.
fn passes_header_tests(h: &proto::Header, aorg: proto::NtpTimestamp) -> bool {
    !h.origin_timestamp.is_zero()
        && h.origin_timestamp == aorg
        && h.leap != proto::LeapIndicator::Unsynchronized
        && (1..16).contains(&h.stratum)
}

/// The (R bit, code) of each field, as `decode.txt` prints them.
fn field_codes(fields: &[Vec<u8>]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|f| AutokeyField::parse(f).ok())
        .map(|f| {
            let h = f.header();
            format!(
                "{}-{}",
                h.code.name(),
                if h.response { "resp" } else { "req" }
            )
        })
        .collect()
}

#[test]
fn symmetric_peers_send_the_reference_fields() {
    let mut replayed = 0;
    for dir in run_dirs(&fixtures_dir()) {
        let run = load_run(&dir);
        let symmetric = run.hosts.iter().all(|h| h.is_peer());
        if !symmetric || run.hosts.len() != 2 {
            continue;
        }
        for me in 0..2 {
            let cfg = &run.hosts[me];
            let peer = &run.hosts[1 - me];
            let (local, remote) = (cfg.addr.unwrap(), peer.addr.unwrap());
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(me as u64);
            let mut host = LocalHost::new(cfg.credentials(), 0, 17, &mut rng).unwrap();
            let mut assoc: Option<Association> = None;
            // Our last transmit timestamp (the reference's `aorg`) and
            // whether the peer passed the header tests (`peer->leap`).
            let mut aorg = proto::NtpTimestamp::ZERO;
            let mut peer_synced = false;
            let mut dropped = 0;
            let (mut reference, mut ours) = (Vec::new(), Vec::new());
            for d in &run.datagrams {
                let pkt = PacketRef::parse(&d.payload).unwrap();
                let now = (d.time as i64 + 2_208_988_800) as u32;
                let fields: Vec<Vec<u8>> = pkt.fields().map(|f| f.as_bytes().to_vec()).collect();
                if d.src.ip() == local && d.dst.ip() == remote {
                    // Our own id and sync state come from the captured packet.
                    let mut assoc_id = None;
                    for f in &fields {
                        if let Ok(Message::Request(q)) = Message::parse(f) {
                            assoc_id = Some(q.assoc_id());
                            let update = match &q {
                                Request::Assoc { value, .. } => value.timestamp,
                                Request::Cert { value, .. } => value.filestamp,
                                Request::Cook { value, .. } | Request::Sign { value, .. } => {
                                    value.timestamp
                                }
                                _ => 0,
                            };
                            if update > host.last_update() {
                                host.update(update);
                            }
                        }
                    }
                    let a = assoc.get_or_insert_with(|| {
                        Association::new(
                            AssociationConfig {
                                assoc_id: assoc_id.expect("first packet carries a request"),
                                local,
                                remote,
                                ident: None,
                                identities: Vec::new(),
                                poll: 4,
                                automax: 12,
                                kind: AssocKind::Symmetric,
                            },
                            now,
                        )
                    });
                    a.set_peer_synchronised(peer_synced);
                    aorg = pkt.header().transmit_timestamp;
                    let tx = a.poll(&host, now, &mut rng).unwrap();
                    let sent: Vec<Vec<u8>> =
                        tx.fields.iter().map(|f| f.as_bytes().to_vec()).collect();
                    reference.push(field_codes(&fields));
                    ours.push(field_codes(&sent));
                } else if d.src.ip() == remote && d.dst.ip() == local {
                    // The peer's packets, once we are running, through
                    // p10's receive-side screens (module comment).
                    let h = pkt.header();
                    if assoc.is_some() && p10_kod_dropped(h, aorg) {
                        dropped += 1;
                        continue;
                    }
                    let header_ok = passes_header_tests(h, aorg);
                    if header_ok {
                        aorg = proto::NtpTimestamp::ZERO;
                    }
                    if let Some(a) = assoc.as_mut() {
                        let refs: Vec<&[u8]> = fields.iter().map(|f| f.as_slice()).collect();
                        for e in a.receive_fields(&mut host, &refs, now, &mut rng) {
                            if let autokey::association::AssocEvent::Rejected(err)
                            | autokey::association::AssocEvent::Restarted(err) = e
                            {
                                panic!("{} frame {}: {err}", dir.display(), d.frame);
                            }
                        }
                        // TEST8 ("bad autokey", set while PROV is dark) is
                        // one of the packet tests, so `peer->leap` is only
                        // copied once the association is proventic.
                        if header_ok && a.is_proventic() {
                            peer_synced = true;
                        }
                    }
                }
            }
            println!(
                "{} as {}: {} packets sent, {} peer packets dropped as p10 KoDs: {:?}",
                dir.display(),
                cfg.label,
                reference.len(),
                dropped,
                reference
            );
            assert_eq!(ours, reference, "{} as {}", dir.display(), cfg.label);
            let a = assoc.expect("association");
            assert!(a.is_complete(), "{:#x}", a.flags());
            replayed += 1;
        }
    }
    if std::env::var_os("AUTOKEY_FIXTURES").is_none() {
        assert_eq!(replayed, 2, "both peers of p10-sym-tc");
    }
}
