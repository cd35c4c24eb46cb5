//! The load generator's result: one machine-readable line of
//! `key=value` pairs, written by `ntp-loadgen` and read by the runner.

use std::fmt;

/// What one load step measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// Requests per second asked for.
    pub offered: u64,
    /// Length of the sending window, seconds.
    pub window_s: f64,
    /// Requests sent.
    pub sent: u64,
    /// Requests whose send failed (e.g. ECONNREFUSED: nothing listening).
    pub send_errors: u64,
    /// Valid, timely replies to our requests (KoD and late ones excluded).
    pub answered: u64,
    /// Valid replies that arrived after the late limit.
    pub late: u64,
    /// Replies that do not match an outstanding request of ours, are
    /// duplicates, not mode 4, too short, or fail the MAC check.
    pub malformed: u64,
    /// Kiss-o'-Death replies (stratum 0).
    pub kod: u64,
    /// Replies with a crypto-NAK instead of a MAC.
    pub nak: u64,
    /// Answered replies that said "unsynchronised" (leap 3 / stratum 16).
    pub unsync: u64,
    /// Leap indicator (0–3) of the last answered reply.
    pub last_leap: u8,
    /// Stratum (0–255) of the last answered reply.
    pub last_stratum: u8,
    /// Median round-trip time of answered replies, microseconds.
    pub rtt_p50_us: u64,
    /// 99th-percentile round-trip time of answered replies, microseconds.
    pub rtt_p99_us: u64,
    /// The server's CPU over the window, percent of one core.
    pub server_cpu_pct: Option<f64>,
    /// The server's CPU time per answered reply, microseconds.
    pub server_cpu_us_per_reply: Option<f64>,
}

impl LoadReport {
    /// Requests actually sent per second.
    pub fn sent_rate(&self) -> f64 {
        per_second(self.sent, self.window_s)
    }

    /// Answered replies per second.
    pub fn reply_rate(&self) -> f64 {
        per_second(self.answered, self.window_s)
    }

    /// The generator sent at least 95 % of the offered rate (else the
    /// step measured the generator, not the server).
    pub fn kept_up(&self) -> bool {
        self.sent_rate() >= 0.95 * self.offered as f64
    }

    /// Percentage of sent requests answered in time.
    pub fn answered_pct(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            100.0 * self.answered as f64 / self.sent as f64
        }
    }

    /// Reads a line written by `Display`; unknown keys are ignored.
    pub fn parse_line(line: &str) -> Result<LoadReport, String> {
        let mut r = LoadReport::default();
        let mut seen = 0;
        for pair in line.split_whitespace().skip(1) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not key=value in {line:?}"))?;
            let bad = |_| format!("bad value for {k}: {v:?}");
            let opt = |v: &str| -> Result<Option<f64>, String> {
                if v == "-" {
                    Ok(None)
                } else {
                    v.parse().map(Some).map_err(|_| format!("bad value {v:?}"))
                }
            };
            seen += 1;
            match k {
                "offered" => r.offered = v.parse().map_err(bad)?,
                "window_s" => r.window_s = v.parse().map_err(|_| format!("bad {k}"))?,
                "sent" => r.sent = v.parse().map_err(bad)?,
                "send_errors" => r.send_errors = v.parse().map_err(bad)?,
                "answered" => r.answered = v.parse().map_err(bad)?,
                "late" => r.late = v.parse().map_err(bad)?,
                "malformed" => r.malformed = v.parse().map_err(bad)?,
                "kod" => r.kod = v.parse().map_err(bad)?,
                "nak" => r.nak = v.parse().map_err(bad)?,
                "unsync" => r.unsync = v.parse().map_err(bad)?,
                "leap" => r.last_leap = v.parse().map_err(|_| format!("bad {k}"))?,
                "stratum" => r.last_stratum = v.parse().map_err(|_| format!("bad {k}"))?,
                "rtt_p50_us" => r.rtt_p50_us = v.parse().map_err(bad)?,
                "rtt_p99_us" => r.rtt_p99_us = v.parse().map_err(bad)?,
                "server_cpu_pct" => r.server_cpu_pct = opt(v)?,
                "server_cpu_us_per_reply" => r.server_cpu_us_per_reply = opt(v)?,
                _ => seen -= 1,
            }
        }
        if !line.starts_with("ntp-loadgen ") || seen < 5 {
            return Err(format!("not an ntp-loadgen result line: {line:?}"));
        }
        Ok(r)
    }
}

fn per_second(n: u64, s: f64) -> f64 {
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.decimals$}"))
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ntp-loadgen offered={} window_s={:.3} sent={} sent_rate={:.0} send_errors={} \
             answered={} answered_pct={:.2} reply_rate={:.0} late={} malformed={} kod={} nak={} \
             unsync={} leap={} stratum={} rtt_p50_us={} rtt_p99_us={} server_cpu_pct={} \
             server_cpu_us_per_reply={}",
            self.offered,
            self.window_s,
            self.sent,
            self.sent_rate(),
            self.send_errors,
            self.answered,
            self.answered_pct(),
            self.reply_rate(),
            self.late,
            self.malformed,
            self.kod,
            self.nak,
            self.unsync,
            self.last_leap,
            self.last_stratum,
            self.rtt_p50_us,
            self.rtt_p99_us,
            opt(self.server_cpu_pct, 1),
            opt(self.server_cpu_us_per_reply, 3),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_round_trips() {
        let r = LoadReport {
            offered: 50_000,
            window_s: 3.0,
            sent: 150_000,
            answered: 149_000,
            late: 2,
            malformed: 1,
            last_stratum: 5,
            rtt_p50_us: 40,
            rtt_p99_us: 300,
            server_cpu_pct: Some(61.5),
            server_cpu_us_per_reply: Some(12.345),
            ..LoadReport::default()
        };
        let line = r.to_string();
        assert!(line.contains("answered_pct=99.33"), "{line}");
        assert_eq!(LoadReport::parse_line(&line).unwrap(), r);
    }

    #[test]
    fn rejects_other_lines() {
        assert!(LoadReport::parse_line("hello world").is_err());
        assert!(LoadReport::parse_line("ntp-loadgen sent").is_err());
    }
}
