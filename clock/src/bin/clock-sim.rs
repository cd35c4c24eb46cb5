//! `clock-sim`: run a clock-discipline scenario in the deterministic
//! simulator and print `key=value` results.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::Write;
use std::process::ExitCode;

use clock::sim::engine::run;
use clock::sim::scenario::ScenarioArgs;

const HELP: &str = "\
usage: clock-sim [--scenario FILE] [--KEY VALUE ...] [--csv FILE]

Scenario keys (flags or `key = value` lines in a scenario file):
  --servers N            number of servers (default 4)
  --delay S              one-way base delay, seconds (default 0.0005)
  --jitter S             jitter scale, seconds (default 0.0001)
  --jitter-dist D        normal | exp | uniform (default normal)
  --jitter-on DIR        both | out | in: which direction queues (default both)
  --asymmetry S          outbound minus return delay, seconds
  --freq PPM             client frequency error
  --wander PPM           frequency random walk, PPM per sqrt(second)
  --initial-offset S     initial client offset, seconds
  --falsetickers N       last N servers are falsetickers
  --falseticker-offset S their offset (default 0.5)
  --loss FRACTION        packet loss per direction
  --minpoll N --maxpoll N
  --duration S           simulated seconds (default 86400)
  --seed N
  --outage START,END     server 0 silent in [START, END)
  --route-change AT,S    every path gains S seconds one-way at AT
  --leap T               leap second inserted at true time T
  --leap-warning S       servers announce it S seconds ahead (default 3600)
  --kernel true|false    kernel PLL instead of the daemon loop
  --slew-only true|false -x
  --allow-panic true|false  -g
  --drift PPM            drift file value
  --iburst true|false
  --pll-gain G           phase time constant in poll intervals (default 4)
  --filter-reuse true|false  delay-weighted clock filter (default true) or
                         the RFC 5905 minimum-delay filter
  --huffpuff S           tinker huffpuff: huff-n'-puff window, seconds
  --dispersion PPM       tinker dispersion: frequency tolerance (default 15)
  --freq-window S        longest start-up frequency measurement (default 1200)
  --freq-hold-phase true|false  hold the phase during it (default true)
Output: converge_s rms_offset_s max_offset_s rms_offset_all_s freq_error_ppm
        steps falseticker_selected final_poll panicked";

fn main() -> ExitCode {
    let mut args = ScenarioArgs::default();
    let mut csv: Option<String> = None;
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let flag = argv[i].as_str();
        if flag == "--help" || flag == "-h" {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        let Some(key) = flag.strip_prefix("--") else {
            eprintln!("clock-sim: unexpected argument {flag:?}; flags look like --servers 4");
            return ExitCode::from(2);
        };
        let Some(value) = argv.get(i + 1) else {
            eprintln!("clock-sim: --{key} needs a value");
            return ExitCode::from(2);
        };
        match key {
            "csv" => csv = Some(value.clone()),
            "scenario" => {
                let text = match std::fs::read_to_string(value) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("clock-sim: cannot read scenario file {value}: {e}");
                        return ExitCode::from(2);
                    }
                };
                if let Err((line, e)) = args.parse_file(&text) {
                    eprintln!("clock-sim: {value}:{line}: {e}");
                    return ExitCode::from(2);
                }
            }
            _ => {
                if let Err(e) = args.set(key, value) {
                    eprintln!("clock-sim: --{e}");
                    return ExitCode::from(2);
                }
            }
        }
        i += 2;
    }
    let scenario = match args.build() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("clock-sim: --{e}");
            return ExitCode::from(2);
        }
    };
    let r = run(&scenario);
    let mut out = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth a panic.
    macro_rules! emit {
        ($($arg:tt)*) => {
            let _ = writeln!(out, $($arg)*);
        };
    }
    let converge = r
        .converge_s
        .map(|c| format!("{c:.0}"))
        .unwrap_or_else(|| "never".into());
    emit!("converge_s={converge}");
    emit!("rms_offset_s={:.9}", r.rms_offset_s);
    emit!("max_offset_s={:.9}", r.max_offset_s);
    emit!("rms_offset_all_s={:.9}", r.rms_offset_all_s);
    emit!("freq_error_ppm={:.4}", r.freq_error_ppm);
    emit!("steps={}", r.steps);
    emit!("falseticker_selected={}", r.falseticker_selected);
    emit!("final_poll={}", r.final_poll);
    emit!("panicked={}", r.panicked);
    if let Some(path) = csv {
        let write = || -> std::io::Result<()> {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
            writeln!(f, "time_s,offset_s")?;
            for (t, o) in &r.trace {
                writeln!(f, "{t:.0},{o:.9}")?;
            }
            f.flush()
        };
        if let Err(e) = write() {
            eprintln!("clock-sim: cannot write CSV {path}: {e}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
