//! Rate-limited log lines for what an unauthenticated sender can trigger
//! at will (a rejected Autokey packet, an over-long mode 6 variable): at
//! most [`LINES_PER_WINDOW`] lines of one kind per [`WINDOW`] seconds;
//! the next line after a suppression is preceded by one summary line
//! `… (N more suppressed in the last S s)`, so the operator still learns
//! how much was left out (the reference logs each one; a flood of 40 k
//! packets made 40 k lines).
//!
//! Each call site of [`limited!`](crate::limited) has its own limiter.
//! Time comes from the process's monotonic clock: logging is output, not
//! part of the sans-IO core's decisions.

use std::sync::Mutex;
use std::time::Instant;

/// Lines of one kind logged per window.
pub const LINES_PER_WINDOW: u32 = 10;

/// The window, seconds.
pub const WINDOW: f64 = 60.0;

/// What to do with one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Log it; `suppressed` lines of this kind were left out before it.
    Log {
        /// Lines left out since the last one logged.
        suppressed: u64,
        /// Seconds those lines were left out over.
        over: u64,
    },
    /// Leave it out (it is counted).
    Suppress,
}

/// One kind of line's window: how many were logged and left out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineLimiter {
    per_window: u32,
    window: f64,
    window_start: Option<f64>,
    logged: u32,
    suppressed: u64,
    first_suppressed: f64,
}

impl LineLimiter {
    /// At most `per_window` lines per `window` seconds.
    pub const fn new(per_window: u32, window: f64) -> Self {
        LineLimiter {
            per_window,
            window,
            window_start: None,
            logged: 0,
            suppressed: 0,
            first_suppressed: 0.0,
        }
    }

    /// The verdict on a line at monotonic time `now` (seconds).
    pub fn verdict(&mut self, now: f64) -> Verdict {
        let start = *self.window_start.get_or_insert(now);
        if now - start >= self.window || now < start {
            self.window_start = Some(now);
            self.logged = 0;
        }
        if self.logged >= self.per_window {
            if self.suppressed == 0 {
                self.first_suppressed = now;
            }
            self.suppressed += 1;
            return Verdict::Suppress;
        }
        self.logged += 1;
        let over = match self.suppressed {
            0 => 0,
            _ => (now - self.first_suppressed).max(0.0).ceil() as u64,
        };
        let v = Verdict::Log {
            suppressed: self.suppressed,
            over,
        };
        self.suppressed = 0;
        v
    }
}

/// A call site's limiter, on the process's monotonic clock.
#[derive(Debug)]
pub struct SiteLimiter {
    state: Mutex<Option<(Instant, LineLimiter)>>,
}

impl SiteLimiter {
    /// A limiter with the default window.
    pub const fn new() -> Self {
        SiteLimiter {
            state: Mutex::new(None),
        }
    }

    /// The verdict on a line now.
    pub fn verdict(&self) -> Verdict {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (epoch, limiter) =
            g.get_or_insert_with(|| (Instant::now(), LineLimiter::new(LINES_PER_WINDOW, WINDOW)));
        limiter.verdict(epoch.elapsed().as_secs_f64())
    }
}

impl Default for SiteLimiter {
    fn default() -> Self {
        Self::new()
    }
}

/// A `tracing` event at `level` (`DEBUG`, `INFO`, `WARN`, `ERROR`),
/// rate-limited per call site (see [`crate::logging::suppress`]):
/// `limited!(WARN, "mode 6 request from {src}: …")`. Lines of a level
/// the log does not show are neither counted nor summarised.
#[macro_export]
macro_rules! limited {
    ($level:ident, $($arg:tt)+) => {{
        static SITE: $crate::logging::suppress::SiteLimiter =
            $crate::logging::suppress::SiteLimiter::new();
        if tracing::enabled!(tracing::Level::$level) {
            if let $crate::logging::suppress::Verdict::Log { suppressed, over } = SITE.verdict() {
                if suppressed > 0 {
                    tracing::event!(
                        tracing::Level::$level,
                        "({suppressed} more suppressed in the last {over} s of lines like the next)"
                    );
                }
                tracing::event!(tracing::Level::$level, $($arg)+);
            }
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_logs_a_few_lines_and_one_summary_per_window() {
        let mut l = LineLimiter::new(10, 60.0);
        let mut logged = 0;
        let mut summaries = Vec::new();
        // 40 k lines over 100 s.
        for i in 0..40_000u32 {
            let now = f64::from(i) / 400.0;
            if let Verdict::Log { suppressed, .. } = l.verdict(now) {
                logged += 1;
                if suppressed > 0 {
                    summaries.push(suppressed);
                }
            }
        }
        assert_eq!(logged, 20, "10 in each of the two windows");
        // The second window's first line says how many the first left out.
        assert_eq!(summaries, vec![60 * 400 - 10]);
    }

    #[test]
    fn a_quiet_source_is_never_suppressed() {
        let mut l = LineLimiter::new(10, 60.0);
        for i in 0..100u32 {
            assert_eq!(
                l.verdict(f64::from(i) * 7.0),
                Verdict::Log {
                    suppressed: 0,
                    over: 0
                }
            );
        }
    }
}
