//! Errors and warnings produced while reading `ntp.conf`.
//!
//! Every message names `FILE:LINE:COL`, says what is wrong and, where it
//! helps, what was expected — the form an operator can act on without
//! reading the grammar.

use std::fmt;
use std::path::{Path, PathBuf};

/// A place in a configuration file: 1-based line and column (columns count
/// bytes, as the reference scanner does).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file as it was named (the `-c` argument or the `includefile` path).
    pub file: PathBuf,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column of the first character of the token.
    pub col: u32,
}

impl Origin {
    pub(crate) fn new(file: &Path, line: u32, col: u32) -> Self {
        Origin {
            file: file.to_path_buf(),
            line,
            col,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// Something accepted but worth telling the operator about (an ignored
/// reference-clock line, a deprecated form, a value the reference ignores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// File the warning is about.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// What the operator should know.
    pub message: String,
}

impl Warning {
    pub(crate) fn at(origin: &Origin, message: impl Into<String>) -> Self {
        Warning {
            file: origin.file.clone(),
            line: origin.line,
            col: origin.col,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: warning: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

/// Why a configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The top-level file could not be read.
    #[error("{}: {reason}", path.display())]
    Io {
        /// The file named on the command line.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The text does not follow the ntp.conf grammar, or a value is out of
    /// range.
    #[error("{at}: {message}")]
    Syntax {
        /// Where the offending token starts.
        at: Origin,
        /// What is wrong and what was expected.
        message: String,
    },
    /// An `includefile` could not be followed (missing file, cycle, nesting
    /// too deep).
    #[error("{at}: {message} (include chain: {})", chain_text(chain))]
    Include {
        /// The `includefile` line.
        at: Origin,
        /// What is wrong and what to do.
        message: String,
        /// The files being read, outermost first, ending with the one that
        /// could not be included.
        chain: Vec<PathBuf>,
    },
}

fn chain_text(chain: &[PathBuf]) -> String {
    chain
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" -> ")
}

impl ConfigError {
    pub(crate) fn syntax(at: &Origin, message: impl Into<String>) -> Self {
        ConfigError::Syntax {
            at: at.clone(),
            message: message.into(),
        }
    }

    /// The position the error refers to (`None` for an unreadable top-level
    /// file).
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Syntax { at, .. } | ConfigError::Include { at, .. } => Some(at),
        }
    }
}
