//! CVE-2015-7974: in the reference any trusted key authenticated any
//! association, so a holder of key 2 could impersonate the server
//! configured with `key 1`. An association with a key accepts only its
//! own key (RFC 5905 §7.3: the key ID names the key agreed with that
//! peer).

use std::net::IpAddr;

use super::support::*;

#[test]
fn cve_2015_7974_another_trusted_key_does_not_authenticate_the_association() {
    let server: IpAddr = [192, 0, 2, 2].into();
    let (mut core, clock) = core("server 192.0.2.2 key 1 minpoll 4 maxpoll 4\n");
    let poll = next_poll(&mut core, &clock, server);
    let reply = answer(&poll, 4, transmit(&poll));
    deliver(&mut core, server, &signed(reply.clone(), 2, server), None);
    deliver(&mut core, server, &reply, None);
    assert_eq!(reach(&core, server), 0, "key 2 and no MAC are refused");
    assert!(assoc(&core, server).assoc.stats.badauth >= 2);
    deliver(&mut core, server, &signed(reply, 1, server), None);
    assert_eq!(reach(&core, server), 1, "key 1 is the association's");
}

#[test]
fn cve_2015_7974_a_symmetric_peer_keeps_to_its_key() {
    let peer: IpAddr = [192, 0, 2, 3].into();
    let (mut core, clock) = core("peer 192.0.2.3 key 2 minpoll 4 maxpoll 4\n");
    let poll = next_poll(&mut core, &clock, peer);
    let reply = answer(&poll, 2, transmit(&poll));
    deliver(&mut core, peer, &signed(reply.clone(), 1, peer), None);
    assert_eq!(reach(&core, peer), 0);
    deliver(&mut core, peer, &signed(reply, 2, peer), None);
    assert_eq!(reach(&core, peer), 1);
}
