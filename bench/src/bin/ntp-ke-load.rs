//! `ntp-ke-load`: NTS-KE sessions back to back over several connections
//! against one server, printing one `ntp-ke-load key=value ...` line (see
//! `ntp_bench::ke_load`). Loopback only.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use ntp_bench::ke_load::{self, KeLoadConfig};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: ntp-ke-load --ca CA.pem [--server 127.0.0.1:4460] [--name 127.0.0.1]
       [--connections 4] [--duration 3] [--server-pid PID]";

fn parse<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse().map_err(|_| format!("{flag}: cannot read {v:?}"))
}

fn config() -> Result<KeLoadConfig, String> {
    let mut ca: Option<String> = None;
    let mut name: Option<String> = None;
    let mut cfg = KeLoadConfig {
        server: ([127, 0, 0, 1], 4460).into(),
        ca: Default::default(),
        server_name: String::new(),
        connections: 4,
        duration: Duration::from_secs(3),
        server_pid: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--server" => cfg.server = parse(&a, args.next())?,
            "--ca" => ca = Some(parse(&a, args.next())?),
            "--name" => name = Some(parse(&a, args.next())?),
            "--connections" => cfg.connections = parse(&a, args.next())?,
            "--duration" => cfg.duration = Duration::from_secs_f64(parse(&a, args.next())?),
            "--server-pid" => cfg.server_pid = Some(parse(&a, args.next())?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !cfg.server.ip().is_loopback() {
        return Err("--server must be a loopback address".into());
    }
    if !(1..=64).contains(&cfg.connections) || cfg.duration > Duration::from_secs(60) {
        return Err("--connections must be within 1..=64 and --duration at most 60".into());
    }
    cfg.ca = ca.ok_or("--ca is required")?.into();
    cfg.server_name = name.unwrap_or_else(|| cfg.server.ip().to_string());
    Ok(cfg)
}

fn main() -> ExitCode {
    ntp_bench::cli::tool_main("ntp-ke-load", USAGE, config, ke_load::run)
}
