//! A cursor over the tokens of one line, with the typed readers the
//! directive parsers share. Every reader names what it wanted in its error.

use std::net::IpAddr;
use std::path::Path;

use super::super::ast::{Address, AddressFamily, Host};
use super::super::error::{ConfigError, Origin};
use super::super::keywords;
use super::super::lexer::{LexedLine, TokKind, Token};

pub(crate) struct Cursor<'a> {
    toks: &'a [Token],
    pos: usize,
    file: &'a Path,
    line: u32,
    end_col: u32,
}

/// How a token is shown in messages.
pub(crate) fn describe(tok: Option<&Token>) -> String {
    match tok {
        None => "end of line".to_string(),
        Some(t) => match &t.kind {
            TokKind::Keyword(k) => format!("\"{k}\""),
            TokKind::Special(c) => format!("'{c}'"),
            TokKind::Integer(_) | TokKind::UInt(_) | TokKind::Double(_) => t.text.clone(),
            _ => format!("\"{}\"", t.text),
        },
    }
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(lexed: &'a LexedLine, file: &'a Path, line: u32) -> Self {
        Cursor {
            toks: &lexed.tokens,
            pos: 0,
            file,
            line,
            end_col: lexed.end_col,
        }
    }

    pub(crate) fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }

    /// The token `n` places ahead of the next one.
    pub(crate) fn peek_at(&self, n: usize) -> Option<&'a Token> {
        self.toks.get(self.pos + n)
    }

    pub(crate) fn peek_keyword(&self) -> Option<&'static str> {
        match self.peek().map(|t| &t.kind) {
            Some(TokKind::Keyword(k)) => Some(k),
            _ => None,
        }
    }

    pub(crate) fn next(&mut self) -> Option<&'a Token> {
        let t = self.toks.get(self.pos);
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// Consumes `kw` if it is next.
    pub(crate) fn eat(&mut self, kw: &str) -> bool {
        if self.peek_keyword() == Some(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn origin_of(&self, tok: &Token) -> Origin {
        Origin::new(self.file, self.line, tok.col)
    }

    /// Where the next token starts (or the end of the line).
    pub(crate) fn here(&self) -> Origin {
        let col = self.peek().map_or(self.end_col, |t| t.col);
        Origin::new(self.file, self.line, col)
    }

    pub(crate) fn error_at(&self, tok: Option<&Token>, message: impl Into<String>) -> ConfigError {
        let at = tok.map_or_else(|| self.here(), |t| self.origin_of(t));
        ConfigError::syntax(&at, message)
    }

    /// Fails unless the line is finished.
    pub(crate) fn expect_end(&self, after: &str) -> Result<(), ConfigError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(self.error_at(
                Some(t),
                format!(
                    "unexpected {} after {after}; expected end of line",
                    describe(Some(t))
                ),
            )),
        }
    }

    /// A decimal integer in `lo..=hi` (the reference's `T_Integer`).
    pub(crate) fn int(&mut self, what: &str, lo: i64, hi: i64) -> Result<i64, ConfigError> {
        let tok = self.next();
        match tok.map(|t| &t.kind) {
            Some(TokKind::Integer(v)) if (lo..=hi).contains(&i64::from(*v)) => Ok(i64::from(*v)),
            _ => Err(self.range_error(tok, what, lo, hi)),
        }
    }

    /// An integer that may also be unsigned or hexadecimal (`T_Integer` or
    /// `T_U_int`, as server options allow).
    pub(crate) fn int_or_uint(&mut self, what: &str, lo: i64, hi: i64) -> Result<i64, ConfigError> {
        let tok = self.next();
        let v = match tok.map(|t| &t.kind) {
            Some(TokKind::Integer(v)) => Some(i64::from(*v)),
            Some(TokKind::UInt(v)) => Some(i64::from(*v)),
            _ => None,
        };
        match v {
            Some(v) if (lo..=hi).contains(&v) => Ok(v),
            _ => Err(self.range_error(tok, what, lo, hi)),
        }
    }

    fn range_error(&self, tok: Option<&Token>, what: &str, lo: i64, hi: i64) -> ConfigError {
        let range = if hi >= i64::from(i32::MAX) {
            format!("a whole number of at least {lo}")
        } else {
            format!("a number from {lo} to {hi}")
        };
        self.error_at(tok, format!("{what} takes {range}; got {}", describe(tok)))
    }

    /// An integer or decimal number (the reference's `number`) in `lo..=hi`.
    pub(crate) fn number(&mut self, what: &str, lo: f64, hi: f64) -> Result<f64, ConfigError> {
        let tok = self.next();
        let v = match tok.map(|t| &t.kind) {
            Some(TokKind::Integer(v)) => Some(f64::from(*v)),
            Some(TokKind::Double(v)) => Some(*v),
            _ => None,
        };
        match v {
            Some(v) if v >= lo && v <= hi => Ok(v),
            _ => {
                let range = if hi == f64::MAX {
                    format!("a number of at least {lo}")
                } else {
                    format!("a number from {lo} to {hi}")
                };
                Err(self.error_at(tok, format!("{what} takes {range}; got {}", describe(tok))))
            }
        }
    }

    /// A plain string (name, path, address).
    pub(crate) fn string(&mut self, what: &str, thing: &str) -> Result<String, ConfigError> {
        let tok = self.next();
        match tok.map(|t| &t.kind) {
            Some(TokKind::Str(s)) => Ok(s.clone()),
            Some(
                TokKind::Keyword(_) | TokKind::Integer(_) | TokKind::UInt(_) | TokKind::Double(_),
            ) => Err(self.error_at(
                tok,
                format!(
                    "{what} needs {thing}; got {} (put it in double quotes if that is the {thing})",
                    describe(tok)
                ),
            )),
            _ => Err(self.error_at(tok, format!("{what} needs {thing}; got {}", describe(tok)))),
        }
    }

    /// `[-4|-6] ADDRESS`.
    pub(crate) fn address(&mut self, what: &str) -> Result<(Address, Origin), ConfigError> {
        let family = match self.peek().map(|t| &t.kind) {
            Some(TokKind::Ipv4Flag) => {
                self.pos += 1;
                AddressFamily::Ipv4
            }
            Some(TokKind::Ipv6Flag) => {
                self.pos += 1;
                AddressFamily::Ipv6
            }
            _ => AddressFamily::Any,
        };
        let at = self.here();
        let text = self.string(what, "an address or host name")?;
        let host = host(&text, &at)?;
        match (&host, family) {
            (Host::Ip(IpAddr::V6(_)), AddressFamily::Ipv4) => Err(ConfigError::syntax(
                &at,
                format!("{text} is an IPv6 address but -4 asks for IPv4; remove -4 or give an IPv4 address"),
            )),
            (Host::Ip(IpAddr::V4(_)), AddressFamily::Ipv6) => Err(ConfigError::syntax(
                &at,
                format!("{text} is an IPv4 address but -6 asks for IPv6; remove -6 or give an IPv6 address"),
            )),
            _ => Ok((Address { family, host }, at)),
        }
    }

    /// An address literal (masks, interface addresses).
    pub(crate) fn ip_literal(&mut self, what: &str) -> Result<IpAddr, ConfigError> {
        let at = self.here();
        let text = self.string(what, "an IP address")?;
        text.parse().map_err(|_| {
            ConfigError::syntax(
                &at,
                format!("{what} needs an IP address such as 255.255.255.0 or ffff:ffff::; got \"{text}\""),
            )
        })
    }

    /// An error for an unknown word in an option list.
    pub(crate) fn unknown_option(
        &self,
        tok: &Token,
        directive: &str,
        options: &[&str],
    ) -> ConfigError {
        let shown = describe(Some(tok));
        let hint = match keywords::suggest(&tok.text, options) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => format!("expected one of: {}", options.join(", ")),
        };
        self.error_at(
            Some(tok),
            format!("unknown {directive} option {shown}; {hint}"),
        )
    }
}

/// Validates an address operand: a literal, or a plausible host name.
pub(crate) fn host(text: &str, at: &Origin) -> Result<Host, ConfigError> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    let name_ok = text.bytes().any(|b| b.is_ascii_alphanumeric())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'%'))
        && !text.starts_with('-');
    if name_ok {
        Ok(Host::Name(text.to_string()))
    } else {
        Err(ConfigError::syntax(
            at,
            format!("\"{text}\" is not an IP address or host name; expected e.g. 192.0.2.1, 2001:db8::1 or ntp.example.org"),
        ))
    }
}

/// `127.127.t.u`: a reference clock pseudo-address.
pub(crate) fn is_refclock(host: &Host) -> bool {
    matches!(host, Host::Ip(IpAddr::V4(v4)) if v4.octets()[..2] == [127, 127])
}

/// Converts a value already range-checked to fit.
pub(crate) fn narrow<T: TryFrom<i64> + Default>(v: i64) -> T {
    T::try_from(v).unwrap_or_default()
}
