//! The NTS-KE handshake step (RFC 8915 §4) against a running NTS server:
//! `ntp-ke-load` inside the namespace, pinned to the load generator's
//! CPU, the server on its own, and the table of handshakes per second.

use super::netns::Netns;
use super::servers::{Programs, RunningServer, Sched, ServerKind};
use crate::ke_load::KeReport;
use std::fmt::Write;
use std::time::Duration;

/// Concurrent NTS-KE connections of the handshake step.
pub const KE_CONNECTIONS: usize = 4;

/// The handshake measurement of one server.
#[derive(Clone, Debug)]
pub struct KeResult {
    /// The server measured.
    pub kind: ServerKind,
    /// What `ntp-ke-load` reported, or why it did not.
    pub report: Result<KeReport, String>,
}

/// Runs `ntp-ke-load` for `duration` against `server` (its CA from the
/// NTS configuration), pinned to `cpu` under `sched`.
pub fn measure_ke(
    progs: &Programs,
    ns: &Netns,
    server: &RunningServer,
    (cpu, sched): (u32, Sched),
    duration: Duration,
) -> KeResult {
    let report = (|| {
        let ca = server
            .nts_ca
            .as_ref()
            .ok_or("the server has no NTS configuration")?;
        let cpu = cpu.to_string();
        let sched = sched.argv();
        let prog = progs.ke_load.display().to_string();
        let (ca, pid) = (ca.display().to_string(), server.pid().to_string());
        let conns = KE_CONNECTIONS.to_string();
        let secs = format!("{:.3}", duration.as_secs_f64());
        let mut argv: Vec<&str> = vec!["taskset", "-c", &cpu];
        argv.extend(sched.iter().map(String::as_str));
        argv.extend([
            prog.as_str(),
            "--ca",
            &ca,
            "--connections",
            &conns,
            "--duration",
            &secs,
            "--server-pid",
            &pid,
        ]);
        let out = ns
            .command(&argv)
            .output()
            .map_err(|e| format!("cannot run {prog}: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "ntp-ke-load {}: {}{}",
                out.status,
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let line = stdout
            .lines()
            .find(|l| l.starts_with("ntp-ke-load "))
            .ok_or_else(|| format!("ntp-ke-load printed no result: {stdout}"))?;
        eprintln!("  {:>8}   nts-ke {line}", server.kind.name());
        KeReport::parse_line(line)
    })();
    KeResult {
        kind: server.kind,
        report,
    }
}

/// The markdown table of the handshake steps, raw lines and notes.
pub fn render(results: &[KeResult]) -> String {
    let mut t = format!(
        "| server | NTS-KE sessions/s ({KE_CONNECTIONS} connections) | server CPU (% core) | \
         server CPU µs/session | sessions/s per server core | short / failed |\n\
         |---|--:|--:|--:|--:|--:|\n"
    );
    let mut notes = String::new();
    let dash = || "–".to_string();
    for r in results {
        match &r.report {
            Ok(k) => {
                let _ = writeln!(
                    t,
                    "| {} | {:.0} | {} | {} | {} | {} / {} |",
                    r.kind.name(),
                    k.rate(),
                    k.server_cpu_pct.map_or_else(dash, |v| format!("{v:.1}")),
                    k.server_cpu_us_per_handshake
                        .map_or_else(dash, |v| format!("{v:.0}")),
                    k.per_core().map_or_else(dash, |v| format!("{v:.0}")),
                    k.short,
                    k.failed
                );
            }
            Err(e) => {
                let _ = writeln!(t, "| {} | – | – | – | – | – |", r.kind.name());
                let _ = writeln!(notes, "- {}: {e}", r.kind.name());
            }
        }
    }
    t.push_str(
        "\nA session: TCP connect, full TLS 1.3 handshake (no resumption), NTS-KE request, \
         response with 8 cookies, key export. \"per server core\" = 10⁶ / server CPU µs per \
         session.\n",
    );
    if !notes.is_empty() {
        t.push_str("\nNotes:\n");
        t.push_str(&notes);
    }
    t
}
