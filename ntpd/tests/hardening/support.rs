//! An in-memory Autokey server core (the reference TC run's `alice`, at
//! 10.0.0.1) and crafted packets from many source addresses: the attack
//! shapes of issue 15 without root or a namespace.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use autokey::{SessionKey, SignedValue};
use ntpd::auth::KeyRing;
use ntpd::cli::Options;
use ntpd::daemon::settings::Settings;
use ntpd::daemon::{crypto, Core, SimClock, SimEnvironment, RECV_BUF};
use ntpd::net::socket::Received;
use proto::exten::{AutokeyCode, AutokeyHeader, ExtensionField};
use proto::{Header, LeapIndicator, Mode, NtpShort, NtpTimestamp, ReferenceId};
use rand::SeedableRng;

/// The server's address.
pub const ALICE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref/runs/tc/alice/keys")
}

/// An hour after alice's certificate was made, so that it is valid.
fn epoch() -> u32 {
    let file = std::fs::canonicalize(keys_dir().join("ntpkey_cert_alice")).unwrap();
    let stamp: u32 = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit('.').next())
        .and_then(|s| s.parse().ok())
        .expect("a filestamp");
    stamp + 3600
}

/// A server core with `crypto` on (`restrict default nomodify notrap`,
/// the configuration), `extra` lines added, symmetric key 1
/// (MD5 "one") trusted; its simulated clock.
pub fn alice(extra: &str) -> (Core, SimClock) {
    let conf = format!(
        "tos orphan 5 orphanwait 1\nrestrict default nomodify notrap\nkeysdir {}\ncrypto host alice pw serverpassword\n{extra}",
        keys_dir().display()
    );
    let parsed = config::conf::parse_str(&conf, Path::new("alice.conf")).unwrap();
    let s =
        Settings::from_conf(&parsed.config, &Options::default(), Path::new("alice.conf")).unwrap();
    let f = config::keys::parse_str("1 MD5 one\n", Path::new("k")).unwrap();
    let mut keys = KeyRing::from_file(&f);
    keys.trust(1);
    let clock = SimClock::new();
    let env = SimEnvironment::new(clock.clone(), Some(ALICE)).with_epoch(epoch());
    let mut core = Core::simulated_in(&s, keys, -20, Box::new(env.clone()), 1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    core.autokey = crypto::load(
        &s.autokey,
        ntpd::daemon::Environment::wall(&env).seconds(),
        &mut rng,
    )
    .unwrap();
    core.net.socket_addrs = vec![
        ("0.0.0.0:123".parse().unwrap(), true),
        (SocketAddr::new(ALICE, 123), false),
    ];
    core.sys.leap = LeapIndicator::NoWarning;
    core.sys.stratum = 5;
    // Synchronised: the first tick signs the host's values (brief §5.3).
    core.tick();
    core.out.actions.take();
    (core, clock)
}

/// The NTP seconds alice's wall clock reads at simulated time zero.
pub fn now_ntp() -> u32 {
    epoch()
}

/// An NTP header of `mode` and `poll`.
pub fn header(mode: Mode, poll: i8, xmt: u32) -> Header {
    Header {
        leap: LeapIndicator::NoWarning,
        version: 4,
        mode,
        stratum: 3,
        poll,
        precision: -20,
        root_delay: NtpShort::ZERO,
        root_dispersion: NtpShort::ZERO,
        reference_id: ReferenceId(0x0a00_0063),
        reference_timestamp: NtpTimestamp::ZERO,
        origin_timestamp: NtpTimestamp::ZERO,
        receive_timestamp: NtpTimestamp::ZERO,
        transmit_timestamp: NtpTimestamp::from_parts(xmt, 0),
    }
}

/// An Autokey request field of `code` (CERT names `alice`; the others
/// carry `value` octets, unsigned, as anyone can send them).
pub fn field(code: AutokeyCode, value: &[u8]) -> ExtensionField {
    let v = SignedValue::unsigned(now_ntp(), 0, value.to_vec());
    let value = match code {
        AutokeyCode::Auto | AutokeyCode::Leap => None,
        _ => Some(v.as_ref()),
    };
    ExtensionField::new_autokey(AutokeyHeader::request(code, 0x1234), value.as_ref()).unwrap()
}

/// A datagram of `mode` from `src` to alice carrying `fields`, MAC'd
/// with the cookie-0 session key anyone can compute (RFC 5906 §6.2).
pub fn cookie0(mode: Mode, poll: i8, src: IpAddr, fields: Vec<ExtensionField>) -> Vec<u8> {
    let key = SessionKey::derive(autokey::SessionDigest::Md5, src, ALICE, 0x0001_2345, 0).unwrap();
    autokey::packet::seal(header(mode, poll, now_ntp()), fields, &key).unwrap()
}

/// The `i`-th of many spoofed sources, each in its own /24.
pub fn spoofed(i: u32) -> IpAddr {
    IpAddr::from((0x0a00_0002u32 + (i << 8)).to_be_bytes())
}

/// Hands `bytes` from `src` to the core; the reply's length, if any.
pub fn send(core: &mut Core, src: IpAddr, bytes: &[u8]) -> Option<usize> {
    let mut out = vec![0u8; RECV_BUF];
    let r = Received {
        len: bytes.len(),
        truncated: false,
        src: SocketAddr::new(src, 123),
        dst: Some(ALICE),
        rx_time: None,
    };
    core.handle_one(1, false, bytes, &r, &mut out)
}

/// An ordinary, unauthenticated mode 3 request.
pub fn client_request(xmt: u32) -> Vec<u8> {
    let mut b = vec![0u8; 48];
    b[0] = 0x23;
    b[40..44].copy_from_slice(&xmt.to_be_bytes());
    b
}

/// Log lines captured from `tracing` at debug level while `f` runs on
/// this thread.
pub fn captured_log<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let writer = Capture(buf.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buf.lock().unwrap()).into_owned();
    (out, text.lines().map(str::to_owned).collect())
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
