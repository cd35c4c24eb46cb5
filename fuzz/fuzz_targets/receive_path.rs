//! The daemon's receive path (ntpd::daemon::Core::handle): screening
//! (restrict, version and length checks, `discard` rate limits), the
//! server fast path, KoD, symmetric and broadcast association delivery
//! and ephemeral mobilisation, and mode 6 through the control server —
//! with a fixed configuration (keys 1 MD5 and 2 SHA1 trusted, control key
//! 1, a symmetric peer, a server and a broadcast client, `noquery` and
//! `nomodify notrap nomrulist` ranges) over a simulated clock.
//!
//! Input: octet 0 picks the source address (an association's, a
//! `noquery` one, an unknown one) and the receiving socket (wildcard or
//! not), octet 1 whether a one-second timer tick follows, octets 2–3 the
//! source port; the rest is the datagram, optionally cut into several
//! datagrams at the octet sequence `0xff 0x00 0xff` so that one input can
//! drive an exchange.
//!
//! Checked: never a panic; a reply to a mode 1–5 datagram is never longer
//! than the request (replies are signed only when the request was, so
//! an unauthenticated reply is at most as long, and a crypto-NAK is 52
//! octets against a request of at least 68); mode 6 answers are bounded
//! (at most 128 datagrams of at most 12 + 468 + 24 octets).
#![no_main]
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ntpd::auth::KeyRing;
use ntpd::cli::Options;
use ntpd::daemon::settings::Settings;
use ntpd::daemon::{mobilize, Core, RECV_BUF};
use ntpd::net::socket::Received;
use proto::NtpTimestamp;

const CONF: &str = "\
restrict default kod limited\n\
restrict 192.0.2.64 mask 255.255.255.192 noquery\n\
restrict 192.0.2.128 mask 255.255.255.192 nomodify notrap nomrulist\n\
peer 192.0.2.1 key 1 minpoll 4\n\
server 192.0.2.2 iburst\n\
broadcastclient\n\
controlkey 1\n\
tos orphan 5 orphanwait 0\n";

const SOURCES: [[u8; 4]; 6] = [
    [192, 0, 2, 1],
    [192, 0, 2, 2],
    [192, 0, 2, 70],
    [192, 0, 2, 130],
    [198, 51, 100, 7],
    [127, 0, 0, 1],
];

/// Most datagrams of a mode 6 answer (READ_MRU's `frags=` limit).
const MAX_MODE6_DATAGRAMS: usize = 128;
/// Largest mode 6 datagram: header, data, key ID and a SHA1 digest.
const MAX_MODE6_LEN: usize = 12 + 468 + 4 + 20;

fn core() -> Core {
    let conf = config::conf::parse_str(CONF, Path::new("fuzz.conf")).expect("fixed config");
    let s = Settings::from_conf(&conf.config, &Options::default(), Path::new("fuzz.conf"))
        .expect("fixed settings");
    let f = config::keys::parse_str("1 MD5 one\n2 SHA1 two\n", Path::new("fuzz.keys"))
        .expect("fixed keys");
    let mut keys = KeyRing::from_file(&f);
    keys.trust(1);
    keys.trust(2);
    keys.control_key = Some(1);
    let mut core = Core::simulated(&s, keys, -20);
    core.net.socket_addrs = vec![
        ("0.0.0.0:123".parse().expect("address"), true),
        ("192.0.2.254:123".parse().expect("address"), false),
    ];
    for cfg in mobilize::mobilize(&s.associations, 123, false, false, 0.004).configs {
        core.mobilize(cfg, Some(1), Some(IpAddr::from([192, 0, 2, 254])));
    }
    core
}

/// Split at the separator `ff 00 ff`.
fn datagrams(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
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
    let src_ip = SOURCES[usize::from(head[0] & 0x0f) % SOURCES.len()];
    let (socket, on_wildcard) = if head[0] & 0x10 != 0 {
        (0, true)
    } else {
        (1, false)
    };
    let tick = head[1] & 1 != 0;
    let port = u16::from_be_bytes([head[2], head[3]]);
    let src = SocketAddr::new(IpAddr::from(src_ip), port);
    let mut core = core();
    let mut out = vec![0u8; RECV_BUF];
    for (n, d) in datagrams(rest).into_iter().take(8).enumerate() {
        let d = &d[..d.len().min(RECV_BUF)];
        let r = Received {
            len: d.len(),
            truncated: false,
            src,
            dst: None,
            rx_time: Some(NtpTimestamp::from_parts(0xe900_0000 + n as u32, 0)),
        };
        let reply = core.handle_one(socket, on_wildcard, d, &r, &mut out);
        let is_mode6 = d.first().is_some_and(|b| b & 7 == 6);
        if let Some(len) = reply {
            assert!(!is_mode6, "mode 6 answers go through the control queue");
            assert!(len <= d.len(), "reply {len} > request {}", d.len());
        }
        let control = core.out.actions.take_replies();
        assert!(is_mode6 || control.is_empty(), "only mode 6 is answered so");
        assert!(control.len() <= MAX_MODE6_DATAGRAMS);
        for c in &control {
            assert!(c.len() <= MAX_MODE6_LEN, "mode 6 datagram of {}", c.len());
        }
        if tick {
            core.tick();
            for o in core.out.actions.take_sends() {
                assert!(o.bytes.len() <= 48 + 4 + 20, "poll of {}", o.bytes.len());
            }
        }
    }
});
