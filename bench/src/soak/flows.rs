//! The soak's traffic, one [`Flow`] per kind: sockets bound to their own
//! loopback source addresses (the namespace's `lo` holds all of
//! 127.0.0.0/8, so many sources need no spoofing), a rate, and counters
//! of what went out and came back.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use proto::exten::AutokeyCode;
use proto::Mode;

use super::packets::{self, Xorshift};

/// What a flow sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Ordinary, unauthenticated mode 3 clients (answered share measured).
    Ordinary,
    /// Random octets, truncated and mutated headers, garbage fields.
    Malformed,
    /// CERT requests with a cookie-0 MAC (issue 15 item 3: ×5.7).
    Cert,
    /// SIGN requests with a genuine self-signed certificate (item 4).
    Sign,
    /// Mode 1 ASSOC packets, poll 17, one per /24 (item 1).
    Assoc,
    /// 12-octet mode 6 READVAR requests from many sources (item 5).
    Mode6,
}

impl Kind {
    /// The flow's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ordinary => "ordinary",
            Kind::Malformed => "malformed",
            Kind::Cert => "cert",
            Kind::Sign => "sign",
            Kind::Assoc => "assoc",
            Kind::Mode6 => "mode6",
        }
    }
}

/// Counters of one reporting interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Datagrams sent.
    pub sent: u64,
    /// Octets sent.
    pub octets_out: u64,
    /// Datagrams received back.
    pub replies: u64,
    /// Octets received back.
    pub octets_in: u64,
    /// Ordinary requests answered within a second.
    pub answered: u64,
    /// Ordinary requests answered after 1 to 5 s (the server or, on a
    /// busy machine, this generator was not scheduled in time).
    pub late: u64,
    /// Ordinary requests 5 s old without an answer (dropped).
    pub lost: u64,
}

/// One kind of traffic.
pub struct Flow {
    /// What it sends.
    pub kind: Kind,
    sockets: Vec<UdpSocket>,
    rate: f64,
    sent_total: u64,
    next_socket: usize,
    /// Outstanding ordinary requests: transmit timestamp → when sent.
    pending: HashMap<u64, Instant>,
    /// This interval's counters.
    pub counts: Counts,
    rng: Xorshift,
}

/// The `i`-th source address of a flow whose sources start at `base`
/// (one per /24 when `per_net`).
fn source(base: [u8; 2], i: usize, per_net: bool) -> IpAddr {
    let (c, d) = if per_net {
        (i % 256, 1)
    } else {
        (i / 250, i % 250 + 1)
    };
    IpAddr::V4(Ipv4Addr::new(base[0], base[1], c as u8, d as u8))
}

impl Flow {
    /// `sources` sockets sending `rate` datagrams per second in all.
    pub fn new(kind: Kind, sources: usize, rate: f64, seed: u64) -> io::Result<Flow> {
        let (base, per_net) = match kind {
            Kind::Ordinary => ([127, 0], false),
            Kind::Malformed => ([127, 1], false),
            Kind::Cert => ([127, 2], false),
            Kind::Sign => ([127, 3], false),
            Kind::Assoc => ([127, 4], true),
            Kind::Mode6 => ([127, 5], false),
        };
        let sockets = (0..sources)
            .map(|i| {
                let s = UdpSocket::bind(SocketAddr::new(source(base, i, per_net), 0))?;
                s.set_nonblocking(true)?;
                Ok(s)
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Flow {
            kind,
            sockets,
            rate,
            sent_total: 0,
            next_socket: 0,
            pending: HashMap::new(),
            counts: Counts::default(),
            rng: Xorshift::new(seed),
        })
    }

    /// Sends what the rate owes at `elapsed` seconds into the run.
    pub fn send_due(&mut self, elapsed: f64, ctx: &Context) {
        let due = (self.rate * elapsed) as u64;
        while self.sent_total < due {
            self.sent_total += 1;
            let i = self.next_socket;
            self.next_socket = (i + 1) % self.sockets.len();
            let src = match self.sockets[i].local_addr() {
                Ok(a) => a.ip(),
                Err(_) => continue,
            };
            let Some(bytes) = self.datagram(src, ctx) else {
                continue;
            };
            if self.sockets[i].send_to(&bytes, ctx.server).is_ok() {
                self.counts.sent += 1;
                self.counts.octets_out += bytes.len() as u64;
            }
        }
    }

    fn datagram(&mut self, src: IpAddr, ctx: &Context) -> Option<Vec<u8>> {
        let now = ctx.ntp_now();
        let dst = ctx.server.ip();
        match self.kind {
            Kind::Ordinary => {
                let xmt = (u64::from(now) << 32) | (self.rng.next_u64() & 0xffff_ffff);
                self.pending.insert(xmt, Instant::now());
                Some(packets::client_request(xmt))
            }
            Kind::Malformed => Some(packets::malformed(&mut self.rng)),
            Kind::Cert => packets::autokey_request(
                Mode::Client,
                6,
                AutokeyCode::Cert,
                ctx.server_name.as_bytes(),
                src,
                dst,
                now,
            ),
            Kind::Sign => packets::autokey_request(
                Mode::Client,
                6,
                AutokeyCode::Sign,
                &ctx.sign_cert,
                src,
                dst,
                now,
            ),
            Kind::Assoc => packets::autokey_request(
                Mode::SymmetricActive,
                17,
                AutokeyCode::Assoc,
                b"mallory",
                src,
                dst,
                now,
            ),
            Kind::Mode6 => Some(packets::readvar(self.rng.next_u64() as u16)),
        }
    }

    /// Reads every reply waiting on the flow's sockets.
    pub fn drain(&mut self) {
        let mut buf = [0u8; 2048];
        for s in &self.sockets {
            while let Ok(n) = s.recv(&mut buf) {
                self.counts.replies += 1;
                self.counts.octets_in += n as u64;
                if self.kind == Kind::Ordinary && n >= 48 {
                    let origin = u64::from_be_bytes(buf[24..32].try_into().unwrap_or_default());
                    if let Some(at) = self.pending.remove(&origin) {
                        if at.elapsed() <= Duration::from_secs(1) {
                            self.counts.answered += 1;
                        } else {
                            self.counts.late += 1;
                        }
                    }
                }
            }
        }
        if self.kind == Kind::Ordinary {
            let before = self.pending.len();
            self.pending
                .retain(|_, at| at.elapsed() <= Duration::from_secs(5));
            self.counts.lost += (before - self.pending.len()) as u64;
        }
    }

    /// This interval's counters, reset for the next.
    pub fn take_counts(&mut self) -> Counts {
        std::mem::take(&mut self.counts)
    }
}

/// What every flow needs to build its datagrams.
pub struct Context {
    /// The server's address.
    pub server: SocketAddr,
    /// Its Autokey host name (the CERT subject asked for).
    pub server_name: String,
    /// DER of a genuine self-signed certificate, for SIGN requests.
    pub sign_cert: Vec<u8>,
    /// The wall clock at the start, NTP seconds, and when that was.
    pub started: (u32, Instant),
}

impl Context {
    /// NTP seconds now.
    pub fn ntp_now(&self) -> u32 {
        self.started
            .0
            .wrapping_add(self.started.1.elapsed().as_secs() as u32)
    }
}
