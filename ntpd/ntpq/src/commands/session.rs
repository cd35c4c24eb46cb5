//! ntpq's own settings: the current host (`host`), the timeouts
//! (`timeout`), the claimed version (`ntpversion`), `debug`, `raw`/`cooked`
//! output, `hostnames`, `version` and `help`. None of these queries the
//! server.

use std::time::Duration;

use crate::cmdtable::{find_command, usage, COMMANDS};
use crate::transport::{Family, DEFAULT_PKT_VERSION, DEFAULT_SECONDARY_TIMEOUT, DEFAULT_TIMEOUT};

use super::Ntpq;

/// `hostnames [yes|no]`. Addresses are never turned into names here (no
/// resolver without unsafe FFI), so the setting is always "no".
pub(super) fn hostnames_cmd(arg: Option<&str>, out: &mut String) {
    match arg {
        None => out.push_str("hostnames not being shown\n"),
        Some("no") => {}
        Some("yes") => {
            eprintln!("***This ntpq does not look up host names; addresses are shown as numbers")
        }
        Some(_) => eprintln!("What?"),
    }
}

/// `version`.
pub(super) fn version_cmd(out: &mut String) {
    out.push_str(&format!(
        "ntpq {} (ntpd-autokey)\n",
        env!("CARGO_PKG_VERSION")
    ));
}

impl Ntpq {
    /// `timeout [MS]`: show or set the primary timeout; the secondary
    /// (per-fragment) timeout is capped by it.
    pub(super) fn timeout_cmd(&mut self, ms: Option<u64>, out: &mut String) {
        match ms {
            None => {
                let ms = self
                    .session
                    .as_ref()
                    .map_or(self.timeout.unwrap_or(DEFAULT_TIMEOUT), |s| s.timeout)
                    .as_millis();
                out.push_str(&format!("primary timeout {ms} ms\n"));
            }
            Some(ms) => {
                let t = Duration::from_millis(ms);
                self.timeout = Some(t);
                if let Some(sess) = self.session.as_mut() {
                    sess.timeout = t;
                    sess.secondary_timeout = DEFAULT_SECONDARY_TIMEOUT.min(t);
                }
            }
        }
    }

    /// `debug [no|more|less]`.
    pub(super) fn debug_cmd(&mut self, arg: Option<&str>, out: &mut String) {
        match arg {
            None => {
                out.push_str(&format!("debug level is {}\n", self.debug));
                return;
            }
            Some("no") => self.debug = 0,
            Some("more") => self.debug += 1,
            Some("less") => self.debug = self.debug.saturating_sub(1),
            Some(_) => {
                out.push_str("What?\n");
                return;
            }
        }
        if let Some(sess) = self.session.as_mut() {
            sess.debug = self.debug;
        }
        out.push_str(&format!("debug level set to {}\n", self.debug));
    }

    /// `raw` (`true`) and `cooked` (`false`).
    pub(super) fn set_raw(&mut self, raw: bool, out: &mut String) {
        self.raw = raw;
        out.push_str(if raw {
            "Output set to raw\n"
        } else {
            "Output set to cooked\n"
        });
    }

    /// `ntpversion [1..4]`: the version claimed in requests.
    pub(super) fn ntpversion_cmd(&mut self, version: Option<u64>, out: &mut String) {
        match version {
            None => {
                let v = self
                    .session
                    .as_ref()
                    .map_or(self.pkt_version.unwrap_or(DEFAULT_PKT_VERSION), |s| {
                        s.pkt_version
                    });
                out.push_str(&format!("NTP version being claimed is {v}\n"));
            }
            Some(v @ 1..=4) => {
                let v = v as u8;
                self.pkt_version = Some(v);
                if let Some(sess) = self.session.as_mut() {
                    sess.pkt_version = v;
                }
            }
            Some(_) => eprintln!("versions 1 to 4, please"),
        }
    }

    /// `help [COMMAND]`: the command words in columns, or one command's usage.
    pub(super) fn help(&self, cmd: Option<&str>, out: &mut String) {
        match cmd {
            None => {
                let mut words: Vec<&str> = COMMANDS
                    .iter()
                    .map(|d| d.name)
                    .filter(|n| !n.starts_with('?'))
                    .collect();
                words.sort_unstable();
                let col = words.iter().map(|w| w.len()).max().unwrap_or(0) + 1;
                let cols = (76 / col).max(1);
                let rows = words.len().div_ceil(cols);
                out.push_str("ntpq commands:\n");
                for row in 0..rows {
                    for w in words.iter().skip(row).step_by(rows) {
                        out.push_str(&format!("{w:<col$}"));
                    }
                    out.push('\n');
                }
            }
            Some(c) => match find_command(c) {
                Ok(d) => {
                    out.push_str(&format!("function: {}\n", d.help));
                    out.push_str(&usage(d));
                    out.push('\n');
                }
                Err(0) => eprintln!("Command `{c}' is unknown"),
                Err(_) => eprintln!("Command `{c}' is ambiguous"),
            },
        }
    }

    /// `host [-4|-6] NAME`: show or change the current host.
    pub(super) fn host_cmd(&mut self, strs: &[String], out: &mut String) {
        if strs.is_empty() {
            match &self.session {
                Some(s) => out.push_str(&format!("current host is {}\n", s.name)),
                None => out.push_str("no current host\n"),
            }
            return;
        }
        let (family, name) = if strs.len() == 2 {
            match strs[0].as_str() {
                "-4" => (Some(Family::V4), &strs[1]),
                "-6" => (Some(Family::V6), &strs[1]),
                _ => (None, &strs[1]),
            }
        } else {
            (Some(Family::Any), &strs[0])
        };
        if let Some(f) = family {
            if self.open_host(name, f) {
                let n = self
                    .session
                    .as_ref()
                    .map_or(String::new(), |s| s.name.clone());
                out.push_str(&format!("current host set to {n}\n"));
                return;
            }
        }
        match &self.session {
            Some(s) => out.push_str(&format!("current host remains {}\n", s.name)),
            None => out.push_str("still no current host\n"),
        }
    }
}
