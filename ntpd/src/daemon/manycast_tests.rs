//! Manycast (RFC 5905 §3, the reference's `manycastclient` /
//! `manycastserver`) through two cores over simulated clocks: the
//! solicitation, the servers' answers and the client associations they
//! mobilise.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use proto::{Header, Mode, NtpTimestamp};

use super::*;
use crate::assoc::HostMode;
use crate::cli::Options;
use crate::net::socket::Received;

const GROUP: [u8; 4] = [224, 0, 1, 1];

/// A core from `conf` (keys 1 MD5 and 2 SHA1 trusted) with a wildcard
/// socket (index 0) and one on 192.0.2.9 (index 1), synchronised at
/// stratum 5 or not; its associations mobilised as the daemon does.
fn core(conf: &str, synchronised: bool) -> Core {
    core_at(conf, synchronised, &SimClock::new())
}

/// [`core`] on the simulated clock `clock`.
fn core_at(conf: &str, synchronised: bool, clock: &SimClock) -> Core {
    let mut core = super::tests::core_at(conf, clock);
    core.net.socket_addrs = vec![
        ("0.0.0.0:123".parse().unwrap(), true),
        ("192.0.2.9:123".parse().unwrap(), false),
    ];
    if !synchronised {
        core.sys = crate::system::SystemState::unsynchronized(-20);
    }
    let c = config::conf::parse_str(conf, Path::new("t.conf")).unwrap();
    let s = Settings::from_conf(&c.config, &Options::default(), Path::new("t.conf")).unwrap();
    for cfg in mobilize::mobilize(&s.associations, 123, false, false, 0.004).configs {
        core.mobilize(cfg, Some(1), Some(IpAddr::from([192, 0, 2, 9])));
    }
    core
}

fn received(len: usize, src: SocketAddr, dst: IpAddr) -> Received {
    Received {
        len,
        truncated: false,
        src,
        dst: Some(dst),
        rx_time: Some(NtpTimestamp::from_parts(0xe900_0000, 0)),
    }
}

/// The solicitation the client's first tick sends: (bytes, ttl).
fn solicitation(client: &mut Core) -> (Vec<u8>, Option<u8>) {
    client.tick();
    let o = client
        .out
        .actions
        .take_sends()
        .into_iter()
        .find(|o| o.dst == SocketAddr::from((GROUP, 123)))
        .expect("a solicitation to the group");
    (o.bytes, o.ttl)
}

/// `server` answers `request` as it arrived on its wildcard socket.
fn answer(server: &mut Core, request: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; RECV_BUF];
    let r = received(
        request.len(),
        "192.0.2.9:123".parse().unwrap(),
        IpAddr::from(GROUP),
    );
    server
        .handle_one(0, true, request, &r, &mut out)
        .map(|n| out[..n].to_vec())
}

/// `client` takes `reply` from `from` on its 192.0.2.9 socket.
fn take(client: &mut Core, reply: &[u8], from: [u8; 4]) {
    let mut out = vec![0u8; RECV_BUF];
    let r = received(
        reply.len(),
        SocketAddr::from((from, 123)),
        IpAddr::from([192, 0, 2, 9]),
    );
    assert_eq!(client.handle_one(1, false, reply, &r, &mut out), None);
}

fn clients(c: &Core) -> Vec<(SocketAddr, Option<u16>, Option<u16>)> {
    c.assocs
        .iter()
        .filter(|r| r.assoc.cfg.mode == HostMode::Client)
        .map(|r| (r.assoc.remote(), r.assoc.cfg.key, r.manycast_parent))
        .collect()
}

#[test]
fn each_answering_server_gets_a_client_association() {
    let mut client = core(
        "disable auth\nmanycastclient 224.0.1.1 minpoll 4 maxpoll 6 iburst\n",
        false,
    );
    let parent = client.assocs[0].assoc.id;
    let (req, ttl) = solicitation(&mut client);
    assert_eq!(ttl, Some(1), "the ring starts at one hop");
    assert_eq!(Header::parse(&req).unwrap().mode, Mode::Client);

    let mut server = core("manycastserver 224.0.1.1\n", true);
    let reply = answer(&mut server, &req).expect("a synchronised server answers");
    let h = Header::parse(&reply).unwrap();
    assert_eq!((h.mode, h.stratum), (Mode::Server, 5));
    assert_eq!(h.origin_timestamp.to_bytes(), req[40..48]);
    assert_eq!(reply.len(), 48);

    take(&mut client, &reply, [192, 0, 2, 50]);
    take(&mut client, &reply, [192, 0, 2, 51]);
    // The same server again: no duplicate.
    take(&mut client, &reply, [192, 0, 2, 50]);
    let c = clients(&client);
    assert_eq!(
        c,
        vec![
            ("192.0.2.50:123".parse().unwrap(), None, Some(parent)),
            ("192.0.2.51:123".parse().unwrap(), None, Some(parent)),
        ]
    );
    let child = &client.assocs[1].assoc.cfg;
    assert_eq!((child.minpoll, child.maxpoll, child.iburst), (4, 6, true));
    assert!(child.ephemeral, "removed again when unreachable");
}

#[test]
fn the_ring_grows_each_poll_up_to_the_ttl_option() {
    let mut client = core("disable auth\nmanycastclient 224.0.1.1 ttl 5\n", false);
    let mut ttls = Vec::new();
    for _ in 0..5 {
        let r = &mut client.assocs[0];
        let mut buf = [0u8; 128];
        let mut ctx = crate::assoc::AuthContext {
            keys: &client.policy.keys,
            host: None,
            now: 0,
            rng: &mut client.rng,
            events: Vec::new(),
        };
        r.assoc
            .poll(&client.sys, &mut ctx, &mut buf, 0.0, || client.env.wall())
            .unwrap()
            .unwrap();
        ttls.push(r.assoc.manycast_ttl().unwrap());
    }
    assert_eq!(ttls, [1, 2, 4, 5, 5]);
}

#[test]
fn unsynchronised_or_higher_stratum_servers_stay_silent() {
    let mut client = core("disable auth\nmanycastclient 224.0.1.1\n", false);
    let (req, _) = solicitation(&mut client);
    let mut unsynced = core("manycastserver 224.0.1.1\n", false);
    assert_eq!(answer(&mut unsynced, &req), None);
    assert_eq!(unsynced.stats.manycast_declined, 1);
    // A solicitor of stratum 3 is not helped by a stratum 5 server.
    let mut better = req.clone();
    better[1] = 3;
    let mut server = core("manycastserver 224.0.1.1\n", true);
    assert_eq!(answer(&mut server, &better), None);
    assert_eq!(server.stats.manycast_declined, 1);
    // Without `manycastserver` the group is not ours: dropped unheard.
    let mut plain = core("", true);
    assert_eq!(answer(&mut plain, &req), None);
    assert_eq!(plain.stats.wildcard_dropped, 1);
}

#[test]
fn with_auth_enabled_only_authentic_answers_mobilise() {
    // Unauthenticated: solicitation answered, answer refused.
    let mut client = core("manycastclient 224.0.1.1\n", false);
    let (req, _) = solicitation(&mut client);
    let mut server = core("manycastserver 224.0.1.1\n", true);
    let reply = answer(&mut server, &req).unwrap();
    take(&mut client, &reply, [192, 0, 2, 50]);
    assert!(clients(&client).is_empty());

    // With key 2 (SHA1) both ways: mobilised with the key.
    let mut client = core("manycastclient 224.0.1.1 key 2\n", false);
    let (req, _) = solicitation(&mut client);
    assert_eq!(req.len(), 48 + 4 + 20);
    let reply = answer(&mut server, &req).unwrap();
    assert_eq!(reply.len(), 48 + 4 + 20, "answered with the request's key");
    take(&mut client, &reply, [192, 0, 2, 50]);
    let parent = client.assocs[0].assoc.id;
    assert_eq!(
        clients(&client),
        vec![("192.0.2.50:123".parse().unwrap(), Some(2), Some(parent))]
    );

    // A wrong MAC gets no crypto-NAK from a manycast server.
    let mut bad = req.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(answer(&mut server, &bad), None);
}

#[test]
fn an_answer_to_no_solicitation_mobilises_nothing() {
    let mut client = core("disable auth\nmanycastclient 224.0.1.1\n", false);
    let (req, _) = solicitation(&mut client);
    let mut server = core("manycastserver 224.0.1.1\n", true);
    let mut reply = answer(&mut server, &req).unwrap();
    reply[24] ^= 0x80; // another origin timestamp
    take(&mut client, &reply, [192, 0, 2, 50]);
    assert!(clients(&client).is_empty());
}

/// Whether, with `tos maxclock` and two servers found, the manycast
/// association's next poll (100 s later) solicits again.
fn solicits_again(maxclock: usize) -> bool {
    let clock = SimClock::new();
    let mut client = core_at(
        &format!("disable auth\ntos maxclock {maxclock}\nmanycastclient 224.0.1.1 minpoll 4\n"),
        false,
        &clock,
    );
    let (req, _) = solicitation(&mut client);
    let mut server = core("manycastserver 224.0.1.1\n", true);
    let reply = answer(&mut server, &req).unwrap();
    take(&mut client, &reply, [192, 0, 2, 50]);
    take(&mut client, &reply, [192, 0, 2, 51]);
    assert_eq!(clients(&client).len(), 2);
    clock.advance(100.0);
    assert!(client.assocs[0].assoc.poll_due(client.env.monotonic()));
    client.tick();
    let out = client.out.actions.take_sends();
    out.iter().any(|o| o.dst.ip() == IpAddr::from(GROUP))
}

#[test]
fn enough_servers_stop_the_solicitations() {
    assert!(
        !solicits_again(2),
        "maxclock servers found: no solicitation"
    );
    assert!(solicits_again(3), "fewer than maxclock: the ring goes on");
}
