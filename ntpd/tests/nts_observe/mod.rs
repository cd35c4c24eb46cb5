//! What the NTS daemon tests read from a running daemon through `ntpq`
//! (`rv` numbers, the one association's `as` row), and a peer daemon
//! (chronyd, ntpsec) stopped when the test lets go of it.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use crate::interop_support::{ntpq_binary, rv_vars};
use crate::support::Netns;

/// The numeric system variable `name` of `ntpq -c rv` at `host` in `ns`,
/// if shown.
pub fn rv_number(ns: &Netns, host: &str, name: &str) -> Option<u64> {
    let out = ns.output(&["timeout", "10", ntpq_binary(), "-c", "rv", host]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    rv_vars(&text)
        .into_iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// Whether the daemon at `host` has one association and it is reachable
/// and authentic (`ntpq -c as`: `yes yes ok`).
pub fn one_association_authentic(ns: &Netns, host: &str) -> bool {
    let out = ns.output(&["timeout", "10", ntpq_binary(), "-n", "-c", "as", host]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .filter(|r: &Vec<&str>| r.len() >= 6)
        .collect();
    rows.len() == 1 && rows[0][3..6] == ["yes", "yes", "ok"]
}

/// A peer daemon the test started: SIGTERM when dropped, SIGKILL if it
/// has not gone 3 s later.
pub struct StopOnDrop(pub std::process::Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
