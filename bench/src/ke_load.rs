//! The NTS-KE handshake load (RFC 8915 §4): several connections at once,
//! each running complete NTS-KE sessions back to back (TCP connect, a
//! full TLS 1.3 handshake with ALPN `ntske/1` and no session resumption,
//! the request, the response, the key export), counting the sessions that
//! ended with exactly eight cookies. With the server's PID it also
//! measures the server's CPU time over the window, so the handshakes one
//! server core sustains follow even when the client side is the limit.

use crate::nts_session;
use crate::procfs;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Clone, Debug)]
pub struct KeLoadConfig {
    /// The NTS-KE server (loopback).
    pub server: SocketAddr,
    /// The CA certificate that signed the server's.
    pub ca: PathBuf,
    /// The name the server certificate must carry.
    pub server_name: String,
    /// Connections open at once (one thread each).
    pub connections: usize,
    /// Length of the window.
    pub duration: Duration,
    /// Measure this process's CPU time over the window.
    pub server_pid: Option<u32>,
}

/// What one run measured; printed as one `ntp-ke-load key=value` line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeReport {
    /// Connections used.
    pub connections: usize,
    /// Length of the window, seconds.
    pub window_s: f64,
    /// Sessions that ended with eight cookies and both keys.
    pub completed: u64,
    /// Sessions that ended with fewer cookies.
    pub short: u64,
    /// Sessions that failed (connect, TLS, response).
    pub failed: u64,
    /// The server's CPU over the window, percent of one core.
    pub server_cpu_pct: Option<f64>,
    /// The server's CPU time per completed session, microseconds.
    pub server_cpu_us_per_handshake: Option<f64>,
}

impl KeReport {
    /// Completed sessions per second.
    pub fn rate(&self) -> f64 {
        if self.window_s > 0.0 {
            self.completed as f64 / self.window_s
        } else {
            0.0
        }
    }

    /// Sessions one fully busy server core would complete per second.
    pub fn per_core(&self) -> Option<f64> {
        self.server_cpu_us_per_handshake
            .filter(|&us| us > 0.0)
            .map(|us| 1e6 / us)
    }

    /// Reads a line written by [`fmt::Display`].
    pub fn parse_line(line: &str) -> Result<KeReport, String> {
        let mut r = KeReport::default();
        for kv in line.split_whitespace().skip(1) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("ntp-ke-load: {kv:?} is not key=value"))?;
            let bad = || format!("ntp-ke-load: {k}={v:?}");
            match k {
                "connections" => r.connections = v.parse().map_err(|_| bad())?,
                "window_s" => r.window_s = v.parse().map_err(|_| bad())?,
                "completed" => r.completed = v.parse().map_err(|_| bad())?,
                "short" => r.short = v.parse().map_err(|_| bad())?,
                "failed" => r.failed = v.parse().map_err(|_| bad())?,
                "server_cpu_pct" => r.server_cpu_pct = v.parse().ok(),
                "server_cpu_us_per_handshake" => r.server_cpu_us_per_handshake = v.parse().ok(),
                _ => {}
            }
        }
        Ok(r)
    }
}

impl fmt::Display for KeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
        write!(
            f,
            "ntp-ke-load connections={} window_s={:.3} completed={} short={} failed={} \
             rate={:.1} server_cpu_pct={} server_cpu_us_per_handshake={}",
            self.connections,
            self.window_s,
            self.completed,
            self.short,
            self.failed,
            self.rate(),
            opt(self.server_cpu_pct),
            opt(self.server_cpu_us_per_handshake),
        )
    }
}

#[derive(Default)]
struct Counts {
    completed: AtomicU64,
    short: AtomicU64,
    failed: AtomicU64,
}

/// Runs the handshake load; the first error of a session is kept for the
/// caller when no session completed at all.
pub fn run(cfg: &KeLoadConfig) -> io::Result<KeReport> {
    if cfg.connections == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "connections must be positive",
        ));
    }
    let connector = Arc::new(nts_session::connector(&cfg.ca)?);
    // One session first: a server that cannot do NTS-KE fails here.
    nts_session::key_exchange(&connector, cfg.server, &cfg.server_name)?;
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let cpu0 = cfg.server_pid.and_then(procfs::cpu_time_us);
    let t0 = Instant::now();
    let threads: Vec<_> = (0..cfg.connections)
        .map(|_| {
            let (connector, counts, stop) = (connector.clone(), counts.clone(), stop.clone());
            let (server, name) = (cfg.server, cfg.server_name.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let c = match nts_session::key_exchange(&connector, server, &name) {
                        Ok(s) if s.cookies() == 8 => &counts.completed,
                        Ok(_) => &counts.short,
                        Err(_) => &counts.failed,
                    };
                    c.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(cfg.duration);
    // Sessions finishing after this instant are not counted.
    let window_s = t0.elapsed().as_secs_f64();
    let completed = counts.completed.load(Ordering::Relaxed);
    let short = counts.short.load(Ordering::Relaxed);
    let failed = counts.failed.load(Ordering::Relaxed);
    let cpu1 = cfg.server_pid.and_then(procfs::cpu_time_us);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let mut r = KeReport {
        connections: cfg.connections,
        window_s,
        completed,
        short,
        failed,
        ..KeReport::default()
    };
    if let (Some(c0), Some(c1)) = (cpu0, cpu1) {
        let us = c1.saturating_sub(c0) as f64;
        r.server_cpu_pct = Some(100.0 * us / 1e6 / window_s.max(1e-9));
        r.server_cpu_us_per_handshake = (completed > 0).then(|| us / completed as f64);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_round_trips() {
        let r = KeReport {
            connections: 4,
            window_s: 2.0,
            completed: 3000,
            short: 1,
            failed: 2,
            server_cpu_pct: Some(75.5),
            server_cpu_us_per_handshake: Some(500.0),
        };
        let back = KeReport::parse_line(&r.to_string()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.rate(), 1500.0);
        assert_eq!(back.per_core(), Some(2000.0));
        let none = KeReport::parse_line("ntp-ke-load completed=1 server_cpu_pct=-").unwrap();
        assert_eq!(none.server_cpu_pct, None);
    }
}
