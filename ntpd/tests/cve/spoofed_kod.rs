//! CVE-2015-7704 and CVE-2015-7705: a spoofed kiss-o'-death (RATE, DENY)
//! made the reference back its poll off or stop polling. A KoD is
//! honoured only when its origin timestamp is our outstanding request's
//! transmit timestamp, which an off-path attacker does not know (RFC 5905
//! §7.4, §8).

use std::net::IpAddr;

use proto::NtpTimestamp;

use super::support::*;

/// `request`'s KoD of `code` with `origin`.
fn kod(request: &[u8], code: &[u8; 4], origin: NtpTimestamp) -> Vec<u8> {
    let mut k = answer(request, 4, origin);
    k[0] = 0xe4; // LI 3 (unsynchronised), version 4, mode 4
    k[1] = 0; // stratum 0: a kiss
    k[2] = 10;
    k[12..16].copy_from_slice(code);
    k
}

#[test]
fn cve_2015_7704_spoofed_rate_and_deny_kisses_change_nothing() {
    let server: IpAddr = [192, 0, 2, 2].into();
    let (mut core, clock) = core("server 192.0.2.2 minpoll 4 maxpoll 4\n");
    let poll = next_poll(&mut core, &clock, server);
    let guess = NtpTimestamp::from_bits(transmit(&poll).to_bits() ^ 0x1234_5678);
    for code in [b"RATE", b"DENY", b"RSTR"] {
        for origin in [guess, NtpTimestamp::ZERO] {
            deliver(&mut core, server, &kod(&poll, code, origin), None);
        }
    }
    let a = &assoc(&core, server).assoc;
    assert!(!a.denied, "a spoofed DENY does not stop polling");
    assert_eq!(a.stats.kods, 0, "no spoofed kiss was taken");
    let rate_poll = a.rate_poll;
    // A KoD that answers our request (origin = our transmit time) is
    // honoured: the refusal above was the origin test.
    deliver(
        &mut core,
        server,
        &kod(&poll, b"RATE", transmit(&poll)),
        None,
    );
    let a = &assoc(&core, server).assoc;
    assert_eq!(a.stats.kods, 1);
    assert!(a.rate_poll >= rate_poll && !a.denied);
}

#[test]
fn cve_2015_7705_a_flood_of_spoofed_kisses_keeps_the_client_polling() {
    let server: IpAddr = [192, 0, 2, 2].into();
    let (mut core, clock) = core("server 192.0.2.2 minpoll 4 maxpoll 4\n");
    for round in 0..5u64 {
        let poll = next_poll(&mut core, &clock, server);
        for i in 0..200u64 {
            let origin =
                NtpTimestamp::from_bits(transmit(&poll).to_bits() ^ ((round << 40) | (i + 1)));
            deliver(&mut core, server, &kod(&poll, b"RATE", origin), None);
        }
        deliver(&mut core, server, &answer(&poll, 4, transmit(&poll)), None);
    }
    let a = &assoc(&core, server).assoc;
    assert_eq!(
        reach(&core, server).count_ones(),
        5,
        "every genuine reply counted"
    );
    assert_eq!((a.stats.kods, a.denied), (0, false));
}
