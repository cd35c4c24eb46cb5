//! `ntpq`: query an NTP server with mode 6 control messages (RFC 9327),
//! compatible in commands and output with the reference ntpq 4.2.8p18.
//!
//! ```text
//! ntpq [-46dinpw] [-k keyfile] [-c command]... [host[:port]...]
//! ```
//!
//! Commands: `peers` (`-p`), `lpeers`, `associations` (`as`),
//! `lassociations`, `passociations`, `readvar`/`rv [assoc] [vars]` (assoc as
//! a number or `&N`), `readlist`/`rl`, `addvars`/`rmvars`/`clearvars`/
//! `showvars`, `writevar`, `writelist`, `:config`, `saveconfig`, `apeers`,
//! `opeers`, `clockvar`/`cv`, `clocklist`/`cl`, `pstats`, `sysinfo`,
//! `kerninfo`, `sysstats`, `monstats`, `iostats`, `timerstats`, `authinfo`,
//! `mrulist`, `ifstats`, `reslist`, `keyid`, `keytype`, `passwd`, `authenticate`, `host`,
//! `hostnames`, `timeout`, `ntpversion`, `raw`, `cooked`, `debug`,
//! `version`, `help`/`?`, `quit`/`exit`. Without `-c`/`-p` it reads
//! commands from standard input, prompting with `ntpq> ` when that is a
//! terminal (or with `-i`).
//!
//! Extensions for testing: a host may carry a port (`127.0.0.1:1123`,
//! `[::1]:1123`), and the environment variable `NTPQ_TEST_NOW` (hex NTP
//! seconds) replaces the system clock for the `when` column of `peers`.
//! Dates are shown in UTC and addresses as numbers (as with `-n`; no
//! reverse name lookups). Authenticated requests (`writevar`, `:config`,
//! `saveconfig`, or all with `authenticate yes`) are signed with the key
//! set by `keyid` and `passwd`/`keytype`, or taken from the keys file given
//! with `-k` (an extension of ours).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod autokey_flags;
mod cli;
mod cmdtable;
mod commands;
mod cooked;
mod lfp;
mod mru;
mod optspec;
mod ordlist;
mod socket;
mod tables;
mod transport;

use std::io::{BufRead, IsTerminal, Write};

fn main() {
    let opts = match cli::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("ntpq: {msg}");
            eprintln!("{}", optspec::usage());
            std::process::exit(1);
        }
    };
    if opts.help {
        let _ = writeln!(std::io::stdout(), "{}", optspec::usage());
        return;
    }
    let mut q = commands::Ntpq::new();
    if let Some(path) = &opts.keyfile {
        match auth::load_keys(path) {
            Ok(k) => q.auth.keys = Some(k),
            Err(e) => {
                eprintln!("ntpq: {e}");
                std::process::exit(1);
            }
        }
    }
    q.wide = opts.wide;
    q.debug = opts.debug;
    q.numhosts = opts.hosts.len();
    q.max_host_len = opts
        .hosts
        .iter()
        .map(|(h, _)| transport::split_host_port(h).0.len())
        .max()
        .unwrap_or(0);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !opts.commands.is_empty() {
        for (ihost, (host, family)) in opts.hosts.iter().enumerate() {
            if !q.open_host(host, *family) {
                continue;
            }
            if ihost > 0 {
                let _ = writeln!(out);
            }
            for (icmd, cmd) in opts.commands.iter().enumerate() {
                if icmd > 0 {
                    let _ = writeln!(out);
                }
                q.docmd(cmd, &mut out);
                if q.quit {
                    return;
                }
            }
        }
        return;
    }
    if let Some((host, family)) = opts.hosts.first() {
        q.open_host(host, *family);
    }
    let interactive =
        opts.interactive || (std::io::stdin().is_terminal() && std::io::stderr().is_terminal());
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            let _ = write!(out, "ntpq> ");
            let _ = out.flush();
        }
        let Some(Ok(line)) = lines.next() else {
            break;
        };
        q.docmd(&line, &mut out);
        if q.quit {
            break;
        }
    }
}
