//! Two associations that send to one address (an NTS-KE server may name
//! another association's NTP server, RFC 8915 §4.1.7): a reply goes to the
//! association whose request it answers (its origin timestamp, RFC 5905
//! §8), not to whichever comes first.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use proto::Header;

use super::*;
use crate::cli::Options;
use crate::net::socket::Received;

const SERVER: [u8; 4] = [192, 0, 2, 1];

fn received(len: usize, src: SocketAddr) -> Received {
    Received {
        len,
        truncated: false,
        src,
        dst: Some(IpAddr::from([192, 0, 2, 9])),
        rx_time: Some(proto::NtpTimestamp::from_parts(0xe900_0000, 0)),
    }
}

fn reach(core: &Core, id: u16) -> u8 {
    let r = core.assocs.iter().find(|r| r.assoc.id == id).unwrap();
    r.assoc.peer.reach().register()
}

#[test]
fn a_reply_reaches_the_association_whose_request_it_answers() {
    let clock = SimClock::new();
    let conf = "disable auth\nserver 192.0.2.1 iburst\n";
    let mut client = super::tests::core_at(conf, &clock);
    client.net.socket_addrs = vec![
        ("0.0.0.0:123".parse().unwrap(), true),
        ("192.0.2.9:123".parse().unwrap(), false),
    ];
    let c = config::conf::parse_str(conf, Path::new("t.conf")).unwrap();
    let s = Settings::from_conf(&c.config, &Options::default(), Path::new("t.conf")).unwrap();
    let cfg = mobilize::mobilize(&s.associations, 123, false, false, 0.004).configs[0].clone();
    let local = Some(IpAddr::from([192, 0, 2, 9]));
    let first = client.mobilize(cfg.clone(), Some(1), local).unwrap();
    let mut requests = Vec::new();
    let mut send_one = |client: &mut Core| {
        for _ in 0..10 {
            clock.advance(1.0);
            client.tick();
            let sent = client.out.actions.take_sends();
            if !sent.is_empty() {
                requests.extend(sent);
                return;
            }
        }
        panic!("no request in 10 s");
    };
    send_one(&mut client);
    // The second association sends a second later: its own origin.
    let second = client
        .mobilize(cfg, Some(1), local)
        .expect("a second association on the same address");
    send_one(&mut client);
    assert!(requests.len() >= 2, "{} requests", requests.len());
    let from = SocketAddr::from((SERVER, 123));
    assert!(requests.iter().all(|o| o.dst == from));

    let mut server = super::tests::core_at("", &SimClock::new());
    server.net.socket_addrs = vec![
        ("0.0.0.0:123".parse().unwrap(), true),
        ("192.0.2.1:123".parse().unwrap(), false),
    ];
    let mut answer = |request: &[u8]| {
        let mut out = vec![0u8; RECV_BUF];
        let r = received(request.len(), "192.0.2.9:123".parse().unwrap());
        let n = server
            .handle_one(1, false, request, &r, &mut out)
            .unwrap_or_else(|| panic!("no answer to {request:02x?}"));
        out[..n].to_vec()
    };
    let replies: Vec<Vec<u8>> = requests.iter().map(|o| answer(&o.bytes)).collect();
    let for_second = replies
        .iter()
        .find(|rep| {
            let h = Header::parse(rep).unwrap();
            let r = client.assocs.iter().find(|r| r.assoc.id == second).unwrap();
            r.assoc.awaits(&h)
        })
        .expect("a reply to the second association's request")
        .clone();

    let mut out = vec![0u8; RECV_BUF];
    let r = received(for_second.len(), from);
    assert_eq!(client.handle_one(1, false, &for_second, &r, &mut out), None);
    assert_eq!(reach(&client, first), 0, "the first association took it");
    assert_eq!(reach(&client, second), 1);
}
