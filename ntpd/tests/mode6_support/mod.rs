//! Shared by the `mode6_*` tests: a fake daemon filled with the values of
//! the reference run `runs/iff` (as visible in its mode 6 captures and
//! ntpq outputs), a reader for those captures, and helpers to run the
//! server.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ntpd::mode6::{
    CertInfo, ControlKeys, ControlServer, ControlState, MruEntry, NoKeys, PeerCrypto, PeerVars,
    RequestContext, Response, Restrictions, SystemCrypto, SystemVars,
};
use proto::control::{
    AssociationEntry, PeerEvent, PeerSelection, PeerStatus, PeerStatusFlags, SystemStatus,
};
use proto::NtpTimestamp;
use rand::SeedableRng;

/// `tests/data/autokey-ref` in the workspace.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref")
}

/// One UDP datagram of a capture.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub source_port: u16,
    pub destination_port: u16,
    pub payload: Vec<u8>,
}

/// The UDP datagrams of a classic pcap file with Ethernet + IPv4 frames.
pub fn read_pcap(path: &Path) -> Vec<Datagram> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) as usize;
    assert_eq!(u32_at(20), 1, "Ethernet link type");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= bytes.len() {
        let incl = u32_at(off + 8);
        let frame = &bytes[off + 16..off + 16 + incl];
        off += 16 + incl;
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        assert_eq!(ip[9], 17, "UDP");
        let udp = &ip[ihl..];
        let len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        out.push(Datagram {
            source_port: u16::from_be_bytes([udp[0], udp[1]]),
            destination_port: u16::from_be_bytes([udp[2], udp[3]]),
            payload: udp[8..len].to_vec(),
        });
    }
    out
}

/// Requests (to port 123) with the responses that follow each.
pub fn exchanges(datagrams: &[Datagram]) -> Vec<(Datagram, Vec<Vec<u8>>)> {
    let mut out: Vec<(Datagram, Vec<Vec<u8>>)> = Vec::new();
    for d in datagrams {
        if d.destination_port == 123 {
            out.push((d.clone(), Vec::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push(d.payload.clone());
        }
    }
    out
}

/// Unix seconds of a UTC date and time.
pub fn utc(y: i64, mo: i64, d: i64, h: i64, mi: i64) -> i64 {
    // Days from civil (proleptic Gregorian).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + h * 3600 + mi * 60
}

/// The fake daemon.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub system: SystemVars,
    pub crypto: Option<SystemCrypto>,
    pub peers: Vec<(u16, PeerVars, Option<PeerCrypto>)>,
    pub mru: Vec<MruEntry>,
}

impl ControlState for Fixture {
    fn system(&self) -> SystemVars {
        self.system.clone()
    }
    fn associations(&self) -> Vec<AssociationEntry> {
        self.peers
            .iter()
            .map(|(id, p, _)| AssociationEntry {
                association_id: *id,
                status: p.status,
            })
            .collect()
    }
    fn peer(&self, id: u16) -> Option<PeerVars> {
        self.peers.iter().find(|p| p.0 == id).map(|p| p.1.clone())
    }
    fn system_crypto(&self) -> Option<SystemCrypto> {
        self.crypto.clone()
    }
    fn peer_crypto(&self, id: u16) -> Option<PeerCrypto> {
        self.peers
            .iter()
            .find(|p| p.0 == id)
            .and_then(|p| p.2.clone())
    }
    fn mru_entries(&self) -> Vec<MruEntry> {
        self.mru.clone()
    }
}

pub const VERSION: &str = "ntpd 4.2.8p18-o Fri Nov 27 08:30:33 UTC 2026 (3)";

/// bob's system variables in `runs/iff/bob/ntpq-mode6.pcap` frames 11–12.
pub fn bob() -> Fixture {
    let system = SystemVars {
        status: SystemStatus::from_word(0x0616),
        leap: 0,
        stratum: 6,
        precision: -23,
        root_delay: 0.000_104,
        root_dispersion: 0.001_060,
        refid: [10, 0, 0, 1],
        reftime: NtpTimestamp::from_parts(0xeeb3_c3ad, 0x12db_b005),
        sys_peer: Some(32249),
        sys_peer_address: Some("10.0.0.1:123".parse().unwrap()),
        sys_peer_mode: 3,
        poll: 4,
        min_poll: 3,
        offset: 0.0,
        frequency: 0.0,
        sys_jitter: 0.0,
        clock_jitter: 0.0,
        clock_wander: 0.0,
        version: VERSION.into(),
        processor: "x86_64".into(),
        system: "Linux/6.18.44-fc-v857".into(),
        tai: 0,
        leap_table_stamp: None,
        leap_table_expire: None,
        leap_smear: None,
        fuzz: 0.0,
        wander_threshold: 0.0,
        broadcast_delay: 0.0,
        auth_delay: 0.0,
    };
    let crypto = SystemCrypto {
        flags: 0x80003,
        host: Some("bob".into()),
        ident: None,
        digest: "md5".into(),
        signature: "md5WithRSAEncryption".into(),
        update: Some(utc(2026, 11, 27, 8, 52)),
        certificates: vec![
            cert("bob", "alice", 4, utc(2027, 11, 27, 8, 52)),
            cert("alice", "alice", 5, utc(2027, 11, 27, 8, 42)),
            cert("bob", "bob", 0, utc(2027, 11, 27, 8, 42)),
        ],
    };
    Fixture {
        system,
        crypto: Some(crypto),
        peers: vec![(32249, alice_seen_by_bob(), Some(alice_crypto()))],
        mru: Vec::new(),
    }
}

pub fn cert(subject: &str, issuer: &str, flags: u32, not_after: i64) -> CertInfo {
    CertInfo {
        subject: subject.into(),
        issuer: issuer.into(),
        flags,
        not_after,
    }
}

/// bob's association with alice, `runs/iff/bob/ntpq-mode6.pcap` frames 4–5.
pub fn alice_seen_by_bob() -> PeerVars {
    PeerVars {
        status: PeerStatus::from_word(0xf61a),
        preemptible: false,
        authentic: true,
        source: "10.0.0.1:123".parse().unwrap(),
        hostname: None,
        destination: Some("10.0.0.2:123".parse().unwrap()),
        leap: 0,
        host_mode: 3,
        peer_mode: 4,
        stratum: 5,
        peer_poll: 4,
        host_poll: 4,
        precision: -23,
        root_delay: 0.0,
        root_dispersion: 0.0,
        refid: [127, 0, 0, 1],
        refclock: false,
        reftime: NtpTimestamp::ZERO,
        org: NtpTimestamp::ZERO,
        rec: NtpTimestamp::from_parts(0xeeb3_c3ad, 0x12db_b005),
        xleave: 0.000_113,
        bias: 0.0,
        rate_in: 0.0,
        rate_out: 0.0,
        reach: 0x1f,
        unreach: 0,
        timer: 12,
        delay: 0.000_104,
        offset: 0.000_039,
        jitter: 0.000_014,
        dispersion: 0.000_242,
        key_id: 0x4202_8e87,
        filter_delay: [
            0.000_10, 0.000_09, 0.000_11, 0.000_11, 0.000_13, 0.000_10, 0.000_08, 0.000_04,
        ],
        filter_offset: [
            0.000_04, 0.000_03, 0.000_04, 0.000_04, 0.000_04, 0.000_03, 0.000_03, 0.0,
        ],
        filter_dispersion: [
            0.0, 0.000_27, 0.000_54, 0.000_81, 0.000_93, 0.000_96, 0.000_99, 0.001_02,
        ],
        flash: 0,
        ttl: None,
        headway: 64,
        received: 5,
        sent: 5,
        time_received: 4,
        time_reachable: 60,
        bad_auth: 0,
        bogus_origin: 0,
        old_packets: 0,
        selection_dispersion: 0,
        selection_broken: 0,
        candidate: 6,
        nts: None,
    }
}

pub fn alice_crypto() -> PeerCrypto {
    PeerCrypto {
        flags: 0x87f23,
        host: Some("alice".into()),
        signature: Some("md5WithRSAEncryption".into()),
        ident: Some("alice".into()),
        autokey: None,
    }
}

/// alice's system variables in `runs/iff/alice/ntpq-mode6.pcap` frames 4–5.
pub fn alice() -> Fixture {
    let mut f = bob();
    f.system.status = SystemStatus::from_word(0x0016);
    f.system.stratum = 5;
    f.system.root_delay = 0.0;
    f.system.root_dispersion = 0.0;
    f.system.refid = [127, 0, 0, 1];
    f.system.reftime = NtpTimestamp::ZERO;
    f.system.sys_peer = None;
    f.system.sys_peer_address = None;
    f.system.poll = 3;
    f.crypto = Some(SystemCrypto {
        flags: 0x80023,
        host: Some("alice".into()),
        certificates: vec![cert("alice", "alice", 1, utc(2027, 11, 27, 8, 42))],
        ..f.crypto.unwrap()
    });
    f.peers.clear();
    f
}

/// A daemon with `n` associations, every optional variable filled: the
/// largest answers an unauthenticated request can get.
pub fn big(n: u16) -> Fixture {
    let mut f = bob();
    f.system.tai = 37;
    f.system.leap_table_stamp = Some(utc(2025, 1, 1, 0, 0));
    f.system.leap_table_expire = Some(utc(2026, 12, 28, 0, 0));
    f.system.leap_smear = Some((86_400, -0.25));
    if let Some(c) = f.crypto.as_mut() {
        c.ident = Some("a-rather-long-group-name".into());
        let certs = c.certificates.clone();
        c.certificates = certs.iter().cycle().take(8).cloned().collect();
    }
    f.peers = (1..=n)
        .map(|i| {
            let mut p = alice_seen_by_bob();
            p.status = PeerStatus {
                flags: PeerStatusFlags::CONFIG | PeerStatusFlags::REACH,
                selection: PeerSelection::Candidate,
                event_count: 2,
                last_event: PeerEvent::Reachable,
            };
            p.hostname = Some(format!("server{i}.pool.example.org"));
            p.ttl = Some(127);
            p.bias = -0.001_234;
            p.rate_in = 1.5;
            p.rate_out = 2.5;
            p.source = SocketAddr::new(IpAddr::from([192, 0, 2, (i % 250) as u8]), 123);
            let mut c = alice_crypto();
            c.autokey = Some(ntpd::mode6::AutokeyValues {
                sequence: 1234,
                key: 0xdead_beef,
                timestamp: utc(2026, 11, 27, 9, 0),
            });
            (i, p, Some(c))
        })
        .collect();
    f
}

pub fn ctx(port: u16, now: NtpTimestamp) -> RequestContext {
    RequestContext {
        source: SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port),
        now,
        restrict: Restrictions::default(),
    }
}

/// Runs one request through `server` without keys.
pub fn run(
    server: &mut ControlServer,
    state: &mut dyn ControlState,
    request: &[u8],
    ctx: &RequestContext,
) -> Response {
    run_keys(server, state, request, ctx, &NoKeys)
}

pub fn run_keys(
    server: &mut ControlServer,
    state: &mut dyn ControlState,
    request: &[u8],
    ctx: &RequestContext,
    keys: &dyn ControlKeys,
) -> Response {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    server.handle(request, ctx, state, keys, &mut rng)
}
