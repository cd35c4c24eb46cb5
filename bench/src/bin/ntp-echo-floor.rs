//! `ntp-echo-floor [--listen ADDR:PORT]`: the benchmark's floor server
//! (see `ntp_bench::floor`). Prints `listening ADDR:PORT` once bound
//! (port 0 picks a free port) and serves until killed.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::Write;
use std::net::UdpSocket;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

fn main() -> ExitCode {
    let mut listen = "127.0.0.1:123".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => match args.next() {
                Some(v) => listen = v,
                None => return usage("--listen needs ADDR:PORT"),
            },
            "-h" | "--help" => {
                println!("usage: ntp-echo-floor [--listen ADDR:PORT]   (default 127.0.0.1:123)");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let sock = match UdpSocket::bind(&listen) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ntp-echo-floor: cannot bind {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match sock.local_addr() {
        Ok(a) => println!("listening {a}"),
        Err(e) => {
            eprintln!("ntp-echo-floor: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _ = std::io::stdout().flush();
    let stop = AtomicBool::new(false);
    match ntp_bench::floor::serve(&sock, &stop) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ntp-echo-floor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("ntp-echo-floor: {msg}\nusage: ntp-echo-floor [--listen ADDR:PORT]");
    ExitCode::from(2)
}
