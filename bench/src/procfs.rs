//! A process's CPU time and memory from `/proc` (proc(5)).

use std::fs;

/// CPU time a process (all its threads) has used, in microseconds.
///
/// Uses the scheduler's `se.sum_exec_runtime` of every thread
/// (`/proc/PID/task/TID/sched`, nanosecond resolution) and falls back to
/// `utime + stime` from `/proc/PID/stat` (clock-tick resolution) when the
/// kernel does not provide it.
pub fn cpu_time_us(pid: u32) -> Option<u64> {
    sched_runtime_us(pid).or_else(|| stat_cpu_us(pid))
}

fn sched_runtime_us(pid: u32) -> Option<u64> {
    let mut total = 0.0f64;
    let mut threads = 0;
    for entry in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let text = fs::read_to_string(entry.path().join("sched")).ok()?;
        let ms: f64 = text
            .lines()
            .find(|l| l.starts_with("se.sum_exec_runtime"))?
            .split(':')
            .nth(1)?
            .trim()
            .parse()
            .ok()?;
        total += ms;
        threads += 1;
    }
    (threads > 0).then_some((total * 1000.0) as u64)
}

fn stat_cpu_us(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are
    // fields 14 and 15 of the whole line.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let hz = match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(hz)) if hz > 0 => hz as u64,
        _ => 100,
    };
    Some((utime + stime) * 1_000_000 / hz)
}

/// Resident memory of a process: (`VmRSS`, `VmHWM`) in kB.
pub fn rss_kb(pid: u32) -> Option<(u64, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_cpu_time_and_rss() {
        let me = std::process::id();
        // Burn a little CPU so the counter moves.
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(cpu_time_us(me).is_some_and(|t| t > 0));
        assert!(stat_cpu_us(me).is_some());
        let (rss, hwm) = rss_kb(me).expect("status readable");
        assert!(rss > 0 && hwm >= rss);
    }

    #[test]
    fn missing_process_gives_none() {
        assert_eq!(rss_kb(u32::MAX), None);
        assert_eq!(cpu_time_us(u32::MAX), None);
    }
}
