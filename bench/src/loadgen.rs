//! The load generator: NTPv4 mode 3 requests at a paced rate from many
//! loopback source addresses and ports, in bursts sent with one
//! `sendmmsg(2)` each, replies drained with `recvmmsg(2)` and matched by
//! the origin timestamp (RFC 5905 §8: a server copies the request's
//! transmit timestamp into the reply's origin timestamp).
//!
//! Each request's transmit timestamp is `tag << 32 | seq`: `tag` is
//! random per run, `seq` counts requests, so every reply names exactly
//! one request. One thread does everything: a periodic `timerfd` on
//! `CLOCK_MONOTONIC` wakes it for each burst (bursts that fell behind are
//! sent at once, up to 20 ms of lag), replies wake it in between.

use crate::floor::SLOT_LEN;
use crate::key::{MacCheck, MacKey};
use crate::nts_session::{NtsCheck, NtsSession};
use crate::poller::{PacingTimer, Poller};
use crate::procfs;
use crate::report::LoadReport;
use crate::wire::{self, ReplySummary, HEADER_LEN};
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{setsockopt, sockopt};
use ntp_sys::mmsg::{RecvBatch, SendBatch, Wait};

/// What to send, where from and for how long.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The server under test.
    pub server: SocketAddrV4,
    /// Requests per second.
    pub rate: u64,
    /// Length of the sending window.
    pub duration: Duration,
    /// Requests per `sendmmsg(2)` (all from one source socket).
    pub burst: usize,
    /// First source address; the next `addrs - 1` follow it.
    pub first_source: Ipv4Addr,
    /// Number of source addresses.
    pub addrs: u32,
    /// Sockets (ephemeral ports) per source address.
    pub ports_per_addr: u32,
    /// Sign requests with this key.
    pub key: Option<MacKey>,
    /// Send NTS requests (RFC 8915 §5.7) under this NTS-KE session's
    /// keys and cookies instead of a MAC.
    pub nts: Option<NtsSession>,
    /// Measure this process's CPU time over the sending window.
    pub server_pid: Option<u32>,
    /// Replies slower than this count as late, not answered.
    pub late: Duration,
    /// How long to keep receiving after the last request.
    pub drain: Duration,
    /// Receive buffer per socket, octets.
    pub rcvbuf: usize,
}

impl LoadConfig {
    /// Defaults: bursts of 8 from 64 addresses × 4 ports starting at
    /// 127.0.0.2, replies later than 100 ms are late, 200 ms drain.
    pub fn new(server: SocketAddrV4, rate: u64, duration: Duration) -> LoadConfig {
        LoadConfig {
            server,
            rate,
            duration,
            burst: 8,
            first_source: Ipv4Addr::new(127, 0, 0, 2),
            addrs: 64,
            ports_per_addr: 4,
            key: None,
            nts: None,
            server_pid: None,
            late: Duration::from_millis(100),
            drain: Duration::from_millis(200),
            rcvbuf: 1 << 20,
        }
    }
}

/// Gives a socket a larger receive buffer: `SO_RCVBUFFORCE` (needs
/// CAP_NET_ADMIN) and else `SO_RCVBUF` (capped by `rmem_max`).
fn set_rcvbuf(sock: &UdpSocket, bytes: usize) {
    if setsockopt(sock, sockopt::RcvBufForce, &bytes).is_err() {
        let _ = setsockopt(sock, sockopt::RcvBuf, &bytes);
    }
}

/// Binds the source sockets, each connected to the server.
fn open_sockets(cfg: &LoadConfig) -> io::Result<Vec<UdpSocket>> {
    let mut socks = Vec::new();
    let first = u32::from(cfg.first_source);
    for a in 0..cfg.addrs.max(1) {
        let ip = Ipv4Addr::from(first.wrapping_add(a));
        for _ in 0..cfg.ports_per_addr.max(1) {
            let s = UdpSocket::bind(SocketAddrV4::new(ip, 0)).map_err(|e| {
                io::Error::new(e.kind(), format!("bind {ip}:0: {e} (loopback 127/8 only)"))
            })?;
            s.connect(cfg.server)?;
            s.set_nonblocking(true)?;
            set_rcvbuf(&s, cfg.rcvbuf);
            socks.push(s);
        }
    }
    Ok(socks)
}

/// Bookkeeping for matching replies to requests.
struct Tally {
    tag: u64,
    burst: usize,
    key: Option<MacKey>,
    nts: Option<NtsSession>,
    late_ns: u64,
    /// Send time of each burst, ns since start.
    burst_sent_ns: Vec<u64>,
    /// One bit per request: already answered.
    answered_bits: Vec<u64>,
    sent: u64,
    rtts_us: Vec<u32>,
    report: LoadReport,
}

impl Tally {
    /// Accounts one received datagram at `now_ns`.
    fn reply(&mut self, dgram: &[u8], now_ns: u64) {
        let r = &mut self.report;
        let Some(s) = ReplySummary::parse(dgram) else {
            r.malformed += 1;
            return;
        };
        let seq = s.origin & 0xffff_ffff;
        if s.mode != 4 || s.origin >> 32 != self.tag || seq >= self.sent {
            r.malformed += 1;
            return;
        }
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        let Some(w) = self.answered_bits.get_mut(word) else {
            r.malformed += 1;
            return;
        };
        if *w & bit != 0 {
            r.malformed += 1;
            return;
        }
        *w |= bit;
        if let Some(k) = &self.key {
            match k.check(dgram) {
                MacCheck::Valid => {}
                MacCheck::CryptoNak => {
                    r.nak += 1;
                    return;
                }
                MacCheck::Invalid => {
                    r.malformed += 1;
                    return;
                }
            }
        }
        if let Some(n) = &self.nts {
            match n.check(dgram, s.origin) {
                NtsCheck::Valid => {}
                NtsCheck::Nak => {
                    r.nak += 1;
                    return;
                }
                NtsCheck::Invalid => {
                    r.malformed += 1;
                    return;
                }
            }
        }
        if s.is_kod() {
            r.kod += 1;
            return;
        }
        let sent_at = self
            .burst_sent_ns
            .get((seq / self.burst as u64) as usize)
            .copied()
            .unwrap_or(now_ns);
        let rtt = now_ns.saturating_sub(sent_at);
        if rtt > self.late_ns {
            r.late += 1;
            return;
        }
        r.answered += 1;
        r.unsync += u64::from(s.is_unsynchronised());
        r.last_leap = s.leap;
        r.last_stratum = s.stratum;
        self.rtts_us
            .push((rtt / 1000).min(u64::from(u32::MAX)) as u32);
    }
}

/// Receives everything queued on socket `fd`.
fn drain_socket(fd: RawFd, batch: &mut RecvBatch, tally: &mut Tally, start: Instant) {
    loop {
        let n = match batch.receive(fd, Wait::No) {
            Ok(n) => n,
            // ECONNREFUSED: an earlier request met a closed port; nothing
            // to read.
            Err(_) => return,
        };
        let now = start.elapsed().as_nanos() as u64;
        for d in (0..n).filter_map(|i| batch.get(i)) {
            tally.reply(d.data, now);
        }
        if n < batch.capacity() {
            return;
        }
    }
}

/// Poller index of the pacing timer.
const TIMER: usize = usize::MAX;

/// Sends one burst of requests (sequence numbers `tally.sent..`) on `fd`.
fn send_burst(
    fd: RawFd,
    out: &mut SendBatch,
    template: &mut [u8; HEADER_LEN],
    cfg: &LoadConfig,
    tally: &mut Tally,
    now: u64,
) {
    let first_seq = tally.sent;
    // The answered bitmap bounds how many requests can be tracked.
    if (first_seq as usize + cfg.burst) / 64 + 1 >= tally.answered_bits.len() {
        let len = tally.answered_bits.len();
        tally.answered_bits.resize(len * 2, 0);
    }
    for i in 0..cfg.burst {
        let seq = first_seq + i as u64;
        let xmt = tally.tag << 32 | seq;
        wire::set_transmit(template, xmt);
        let Some(slot) = out.next_buffer() else {
            break;
        };
        let len = if let Some(n) = &cfg.nts {
            let req = n.request(template, xmt, seq);
            slot[..req.len()].copy_from_slice(&req);
            req.len()
        } else {
            slot[..HEADER_LEN].copy_from_slice(template);
            match &cfg.key {
                Some(k) => k.append(slot, HEADER_LEN).unwrap_or(HEADER_LEN),
                None => HEADER_LEN,
            }
        };
        out.commit(len, None, None);
    }
    // Requests in one burst share its send time; unsent ones of a short
    // burst keep their sequence numbers unused.
    tally.burst_sent_ns.push(now);
    let queued = out.len();
    let f = out.flush(fd);
    tally.report.sent += f.sent as u64;
    tally.report.send_errors += (cfg.burst - queued + f.failed) as u64;
    tally.sent = first_seq + cfg.burst as u64;
}

/// The `p`-th percentile (0..=100) of `v`, reordering it.
fn percentile(v: &mut [u32], p: usize) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let i = (v.len() - 1) * p / 100;
    u64::from(*v.select_nth_unstable(i).1)
}

/// Runs one load step and reports what happened.
pub fn run(cfg: &LoadConfig) -> io::Result<LoadReport> {
    if cfg.rate == 0 || cfg.burst == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "rate and burst must be positive",
        ));
    }
    let socks = open_sockets(cfg)?;
    let mut poller = Poller::new(socks.len() + 1)?;
    for (i, s) in socks.iter().enumerate() {
        poller.add(s, i)?;
    }
    let start = Instant::now();
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let tag = u64::from(std::process::id().rotate_left(16) ^ clock.subsec_nanos());
    let planned = cfg.rate as f64 * cfg.duration.as_secs_f64();
    let mut tally = Tally {
        tag,
        burst: cfg.burst,
        key: cfg.key.clone(),
        nts: cfg.nts.clone(),
        late_ns: cfg.late.as_nanos() as u64,
        burst_sent_ns: Vec::with_capacity((planned / cfg.burst as f64) as usize + 16),
        answered_bits: vec![0; (planned as usize + cfg.burst) / 64 + 2],
        sent: 0,
        rtts_us: Vec::with_capacity(planned as usize + 16),
        report: LoadReport {
            offered: cfg.rate,
            ..LoadReport::default()
        },
    };
    let mut out = SendBatch::new(cfg.burst, SLOT_LEN);
    // Finer timer wake-ups than the default 50 µs slack.
    let _ = nix::sys::prctl::set_timerslack(1);
    let mut inb = RecvBatch::new(32, SLOT_LEN);
    let mut template = wire::request(0);
    let period_ns = cfg.burst as f64 * 1e9 / cfg.rate as f64;
    let window_ns = cfg.duration.as_nanos() as u64;
    let max_lag_ns = 20_000_000u64;
    let mut ready = Vec::with_capacity(socks.len() + 1);
    let mut bursts: u64 = 0;
    let mut answered_in_window = 0;

    let timer = PacingTimer::new(period_ns as u64)?;
    poller.add(timer.fd(), TIMER)?;
    let cpu0 = cfg.server_pid.and_then(procfs::cpu_time_us);
    let t0 = start.elapsed().as_nanos() as u64;
    let mut now = t0;
    while now - t0 < window_ns {
        let mut due = t0 + (bursts as f64 * period_ns) as u64;
        if now > due + max_lag_ns {
            // Too far behind (descheduled): skip, so the shortfall shows
            // in the sent rate instead of as one huge burst.
            bursts = ((now - t0) as f64 / period_ns) as u64;
            due = t0 + (bursts as f64 * period_ns) as u64;
        }
        while now >= due {
            let sock = &socks[(bursts % socks.len() as u64) as usize];
            send_burst(
                sock.as_raw_fd(),
                &mut out,
                &mut template,
                cfg,
                &mut tally,
                now,
            );
            bursts += 1;
            due = t0 + (bursts as f64 * period_ns) as u64;
        }
        ready.clear();
        // The timer wakes us for the next burst; replies wake us sooner.
        poller.wait(10, |i| ready.push(i))?;
        for &i in &ready {
            if i == TIMER {
                timer.clear();
            } else {
                drain_socket(socks[i].as_raw_fd(), &mut inb, &mut tally, start);
            }
        }
        answered_in_window = tally.report.answered;
        now = start.elapsed().as_nanos() as u64;
    }
    let window_s = (now - t0) as f64 / 1e9;
    let cpu1 = cfg.server_pid.and_then(procfs::cpu_time_us);

    let drain_end = Instant::now() + cfg.drain;
    while Instant::now() < drain_end {
        ready.clear();
        poller.wait(1, |i| ready.push(i))?;
        for &i in &ready {
            if i == TIMER {
                timer.clear();
            } else {
                drain_socket(socks[i].as_raw_fd(), &mut inb, &mut tally, start);
            }
        }
    }

    let mut r = tally.report;
    r.window_s = window_s;
    r.rtt_p50_us = percentile(&mut tally.rtts_us, 50);
    r.rtt_p99_us = percentile(&mut tally.rtts_us, 99);
    if let (Some(c0), Some(c1)) = (cpu0, cpu1) {
        let cpu_us = c1.saturating_sub(c0) as f64;
        r.server_cpu_pct = Some(100.0 * cpu_us / 1e6 / window_s.max(1e-9));
        r.server_cpu_us_per_reply =
            (answered_in_window > 0).then(|| cpu_us / answered_in_window as f64);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_picks_ranked_values() {
        let mut v: Vec<u32> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut v, 50), 50);
        assert_eq!(percentile(&mut v, 99), 99);
        assert_eq!(percentile(&mut v, 100), 100);
        assert_eq!(percentile(&mut [], 50), 0);
    }
}
