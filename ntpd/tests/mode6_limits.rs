//! Limits of the mode 6 server: fragmentation of large responses (and
//! their reassembly by the ntpq-side `Reassembler`), the cap on response
//! size, the measured amplification of unauthenticated requests, the
//! per-source rate limit, `noquery`, authentication with the daemon's
//! key ring, and robustness against arbitrary datagrams.

mod mode6_support;

use std::path::Path;

use mode6_support::*;
use ntpd::mode6::{
    ControlServer, DropReason, RateLimit, RequestContext, Response, Restrictions, ServerConfig,
};
use proptest::prelude::*;
use proto::control::{
    parse_association_list, ControlHeader, ControlMac, ControlMessage, ErrorCode, Opcode,
    Reassembler, ReassemblyProgress, StatusWord, VarList, HEADER_LEN, MAX_DATA_LEN,
};
use proto::NtpTimestamp;

const NOW: NtpTimestamp = NtpTimestamp::from_parts(0xeeb3_c3b1, 0x2e83_eab0);

fn request(op: Opcode, assoc: u16, data: &[u8]) -> Vec<u8> {
    ControlMessage::new(ControlHeader::request(2, op, 77, assoc), data)
        .unwrap()
        .serialize()
}

fn datagrams(r: Response) -> Vec<Vec<u8>> {
    match r {
        Response::Send(d) => d,
        other => panic!("expected an answer, got {other:?}"),
    }
}

fn reassemble(d: &[Vec<u8>]) -> (u16, Vec<u8>) {
    let mut r = Reassembler::default();
    let mut done = None;
    for x in d {
        match r.push(&ControlMessage::parse(x).unwrap()).unwrap() {
            ReassemblyProgress::Complete(resp) => done = Some((resp.status, resp.data)),
            ReassemblyProgress::Incomplete => {}
            other => panic!("{other:?}"),
        }
    }
    done.expect("complete response")
}

#[test]
fn large_association_list_is_fragmented_like_the_reference() {
    let mut state = big(300);
    let mut server = ControlServer::default();
    let d = datagrams(run(
        &mut server,
        &mut state,
        &request(Opcode::ReadStatus, 0, b""),
        &ctx(1, NOW),
    ));
    // 1200 octets of (id, status) pairs: 468 + 468 + 264.
    let sizes: Vec<usize> = d
        .iter()
        .map(|x| ControlMessage::parse(x).unwrap().count())
        .collect();
    assert_eq!(sizes, [468, 468, 264]);
    let headers: Vec<_> = d
        .iter()
        .map(|x| ControlMessage::parse(x).unwrap().header)
        .collect();
    assert_eq!(
        headers.iter().map(|h| h.more).collect::<Vec<_>>(),
        [true, true, false]
    );
    assert_eq!(
        headers.iter().map(|h| h.offset).collect::<Vec<_>>(),
        [0, 468, 936]
    );
    assert!(d
        .iter()
        .all(|x| x.len() % 4 == 0 && x.len() <= HEADER_LEN + MAX_DATA_LEN));
    let (status, data) = reassemble(&d);
    assert_eq!(status, 0x0616);
    let list = parse_association_list(&data).unwrap();
    assert_eq!(list.len(), 300);
    assert_eq!(list[299].association_id, 300);
}

#[test]
fn large_peer_readvar_reassembles_to_every_variable() {
    let mut state = big(1);
    let mut server = ControlServer::default();
    let d = datagrams(run(
        &mut server,
        &mut state,
        &request(Opcode::ReadVariables, 1, b""),
        &ctx(1, NOW),
    ));
    assert_eq!(d.len(), 2);
    let (status, data) = reassemble(&d);
    assert_eq!(
        StatusWord::of(&ControlMessage::parse(&d[1]).unwrap().header).to_word(),
        status
    );
    let vars = VarList::parse(&data).unwrap();
    let names: Vec<&str> = vars.names().collect();
    assert_eq!(
        names,
        [
            "srcadr",
            "srcport",
            "srchost",
            "dstadr",
            "dstport",
            "out",
            "in",
            "leap",
            "stratum",
            "precision",
            "rootdelay",
            "rootdisp",
            "refid",
            "reftime",
            "rec",
            "reach",
            "unreach",
            "hmode",
            "pmode",
            "hpoll",
            "ppoll",
            "headway",
            "flash",
            "keyid",
            "ttl",
            "offset",
            "delay",
            "dispersion",
            "jitter",
            "xleave",
            "bias",
            "filtdelay",
            "filtoffset",
            "filtdisp",
            "host",
            "flags",
            "signature",
            "initsequence",
            "initkey",
            "timestamp",
            "ident"
        ]
    );
    assert_eq!(
        vars.get("srchost").and_then(|v| v.text()),
        Some("server1.pool.example.org")
    );
    assert_eq!(
        vars.get("initkey").and_then(|v| v.text()),
        Some("0xdeadbeef")
    );
    assert_eq!(
        vars.get("timestamp").and_then(|v| v.text()),
        Some("202611270900")
    );
    assert_eq!(vars.get("bias").and_then(|v| v.text()), Some("-1.234"));
    // Every line stays below the reference's 72 columns.
    for line in String::from_utf8(data).unwrap().split("\r\n") {
        assert!(line.len() < 80, "{line}");
    }
}

#[test]
fn responses_beyond_32_datagrams_become_an_error() {
    let mut state = big(4000); // 16000 octets: 35 datagrams
    let mut server = ControlServer::default();
    let d = datagrams(run(
        &mut server,
        &mut state,
        &request(Opcode::ReadStatus, 0, b""),
        &ctx(1, NOW),
    ));
    assert_eq!(d.len(), 1);
    let h = ControlMessage::parse(&d[0]).unwrap().header;
    assert!(h.error);
    assert_eq!(ErrorCode::from_status(h.status), ErrorCode::Unspecified);
}

/// Every opcode, for the system and for an association, without data, with
/// every system variable named, and with ntpq's `pstats`/`sysstats` lists:
/// the largest answer (octets on the wire) to one unauthenticated request
/// and its ratio to the request's size.
fn largest_answer(state: &mut Fixture) -> (usize, usize, f64) {
    let all_sys: Vec<u8> = {
        let mut names = Vec::new();
        for n in [
            "leap",
            "stratum",
            "precision",
            "rootdelay",
            "rootdisp",
            "refid",
            "reftime",
            "tc",
            "peer",
            "offset",
            "frequency",
            "sys_jitter",
            "clk_jitter",
            "clock",
            "processor",
            "system",
            "version",
            "clk_wander",
            "sys_var_list",
            "tai",
            "leapsec",
            "expire",
            "mintc",
            "peeradr",
            "peermode",
            "bcastdelay",
            "authdelay",
            "koffset",
            "kfreq",
            "kstflags",
            "fuzz",
            "leapsmearinterval",
            "leapsmearoffset",
            "flags",
            "host",
            "update",
            "cert",
            "signature",
            "ident",
            "digest",
        ] {
            names.push(n);
        }
        names.join(",").into_bytes()
    };
    let all_peer = b"config,authenable,authentic,srcadr,srcport,dstadr,dstport,leap,hmode,stratum,ppoll,hpoll,precision,rootdelay,rootdisp,refid,reftime,org,rec,xleave,reach,unreach,timer,delay,offset,jitter,dispersion,keyid,filtdelay,filtoffset,pmode,received,sent,filtdisp,flash,ttl,peer_var_list,in,out,headway,bias,srchost,timerec,timereach,badauth,bogusorg,oldpkt,seldisp,selbroken,candidate,flags,host,initsequence,signature,ident".to_vec();
    let mut best = (0usize, 0usize, 0f64);
    let mut port = 1000;
    let first_peer = state.peers.first().map_or(1, |p| p.0);
    for code in 0..32u8 {
        for assoc in [0u16, first_peer] {
            for data in [&b""[..], &all_sys, &all_peer] {
                port += 1;
                // A fresh server each time: the rate limiter is measured elsewhere.
                let mut server = ControlServer::default();
                let req = request(Opcode::from_code(code), assoc, data);
                let c = ctx(port, NOW);
                if let Response::Send(d) = run(&mut server, state, &req, &c) {
                    let total: usize = d.iter().map(Vec::len).sum();
                    let ratio = total as f64 / req.len() as f64;
                    if ratio > best.2 {
                        best = (req.len(), total, ratio);
                    }
                }
            }
        }
    }
    best
}

#[test]
fn amplification_of_unauthenticated_requests_is_bounded() {
    // The reference runs' daemons (one association, Autokey variables).
    let (req, resp, ratio) = largest_answer(&mut bob());
    println!("bob-sized daemon: {req}-octet request -> {resp} octets ({ratio:.1}x)");
    assert_eq!((req, resp), (12, 640));
    // A daemon with 16 associations and every optional variable set.
    let (req, resp, ratio) = largest_answer(&mut big(16));
    println!("16 associations: {req}-octet request -> {resp} octets ({ratio:.1}x)");
    assert_eq!((req, resp), (12, 992));
    assert!(ratio < 100.0);
    // Whatever the state, one answer is at most 32 datagrams of 480 octets.
    let (req, resp, _) = largest_answer(&mut big(3700));
    println!("3700 associations: {req}-octet request -> {resp} octets");
    assert!(resp <= 32 * (HEADER_LEN + MAX_DATA_LEN));
}

#[test]
fn rate_limit_bounds_what_one_source_gets() {
    let mut state = big(1);
    let mut server = ControlServer::default();
    let req = request(Opcode::ReadVariables, 1, b""); // 2 datagrams each
    let mut sent = 0;
    let mut t = NOW;
    // One request every millisecond for 10 s.
    for _ in 0..10_000 {
        t = NtpTimestamp::from_bits(t.to_bits() + (1u64 << 32) / 1000);
        if let Response::Send(d) = run(&mut server, &mut state, &req, &ctx(5000, t)) {
            sent += d.len();
        }
    }
    // Burst of 32 plus 16 per second, give or take one answer.
    assert!((190..=194).contains(&sent), "{sent} datagrams in 10 s");
    // Another source is not affected.
    assert!(matches!(
        run(&mut server, &mut state, &req, &ctx(5000, t)),
        Response::Drop(DropReason::RateLimited)
    ));
    let other = RequestContext {
        source: "192.0.2.9:123".parse().unwrap(),
        ..ctx(1, t)
    };
    assert!(matches!(
        run(&mut server, &mut state, &req, &other),
        Response::Send(_)
    ));
    assert!(server.counters().rate_limited > 9000);
}

#[test]
fn noquery_gets_nothing() {
    let mut state = bob();
    let mut server = ControlServer::new(ServerConfig {
        rate_limit: RateLimit::default(),
        max_fragments: 32,
        ..ServerConfig::default()
    });
    let c = RequestContext {
        restrict: Restrictions {
            noquery: true,
            ..Restrictions::default()
        },
        ..ctx(1, NOW)
    };
    for code in 0..32u8 {
        let req = request(Opcode::from_code(code), 0, b"");
        assert_eq!(
            run(&mut server, &mut state, &req, &c),
            Response::Drop(DropReason::NoQuery)
        );
    }
}

#[test]
fn the_daemons_key_ring_authenticates_control_requests() {
    let file = config::keys::parse_str(
        "1 MD5 md5secret\n2 SHA1 sha1secret\n",
        Path::new("ntp.keys"),
    )
    .unwrap();
    let mut ring = ntpd::auth::KeyRing::from_file(&file);
    ring.trust(1);
    ring.trust(2);
    ring.control_key = Some(2);
    let sha1 = |data: &[u8]| {
        use sha1::{Digest, Sha1};
        let mut h = Sha1::new();
        h.update(b"sha1secret");
        h.update(data);
        h.finalize().to_vec()
    };
    let md5 = |data: &[u8]| {
        use md5::{Digest, Md5};
        let mut h = Md5::new();
        h.update(b"md5secret");
        h.update(data);
        h.finalize().to_vec()
    };
    let signed = |key: u32, digest: &dyn Fn(&[u8]) -> Vec<u8>, op, data: &[u8]| {
        let m = ControlMessage::new(ControlHeader::request(2, op, 5, 0), data).unwrap();
        let d = digest(&m.authenticated_bytes());
        m.with_mac(ControlMac::new(key, &d).unwrap()).serialize()
    };
    let mut state = bob();
    let mut server = ControlServer::default();
    let c = ctx(1, NOW);
    let code = |r: Response| {
        let d = datagrams(r);
        ErrorCode::from_status(ControlMessage::parse(&d[0]).unwrap().header.status)
    };
    // The control key (2, SHA1) passes the gate (then `leap` is refused
    // with error 0, as the reference does); the other trusted key does not.
    let req = signed(2, &sha1, Opcode::WriteVariables, b"leap=1");
    let d = datagrams(run_keys(&mut server, &mut state, &req, &c, &ring));
    assert_eq!(d[0].len(), 12 + 4 + 20);
    assert_eq!(&d[0][16..], &sha1(&d[0][..12])[..]);
    assert_eq!(
        ErrorCode::from_status(ControlMessage::parse(&d[0]).unwrap().header.status),
        ErrorCode::Unspecified
    );
    let req = signed(1, &md5, Opcode::WriteVariables, b"leap=1");
    assert_eq!(
        code(run_keys(&mut server, &mut state, &req, &c, &ring)),
        ErrorCode::AdministrativelyProhibited
    );
    // A read signed with key 1 is answered and signed with key 1.
    let req = signed(1, &md5, Opcode::ReadVariables, b"stratum");
    let d = datagrams(run_keys(&mut server, &mut state, &req, &c, &ring));
    let m = ControlMessage::parse(&d[0]).unwrap();
    assert_eq!(m.data(), b"stratum=6\r\n");
    assert_eq!(m.mac().map(|m| m.key_id), Some(1));
    assert_eq!(
        m.mac().unwrap().digest(),
        &md5(&m.authenticated_bytes())[..]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_datagrams_never_panic_and_stay_bounded(
        bytes in proptest::collection::vec(any::<u8>(), 0..700),
        code in 0u8..32,
        assoc in prop_oneof![Just(0u16), Just(1u16), any::<u16>()],
        data in proptest::collection::vec(prop_oneof![Just(b','), Just(b'='), Just(b' '), any::<u8>(), Just(b's')], 0..200),
    ) {
        let mut state = big(3);
        let mut server = ControlServer::default();
        let c = ctx(1, NOW);
        for req in [bytes.clone(), request(Opcode::from_code(code), assoc, &data)] {
            if let Response::Send(d) = run(&mut server, &mut state, &req, &c) {
                prop_assert!(!d.is_empty() && d.len() <= 32);
                for x in &d {
                    prop_assert!(x.len() <= HEADER_LEN + MAX_DATA_LEN);
                    let m = ControlMessage::parse(x).unwrap();
                    prop_assert!(m.header.response);
                }
            }
        }
    }
}
