//! `ntp-keygen`: generate Autokey keys, certificates and identity
//! parameters, file-compatible with the reference ntp-keygen 4.2.8p18.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use keystore::keygen::{self, args, Env};

fn hostname() -> Result<String, String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            "cannot read the host name from /proc/sys/kernel/hostname; give it with -s HOST"
                .to_string()
        })
}

fn main() -> ExitCode {
    let opts = match args::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ntp-keygen: {e}");
            return ExitCode::from(1);
        }
    };
    if opts.help {
        print!("{}", keygen::usage::usage());
        return ExitCode::SUCCESS;
    }
    if opts.version {
        println!("ntp-keygen (ntpd-autokey) {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    // gethostname(); without one, the -s host name stands in for it.
    let from_subject = opts
        .subject
        .as_deref()
        .and_then(|s| s.split('@').next())
        .filter(|h| !h.is_empty())
        .map(str::to_string);
    let hostname = match (hostname(), from_subject.clone()) {
        (Ok(h), _) => h,
        (Err(_), Some(h)) => h,
        (Err(e), None) => {
            eprintln!("ntp-keygen: {e}");
            return ExitCode::from(1);
        }
    };
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let env = Env {
        dir: std::path::PathBuf::from("."),
        hostname,
        now_unix,
    };
    if opts.check {
        // The host, group and password as the other options name them.
        let host = from_subject.unwrap_or_else(|| env.hostname.clone());
        let ident = opts.ident.clone().unwrap_or_else(|| host.clone());
        let pw = opts
            .password
            .clone()
            .or_else(|| opts.export_password.clone())
            .unwrap_or_else(|| host.clone());
        let r = keystore::check::check(
            std::path::Path::new("."),
            &host,
            &ident,
            &pw,
            i64::try_from(now_unix).unwrap_or(i64::MAX),
        );
        print!("{}", r.text);
        return if r.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    let mut out = std::io::stdout().lock();
    let mut log = std::io::stderr().lock();
    match keygen::run(&opts, &env, &mut out, &mut log) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ntp-keygen: {e}");
            ExitCode::from(1)
        }
    }
}
