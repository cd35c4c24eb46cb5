//! CVE-2015-7979: an off-path attacker sending broadcasts with a wrong
//! MAC, another key, no MAC or a crypto-NAK made the reference's
//! authenticated broadcast client tear its association down (and wait
//! for a new volley). Such packets are counted and ignored (RFC 5905
//! §9.2 rules, the association keeps its state).

use std::net::IpAddr;

use proto::NtpTimestamp;

use super::support::*;

fn broadcast(n: u32) -> Vec<u8> {
    let mut b = vec![0u8; 48];
    b[0] = 0x25; // LI 0, version 4, mode 5
    b[1] = 2;
    b[2] = 6;
    b[3] = 0xec;
    let t = NtpTimestamp::from_parts(0xe900_0000 + n * 64, 0).to_bits();
    b[16..24].copy_from_slice(&t.to_be_bytes());
    b[40..48].copy_from_slice(&t.to_be_bytes());
    b
}

#[test]
fn cve_2015_7979_bad_broadcasts_do_not_tear_down_the_association() {
    let server: IpAddr = [192, 0, 2, 5].into();
    let group: IpAddr = [192, 0, 2, 255].into();
    let (mut core, clock) = core("broadcastclient\n");
    deliver(
        &mut core,
        server,
        &signed(broadcast(0), 1, server),
        Some(group),
    );
    let id = assoc(&core, server).assoc.id;
    let key = assoc(&core, server).assoc.cfg.key;
    assert_eq!(key, Some(1), "mobilised with key 1");
    for n in 1..=300u32 {
        clock.advance(0.1);
        let mut wrong_mac = signed(broadcast(n), 1, server);
        let last = wrong_mac.len() - 1;
        wrong_mac[last] ^= 0x55;
        let mut nak = broadcast(n);
        nak.extend_from_slice(&[0; 4]);
        for d in [
            wrong_mac,
            signed(broadcast(n), 2, server),
            broadcast(n),
            nak,
        ] {
            deliver(&mut core, server, &d, Some(group));
        }
    }
    let a = assoc(&core, server);
    assert_eq!(a.assoc.id, id, "the same association");
    assert_eq!(a.assoc.cfg.key, Some(1));
    assert!(!a.assoc.denied);
    assert!(a.assoc.stats.badauth + a.assoc.stats.crypto_naks >= 900);
    assert_eq!(core.assocs.len(), 1, "and no other was mobilised");
}
