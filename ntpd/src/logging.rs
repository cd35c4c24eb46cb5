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

pub mod suppress;

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

/// `logconfig` event classes: the reference's `NLOG_*` bits. Each class
/// (system, peer, clock, sync) has four kinds of message (info, events,
/// status, statistics) in consecutive bits.
pub mod class {
    /// `…info`.
    pub const INFO: u32 = 0x1;
    /// `…events`.
    pub const EVENTS: u32 = 0x2;
    /// `…status`.
    pub const STATUS: u32 = 0x4;
    /// `…statistics`.
    pub const STATISTICS: u32 = 0x8;
    /// Shift of the `sys…` class.
    pub const SYS: u32 = 0;
    /// Shift of the `peer…` class.
    pub const PEER: u32 = 4;
    /// Shift of the `clock…` class.
    pub const CLOCK: u32 = 8;
    /// Shift of the `sync…` class.
    pub const SYNC: u32 = 12;
    /// Every class and kind (the default).
    pub const ALL: u32 = 0xffff;
}

/// `tracing` target of system events (`sysevents`).
pub const SYS_EVENT: &str = "ntpd::sysevents";
/// `tracing` target of peer events (`peerevents`).
pub const PEER_EVENT: &str = "ntpd::peerevents";
/// `tracing` target of informational peer messages (`peerinfo`).
pub const PEER_INFO: &str = "ntpd::peerinfo";
/// `tracing` target of clock discipline status changes (`syncstatus`).
pub const SYNC_STATUS: &str = "ntpd::syncstatus";

/// The `logconfig` bit of a message target, `None` for messages outside
/// the event classes (always logged, as the reference's plain
/// `msyslog()` lines).
pub fn class_of_target(target: &str) -> Option<u32> {
    match target {
        SYS_EVENT => Some(class::EVENTS << class::SYS),
        PEER_EVENT => Some(class::EVENTS << class::PEER),
        PEER_INFO => Some(class::INFO << class::PEER),
        SYNC_STATUS => Some(class::STATUS << class::SYNC),
        _ => None,
    }
}

static LOG_MASK: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(class::ALL);

/// The mask of `logconfig` items, applied in order to the default (all):
/// `=` sets, `+` adds, `-` removes (reference `config_logconfig()`). A
/// class `all` means the item in every class; an item `all` every kind
/// of the class.
pub fn log_mask(items: &[config::conf::LogConfigItem]) -> u32 {
    use config::conf::{LogClass, LogItem, LogOp};
    items.iter().fold(class::ALL, |mask, it| {
        let kinds = match it.item {
            LogItem::All => 0xf,
            LogItem::Info => class::INFO,
            LogItem::Events => class::EVENTS,
            LogItem::Status => class::STATUS,
            LogItem::Statistics => class::STATISTICS,
        };
        let bits = match it.class {
            LogClass::All => [class::SYS, class::PEER, class::CLOCK, class::SYNC]
                .iter()
                .fold(0, |b, shift| b | kinds << shift),
            LogClass::Sys => kinds << class::SYS,
            LogClass::Peer => kinds << class::PEER,
            LogClass::Clock => kinds << class::CLOCK,
            LogClass::Sync => kinds << class::SYNC,
        };
        match it.op {
            LogOp::Set => bits,
            LogOp::Add => mask | bits,
            LogOp::Remove => mask & !bits,
        }
    })
}

/// Apply a `logconfig` mask from now on.
pub fn set_log_mask(mask: u32) {
    LOG_MASK.store(mask, std::sync::atomic::Ordering::Relaxed);
}

/// Whether messages of `target` are logged under `mask`.
pub fn target_enabled(target: &str, mask: u32) -> bool {
    class_of_target(target).is_none_or(|bit| mask & bit != 0)
}

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
    /// Its event class is off (`logconfig`): nothing is written.
    suppressed: bool,
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
        if text.is_empty() || self.suppressed {
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
            suppressed: false,
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LineWriter {
        LineWriter {
            buf: Vec::new(),
            level: *meta.level(),
            suppressed: !target_enabled(
                meta.target(),
                LOG_MASK.load(std::sync::atomic::Ordering::Relaxed),
            ),
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

    fn items(text: &str) -> Vec<config::conf::LogConfigItem> {
        let c =
            config::conf::parse_str(&format!("logconfig {text}\n"), Path::new("t.conf")).unwrap();
        let items = match c.config.directives().next() {
            Some(config::conf::Directive::Logconfig(items)) => items.clone(),
            other => panic!("{other:?}"),
        };
        items
    }

    #[test]
    fn logconfig_masks_follow_the_reference_operators() {
        assert_eq!(log_mask(&[]), class::ALL);
        assert_eq!(log_mask(&items("=syncall")), 0xf000);
        assert_eq!(log_mask(&items("=syncall +sysevents")), 0xf002);
        assert_eq!(log_mask(&items("-peerevents")), class::ALL & !0x20);
        assert_eq!(log_mask(&items("=allevents")), 0x2222);
        assert_eq!(log_mask(&items("=allall")), class::ALL);
        let m = log_mask(&items("=sysall"));
        assert!(target_enabled(SYS_EVENT, m));
        assert!(!target_enabled(PEER_EVENT, m));
        assert!(!target_enabled(SYNC_STATUS, m));
        assert!(target_enabled("ntpd::daemon", m), "unclassed lines always");
    }

    #[test]
    fn severities() {
        assert_eq!(syslog_severity(Level::ERROR), 3);
        assert_eq!(syslog_severity(Level::WARN), 4);
        assert_eq!(syslog_severity(Level::DEBUG), 7);
    }
}
