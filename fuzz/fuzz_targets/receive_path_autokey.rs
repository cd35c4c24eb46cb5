//! The daemon's receive path with an Autokey configuration (issue 15):
//! the reference TC run's server `alice` (`crypto host alice`,
//! `restrict default nomodify notrap`, a symmetric Autokey peer
//! 10.0.0.2, `broadcastclient`), so that the Autokey server fast path,
//! ephemeral mobilisation by cookie-0 MACs and the engines of configured
//! associations all meet arbitrary datagrams — `receive_path`'s fixed
//! configuration has no `crypto` line.
//!
//! Input: octet 0 picks the source (the Autokey peer, an unknown host,
//! one of 8 spoofed networks), octet 1 bit 0 a one-second tick after each
//! datagram, bit 1 "seal": the datagram (cut to a multiple of 4 octets,
//! at least 48) gets a valid cookie-0 MAC under Autokey key ID 0x12345 —
//! what any attacker can compute (RFC 5906 §6.2) — so that the fuzzer
//! reaches the engines behind the MAC check; octets 2–3 advance the
//! simulated clock between datagrams (ms). The rest is up to 8 datagrams
//! separated by `ff 00 ff`.
//!
//! Checked: never a panic; a reply longer than its request only to a
//! request carrying an extension field and an Autokey key ID, and the
//! octets beyond the requests within the global Autokey budget (burst
//! 64 KiB plus 32 KiB/s); private-key work within its budget; ephemeral
//! associations within `MAX_EPHEMERAL`; mode 6 answers bounded as in
//! `receive_path`.
#![no_main]
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use keystore::keysdir::{HostSet, Loaded};
use keystore::{Certificate, HostKey, Keysdir};
use libfuzzer_sys::fuzz_target;
use ntpd::auth::KeyRing;
use ntpd::cli::Options;
use ntpd::daemon::settings::Settings;
use ntpd::daemon::{
    crypto, mobilize, Core, Environment, SimClock, SimEnvironment, MAX_EPHEMERAL, RECV_BUF,
};
use ntpd::net::socket::Received;
use rand::SeedableRng;

const ALICE: [u8; 4] = [10, 0, 0, 1];

fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref/runs/tc/alice/keys")
}

/// An hour after the certificate's filestamp (so that it is valid).
fn epoch() -> u32 {
    static E: OnceLock<u32> = OnceLock::new();
    *E.get_or_init(|| {
        let f = std::fs::canonicalize(keys_dir().join("ntpkey_cert_alice")).expect("cert link");
        f.to_string_lossy()
            .rsplit('.')
            .next()
            .and_then(|s| s.parse::<u32>().ok())
            .expect("filestamp")
            + 3600
    })
}

fn settings() -> &'static Settings {
    static S: OnceLock<Settings> = OnceLock::new();
    S.get_or_init(|| {
        let conf = format!(
            "tos orphan 5 orphanwait 0\nrestrict default nomodify notrap\nkeysdir {}\ncrypto host alice pw serverpassword\npeer 10.0.0.2 autokey minpoll 4\nbroadcastclient\n",
            keys_dir().display()
        );
        let c = config::conf::parse_str(&conf, Path::new("fuzz.conf")).expect("fixed config");
        Settings::from_conf(&c.config, &Options::default(), Path::new("fuzz.conf"))
            .expect("fixed settings")
    })
}

/// Alice's key files, read and checked once (the RSA consistency check
/// and the PEM decryption were nine tenths of each execution); each input
/// gets a host built afresh from them, so inputs stay independent.
struct AliceKeys {
    host_key: HostKey,
    host_key_fs: u32,
    cert_der: Vec<u8>,
    cert_fs: u32,
}

fn alice_keys() -> &'static AliceKeys {
    static K: OnceLock<AliceKeys> = OnceLock::new();
    K.get_or_init(|| {
        let dir = Keysdir::new(keys_dir());
        let set = dir
            .host_set("alice", "alice", Some("serverpassword"))
            .expect("alice's keys");
        AliceKeys {
            host_key: set.host_key.value,
            host_key_fs: set.host_key.filestamp,
            cert_der: set.cert.der,
            cert_fs: set.cert.filestamp,
        }
    })
}

fn alice_host_set() -> HostSet {
    let k = alice_keys();
    let x509 = openssl::x509::X509::from_der(&k.cert_der).expect("DER read once already");
    HostSet {
        host_key: Loaded {
            value: k.host_key.clone(),
            filestamp: k.host_key_fs,
            path: keys_dir().join("ntpkey_host_alice"),
        },
        sign_key: None,
        cert: Certificate::from_x509(&keys_dir().join("ntpkey_cert_alice"), x509, k.cert_fs)
            .expect("certificate read once already"),
        iff: None,
        gq: None,
        mv: None,
    }
}

fn core(clock: &SimClock) -> Core {
    let s = settings();
    let env = SimEnvironment::new(clock.clone(), Some(IpAddr::from(ALICE))).with_epoch(epoch());
    let mut core = Core::simulated_in(s, KeyRing::default(), -20, Box::new(env.clone()), 3);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    core.autokey = Some(
        crypto::from_host_set(&s.autokey, alice_host_set(), env.wall().seconds(), &mut rng)
            .expect("alice's host"),
    );
    core.net.socket_addrs = vec![
        ("0.0.0.0:123".parse().expect("address"), true),
        (SocketAddr::new(IpAddr::from(ALICE), 123), false),
    ];
    for cfg in mobilize::mobilize(&s.associations, 123, false, false, 0.004).configs {
        core.mobilize(cfg, Some(1), Some(IpAddr::from(ALICE)));
    }
    core.sys.leap = proto::LeapIndicator::NoWarning;
    core.sys.stratum = 5;
    core.tick();
    core.out.actions.take();
    core
}

fn source(b: u8) -> IpAddr {
    match b & 0x0f {
        0 => IpAddr::from([10, 0, 0, 2]),
        1 => IpAddr::from([192, 0, 2, 9]),
        n => IpAddr::from([198, 51, n, 7]),
    }
}

/// The datagram with a cookie-0 session-key MAC, as anyone can make it.
fn seal(d: &[u8], src: IpAddr) -> Vec<u8> {
    let n = (d.len().max(48) & !3).min(RECV_BUF - 24);
    let mut out = d.to_vec();
    out.resize(n, 0);
    let key = autokey::SessionKey::derive(
        autokey::SessionDigest::Md5,
        src,
        IpAddr::from(ALICE),
        0x0001_2345,
        0,
    )
    .expect("session key");
    let mac = key.mac(&out).expect("MAC");
    out.extend_from_slice(mac.as_bytes());
    out
}

fn datagrams(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i + 3 <= data.len() {
        if data[i..i + 3] == [0xff, 0x00, 0xff] {
            out.push(&data[start..i]);
            i += 3;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&data[start..]);
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, rest) = data.split_at(4);
    let src = source(head[0]);
    let (tick, sealed) = (head[1] & 1 != 0, head[1] & 2 != 0);
    let step = f64::from(u16::from_be_bytes([head[2], head[3]])) / 1000.0;
    let clock = SimClock::new();
    let mut core = core(&clock);
    let mut out = vec![0u8; RECV_BUF];
    let mut excess = 0usize;
    for d in datagrams(rest).into_iter().take(8) {
        let d = &d[..d.len().min(RECV_BUF)];
        let d = if sealed { seal(d, src) } else { d.to_vec() };
        let r = Received {
            len: d.len(),
            truncated: false,
            src: SocketAddr::new(src, 123),
            dst: Some(IpAddr::from(ALICE)),
            rx_time: None,
        };
        let reply = core.handle_one(1, false, &d, &r, &mut out);
        let mode = d.first().map(|b| b & 7);
        if let Some(len) = reply {
            assert_ne!(mode, Some(6), "mode 6 answers go through the control queue");
            if len > d.len() {
                let p = proto::PacketRef::parse(&d).expect("answered, so it parsed");
                assert!(
                    p.field_count() > 0,
                    "a larger reply to a request without a field"
                );
                let id = p.mac().map(|m| m.key_id()).unwrap_or(0);
                assert!(
                    proto::mac::is_autokey_key_id(id),
                    "a larger reply under key {id}"
                );
                excess += len - d.len();
            }
        }
        for c in core.out.actions.take_replies() {
            assert_eq!(mode, Some(6), "only mode 6 is answered so");
            assert!(
                c.len() <= 12 + 468 + 4 + 20,
                "mode 6 datagram of {}",
                c.len()
            );
        }
        if tick {
            core.tick();
            core.out.actions.take();
        }
        clock.advance(step);
    }
    let elapsed = clock.now();
    assert!(
        excess as f64 <= 65_536.0 + 32_768.0 * (elapsed + 8.0),
        "{excess} octets beyond"
    );
    let s = core.hardening.autokey.stats;
    assert!(s.private_key_ops as f64 <= 64.0 + 32.0 * (elapsed + 8.0));
    let ephemeral = core.assocs.iter().filter(|r| r.assoc.cfg.ephemeral).count();
    assert!(ephemeral <= MAX_EPHEMERAL);
});
