//! Reading a configuration: line by line, following `includefile`,
//! stopping at `end`, skipping `simulate` blocks.
//!
//! As in the reference (`ntp_parser.y`), a relative `includefile` path is
//! opened relative to the daemon's working directory, an included file's
//! statements take the place of the `includefile` line, and nesting is
//! limited ([`MAX_INCLUDE_DEPTH`]). Unlike the reference, which logs and
//! carries on, a missing file, a cycle or too deep nesting is an error.
//!
//! Depth and file size alone do not bound a read: 100 `includefile` lines
//! per file over 4 levels are 10^8 files. So one read opens at most
//! [`MAX_INCLUDED_FILES`] included files of at most [`MAX_TOTAL_BYTES`]
//! together; beyond either it stops with an error naming the line.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::ast::NtpConf;
use super::error::{ConfigError, Origin, Warning};
use super::lexer::lex_line;
use super::parser::{parse_line, Command};

/// Files that may be open at once below the top-level one (the reference's
/// `MAXINCLUDELEVEL`).
pub const MAX_INCLUDE_DEPTH: usize = 5;

/// Largest configuration file read (a guard against `includefile /dev/zero`).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Most `includefile` openings in one configuration read (a file
/// included twice counts twice).
pub const MAX_INCLUDED_FILES: usize = 256;

/// Most octets of included files in one configuration read.
pub const MAX_TOTAL_BYTES: u64 = 4 << 20;

/// Reads a whole configuration file, refusing anything above
/// [`MAX_FILE_BYTES`].
pub(crate) fn read_limited(path: &Path) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    Ok(buf)
}

struct Frame {
    shown: PathBuf,
    canonical: PathBuf,
}

/// State of one configuration read.
pub(crate) struct Session {
    chain: Vec<Frame>,
    pub(crate) conf: NtpConf,
    pub(crate) warnings: Vec<Warning>,
    ended: bool,
    /// Included files opened so far.
    included: usize,
    /// Octets of included files read so far.
    included_bytes: u64,
}

/// An open `simulate { ... }` block.
struct SimulateSkip {
    at: Origin,
    depth: i64,
    opened: bool,
}

impl SimulateSkip {
    /// Counts braces outside comments and quotes; true when the block closed.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        let mut quoted = false;
        for &b in bytes {
            match b {
                b'"' => quoted = !quoted,
                b'#' if !quoted => break,
                b'{' if !quoted => {
                    self.depth += 1;
                    self.opened = true;
                }
                b'}' if !quoted => self.depth -= 1,
                _ => {}
            }
            if self.opened && self.depth <= 0 {
                return true;
            }
        }
        false
    }
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Session {
    pub(crate) fn new(top: &Path) -> Self {
        Session {
            chain: vec![Frame {
                shown: top.to_path_buf(),
                canonical: canonical(top),
            }],
            conf: NtpConf::default(),
            warnings: Vec::new(),
            ended: false,
            included: 0,
            included_bytes: 0,
        }
    }

    /// Parses the text of `file` (already pushed on the chain).
    pub(crate) fn run(&mut self, text: &[u8], file: &Path) -> Result<(), ConfigError> {
        let mut skip: Option<SimulateSkip> = None;
        for (idx, raw) in text.split(|&b| b == b'\n').enumerate() {
            if self.ended {
                return Ok(());
            }
            let line = u32::try_from(idx).unwrap_or(u32::MAX - 1).saturating_add(1);
            if let Some(s) = skip.as_mut() {
                if s.feed(raw) {
                    skip = None;
                }
                continue;
            }
            let lexed = lex_line(raw, file, line)?;
            if let Some(col) = lexed.non_ascii_col {
                self.warnings.push(Warning::at(
                    &Origin::new(file, line, col),
                    "non-ASCII characters are skipped, as the reference does",
                ));
            }
            match parse_line(&lexed, file, line, &mut self.warnings)? {
                Command::Statements(s) => self.conf.statements.extend(s),
                Command::Include { path, at, then } => {
                    self.conf.statements.extend(then);
                    self.include(&path, &at)?;
                }
                Command::End => self.ended = true,
                Command::Simulate { at } => {
                    self.warnings.push(Warning::at(
                        &at,
                        "simulate configures the ntpdsim simulator; block ignored",
                    ));
                    let mut s = SimulateSkip {
                        at,
                        depth: 0,
                        opened: false,
                    };
                    let start =
                        usize::try_from(s.at.col.saturating_sub(1)).unwrap_or(0) + "simulate".len();
                    if !s.feed(raw.get(start..).unwrap_or(&[])) {
                        skip = Some(s);
                    }
                }
            }
        }
        match skip {
            Some(s) => Err(ConfigError::syntax(
                &s.at,
                "simulate block is not closed; expected '}' before the end of the file",
            )),
            None => Ok(()),
        }
    }

    fn include_error(&self, at: &Origin, message: String, last: &Path) -> ConfigError {
        let mut chain: Vec<PathBuf> = self.chain.iter().map(|f| f.shown.clone()).collect();
        chain.push(last.to_path_buf());
        ConfigError::Include {
            at: at.clone(),
            message,
            chain,
        }
    }

    fn include(&mut self, path: &str, at: &Origin) -> Result<(), ConfigError> {
        let shown = PathBuf::from(path);
        if self.included >= MAX_INCLUDED_FILES {
            return Err(self.include_error(
                at,
                format!("includefile \"{path}\" would open more than {MAX_INCLUDED_FILES} included files in one configuration; expected fewer includefile lines"),
                &shown,
            ));
        }
        self.included += 1;
        let text = read_limited(&shown).map_err(|e| {
            self.include_error(
                at,
                format!("cannot read included file \"{path}\": {e}; expected a readable file (relative paths are taken from the working directory)"),
                &shown,
            )
        })?;
        self.included_bytes += text.len() as u64;
        if self.included_bytes > MAX_TOTAL_BYTES {
            return Err(self.include_error(
                at,
                format!("includefile \"{path}\" brings the included files above {MAX_TOTAL_BYTES} octets in one configuration; expected a smaller configuration"),
                &shown,
            ));
        }
        let canon = canonical(&shown);
        if self.chain.iter().any(|f| f.canonical == canon) {
            return Err(self.include_error(
                at,
                format!("includefile \"{path}\" would include a file that is already being read (a cycle); remove one of the includefile lines"),
                &shown,
            ));
        }
        if self.chain.len() > MAX_INCLUDE_DEPTH {
            return Err(self.include_error(
                at,
                format!("includefile \"{path}\" nests files more than {MAX_INCLUDE_DEPTH} levels deep; expected at most {MAX_INCLUDE_DEPTH}"),
                &shown,
            ));
        }
        self.chain.push(Frame {
            shown: shown.clone(),
            canonical: canon,
        });
        self.run(&text, &shown)?;
        self.chain.pop();
        Ok(())
    }
}
