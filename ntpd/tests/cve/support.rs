//! A client core in memory (keys 1 MD5 and 2 SHA1, both trusted), its
//! polls, and the server's answers crafted as a genuine server or an
//! off-path attacker would make them.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use ntpd::auth::KeyRing;
use ntpd::cli::Options;
use ntpd::daemon::settings::Settings;
use ntpd::daemon::{mobilize, Core, SimClock, SimEnvironment, RECV_BUF};
use ntpd::net::socket::Received;
use proto::NtpTimestamp;

/// Our address.
pub const US: [u8; 4] = [192, 0, 2, 254];

/// Keys 1 (MD5) and 2 (SHA1), both trusted.
pub fn keys() -> KeyRing {
    let f = config::keys::parse_str("1 MD5 one\n2 SHA1 two\n", Path::new("k")).unwrap();
    let mut k = KeyRing::from_file(&f);
    k.trust(1);
    k.trust(2);
    k
}

/// A core running `conf` with its associations mobilised, on a simulated
/// clock (never the system's).
pub fn core(conf: &str) -> (Core, SimClock) {
    let c = config::conf::parse_str(conf, Path::new("t.conf")).unwrap();
    let s = Settings::from_conf(&c.config, &Options::default(), Path::new("t.conf")).unwrap();
    let clock = SimClock::new();
    let env = SimEnvironment::new(clock.clone(), Some(IpAddr::from(US)));
    let mut core = Core::simulated_in(&s, keys(), -20, Box::new(env), 11);
    core.net.socket_addrs = vec![
        ("0.0.0.0:123".parse().unwrap(), true),
        (SocketAddr::new(IpAddr::from(US), 123), false),
    ];
    for cfg in mobilize::mobilize(&s.associations, 123, false, false, 0.004).configs {
        core.mobilize(cfg, Some(1), Some(IpAddr::from(US)));
    }
    (core, clock)
}

/// Ticks until the core sends to `to`; the datagram.
pub fn next_poll(core: &mut Core, clock: &SimClock, to: IpAddr) -> Vec<u8> {
    for _ in 0..3000 {
        clock.advance(1.0);
        core.tick();
        if let Some(o) = core
            .out
            .actions
            .take_sends()
            .into_iter()
            .find(|o| o.dst.ip() == to)
        {
            return o.bytes;
        }
    }
    panic!("no poll to {to}");
}

/// A server's mode 4 (or `mode`) answer to `request` with `origin` as
/// origin timestamp (the request's transmit timestamp for a genuine one).
pub fn answer(request: &[u8], mode: u8, origin: NtpTimestamp) -> Vec<u8> {
    let mut b = vec![0u8; 48];
    b[0] = 0x20 | mode; // LI 0, version 4
    b[1] = 2; // stratum
    b[2] = request[2];
    b[3] = 0xec;
    b[12..16].copy_from_slice(&[192, 0, 2, 200]);
    let t = u64::from_be_bytes(request[40..48].try_into().unwrap());
    let later = t.wrapping_add(1 << 24);
    b[16..24].copy_from_slice(&later.to_be_bytes()); // reference
    b[24..32].copy_from_slice(&origin.to_bits().to_be_bytes());
    b[32..40].copy_from_slice(&later.to_be_bytes());
    b[40..48].copy_from_slice(&later.wrapping_add(1 << 20).to_be_bytes());
    b
}

/// The transmit timestamp of a datagram.
pub fn transmit(d: &[u8]) -> NtpTimestamp {
    NtpTimestamp::from_bits(u64::from_be_bytes(d[40..48].try_into().unwrap()))
}

/// `d` signed with key `key` (of [`keys`]) as seen from `peer`.
pub fn signed(mut d: Vec<u8>, key: u32, peer: IpAddr) -> Vec<u8> {
    let n = d.len();
    d.resize(n + 24, 0);
    let m = keys().sign(key, &mut d, n, peer).unwrap();
    d.truncate(m);
    d
}

/// Hands `d` from `src` to the core (on its own socket, or on the
/// wildcard socket to `dst` when given: broadcasts).
pub fn deliver(core: &mut Core, src: IpAddr, d: &[u8], dst: Option<IpAddr>) -> Option<usize> {
    let mut out = vec![0u8; RECV_BUF];
    let r = Received {
        len: d.len(),
        truncated: false,
        src: SocketAddr::new(src, 123),
        dst,
        rx_time: None,
    };
    let (socket, wildcard) = if dst.is_some() { (0, true) } else { (1, false) };
    core.handle_one(socket, wildcard, d, &r, &mut out)
}

/// The reachability register of the association with `remote`.
pub fn reach(core: &Core, remote: IpAddr) -> u8 {
    assoc(core, remote).assoc.peer.reach().register()
}

/// The association with `remote`.
pub fn assoc(core: &Core, remote: IpAddr) -> &ntpd::daemon::Running {
    core.assocs
        .iter()
        .find(|r| r.assoc.remote().ip() == remote)
        .unwrap_or_else(|| panic!("no association with {remote}"))
}
