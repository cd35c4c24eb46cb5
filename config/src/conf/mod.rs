//! `ntp.conf` (reference ntpd 4.2.8 ntp.conf(5)) into a typed syntax tree.
//!
//! ```text
//! load(path) / parse_str(text, name) -> Loaded { config: NtpConf, warnings }
//! NtpConf::to_conf_string()          -> canonical ntp.conf text
//! ```
//!
//! The scanner and grammar follow the reference (`ntpd/ntp_scanner.c`,
//! `ntpd/keyword-gen.c`, `ntpd/ntp_parser.y`): one command per line, `#`
//! comments, double-quoted strings, keywords that force the next word to be
//! a string, no line continuation. Where the reference logs a syntax error
//! and drops the line, this crate refuses the configuration with
//! `FILE:LINE:COL: what is wrong; what was expected`. Directives the daemon
//! does not implement (reference clocks, `fudge`, `phone`, mDNS, MS-SNTP,
//! the simulator) are accepted with a [`Warning`].

mod ast;
mod ast_nts;
mod ast_refclock;
pub mod directives;
mod error;
mod include;
mod keywords;
mod lexer;
mod parser;
mod writer;

use std::path::{Path, PathBuf};

pub use ast::*;
pub use error::{ConfigError, Warning};
pub use include::{MAX_FILE_BYTES, MAX_INCLUDED_FILES, MAX_INCLUDE_DEPTH, MAX_TOTAL_BYTES};
pub use writer::directive_line;

/// A parsed configuration and the warnings found while reading it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The configuration, `includefile`s expanded.
    pub config: NtpConf,
    /// Accepted-but-noteworthy lines, in file order.
    pub warnings: Vec<Warning>,
}

/// Reads and parses the configuration file at `path`, following
/// `includefile` (relative include paths are taken from the working
/// directory, as the reference does).
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = include::read_limited(path).map_err(|e| ConfigError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse_bytes(&text, path)
}

/// Parses configuration text; `file_name` is used in messages.
/// `includefile` lines are followed by reading the named files.
pub fn parse_str(text: &str, file_name: &Path) -> Result<Loaded, ConfigError> {
    parse_bytes(text.as_bytes(), file_name)
}

fn parse_bytes(text: &[u8], file_name: &Path) -> Result<Loaded, ConfigError> {
    let mut session = include::Session::new(file_name);
    session.run(text, &PathBuf::from(file_name))?;
    Ok(Loaded {
        config: session.conf,
        warnings: session.warnings,
    })
}
