//! Dispatch, error codes and authentication of the mode 6 server, with a
//! small fake daemon. Byte-exact comparisons with the reference captures
//! are in `ntpd/tests/mode6_capture.rs`.

use std::net::{IpAddr, SocketAddr};

use proto::control::{
    AssociationEntry, ClockSource, ControlHeader, ControlMessage, ErrorCode, Opcode, PeerEvent,
    PeerSelection, PeerStatus, PeerStatusFlags, StatusWord, SystemEvent, SystemStatus,
};
use proto::NtpTimestamp;
use rand::SeedableRng;

use super::*;

struct Fake {
    peers: Vec<(u16, PeerVars)>,
    events_read: Vec<Option<u16>>,
    configured: Vec<String>,
}

fn system() -> SystemVars {
    SystemVars {
        status: SystemStatus {
            leap: 0,
            clock_source: ClockSource::Ntp,
            event_count: 1,
            last_event: SystemEvent::Restart,
        },
        leap: 0,
        stratum: 2,
        precision: -20,
        root_delay: 0.001,
        root_dispersion: 0.002,
        refid: [192, 0, 2, 1],
        reftime: NtpTimestamp::from_parts(0xeeb3_c3ad, 0),
        sys_peer: Some(7),
        sys_peer_address: Some("192.0.2.1:123".parse().unwrap()),
        sys_peer_mode: 3,
        poll: 6,
        min_poll: 3,
        offset: -0.000_25,
        frequency: 12.5e-6,
        sys_jitter: 0.0001,
        clock_jitter: 0.0002,
        clock_wander: 0.001e-6,
        version: "ntpd-rs test".into(),
        processor: "x86_64".into(),
        system: "Linux/6.1".into(),
        tai: 37,
        leap_table_stamp: None,
        leap_table_expire: None,
        leap_smear: None,
        fuzz: 1e-9,
        wander_threshold: 1e-7,
        broadcast_delay: 0.004,
        auth_delay: 0.0,
    }
}

fn peer() -> PeerVars {
    PeerVars {
        status: PeerStatus {
            flags: PeerStatusFlags::CONFIG | PeerStatusFlags::REACH,
            selection: PeerSelection::SysPeer,
            event_count: 1,
            last_event: PeerEvent::SysPeer,
        },
        preemptible: false,
        authentic: false,
        source: "192.0.2.1:123".parse().unwrap(),
        hostname: Some("time.example".into()),
        destination: Some("192.0.2.2:123".parse().unwrap()),
        leap: 0,
        host_mode: 3,
        peer_mode: 4,
        stratum: 1,
        peer_poll: 6,
        host_poll: 6,
        precision: -20,
        root_delay: 0.0,
        root_dispersion: 0.0001,
        refid: *b"GPS\0",
        refclock: false,
        reftime: NtpTimestamp::ZERO,
        org: NtpTimestamp::ZERO,
        rec: NtpTimestamp::ZERO,
        xleave: 0.0,
        bias: 0.0,
        rate_in: 0.0,
        rate_out: 0.0,
        reach: 0xff,
        unreach: 0,
        timer: 12,
        delay: 0.0015,
        offset: -0.00025,
        jitter: 0.0001,
        dispersion: 0.001,
        key_id: 0,
        filter_delay: [0.0015; 8],
        filter_offset: [-0.00025; 8],
        filter_dispersion: [0.001; 8],
        flash: 0,
        ttl: None,
        headway: 0,
        received: 100,
        sent: 101,
        time_received: 5,
        time_reachable: 600,
        bad_auth: 1,
        bogus_origin: 2,
        old_packets: 3,
        selection_dispersion: 4,
        selection_broken: 5,
        candidate: 6,
        nts: None,
    }
}

impl ControlState for Fake {
    fn system(&self) -> SystemVars {
        system()
    }
    fn associations(&self) -> Vec<AssociationEntry> {
        self.peers
            .iter()
            .map(|(id, p)| AssociationEntry {
                association_id: *id,
                status: p.status,
            })
            .collect()
    }
    fn peer(&self, id: u16) -> Option<PeerVars> {
        self.peers
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, p)| p.clone())
    }
    fn counter(&self, c: SystemCounter) -> Option<u64> {
        match c {
            SystemCounter::Uptime => Some(284),
            SystemCounter::Received => Some(12),
            _ => None,
        }
    }
    fn events_read(&mut self, association: Option<u16>) {
        self.events_read.push(association);
    }
    fn configure(&mut self, _source: SocketAddr, text: &str) -> CommandReply {
        self.configured.push(text.to_string());
        CommandReply {
            text: "Config Succeeded".into(),
        }
    }
}

fn fake() -> Fake {
    Fake {
        peers: vec![(7, peer())],
        events_read: Vec::new(),
        configured: Vec::new(),
    }
}

/// One key, 1, MD5 `secret`, usable from anywhere; control key 1.
struct OneKey;

fn md5_digest(data: &[u8]) -> Vec<u8> {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update(b"secret");
    h.update(data);
    h.finalize().to_vec()
}

impl ControlKeys for OneKey {
    fn control_key(&self) -> Option<u32> {
        Some(1)
    }
    fn verify(&self, key_id: u32, _: IpAddr, data: &[u8], digest: &[u8]) -> bool {
        key_id == 1 && md5_digest(data) == digest
    }
    fn sign(&self, key_id: u32, _: IpAddr, data: &[u8]) -> Option<Vec<u8>> {
        (key_id == 1).then(|| md5_digest(data))
    }
}

fn ctx() -> RequestContext {
    RequestContext {
        source: "127.0.0.1:40000".parse().unwrap(),
        now: NtpTimestamp::from_parts(0xeeb3_c3b1, 0x2e83_eab0),
        restrict: Restrictions::default(),
    }
}

fn request(op: Opcode, assoc: u16, data: &[u8]) -> Vec<u8> {
    ControlMessage::new(ControlHeader::request(2, op, 9, assoc), data)
        .unwrap()
        .serialize()
}

fn signed(op: Opcode, assoc: u16, data: &[u8], key: u32) -> Vec<u8> {
    let msg = ControlMessage::new(ControlHeader::request(2, op, 9, assoc), data).unwrap();
    let covered = msg.authenticated_bytes();
    let mac = proto::control::ControlMac::new(key, &md5_digest(&covered)).unwrap();
    msg.with_mac(mac).serialize()
}

fn run(server: &mut ControlServer, state: &mut Fake, bytes: &[u8], c: &RequestContext) -> Response {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    server.handle(bytes, c, state, &OneKey, &mut rng)
}

fn sent(r: Response) -> Vec<Vec<u8>> {
    match r {
        Response::Send(d) => d,
        other => panic!("expected datagrams, got {other:?}"),
    }
}

fn error_of(r: Response) -> ErrorCode {
    let d = sent(r);
    assert_eq!(d.len(), 1);
    let m = ControlMessage::parse(&d[0]).unwrap();
    assert!(m.header.error && m.header.response);
    match StatusWord::of(&m.header) {
        StatusWord::Error(e) => e,
        other => panic!("{other:?}"),
    }
}

fn text_of(r: Response) -> String {
    let data: Vec<u8> = sent(r)
        .iter()
        .flat_map(|d| ControlMessage::parse(d).unwrap().data().to_vec())
        .collect();
    String::from_utf8(data).unwrap()
}

#[test]
fn error_codes_like_the_reference() {
    let (mut s, mut st, c) = (ControlServer::default(), fake(), ctx());
    let mut e = |b: &[u8]| error_of(run(&mut s, &mut st, b, &c));
    assert_eq!(
        e(&request(Opcode::ReadVariables, 99, b"")),
        ErrorCode::UnknownAssociation
    );
    assert_eq!(
        e(&request(Opcode::ReadStatus, 99, b"")),
        ErrorCode::UnknownAssociation
    );
    assert_eq!(
        e(&request(Opcode::ReadVariables, 0, b"stratum,nosuch")),
        ErrorCode::UnknownVariable
    );
    assert_eq!(
        e(&request(Opcode::ReadVariables, 7, b"cookie")),
        ErrorCode::UnknownVariable
    );
    assert_eq!(
        e(&request(Opcode::ReadVariables, 0, b"hostkey")),
        ErrorCode::UnknownVariable
    );
    assert_eq!(
        e(&request(Opcode::ReadClock, 0, b"")),
        ErrorCode::UnknownAssociation
    );
    assert_eq!(
        e(&request(Opcode::Unknown(13), 0, b"")),
        ErrorCode::InvalidOpcode
    );
    assert_eq!(
        e(&request(Opcode::AsyncMessage, 0, b"")),
        ErrorCode::InvalidOpcode
    );
    for op in [
        Opcode::WriteVariables,
        Opcode::WriteClock,
        Opcode::SetTrap,
        Opcode::UnsetTrap,
        Opcode::Configure,
        Opcode::SaveConfig,
        Opcode::ReadOrderedListA,
    ] {
        assert_eq!(
            e(&request(op, 0, b"leap=1")),
            ErrorCode::AdministrativelyProhibited,
            "{op}"
        );
    }
    // Count beyond the datagram, or a length not a multiple of 4: error 2.
    let mut bad = request(Opcode::ReadVariables, 0, b"stratum");
    bad[11] = 40;
    assert_eq!(e(&bad), ErrorCode::InvalidFormat);
    let mut odd = request(Opcode::ReadStatus, 0, b"");
    odd.push(0);
    assert_eq!(e(&odd), ErrorCode::InvalidFormat);
}

#[test]
fn authenticated_commands_need_the_control_key() {
    let (mut s, mut st, c) = (ControlServer::default(), fake(), ctx());
    // Signed with key 1 (the control key): WRITEVAR runs; the reference
    // then refuses `leap` with error 0, a bad value with 6, and a peer with 7.
    let r = run(
        &mut s,
        &mut st,
        &signed(Opcode::WriteVariables, 0, b"leap=1", 1),
        &c,
    );
    let d = sent(r);
    let m = ControlMessage::parse(&d[0]).unwrap();
    assert_eq!(m.header.status, ErrorCode::Unspecified.to_status());
    assert_eq!(d[0].len(), 12 + 4 + 16, "MAC right after the error header");
    assert_eq!(&d[0][12..16], &1u32.to_be_bytes());
    assert_eq!(&d[0][16..], &md5_digest(&d[0][..12])[..]);
    let mut e = |b: &[u8]| error_of(run(&mut s, &mut st, b, &c));
    assert_eq!(
        e(&signed(Opcode::WriteVariables, 0, b"leap=5", 1)),
        ErrorCode::InvalidValue
    );
    assert_eq!(
        e(&signed(Opcode::WriteVariables, 0, b"leap", 1)),
        ErrorCode::InvalidFormat
    );
    assert_eq!(
        e(&signed(Opcode::WriteVariables, 0, b"stratum=3", 1)),
        ErrorCode::AdministrativelyProhibited
    );
    assert_eq!(
        e(&signed(Opcode::WriteVariables, 0, b"bogus=3", 1)),
        ErrorCode::UnknownVariable
    );
    assert_eq!(
        e(&signed(Opcode::WriteVariables, 7, b"leap=1", 1)),
        ErrorCode::AdministrativelyProhibited
    );
    assert_eq!(
        e(&signed(Opcode::WriteClock, 0, b"", 1)),
        ErrorCode::AdministrativelyProhibited
    );
    assert_eq!(
        e(&signed(Opcode::SetTrap, 0, b"", 1)),
        ErrorCode::AuthFailure
    );
    assert_eq!(
        e(&signed(Opcode::Configure, 3, b"x", 1)),
        ErrorCode::InvalidValue
    );
    // A wrong digest, or another key, is refused with 7 and not signed.
    let mut forged = signed(Opcode::WriteVariables, 0, b"leap=1", 1);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let d = sent(run(&mut s, &mut st, &forged, &c));
    assert_eq!(d[0].len(), 12);
    assert_eq!(
        error_of(Response::Send(d)),
        ErrorCode::AdministrativelyProhibited
    );
    // Runtime configuration reaches the daemon; the answer is signed.
    let d = sent(run(
        &mut s,
        &mut st,
        &signed(Opcode::Configure, 0, b"tos maxclock 7", 1),
        &c,
    ));
    assert_eq!(st.configured, ["tos maxclock 7"]);
    let m = ControlMessage::parse(&d[0]).unwrap();
    assert_eq!(m.data(), b"Config Succeeded\r\n");
    assert_eq!(m.mac().map(|m| m.key_id), Some(1));
    let nomodify = RequestContext {
        restrict: Restrictions {
            nomodify: true,
            ..Restrictions::default()
        },
        ..c
    };
    let t = text_of(run(
        &mut s,
        &mut st,
        &signed(Opcode::Configure, 0, b"x", 1),
        &nomodify,
    ));
    assert_eq!(
        t,
        "runtime configuration prohibited by restrict ... nomodify\r\n"
    );
    let t = text_of(run(
        &mut s,
        &mut st,
        &signed(Opcode::Configure, 0, b"a\x01", 1),
        &c,
    ));
    assert!(t.contains("unprintable character"));
    let t = text_of(run(
        &mut s,
        &mut st,
        &signed(Opcode::SaveConfig, 0, b"../etc/x", 1),
        &c,
    ));
    assert_eq!(t, "saveconfig rejects unsafe file name '../etc/x'\r\n");
    let t = text_of(run(
        &mut s,
        &mut st,
        &signed(Opcode::SaveConfig, 0, b"ok.conf", 1),
        &c,
    ));
    assert_eq!(t, "saveconfig prohibited, no saveconfigdir configured\r\n");
    assert!(matches!(
        run(&mut s, &mut st, &signed(Opcode::SaveConfig, 0, b"", 1), &c),
        Response::Drop(DropReason::Empty)
    ));
    // ifstats/reslist: authenticated; an unknown list name is error 5.
    let d = sent(run(
        &mut s,
        &mut st,
        &signed(Opcode::ReadOrderedListA, 0, b"ifstats", 1),
        &c,
    ));
    let m = ControlMessage::parse(&d[0]).unwrap();
    assert!(!m.header.error && m.count() == 0 && m.mac().is_some());
    assert_eq!(
        error_of(run(
            &mut s,
            &mut st,
            &signed(Opcode::ReadOrderedListA, 0, b"peers", 1),
            &c
        )),
        ErrorCode::UnknownVariable
    );
}

#[test]
fn authenticated_reads_are_signed_and_clear_events() {
    let (mut s, mut st, c) = (ControlServer::default(), fake(), ctx());
    let d = sent(run(
        &mut s,
        &mut st,
        &signed(Opcode::ReadVariables, 7, b"stratum", 1),
        &c,
    ));
    assert_eq!(st.events_read, [Some(7)]);
    let m = ControlMessage::parse(&d[0]).unwrap();
    assert_eq!(m.data(), b"stratum=1\r\n");
    let covered = m.authenticated_bytes();
    assert_eq!(covered.len() % 8, 0);
    assert_eq!(m.mac().unwrap().digest(), &md5_digest(&covered)[..]);
    // A failed MAC: still answered (reads need no key), padded to 8, no MAC.
    let mut forged = signed(Opcode::ReadVariables, 7, b"stratum", 1);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let d = sent(run(&mut s, &mut st, &forged, &c));
    assert_eq!(d[0].len(), 24);
    assert_eq!(st.events_read.len(), 1);
}

#[test]
fn named_variables_come_in_table_order() {
    let (mut s, mut st, c) = (ControlServer::default(), fake(), ctx());
    let t = text_of(run(
        &mut s,
        &mut st,
        &request(Opcode::ReadVariables, 0, b"offset,stratum,tai"),
        &c,
    ));
    assert_eq!(t, "stratum=2, offset=-0.250000, tai=37\r\n");
    let t = text_of(run(
        &mut s,
        &mut st,
        &request(
            Opcode::ReadVariables,
            0,
            b"ss_uptime,ss_received,ss_badauth",
        ),
        &c,
    ));
    assert_eq!(t, "ss_uptime=284, ss_received=12\r\n");
    // ntpq's pstats list.
    let t = text_of(run(
        &mut s,
        &mut st,
        &request(
            Opcode::ReadVariables,
            7,
            b"srcadr,dstadr,timerec,timer,timereach,sent,received,badauth,bogusorg,oldpkt,seldisp,selbroken,candidate",
        ),
        &c,
    ));
    assert_eq!(
        t,
        "srcadr=192.0.2.1, dstadr=192.0.2.2, timer=12, received=100, sent=101,\r\n\
         timerec=5, timereach=600, badauth=1, bogusorg=2, oldpkt=3, seldisp=4,\r\n\
         selbroken=5, candidate=6\r\n"
    );
    let t = text_of(run(
        &mut s,
        &mut st,
        &request(Opcode::ReadVariables, 7, b"refid,srchost,config,authenable"),
        &c,
    ));
    assert_eq!(
        t,
        "config=1, authenable=1, refid=GPS, srchost=\"time.example\"\r\n"
    );
    // No crypto: the reserved names are accepted and write nothing.
    let t = text_of(run(
        &mut s,
        &mut st,
        &request(Opcode::ReadVariables, 0, b"cert,host,flags"),
        &c,
    ));
    assert_eq!(t, "");
    let t = text_of(run(
        &mut s,
        &mut st,
        &request(Opcode::ReadVariables, 0, b"koffset,kstflags"),
        &c,
    ));
    assert_eq!(t, "koffset=0, kstflags=\"\"\r\n");
    let t = text_of(run(
        &mut s,
        &mut st,
        &request(Opcode::ReadVariables, 0, b"peeradr,peermode,mintc"),
        &c,
    ));
    assert_eq!(t, "mintc=3, peeradr=192.0.2.1:123, peermode=3\r\n");
}

#[test]
fn status_and_unspecified_opcode() {
    let (mut s, mut st, c) = (ControlServer::default(), fake(), ctx());
    let d = sent(run(
        &mut s,
        &mut st,
        &request(Opcode::ReadStatus, 0, b""),
        &c,
    ));
    let m = ControlMessage::parse(&d[0]).unwrap();
    assert_eq!(m.header.status, 0x0616);
    assert_eq!(m.data(), [0, 7, 0x96, 0x1a]);
    let d = sent(run(
        &mut s,
        &mut st,
        &request(Opcode::Unknown(0), 7, b""),
        &c,
    ));
    let m = ControlMessage::parse(&d[0]).unwrap();
    assert_eq!((m.header.status, m.count()), (0x961a, 0));
}

#[test]
fn noquery_bad_datagrams_and_nonce() {
    let (mut s, mut st, c) = (ControlServer::default(), fake(), ctx());
    let noquery = RequestContext {
        restrict: Restrictions {
            noquery: true,
            ..Restrictions::default()
        },
        ..c
    };
    let req = request(Opcode::ReadVariables, 0, b"");
    assert_eq!(
        run(&mut s, &mut st, &req, &noquery),
        Response::Drop(DropReason::NoQuery)
    );
    assert_eq!(
        run(&mut s, &mut st, &req[..8], &c),
        Response::Drop(DropReason::Ignored(Ignored::TooShort))
    );
    let mut resp = req.clone();
    resp[1] |= 0x80;
    assert_eq!(
        run(&mut s, &mut st, &resp, &c),
        Response::Drop(DropReason::Ignored(Ignored::NotARequest))
    );
    let t = text_of(run(
        &mut s,
        &mut st,
        &request(Opcode::RequestNonce, 0, b""),
        &c,
    ));
    assert!(t.starts_with("nonce=") && t.len() == 6 + 24 + 2, "{t}");
    let nonce = &t[6..30];
    let mru = format!("nonce={nonce}, frags=4");
    let t = text_of(run(
        &mut s,
        &mut st,
        &request(Opcode::ReadMru, 0, mru.as_bytes()),
        &c,
    ));
    assert!(
        t.starts_with("nonce=") && t.contains("now=0xeeb3c3b1.2e83eab0"),
        "{t}"
    );
    // From another port the nonce is worthless: no answer at all.
    let other = RequestContext {
        source: "127.0.0.1:40001".parse().unwrap(),
        ..c
    };
    assert_eq!(
        run(
            &mut s,
            &mut st,
            &request(Opcode::ReadMru, 0, mru.as_bytes()),
            &other
        ),
        Response::Drop(DropReason::NoNonce)
    );
    let nomrulist = RequestContext {
        restrict: Restrictions {
            nomrulist: true,
            ..Restrictions::default()
        },
        ..c
    };
    assert_eq!(
        error_of(run(
            &mut s,
            &mut st,
            &request(Opcode::ReadMru, 0, mru.as_bytes()),
            &nomrulist
        )),
        ErrorCode::AdministrativelyProhibited
    );
}

#[test]
fn rate_limit_drops_a_flood() {
    let mut s = ControlServer::new(ServerConfig {
        rate_limit: RateLimit {
            burst: 5.0,
            rate: 1.0,
            max_sources: 16,
        },
        ..ServerConfig::default()
    });
    let (mut st, c) = (fake(), ctx());
    let req = request(Opcode::ReadStatus, 0, b"");
    let answered = (0..50)
        .filter(|_| matches!(run(&mut s, &mut st, &req, &c), Response::Send(_)))
        .count();
    assert_eq!(answered, 5);
    assert_eq!(s.counters().rate_limited, 45);
    let later = RequestContext {
        now: NtpTimestamp::from_bits(c.now.to_bits() + (2u64 << 32)),
        ..c
    };
    assert!(matches!(
        run(&mut s, &mut st, &req, &later),
        Response::Send(_)
    ));
}

#[test]
fn safe_filenames() {
    assert!(is_safe_filename("ntp.conf.save"));
    assert!(is_safe_filename("_x-1+2"));
    for bad in ["", ".hidden", "a/b", "a\\b", "x y", "%Y", "-x", "é"] {
        assert!(!is_safe_filename(bad), "{bad}");
    }
}
