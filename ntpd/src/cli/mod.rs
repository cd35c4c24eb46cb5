//! The `ntpd` command line (reference ntpd 4.2.8p18 flags, ntpd(8)).

mod options;
mod parse;
mod spec;
mod support;

pub use options::{AuthRequirement, Command, Options, UserSpec};
pub use parse::{env_preset, parse, CliError, EnvPresetRefused};
pub use spec::{usage, Arg, OptId, OptSpec, CONFLICTS, OPTIONS, REPEATABLE};
pub use support::{unsupported, SUPPORTED};

/// The version line printed by `--version`.
pub fn version_line() -> String {
    format!(
        "ntpd {} (ntpd-autokey; command line and configuration of ntpd 4.2.8p18)",
        env!("CARGO_PKG_VERSION")
    )
}
