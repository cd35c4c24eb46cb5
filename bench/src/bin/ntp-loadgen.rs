//! `ntp-loadgen`: sends NTPv4 mode 3 requests at a paced rate and prints
//! one `ntp-loadgen key=value ...` result line (see
//! `ntp_bench::loadgen` and `ntp_bench::report`). Loopback only.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use ntp_bench::key::{parse_hex, MacAlgo, MacKey};
use ntp_bench::loadgen::{self, LoadConfig};
use ntp_bench::nts_session;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: ntp-loadgen [--server 127.0.0.1:123] [--rate 50000] [--duration 3]
       [--burst 8] [--first-source 127.0.0.2] [--addrs 64] [--ports 4]
       [--key ID (--md5 HEXKEY | --sha1 HEXKEY)] [--server-pid PID]
       [--late-ms 100] [--drain-ms 200]
       [--nts-ke 127.0.0.1:4460 --nts-ca CA.pem [--nts-name 127.0.0.1]]
  --nts-ke: one NTS-KE session first, then NTS requests reusing its cookies";

fn parse<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse().map_err(|_| format!("{flag}: cannot read {v:?}"))
}

fn config() -> Result<LoadConfig, String> {
    let server = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 123);
    let mut cfg = LoadConfig::new(server, 50_000, Duration::from_secs(3));
    let mut key_id: Option<u32> = None;
    let mut secret: Option<(MacAlgo, Vec<u8>)> = None;
    let mut nts_ke: Option<SocketAddr> = None;
    let mut nts_ca: Option<PathBuf> = None;
    let mut nts_name: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--server" => cfg.server = parse(&a, args.next())?,
            "--rate" => cfg.rate = parse(&a, args.next())?,
            "--duration" => cfg.duration = Duration::from_secs_f64(parse(&a, args.next())?),
            "--burst" => cfg.burst = parse(&a, args.next())?,
            "--first-source" => cfg.first_source = parse(&a, args.next())?,
            "--addrs" => cfg.addrs = parse(&a, args.next())?,
            "--ports" => cfg.ports_per_addr = parse(&a, args.next())?,
            "--key" => key_id = Some(parse(&a, args.next())?),
            "--md5" | "--sha1" => {
                let algo = if a == "--md5" {
                    MacAlgo::Md5
                } else {
                    MacAlgo::Sha1
                };
                let hex: String = parse(&a, args.next())?;
                secret = Some((algo, parse_hex(&hex).map_err(|e| format!("{a}: {e}"))?));
            }
            "--server-pid" => cfg.server_pid = Some(parse(&a, args.next())?),
            "--late-ms" => cfg.late = Duration::from_millis(parse(&a, args.next())?),
            "--drain-ms" => cfg.drain = Duration::from_millis(parse(&a, args.next())?),
            "--nts-ke" => nts_ke = Some(parse(&a, args.next())?),
            "--nts-ca" => nts_ca = Some(parse::<String>(&a, args.next())?.into()),
            "--nts-name" => nts_name = Some(parse(&a, args.next())?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !cfg.server.ip().is_loopback() || !cfg.first_source.is_loopback() {
        return Err("--server and --first-source must be loopback (127.0.0.0/8) addresses".into());
    }
    if cfg.rate == 0 || cfg.burst == 0 || cfg.burst > 1024 {
        return Err("--rate must be positive and --burst within 1..=1024".into());
    }
    cfg.key = match (key_id, secret) {
        (Some(id), Some((algo, secret))) => Some(MacKey { id, algo, secret }),
        (None, None) => None,
        _ => return Err("--key ID and --md5/--sha1 HEXKEY go together".into()),
    };
    if let Some(addr) = nts_ke {
        if !addr.ip().is_loopback() {
            return Err("--nts-ke must be a loopback address".into());
        }
        if cfg.key.is_some() {
            return Err("--nts-ke and --key exclude each other".into());
        }
        let ca = nts_ca.ok_or("--nts-ke needs --nts-ca")?;
        let name = nts_name.unwrap_or_else(|| addr.ip().to_string());
        let connector = nts_session::connector(&ca).map_err(|e| e.to_string())?;
        let session =
            nts_session::key_exchange(&connector, addr, &name).map_err(|e| e.to_string())?;
        cfg.nts = Some(session);
    }
    Ok(cfg)
}

fn main() -> ExitCode {
    ntp_bench::cli::tool_main("ntp-loadgen", USAGE, config, loadgen::run)
}
