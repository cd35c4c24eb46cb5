//! `ntp-soak`: the soak benchmark of issue 15 (see `ntp_bench::soak` and
//! bench/README.md). Run as root (it creates a network namespace):
//!
//! ```text
//! ntp-soak [--duration SECONDS] [--interval SECONDS] [--scale FACTOR]
//!          [--ntpd PATH] [--keysdir DIR --host NAME --pw PASSWORD]
//! ```
//!
//! Defaults: 3600 s, reports every 60 s, the rates of the README at
//! scale 1, `ntpd` next to this program, the repository's `alice` keys.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ntp_bench::soak::{self, SoakConfig};

fn usage(why: &str) -> ExitCode {
    eprintln!("ntp-soak: {why}");
    eprintln!(
        "usage: ntp-soak [--duration SECONDS] [--interval SECONDS] [--scale FACTOR] [--ntpd PATH] [--keysdir DIR] [--host NAME] [--pw PASSWORD]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let mut cfg = SoakConfig::new();
    let mut inside = false;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--inside" {
            inside = true;
            continue;
        }
        let Some(v) = it.next() else {
            return usage(&format!("{a} needs a value"));
        };
        let secs = |v: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0)
                .map(Duration::from_secs_f64)
        };
        match a.as_str() {
            "--duration" => match secs(v) {
                Some(d) => cfg.duration = d,
                None => return usage(&format!("--duration {v}: expected seconds above 0")),
            },
            "--interval" => match secs(v) {
                Some(d) => cfg.interval = d,
                None => return usage(&format!("--interval {v}: expected seconds above 0")),
            },
            "--scale" => match v.parse::<f64>() {
                Ok(s) if s > 0.0 => cfg.scale = s,
                _ => return usage(&format!("--scale {v}: expected a factor above 0")),
            },
            "--ntpd" => cfg.ntpd = PathBuf::from(v),
            "--keysdir" => cfg.keysdir = PathBuf::from(v),
            "--host" => cfg.host = v.clone(),
            "--pw" => cfg.pw = v.clone(),
            other => return usage(&format!("unknown option {other}")),
        }
    }
    if !cfg.ntpd.is_file() {
        return usage(&format!(
            "{}: no ntpd there; build it (cargo build --release -p ntpd) or give --ntpd",
            cfg.ntpd.display()
        ));
    }
    let result = if inside {
        soak::run_inside(&cfg).map(|_| ExitCode::SUCCESS)
    } else {
        let mut argv: Vec<String> = vec![std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| args[0].clone())];
        argv.extend(args.iter().skip(1).cloned());
        argv.push("--inside".into());
        soak::run_outside(&argv).map(|s| {
            if s.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        })
    };
    result.unwrap_or_else(|e| {
        eprintln!("ntp-soak: {e}");
        ExitCode::FAILURE
    })
}
