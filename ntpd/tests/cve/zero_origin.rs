//! CVE-2015-8138 and CVE-2016-7431: the reference accepted a server
//! reply whose origin timestamp was zero while its request was
//! outstanding, so an off-path attacker who did not know the request's
//! transmit timestamp could still feed it time (RFC 5905 §8 "bogus"
//! test: the origin must equal our last transmit timestamp).

use std::net::IpAddr;

use proto::NtpTimestamp;

use super::support::*;

#[test]
fn cve_2015_8138_zero_origin_reply_is_refused_while_a_request_is_outstanding() {
    let server: IpAddr = [192, 0, 2, 2].into();
    let (mut core, clock) = core("server 192.0.2.2 minpoll 4 maxpoll 4\n");
    let poll = next_poll(&mut core, &clock, server);
    for _ in 0..10 {
        deliver(
            &mut core,
            server,
            &answer(&poll, 4, NtpTimestamp::ZERO),
            None,
        );
    }
    assert_eq!(reach(&core, server), 0, "a zero origin is never a reply");
    assert!(assoc(&core, server).assoc.stats.bogus >= 1);
    // The genuine reply, origin = our transmit timestamp, still counts
    // (so the refusal above is the origin test, not a broken reply).
    deliver(&mut core, server, &answer(&poll, 4, transmit(&poll)), None);
    assert_eq!(reach(&core, server), 1);
}

#[test]
fn cve_2016_7431_zero_origin_after_a_good_exchange_is_refused_too() {
    let server: IpAddr = [192, 0, 2, 2].into();
    let (mut core, clock) = core("server 192.0.2.2 minpoll 4 maxpoll 4\n");
    let poll = next_poll(&mut core, &clock, server);
    deliver(&mut core, server, &answer(&poll, 4, transmit(&poll)), None);
    let poll = next_poll(&mut core, &clock, server);
    let before = assoc(&core, server).assoc.peer.filter().output();
    deliver(
        &mut core,
        server,
        &answer(&poll, 4, NtpTimestamp::ZERO),
        None,
    );
    assert_eq!(
        reach(&core, server) & 1,
        0,
        "the second poll stays unanswered"
    );
    assert_eq!(assoc(&core, server).assoc.peer.filter().output(), before);
}
