//! The mode 6 control server (ntpd::mode6): arbitrary request datagrams,
//! with arbitrary `restrict` flags and with or without a usable key, never
//! make it panic, and its answers stay bounded (at most 32 datagrams, or
//! 128 for READ_MRU, each at most 12 + 468 + 24 octets, every one a
//! well-formed response). The same bytes are also offered as the variable
//! list of well-formed READVAR, WRITEVAR and READ_MRU requests.
#![no_main]
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use ntpd::mode6::{
    CertInfo, ControlKeys, ControlServer, ControlState, MruEntry, PeerCrypto, PeerVars,
    RequestContext, Response, Restrictions, SystemCrypto, SystemVars,
};
use proto::control::{
    AssociationEntry, ControlHeader, ControlMessage, Opcode, PeerStatus, SystemStatus,
};
use proto::NtpTimestamp;
use rand::SeedableRng;

struct State;

fn peer(id: u16) -> PeerVars {
    PeerVars {
        status: PeerStatus::from_word(0xf61a),
        preemptible: id > 1,
        authentic: true,
        source: SocketAddr::new(IpAddr::from([10, 0, 0, id as u8]), 123),
        hostname: Some(format!("server{id}.example")),
        destination: Some("10.0.0.2:123".parse().unwrap()),
        leap: 0,
        host_mode: 3,
        peer_mode: 4,
        stratum: 1,
        peer_poll: 6,
        host_poll: 6,
        precision: -23,
        root_delay: 0.0001,
        root_dispersion: 0.0002,
        refid: *b"G,P\x01",
        refclock: false,
        reftime: NtpTimestamp::from_parts(0xeeb3_c3ad, 1),
        org: NtpTimestamp::ZERO,
        rec: NtpTimestamp::from_parts(0xeeb3_c3ad, 2),
        xleave: 0.0001,
        bias: -0.001,
        rate_in: 1.0,
        rate_out: 2.0,
        reach: 0xff,
        unreach: 0,
        timer: 60,
        delay: 0.001,
        offset: -0.0005,
        jitter: f64::NAN,
        dispersion: f64::INFINITY,
        key_id: 0x4202_8e87,
        filter_delay: [0.001; 8],
        filter_offset: [-1e9; 8],
        filter_dispersion: [16.0; 8],
        flash: 0x400,
        ttl: Some(127),
        headway: -1,
        received: u64::MAX,
        sent: 1,
        time_received: 1,
        time_reachable: 2,
        bad_auth: 3,
        bogus_origin: 4,
        old_packets: 5,
        selection_dispersion: 6,
        selection_broken: 7,
        candidate: 8,
        nts: None,
    }
}

impl ControlState for State {
    fn system(&self) -> SystemVars {
        SystemVars {
            status: SystemStatus::from_word(0x0616),
            leap: 0,
            stratum: 2,
            precision: -23,
            root_delay: 0.1,
            root_dispersion: 0.2,
            refid: [10, 0, 0, 1],
            reftime: NtpTimestamp::from_parts(0xeeb3_c3ad, 0x12db_b005),
            sys_peer: Some(1),
            sys_peer_address: Some("[2001:db8::1]:123".parse().unwrap()),
            sys_peer_mode: 3,
            poll: 6,
            min_poll: 3,
            offset: -1e-6,
            frequency: 1e-5,
            sys_jitter: 1e-6,
            clock_jitter: 2e-6,
            clock_wander: 3e-9,
            version: "ntpd fuzz".into(),
            processor: "x86_64".into(),
            system: "Linux/6".into(),
            tai: 37,
            leap_table_stamp: Some(1_700_000_000),
            leap_table_expire: Some(i64::MIN),
            leap_smear: Some((86_400, 0.5)),
            fuzz: 1e-9,
            wander_threshold: 1e-7,
            broadcast_delay: 0.004,
            auth_delay: 0.0,
        }
    }
    fn associations(&self) -> Vec<AssociationEntry> {
        (1..=3)
            .map(|id| AssociationEntry {
                association_id: id,
                status: peer(id).status,
            })
            .collect()
    }
    fn peer(&self, id: u16) -> Option<PeerVars> {
        (1..=3).contains(&id).then(|| peer(id))
    }
    fn system_crypto(&self) -> Option<SystemCrypto> {
        Some(SystemCrypto {
            flags: 0x80003,
            host: Some("bob".into()),
            ident: Some("group".into()),
            digest: "md5".into(),
            signature: "md5WithRSAEncryption".into(),
            update: Some(i64::MAX),
            certificates: vec![CertInfo {
                subject: "bob".into(),
                issuer: "alice".into(),
                flags: 4,
                not_after: 1_827_304_920,
            }],
        })
    }
    fn peer_crypto(&self, id: u16) -> Option<PeerCrypto> {
        (id == 1).then(|| PeerCrypto {
            flags: 0x87f23,
            host: Some("alice".into()),
            signature: Some("md5WithRSAEncryption".into()),
            ident: Some("alice".into()),
            autokey: None,
        })
    }
    fn mru_entries(&self) -> Vec<MruEntry> {
        (0..40u8)
            .map(|i| MruEntry {
                address: SocketAddr::new(IpAddr::from([192, 0, 2, i]), 123),
                local: None,
                first: NtpTimestamp::from_parts(0xeeb3_c000, u32::from(i)),
                last: NtpTimestamp::from_parts(0xeeb3_c3a0, u32::from(i) + 1),
                count: u64::from(i),
                mode_version: 0x23,
                restrict: u32::from(i),
            })
            .collect()
    }
}

/// Key 1 verifies when the digest is all `0x11`; signs with all `0x22`.
struct Keys;

impl ControlKeys for Keys {
    fn control_key(&self) -> Option<u32> {
        Some(1)
    }
    fn verify(&self, key_id: u32, _: IpAddr, _: &[u8], digest: &[u8]) -> bool {
        key_id == 1 && digest.iter().all(|&b| b == 0x11)
    }
    fn sign(&self, key_id: u32, _: IpAddr, _: &[u8]) -> Option<Vec<u8>> {
        (key_id == 1).then(|| vec![0x22; 16])
    }
}

fn check(resp: Response, op_is_mru: bool) {
    if let Response::Send(d) = resp {
        assert!(!d.is_empty());
        assert!(d.len() <= if op_is_mru { 128 } else { 32 });
        for x in &d {
            assert!(x.len() <= 12 + 468 + 24);
            let m = ControlMessage::parse(x).expect("well-formed response");
            assert!(m.header.response);
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let ctx = RequestContext {
        source: "127.0.0.1:40000".parse().unwrap(),
        now: NtpTimestamp::from_parts(0xeeb3_c3b1, 0x2e83_eab0),
        restrict: Restrictions {
            noquery: flags & 1 != 0,
            nomodify: flags & 2 != 0,
            notrap: flags & 4 != 0,
            nomrulist: flags & 8 != 0,
        },
    };
    let mut server = ControlServer::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(flags));
    let mut state = State;
    let op_is_mru = rest.get(1).is_some_and(|b| b & 0x1f == 10);
    check(
        server.handle(rest, &ctx, &mut state, &Keys, &mut rng),
        op_is_mru,
    );
    let data = rest.get(..468).unwrap_or(rest);
    for (op, assoc) in [
        (Opcode::ReadVariables, 0),
        (Opcode::ReadVariables, 1),
        (Opcode::WriteVariables, 0),
        (Opcode::ReadMru, 0),
    ] {
        let msg = ControlMessage::new(ControlHeader::request(2, op, 1, assoc), data)
            .expect("468 octets fit");
        check(
            server.handle(&msg.serialize(), &ctx, &mut state, &Keys, &mut rng),
            op == Opcode::ReadMru,
        );
    }
});
