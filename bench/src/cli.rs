//! The `main` the measuring tools share (`ntp-loadgen`, `ntp-ke-load`):
//! parse the flags, run, print the one-line report.

use std::fmt::Display;
use std::process::ExitCode;

/// Runs tool `name`: `config()` parses the command line (an empty error
/// means `--help`: the usage goes to stdout, exit 0; any other error is
/// printed with the usage, exit 2), then `run` measures and its report is
/// printed (an error exits 1).
pub fn tool_main<C, R: Display, E: Display>(
    name: &str,
    usage: &str,
    config: impl FnOnce() -> Result<C, String>,
    run: impl FnOnce(&C) -> Result<R, E>,
) -> ExitCode {
    let cfg = match config() {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{name}: {e}\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(&cfg) {
        Ok(r) => {
            println!("{r}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
