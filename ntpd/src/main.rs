//! `ntpd`: parse the command line, then either `--saveconfigquit` or run
//! the daemon. Options not built yet are refused by name.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::process::ExitCode;

use ntpd::cli::{self, Command, EnvPresetRefused};
use ntpd::saveconfig::{self, SaveConfigError, DEFAULT_CONFIG};

/// Exit status for usage errors, refused options and failures (the
/// reference exits 1 for command-line errors).
const FAILURE: u8 = 1;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("ntpd: {message}");
    ExitCode::from(FAILURE)
}

fn main() -> ExitCode {
    if let Some(var) = cli::env_preset(std::env::vars_os()) {
        return fail(EnvPresetRefused(var));
    }
    let opts = match cli::parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            print!("{}", cli::usage());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("{}", cli::version_line());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(opts)) => opts,
        Err(e) => return fail(e),
    };
    ntpd::logging::init(opts.debug_level);

    let refused = cli::unsupported(&opts);
    if !refused.is_empty() {
        for name in &refused {
            eprintln!("ntpd: {name} is not supported yet");
        }
        return ExitCode::from(FAILURE);
    }
    let Some(out) = opts.save_config_quit.as_deref() else {
        return match ntpd::daemon::run(&opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        };
    };
    let conf = opts
        .config_file
        .clone()
        .unwrap_or_else(|| DEFAULT_CONFIG.into());
    match saveconfig::save_config_quit(&conf, opts.key_file.as_deref(), out) {
        Ok(()) => {
            eprintln!("configuration saved to {}", out.display());
            ExitCode::SUCCESS
        }
        // Configuration and keys file errors start with FILE:LINE:COL.
        Err(e @ (SaveConfigError::Config(_) | SaveConfigError::Keys(_))) => {
            eprintln!("{e}");
            ExitCode::from(FAILURE)
        }
        Err(e) => fail(e),
    }
}
