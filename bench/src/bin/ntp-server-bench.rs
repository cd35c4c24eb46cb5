//! `ntp-server-bench`: the server throughput comparison (run as root).
//! Creates a private network namespace, starts each server in turn on
//! 127.0.0.1:123 pinned to CPU 0, loads it with `ntp-loadgen` pinned to
//! CPU 1 at stepped rates, and prints a markdown table (see README.md).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use ntp_bench::runner::netns::{catch_signals, interrupted, Netns};
use ntp_bench::runner::servers::{self, Auth, Programs, RunningServer, Sched, ServerKind};
use ntp_bench::runner::steps::{measure, ServerResult, StepPlan};
use ntp_bench::runner::{ke_steps, table};
use std::fs;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: ntp-server-bench [--quick] [--servers floor,ours,chronyd,ntpsec]
       [--auth none,md5,sha1,nts] [--step-secs S] [--no-rt] [--out FILE]   (must run as root)
  --no-rt: run servers and generator at nice -10 instead of SCHED_FIFO 10";

struct Options {
    quick: bool,
    step_secs: Option<f64>,
    no_rt: bool,
    servers: Vec<ServerKind>,
    auths: Vec<Auth>,
    out: Option<PathBuf>,
}

fn list<T>(flag: &str, v: Option<String>, f: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a comma-separated list"))?;
    v.split(',')
        .map(|s| f(s.trim()).ok_or_else(|| format!("{flag}: unknown item {s:?}")))
        .collect()
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        step_secs: None,
        no_rt: false,
        servers: ServerKind::ALL.to_vec(),
        auths: Auth::ALL.to_vec(),
        out: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--no-rt" => o.no_rt = true,
            "--step-secs" => {
                let v = args.next().ok_or("--step-secs needs a number")?;
                let s: f64 = v.parse().map_err(|_| format!("--step-secs: {v:?}"))?;
                if !(0.2..=60.0).contains(&s) {
                    return Err("--step-secs must be within 0.2..=60".into());
                }
                o.step_secs = Some(s);
            }
            "--servers" => o.servers = list(&a, args.next(), ServerKind::from_name)?,
            "--auth" => o.auths = list(&a, args.next(), Auth::from_name)?,
            "--out" => o.out = Some(args.next().ok_or("--out needs a file name")?.into()),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// First line of a command's output, for the run notes.
fn first_line(argv: &[&str]) -> String {
    Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .map(|o| {
            let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
            s.push_str(&String::from_utf8_lossy(&o.stderr));
            s.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_default()
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn run(o: &Options) -> Result<String, String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("must run as root (network namespace, CPU pinning)".into());
    }
    catch_signals().map_err(|e| format!("signal handlers: {e}"))?;
    let progs = Programs::locate().map_err(|e| format!("locating programs: {e}"))?;
    if !progs.loadgen.is_file() {
        return Err(format!(
            "{} not found: cargo build --release -p ntp-bench",
            progs.loadgen.display()
        ));
    }
    let scratch = Scratch::create()?;
    let scratch = &scratch.0;
    let mut plan = StepPlan::new(o.quick);
    if let Some(s) = o.step_secs {
        plan.step = std::time::Duration::from_secs_f64(s);
    }
    if o.no_rt {
        plan.sched = Sched::Nice(-10);
    }
    let load_start = loadavg();
    let started = first_line(&["date", "-u", "+%Y-%m-%d %H:%M UTC"]);
    let ns = Netns::create().map_err(|e| format!("network namespace: {e}"))?;
    // The floor runs first and, to show the drift of a shared machine,
    // once more at the end.
    let mut order: Vec<(ServerKind, Auth, bool)> = Vec::new();
    for &auth in &o.auths {
        for &kind in &o.servers {
            let nts_ok = auth != Auth::Nts || servers::serves_nts(kind);
            if (kind != ServerKind::Floor || auth == Auth::None) && nts_ok {
                order.push((kind, auth, false));
            }
        }
    }
    if order.len() > 1 && order.iter().any(|&(k, _, _)| k == ServerKind::Floor) {
        order.push((ServerKind::Floor, Auth::None, true));
    }
    let mut results: Vec<ServerResult> = Vec::new();
    let mut ke: Vec<ke_steps::KeResult> = Vec::new();
    for (kind, auth, repeat) in order {
        if interrupted() {
            break;
        }
        let mut res = ServerResult::new(kind, auth);
        if let Some(program) = progs.server(kind) {
            let dir = scratch.join(format!("{}-{}-{}", kind.name(), auth, results.len()));
            fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            eprintln!("{} / {}: starting {}", kind.name(), auth, program.display());
            match RunningServer::start(kind, auth, program, &ns, &dir, (0, plan.sched)) {
                Ok(mut server) => {
                    res = measure(&progs, &ns, &mut server, &plan);
                    if auth == Auth::Nts && res.note.is_none() && !interrupted() {
                        let cpu = (plan.loadgen_cpu, plan.sched);
                        ke.push(ke_steps::measure_ke(
                            &progs,
                            &ns,
                            &server,
                            cpu,
                            plan.cpu_step,
                        ));
                    }
                    server.stop();
                }
                Err(e) => res.note = Some(format!("cannot start: {e}")),
            }
        } else {
            res.note = Some("program not found; skipped".into());
        }
        res.repeat = repeat;
        results.push(res);
    }
    drop(ns);
    let mut text = format!(
        "Server throughput, {started}: {} steps of {} s ({} × {} s at 50 k/s, median CPU \
         kept), load generator bursts of 8 from \
         64 addresses × 4 ports, server on CPU 0, generator on CPU 1 (both {}), loopback in a \
         private namespace.\nMachine: {}, kernel {}; load average {} at start, {} at end.\n\
         Versions: ours {}; {}; {}.\n\n",
        if o.quick { "quick" } else { "full" },
        plan.step.as_secs_f64(),
        plan.cpu_repeats,
        plan.cpu_step.as_secs_f64(),
        plan.sched,
        cpu_model(),
        first_line(&["uname", "-r"]),
        load_start,
        loadavg(),
        progs
            .ours
            .as_ref()
            .map_or("not found".into(), |p| p.display().to_string()),
        progs
            .chronyd
            .as_ref()
            .map_or("chronyd not found".into(), |p| {
                first_line(&[&p.display().to_string(), "-v"])
            }),
        progs
            .ntpsec
            .as_ref()
            .map_or("ntpsec not found".into(), |p| {
                first_line(&[&p.display().to_string(), "--version"])
            }),
    );
    text.push_str(&table::render(&results));
    text.push_str(&table::nts_ratio(&results));
    if !ke.is_empty() {
        text.push_str("\nNTS-KE handshakes, server on CPU 0, `ntp-ke-load` on CPU 1:\n\n");
        text.push_str(&ke_steps::render(&ke));
    }
    text.push_str("\nRaw steps:\n\n```\n");
    text.push_str(&table::raw(&results));
    text.push_str("```\n");
    if interrupted() {
        return Err(format!("interrupted; partial results:\n{text}"));
    }
    Ok(text)
}

/// The run's scratch directory (configurations, key files, logs),
/// removed on drop, also on errors and panics.
struct Scratch(PathBuf);

impl Scratch {
    fn create() -> Result<Scratch, String> {
        let p = std::env::temp_dir().join(format!("ntp-server-bench-{}", std::process::id()));
        fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(Scratch(p))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn cpu_model() -> String {
    let n = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{n} × {model}")
}

fn main() -> ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ntp-server-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(text) => {
            println!("{text}");
            if let Some(out) = &o.out {
                if let Err(e) = fs::write(out, &text) {
                    eprintln!("ntp-server-bench: cannot write {}: {e}", out.display());
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ntp-server-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
