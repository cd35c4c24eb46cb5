//! Log output through `tracing`, its verbosity set by `-d`/`-D` (or
//! `RUST_LOG`, which wins when set), to one of:
//!
//! * stderr (the default, and with `-n` when no log file is set): lines
//!   carry no timestamp, like the reference's terminal output
//!   (`FILE:LINE:COL: warning: ...`);
//! * a log file (`logfile FILE`, `-l FILE`): appended, each line
//!   `DD Mon HH:MM:SS ntpd[PID]: message` (UTC);
//! * syslog (a detached daemon without a log file): RFC 3164 datagrams to
//!   `/dev/log`, facility daemon, severity from the event level.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::Mutex;

use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The level for a reference debug level: 0 shows warnings, 1 info,
/// 2 debug, 3 and more trace.
pub fn level_for_debug(debug_level: u32) -> &'static str {
    match debug_level {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    }
}

enum Target {
    Stderr,
    File(File),
    Syslog(UnixDatagram),
}

static TARGET: Mutex<Target> = Mutex::new(Target::Stderr);

/// Least severe level shown on stderr (from `-d`); files and syslog get
/// informational messages too, as the reference logs them.
static STDERR_FLOOR: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);

fn rank(l: Level) -> u8 {
    match l {
        Level::ERROR => 0,
        Level::WARN => 1,
        Level::INFO => 2,
        Level::DEBUG => 3,
        Level::TRACE => 4,
    }
}

/// Install the subscriber (stderr until [`to_file`] or [`to_syslog`]).
/// Calling it twice is harmless.
pub fn init(debug_level: u32) {
    // Informational messages always reach a log file or syslog; stderr
    // shows them only from -d on.
    STDERR_FLOOR.store(
        u8::try_from(debug_level)
            .unwrap_or(u8::MAX)
            .saturating_add(1),
        std::sync::atomic::Ordering::Relaxed,
    );
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(level_for_debug(debug_level.max(1))));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Switch)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .with_level(false)
        .with_target(false)
        .try_init();
}

/// Send log lines to `path` (appending) from now on.
pub fn to_file(path: &Path) -> io::Result<()> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    if let Ok(mut t) = TARGET.lock() {
        *t = Target::File(f);
    }
    Ok(())
}

/// Send log lines to the local syslog daemon from now on. Without a
/// listening `/dev/log`, lines are dropped.
pub fn to_syslog() {
    let Ok(s) = UnixDatagram::unbound() else {
        return;
    };
    if s.connect("/dev/log").is_ok() {
        if let Ok(mut t) = TARGET.lock() {
            *t = Target::Syslog(s);
        }
    }
}

/// `DD Mon HH:MM:SS` of a Unix time (UTC), the reference's log stamp.
pub fn stamp(unix_secs: i64) -> String {
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ymd = crate::stats::ymd(unix_secs);
    let month: usize = ymd[4..6].parse().unwrap_or(1);
    let day = &ymd[6..8];
    let sod = unix_secs.rem_euclid(86400);
    format!(
        "{day} {} {:02}:{:02}:{:02}",
        MON[month.clamp(1, 12) - 1],
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

fn syslog_severity(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// Routes each formatted event to the current target.
struct Switch;

/// One event's text, delivered when dropped.
pub struct LineWriter {
    buf: Vec<u8>,
    level: Level,
}

impl Write for LineWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.trim_end_matches('\n');
        if text.is_empty() {
            return;
        }
        let Ok(mut t) = TARGET.lock() else { return };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        match &mut *t {
            Target::Stderr => {
                if rank(self.level) <= STDERR_FLOOR.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = writeln!(io::stderr(), "{text}");
                }
            }
            Target::File(f) => {
                let _ = writeln!(f, "{} ntpd[{}]: {text}", stamp(now), std::process::id());
            }
            Target::Syslog(s) => {
                let pri = 3 * 8 + syslog_severity(self.level);
                let msg = format!("<{pri}>{} ntpd[{}]: {text}", stamp(now), std::process::id());
                let _ = s.send(msg.as_bytes());
            }
        }
    }
}

impl<'a> MakeWriter<'a> for Switch {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            buf: Vec::new(),
            level: Level::INFO,
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LineWriter {
        LineWriter {
            buf: Vec::new(),
            level: *meta.level(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_style_stamps() {
        assert_eq!(stamp(1_795_737_600 + 3661), "27 Nov 01:01:01");
        assert_eq!(stamp(0), "01 Jan 00:00:00");
    }

    #[test]
    fn severities() {
        assert_eq!(syslog_severity(Level::ERROR), 3);
        assert_eq!(syslog_severity(Level::WARN), 4);
        assert_eq!(syslog_severity(Level::DEBUG), 7);
    }
}
