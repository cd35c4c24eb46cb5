//! The comparison table (markdown) and the raw step lines behind it.

use super::servers::{Auth, ServerKind};
use super::steps::ServerResult;
use std::fmt::Write;

/// Offered rate at which CPU use is compared.
pub const CPU_RATE: u64 = 50_000;

fn mb(kb: Option<u64>) -> String {
    kb.map_or_else(|| "–".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// The floor's CPU time per reply at [`CPU_RATE`]: the mean of its
/// measurements in the run (first and last), if any.
pub fn floor_us_per_reply(results: &[ServerResult]) -> Option<f64> {
    let v: Vec<f64> = results
        .iter()
        .filter(|r| r.kind == ServerKind::Floor && r.auth == Auth::None)
        .filter_map(|r| r.at(CPU_RATE)?.server_cpu_us_per_reply)
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// CPU µs per reply at [`CPU_RATE`] of `kind` with `auth`, if measured.
fn us_per_reply(results: &[ServerResult], kind: ServerKind, auth: Auth) -> Option<f64> {
    results
        .iter()
        .find(|r| r.kind == kind && r.auth == auth && !r.repeat)
        .and_then(|r| r.at(CPU_RATE)?.server_cpu_us_per_reply)
}

/// The NTS summary line (RFC 8915 replies): ours over the floor (the
/// goal is at most 1.3×) and ours over chronyd, when both were measured.
pub fn nts_ratio(results: &[ServerResult]) -> String {
    let Some(ours) = us_per_reply(results, ServerKind::Ours, Auth::Nts) else {
        return String::new();
    };
    let floor = floor_us_per_reply(results)
        .filter(|&f| f > 0.0)
        .map_or_else(|| "–".into(), |f| format!("{:.2}×", ours / f));
    let chronyd = us_per_reply(results, ServerKind::Chronyd, Auth::Nts)
        .filter(|&c| c > 0.0)
        .map_or_else(|| "–".into(), |c| format!("{:.2}×", ours / c));
    format!(
        "\nNTS replies at 50k/s: ours {ours:.2} µs/reply = {floor} the floor (goal ≤ 1.3×), \
         {chronyd} chronyd's.\n"
    )
}

/// The row label: the server's name, marked when measured again.
fn label(r: &ServerResult) -> String {
    if r.repeat {
        format!("{} (again)", r.kind.name())
    } else {
        r.kind.name().to_string()
    }
}

/// One markdown row per result, then notes for incomplete ones.
pub fn render(results: &[ServerResult]) -> String {
    let floor = floor_us_per_reply(results);
    let mut t = String::from(
        "| server | auth | max rate ≥99 % answered (req/s) | saturated (replies/s) | \
         CPU at 50k/s (% core) | CPU µs/reply at 50k/s | vs floor | RSS idle (MB) | \
         RSS load (MB) | RSS peak (MB) |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    let mut notes = String::new();
    for r in results {
        let at = r.at(CPU_RATE);
        let cpu = at.and_then(|s| s.server_cpu_pct);
        let per = at.and_then(|s| s.server_cpu_us_per_reply);
        let ratio = match (per, floor) {
            (Some(p), Some(f)) if f > 0.0 => format!("{:.2}", p / f),
            _ => "–".into(),
        };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            label(r),
            r.auth,
            r.max_rate_99()
                .map_or_else(|| "<25k".into(), |v| v.to_string()),
            r.saturated_step().map_or_else(
                || "–".into(),
                |s| {
                    let limited = !s.kept_up() && s.server_cpu_pct.is_some_and(|c| c < 85.0);
                    format!("{:.0}{}", s.reply_rate(), if limited { " †" } else { "" })
                }
            ),
            cpu.map_or_else(|| "–".into(), |v| format!("{v:.1}")),
            per.map_or_else(|| "–".into(), |v| format!("{v:.2}")),
            ratio,
            mb(r.rss_idle_kb),
            mb(r.rss_load_kb),
            mb(r.rss_peak_kb),
        );
        if let Some(n) = &r.note {
            let _ = writeln!(notes, "- {} / {}: {}", label(r), r.auth, n);
        }
    }
    if floor.is_some() {
        t.push_str("\n\"vs floor\": CPU µs/reply at 50k/s over the floor's (mean of its runs).\n");
    }
    if t.contains(" † |") {
        t.push_str(
            "\n† the load generator could not send the offered rate while the server \
             still had CPU to spare: a limit of the generator, not of the server.\n",
        );
    }
    if !notes.is_empty() {
        t.push_str("\nNotes:\n");
        t.push_str(&notes);
    }
    t
}

/// Every step's `ntp-loadgen` line, grouped by server and auth.
pub fn raw(results: &[ServerResult]) -> String {
    let mut s = String::new();
    for r in results {
        let _ = writeln!(s, "# {} {}", label(r), r.auth);
        for step in &r.steps {
            let _ = writeln!(s, "{step}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::LoadReport;

    fn step(offered: u64, sent: u64, answered: u64, per: f64) -> LoadReport {
        LoadReport {
            offered,
            window_s: 1.0,
            sent,
            answered,
            server_cpu_pct: Some(per * answered as f64 / 1e4),
            server_cpu_us_per_reply: Some(per),
            ..LoadReport::default()
        }
    }

    #[test]
    fn summarises_steps_against_the_floor() {
        let mut floor = ServerResult::new(ServerKind::Floor, Auth::None);
        floor.steps = vec![
            step(25_000, 25_000, 25_000, 10.0),
            step(50_000, 50_000, 50_000, 10.0),
        ];
        let mut ours = ServerResult::new(ServerKind::Ours, Auth::Md5);
        ours.steps = vec![
            step(25_000, 25_000, 24_990, 11.0),
            step(50_000, 50_000, 49_000, 11.0),
            step(75_000, 75_000, 60_000, 11.0),
        ];
        ours.rss_idle_kb = Some(4096);
        assert_eq!(ours.max_rate_99(), Some(25_000));
        assert_eq!(ours.saturated_rate(), Some(60_000.0));
        let mut again = floor.clone();
        again.repeat = true;
        again.steps[1].server_cpu_us_per_reply = Some(12.0);
        assert_eq!(
            floor_us_per_reply(&[floor.clone(), again.clone()]),
            Some(11.0)
        );
        let t = render(&[floor, ours.clone()]);
        assert!(render(&[again, ours]).contains("| floor (again) | none |"));
        let row = t.lines().find(|l| l.starts_with("| ours")).unwrap();
        assert!(row.contains("| md5 | 25000 | 60000 |"), "{row}");
        assert!(row.contains("| 11.00 | 1.10 | 4.0 |"), "{row}");
    }
}
